"""Bounded fit by variable projection, vectorised over curves: the workhorse of the multi-start fallback."""

from __future__ import annotations

import numpy as np

from app.doseresponse.model import BOTTOM, TOP, predict_with_jacobian, shape
from app.doseresponse.objective import (
    ActiveCurves,
    Damping,
    lm_step,
    normal_equations,
    step_is_taken,
)
from app.doseresponse.rows import row_max
from app.doseresponse.stack import PaddedCurves

__all__ = ["best_asymptotes", "varpro_fit"]

FALLBACK_MAX_ITER = 200  # bounded LM iterations per start
BOUNDED_FTOL = 1e-6  # relative RSS decrease over WINDOW iterations that counts as converged
WINDOW = 10
BOUNDED_XTOL = 1e-9  # relative undamped step that counts as converged


def best_asymptotes(
    stack: PaddedCurves, s: np.ndarray, lo: np.ndarray, hi: np.ndarray, fixed: np.ndarray
) -> np.ndarray:
    """Best (top, bottom) (n_curves, 2) for given shapes ``s`` (n_curves, n_points), inside the box.

    For fixed hill and IC50 the model ``bottom (1 - s) + top s`` is linear in top and bottom; ``fixed``
    (n_curves, 2) holds the top and bottom that stay where they are (NaN: solved for). A value that falls
    outside the box ``lo``, ``hi`` (n_curves, 4) is clipped and the other re-solved with it held. Weighted
    least squares over the columns (``stack.weight`` wells each; padding has weight 0).
    """
    w, y = stack.weight, stack.y
    wa, wb = w * s, w * (1.0 - s)  # weighted columns of top and bottom
    saa, sbb, sab = (wa * s).sum(1), (wb * (1.0 - s)).sum(1), (wa * (1.0 - s)).sum(1)
    say, sby = (wa * y).sum(1), (wb * y).sum(1)
    ft, fb = fixed[:, 0], fixed[:, 1]
    t_free, b_free = np.isnan(ft), np.isnan(fb)
    with np.errstate(divide="ignore", invalid="ignore"):
        det = saa * sbb - sab * sab
        pair = t_free & b_free & (det > 1e-12 * saa * sbb)
        top = np.where(pair, (sbb * say - sab * sby) / det, ft)
        bottom = np.where(pair, (saa * sby - sab * say) / det, fb)
        # one asymptote fixed (or the pair not separable): solve for the other alone
        only_b = b_free & ~pair
        if only_b.any():
            alone = only_b & t_free
            if alone.any():
                level = np.where(saa > 0, say / np.where(saa > 0, saa, 1.0), (w * y).sum(1) / w.sum(1))
                top = np.where(alone, level, top)
            bottom = np.where(only_b, (sby - sab * top) / sbb, bottom)
        only_t = t_free & ~b_free
        if only_t.any():
            top = np.where(only_t, (say - sab * bottom) / saa, top)
    lo_t, hi_t, lo_b, hi_b = lo[:, TOP], hi[:, TOP], lo[:, BOTTOM], hi[:, BOTTOM]
    clipped_t = t_free & ((top < lo_t) | (top > hi_t))
    if clipped_t.any():
        top = np.where(t_free, np.clip(top, lo_t, hi_t), top)
        with np.errstate(divide="ignore", invalid="ignore"):
            bottom = np.where(clipped_t & b_free, (sby - sab * top) / sbb, bottom)
    clipped_b = b_free & ((bottom < lo_b) | (bottom > hi_b))
    if clipped_b.any():
        bottom = np.where(b_free, np.clip(bottom, lo_b, hi_b), bottom)
        with np.errstate(divide="ignore", invalid="ignore"):
            resolved = np.clip((say - sab * bottom) / saa, lo_t, hi_t)
        top = np.where(clipped_b & t_free & ~clipped_t, resolved, top)
    solved = np.empty((top.shape[0], 2))
    solved[:, 0], solved[:, 1] = top, bottom
    return solved


