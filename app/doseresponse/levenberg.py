"""The first attempt: Levenberg–Marquardt from the self-starting values, vectorised over curves."""

from __future__ import annotations

import numpy as np

from app.doseresponse.objective import (
    ActiveCurves,
    Damping,
    lm_step,
    normal_equations,
    residual_sum_of_squares,
    residuals_and_jacobian,
    step_is_taken,
)
from app.doseresponse.rows import row_any
from app.doseresponse.stack import PaddedCurves
from app.doseresponse.start import plausibility_box

__all__ = ["lm_batch"]

BATCH_XTOL = 1e-5  # batched LM: relative Gauss–Newton step size that counts as converged
# First attempt, LM iterations. A curve still running after 40 is crawling along a valley (its plateau or
# its slope running off to a bound); the multi-start resumes it from where it got to (optimize.fit_batch),
# which reaches the in-box optimum sooner and more often than more unbounded iterations did.
BATCH_MAX_ITER = 40


def lm_batch(
    stack: PaddedCurves, theta0: np.ndarray, *, max_iter: int = BATCH_MAX_ITER
) -> tuple[np.ndarray, np.ndarray]:
    """The first attempt: Levenberg–Marquardt on all curves at once.

    The iteration of SciPy's ``least_squares(method="lm")``, vectorised: a Gauss–Newton model ``JᵀJ`` per
    curve (4 × 4), Marquardt's scaling and Nielsen's gain-ratio damping.
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
    converged = np.zeros(n, dtype=bool)
    active = ActiveCurves(
        stack, np.isfinite(cost), theta=theta, cost=cost, lam=damping.lam, nu=damping.nu,
        lower=box_lo - margin, upper=box_hi + margin, converged=converged,
    )  # fmt: skip
    for _ in range(max_iter):
        if not active.compact():
            break
        subset, st, running = active.stack, active.state, active.running
        with np.errstate(all="ignore"):
            r, J = residuals_and_jacobian(subset, st.theta)
            A, g = normal_equations(J, r)
            step, at_min = lm_step(A, g, st.lam, subset.free, st.theta, BATCH_XTOL)
            new = st.theta + step
            cost_new = residual_sum_of_squares(subset, new)
        better = np.isfinite(cost_new) & (cost_new < st.cost)
        stalled = Damping(st.lam, st.nu).update(new - st.theta, g, A, st.cost, cost_new, better)
        take = step_is_taken(better, at_min, st.cost, cost_new) & running
        st.theta[take] = new[take]
        st.cost[take] = cost_new[take]
        finished = (at_min | stalled | (st.cost == 0.0)) & running
        st.converged |= finished
        lost = row_any((st.theta < st.lower) | (st.theta > st.upper))
        running &= ~(finished | lost)
    active.store()
    return theta, converged
