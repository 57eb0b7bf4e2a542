"""Plate QC per plate of a curve: Z′/SSMD from its controls, the edge effect on observed/fitted response."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.plate_qc import plate_qc, plate_size
from app.doseresponse import fit_hill
from app.screening import control_separation
from tests.app.analysis.conftest import as_curve, plate


def _qc(wells: dict, *, plates: list[str] | None = None) -> list[dict]:
    curve = as_curve(wells, plates=plates)
    fit = fit_hill(curve.conc_um[curve.fitted], curve.response[curve.fitted])
    fitted = np.where(curve.fitted, fit.eval(curve.conc_um), np.nan)
    return plate_qc(
        plate=curve.plate, role=curve.role, response=curve.response, well_ids=curve.well_ids, fitted=fitted,
        fit=fit, fit_value=curve.response,
    )  # fmt: skip


def _outer(well: str) -> bool:
    return well[0] in "AH" or well[1:] in ("1", "12")


def test_control_separation_comes_from_the_plates_vehicle_and_blank_wells() -> None:
    wells = plate(seed=6)
    (entry,) = _qc(wells)
    y, controls = np.array(wells["responses"]), np.array(wells["controls"], dtype=object)
    expected = control_separation(y[controls == "vehicle"], y[controls == "blank"]).to_dict()
    assert entry["control_separation"] == expected and entry["control_separation"]["quality"] == "excellent"
    assert entry["plate_size"] == 96 and entry["warnings"] == [] and entry["notes"] == []
    assert entry["edge_effect"]["flagged"] is False


def test_a_dim_outer_ring_is_flagged_in_plain_words() -> None:
    wells = plate(seed=7)
    listed = zip(wells["responses"], wells["well_ids"], wells["controls"], strict=True)
    wells["responses"] = [y * (0.75 if _outer(w) and c is None else 1.0) for y, w, c in listed]
    (entry,) = _qc(wells)
    edge = entry["edge_effect"]
    assert edge["flagged"] and edge["ratio"] < 0.9 and edge["p_welch"] < 0.05
    assert any(w.startswith("Edge effect: the outer ring reads") for w in entry["warnings"])


def test_noisy_controls_warn_and_what_cannot_be_assessed_is_said() -> None:
    wells = plate(seed=8, noise=0.25)
    (entry,) = _qc(wells)
    assert entry["control_separation"]["quality"] in ("marginal", "failed")
    assert any("Z′" in w for w in entry["warnings"])
    no_blanks = plate(seed=8, blanks=False)
    no_ids = {**no_blanks, "well_ids": None}
    (entry,) = _qc(no_ids)
    assert entry["control_separation"] is None and entry["edge_effect"] is None
    assert entry["plate_size"] is None
    assert entry["notes"] == [
        "Z′ and SSMD not assessed: 16 vehicle and 0 blank/kill wells (at least 2 of each are needed).",
        "Edge effect not assessed: no well IDs were given.",
    ]


def test_each_plate_is_checked_on_its_own() -> None:
    wells = plate(seed=9)
    labels = ["P1" if w[0] in "ABCD" else "P2" for w in wells["well_ids"]]
    entries = _qc(wells, plates=labels)
    assert [e["plate"] for e in entries] == ["P1", "P2"]
    assert all(e["control_separation"]["n_vehicle"] == 4 for e in entries)


@pytest.mark.parametrize(
    ("wells", "size"),
    [
        (["A1", "H12"], 96),
        (["A1", "P24"], 384),
        (["I1"], 384),
        (["A25"], None),
        (["AF48"], None),
        (["x"], None),
    ],
)
def test_plate_size_from_well_ids(wells: list[str], size: int | None) -> None:
    assert plate_size(wells) == size
