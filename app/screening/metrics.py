"""Per-curve potency and efficacy from a fitted Hill curve: IC_x (relative and absolute), Emax, Einf.

The curve is nostain's Hill model (:func:`app.doseresponse.hill`)::

    y = bottom + (top − bottom) / (1 + (x / ic50)^hill),   x in µM

For a falling curve (hill > 0) the control level (the curve at x = 0) is ``top``; for a rising one
(hill < 0) it is ``bottom``.

IC_x
----
``kind="relative"`` (R drc's ``ED(..., type = "relative")``): the concentration at which the response has
moved x % of the way from the control-level asymptote to the other asymptote. Closed form, either
direction::

    IC_x = ic50 · (x / (100 − x))^(1 / |hill|)

``kind="absolute"``: the concentration at which the response equals ``(100 − x) %`` of a 100 % reference —
the control level of the curve by default, or ``reference_level`` (e.g. the mean of the vehicle wells, or
100 for % viability). With ``y* = (1 − x/100) · reference``::

    IC_x = ic50 · ((top − y*) / (y* − bottom))^(1 / hill)

It exists only when y* lies strictly between the asymptotes; otherwise it is "not reached". drc's
``ED(..., type = "absolute")`` takes the response level itself (our y*) and gives the same estimate.

Uncertainty (delta method)
--------------------------
``ln IC_x = ln ic50 + L / hill`` with ``L = ln((top − y*) / (y* − bottom))``; its gradient in
``(top, bottom, hill, ln ic50)`` — including the dependence of y* on top (or bottom) when the reference is the
fitted control level — times the parameter covariance (:mod:`app.screening.covariance`) gives
``Var(ln IC_x)``, and ``SE(IC_x) = IC_x · SE(ln IC_x)``. drc's ``ED()`` uses the same formula for relative
levels; for absolute levels drc treats the implied relative level as fixed (its derivative in c and d is
0), so its SEs differ there. Intervals: ``ci_method="log"`` (default, as the IC50 of
:class:`~app.doseresponse.HillFit`): ``exp(ln IC_x ± t(df) · SE(ln IC_x))``, never negative;
``ci_method="delta"``: ``IC_x ± t(df) · SE(IC_x)``, drc's ``interval = "delta"``.

Censoring
---------
An IC_x outside the tested positive concentrations is not a measurement: it is reported as ``"> 30 µM"`` /
``"< 0.0001 µM"`` (see :mod:`app.screening.censoring`), with the model's estimate kept only in
``extrapolated_um`` and no SE or CI.

Efficacy
--------
``emax_percent``: the largest observed effect, from the data: ``100 · (1 − ȳ(c) / reference)`` maximised
over the tested positive concentrations c, ȳ(c) the mean of the wells at c. ``einf_percent``: the fitted
effect at infinite concentration, ``100 · (1 − asymptote / reference)`` (the asymptote is ``bottom`` for a
falling curve). 0 % = no effect, 100 % = no signal left; negative = stimulation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from app.doseresponse import HillFit
from app.screening._common import (
    JsonResult,
    as_choice,
    as_number,
    as_optional_number,
    as_vector,
    optional_float,
    same_length,
)
from app.screening.censoring import CensoredConcentration, censor_concentration
from app.screening.covariance import ParameterCovariance, hill_parameters

__all__ = [
    "IC_CI_METHODS",
    "IC_KINDS",
    "Efficacy",
    "InhibitoryConcentration",
    "control_level",
    "efficacy",
    "ic_x",
]

IC_KINDS = ("relative", "absolute")
_LOG_FLOAT_MAX = math.log(np.finfo(float).max)
IC_CI_METHODS = ("log", "delta")


@dataclass(frozen=True)
class InhibitoryConcentration(JsonResult):
    """One IC_x of a fitted curve.

    Attributes
    ----------
    percent : float
        x, in (0, 100).
    kind : str
        ``"relative"`` or ``"absolute"`` (see the module docstring).
    target_response : float or None
        The response level y* that defines IC_x, in response units (e.g. OD450).
    reference_level : float or None
        The 100 % level used (absolute kind; the control level unless given).
    concentration : CensoredConcentration
        The IC_x in µM with its censoring: ``concentration.value_um`` is set only inside the tested range,
        ``concentration.extrapolated_um`` only outside; ``concentration.text`` / ``.csv`` for display.
    se_um : float or None
        Delta-method standard error of IC_x, µM (None without a covariance or when censored).
    se_log10 : float or None
        Standard error of log10 IC_x.
    ci_um : tuple of (float or None) or None
        Confidence interval, µM (``ci_method``, ``ci_level``); None when censored or without a covariance.
    ci_level : float
    ci_method : str
    message : str
        Plain words on how the value was obtained, or why it is missing.
    """

    percent: float
    kind: str
    target_response: float | None
    reference_level: float | None
    concentration: CensoredConcentration
    se_um: float | None
    se_log10: float | None
    ci_um: tuple[float | None, float | None] | None
    ci_level: float
    ci_method: str
    message: str


@dataclass(frozen=True)
class Efficacy(JsonResult):
    """Maximal effect: observed (Emax) and fitted (Einf), in % of the reference level.

    Attributes
    ----------
    emax_percent : float or None
        Largest observed effect ``100 · (1 − ȳ(c) / reference)`` over the tested positive concentrations.
    emax_conc_um : float or None
        Concentration (µM) where it was observed.
    effect_at_max_conc_percent : float or None
        Observed effect at the highest tested concentration.
    einf_percent : float or None
        Fitted effect at infinite concentration (None without a fitted curve).
    reference_level : float
        The 100 % level (response units).
    reference_source : str
        ``"given"``, ``"vehicle wells"`` (mean of the x = 0 wells) or ``"fitted control level"``.
    """

    emax_percent: float | None
    emax_conc_um: float | None
    effect_at_max_conc_percent: float | None
    einf_percent: float | None
    reference_level: float
    reference_source: str


def _exp(x: float) -> float:
    """e^x, +inf where it overflows a float (a CI bound or an IC_x far beyond any concentration)."""
    return math.exp(x) if x < _LOG_FLOAT_MAX else math.inf


def _positive(value: float) -> float | None:
    """A bound of a log-scale interval, or None where it under- or overflows a float (0 or inf)."""
    return value if 0.0 < value < math.inf else None


def control_level(fit: HillFit) -> float:
    """The fitted response at x = 0 (``top`` for a falling curve, ``bottom`` for a rising one).

    Raises
    ------
    ValueError
        When the fit has no sigmoid curve.
    """
    top, bottom, slope, _ = (float(v) for v in hill_parameters(fit))
    return float(top if slope > 0 else bottom)


def _target(
    theta: np.ndarray, fraction: float, kind: str, reference: float | None
) -> tuple[float, float, float]:
    """y* and its derivatives in top and bottom (see the module docstring)."""
    top, bottom, slope, _ = theta
    falling = slope > 0
    if kind == "relative":
        if falling:
            return top - fraction * (top - bottom), 1.0 - fraction, fraction
        return bottom + fraction * (top - bottom), fraction, 1.0 - fraction
    if reference is not None:
        return (1.0 - fraction) * reference, 0.0, 0.0
    if falling:
        return (1.0 - fraction) * top, 1.0 - fraction, 0.0
    return (1.0 - fraction) * bottom, 0.0, 1.0 - fraction


def _log_ic_and_gradient(
    theta: np.ndarray, target: float, d_target_top: float, d_target_bottom: float
) -> tuple[float, np.ndarray] | None:
    top, bottom, slope, log_ic50 = theta
    above, below = top - target, target - bottom
    if not (above > 0 and below > 0):
        return None
    ratio_log = math.log(above / below)
    d_top = (1.0 - d_target_top) / above - d_target_top / below
    d_bottom = -d_target_bottom / above + (1.0 - d_target_bottom) / below
    gradient = np.array([d_top / slope, d_bottom / slope, -ratio_log / slope**2, 1.0])
    return log_ic50 + ratio_log / slope, gradient


def _missing(
    percent, kind, target, reference, concentration, level, method, message
) -> InhibitoryConcentration:
    return InhibitoryConcentration(
        percent, kind, target, reference, concentration, None, None, None, level, method, message
    )


def ic_x(
    fit: HillFit,
    percent: float,
    *,
    kind: str = "relative",
    reference_level: float | None = None,
    covariance: ParameterCovariance | None = None,
    ci_level: float = 0.95,
    ci_method: str = "log",
) -> InhibitoryConcentration:
    """The concentration giving x % inhibition on a fitted Hill curve, censored to the tested range.

    Parameters
    ----------
    fit : HillFit
        Result of :func:`app.doseresponse.fit_hill`.
    percent : float
        x in (0, 100): 50 gives the IC50, 10 the IC10, ...
    kind : {"relative", "absolute"}
        See the module docstring.
    reference_level : float, optional
        Absolute kind only: the 100 % response level (default: the fitted control level).
    covariance : ParameterCovariance, optional
        From :func:`app.screening.covariance.parameter_covariance` on the same fit; without it there is no
        SE or CI.
    ci_level : float
        Confidence level in (0, 1).
    ci_method : {"log", "delta"}
        Log-scale (never negative) or symmetric delta-method interval.

    Returns
    -------
    InhibitoryConcentration

    Raises
    ------
    ValueError
        Bad ``percent``, ``kind``, ``reference_level``, ``ci_level``, ``ci_method``, a reference level given
        for the relative kind, or a covariance of another fit.
    """
    from scipy import stats  # lazy: see the package docstring

    x_percent = as_number(percent, "percent", low=0.0, high=100.0)
    how = as_choice(kind, "kind", IC_KINDS)
    reference = as_optional_number(reference_level, "reference_level")
    if reference is not None and how == "relative":
        raise ValueError("reference_level applies to kind='absolute' only; got a value with kind='relative'")
    level = as_number(ci_level, "ci_level", low=0.0, high=1.0)
    method = as_choice(ci_method, "ci_method", IC_CI_METHODS)
    tested = fit.tested_range_um
    if not fit.has_curve:
        message = f"No IC{x_percent:g}: the fit has no curve (status {fit.status})."
        censored = censor_concentration(None, tested, reason="not_estimated")
        return _missing(x_percent, how, None, reference, censored, level, method, message)
    if fit.status == "no_effect" or fit.ic50_um is None:
        message = f"No IC{x_percent:g}: the response does not change with concentration (flat fit)."
        censored = censor_concentration(None, tested, reason="no_effect")
        return _missing(x_percent, how, None, reference, censored, level, method, message)
    theta = hill_parameters(fit)
    fraction = x_percent / 100.0
    target, d_top, d_bottom = (float(v) for v in _target(theta, fraction, how, reference))
    if how == "absolute" and reference is None:
        reference = control_level(fit)
    solved = _log_ic_and_gradient(theta, target, d_top, d_bottom)
    if solved is None:
        message = (
            f"The curve never reaches {100 - x_percent:g} % of the reference level ({target:.4g}): "
            f"it levels off at {theta[1] if theta[2] > 0 else theta[0]:.4g}."
        )
        censored = censor_concentration(None, tested, reason="not_reached")
        return _missing(x_percent, how, target, reference, censored, level, method, message)
    log_ic, gradient = solved
    estimate = _exp(log_ic)
    if not 0.0 < estimate < math.inf:  # beyond what a float holds: far outside any tested range
        message = (
            f"IC{x_percent:g} lies far outside the tested range: the model's estimate is e^{log_ic:.4g} µM."
        )
        reason = "not_reached" if log_ic > 0 else "below_range"
        censored = censor_concentration(None, tested, reason=reason)
        return _missing(x_percent, how, target, reference, censored, level, method, message)
    concentration = censor_concentration(estimate, tested)
    if concentration.censor != "none":
        message = (
            f"IC{x_percent:g} lies outside the tested range ({concentration.text}); the model's "
            f"extrapolation ({estimate:.4g} µM) is not a measurement."
        )
        return _missing(x_percent, how, target, reference, concentration, level, method, message)
    se_um = se_log10 = None
    ci: tuple[float | None, float | None] | None = None
    message = f"IC{x_percent:g} ({how}) {concentration.text} from the fitted curve."
    if covariance is not None:
        if not np.allclose(covariance.theta, theta, rtol=1e-9, atol=0.0):
            raise ValueError("covariance belongs to another fit (its parameter estimates differ)")
        variance = float(gradient @ covariance.as_array() @ gradient)
        se_log = math.sqrt(variance) if variance >= 0 else math.nan
        se_um, se_log10 = optional_float(estimate * se_log), optional_float(se_log / math.log(10.0))
        quantile = float(stats.t.ppf(0.5 + level / 2.0, covariance.df)) if covariance.df > 0 else math.nan
        if math.isfinite(se_log) and math.isfinite(quantile):
            if method == "log":
                half = quantile * se_log
                ci = (_positive(estimate * _exp(-half)), _positive(estimate * _exp(half)))
            else:
                ci = (estimate - quantile * estimate * se_log, estimate + quantile * estimate * se_log)
        message += f" SE and {level * 100:g} % CI by the delta method ({covariance.method} covariance)."
    return InhibitoryConcentration(
        x_percent, how, target, reference, concentration, se_um, se_log10, ci, level, method, message
    )


def efficacy(
    fit: HillFit,
    conc_um: ArrayLike,
    response: ArrayLike,
    *,
    reference_level: float | None = None,
) -> Efficacy:
    """Emax (largest observed effect) and Einf (fitted asymptotic effect), in % of the reference level.

    Parameters
    ----------
    fit : HillFit
        The fit of these data (Einf is None when it has no sigmoid curve).
    conc_um : array_like, shape (n_wells,)
        Concentration of each well, µM (0 = vehicle control).
    response : array_like, shape (n_wells,)
        Response of each well (e.g. OD450).
    reference_level : float, optional
        The 100 % (no effect) level. Default: the mean of the vehicle wells (x = 0) if any, else the fitted
        control level.

    Returns
    -------
    Efficacy

    Raises
    ------
    ValueError
        Bad arrays, no positive concentration, a reference level ≤ 0, or no reference available (no
        vehicle wells and no fitted curve).
    """
    x = as_vector(conc_um, "conc_um")
    y = as_vector(response, "response")
    same_length("conc_um", x, "response", y)
    if np.any(x < 0):
        raise ValueError(f"conc_um must be >= 0; got {float(x[x < 0][0])!r}")
    if not np.any(x > 0):
        raise ValueError("conc_um has no positive concentration: there is no effect to measure")
    has_curve = fit.has_curve and fit.status != "no_effect" and fit.ic50_um is not None
    if reference_level is not None:
        reference, source = as_number(reference_level, "reference_level", low=0.0), "given"
    elif np.any(x == 0):
        reference, source = float(np.mean(y[x == 0])), "vehicle wells"
    elif has_curve:
        reference, source = control_level(fit), "fitted control level"
    else:
        raise ValueError("no reference level: give reference_level, include vehicle wells (conc 0) or a fit")
    if not reference > 0:
        raise ValueError(f"the reference level must be > 0; got {reference!r} ({source})")
    concentrations = np.unique(x[x > 0])
    means = np.array([np.mean(y[x == c]) for c in concentrations])
    effects = 100.0 * (1.0 - means / reference)
    best = int(np.argmax(effects))
    einf = None
    if has_curve:
        top, bottom, slope, _ = (float(v) for v in hill_parameters(fit))
        asymptote = bottom if slope > 0 else top
        einf = optional_float(100.0 * (1.0 - asymptote / reference))
    return Efficacy(
        emax_percent=float(effects[best]),
        emax_conc_um=float(concentrations[best]),
        effect_at_max_conc_percent=float(effects[-1]),
        einf_percent=einf,
        reference_level=reference,
        reference_source=source,
    )
