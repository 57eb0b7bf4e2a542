"""AAC and DSS: hand-computed cases (every step written down) and numerical integration of the curve."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import integrate

from app.doseresponse import HillFit, fit_hill, hill
from app.screening.scores import area_over_curve, drug_sensitivity_score

DESIGN_UM = np.repeat([0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0], 3)


def _exact_fit(conc: np.ndarray, top: float, bottom: float, slope: float, ic50: float) -> HillFit:
    """Fit noise-free responses of a known curve (the fit recovers the parameters to ~1e-9)."""
    fit = fit_hill(conc, hill(conc, top, bottom, slope, ic50))
    assert fit.has_curve
    assert (fit.top, fit.bottom, fit.hill, fit.ic50_um) == pytest.approx((top, bottom, slope, ic50), rel=1e-7)
    return fit


def test_aac_of_pharmacogx_style_curve_by_hand():
    # PharmacoGx's test curve (tests/testthat/test_computeAUC.R): E0 = 1, E_inf = 0.2, EC50 = 1, HS = 1 over
    # 0.1–10 µM. Its closed form (R/computeAUC.R):
    #   (1 − E_inf)/(HS (b − a)) · log10((1 + 10^(b − c))/(1 + 10^(a − c)))
    # with a = −1, b = 1, c = 0: 0.8 / 2 · log10(11 / 1.1) = 0.4 · log10(10) = 0.4 exactly.
    conc = np.repeat([0.0, 0.1, 0.3, 1.0, 3.0, 10.0], 3)
    fit = _exact_fit(conc, 1.0, 0.2, 1.0, 1.0)
    result = area_over_curve(fit)
    assert result.aac == pytest.approx(0.4, rel=1e-7)
    assert result.range_um == (0.1, 10.0)
    assert result.reference_level == pytest.approx(1.0)


def test_aac_equals_numerical_integration_on_ryegrass(ryegrass_fit):
    fit = ryegrass_fit
    low, high = fit.tested_range_um

    def integrand(u):
        return 1 - hill(10**u, fit.top, fit.bottom, fit.hill, fit.ic50_um) / fit.top

    numeric, _ = integrate.quad(integrand, math.log10(low), math.log10(high), epsabs=1e-13, epsrel=1e-13)
    width = math.log10(high) - math.log10(low)
    assert area_over_curve(fit).aac == pytest.approx(numeric / width, rel=1e-10)
    # the same as PharmacoGx's closed form with E_inf = bottom/top (its viability is relative to the control)
    e_inf = fit.bottom / fit.top
    a, b, c = math.log10(low), math.log10(high), math.log10(fit.ic50_um)
    pharmacogx = (
        (1 - e_inf)
        / (fit.hill * (b - a))
        * math.log10((1 + 10 ** (fit.hill * (b - c))) / (1 + 10 ** (fit.hill * (a - c))))
    )
    assert area_over_curve(fit).aac == pytest.approx(pharmacogx, rel=1e-12)


def test_aac_with_a_stated_range_and_reference(ryegrass_fit):
    fit = ryegrass_fit

    def integrand(u):
        return 1 - hill(10**u, fit.top, fit.bottom, fit.hill, fit.ic50_um) / 8.0

    numeric, _ = integrate.quad(integrand, -1.0, 2.0, epsabs=1e-13, epsrel=1e-13)
    result = area_over_curve(fit, range_um=(0.1, 100.0), reference_level=8.0)
    assert result.aac == pytest.approx(numeric / 3.0, rel=1e-10)
    assert result.range_um == (0.1, 100.0)


def test_aac_of_flat_and_missing_fits():
    conc = np.repeat([0, 0.1, 1, 10], 4)
    flat = fit_hill(conc, 0.9 + np.tile([0.02, -0.02, 0.01, -0.01], 4))
    assert flat.status == "no_effect"
    assert area_over_curve(flat, reference_level=1.0).aac == pytest.approx(0.1)
    assert area_over_curve(fit_hill([0, 1, 2], [1, 0.5, 0.2])).aac is None


def test_dss_by_hand():
    # Curve: top 1 (= the 100 % reference), bottom 0.2, hill 1, IC50 1 µM, tested 0.01–100 µM, t = 10 %.
    # In % inhibition: d = 100 (1 − 1/1) = 0, a = 100 (1 − 0.2/1) = 80, b = 1, c = log10(1) = 0;
    # x_min = log10(0.01) = −2, x2 = log10(100) = 2.
    # x1 = c − log10((a − t)/(t − d))/b = −log10(70/10) = −log10 7 = −0.845098.
    # ∫ a/(1 + 10^(c − u)) du = a (u + log10(1 + 10^(−u))) =: F(u)
    #   F(2) = 80 (2 + log10 1.01) = 160.345710, F(x1) = 80 (−log10 7 + log10 8) = 4.639356
    # area = F(2) − F(x1) − t (x2 − x1) = 155.706354 − 28.450980 = 127.255374
    # DSS1 = 100 · area / ((100 − t)(x2 − x_min)) = 12725.5374 / 360 = 35.348715
    # DSS2 = DSS1 / log10 80 = 35.348715 / 1.903090 = 18.574379
    # DSS3 = DSS1 · (log10 100 / log10 80) · (x2 − x1)/(x2 − x_min)
    #      = 35.348715 · 1.050922 · 0.711275 = 26.422965
    log7, log8 = math.log10(7), math.log10(8)
    area = 80 * (2 + math.log10(1.01)) - 80 * (log8 - log7) - 10 * (2 + log7)
    dss1 = 100 * area / (90 * 4)
    fit = _exact_fit(DESIGN_UM, 1.0, 0.2, 1.0, 1.0)
    result = drug_sensitivity_score(fit)
    assert area == pytest.approx(127.255374, abs=1e-6)
    assert result.area == pytest.approx(area, rel=1e-6)
    assert result.x1_um == pytest.approx(1 / 7, rel=1e-6)
    assert result.max_inhibition_percent == pytest.approx(80.0, rel=1e-7)
    assert result.dss1 == pytest.approx(dss1, rel=1e-6) == pytest.approx(35.348715, abs=1e-6)
    assert result.dss2 == pytest.approx(dss1 / math.log10(80), rel=1e-6) == pytest.approx(18.574379, abs=1e-6)
    dss3 = dss1 * (2 / math.log10(80)) * (2 + log7) / 4
    assert result.dss3 == pytest.approx(dss3, rel=1e-6) == pytest.approx(26.422965, abs=1e-6)
    assert result.threshold_percent == 10.0 and result.range_um == (0.01, 100.0)


def test_dss_area_matches_numerical_integration_on_ryegrass(ryegrass_fit):
    fit = ryegrass_fit
    result = drug_sensitivity_score(fit, threshold_percent=20.0)
    x1, x2 = math.log10(result.x1_um), math.log10(fit.tested_range_um[1])

    def inhibition(u):
        return 100 * (1 - hill(10**u, fit.top, fit.bottom, fit.hill, fit.ic50_um) / fit.top)

    assert inhibition(x1) == pytest.approx(20.0, rel=1e-9)  # x1 is where the curve crosses t
    numeric, _ = integrate.quad(inhibition, x1, x2, epsabs=1e-12, epsrel=1e-12)
    assert result.area == pytest.approx(numeric - 20.0 * (x2 - x1), rel=1e-9)


def test_dss_is_zero_by_the_reference_rules():
    above = _exact_fit(DESIGN_UM, 1.0, 0.0, 1.0, 200.0)  # IC50 above the highest concentration (100 µM)
    assert drug_sensitivity_score(above).dss3 == 0.0
    assert "at or above the highest concentration" in drug_sensitivity_score(above).message
    weak = _exact_fit(DESIGN_UM, 1.0, 0.92, 1.0, 1.0)  # at most 8 % inhibition < t = 10 %
    assert drug_sensitivity_score(weak).dss1 == 0.0
    rising = _exact_fit(DESIGN_UM, 1.5, 1.0, -1.0, 1.0)
    assert drug_sensitivity_score(rising, reference_level=1.0).dss2 == 0.0
    flat = fit_hill(np.repeat([0, 0.1, 1, 10], 4), 1.0 + np.tile([0.02, -0.02, 0.01, -0.01], 4))
    assert drug_sensitivity_score(flat).dss1 == 0.0
    assert drug_sensitivity_score(fit_hill([0, 1, 2], [1, 0.5, 0.2])).dss1 is None


def test_dss_rises_with_potency():
    scores = [
        drug_sensitivity_score(_exact_fit(DESIGN_UM, 1.0, 0.0, 1.0, ic50)).dss3 for ic50 in (10.0, 1.0, 0.1)
    ]
    assert scores[0] < scores[1] < scores[2]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"threshold_percent": 0}, r"threshold_percent must be in \(0, 100\)"),
        ({"range_um": (10.0, 1.0)}, "low < high"),
        ({"range_um": (-1.0, 1.0)}, r"range_um\[0\] must be in \(0, inf\)"),
        ({"reference_level": -1.0}, r"reference_level must be in \(0, inf\); got -1.0"),
    ],
)
def test_bad_arguments_are_named(ryegrass_fit, kwargs, match):
    with pytest.raises(ValueError, match=match):
        drug_sensitivity_score(ryegrass_fit, **kwargs)


def test_results_are_json_safe(ryegrass_fit):
    for result in (area_over_curve(ryegrass_fit), drug_sensitivity_score(ryegrass_fit)):
        json.dumps(result.to_dict(), allow_nan=False)
