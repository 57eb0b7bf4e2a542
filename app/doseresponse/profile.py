"""The profile-likelihood confidence interval of the IC50 (``ci_method="profile"``)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from scipy import optimize

from app.doseresponse.levenberg import scipy_fit
from app.doseresponse.model import HILL, LOG_IC50
from app.doseresponse.start import HILL_MIN, PaddedCurves, plausibility_box

__all__ = ["profile_ci"]


def profile_ci(
    stack: PaddedCurves, theta: np.ndarray, tq: float, rss_min: float, df: int, se_log_ic50: float
) -> tuple[float | None, float | None] | None:
    """Profile-likelihood CI of the IC50 (µM) for one stacked curve ``q`` fitted at ``theta`` (4,).

    The bounds are where the RSS, minimised over the other free parameters with ln IC50 held, reaches
    ``RSS_min (1 + t²/df)`` (``tq`` = t quantile); a bound that is not reached within the search region is
    None. The search steps from the optimum by the Wald SE of ln IC50 (``se_log_ic50``), growing 1.5× a step.
    """
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
        th, r, ok = scipy_fit(held, start, bounds=(lo, hi))
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
                found = optimize.brentq(lambda v, warm=warm: profile(v, warm)[0] - cut, a, b, xtol=1e-10)
                break
            prev, start, step = log_ic50, th, step * 1.5
        ends.append(None if found is None else float(np.exp(found)))
    return (ends[0], ends[1])
