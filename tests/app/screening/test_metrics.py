"""IC_x, Emax and Einf against R drc's ED() on the ryegrass data and numerical solutions of the curve."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from scipy import optimize

from app.doseresponse import fit_hill, hill
from app.screening.covariance import parameter_covariance
from app.screening.metrics import control_level, efficacy, ic_x

# drc 3.0.6 reference manual, ED.drc examples (DoseResponse/drc docs/reference/ED.drc.html):
#   ryegrass.m1 <- drm(ryegrass, fct = LL.4()); ED(ryegrass.m1, c(10, 50, 90), interval = "delta")
#          Estimate Std. Error   Lower   Upper
#   e:1:10  1.46371    0.18677 1.07411 1.85330
#   e:1:50  3.05795    0.18573 2.67053 3.44538
#   e:1:90  6.38864    0.84510 4.62580 8.15148
DRC_ED = {
    10: (1.46371, 0.18677, 1.07411, 1.85330),
    50: (3.05795, 0.18573, 2.67053, 3.44538),
    90: (6.38864, 0.84510, 4.62580, 8.15148),
}


def _solve_concentration(top, bottom, slope, ic50, target) -> float:
    """The concentration where the Hill curve equals ``target``, found numerically on the log axis."""
    return math.exp(
        optimize.brentq(
            lambda u: hill(math.exp(u), top, bottom, slope, ic50) - target, -30.0, 30.0, xtol=1e-14
        )
    )


@pytest.mark.parametrize("percent", sorted(DRC_ED))
def test_ic_x_reproduces_drc_ed_with_delta_intervals_on_ryegrass(ryegrass, ryegrass_fit, percent):
    estimate, se, lower, upper = DRC_ED[percent]
    covariance = parameter_covariance(ryegrass_fit, *ryegrass, method="hessian")  # drc's vcov
    result = ic_x(ryegrass_fit, percent, covariance=covariance, ci_method="delta")
    # SEs to drc's 5 printed decimals (rounding); estimates and bounds to 5e-6 relative: drc's optimiser
    # stops a little short of the optimum (its ED90 6.38864 is 6.388625 at the exact LL.4 optimum)
    assert result.se_um == pytest.approx(se, abs=5e-6)
    assert result.concentration.value_um == pytest.approx(estimate, rel=5e-6)
    assert result.ci_um[0] == pytest.approx(lower, rel=5e-6)
    assert result.ci_um[1] == pytest.approx(upper, rel=5e-6)
    assert result.concentration.censor == "none"


def test_ic50_equals_the_fits_ic50_and_its_gauss_newton_se(ryegrass, ryegrass_fit):
    covariance = parameter_covariance(ryegrass_fit, *ryegrass)  # Gauss–Newton, as the fit's own SEs
    result = ic_x(ryegrass_fit, 50, covariance=covariance)
    assert result.concentration.value_um == pytest.approx(ryegrass_fit.ic50_um, rel=1e-12)
    assert result.se_um == pytest.approx(ryegrass_fit.se["ic50_um"], rel=1e-9)
    assert result.ci_um == pytest.approx(
        ryegrass_fit.ic50_ci_um, rel=1e-9
    )  # the same log-scale Wald interval


def test_ic20_closed_form_matches_a_numerical_solution_of_the_curve(ryegrass_fit):
    fit = ryegrass_fit
    target = fit.top - 0.2 * (fit.top - fit.bottom)
    numeric = _solve_concentration(fit.top, fit.bottom, fit.hill, fit.ic50_um, target)
    assert ic_x(fit, 20).concentration.value_um == pytest.approx(numeric, rel=1e-10)
    # closed form: ic50 · (20/80)^(1/hill) = 3.05795 · 0.25^(1/2.98222) = 1.92109 µM
    assert ic_x(fit, 20).concentration.value_um == pytest.approx(1.92109, abs=5e-6)


def test_absolute_ic50_is_the_fits_absolute_ic50_and_solves_half_the_control_level(ryegrass_fit):
    fit = ryegrass_fit
    result = ic_x(fit, 50, kind="absolute")
    assert result.concentration.value_um == pytest.approx(fit.ic50_abs_um, rel=1e-12)
    assert result.target_response == pytest.approx(0.5 * fit.top, rel=1e-12)
    assert result.reference_level == pytest.approx(fit.top)
    # hand: y* = 7.79296 / 2 = 3.89648; ic50 · ((7.79296 − y*)/(y* − 0.48141))^(1/2.98222) = 3.19621 µM
    assert result.concentration.value_um == pytest.approx(3.19621, abs=5e-6)
    numeric = _solve_concentration(fit.top, fit.bottom, fit.hill, fit.ic50_um, 0.5 * fit.top)
    assert result.concentration.value_um == pytest.approx(numeric, rel=1e-10)


def test_absolute_ic_x_with_a_given_reference_level(ryegrass_fit):
    fit = ryegrass_fit
    result = ic_x(fit, 40, kind="absolute", reference_level=8.0)  # 60 % of 8.0 = 4.8 cm
    assert result.target_response == pytest.approx(4.8)
    numeric = _solve_concentration(fit.top, fit.bottom, fit.hill, fit.ic50_um, 4.8)
    assert result.concentration.value_um == pytest.approx(numeric, rel=1e-10)


def _numeric_se(fit, covariance, percent, kind) -> float:
    """Delta method with a central-difference gradient of ln IC_x over (top, bottom, hill, ln ic50)."""
    theta = np.array([fit.top, fit.bottom, fit.hill, math.log(fit.ic50_um)])

    def log_ic(p):
        top, bottom, slope, log_ic50 = p
        target = top - percent / 100 * (top - bottom) if kind == "relative" else (1 - percent / 100) * top
        return math.log(_solve_concentration(top, bottom, slope, math.exp(log_ic50), target))

    step = 1e-5
    gradient = np.array(
        [(log_ic(theta + step * e) - log_ic(theta - step * e)) / (2 * step) for e in np.eye(4)]
    )
    return math.exp(log_ic(theta)) * math.sqrt(gradient @ covariance.as_array() @ gradient)


@pytest.mark.parametrize(
    ("percent", "kind"), [(10, "relative"), (75, "relative"), (30, "absolute"), (70, "absolute")]
)
def test_delta_method_gradient_matches_finite_differences(ryegrass, ryegrass_fit, percent, kind):
    covariance = parameter_covariance(ryegrass_fit, *ryegrass)
    result = ic_x(ryegrass_fit, percent, kind=kind, covariance=covariance)
    assert result.se_um == pytest.approx(_numeric_se(ryegrass_fit, covariance, percent, kind), rel=1e-5)
    assert result.se_log10 == pytest.approx(result.se_um / result.concentration.value_um / math.log(10))


def test_ic_x_outside_the_tested_range_is_censored_not_reported_as_a_measurement(ryegrass_fit):
    high = ic_x(ryegrass_fit, 99.9)  # 3.058 · 999^(1/2.982) ≈ 31.5 µM > 30 µM tested
    assert high.concentration.censor == "above_range"
    assert high.concentration.value_um is None
    assert high.concentration.extrapolated_um == pytest.approx(3.057955 * 999 ** (1 / 2.982229), rel=1e-5)
    assert high.concentration.text == "> 30 µM"
    assert high.concentration.csv == ">30"
    assert high.se_um is None and high.ci_um is None
    low = ic_x(ryegrass_fit, 1)  # 3.058 · (1/99)^(1/2.982) ≈ 0.66 µM < 0.94 µM tested
    assert (low.concentration.censor, low.concentration.text, low.concentration.csv) == (
        "below_range",
        "< 0.94 µM",
        "<0.94",
    )
    assert "not a measurement" in low.message


def test_absolute_ic_x_beyond_the_plateau_is_not_reached():
    conc = np.repeat([0, 0.01, 0.1, 1, 10, 100], 3)
    response = hill(conc, 1.0, 0.6, 1.5, 1.0)  # levels off at 60 % of control: no absolute IC50
    fit = fit_hill(conc, response + np.tile([0.01, -0.01, 0.0], 6))
    result = ic_x(fit, 50, kind="absolute")
    assert result.concentration.censor == "not_reached"
    assert result.concentration.text == "not reached (> 100 µM)"
    assert result.concentration.csv == ">100"
    assert "never reaches 50 %" in result.message
    assert ic_x(fit, 50).concentration.censor == "none"  # the relative IC50 (midpoint) exists


def test_rising_curve_relative_ic_x_uses_the_magnitude_of_the_slope():
    conc = np.repeat([0, 0.01, 0.1, 1, 10, 100], 3)
    fit = fit_hill(conc, hill(conc, 2.0, 0.5, -1.2, 0.8) + np.tile([0.01, -0.01, 0.0], 6))
    assert fit.hill < 0
    assert control_level(fit) == pytest.approx(fit.bottom)
    expected = fit.ic50_um * (10 / 90) ** (1 / abs(fit.hill))
    assert ic_x(fit, 10).concentration.value_um == pytest.approx(expected, rel=1e-12)


def test_an_interval_or_estimate_beyond_a_float_is_none_not_an_overflow():
    # a steep, poorly determined curve (found by the API's property test): its IC90 interval on the log scale
    # spans more than e^709, which math.exp cannot hold
    conc = [0.1, 10.0, 100.0, 0.001, 1.0, 0.1, 0.0, 0.01, 0.0, 0.03]
    y = [1.50005, 0.080581, 0.084815, 1.5, 1.37937, 1.48714, 1.52249, 1.49509, 1.52026, 1.5]
    fit = fit_hill(conc, y)
    result = ic_x(fit, 90, covariance=parameter_covariance(fit, conc, y))
    assert result.concentration.value_um is not None and result.ci_um == (None, None)
    # a slope so shallow that IC99 is e^4600 µM: censored in words, no number
    shallow = dataclasses.replace(fit, hill=0.001, status="ok")
    far = ic_x(shallow, 99)
    assert far.concentration.censor == "not_reached" and far.concentration.extrapolated_um is None
    assert "far outside the tested range" in far.message


def test_flat_and_failed_fits_give_no_number():
    conc = np.repeat([0, 0.1, 1, 10], 4)
    flat = fit_hill(conc, 1.0 + np.tile([0.02, -0.02, 0.01, -0.01], 4))
    assert flat.status == "no_effect"
    result = ic_x(flat, 50)
    assert result.concentration.censor == "no_effect"
    assert result.concentration.text == "no effect in the tested range (> 10 µM)"
    short = fit_hill([0, 1, 2], [1.0, 0.5, 0.2])
    assert short.status == "insufficient_data"
    assert ic_x(short, 50).concentration.csv == ""


def test_covariance_of_another_fit_is_refused(ryegrass, ryegrass_fit):
    conc, response = ryegrass
    other = fit_hill(conc, response * 1.1)
    with pytest.raises(ValueError, match="another fit"):
        ic_x(ryegrass_fit, 50, covariance=parameter_covariance(other, conc, response * 1.1))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"percent": 0}, r"percent must be in \(0, 100\); got 0"),
        ({"percent": 100.5}, r"percent must be in \(0, 100\)"),
        ({"percent": "ten"}, "percent must be a number; got 'ten'"),
        ({"percent": 50, "kind": "absolut"}, r"kind must be one of \('relative', 'absolute'\)"),
        ({"percent": 50, "reference_level": 8.0}, "kind='absolute' only"),
        ({"percent": 50, "ci_level": 95}, r"ci_level must be in \(0, 1\)"),
        ({"percent": 50, "ci_method": "x" * 100}, "got '" + "x" * 38 + "…$"),  # 40 characters
    ],
)
def test_bad_arguments_are_named_in_the_error(ryegrass_fit, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ic_x(ryegrass_fit, **kwargs)


def test_result_is_frozen_and_json_safe(ryegrass, ryegrass_fit):
    result = ic_x(ryegrass_fit, 90, covariance=parameter_covariance(ryegrass_fit, *ryegrass))
    with pytest.raises(AttributeError):
        result.percent = 10  # type: ignore[misc]
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["concentration"]["text"] == "6.389 µM"
    assert data["ci_um"][0] < data["concentration"]["value_um"] < data["ci_um"][1]


def test_efficacy_emax_from_the_data_and_einf_from_the_asymptote(ryegrass, ryegrass_fit):
    conc, response = ryegrass
    result = efficacy(ryegrass_fit, conc, response)
    vehicle = response[conc == 0].mean()
    assert result.reference_source == "vehicle wells"
    assert result.reference_level == pytest.approx(vehicle)
    lowest_mean = min(response[conc == c].mean() for c in np.unique(conc[conc > 0]))
    assert result.emax_percent == pytest.approx(100 * (1 - lowest_mean / vehicle))
    assert result.emax_conc_um == 30.0
    assert result.einf_percent == pytest.approx(100 * (1 - ryegrass_fit.bottom / vehicle))
    given = efficacy(ryegrass_fit, conc, response, reference_level=10.0)
    assert given.einf_percent == pytest.approx(100 * (1 - ryegrass_fit.bottom / 10.0))


def test_efficacy_without_vehicle_wells_uses_the_fitted_control_level(ryegrass, ryegrass_fit):
    conc, response = ryegrass
    treated = conc > 0
    result = efficacy(ryegrass_fit, conc[treated], response[treated])
    assert result.reference_source == "fitted control level"
    assert result.reference_level == pytest.approx(ryegrass_fit.top)
    with pytest.raises(ValueError, match="conc_um has no positive concentration"):
        efficacy(ryegrass_fit, [0, 0], [1.0, 1.1])
