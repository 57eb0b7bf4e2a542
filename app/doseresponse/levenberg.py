"""The first attempt: Levenberg–Marquardt from the self-starting values, batched or through SciPy."""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from app.doseresponse.model import predict, predict_with_jacobian
from app.doseresponse.objective import (
    Damping,
    damped_steps,
    is_converged_step,
    normal_equations,
    residual_sum_of_squares,
    residuals_and_jacobian,
    step_is_taken,
)
from app.doseresponse.start import PaddedCurves, plausibility_box

__all__ = ["lm_batch", "scipy_fit"]

LM_TOL = 1e-12  # least_squares ftol/xtol/gtol: 1e-12 leaves ~1e-6 relative error in ill-conditioned hills
BATCH_XTOL = 1e-5  # batched LM: relative Gauss–Newton step size that counts as converged
BATCH_MAX_ITER = 100  # first attempt, batched LM iterations (SciPy's single fit: SCIPY_MAX_NFEV)
SCIPY_MAX_NFEV = 100  # first attempt of a single fit: SciPy's evaluation budget


def lm_batch(
    stack: PaddedCurves, theta0: np.ndarray, *, max_iter: int = BATCH_MAX_ITER
) -> tuple[np.ndarray, np.ndarray]:
    """The first attempt of ``fit_hill_many``: Levenberg–Marquardt on all curves at once.

    The same iteration as SciPy's ``least_squares(method="lm")`` in ``fit_hill``, vectorised: a
    Gauss–Newton model ``JᵀJ`` per curve (4 × 4), Marquardt's scaling and Nielsen's gain-ratio damping.
    Returns ``theta`` (n_curves, 4) and ``converged`` (n_curves,). A curve has converged when its undamped
    step is below ``BATCH_XTOL`` relative to the parameters (that step is then taken; the Newton polish
    finishes the job), or when no step, however damped, lowers its RSS any more. A curve that leaves the
    plausibility box is given up (not converged): it would not be accepted, and the fallback takes over.
    """
    box_lo, box_hi = plausibility_box(stack)
    margin = 0.05 * (box_hi - box_lo)
    n = theta0.shape[0]
    theta = theta0.copy()
    theta[~stack.free] = stack.fixed[~stack.free]
    cost = residual_sum_of_squares(stack, theta)
    damping = Damping.start(n)
    done = ~np.isfinite(cost)
    converged = np.zeros(n, dtype=bool)
    for _ in range(max_iter):
        act = np.flatnonzero(~done)
        if act.size == 0:
            break
        th = theta[act]
        subset = stack.take(act)
        with np.errstate(all="ignore"):
            r, J = residuals_and_jacobian(subset, th)
            A, g = normal_equations(J, r)
            full, damped = damped_steps(A, g, damping.lam[act], subset.free)
            at_min = is_converged_step(full, th, BATCH_XTOL)
            new = th + np.where(at_min[:, None], full, damped)
            cost_new = residual_sum_of_squares(subset, new)
        old = cost[act]
        better = np.isfinite(cost_new) & (cost_new < old)
        stalled = damping.update(act, new - th, g, A, old, cost_new, better)
        take = step_is_taken(better, at_min, old, cost_new)
        theta[act[take]] = new[take]
        cost[act[take]] = cost_new[take]
        finished = at_min | stalled | (cost[act] == 0.0)
        converged[act[finished]] = True
        th_now = theta[act]
        lost = np.any((th_now < box_lo[act] - margin[act]) | (th_now > box_hi[act] + margin[act]), axis=1)
        done[act[finished | lost]] = True
    return theta, converged


def scipy_fit(
    stack: PaddedCurves, theta0: np.ndarray, *, bounds: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, float, bool]:
    """least_squares on one stacked curve from ``theta0`` (4,). Returns (theta, rss, success).

    Without ``bounds``: Levenberg–Marquardt (the first attempt of ``fit_hill``); with ``bounds`` (4,) each:
    the trust-region reflective method inside them (the profile likelihood).
    """
    free = stack.free[0]
    idx = np.flatnonzero(free)
    base = theta0.copy()
    base[~free] = stack.fixed[0, ~free]
    lnx, zero, mask, y = stack.lnx, stack.zero, stack.mask, stack.y

    def full(subset: np.ndarray) -> np.ndarray:
        th = base.copy()
        th[idx] = subset
        return th[None, :]

    def residuals(subset: np.ndarray) -> np.ndarray:
        return (predict(full(subset), lnx, zero) - y)[mask]

    def jacobian(subset: np.ndarray) -> np.ndarray:
        _, J = predict_with_jacobian(full(subset), lnx, zero)
        return J[mask][:, idx]

    q0 = base[idx]
    tol = {"ftol": LM_TOL, "xtol": LM_TOL, "gtol": LM_TOL}
    with np.errstate(all="ignore"):
        if bounds is None:
            res = optimize.least_squares(
                residuals, q0, jac=jacobian, method="lm", max_nfev=SCIPY_MAX_NFEV, **tol
            )
        else:
            lo, hi = bounds[0][idx], bounds[1][idx]
            res = optimize.least_squares(
                residuals, np.clip(q0, lo, hi), jac=jacobian, bounds=(lo, hi), method="trf", **tol
            )
    theta = full(res.x)[0]
    rss = float(np.sum(res.fun**2))
    ok = bool(res.status > 0) and bool(np.all(np.isfinite(theta))) and math.isfinite(rss)
    return theta, rss, ok
