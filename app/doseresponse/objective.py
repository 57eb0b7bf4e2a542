"""The least-squares problem of stacked curves, and the Levenberg–Marquardt pieces every iteration shares.

Residuals, RSS, Jacobian and normal equations of :class:`~app.doseresponse.stack.PaddedCurves` (weighted
by the wells of each column, the replicates' spread added to the RSS); the Levenberg–Marquardt step of
stacked k × k systems (:func:`lm_step`); Marquardt's acceptance test, Nielsen's damping update, and the
set of curves still iterating (:class:`ActiveCurves`).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from app.doseresponse.model import predict, predict_with_jacobian
from app.doseresponse.rows import row_max
from app.doseresponse.stack import PaddedCurves

__all__ = [
    "ActiveCurves",
    "Damping",
    "is_converged_step",
    "lm_step",
    "normal_equations",
    "residual_sum_of_squares",
    "residuals_and_jacobian",
    "step_is_taken",
]


def residual_sum_of_squares(stack: PaddedCurves, theta: np.ndarray) -> np.ndarray:
    """RSS (n_curves,) of the wells at ``theta`` (n_curves, 4); padding does not count."""
    r = np.where(stack.mask, predict(theta, stack.lnx, stack.zero) - stack.y, 0.0)
    return (stack.weight * r * r).sum(axis=1) + stack.within


def residuals_and_jacobian(stack: PaddedCurves, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted residuals √w (ŷ − y) (n_curves, n_columns) and Jacobian (n_curves, 4, n_columns).

    Both are 0 on padding, the Jacobian also in the rows of fixed parameters. The RSS of the wells is
    ``Σ r² + stack.within``; ``J Jᵀ`` and ``J r`` are those of the wells.
    """
    yhat, J = predict_with_jacobian(theta, stack.lnx, stack.zero)
    root = stack.root_weight
    r = np.where(stack.mask, yhat - stack.y, 0.0) * root
    J *= root[:, None, :]
    if not stack.free.all():
        J[~stack.free] = 0.0
    return r, J


