"""Whole-curve activity scores of a fitted Hill curve: area over the curve (AAC) and DSS.

Both integrate the fitted curve on the log10-concentration axis, u = log10(x / µM), over a stated range
[u_lo, u_hi] (default: the lowest and highest positive concentration tested), with effects expressed
against a 100 % reference level R (default: the fitted control level; or e.g. the vehicle mean, or 100 for
% viability).

AAC (area over the curve)
-------------------------
::

    AAC = 1/(u_hi − u_lo) · ∫ (1 − y(u) / R) du        over [u_lo, u_hi]

0 = no effect anywhere in the range, 1 = no signal left over the whole range (negative for stimulation).
It is computed in closed form: with c = log10 ic50, h = hill and
``I = ∫ 1/(1 + 10^(h (u − c))) du = (u_hi − u_lo) − [log10(1 + 10^(h (u − c)))]/h`` over the range,
``AAC = 1 − (bottom (u_hi − u_lo) + (top − bottom) I) / (R (u_hi − u_lo))``.

Relation to PharmacoGx: its fitted-curve area (bhklab/PharmacoGx ``R/computeAUC.R``; ``computeAAC`` in
newer versions), ``(1 − E_inf) / (HS (b − a)) · log10((1 + 10^(HS (b − log10 EC50))) / (1 + 10^(HS (a −
log10 EC50))))`` over the tested log10 range [a, b], integrates ``1 − viability`` of a 3-parameter Hill curve
(viability relative to the controls, E0 = 1) and divides by the range width: the same number as ours with
R = top (E_inf = bottom / top), times 100 when viabilities are in %. PharmacoGx's "Actual" area uses the
trapezoid rule on the data instead, and it truncates viabilities to [0, 1] before fitting.

DSS (drug sensitivity score)
----------------------------
Yadav B. et al., "Quantitative scoring of differential drug sensitivity for individually optimized
anticancer therapies", Sci Rep 4:5193 (2014), as implemented in the authors' R function ``DSS`` (FIMM;
the reference implementation distributed with the paper). The curve is expressed as % inhibition,
``I(u) = d + (a − d) / (1 + 10^(b (c − u)))`` with ``d = 100 (1 − top/R)``, ``a = 100 (1 − bottom/R)``,
``b = hill``, ``c = log10 ic50``; as the reference implementation does, the curve is shifted so that
d = 0 (``a ← a − d``). With activity threshold t (default 10 %), x_min = u_lo, x2 = u_hi and
``x1 = max(x_min, min(x2, c − log10((a − t) / (t − d)) / b))`` (where the curve crosses t)::

    AUC  = ∫ I(u) du over [x1, x2]                       (closed form)
    DSS1 = 100 · (AUC − t (x2 − x1)) / ((100 − t) (x2 − x_min))
    DSS2 = DSS1 / log10(a)
    DSS3 = DSS1 · (log10(100) / log10(a)) · (x2 − x1) / (x2 − x_min)

The paper's compact form is DSS2 = DSS1 / log a (as restated in a Bio-protocol methods note by Okutachi
et al., bio-protocol.org exchange item 10275394). For DSS3 we follow the authors' R implementation, which
multiplies by log10(100) / log10(a) — so that DSS3 = DSS1 · (x2 − x1)/(x2 − x_min) when a = 100 % — and
therefore equals 2 · DSS2 · (x2 − x1)/(x2 − x_min); we could not read the paper's own DSS3 equation to
check it against the code. Scores are 0 (as in the reference implementation) when the IC50 is at or above
the highest tested concentration, the curve rises (hill < 0, no inhibition), the maximal inhibition
a ≤ t, or the area above t is negative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.doseresponse import HillFit
from app.screening._common import JsonResult, as_number, as_optional_number
from app.screening.covariance import hill_parameters
from app.screening.metrics import control_level

__all__ = [
    "DSS_THRESHOLD_PERCENT",
    "AreaOverCurve",
    "DrugSensitivityScore",
    "area_over_curve",
    "drug_sensitivity_score",
]

DSS_THRESHOLD_PERCENT = 10.0  # Yadav et al. 2014: minimal activity threshold t = 10 % inhibition


@dataclass(frozen=True)
class AreaOverCurve(JsonResult):
    """Area over the fitted curve on the log10-concentration axis, normalised to the range width.

    Attributes
    ----------
    aac : float or None
        0 = no effect, 1 = full effect over the whole range (None without a fitted curve).
    range_um : tuple of float
        Integration range, µM.
    reference_level : float or None
        The 100 % level R (response units).
    message : str
    """

    aac: float | None
    range_um: tuple[float, float]
    reference_level: float | None
    message: str


@dataclass(frozen=True)
class DrugSensitivityScore(JsonResult):
    """DSS1, DSS2 and DSS3 of Yadav et al. (2014) with the quantities they are built from.

    Attributes
    ----------
    dss1, dss2, dss3 : float or None
        The scores (None without a fitted curve).
    threshold_percent : float
        Activity threshold t, % inhibition.
    range_um : tuple of float
        Concentration range (x_min, x2) in µM.
    max_inhibition_percent : float or None
        a after the shift d → 0, % inhibition.
    x1_um : float or None
        Where the curve crosses the threshold, clamped to the range, µM.
    area : float or None
        ``AUC − t (x2 − x1)``, % inhibition × log10 units.
    message : str
    """

    dss1: float | None
    dss2: float | None
    dss3: float | None
    threshold_percent: float
    range_um: tuple[float, float]
    max_inhibition_percent: float | None
    x1_um: float | None
    area: float | None
    message: str


def _range(fit: HillFit, range_um: tuple[float, float] | None) -> tuple[float, float]:
    low, high = fit.tested_range_um if range_um is None else range_um
    low = as_number(low, "range_um[0]", low=0.0)
    high = as_number(high, "range_um[1]", low=0.0)
    if not high > low:
        raise ValueError(f"range_um must be (low, high) with low < high; got {(low, high)!r}")
    return low, high


def _log10_one_plus_pow10(z: float) -> float:
    """log10(1 + 10^z) without overflow."""
    return float(np.logaddexp(0.0, z * math.log(10.0)) / math.log(10.0))


def _reference_or_control(fit: HillFit, reference: float | None) -> float:
    """The given 100 % level, or the fitted control level (which must then be > 0)."""
    if reference is not None:
        return reference
    level = control_level(fit)
    if not level > 0:
        raise ValueError(f"the fitted control level must be > 0 to serve as 100 %; got {level!r}")
    return level


def _usable(fit: HillFit) -> str | None:
    if not fit.has_curve:
        return f"the fit has no curve (status {fit.status})"
    if fit.status == "no_effect" or fit.ic50_um is None:
        return "the response does not change with concentration (flat fit)"
    return None


def area_over_curve(
    fit: HillFit, *, range_um: tuple[float, float] | None = None, reference_level: float | None = None
) -> AreaOverCurve:
    """Area over the fitted curve (AAC), normalised so 0 = no effect and 1 = full effect over the range.

    Parameters
    ----------
    fit : HillFit
        A fitted curve (a flat ``no_effect`` fit gives AAC = 1 − mean response / R over any range).
    range_um : (float, float), optional
        Integration range in µM, low < high (default: ``fit.tested_range_um``).
    reference_level : float, optional
        The 100 % level R > 0 (default: the fitted control level).

    Returns
    -------
    AreaOverCurve

    Raises
    ------
    ValueError
        A bad range or reference level, or a non-positive default reference.
    """
    low, high = _range(fit, range_um)
    reference = as_optional_number(reference_level, "reference_level", low=0.0)
    if fit.status == "no_effect" and fit.mean_response is not None:
        level = reference if reference is not None else fit.mean_response
        if not level > 0:
            raise ValueError(f"the reference level must be > 0; got {level!r}")
        return AreaOverCurve(
            1.0 - fit.mean_response / level, (low, high), level, "Flat fit: constant response."
        )
    problem = _usable(fit)
    if problem is not None:
        return AreaOverCurve(None, (low, high), reference, f"No AAC: {problem}.")
    top, bottom, slope, log_ic50 = (float(v) for v in hill_parameters(fit))
    reference = _reference_or_control(fit, reference)
    u_lo, u_hi = math.log10(low), math.log10(high)
    centre = log_ic50 / math.log(10.0)
    width = u_hi - u_lo
    # ∫ 1/(1 + 10^(h (u − c))) du = (u_hi − u_lo) − [log10(1 + 10^(h (u − c)))] / h
    shape_area = (
        width
        - (_log10_one_plus_pow10(slope * (u_hi - centre)) - _log10_one_plus_pow10(slope * (u_lo - centre)))
        / slope
    )
    mean_response = (bottom * width + (top - bottom) * shape_area) / width
    aac = 1.0 - mean_response / reference
    return AreaOverCurve(
        aac,
        (low, high),
        reference,
        f"AAC over {low:.4g}–{high:.4g} µM against a 100 % level of {reference:.4g}.",
    )


def drug_sensitivity_score(
    fit: HillFit,
    *,
    threshold_percent: float = DSS_THRESHOLD_PERCENT,
    range_um: tuple[float, float] | None = None,
    reference_level: float | None = None,
) -> DrugSensitivityScore:
    """DSS1, DSS2, DSS3 of a fitted curve (Yadav et al., Sci Rep 4:5193, 2014; see the module docstring).

    Parameters
    ----------
    fit : HillFit
        A fitted viability curve (falling = inhibition).
    threshold_percent : float
        Activity threshold t in % inhibition, in (0, 100); the paper uses 10.
    range_um : (float, float), optional
        Concentration range (x_min, x_max) in µM (default: ``fit.tested_range_um``).
    reference_level : float, optional
        The 100 % viability level R > 0 (default: the fitted control level).

    Returns
    -------
    DrugSensitivityScore

    Raises
    ------
    ValueError
        A bad threshold, range or reference level.
    """
    threshold = as_number(threshold_percent, "threshold_percent", low=0.0, high=100.0)
    low, high = _range(fit, range_um)
    reference = as_optional_number(reference_level, "reference_level", low=0.0)

    def result(d1, d2, d3, a=None, x1=None, area=None, message="") -> DrugSensitivityScore:
        return DrugSensitivityScore(d1, d2, d3, threshold, (low, high), a, x1, area, message)

    if fit.status == "no_effect":
        return result(0.0, 0.0, 0.0, message="DSS 0: the response does not change with concentration.")
    problem = _usable(fit)
    if problem is not None:
        return result(None, None, None, message=f"No DSS: {problem}.")
    top, bottom, slope, log_ic50 = (float(v) for v in hill_parameters(fit))
    reference = _reference_or_control(fit, reference)
    x_min, x2 = math.log10(low), math.log10(high)
    c = log_ic50 / math.log(10.0)
    if slope < 0:
        return result(0.0, 0.0, 0.0, message="DSS 0: the response rises with concentration (no inhibition).")
    if c >= x2:
        message = (
            "DSS 0: the IC50 is at or above the highest concentration (the reference implementation's rule)."
        )
        return result(0.0, 0.0, 0.0, message=message)
    a = 100.0 * (1.0 - bottom / reference) - 100.0 * (1.0 - top / reference)  # a − d, d shifted to 0
    if not a > threshold:
        return result(
            0.0, 0.0, 0.0, a, message=f"DSS 0: the maximal inhibition ({a:.3g} %) does not exceed t."
        )
    x1 = c - math.log10((a - threshold) / threshold) / slope
    x1 = min(max(x1, x_min), x2)

    def primitive(u: float) -> float:  # ∫ a / (1 + 10^(b (c − u))) du
        return a * (u + _log10_one_plus_pow10(slope * (c - u)) / slope)

    area = max(primitive(x2) - primitive(x1) - threshold * (x2 - x1), 0.0)
    dss1 = 100.0 * area / ((100.0 - threshold) * (x2 - x_min))
    dss2 = dss1 / math.log10(a)
    dss3 = dss1 * (math.log10(100.0) / math.log10(a)) * (x2 - x1) / (x2 - x_min)
    return result(
        dss1, dss2, dss3, a, 10.0**x1, area, f"DSS with t = {threshold:g} % over {low:.4g}–{high:.4g} µM."
    )
