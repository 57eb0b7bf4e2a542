"""Covariance of a Hill fit's parameters, for delta-method standard errors of derived metrics.

:class:`app.doseresponse.HillFit` reports standard errors but not the correlations between parameters,
which the delta method needs (an IC10 depends on the slope and the midpoint together). This module
recomputes the covariance at the fit's estimates from the data it was fitted to:

``"gauss-newton"`` (default)
    ``σ² (JᵀJ)⁻¹``, ``σ² = RSS / df`` — the same matrix as the fit's own standard errors (and SciPy's
    ``curve_fit``).
``"hessian"``
    ``σ² (JᵀJ + Σ rᵢ ∇²fᵢ)⁻¹`` with ``rᵢ = fᵢ − yᵢ``: half the exact Hessian of the residual sum of
    squares, as R drc's ``vcov`` for least squares (its SEs on ryegrass: e 0.18573 against Gauss–Newton's
    0.18583). Use it to reproduce drc's ``ED()`` standard errors digit for digit.

Parameters are ``(top, bottom, hill, ln ic50)``; a fixed top or bottom has zero variance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from app.doseresponse import HillFit
from app.screening import _hill_calculus as calc
from app.screening._common import JsonResult, as_choice, as_vector, same_length

__all__ = [
    "COVARIANCE_METHODS",
    "PARAMETER_NAMES",
    "ParameterCovariance",
    "hill_parameters",
    "parameter_covariance",
]

COVARIANCE_METHODS = ("gauss-newton", "hessian")
PARAMETER_NAMES = ("top", "bottom", "hill", "log_ic50")
_RSS_TOLERANCE = 1e-6  # relative mismatch of the recomputed RSS that means "not this fit's data"


@dataclass(frozen=True)
class ParameterCovariance(JsonResult):
    """Covariance of ``(top, bottom, hill, ln ic50)``.

    Attributes
    ----------
    names : tuple of str
        ``("top", "bottom", "hill", "log_ic50")``; ``log_ic50`` is the natural log of the IC50 in µM.
    matrix : tuple of tuple of float
        4 × 4 covariance (response units², natural-log units for ``log_ic50``); rows and columns of fixed
        parameters are 0. NaN where the matrix is singular (parameters not identifiable).
    theta : tuple of float
        The estimates ``(top, bottom, hill, ln ic50)`` the matrix belongs to.
    residual_variance : float
        ``σ² = RSS / df``.
    df : int
        Residual degrees of freedom.
    method : str
        ``"gauss-newton"`` or ``"hessian"``.
    """

    names: tuple[str, ...]
    matrix: tuple[tuple[float, ...], ...]
    theta: tuple[float, ...]
    residual_variance: float
    df: int
    method: str

    def as_array(self) -> np.ndarray:
        """The covariance as a (4, 4) numpy array."""
        return np.array(self.matrix, dtype=float)

    def standard_errors(self) -> dict[str, float]:
        """Square roots of the diagonal, by parameter name."""
        return dict(zip(self.names, np.sqrt(np.diag(self.as_array())).tolist(), strict=True))


def hill_parameters(fit: HillFit) -> np.ndarray:
    """``(top, bottom, hill, ln ic50)`` of a fitted curve; ValueError when the fit has no sigmoid curve."""
    if not fit.has_curve or fit.status == "no_effect" or fit.ic50_um is None:
        raise ValueError(f"fit has no fitted curve to derive metrics from; its status is {fit.status!r}")
    assert fit.top is not None and fit.bottom is not None and fit.hill is not None
    return np.array([fit.top, fit.bottom, fit.hill, np.log(fit.ic50_um)])


def parameter_covariance(
    fit: HillFit, conc_um: ArrayLike, response: ArrayLike, *, method: str = "gauss-newton"
) -> ParameterCovariance:
    """Covariance of the fit's parameters, recomputed from the data the fit was made from.

    Parameters
    ----------
    fit : HillFit
        A fit with a curve (status ``ok``, ``ambiguous``, ``ic50_above_range`` or ``ic50_below_range``).
    conc_um : array_like, shape (n_wells,)
        The concentrations (µM) given to the fit.
    response : array_like, shape (n_wells,)
        The responses given to the fit (e.g. OD450).
    method : {"gauss-newton", "hessian"}
        See the module docstring.

    Returns
    -------
    ParameterCovariance

    Raises
    ------
    ValueError
        A fit without a curve, data of another length or whose residual sum of squares differs from the
        fit's (not the data of this fit), or an unknown method.
    """
    how = as_choice(method, "method", COVARIANCE_METHODS)
    x = as_vector(conc_um, "conc_um")
    y = as_vector(response, "response")
    same_length("conc_um", x, "response", y)
    if np.any(x < 0):
        raise ValueError(f"conc_um must be >= 0; got {float(x[x < 0][0])!r}")
    theta = hill_parameters(fit)
    if x.size != fit.n_wells:
        raise ValueError(f"conc_um has {x.size} wells but the fit was made from {fit.n_wells}")
    residuals = calc.curve(theta, x) - y
    rss = float(residuals @ residuals)
    assert fit.rss is not None
    if abs(rss - fit.rss) > _RSS_TOLERANCE * (1.0 + fit.rss):
        raise ValueError(
            f"conc_um/response give a residual sum of squares of {rss:.6g}, the fit's is {fit.rss:.6g}: "
            "these are not the data this fit was made from"
        )
    free = np.array([fit.fixed_top is None, fit.fixed_bottom is None, True, True])
    jac = calc.jacobian(theta, x)[:, free]
    information = jac.T @ jac
    if how == "hessian":
        curvature = np.einsum("n,nij->ij", residuals, calc.second_derivatives(theta, x))
        information = information + curvature[np.ix_(free, free)]
    variance = rss / fit.df if fit.df > 0 else np.nan
    matrix = np.zeros((calc.N_PARAMS, calc.N_PARAMS))
    try:
        inverse = np.linalg.inv(information)
    except np.linalg.LinAlgError:
        inverse = np.full(information.shape, np.nan)
    matrix[np.ix_(free, free)] = variance * inverse
    return ParameterCovariance(
        names=PARAMETER_NAMES,
        matrix=tuple(tuple(float(v) for v in row) for row in matrix),
        theta=tuple(float(v) for v in theta),
        residual_variance=float(variance),
        df=int(fit.df),
        method=how,
    )