def normal_equations(J: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Newton matrix ``J Jᵀ`` (n_curves, k, k) and gradient ``J r`` (n_curves, k).

    ``J`` (n_curves, k, n_points) holds one row per parameter; ``r`` (n_curves, n_points).
    """
    return J @ J.transpose(0, 2, 1), (J @ r[..., None])[..., 0]


def lm_step(
    A: np.ndarray, g: np.ndarray, lam: np.ndarray, free: np.ndarray, params: np.ndarray, xtol: float
) -> tuple[np.ndarray, np.ndarray]:
    """One Levenberg–Marquardt step of stacked k × k systems, and whether each curve has converged.

    The damped step solves ``(A + lam · diag(A)) δ = -g`` (Marquardt's scaling); where the undamped
    (Gauss–Newton) step is below ``xtol`` relative to ``params`` (:func:`is_converged_step`), that step is
    returned instead and the curve has converged. Parameters not in ``free`` get δ = 0.

    The systems are solved Jacobi-scaled (unit diagonal): in closed form for k = 2, by LU otherwise. In
    the scaled variables the undamped step is at least as long as the damped one, so it is solved only
    where it can be short enough to converge. Where a system is degenerate (a free parameter without
    influence, or non-finite entries) the step is NaN instead of an exception, so one degenerate curve
    cannot stop the others; so is a step whose system is singular to rounding (smallest eigenvalue
    ≤ 1e-14 × the largest), which for k > 2 is only detected when LU meets an exactly singular one.

    Returns
    -------
    step : numpy.ndarray, shape (n_curves, k)
    converged : numpy.ndarray of bool, shape (n_curves,)
    """
    As, rhs, d, degenerate = _scaled_system(A, g, free)
    if As.shape[-1] == 2:
        full, damped = _steps_2x2(As[:, 0, 1], rhs, lam)
    else:
        damped = _solve_lu(As, rhs, lam)
        reach = np.sqrt(((d * (np.abs(params) + 1.0)) ** 2).sum(axis=1))  # ‖δ_scaled‖ that can converge
        maybe = np.sqrt((damped * damped).sum(axis=1)) <= 2.0 * xtol * reach  # 2: room for rounding
        full = np.full_like(damped, np.nan)
        if maybe.any():
            full[maybe] = _solve_lu(As[maybe], rhs[maybe], None)
    full /= d
    damped /= d
    if degenerate.any():
        full[degenerate] = damped[degenerate] = np.nan
    converged = is_converged_step(full, params, xtol)
    return np.where(converged[:, None], full, damped), converged


def _scaled_system(
    A: np.ndarray, g: np.ndarray, free: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Jacobi-scaled systems ``As δs = rhs`` with ``δ = δs / d``: (As, rhs, d, degenerate).

    Parameters not in ``free`` (or without influence) get a row and column of the identity and a zero
    right-hand side; degenerate systems (a free parameter without influence, non-finite entries) become the
    identity and are flagged.
    """
    n, k = g.shape
    diag = A.reshape(n, k * k)[:, :: k + 1]
    positive = diag > 0
    use = free & positive
    all_used = use.all()
    d = np.sqrt(diag) if all_used else np.sqrt(np.where(use, diag, 1.0))
    As = A / (d[:, :, None] * d[:, None, :])
    if not all_used:
        As = np.where(use[:, :, None] & use[:, None, :], As, 0.0)
    As.reshape(n, k * k)[:, :: k + 1] = 1.0
    degenerate = ~np.isfinite(As).all(axis=(1, 2))
    if not all_used:
        degenerate |= (free & ~positive).any(axis=1)
    if degenerate.any():
        As[degenerate] = np.eye(k)
    rhs = -g / d
    if not all_used:
        rhs[~use] = 0.0
    return As, rhs, d, degenerate


def _solve_lu(As: np.ndarray, rhs: np.ndarray, damping: np.ndarray | None) -> np.ndarray:
    """``(As + damping · I) δ = rhs`` (no damping: ``As δ = rhs``) for stacked systems, by LU.

    Systems that LU finds exactly singular are solved by eigen-decomposition (:func:`_eigen_solve`).
    """
    if damping is not None:
        k = As.shape[-1]
        As = As.copy()
        As.reshape(-1, k * k)[:, :: k + 1] += damping[:, None]
    try:
        return np.linalg.solve(As, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:
        singular = np.linalg.det(As) == 0
        if not singular.any():  # singular to LU, though no determinant is exactly 0
            return _eigen_solve(As, rhs)
        out = np.empty_like(rhs)
        out[singular] = _eigen_solve(As[singular], rhs[singular])
        out[~singular] = _solve_lu(As[~singular], rhs[~singular], None)
        return out


def _eigen_solve(As: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``As δ = rhs`` by eigen-decomposition; NaN where ``As`` is singular to rounding (smallest eigenvalue
    ≤ 1e-14 × the largest)."""
    w, V = np.linalg.eigh(As)
    w = np.maximum(w, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.einsum("nij,nj->ni", V, np.einsum("nji,nj->ni", V, rhs) / w)
    delta[w[:, 0] <= 1e-14 * w[:, -1]] = np.nan
    return delta


def _steps_2x2(rho: np.ndarray, rhs: np.ndarray, lam: np.ndarray) -> list[np.ndarray]:
    """Undamped and damped steps of unit-diagonal 2 × 2 systems ``[[1, ρ], [ρ, 1]]`` in closed form.

    The eigenvalues are 1 ± |ρ|; a system whose smallest (plus the damping) is ≤ 1e-14 × the largest gives
    NaN, as :func:`_eigen_solve` would.
    """
    small = np.maximum(1.0 - np.abs(rho), 0.0)
    large = 1.0 + np.abs(rho)
    steps = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for damping in (np.zeros_like(lam), lam):
            diag = 1.0 + damping
            det = diag * diag - rho * rho
            delta = np.empty_like(rhs)
            np.divide(diag * rhs[:, 0] - rho * rhs[:, 1], det, out=delta[:, 0])
            np.divide(diag * rhs[:, 1] - rho * rhs[:, 0], det, out=delta[:, 1])
            delta[small + damping <= 1e-14 * large] = np.nan
            steps.append(delta)
    return steps


def is_converged_step(step: np.ndarray, params: np.ndarray, xtol: float) -> np.ndarray:
    """Whether an undamped step (n_curves, k) is below ``xtol`` relative to the parameters (n_curves,)."""
    step_rel = row_max(np.abs(step) / (np.abs(params) + 1.0))
    return np.isfinite(step_rel) & (step_rel <= xtol)


def step_is_taken(better: np.ndarray, at_min: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Whether a step is taken: it lowers the RSS, or it is the final undamped one and no worse (to rounding).

    ``better``, ``at_min`` (n_curves,) bool; ``old``, ``new`` (n_curves,) RSS before and after the step.
    """
    return better | (at_min & np.isfinite(new) & (new <= old * (1.0 + 1e-12)))


@dataclass
class Damping:
    """Levenberg–Marquardt damping ``lam`` and Nielsen's growth factor ``nu``, one per curve (n_curves,)."""

    lam: np.ndarray
    nu: np.ndarray

    @classmethod
    def start(cls, n: int) -> Damping:
        """The damping every curve starts with (SciPy's ``lm``: λ = 1e-3)."""
        return cls(np.full(n, 1e-3), np.full(n, 2.0))

    def update(
        self,
        step: np.ndarray,
        g: np.ndarray,
        A: np.ndarray,
        old: np.ndarray,
        new: np.ndarray,
        better: np.ndarray,
    ) -> np.ndarray:
        """Update the damping (in place) after a step; returns which curves stalled.

        The gain ratio ρ is the actual over the predicted decrease of ½‖r‖² (``step``, gradient ``g`` and
        Gauss–Newton matrix ``A``; ``old`` and ``new`` RSS). Nielsen's update: shrink λ by up to 3× after a
        good step, grow it ever faster after bad ones. A curve whose λ exceeds 1e12 has stalled: no damped
        step lowers its RSS, a minimum to rounding error.
        """
        with np.errstate(all="ignore"):
            curvature = (A @ step[..., None])[..., 0]
            predicted = -np.einsum("ni,ni->n", step, g + 0.5 * curvature)
            rho = 0.5 * (old - new) / predicted
            t = 2.0 * rho - 1.0  # cubed by multiplying: NumPy's ** 3 calls pow() per element, 30× slower
            shrink = np.where(np.isfinite(rho), np.maximum(1.0 / 3.0, 1.0 - t * t * t), 1.0 / 3.0)
            self.lam[:] = np.where(better, np.maximum(self.lam * shrink, 1e-15), self.lam * self.nu)
        self.nu[:] = np.where(better, 2.0, self.nu * 2.0)
        return self.lam > 1e12


class ActiveCurves:
    """The curves of an iteration still running, a stack to compute on, and their per-curve state.

    Arithmetic per curve does not depend on which other curves share a stack, so an iteration may run on a
    stack that still holds finished curves; the caller changes only the ``running`` ones. The stack and
    the state are cut down to the running curves when those fall to half of it (:meth:`compact`): a copy
    every few finishes instead of at every one.

    Parameters
    ----------
    stack : PaddedCurves
        All curves.
    running : numpy.ndarray of bool, shape (n_curves,)
        The curves that start running.
    **state : numpy.ndarray
        Per-curve arrays (first axis n_curves); :attr:`state` holds the rows of the current stack, and
        :meth:`store` writes them back.
    """

    def __init__(self, stack: PaddedCurves, running: np.ndarray, **state: np.ndarray) -> None:
        self._full = state
        self.rows = np.flatnonzero(running)
        self.stack = stack.take(self.rows)
        self.state = SimpleNamespace(**{name: values[self.rows] for name, values in state.items()})
        self.running = np.ones(self.rows.size, dtype=bool)

    def compact(self) -> bool:
        """Drop the finished curves when they are half the stack; False when none is running."""
        n_running = int(self.running.sum())
        if n_running == 0:
            return False
        if 2 * n_running <= self.running.size:
            self.store()
            keep = self.running
            self.rows = self.rows[keep]
            self.stack = self.stack.take(keep)
            for name, values in vars(self.state).items():
                setattr(self.state, name, values[keep])
            self.running = np.ones(n_running, dtype=bool)
        return True

    def store(self) -> None:
        """Write the state of the current rows back into the arrays given at the start."""
        for name, values in vars(self.state).items():
            self._full[name][self.rows] = values
