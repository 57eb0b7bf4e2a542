"""From fitted parameters to :class:`HillFit` results: statistics, status and message, vectorised."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import special

from app.doseresponse.inference import (
    CI_METHOD_TEXT,
    NEGLIGIBLE_EFFECT,
    P_NO_EFFECT,
    SE_METHOD,
    FlatLineTest,
    covariance_scaled_inverse,
    flat_line_test,
    not_converged,
    status_and_message,
    top_above_bottom,
)
from app.doseresponse.model import BOTTOM, LOG_IC50, predict
from app.doseresponse.objective import normal_equations, residuals_and_jacobian
from app.doseresponse.profile import profile_ci
from app.doseresponse.result import CiMethod, HillFit
from app.doseresponse.stack import Designs, PaddedCurves, data_range
from app.doseresponse.start import (
    DECADES_BEYOND_RANGE,
    HILL_LIMIT,
    HILL_MIN,
    LN10,
    at_bound,
    plausibility_box,
)

__all__ = ["summarize"]


@dataclass(frozen=True)
class _Statistics:
    """Everything the results report, vectorised over curves (n_curves,) unless a shape is given."""

    theta: np.ndarray  # (n_curves, 4), top ≥ bottom where both are free
    rss: np.ndarray
    flat: FlatLineTest
    s2: np.ndarray  # residual variance
    se_theta: np.ndarray  # (n_curves, 4) standard errors of (top, bottom, hill, ln ic50)
    r2: np.ndarray
    tq: np.ndarray  # t quantile of the CI level at the residual df
    ic50: np.ndarray  # µM
    ci_lo: np.ndarray  # Wald CI of the IC50, µM
    ci_hi: np.ndarray
    abs_ic50: np.ndarray  # µM, NaN where the curve never reaches 50 % of the control level
    effect: np.ndarray  # |fitted change| across the tested range
    control_level: np.ndarray  # |fitted response| at the lowest tested concentration (or the controls)
    negligible: np.ndarray  # bool: effect below NEGLIGIBLE_EFFECT of the control level
    partial: np.ndarray  # bool: a falling curve with a free bottom above 50 % of top
    at_edge: np.ndarray  # bool: a free estimate on the edge of the plausibility box


def _statistics(stack: PaddedCurves, theta: np.ndarray, level: float) -> _Statistics:
    """Standard errors, intervals, R², the F-test and the effect size of fitted curves."""
    theta = top_above_bottom(theta, stack.free)
    r, J = residuals_and_jacobian(stack, theta)
    rss = (r * r).sum(axis=1) + stack.within
    flat = flat_line_test(stack, rss)
    top, bottom, slope, log_ic50 = theta.T
    with np.errstate(all="ignore"):
        s2 = rss / flat.df
        cov = s2[:, None, None] * covariance_scaled_inverse(normal_equations(J, r)[0], stack.free)
        se_theta = np.sqrt(np.einsum("nii->ni", cov))
        r2 = np.where(flat.tss > 0, 1.0 - rss / flat.tss, np.nan)
        tq = special.stdtrit(flat.df, 0.5 + level / 2.0)  # t quantile
        ic50 = np.exp(log_ic50)
        se_le = se_theta[:, LOG_IC50]
        ci_lo = np.exp(log_ic50 - tq * se_le)
        ci_hi = np.exp(log_ic50 + tq * se_le)
        # absolute IC50: response = 50 % of the control level (the x = 0 limit of the curve)
        control = np.where(slope > 0, top, np.where(slope < 0, bottom, np.nan))
        s_target = (0.5 * control - bottom) / (top - bottom)
        abs_ic50 = ic50 * (1.0 / s_target - 1.0) ** (1.0 / slope)
        abs_ic50 = np.where((s_target > 0) & (s_target < 1), abs_ic50, np.nan)
    effect, control_level = _effect_across_range(stack, theta)
    lo_box, hi_box = plausibility_box(stack)
    at_edge = np.any(stack.free & at_bound(theta, lo_box, hi_box), axis=1)
    at_edge |= np.abs(slope) <= HILL_MIN * (1 + 1e-9)
    return _Statistics(
        theta=theta, rss=rss, flat=flat, s2=s2, se_theta=se_theta, r2=r2, tq=tq, ic50=ic50, ci_lo=ci_lo,
        ci_hi=ci_hi, abs_ic50=abs_ic50, effect=effect, control_level=control_level,
        negligible=effect < NEGLIGIBLE_EFFECT * control_level,
        # a falling curve with a free bottom that levels off above 50 % of the control level: partial effect
        partial=stack.free[:, BOTTOM] & (slope > 0) & (top > 0) & (bottom > 0.5 * top),
        at_edge=at_edge,
    )  # fmt: skip


def _effect_across_range(stack: PaddedCurves, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fitted change across the tested range (controls included), and the control level (n_curves,)."""
    _, _, lnlo, lnhi = data_range(stack)
    has_zero = stack.zero.any(axis=1)
    ends_are_controls = np.column_stack([has_zero, np.zeros_like(has_zero)])
    y_ends = predict(theta, np.column_stack([lnlo, lnhi]), ends_are_controls)
    return np.abs(y_ends[:, 1] - y_ends[:, 0]), np.abs(y_ends[:, 0])


