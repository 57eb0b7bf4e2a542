"""Percent viability from vehicle and blank wells: hand-computed plates and clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.screening.controls import percent_viability


def test_one_plate_by_hand():
    # vehicle mean (1.0 + 1.2)/2 = 1.1, blank mean (0.1 + 0.1)/2 = 0.1: viability = 100 (x − 0.1) / 1.0
    values = [1.0, 1.2, 0.1, 0.1, 0.6, 0.35]
    roles = ["vehicle", "vehicle", "blank", "blank", "sample", "sample"]
    result = percent_viability(values, roles)
    assert result.viability_percent == pytest.approx((90.0, 110.0, 0.0, 0.0, 50.0, 25.0))
    (plate,) = result.plates
    assert (plate.vehicle_level, plate.blank_level, plate.n_vehicle, plate.n_blank) == pytest.approx(
        (1.1, 0.1, 2, 2)
    )
    assert plate.vehicle_cv_percent == pytest.approx(100 * np.std([1.0, 1.2], ddof=1) / 1.1)
    json.dumps(result.to_dict(), allow_nan=False)


def test_each_plate_is_normalised_to_its_own_controls():
    values = [1.0, 0.0, 0.5, 2.0, 0.2, 1.1]
    roles = ["vehicle", "kill", "sample"] * 2  # "kill" is an alias of "blank"
    result = percent_viability(values, roles, plates=["P1"] * 3 + ["P2"] * 3)
    assert result.as_array() == pytest.approx([100, 0, 50, 100, 0, 50])
    assert [p.plate for p in result.plates] == ["P1", "P2"]


def test_median_resists_one_aberrant_control_well():
    values = [1.0, 1.0, 1.0, 5.0, 0.0, 0.0, 0.5]  # one vehicle well reads 5.0 (bubble, spill)
    roles = ["vehicle"] * 4 + ["blank"] * 2 + ["sample"]
    assert percent_viability(values, roles, method="median").viability_percent[-1] == pytest.approx(50.0)
    assert percent_viability(values, roles, method="mean").viability_percent[-1] == pytest.approx(25.0)


def test_a_given_blank_level_replaces_blank_wells():
    result = percent_viability([2.0, 2.0, 1.0], ["vehicle", "vehicle", "sample"], blank_level=0.0)
    assert result.viability_percent[-1] == pytest.approx(50.0)
    assert result.plates[0].blank_source == "given" and result.plates[0].n_blank == 0


@pytest.mark.parametrize(
    ("values", "roles", "kwargs", "match"),
    [
        ([0.1, 0.5], ["blank", "sample"], {}, "plate 'plate' has no vehicle wells"),
        ([1.0, 0.5], ["vehicle", "sample"], {}, "has no blank .* wells.*give blank_level"),
        (
            [0.2, 0.5, 0.4],
            ["vehicle", "blank", "sample"],
            {},
            r"vehicle level \(0.2\) is not above the blank level",
        ),
        ([1.0, 0.0], ["vehicle", "control?"], {}, r"roles\[1\] must be one of"),
        ([1.0, 0.0], ["vehicle"], {}, r"roles must have one entry per well \(2\); got 1"),
        ([1.0, float("nan")], ["vehicle", "blank"], {}, "values must be finite; got nan at index 1"),
        ([1.0, 0.0], ["vehicle", "blank"], {"method": "trimmed"}, "method must be one of"),
        ([1.0, 0.0], ["vehicle", "blank"], {"plates": ["A"]}, r"plates must have one entry per well \(2\)"),
    ],
)
def test_missing_or_degenerate_controls_are_errors(values, roles, kwargs, match):
    with pytest.raises(ValueError, match=match):
        percent_viability(values, roles, **kwargs)
