"""First and second derivatives of the Hill curve in its fitting parameters (private).

Parameters ``theta = (top, bottom, hill, ln ic50)`` as in :mod:`app.doseresponse`; the curve is

    y = bottom + (top - bottom) · s(u),  s(u) = 1 / (1 + e^u),  u = hill · (ln x − ln ic50)

with s = 1 for hill > 0 (0 for hill < 0) at x = 0, where the derivatives in hill and ln ic50 vanish.
Used for the parameter covariance (Gauss–Newton and full Hessian) and the robust fit.
"""

from __future__ import annotations

import numpy as np
from scipy import special

TOP, BOTTOM, HILL, LOG_IC50 = range(4)
N_PARAMS = 4


def _pieces(theta: np.ndarray, conc_um: np.ndarray) -> tuple[np.ndarray, ...]:
    top, bottom, slope, log_ic50 = theta
    zero = conc_um == 0
    log_x = np.log(np.where(zero, 1.0, conc_um))
    distance = np.where(zero, 0.0, log_x - log_ic50)  # ln x − ln ic50 (0 at x = 0: no dependence)
    u = slope * distance
    s = special.expit(-u)
    s = np.where(zero, 1.0 if slope > 0 else (0.0 if slope < 0 else 0.5), s)
    one_minus_s = np.where(zero, 1.0 - s, special.expit(u))
    ds = np.where(zero, 0.0, -s * one_minus_s)  # ds/du
    d2s = np.where(zero, 0.0, s * one_minus_s * (one_minus_s - s))  # d²s/du² = s(1−s)(1−2s)
    return top - bottom, slope, distance, s, one_minus_s, ds, d2s


def jacobian(theta: np.ndarray, conc_um: np.ndarray) -> np.ndarray:
    """∂y/∂theta at each concentration, shape (n_wells, 4)."""
    span, slope, distance, s, one_minus_s, ds, _ = _pieces(theta, conc_um)
    jac = np.empty((conc_um.size, N_PARAMS))
    jac[:, TOP] = s
    jac[:, BOTTOM] = one_minus_s
    jac[:, HILL] = span * ds * distance
    jac[:, LOG_IC50] = -span * ds * slope
    return jac


def second_derivatives(theta: np.ndarray, conc_um: np.ndarray) -> np.ndarray:
    """∂²y/∂theta∂theta at each concentration, shape (n_wells, 4, 4) (symmetric)."""
    span, slope, distance, _, _, ds, d2s = _pieces(theta, conc_um)
    hess = np.zeros((conc_um.size, N_PARAMS, N_PARAMS))
    pairs = {
        (TOP, HILL): ds * distance,
        (TOP, LOG_IC50): -ds * slope,
        (BOTTOM, HILL): -ds * distance,
        (BOTTOM, LOG_IC50): ds * slope,
        (HILL, HILL): span * d2s * distance**2,
        (HILL, LOG_IC50): -span * (d2s * distance * slope + ds),
        (LOG_IC50, LOG_IC50): span * d2s * slope**2,
    }
    for (i, j), value in pairs.items():
        hess[:, i, j] = value
        hess[:, j, i] = value
    return hess


def curve(theta: np.ndarray, conc_um: np.ndarray) -> np.ndarray:
    """The Hill curve at ``conc_um`` (µM), shape of ``conc_um``."""
    span, _, _, s, _, _, _ = _pieces(theta, conc_um)
    return theta[BOTTOM] + span * s
