"""Bounded fit by variable projection, vectorised over curves: the workhorse of the multi-start fallback."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from app.doseresponse.model import BOTTOM, TOP, predict_with_jacobian, shape
from app.doseresponse.objective import (
    Damping,
    damped_steps,
    is_converged_step,
    normal_equations,
    step_is_taken,
)
from app.doseresponse.start import PaddedCurves

__all__ = ["best_asymptotes", "varpro_fit"]

FALLBACK_MAX_ITER = 200  # bounded LM iterations per start
BOUNDED_FTOL = 1e-6  # relative RSS decrease over WINDOW iterations that counts as converged
WINDOW = 10
BOUNDED_XTOL = 1e-9  # relative undamped step that counts as converged


def best_asymptotes(stack: PaddedCurves, s: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Best (top, bottom) (n_curves, 2) for given shapes ``s`` (n_curves, n_points), inside the box.

    For fixed hill and IC50 the model ``bottom (1 - s) + top s`` is linear in top and bottom; fixed values
    stay fixed. A value that falls outside the box ``lo``, ``hi`` (n_curves, 4) is clipped and the other
    re-solved with it held.
    """
    m = stack.mask
    a = np.where(m, s, 0.0)  # column of top
    b = np.where(m, 1.0 - s, 0.0)  # column of bottom
    y = np.where(m, stack.y, 0.0)
    saa, sbb, sab = (a * a).sum(1), (b * b).sum(1), (a * b).sum(1)
    say, sby = (a * y).sum(1), (b * y).sum(1)
    ft, fb = stack.fixed[:, TOP], stack.fixed[:, BOTTOM]
    t_free, b_free = stack.free[:, TOP], stack.free[:, BOTTOM]
    with np.errstate(divide="ignore", invalid="ignore"):
        det = saa * sbb - sab * sab
        ok2 = det > 1e-12 * saa * sbb
        top = np.where(ok2, (sbb * say - sab * sby) / det, np.nan)
        bottom = np.where(ok2, (saa * sby - sab * say) / det, np.nan)
        # one asymptote fixed (or the pair not separable): solve for the other alone
        top = np.where(~t_free, ft, top)
        bottom = np.where(~b_free, fb, bottom)
        only_b = b_free & (~t_free | ~ok2)
        top = np.where(
            only_b & t_free, np.where(saa > 0, say / np.where(saa > 0, saa, 1.0), y.sum(1) / m.sum(1)), top
        )
        bottom = np.where(only_b, (sby - sab * top) / sbb, bottom)
        only_t = t_free & ~b_free
        top = np.where(only_t, (say - sab * bottom) / saa, top)
    lo_t, hi_t, lo_b, hi_b = lo[:, TOP], hi[:, TOP], lo[:, BOTTOM], hi[:, BOTTOM]
    clipped_t = t_free & ((top < lo_t) | (top > hi_t))
    top = np.where(t_free, np.clip(top, lo_t, hi_t), top)
    with np.errstate(divide="ignore", invalid="ignore"):
        bottom = np.where(clipped_t & b_free, (sby - sab * top) / sbb, bottom)
    clipped_b = b_free & ((bottom < lo_b) | (bottom > hi_b))
    bottom = np.where(b_free, np.clip(bottom, lo_b, hi_b), bottom)
    with np.errstate(divide="ignore", invalid="ignore"):
        top = np.where(clipped_b & t_free & ~clipped_t, np.clip((say - sab * bottom) / saa, lo_t, hi_t), top)
    return np.column_stack([top, bottom])


