"""The fallback: a bounded multi-start of variable-projection fits, vectorised over curves and starts."""

from __future__ import annotations

import numpy as np
from scipy import special

from app.doseresponse.inference import P_NO_EFFECT, flat_line_test
from app.doseresponse.model import BOTTOM, HILL, LOG_IC50, TOP
from app.doseresponse.objective import residual_sum_of_squares
from app.doseresponse.stack import PaddedCurves, data_range
from app.doseresponse.start import HILL_LIMIT, HILL_MIN, LN10, at_bound, plausibility_box
from app.doseresponse.varpro import varpro_fit

__all__ = ["multistart"]


def _trend_p(stack: PaddedCurves) -> np.ndarray:
    """p-value of a linear trend of the response in log concentration (controls a decade below the lowest).

    The Pearson correlation of the wells, from the weighted columns and the replicates' spread. Only a
    trigger for more starting points in :func:`multistart`; never reported.
    """
    _, _, lnlo, _ = data_range(stack)
    w = stack.weight
    t = np.where(stack.zero, (lnlo - LN10)[:, None], stack.lnx)
    n = w.sum(axis=1)
    mt = (w * np.where(stack.mask, t, 0.0)).sum(axis=1) / n
    my = (w * stack.y).sum(axis=1) / n
    dt = np.where(stack.mask, t - mt[:, None], 0.0)
    dy = np.where(stack.mask, stack.y - my[:, None], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        syy = (w * dy * dy).sum(axis=1) + stack.within
        r = (w * dt * dy).sum(axis=1) / np.sqrt((w * dt * dt).sum(axis=1) * syy)
        tstat = r * np.sqrt((n - 2) / np.maximum(1.0 - r * r, 1e-300))
    return np.where(np.isfinite(tstat), 2.0 * special.stdtr(n - 2, -np.abs(tstat)), 1.0)


class _Best:
    """The best run so far of each curve: a converged run beats one that hit the iteration limit, then the
    lowest RSS wins; ties keep the earlier start."""

    def __init__(self, n: int) -> None:
        self.theta = np.full((n, 4), np.nan)
        self.rss = np.full(n, np.inf)
        self.converged = np.zeros(n, dtype=bool)

    def offer(self, rows: np.ndarray, theta: np.ndarray, rss: np.ndarray, converged: np.ndarray) -> None:
        """Runs of curves ``rows`` (in start order) with their results."""
        for j, i in enumerate(rows):
            if (converged[j], -rss[j]) > (self.converged[i], -self.rss[i]):
                self.theta[i], self.rss[i], self.converged[i] = theta[j], rss[j], converged[j]


def _run_starts(
    stack: PaddedCurves, lo: np.ndarray, hi: np.ndarray, rows: np.ndarray, starts: np.ndarray, best: _Best
) -> None:
    """Fit curves ``rows`` from ``starts`` (one row each) in the box, hill confined to the start's sign."""
    runs = stack.take(rows)
    lo_q, hi_q = lo[rows].copy(), hi[rows].copy()
    positive = starts[:, HILL] > 0
    lo_q[:, HILL] = np.where(positive, HILL_MIN, -HILL_LIMIT)
    hi_q[:, HILL] = np.where(positive, HILL_LIMIT, -HILL_MIN)
    theta, conv = varpro_fit(runs, starts, lo_q, hi_q)
    rss = residual_sum_of_squares(runs, theta)
    rss = np.where(np.isfinite(rss) & np.all(np.isfinite(theta), axis=1), rss, np.inf)
    best.offer(rows, theta, rss, conv)


def _needs_more_starts(stack: PaddedCurves, best: _Best, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Curves whose first starts found nothing finite, a significant effect that did not converge or whose
    IC50 or slope (at HILL_MIN) sits on the edge of the box (often a poor local optimum), or no significant
    effect although the responses trend with log concentration."""
    significant = flat_line_test(stack, best.rss).p_value < P_NO_EFFECT
    tight_hill = 1e-9 * (np.abs(best.theta[:, HILL]) + 1.0)
    flat_slope = np.abs(best.theta[:, HILL]) <= HILL_MIN + tight_hill
    on_edge = flat_slope | at_bound(best.theta, lo, hi)[:, LOG_IC50]
    return np.flatnonzero(
        ~np.isfinite(best.rss)
        | (significant & (~best.converged | on_edge))
        | (~significant & (_trend_p(stack) < P_NO_EFFECT))
    )


def _runs(
    stack: PaddedCurves, curves: np.ndarray, n_starts: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of ``n_starts`` starts for each of ``curves``: (curve, start index, sign of the slope) each.

    ``(top, bottom, hill)`` and ``(bottom, top, -hill)`` are the same curve (at x = 0 too), and with both
    asymptotes free a run solves them afresh from any start: a run from ``-hill`` is then the mirror image
    of the run from ``hill`` and finds the same curve. So every start runs with a positive slope, and again
    with a negative one where top or bottom is fixed.
    """
    rows = np.repeat(curves, n_starts)
    index = np.tile(np.arange(n_starts), curves.size)
    mirror = ~(stack.free[rows, TOP] & stack.free[rows, BOTTOM])
    sign = np.concatenate([np.ones(rows.size), -np.ones(int(mirror.sum()))])
    return np.concatenate([rows, rows[mirror]]), np.concatenate([index, index[mirror]]), sign


def multistart(
    stack: PaddedCurves, first: np.ndarray, theta0: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bounded multi-start on stacked curves from ``first`` (n_curves, 4), with self-starting values
    ``theta0`` (n_curves, 4).

    Each run is a :func:`~app.doseresponse.varpro.varpro_fit` in the plausibility box, with hill in
    [HILL_MIN, HILL_LIMIT] or [-HILL_LIMIT, -HILL_MIN]. Stage 1 starts from ``first`` (the self-starting
    values, or where the first attempt got to) with each sign of the slope. Stage 2, for curves whose
    stage 1 found nothing finite, a significant effect that did not converge or whose IC50 sits on the edge
    of the box, a slope at HILL_MIN, or no significant effect although the responses trend with log
    concentration, starts from ``theta0`` with hill ±1 and ±3 at four midpoints spread over the tested range.
    (A slope at HILL_LIMIT is a step the data ask for, not a poor local optimum: on 5 × 1,000 benchmark
    curves the stage-2 starts never found a lower RSS for one.)
    The negative slopes are tried only where top or bottom is fixed (:func:`_runs`). A converged
    run beats one that hit the iteration limit; then the lowest RSS wins.

    Returns
    -------
    theta : numpy.ndarray, shape (n_curves, 4)
        Best (top, bottom, hill, ln ic50); NaN where no run gave a finite result.
    found, settled : numpy.ndarray of bool, shape (n_curves,)
        Whether a finite result exists, and whether it converged.
    """
    n = stack.x.shape[0]
    lo, hi = plausibility_box(stack)
    _, _, lnlo, lnhi = data_range(stack)
    best = _Best(n)

    rows, _, sign = _runs(stack, np.arange(n), 1)
    starts = first[rows].copy()
    starts[:, HILL] = sign * np.clip(np.abs(starts[:, HILL]), HILL_MIN, HILL_LIMIT)
    _run_starts(stack, lo, hi, rows, starts, best)

    again = _needs_more_starts(stack, best, lo, hi)
    if again.size:
        start_slopes = np.array([1.0, 3.0]).repeat(4)
        midpoint_fractions = np.tile([0.0, 1 / 3, 2 / 3, 1.0], 2)
        rows, index, sign = _runs(stack, again, start_slopes.size)
        starts = theta0[rows].copy()
        starts[:, HILL] = sign * start_slopes[index]
        starts[:, LOG_IC50] = lnlo[rows] + midpoint_fractions[index] * (lnhi[rows] - lnlo[rows])
        _run_starts(stack, lo, hi, rows, starts, best)
    return best.theta, np.isfinite(best.rss), best.converged
