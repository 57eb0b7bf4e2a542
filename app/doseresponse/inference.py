"""What a fit means: the F-test against a flat line, standard errors, and the status rules with messages."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import special

from app.doseresponse.model import BOTTOM, HILL, PARAMS, TOP
from app.doseresponse.result import CiMethod, HillFit, Status, format_number, percent
from app.doseresponse.stack import PaddedCurves

__all__ = [
    "CI_METHOD_TEXT",
    "MAX_CI_RATIO",
    "MIN_CONCENTRATIONS",
    "NEGLIGIBLE_EFFECT",
    "P_NO_EFFECT",
    "SE_METHOD",
    "FlatLineTest",
    "covariance_scaled_inverse",
    "flat_line_test",
    "insufficient_data",
    "n_free",
    "not_converged",
    "status_and_message",
    "tested_range",
    "top_above_bottom",
]

MIN_CONCENTRATIONS = 4  # distinct concentrations, 0 included
P_NO_EFFECT = 0.05  # F-test level for "no effect"
NEGLIGIBLE_EFFECT = 0.05  # fitted change across the tested range below 5 % of the control level
MAX_CI_RATIO = 100.0  # CI upper / lower above this: "ambiguous"

SE_METHOD = (
    "Gauss–Newton σ²(JᵀJ)⁻¹ at the optimum, like scipy curve_fit (R drc's summary uses the full Hessian); "
    "SE of ic50_um by the delta method from ln ic50"
)
CI_METHOD_TEXT: dict[CiMethod, str] = {
    "wald": "Wald on the log scale: exp(ln IC50 ± t(df)·SE(ln IC50))",
    "profile": "profile likelihood: RSS(IC50) ≤ RSS_min·(1 + t(df)²/df)",
}


# ----------------------------------------------------------------------------------------------------
# The Hill curve against a flat line
# ----------------------------------------------------------------------------------------------------


def _total_sum_of_squares(stack: PaddedCurves) -> tuple[np.ndarray, np.ndarray]:
    """Total sum of squares of the wells about their mean, and the mean (n_curves,).

    0 for responses equal to rounding.
    """
    n = stack.weight.sum(axis=1)
    mean = (stack.weight * stack.y).sum(axis=1) / n
    d = np.where(stack.mask, stack.y - mean[:, None], 0.0)
    tss = (stack.weight * d * d).sum(axis=1) + stack.within
    rounding = n * (1e-12 * np.maximum(np.abs(stack.y_low), np.abs(stack.y_high))) ** 2
    return np.where(tss <= rounding, 0.0, tss), mean


def _f_test(rss: np.ndarray, tss: np.ndarray, k: np.ndarray, df: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """F-test of the Hill model (k free parameters) against a flat line at the mean (1 parameter)."""
    df1 = np.maximum(k - 1, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        f_stat = np.maximum(tss - rss, 0.0) / df1 / (rss / df)
        f_stat = np.where((rss == 0) & (tss > 0), np.inf, f_stat)
        p_value = np.where(np.isinf(f_stat), 0.0, special.fdtrc(df1, df, f_stat))
    p_value = np.where(tss == 0, 1.0, p_value)  # identical responses: nothing to explain
    f_stat = np.where(tss == 0, np.nan, f_stat)
    return f_stat, p_value


class FlatLineTest(NamedTuple):
    """The F-test of fitted curves against a flat line at their mean response, all (n_curves,)."""

    f_statistic: np.ndarray
    p_value: np.ndarray
    tss: np.ndarray  # total sum of squares about the mean
    mean: np.ndarray  # mean response: the flat line's level
    n_wells: np.ndarray
    df: np.ndarray  # residual degrees of freedom of the Hill model


def flat_line_test(stack: PaddedCurves, rss: np.ndarray) -> FlatLineTest:
    """F-test of Hill fits with residual sums of squares ``rss`` (n_curves,) against a flat line.

    Numerator df = free parameters − 1; with top and bottom both fixed the models are not nested and the
    test is approximate.
    """
    tss, mean = _total_sum_of_squares(stack)
    n = stack.weight.sum(axis=1).astype(int)
    k = stack.free.sum(axis=1)
    df = n - k
    f_stat, p_value = _f_test(rss, tss, k, df)
    return FlatLineTest(f_stat, p_value, tss, mean, n, df)


# ----------------------------------------------------------------------------------------------------
# Estimates and their uncertainty
# ----------------------------------------------------------------------------------------------------


def covariance_scaled_inverse(A: np.ndarray, free: np.ndarray) -> np.ndarray:
    """(JᵀJ)⁻¹ over the free parameters (n_curves, 4, 4); NaN for fixed ones, all NaN where singular."""
    diag = np.einsum("nii->ni", A)
    d = np.where(free & (diag > 0), np.sqrt(np.where(diag > 0, diag, 1.0)), 1.0)
    outer = d[:, :, None] * d[:, None, :]
    both = free[:, :, None] & free[:, None, :]
    As = np.where(both, A / outer, 0.0) + (~free)[:, :, None] * np.eye(4)
    w, V = np.linalg.eigh(As)
    singular = (w[:, 0] <= 1e-13 * w[:, -1]) | np.any(free & ~(diag > 0), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.einsum("nij,nj,nkj->nik", V, 1.0 / w, V) / outer
    inv[singular] = np.nan
    return np.where(both, inv, np.nan)


def top_above_bottom(theta: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Report top ≥ bottom when both are free, so that the sign of hill gives the direction.

    ``(top, bottom, hill)`` and ``(bottom, top, -hill)`` are the same curve, at x = 0 too.
    """
    swap = free[:, TOP] & free[:, BOTTOM] & (theta[:, TOP] < theta[:, BOTTOM])
    out = theta.copy()
    out[swap, TOP], out[swap, BOTTOM] = theta[swap, BOTTOM], theta[swap, TOP]
    out[swap, HILL] = -theta[swap, HILL]
    return out