class _Rows:
    """The statistics as Python lists (one entry per curve), for building the results one by one."""

    def __init__(self, st: _Statistics) -> None:
        self.theta = st.theta.tolist()
        self.se_theta = st.se_theta.tolist()
        self.p_value = st.flat.p_value.tolist()
        self.negligible = st.negligible.tolist()
        self.effect = st.effect.tolist()
        self.control_level = st.control_level.tolist()
        self.ic50 = st.ic50.tolist()
        self.abs_ic50 = st.abs_ic50.tolist()
        self.ci_lo = st.ci_lo.tolist()
        self.ci_hi = st.ci_hi.tolist()
        self.partial = st.partial.tolist()
        self.at_edge = st.at_edge.tolist()
        self.r2 = st.r2.tolist()
        self.rss = st.rss.tolist()
        self.residual_se = np.sqrt(st.s2).tolist()
        self.df = st.flat.df.tolist()
        self.n_wells = st.flat.n_wells.tolist()
        self.f_statistic = st.flat.f_statistic.tolist()
        self.mean = st.flat.mean.tolist()


def _finite(v: float) -> float | None:
    """``v``, or None where it is NaN or infinite."""
    return v if math.isfinite(v) else None


def _standard_errors(rows: _Rows, i: int, free: list[bool], no_effect: bool) -> dict[str, float | None]:
    """SEs of curve ``i``: top, bottom, hill (None when fixed), ic50_um and log10_ic50 (None: no effect)."""
    se_top, se_bottom, se_hill, se_le = rows.se_theta[i]
    return {
        "top": _finite(se_top) if free[0] else None,
        "bottom": _finite(se_bottom) if free[1] else None,
        "hill": _finite(se_hill),
        "ic50_um": None if no_effect else _finite(rows.ic50[i] * se_le),
        "log10_ic50": None if no_effect else _finite(se_le / LN10),
    }


def _ic50_interval(
    stack: PaddedCurves, st: _Statistics, rows: _Rows, i: int, ci_method: CiMethod
) -> tuple[float | None, float | None] | None:
    """The IC50 confidence interval (µM) of curve ``i``, which shows an effect."""
    se_le = rows.se_theta[i][LOG_IC50]
    if ci_method == "profile":
        return profile_ci(
            stack.take(np.array([i])), st.theta[i], float(st.tq[i]), rows.rss[i], rows.df[i], se_le
        )
    if math.isfinite(se_le):
        return (_finite(rows.ci_lo[i]), _finite(rows.ci_hi[i]))
    return None


_NOT_SETTLED = (
    " (The Hill fit did not settle within the iteration limit, but its best point is no better "
    "than a flat line.)"
)
_AT_EDGE = (
    " The fit stopped at the edge of the search region (|hill| between "
    f"{HILL_MIN:g} and {HILL_LIMIT:g}, IC50 within {DECADES_BEYOND_RANGE:g} decades of the "
    "tested range): read the estimates as bounds, not values."
)


