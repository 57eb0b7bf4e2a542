"""The least-squares problem of stacked curves, and the Levenberg–Marquardt pieces every iteration shares.

Residuals, RSS, Jacobian and normal equations of :class:`~app.doseresponse.start.PaddedCurves`; the
damped steps of stacked k × k systems; Marquardt's acceptance test and Nielsen's damping update.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.doseresponse.model import predict, predict_with_jacobian
from app.doseresponse.start import PaddedCurves

__all__ = [
    "Damping",
    "damped_steps",
    "is_converged_step",
    "normal_equations",
    "residual_sum_of_squares",
    "residuals_and_jacobian",
    "step_is_taken",
]


def residual_sum_of_squares(stack: PaddedCurves, theta: np.ndarray) -> np.ndarray:
    """RSS (n_curves,) of the curves at ``theta`` (n_curves, 4); padding does not count."""
    r = np.where(stack.mask, predict(theta, stack.lnx, stack.zero) - stack.y, 0.0)
    return (r * r).sum(axis=1)


def residuals_and_jacobian(stack: PaddedCurves, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Residuals (n_curves, n_points) and Jacobian (n_curves, n_points, 4), 0 on padding and fixed columns."""
    yhat, J = predict_with_jacobian(theta, stack.lnx, stack.zero)
    r = np.where(stack.mask, yhat - stack.y, 0.0)
    J *= stack.mask[:, :, None] & stack.free[:, None, :]
    return r, J


def normal_equations(J: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Newton matrix ``JᵀJ`` (n_curves, k, k) and gradient ``Jᵀr`` (n_curves, k)."""
    Jt = J.transpose(0, 2, 1)
    return Jt @ J, (Jt @ r[..., None])[..., 0]


def damped_steps(
    A: np.ndarray, g: np.ndarray, lam: np.ndarray, free: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Undamped and damped steps ``(A + lam · diag(A)) δ = -g`` for stacked k × k systems.

    One eigen-decomposition of the Jacobi-scaled ``A`` serves both steps. Parameters not in ``free`` get
    δ = 0. Where the undamped system is singular the step is NaN instead of an exception, so one degenerate
    curve cannot stop the others.
    """
    k = A.shape[-1]
    diag = np.einsum("nii->ni", A)
    use = free & (diag > 0)
    d = np.where(use, np.sqrt(np.where(use, diag, 1.0)), 1.0)
    both = use[:, :, None] & use[:, None, :]
    As = np.where(both, A / (d[:, :, None] * d[:, None, :]), 0.0) + (~use)[:, :, None] * np.eye(k)
    w, V = np.linalg.eigh(np.where(np.isfinite(As), As, 0.0))
    w = np.maximum(w, 0.0)
    proj = np.einsum("nji,nj->ni", V, np.where(use, g / d, 0.0))
    degenerate = np.any(free & ~(diag > 0), axis=1) | ~np.all(np.isfinite(As), axis=(1, 2))
    steps = []
    for damping in (np.zeros_like(lam), lam):
        with np.errstate(divide="ignore", invalid="ignore"):
            delta = -np.einsum("nij,nj->ni", V, proj / (w + damping[:, None])) / d
        delta = np.where(use, delta, 0.0)
        delta[degenerate | (w[:, 0] + damping <= 1e-14 * w[:, -1])] = np.nan
        steps.append(delta)
    return steps[0], steps[1]


def is_converged_step(step: np.ndarray, params: np.ndarray, xtol: float) -> np.ndarray:
    """Whether an undamped step (n_curves, k) is below ``xtol`` relative to the parameters (n_curves,)."""
    step_rel = np.max(np.abs(step) / (np.abs(params) + 1.0), axis=1)
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
        act: np.ndarray,
        step: np.ndarray,
        g: np.ndarray,
        A: np.ndarray,
        old: np.ndarray,
        new: np.ndarray,
        better: np.ndarray,
    ) -> np.ndarray:
        """Update the damping of the curves ``act`` after a step; returns which of them stalled.

        The gain ratio ρ is the actual over the predicted decrease of ½‖r‖² (``step``, gradient ``g`` and
        Gauss–Newton matrix ``A`` of the curves ``act``; ``old`` and ``new`` RSS). Nielsen's update:
        shrink λ by up to 3× after a good step, grow it ever faster after bad ones. A curve whose λ exceeds
        1e12 has stalled: no damped step lowers its RSS, a minimum to rounding error.
        """
        with np.errstate(all="ignore"):
            predicted = -np.einsum("ni,ni->n", step, g) - 0.5 * np.einsum("ni,nij,nj->n", step, A, step)
            rho = 0.5 * (old - new) / predicted
            shrink = np.where(
                np.isfinite(rho), np.maximum(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3), 1.0 / 3.0
            )
        lam, nu = self.lam, self.nu
        lam[act] = np.where(better, np.maximum(lam[act] * shrink, 1e-15), lam[act] * nu[act])
        nu[act] = np.where(better, 2.0, nu[act] * 2.0)
        return lam[act] > 1e12