def tested_range(x: np.ndarray) -> tuple[float, float]:
    """Lowest positive and highest concentration tested (µM); NaN, NaN without a positive one."""
    pos = x[x > 0]
    if pos.size == 0:
        return (math.nan, math.nan)
    return (float(pos.min()), float(x.max()))


def n_free(fixed_top: float | None, fixed_bottom: float | None) -> int:
    """Number of free parameters: 4 less the fixed asymptotes."""
    return 4 - (fixed_top is not None) - (fixed_bottom is not None)


# ----------------------------------------------------------------------------------------------------
# Status rules
# ----------------------------------------------------------------------------------------------------


def _no_estimates(
    status: Status,
    message: str,
    x: np.ndarray,
    ft: float | None,
    fb: float | None,
    level: float,
    ci_method: CiMethod,
    *,
    df: int,
    n_conc: int,
) -> HillFit:
    """A result without any estimate (insufficient_data or not_converged)."""
    return HillFit(
        status=status, message=message, top=None, bottom=None, hill=None, ic50_um=None, ic50_abs_um=None,
        se={name: None for name in (*PARAMS, "log10_ic50")}, se_method=SE_METHOD, ic50_ci_um=None,
        ci_method=CI_METHOD_TEXT[ci_method], ci_level=level, r2=None, rss=None, residual_se=None, df=df,
        n_wells=int(x.size), n_concentrations=n_conc, f_statistic=None, p_no_effect=None, converged=False,
        fixed_top=ft, fixed_bottom=fb, tested_range_um=tested_range(x), mean_response=None,
    )  # fmt: skip


def insufficient_data(
    x: np.ndarray, ft: float | None, fb: float | None, level: float, ci_method: CiMethod, n_conc: int
) -> HillFit | None:
    """The insufficient_data result of a curve with concentrations ``x`` (µM) at ``n_conc`` distinct ones,
    or None when data suffice."""
    k = n_free(ft, fb)
    if n_conc >= MIN_CONCENTRATIONS and x.size >= k + 1:
        return None
    needs = []
    if n_conc < MIN_CONCENTRATIONS:
        needs.append(f"at least {MIN_CONCENTRATIONS} distinct concentrations (0 counts as one); got {n_conc}")
    if x.size < k + 1:
        needs.append(f"at least {k + 1} wells for {k} free parameters; got {x.size}")
    message = "Too few data for a Hill fit: need " + " and ".join(needs) + "."
    return _no_estimates(
        "insufficient_data", message, x, ft, fb, level, ci_method, df=max(x.size - k, 0), n_conc=n_conc
    )


