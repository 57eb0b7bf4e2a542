"""A curve's wells: roles from control kinds and concentration 0, plates, and % viability per plate."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.wells import curve_data, viability
from app.fitting import UnfittableRequest
from tests.app.analysis.conftest import as_curve, plate


def test_roles_come_from_control_kinds_and_zero_concentrations() -> None:
    curve = curve_data(
        "x", [0, 0, 0, 0, 1, 2], [1.5, 1.4, 0.1, 0.12, 0.9, 0.5], position=1,
        controls=[None, "untreated", "blank", "kill", None, None],
    )  # fmt: skip
    assert curve.role.tolist() == ["vehicle", "vehicle", "blank", "blank", "sample", "sample"]
    assert curve.fitted.tolist() == [True, True, False, False, True, True]
    assert curve.plates == ["plate"] and curve.well_ids == ("",) * 6
    assert curve.time_zero is None and not curve.outlier_exempt.any()


def test_a_vehicle_well_above_zero_is_refused_naming_the_well() -> None:
    message = r"curve 2 \('A549'\), well 2 \('B07'\): a vehicle control must be at 0 µM, not 0.5 µM"
    with pytest.raises(UnfittableRequest, match=message):
        curve_data("A549", [0, 0.5], [1, 1], position=2, controls=[None, "vehicle"], well_ids=["B01", "B07"])


def test_a_curve_of_blank_wells_only_is_refused() -> None:
    with pytest.raises(UnfittableRequest, match="every well is a blank or kill control"):
        curve_data("x", [0, 0], [0.1, 0.1], position=1, controls=["blank", "kill"])


def test_viability_is_100_at_the_vehicle_mean_and_0_at_the_blank_mean_per_plate() -> None:
    curve = curve_data(
        "x", [0, 0, 0, 1, 0, 0, 0, 1], [1.0, 1.2, 0.1, 0.6, 2.0, 2.2, 0.2, 1.2], position=1,
        controls=[None, None, "blank", None, None, None, "blank", None], plates=["p1"] * 4 + ["p2"] * 4,
    )  # fmt: skip
    normalised, problem = viability(curve)
    assert problem is None and normalised is not None
    # p1: V = 1.1, B = 0.1 → (0.6 − 0.1)/1.0 = 50 %; p2: V = 2.1, B = 0.2 → (1.2 − 0.2)/1.9 = 52.63 %
    assert normalised.as_array() == pytest.approx([90, 110, 0, 50, 94.7368, 105.2632, 0, 52.6316], abs=1e-3)
    assert [p.plate for p in normalised.plates] == ["p1", "p2"]


@pytest.mark.parametrize(
    ("controls", "missing"),
    [
        (["blank", None, None], "has no vehicle wells (at 0 µM, or marked 'vehicle' in controls)"),
        ([None, None, None], "has no blank or kill wells (marked in controls)"),
    ],
)
def test_a_plate_without_controls_has_no_viability_and_says_which(controls: list, missing: str) -> None:
    curve = curve_data("A549", [0, 1, 2], [1.0, 0.5, 0.3], position=3, controls=controls, plates=["P1"] * 3)
    normalised, problem = viability(curve)
    assert normalised is None
    assert problem == f"curve 3 ('A549'): plate 'P1' {missing}"


def test_swapped_controls_are_named() -> None:
    wells = plate()
    swapped = ["blank" if c == "vehicle" else "vehicle" if c == "blank" else c for c in wells["controls"]]
    normalised, problem = viability(as_curve({**wells, "controls": swapped}))
    assert normalised is None and "is not above the blank level" in problem


def test_time_zero_keeps_missing_reads_as_nan() -> None:
    curve = curve_data("x", [0, 1], [1, 1], position=1, time_zero=[0.3, None], outlier_exempt=[False, True])
    assert np.isnan(curve.time_zero[1]) and curve.time_zero[0] == 0.3
    assert curve.outlier_exempt.tolist() == [False, True]