def _with_best_asymptotes(
    subset: PaddedCurves, theta: np.ndarray, held: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``theta`` with top and bottom solved for its hill and ln IC50, and the RSS (n_curves,) there.

    ``held`` (n_curves, 2): top / bottom that reached the box and stay where they are.
    """
    fixed, free = subset.fixed.copy(), subset.free.copy()
    fixed[:, :2] = np.where(held, theta[:, :2], fixed[:, :2])
    free[:, :2] &= ~held
    s = shape(theta, subset.lnx, subset.zero)
    theta = theta.copy()
    theta[:, :2] = best_asymptotes(replace(subset, fixed=fixed, free=free), s, lo, hi)
    r = np.where(
        subset.mask,
        theta[:, BOTTOM : BOTTOM + 1]
        + (theta[:, TOP : TOP + 1] - theta[:, BOTTOM : BOTTOM + 1]) * s
        - subset.y,
        0.0,
    )
    return theta, (r * r).sum(axis=1)


def _projected_normal_equations(
    subset: PaddedCurves, theta: np.ndarray, linear: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Newton matrix (n_curves, 2, 2) and gradient (n_curves, 2) of hill and ln IC50 alone.

    Kaufman's projected Jacobian: the columns of the linear parameters still free (``linear``
    (n_curves, 2): not fixed, not held at the box) are projected out.
    """
    yhat, J = predict_with_jacobian(theta, subset.lnx, subset.zero)
    r = np.where(subset.mask, yhat - subset.y, 0.0)
    J = J * subset.mask[:, :, None]
    Phi = J[..., :2] * linear[:, None, :]
    Ja = J[..., 2:]
    with np.errstate(all="ignore"):
        PtP = Phi.transpose(0, 2, 1) @ Phi + (~linear)[:, :, None] * np.eye(2)
        coef = np.linalg.solve(
            np.where(np.isfinite(PtP), PtP, np.eye(2)) + 1e-300 * np.eye(2), Phi.transpose(0, 2, 1) @ Ja
        )
        Jk = Ja - Phi @ coef  # Kaufman: Jacobian of the projected residual
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
    done = ~np.isfinite(cost)
    converged = np.zeros(n, dtype=bool)
    window_start = cost.copy()
    lin_free = stack.free[:, :2]
    subset, subset_rows = stack, -1
    for iteration in range(1, max_iter + 1):
        act = np.flatnonzero(~done)
        if act.size == 0:
            break
        th = theta[act]
        if act.size != subset_rows:  # the active set only shrinks: re-index when it does
            subset, subset_rows = stack.take(act), act.size
        A, g = _projected_normal_equations(subset, th, lin_free[act] & ~held[act])
        a_lo, a_hi = lo[act, 2:], hi[act, 2:]
        alpha = th[:, 2:]
        free = ~(((alpha <= a_lo) & (g > 0)) | ((alpha >= a_hi) & (g < 0)))
        with np.errstate(all="ignore"):
            full, damped = damped_steps(A, g, damping.lam[act], free)
            at_min = is_converged_step(full, alpha, BOUNDED_XTOL)
            new_alpha = np.clip(alpha + np.where(at_min[:, None], full, damped), a_lo, a_hi)
            cand = th.copy()
            cand[:, 2:] = new_alpha
            cand, cost_new = _with_best_asymptotes(subset, cand, held[act], lo[act], hi[act])
        old = cost[act]
        better = np.isfinite(cost_new) & (cost_new < old)
        step = new_alpha - alpha
        take = step_is_taken(better, at_min, old, cost_new)
        tiny_step = np.max(np.abs(step) / (np.abs(alpha) + 1.0), axis=1) <= 1e-12
        theta[act[take]] = cand[take]
        cost[act[take]] = cost_new[take]
        held[act] |= lin_free[act] & ((theta[act, :2] <= lo[act, :2]) | (theta[act, :2] >= hi[act, :2]))
        stalled = damping.update(act, step, g, A, old, cost_new, better)
        flat_valley = np.zeros(act.size, dtype=bool)
        if iteration % WINDOW == 0:
            flat_valley = window_start[act] - cost[act] <= BOUNDED_FTOL * cost[act]
            window_start[act] = cost[act]
        finished = at_min | stalled | flat_valley | (tiny_step & ~better) | (cost[act] == 0.0)
        converged[act[finished]] = True
        done[act[finished]] = True
    return theta, converged