def not_converged(
    x: np.ndarray, ft: float | None, fb: float | None, level: float, ci_method: CiMethod
) -> HillFit:
    """The not_converged result of a curve with concentrations ``x`` (µM)."""
    return _no_estimates(
        "not_converged",
        "The fit did not converge from any starting point. Check the data for outliers, a mislabelled "
        "concentration or a shape that is not sigmoidal.",
        x, ft, fb, level, ci_method, df=x.size - n_free(ft, fb), n_conc=int(np.unique(x).size),
    )  # fmt: skip


def status_and_message(
    *, no_effect: bool, p_flat: float, effect_frac: float, ic50: float, lo_um: float, hi_um: float,
    finite_se: bool, ci: tuple[float | None, float | None] | None, level: float, plateau_frac: float | None,
) -> tuple[Status, str]:  # fmt: skip
    """Status and a message a biologist can act on (rules in the package docstring)."""
    if no_effect:
        if not p_flat < P_NO_EFFECT:
            return "no_effect", (
                "No concentration-dependent effect: a flat line fits as well as the Hill curve "
                f"(F-test p = {format_number(p_flat)}), so there is no IC50."
            )
        return "no_effect", (
            f"The fitted response changes by only {effect_frac:.1%} of the control level across the tested "
            f"range ({format_number(lo_um)}–{format_number(hi_um)} µM), so there is no IC50."
        )
    if ic50 > hi_um:
        return "ic50_above_range", (
            f"IC50 lies above the highest concentration tested ({format_number(hi_um)} µM): "
            f"the estimate {format_number(ic50)} µM is an extrapolation. Test higher concentrations."
        )
    if ic50 < lo_um:
        return "ic50_below_range", (
            f"IC50 lies below the lowest concentration tested ({format_number(lo_um)} µM): "
            f"the estimate {format_number(ic50)} µM is an extrapolation. Test lower concentrations."
        )
    return _in_range_status(ic50=ic50, finite_se=finite_se, ci=ci, level=level, plateau_frac=plateau_frac)


def _in_range_status(
    *, ic50: float, finite_se: bool, ci: tuple[float | None, float | None] | None, level: float,
    plateau_frac: float | None,
) -> tuple[Status, str]:  # fmt: skip
    """``ambiguous`` or ``ok`` for an IC50 (µM) inside the tested range."""
    if not finite_se:
        return "ambiguous", (
            f"IC50 {format_number(ic50)} µM is poorly determined: these data cannot pin down all four "
            "parameters (standard errors undefined). Add concentrations around the IC50, or fix top or "
            "bottom."
        )
    if ci is None or ci[0] is None or ci[1] is None or ci[0] <= 0:
        return "ambiguous", (
            f"IC50 {format_number(ic50)} µM is poorly determined: its {percent(level)} confidence interval "
            "is unbounded. Add concentrations around the IC50 or replicates."
        )
    if ci[1] / ci[0] > MAX_CI_RATIO:
        return "ambiguous", (
            f"IC50 {format_number(ic50)} µM is poorly determined: its {percent(level)} CI "
            f"({format_number(ci[0])}–{format_number(ci[1])} µM) spans more than {MAX_CI_RATIO:.0f}-fold. "
            "Add concentrations around the IC50 or replicates."
        )
    if plateau_frac is not None:
        return "ambiguous", (
            f"The curve levels off at {plateau_frac:.0%} of the control level and never reaches 50 % "
            f"inhibition: its midpoint (relative IC50) is {format_number(ic50)} µM, but the absolute IC50 is "
            "not reached. Either the drug is only partly effective or the real IC50 lies above the tested "
            "range. If full inhibition is expected, fix bottom (e.g. 0) or test higher concentrations."
        )
    ci_text = f"{format_number(ci[0])}–{format_number(ci[1])} µM"
    return "ok", f"IC50 {format_number(ic50)} µM ({percent(level)} CI {ci_text})."
