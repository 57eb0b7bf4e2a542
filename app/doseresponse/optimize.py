"""The optimisation as a whole: first attempt, acceptance, Newton polish, else the multi-start fallback."""

from __future__ import annotations

import numpy as np

from app.doseresponse.inference import P_NO_EFFECT, flat_line_test
from app.doseresponse.levenberg import lm_batch
from app.doseresponse.model import HILL, residual_curvature
from app.doseresponse.multistart import multistart
from app.doseresponse.objective import normal_equations, residual_sum_of_squares, residuals_and_jacobian
from app.doseresponse.rows import row_all, row_max
from app.doseresponse.stack import PaddedCurves
from app.doseresponse.start import HILL_MIN, plausibility_box

__all__ = ["fit_batch", "newton_polish"]


def _inside_box(theta: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Whether each ``theta`` (n_curves, 4) lies in the box ``lo``, ``hi`` with |hill| ≥ HILL_MIN."""
    return row_all((theta >= lo) & (theta <= hi)) & (np.abs(theta[:, HILL]) >= HILL_MIN)


def _acceptable(stack: PaddedCurves, theta: np.ndarray, rss: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Whether a first-attempt optimum is taken as it is, without the fallback.

    It must be finite, ``inside`` the plausibility box with |hill| ≥ HILL_MIN (:func:`_inside_box`), and a
    significant effect (F-test p < P_NO_EFFECT). Everything else, flat data included, goes to the bounded
    multi-start, whose result does not depend on which first attempt (single or batched) was made.
    """
    finite = row_all(np.isfinite(theta)) & np.isfinite(rss)
    return finite & inside & (flat_line_test(stack, rss).p_value < P_NO_EFFECT)


def newton_polish(stack: PaddedCurves, theta: np.ndarray, *, max_iter: int = 8) -> np.ndarray:
    """A few full Newton steps (exact Hessian of the RSS) from first-attempt optima, vectorised.

    Gauss–Newton and Levenberg–Marquardt converge only linearly on curves with large residuals, so SciPy's
    and the batched iteration stop at slightly different points (1e-6 apart on ill-conditioned curves).
    Newton's method converges quadratically: both end at the same optimum to rounding error. A curve whose
    Hessian is not positive definite, or whose Newton step would raise the RSS or leave the plausibility
    box, keeps its estimate.
    """
    lo, hi = plausibility_box(stack)
    theta = theta.copy()
    free = stack.free
    both = free[:, :, None] & free[:, None, :]
    cost = residual_sum_of_squares(stack, theta)
    active = row_all(np.isfinite(theta)) & np.isfinite(cost)
    for _ in range(max_iter):
        act = np.flatnonzero(active)
        if act.size == 0:
            break
        th = theta[act]
        subset = stack.take(act)
        r, J = residuals_and_jacobian(subset, th)
        A, g = normal_equations(J, r)
        H = A + residual_curvature(th, subset.lnx, subset.zero, r * subset.root_weight)
        H = np.where(both[act], H, 0.0) + (~free[act])[:, :, None] * np.eye(4)
        with np.errstate(all="ignore"):
            w = np.linalg.eigvalsh(H)
            definite = w[:, 0] > 1e-12 * np.abs(w[:, -1])
            step = -np.linalg.solve(np.where(definite[:, None, None], H, np.eye(4)), g[..., None])[..., 0]
            step = np.where(free[act], step, 0.0)
            new = th + step
            cost_new = residual_sum_of_squares(subset, new)
        ok = definite & _inside_box(new, lo[act], hi[act])
        ok &= np.isfinite(cost_new) & (cost_new <= cost[act] * (1.0 + 1e-12))
        theta[act[ok]] = new[ok]
        cost[act[ok]] = cost_new[ok]
        small = row_max(np.abs(step) / (np.abs(th) + 1.0)) <= 1e-14
        active[act[~ok | small]] = False
    return theta


def fit_batch(stack: PaddedCurves, theta0: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stacked curves: batched Levenberg–Marquardt from the self-starting values ``theta0`` (n_curves, 4),
    else the multi-start, each optimum Newton-polished.

    A curve that hit the first attempt's iteration limit inside the plausibility box starts the multi-start
    from its last iterate rather than from ``theta0``: it was on its way to an optimum, which the bounded
    fit then reaches, where a restart from ``theta0`` often ends in a worse local optimum at the edge of
    the box (an IC50 extrapolated out of the tested range with a higher RSS).

    Returns
    -------
    theta : numpy.ndarray, shape (n_curves, 4)
        (top, bottom, hill, ln ic50); meaningless where ``found`` is False.
    found, converged : numpy.ndarray of bool, shape (n_curves,)
        Whether a finite optimum exists, and whether it converged.
    """
    theta, converged = lm_batch(stack, theta0)
    inside = _inside_box(theta, *plausibility_box(stack))
    good = converged & _acceptable(stack, theta, residual_sum_of_squares(stack, theta), inside)
    if good.any():
        theta[good] = newton_polish(stack.take(good), theta[good])
    rest = np.flatnonzero(~good)
    if rest.size:
        sub = stack.take(rest)
        unfinished = ~converged[rest] & inside[rest]  # hit the iteration limit in the box
        starts = np.where(unfinished[:, None], theta[rest], theta0[rest])
        best, found, settled = multistart(sub, starts, theta0[rest])
        if found.any():
            best[found] = newton_polish(sub.take(found), best[found])
        theta[rest] = best
        good[rest] = found
        converged[rest] = settled
    return theta, good, converged
