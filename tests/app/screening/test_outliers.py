"""ROUT-like outlier removal: RSDR and the FDR test by hand; simulated curves with and without outliers.

All curves here are simulated (synthetic), with seeded generators.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from app.doseresponse import fit_hill, hill
from app.screening.outliers import fit_without_outliers, rout_outliers, rsdr

CONC_UM = np.repeat([0.0, 0.001, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0], 3)  # 30 wells
TRUE = {"top": 1.0, "bottom": 0.1, "hill_slope": 1.0, "ic50": 0.5}
SD = 0.05


def _curve(rng: np.random.Generator) -> np.ndarray:
    return hill(CONC_UM, TRUE["top"], TRUE["bottom"], TRUE["hill_slope"], TRUE["ic50"]) + rng.normal(
        0, SD, CONC_UM.size
    )


def test_rsdr_by_hand():
    # |r| sorted 1 … 10; the 68.27th percentile (Hyndman–Fan type 7) sits at position 9 · 0.6827 = 6.1443
    # between 7 and 8: 7.1443; RSDR = 7.1443 · N / (N − K) = 7.1443 · 10 / 6 = 11.907167
    residuals = [1, -2, 3, -4, 5, -6, 7, -8, 9, -10]
    assert rsdr(residuals, 4) == pytest.approx(7.1443 * 10 / 6)
    with pytest.raises(ValueError, match=r"n_params must be an integer in \[0, 10\)"):
        rsdr(residuals, 10)


def test_fdr_test_flags_the_planted_residual_with_its_threshold():
    theta = np.array([1.0, 0.1, 1.0, np.log(0.5)])
    pattern = np.tile([0.03, -0.03, 0.01, -0.01, 0.02, -0.02], 5)  # 30 small residuals
    response = hill(CONC_UM, 1.0, 0.1, 1.0, 0.5) + pattern
    response[7] += 0.5  # one gross error
    flagged, scale = rout_outliers(CONC_UM, response, theta, q=0.01)
    assert scale == pytest.approx(rsdr(response - hill(CONC_UM, 1.0, 0.1, 1.0, 0.5), 4))
    assert [w.index for w in flagged] == [7]
    (well,) = flagged
    assert well.residual == pytest.approx(0.5 + pattern[7])
    assert well.t_ratio == pytest.approx(abs(well.residual) / scale)
    assert well.p_value == pytest.approx(2 * stats.t.sf(well.t_ratio, 30 - 4))
    assert well.threshold == pytest.approx(0.01 / 30)  # rank N: Q (N − (N − 1)) / N
    assert "above the robust curve" in well.reason


def test_at_most_30_percent_of_wells_are_candidates():
    theta = np.array([1.0, 0.1, 1.0, np.log(0.5)])
    response = hill(CONC_UM, 1.0, 0.1, 1.0, 0.5) + np.tile([0.001, -0.001], 15)
    response[:12] += 5.0  # 40 % of the wells off the curve
    flagged, _ = rout_outliers(CONC_UM, response, theta)
    assert len(flagged) <= 9  # floor(0.3 · 30)


@pytest.mark.slow
def test_false_positives_on_clean_simulated_curves_stay_near_q():
    # Motulsky & Brown (2006): with Q = 1 % about 1–3 % of clean Gaussian experiments get a false outlier.
    rng = np.random.default_rng(2006)
    n_curves = 300
    with_false = sum(bool(fit_without_outliers(CONC_UM, _curve(rng)).outliers) for _ in range(n_curves))
    assert with_false / n_curves <= 0.05  # measured: 6 / 300 = 2.0 %


def test_gross_outliers_are_found_and_removed():
    rng = np.random.default_rng(7)
    found = extra = 0
    for _ in range(100):
        response = _curve(rng)
        k = int(rng.integers(CONC_UM.size))
        response[k] += rng.choice([-1, 1]) * 10 * SD  # a 10-SD error in a random well
        flagged = {w.index for w in fit_without_outliers(CONC_UM, response).outliers}
        found += k in flagged
        extra += len(flagged - {k})
    assert found >= 98  # measured: 100
    assert extra <= 5  # measured: 1


def test_refit_without_the_outliers_recovers_the_ic50():
    rng = np.random.default_rng(11)
    response = _curve(rng)
    near_ic50 = np.flatnonzero(np.isin(CONC_UM, [0.3, 1.0]))[:2]
    response[near_ic50] += 0.6  # two wells far above the curve where the IC50 is read
    result = fit_without_outliers(CONC_UM, response)
    assert sorted(w.index for w in result.outliers) == sorted(near_ic50.tolist())
    assert len(result.kept) == CONC_UM.size - 2
    assert result.fit.n_wells == CONC_UM.size - 2
    naive = fit_hill(CONC_UM, response)
    assert abs(np.log(result.fit.ic50_um / TRUE["ic50"])) < abs(np.log(naive.ic50_um / TRUE["ic50"]))
    assert result.outliers[0].t_ratio >= result.outliers[1].t_ratio  # largest residual first
    json.dumps(result.to_dict(), allow_nan=False)


def test_clean_data_keep_every_well_and_the_original_fit():
    response = hill(CONC_UM, 1.0, 0.1, 1.0, 0.5) + np.tile([0.01, -0.01, 0.0], 10)
    result = fit_without_outliers(CONC_UM, response)
    assert result.outliers == ()
    assert result.kept == tuple(range(CONC_UM.size))
    assert result.fit.ic50_um == pytest.approx(fit_hill(CONC_UM, response).ic50_um)


def test_too_few_wells_are_not_tested():
    result = fit_without_outliers([0, 1, 2], [1.0, 0.5, 0.2])
    assert result.outliers == () and result.rsdr is None
    assert "insufficient_data" in result.message


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"q": 0}, r"q must be in \(0, 1\)"), ({"q": "1%"}, "q must be a number")]
)
def test_bad_q_is_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit_without_outliers(CONC_UM, _curve(np.random.default_rng(0)), **kwargs)


def test_an_outlier_on_a_flat_curve_is_found():
    response = 1.0 + np.tile([0.02, -0.02, 0.01, -0.01, 0.0, 0.015], 5)
    response[10] = 0.2  # one well reads far too low on a plate without drug effect
    result = fit_without_outliers(CONC_UM, response)
    assert [w.index for w in result.outliers] == [10]
    assert "below the robust curve" in result.outliers[0].reason
    assert result.fit.status == "no_effect"  # without the outlier the response is flat
