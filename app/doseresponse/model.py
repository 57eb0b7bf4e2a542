"""The Hill model: the curve itself, its Jacobian and its second derivatives, for stacked curves.

The fit works with the parameter vector ``theta = (top, bottom, hill, ln ic50)``; its columns are indexed
by :data:`TOP`, :data:`BOTTOM`, :data:`HILL` and :data:`LOG_IC50`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

__all__ = [
    "BOTTOM",
    "HILL",
    "LOG_IC50",
    "PARAMS",
    "TOP",
    "hill",
    "predict",
    "predict_with_jacobian",
    "residual_curvature",
    "shape",
]

#: Names of the reported parameters, in the order of ``theta`` (the last is reported as the IC50 in µM).
PARAMS = ("top", "bottom", "hill", "ic50_um")
#: Columns of ``theta``: top, bottom, Hill slope and ln IC50 (IC50 in µM).
TOP, BOTTOM, HILL, LOG_IC50 = range(4)


def hill(
    conc_um: ArrayLike, top: ArrayLike, bottom: ArrayLike, hill: ArrayLike, ic50_um: ArrayLike
) -> np.ndarray:
    """Evaluate the four-parameter Hill curve (the paper's Eq. 1), vectorised.

    Parameters
    ----------
    conc_um : array_like
        Concentrations in µM, ≥ 0. Any shape; broadcast against the parameters.
    top, bottom : array_like
        Response at x = 0 and at x → ∞ for a falling curve (``hill > 0``), in response units (e.g. OD450).
    hill : array_like
        Hill slope; positive for a falling curve (drc's b).
    ic50_um : array_like
        Midpoint (relative IC50) in µM, > 0.

    Returns
    -------
    numpy.ndarray
        Responses, the broadcast shape of the inputs. At x = 0 the value is ``top`` for ``hill > 0``,
        ``bottom`` for ``hill < 0`` and their mean for ``hill == 0``.
    """
    x = np.asarray(conc_um, dtype=float)
    e = np.asarray(ic50_um, dtype=float)
    if np.any(x < 0):
        raise ValueError(f"conc_um must be >= 0; got {x[x < 0].flat[0]!r}")
    if np.any(~(e > 0)):
        raise ValueError(f"ic50_um must be > 0; got {e[~(e > 0)].flat[0]!r}")
    t, b, slope = (np.asarray(v, dtype=float) for v in (top, bottom, hill))
    zero = x == 0
    with np.errstate(divide="ignore"):
        lnx = np.where(zero, 0.0, np.log(np.where(zero, 1.0, x)))
    s = special.expit(-slope * (lnx - np.log(e)))
    return b + (t - b) * _at_controls(s, zero, slope)


def _at_controls(s: np.ndarray, zero: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """``s`` with its x = 0 limit where ``zero``: 1 for a falling curve, 0 for a rising one, ½ for flat."""
    if not zero.any():
        return s
    limit = np.where(slope > 0, 1.0, np.where(slope < 0, 0.0, 0.5))
    return np.where(zero, limit, s)


def _odds(slope: np.ndarray, log_ratio: np.ndarray) -> np.ndarray:
    """``(x / ic50) ** hill`` from ``log_ratio = ln x - ln ic50``, kept finite."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp(np.clip(slope * log_ratio, -700.0, 700.0))


def _columns(theta: np.ndarray) -> tuple[np.ndarray, ...]:
    """top, bottom, hill, ln ic50 of ``theta`` (n_curves, 4), each (n_curves, 1) to broadcast over wells."""
    return tuple(theta[:, i : i + 1] for i in range(4))


def shape(theta: np.ndarray, lnx: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """s = 1 / (1 + (x / ic50)^hill) (n_curves, n_points), the x = 0 limit included.

    The model is ``bottom + (top - bottom) · s``. ``theta`` (n_curves, 4); ``lnx``, ``zero``
    (n_curves, n_points), where ``lnx`` holds any finite value at zero concentrations.
    """
    _, _, slope, log_ic50 = _columns(theta)
    s = 1.0 / (1.0 + _odds(slope, lnx - log_ic50))
    return _at_controls(s, zero, slope)


def predict(theta: np.ndarray, lnx: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """Model responses (n_curves, n_points) of stacked curves (arguments as for :func:`shape`)."""
    top, bottom, _, _ = _columns(theta)
    return bottom + (top - bottom) * shape(theta, lnx, zero)


def predict_with_jacobian(
    theta: np.ndarray, lnx: np.ndarray, zero: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Model responses y (n_curves, n_points) and Jacobian J (n_curves, 4, n_points) w.r.t. ``theta``.

    ``J[:, TOP]`` holds ∂y/∂top at every point, and so on (one row per parameter: the layout in which
    ``J @ Jᵀ`` is the Gauss–Newton matrix).
    """
    top, bottom, slope, log_ic50 = _columns(theta)
    d = lnx - log_ic50
    e = _odds(slope, d)
    s = _at_controls(1.0 / (1.0 + e), zero, slope)
    span = top - bottom
    y = bottom + span * s
    controls = zero.any()
    one_minus_s = np.where(zero, 1.0 - s, e * s) if controls else e * s  # accurate where s is close to 1
    span_w = span * s * one_minus_s  # span · (-ds/du); 0 in the x = 0 limit
    if controls:
        span_w[zero] = 0.0
    jacobian = np.empty((y.shape[0], 4, y.shape[1]))
    jacobian[:, TOP] = s
    jacobian[:, BOTTOM] = one_minus_s
    np.multiply(span_w, d, out=jacobian[:, HILL])
    np.negative(jacobian[:, HILL], out=jacobian[:, HILL])
    np.multiply(span_w, slope, out=jacobian[:, LOG_IC50])
    return y, jacobian


def residual_curvature(theta: np.ndarray, lnx: np.ndarray, zero: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Σᵢ rᵢ ∇²yᵢ (n_curves, 4, 4): the part of the RSS Hessian that Gauss–Newton leaves out.

    ``r`` (n_curves, n_points) must be 0 on padding and fixed-parameter rows are masked by the caller.
    """
    top, bottom, slope, log_ic50 = _columns(theta)
    d = lnx - log_ic50
    e = _odds(slope, d)
    s = 1.0 / (1.0 + e)
    w = np.where(zero, 0.0, s * e * s)  # s(1 - s)
    span = top - bottom
    c = (1.0 - 2.0 * s) * w  # d²s/du²
    S = np.zeros((theta.shape[0], 4, 4))
    top_hill = -(r * w * d).sum(axis=1)  # ∂²y/∂top∂hill = -w d
    top_log_ic50 = (r * w * slope).sum(axis=1)  # ∂²y/∂top∂ln ic50 = w h
    S[:, TOP, HILL] = S[:, HILL, TOP] = top_hill
    S[:, TOP, LOG_IC50] = S[:, LOG_IC50, TOP] = top_log_ic50
    S[:, BOTTOM, HILL] = S[:, HILL, BOTTOM] = -top_hill
    S[:, BOTTOM, LOG_IC50] = S[:, LOG_IC50, BOTTOM] = -top_log_ic50
    S[:, HILL, HILL] = (r * span * c * d * d).sum(axis=1)
    S[:, HILL, LOG_IC50] = S[:, LOG_IC50, HILL] = (r * span * (w - c * slope * d)).sum(axis=1)
    S[:, LOG_IC50, LOG_IC50] = (r * span * c * slope * slope).sum(axis=1)
    return S