def _fit_result(
    stack: PaddedCurves, st: _Statistics, rows: _Rows, i: int, curve: _Curve, level: float,
    ci_method: CiMethod,
) -> HillFit:  # fmt: skip
    """The result of curve ``i`` of the stack from its statistics."""
    ft, fb = curve.fixed
    lo_um, hi_um = curve.tested
    free_i = [ft is None, fb is None, True, True]
    p_flat = rows.p_value[i]
    no_effect = not (p_flat < P_NO_EFFECT) or rows.negligible[i]
    if not curve.settled and not no_effect:
        return not_converged(curve.x, ft, fb, level, ci_method)
    se_i = _standard_errors(rows, i, free_i, no_effect)
    ci = None if no_effect else _ic50_interval(stack, st, rows, i, ci_method)
    top, bottom, slope, _ = rows.theta[i]
    control = rows.control_level[i]
    status, message = status_and_message(
        no_effect=no_effect, p_flat=p_flat, effect_frac=rows.effect[i] / control if control else 0.0,
        ic50=rows.ic50[i], lo_um=lo_um, hi_um=hi_um,
        finite_se=all(math.isfinite(v) for v, free in zip(rows.se_theta[i], free_i, strict=True) if free),
        ci=ci, level=level, plateau_frac=bottom / top if rows.partial[i] else None,
    )  # fmt: skip
    if not curve.settled:
        message += _NOT_SETTLED
    if rows.at_edge[i] and not no_effect:
        message += _AT_EDGE
    return HillFit(
        status=status, message=message, top=_finite(top), bottom=_finite(bottom), hill=_finite(slope),
        ic50_um=None if no_effect else _finite(rows.ic50[i]),
        ic50_abs_um=None if no_effect else _finite(rows.abs_ic50[i]),
        se=se_i, se_method=SE_METHOD, ic50_ci_um=ci, ci_method=CI_METHOD_TEXT[ci_method],
        ci_level=level, r2=_finite(rows.r2[i]), rss=_finite(rows.rss[i]),
        residual_se=_finite(rows.residual_se[i]), df=rows.df[i], n_wells=rows.n_wells[i],
        n_concentrations=curve.n_concentrations, f_statistic=_finite(rows.f_statistic[i]),
        p_no_effect=_finite(p_flat), converged=curve.settled, fixed_top=ft, fixed_bottom=fb,
        tested_range_um=(lo_um, hi_um), mean_response=_finite(rows.mean[i]),
    )  # fmt: skip


class _Curve(NamedTuple):
    """What a result needs to know of one curve besides its statistics."""

    x: np.ndarray  # concentrations of the wells, µM
    n_concentrations: int
    tested: tuple[float, float]  # lowest positive and highest concentration, µM
    fixed: tuple[float | None, float | None]  # fixed top and bottom
    settled: bool  # whether the fit converged


def summarize(
    stack: PaddedCurves,
    theta: np.ndarray,
    settled: np.ndarray,
    xs: Sequence[np.ndarray],
    design: Designs,
    fixed_pairs: Sequence[tuple[float | None, float | None]],
    level: float,
    ci_method: CiMethod,
) -> list[HillFit]:
    """Statistics, status and message of fitted curves, vectorised over curves.

    Parameters
    ----------
    stack : PaddedCurves
        The curves, stacked.
    theta : numpy.ndarray, shape (n_curves, 4)
        Fitted (top, bottom, hill, ln ic50).
    settled : numpy.ndarray of bool, shape (n_curves,)
        Whether each fit converged.
    xs : sequence of numpy.ndarray, each shape (n_wells,)
        The concentrations of each curve (µM), unpadded.
    design : Designs
        Distinct concentrations and tested range of each curve.
    fixed_pairs : sequence of (fixed top, fixed bottom)
        None where free.
    level, ci_method
        Confidence level and method of the IC50 interval.
    """
    st = _statistics(stack, theta, level)
    rows = _Rows(st)
    curves = zip(
        xs, design.n_concentrations.tolist(), design.tested_low.tolist(), design.tested_high.tolist(),
        fixed_pairs, settled.tolist(), strict=True,
    )  # fmt: skip
    return [
        _fit_result(stack, st, rows, i, _Curve(x, n_conc, (low, high), fixed, ok), level, ci_method)
        for i, (x, n_conc, low, high, fixed, ok) in enumerate(curves)
    ]
