"""The profile-likelihood confidence interval of the IC50 (``ci_method="profile"``).

SciPy's optimisers are imported when a profile interval is first asked for, not when the server starts.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from app.doseresponse.model import HILL, LOG_IC50, predict, predict_with_jacobian
from app.doseresponse.stack import PaddedCurves
from app.doseresponse.start import HILL_MIN, plausibility_box

__all__ = ["profile_ci"]

PROFILE_TOL = 1e-12  # least_squares ftol/xtol/gtol of each profile point


def _bounded_fit(
    stack: PaddedCurves, theta0: np.ndarray, bounds: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, float, bool]:
    """SciPy's trust-region reflective least squares on one stacked curve from ``theta0`` (4,), inside
    ``bounds`` (4,) each. Returns (theta, RSS of the wells, success)."""
    free = stack.free[0]
    idx = np.flatnonzero(free)
    base = theta0.copy()
    base[~free] = stack.fixed[0, ~free]
    lnx, zero, mask, y = stack.lnx, stack.zero, stack.mask, stack.y
    root = stack.root_weight[mask]

    def full(subset: np.ndarray) -> np.ndarray:
        th = base.copy()
        th[idx] = subset
        return th[None, :]

    def residuals(subset: np.ndarray) -> np.ndarray:
        return (predict(full(subset), lnx, zero) - y)[mask] * root

    def jacobian(subset: np.ndarray) -> np.ndarray:
        _, J = predict_with_jacobian(full(subset), lnx, zero)
        return J[0][idx][:, mask[0]].T * root[:, None]

    from scipy.optimize import least_squares  # lazy: see the module docstring

    lo, hi = bounds[0][idx], bounds[1][idx]
    with np.errstate(all="ignore"):
        res = least_squares(
            residuals, np.clip(base[idx], lo, hi), jac=jacobian, bounds=(lo, hi), method="trf",
            ftol=PROFILE_TOL, xtol=PROFILE_TOL, gtol=PROFILE_TOL,
        )  # fmt: skip
    theta = full(res.x)[0]
    rss = float(np.sum(res.fun**2) + stack.within[0])
    ok = bool(res.status > 0) and bool(np.all(np.isfinite(theta))) and math.isfinite(rss)
    return theta, rss, ok


def profile_ci(
    stack: PaddedCurves, theta: np.ndarray, tq: float, rss_min: float, df: int, se_log_ic50: float
) -> tuple[float | None, float | None] | None:
    """Profile-likelihood CI of the IC50 (µM) for one stacked curve ``q`` fitted at ``theta`` (4,).

    The bounds are where the RSS, minimised over the other free parameters with ln IC50 held, reaches
    ``RSS_min (1 + t²/df)`` (``tq`` = t quantile); a bound that is not reached within the search region is
    None. The search steps from the optimum by the Wald SE of ln IC50 (``se_log_ic50``), growing 1.5× a step.
    """
    from scipy.optimize import brentq  # lazy: see the module docstring

    if not (np.isfinite(tq) and df > 0):
        return None
    cut = rss_min * (1.0 + tq * tq / df)
    lo, hi = (b[0].copy() for b in plausibility_box(stack))
    if theta[HILL] > 0:
        lo[HILL] = HILL_MIN
    else:
        hi[HILL] = -HILL_MIN
    held = replace(stack, fixed=stack.fixed.copy(), free=stack.free.copy())
    held.free[0, LOG_IC50] = False

    def profile(log_ic50: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        held.fixed[0, LOG_IC50] = log_ic50
        th, r, ok = _bounded_fit(held, start, (lo, hi))
        return (r if ok else math.inf), th

    step0 = float(se_log_ic50) if np.isfinite(se_log_ic50) and se_log_ic50 > 0 else 0.1
    ends: list[float | None] = []
    for direction in (-1.0, 1.0):
        limit = float(lo[LOG_IC50] if direction < 0 else hi[LOG_IC50])
        prev, start, step = float(theta[LOG_IC50]), theta, step0
        found = None
        while (limit - prev) * direction > 0:
            log_ic50 = prev + direction * step
            log_ic50 = min(log_ic50, limit) if direction > 0 else max(log_ic50, limit)
            r, th = profile(log_ic50, start)
            if r >= cut:
                warm = start
                a, b = sorted((prev, log_ic50))
                found = brentq(lambda v, warm=warm: profile(v, warm)[0] - cut, a, b, xtol=1e-10)
                break
            prev, start, step = log_ic50, th, step * 1.5
        ends.append(None if found is None else float(np.exp(found)))
    return (ends[0], ends[1])
