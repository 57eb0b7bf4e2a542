"""Tests of the measured-vs-predicted statistics against values worked out by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from app.stats import (
    MeanDifference,
    Regression,
    TTest,
    mean_difference,
    paired_t,
    regression,
    unpaired_t,
)


def _t_two_sided_p_df2(t: float) -> float:
    """Two-sided p of Student's t with 2 df in closed form: 1 - |t| / sqrt(2 + t²)."""
    return 1.0 - abs(t) / math.sqrt(2.0 + t * t)


def test_regression_of_predicted_on_measured_matches_hand_computation():
    # x̄ = 2.5, ȳ = 4, Sxx = 5, Sxy = 7, Syy = 10: slope 7/5, intercept 4 - 1.4 · 2.5, r² = 49 / 50
    res = regression([1, 2, 3, 4], [2, 3, 5, 6])
    assert isinstance(res, Regression)
    assert res.slope == pytest.approx(1.4)
    assert res.intercept == pytest.approx(0.5)
    assert res.r2 == pytest.approx(0.98)
    assert res.r == pytest.approx(math.sqrt(0.98))
    assert res.n == 4


def test_regression_is_predicted_on_measured_not_the_reverse():
    measured = np.array([0.2, 0.5, 0.9, 1.4, 1.8])
    res = regression(measured, 1.138 * measured - 0.09)  # the paper's A549 line
    assert res.slope == pytest.approx(1.138)
    assert res.intercept == pytest.approx(-0.09)
    assert res.r2 == pytest.approx(1.0)


def test_mean_difference_is_predicted_minus_measured_with_sample_sd():
    res = mean_difference([1, 2, 3], [2, 2, 5])  # differences 1, 0, 2
    assert isinstance(res, MeanDifference)
    assert res.mean == pytest.approx(1.0)
    assert res.sd == pytest.approx(1.0)  # sqrt((0² + 1² + 1²) / 2)
    assert str(res) == "1 ± 1"
    absolute = mean_difference([1, 2, 3], [0, 2, 5], absolute=True)  # |−1|, 0, 2
    assert absolute.mean == pytest.approx(1.0) and absolute.absolute


def test_paired_t_matches_closed_form():
    # a − b = −1, −2, −2: mean −5/3, SD sqrt(1/3), SE 1/3, t = −5 on 2 df
    res = paired_t([1, 2, 3], [2, 4, 5])
    assert isinstance(res, TTest)
    assert res.t == pytest.approx(-5.0)
    assert res.df == 2
    assert res.p_value == pytest.approx(_t_two_sided_p_df2(-5.0))  # 0.03775
    assert res.test == "paired"


def test_unpaired_student_t_matches_closed_form():
    # means 2 and 5, pooled variance 2, SE sqrt(2 (1/2 + 1/2)) = sqrt(2): t = −3 / sqrt(2) on 2 df
    res = unpaired_t([1, 3], [4, 6])
    assert res.t == pytest.approx(-3 / math.sqrt(2))
    assert res.df == 2
    assert res.p_value == pytest.approx(_t_two_sided_p_df2(-3 / math.sqrt(2)))
    assert res.test == "unpaired (Student)"


def test_unpaired_welch_t_uses_separate_variances():
    # variances 2 and 8: SE sqrt(2/2 + 8/2) = sqrt(5); Welch df = 5² / (1² + 4²) = 25/17
    res = unpaired_t([1, 3], [4, 8], equal_var=False)
    assert res.t == pytest.approx(-4 / math.sqrt(5))
    assert res.df == pytest.approx(25 / 17)
    assert res.test == "unpaired (Welch)"


def test_results_serialise_to_strict_json():
    for res in (
        regression([1, 2, 3], [1, 2, 4]),
        mean_difference([1, 2], [1, 3]),
        paired_t([1, 2, 3], [1, 2, 3]),
    ):
        json.dumps(res.to_dict(), allow_nan=False)
    assert paired_t([1, 2, 3], [1, 2, 3]).to_dict()["t"] is None  # no variance in the differences


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: regression([1, 2, 3, 4], [1, 2, 3]), "same length; got 4 and 3"),
        (lambda: regression([1, 1, 1], [1, 2, 3]), "measured must not be constant"),
        (lambda: regression([1, 2], [1, 2]), "at least 3 values"),
        (lambda: mean_difference([1, np.nan], [1, 2]), r"measured must be finite; got nan at index 1"),
        (lambda: paired_t([1, 2, "x"], [1, 2, 3]), "a must be numeric"),
        (lambda: unpaired_t([1], [1, 2]), "a needs at least 2 values"),
        (lambda: unpaired_t([[1, 2]], [1, 2]), "a must be 1-D"),
    ],
)
def test_bad_input_raises_value_error_naming_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