def _with_best_asymptotes(
    subset: PaddedCurves, theta: np.ndarray, held: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``theta`` with top and bottom solved for its hill and ln IC50, and the wells' RSS (n_curves,) there.

    ``held`` (n_curves, 2): top / bottom that reached the box and stay where they are.
    """
    fixed = np.where(held, theta[:, :2], subset.fixed[:, :2])
    s = shape(theta, subset.lnx, subset.zero)
    theta = theta.copy()
    theta[:, :2] = best_asymptotes(subset, s, lo, hi, fixed)
    r = (
        theta[:, BOTTOM : BOTTOM + 1]
        + (theta[:, TOP : TOP + 1] - theta[:, BOTTOM : BOTTOM + 1]) * s
        - subset.y
    )
    return theta, (subset.weight * r * r).sum(axis=1) + subset.within


def _projected_normal_equations(
    subset: PaddedCurves, theta: np.ndarray, linear: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Newton matrix (n_curves, 2, 2) and gradient (n_curves, 2) of hill and ln IC50 alone.

    Kaufman's projected Jacobian: the columns of the linear parameters still free (``linear``
    (n_curves, 2): not fixed, not held at the box) are projected out.
    """
    yhat, J = predict_with_jacobian(theta, subset.lnx, subset.zero)
    root = subset.root_weight
    r = np.where(subset.mask, yhat - subset.y, 0.0) * root
    J *= root[:, None, :]
    Phi = J[:, :2] * linear[:, :, None]  # (n, 2, m): the columns of top and bottom still solved for
    Ja = J[:, 2:]
    with np.errstate(all="ignore"):
        PtP = Phi @ Phi.transpose(0, 2, 1) + (~linear)[:, :, None] * np.eye(2)
        PtP = np.where(np.isfinite(PtP), PtP, np.eye(2))
        a, b, c = PtP[:, 0, 0], PtP[:, 0, 1], PtP[:, 1, 1]
        det = a * c - b * b
        inverse = np.empty_like(PtP)  # [[c, -b], [-b, a]] / det, entry by entry
        np.divide(c, det, out=inverse[:, 0, 0])
        np.divide(-b, det, out=inverse[:, 0, 1])
        inverse[:, 1, 0] = inverse[:, 0, 1]
        np.divide(a, det, out=inverse[:, 1, 1])
        coef = inverse @ (Phi @ Ja.transpose(0, 2, 1))
        Jk = Ja - coef.transpose(0, 2, 1) @ Phi  # Kaufman: Jacobian of the projected residual
    return normal_equations(Jk, r)


def varpro_fit(
    stack: PaddedCurves,
    theta0: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    *,
    max_iter: int = FALLBACK_MAX_ITER,
) -> tuple[np.ndarray, np.ndarray]:
    """Bounded fit by variable projection, vectorised over curves.

    Top and bottom enter the model linearly, so for each (hill, ln IC50) they are solved exactly
    (:func:`best_asymptotes`) and Levenberg–Marquardt runs on hill and ln IC50 alone, with Kaufman's
    projected Jacobian (Golub & Pereyra's variable projection). This removes the long curved valley along
    which a four-parameter Gauss–Newton crawls when a plateau is not observed (only
    ``(top - bottom) · ic50^hill`` identified). Bounds: ``lo``/``hi`` (n_curves, 4); parameters at a bound
    with the gradient pointing outwards are held (active set) and steps are clipped; a top or bottom that
    reaches the box stays there for the rest of the run (letting it go again makes the iteration
    oscillate; other starts explore the rest). Converged: the undamped step is below ``BOUNDED_XTOL``
    relative, no damped step lowers the RSS, or the RSS fell by less than ``BOUNDED_FTOL`` (relative)
    over ``WINDOW`` iterations.

    Returns ``theta`` (n_curves, 4) and ``converged`` (n_curves,).
    """
    n = theta0.shape[0]
    theta = np.clip(theta0, lo, hi)
    theta[~stack.free] = stack.fixed[~stack.free]
    held = np.zeros((n, 2), dtype=bool)  # top / bottom that reached the box: held there for the run
    theta, cost = _with_best_asymptotes(stack, theta, held, lo, hi)
    damping = Damping.start(n)
    converged = np.zeros(n, dtype=bool)
    active = ActiveCurves(
        stack, np.isfinite(cost), theta=theta, cost=cost, lam=damping.lam, nu=damping.nu, held=held,
        window_start=cost.copy(), lo=lo, hi=hi, converged=converged,
    )  # fmt: skip
    for iteration in range(1, max_iter + 1):
        if not active.compact():
            break
        subset, st, running = active.stack, active.state, active.running
        with np.errstate(all="ignore"):
            A, g = _projected_normal_equations(subset, st.theta, subset.free[:, :2] & ~st.held)
            a_lo, a_hi = st.lo[:, 2:], st.hi[:, 2:]
            alpha = st.theta[:, 2:]
            free = ~(((alpha <= a_lo) & (g > 0)) | ((alpha >= a_hi) & (g < 0)))
            step, at_min = lm_step(A, g, st.lam, free, alpha, BOUNDED_XTOL)
            new_alpha = np.clip(alpha + step, a_lo, a_hi)
            cand = st.theta.copy()
            cand[:, 2:] = new_alpha
            cand, cost_new = _with_best_asymptotes(subset, cand, st.held, st.lo, st.hi)
        old = st.cost
        better = np.isfinite(cost_new) & (cost_new < old)
        step = new_alpha - alpha
        take = step_is_taken(better, at_min, old, cost_new) & running
        tiny_step = row_max(np.abs(step) / (np.abs(alpha) + 1.0)) <= 1e-12
        stalled = Damping(st.lam, st.nu).update(step, g, A, old, cost_new, better)
        st.theta[take] = cand[take]
        st.cost[take] = cost_new[take]
        st.held |= subset.free[:, :2] & (
            (st.theta[:, :2] <= st.lo[:, :2]) | (st.theta[:, :2] >= st.hi[:, :2])
        )
        flat_valley = np.zeros(running.size, dtype=bool)
        if iteration % WINDOW == 0:
            flat_valley = st.window_start - st.cost <= BOUNDED_FTOL * st.cost
            st.window_start[:] = st.cost
        finished = (at_min | stalled | flat_valley | (tiny_step & ~better) | (st.cost == 0.0)) & running
        st.converged |= finished
        running &= ~finished
    active.store()
    return theta, converged
