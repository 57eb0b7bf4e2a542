"""Time courses on a simulated plate (synthetic): exponential growth with a known drug effect on the rate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.screening.timecourse import interval_gr, time_course

TIMES_H = np.array([0.0, 24.0, 48.0, 72.0])
CONC_UM = np.r_[np.zeros(4), np.repeat([0.01, 0.1, 1.0, 10.0, 100.0], 3), [0.0, 0.0]]  # last 2: blank wells
BLANK = np.r_[np.zeros(19, dtype=bool), [True, True]]
BLANK_OD = 0.05
X0 = 0.2  # blank-subtracted OD450 at treatment, proportional to the cells seeded
DOUBLING_H = 24.0


def _rate_ratio(conc: np.ndarray) -> np.ndarray:
    """k(c) / k(0): up to 1.5 × the control rate lost, i.e. net cell death at high concentrations."""
    return 1.0 - 1.5 * conc / (conc + 1.0)


def _plate() -> np.ndarray:
    growth = 2.0 ** (np.outer(TIMES_H, _rate_ratio(CONC_UM)) / DOUBLING_H)  # (n_times, n_wells)
    plate = BLANK_OD + X0 * growth
    plate[:, BLANK] = BLANK_OD
    return plate


def test_gr_over_every_interval_is_the_rate_ratio():
    # exponential growth at rate k(c): log2(x(t_b)/x(t_a)) / log2(x_ctrl(t_b)/x_ctrl(t_a)) = k(c)/k(0),
    # so every interval (and the span from the start) gives GR = 2^(k(c)/k(0)) − 1
    result = time_course(TIMES_H, _plate(), CONC_UM, blank_wells=BLANK)
    assert len(result.gr) == 2 * 3 * 5  # (3 consecutive + 3 from-start intervals) × 5 concentrations
    for record in result.gr:
        expected = 2.0 ** _rate_ratio(np.array(record["conc_um"])) - 1.0
        assert record["gr"] == pytest.approx(float(expected), abs=1e-12)
    mids = sorted({r["t_mid_h"] for r in result.gr if r["kind"] == "interval"})
    assert mids == [12.0, 36.0, 60.0]


def test_viability_is_percent_of_the_vehicle_at_each_time():
    result = time_course(TIMES_H, _plate(), CONC_UM, blank_wells=BLANK)
    at_72 = [r for r in result.concentrations if r["time_h"] == 72.0]
    for record in at_72:
        expected = 100.0 * 2.0 ** (72 * (_rate_ratio(np.array(record["conc_um"])) - 1.0) / DOUBLING_H)
        assert record["mean_viability_percent"] == pytest.approx(float(expected), rel=1e-12)
    at_0 = [r["viability_percent"] for r in result.wells if r["time_h"] == 0.0]
    assert at_0 == pytest.approx([100.0] * 19)  # nothing has happened yet at treatment
    assert len(result.wells) == 4 * 19  # blank wells are not assay wells


def test_a_hill_fit_per_time_point():
    result = time_course(TIMES_H, _plate(), CONC_UM, blank_wells=BLANK)
    statuses = [f["status"] for f in result.fits]
    assert statuses[0] == "no_effect"  # at t = 0 every well reads the same
    assert all(s == "ok" for s in statuses[1:])
    ic50s = [f["ic50_um"] for f in result.fits[1:]]
    assert ic50s[0] > ic50s[1] > ic50s[2]  # the curve moves to lower concentrations as the assay runs on
    assert len(result.hill_fits) == 4
    json.dumps(result.to_dict(), allow_nan=False)


def test_interval_gr_is_undefined_without_growth_or_signal():
    assert interval_gr(1.0, 2.0, 1.0, 4.0) == pytest.approx(2**0.5 - 1)
    assert interval_gr(1.0, 2.0, 1.0, 1.0) is None  # controls did not grow
    assert interval_gr(0.0, 2.0, 1.0, 4.0) is None  # no signal at the start
    assert interval_gr(float("nan"), 2.0, 1.0, 4.0) is None
    with pytest.raises(ValueError, match="control_end must be a number; got 'four'"):
        interval_gr(1.0, 2.0, 1.0, "four")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"times_h": [0.0, 0.0, 48.0, 72.0]}, "times_h must be strictly increasing"),
        ({"values": np.ones((3, 21))}, r"values must have shape \(n_times, n_wells\) = \(4, 21\)"),
        ({"blank_wells": None}, "has no blank .* wells"),
        ({"conc_um": np.r_[-1.0, CONC_UM[1:]]}, "conc_um must be >= 0; got -1.0"),
    ],
)
def test_bad_input_is_refused(kwargs, match):
    arguments = {"times_h": TIMES_H, "values": _plate(), "conc_um": CONC_UM, "blank_wells": BLANK} | kwargs
    with pytest.raises(ValueError, match=match):
        time_course(**arguments)
