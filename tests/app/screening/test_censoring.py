"""Censoring of concentrations read off a curve: inside the range a number, outside an inequality."""

from __future__ import annotations

import json

import pytest

from app.screening.censoring import censor_concentration

RANGE = (0.0001, 100.0)


@pytest.mark.parametrize(
    ("estimate", "censor", "value", "extrapolated", "text", "csv"),
    [
        (1.4637, "none", 1.4637, None, "1.464 µM", "1.4637"),
        (100.0, "none", 100.0, None, "100 µM", "100"),
        (250.0, "above_range", None, 250.0, "> 100 µM", ">100"),
        (0.00002, "below_range", None, 0.00002, "< 0.0001 µM", "<0.0001"),
    ],
)
def test_estimates_inside_and_outside_the_range(estimate, censor, value, extrapolated, text, csv):
    result = censor_concentration(estimate, RANGE)
    assert (result.censor, result.value_um, result.extrapolated_um, result.text, result.csv) == (
        censor,
        value,
        extrapolated,
        text,
        csv,
    )
    assert json.loads(json.dumps(result.to_dict()))["tested_range_um"] == [0.0001, 100.0]


@pytest.mark.parametrize(
    ("reason", "text", "csv"),
    [
        ("not_reached", "not reached (> 100 µM)", ">100"),
        ("no_effect", "no effect in the tested range (> 100 µM)", ">100"),
        ("below_range", "< 0.0001 µM", "<0.0001"),
        ("not_estimated", "not estimated", ""),
    ],
)
def test_missing_estimates_say_why(reason, text, csv):
    result = censor_concentration(None, RANGE, reason=reason)
    assert (result.censor, result.text, result.csv) == (reason, text, csv)
    assert result.value_um is None and result.extrapolated_um is None


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((None, RANGE), {}, "give the reason"),
        ((-1.0, RANGE), {}, r"estimate_um must be in \(0, inf\); got -1.0"),
        ((1.0, (10.0, 1.0)), {}, "low <= high"),
        ((1.0, RANGE), {"reason": "maybe"}, "reason must be one of"),
    ],
)
def test_bad_input_is_refused(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        censor_concentration(*args, **kwargs)
