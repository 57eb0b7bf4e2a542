"""Automatic outlier removal for a Hill fit, ROUT-like (Motulsky & Brown, BMC Bioinformatics 7:123, 2006).

1. Robust fit. The Hill curve is fitted minimising the Lorentzian (Cauchy) merit function
   ``Σ ln(1 + (rᵢ / RSDR)²)`` (SciPy ``least_squares(loss="cauchy", f_scale=RSDR)``), starting from the
   ordinary least-squares fit. As in the paper, the scale adapts: RSDR is re-estimated from the residuals of
   each robust fit and the fit repeated until RSDR settles, so the fit grows more robust as the outliers'
   residuals grow. (The paper updates the scale inside each Marquardt iteration; we update it between whole
   robust fits — hence "ROUT-like".)
2. RSDR, the robust standard deviation of the residuals: ``P68 · N / (N − K)``, where P68 is the 68.27th
   percentile of |residuals| (Hyndman–Fan type 7, as Motulsky documented: numpy's default), N the number of
   wells and K the number of fitted parameters.
3. False-discovery-rate test at Q (default 1 %). Residuals are ranked by absolute size, i = 1 … N from the
   smallest; each gets ``t = |rᵢ| / RSDR``, a two-sided p-value from Student's t with N − K df, and the
   threshold ``αᵢ = Q (N − (i − 1)) / N``. Only the largest 30 % of residuals are candidates (Prism: "up to
   30 % of the sample size"). The smallest-ranked candidate with ``pᵢ < αᵢ`` and every larger residual are
   outliers.
4. The outliers are removed and the remaining wells refitted by ordinary least squares
   (:func:`app.doseresponse.fit_hill`); each removed well is listed with its residual and the threshold it
   failed.

Q is the false discovery rate among flagged wells; on clean Gaussian data it is close to the chance of
flagging any well in a curve (the paper found 1–3 % of clean simulated curves with a false outlier).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from app.doseresponse import HillFit, fit_hill
from app.screening import _hill_calculus as calc
from app.screening._common import JsonResult, as_number, as_optional_number, as_vector, same_length

__all__ = ["ROUT_Q", "OutlierWell", "RoutResult", "fit_without_outliers", "rout_outliers", "rsdr"]

ROUT_Q = 0.01  # Motulsky & Brown 2006 recommend Q = 1 %
MAX_OUTLIER_FRACTION = 0.30  # only the largest 30 % of residuals may be outliers
P68 = 68.27  # percentile of |residuals| equal to 1 SD of a normal distribution
_HILL_LIMIT = 10.0  # |hill| bound of the robust fit (the same box as app.doseresponse's search)
_DECADES_BEYOND_RANGE = 3.0  # IC50 within 3 decades of the tested concentrations
_MAX_ROUNDS = 20
_RSDR_SETTLED = 1e-3  # relative change of RSDR that ends the adaptive loop


@dataclass(frozen=True)
class OutlierWell(JsonResult):
    """One well flagged as an outlier.

    Attributes
    ----------
    index : int
        Position in the input arrays.
    conc_um : float
    response : float
    residual : float
        Response minus the robust curve (response units).
    t_ratio : float
        |residual| / RSDR.
    p_value : float
        Two-sided p of the t ratio (N − K df).
    threshold : float
        The FDR threshold αᵢ it was compared with.
    reason : str
        Plain words, e.g. "response 0.12 lies 0.91 below the robust curve (7.9 robust SDs; p = 2e-06, FDR
        threshold 0.00042)".
    """

    index: int
    conc_um: float
    response: float
    residual: float
    t_ratio: float
    p_value: float
    threshold: float
    reason: str


@dataclass(frozen=True)
class RoutResult(JsonResult):
    """Outlier detection and the refit without the outliers.

    Attributes
    ----------
    outliers : tuple of OutlierWell
        Flagged wells, largest residual first.
    kept : tuple of int
        Indices of the wells kept.
    fit : HillFit
        Ordinary least-squares fit of the kept wells (the original fit when none was removed).
    robust_theta : tuple of float or None
        Robust-fit ``(top, bottom, hill, ln ic50)``; None when no robust fit was possible.
    rsdr : float or None
        Robust SD of the residuals of the robust fit (response units).
    q : float
        False discovery rate used.
    message : str
    """

    outliers: tuple[OutlierWell, ...]
    kept: tuple[int, ...]
    fit: HillFit
    robust_theta: tuple[float, ...] | None
    rsdr: float | None
    q: float
    message: str


def rsdr(residuals: ArrayLike, n_params: int) -> float:
    """Robust standard deviation of residuals: ``P68(|r|) · N / (N − K)`` (Motulsky & Brown 2006).

    Parameters
    ----------
    residuals : array_like, shape (n,)
        Residuals (response units).
    n_params : int
        Number of fitted parameters K, 0 ≤ K < n.

    Returns
    -------
    float
    """
    r = as_vector(residuals, "residuals")
    if not (isinstance(n_params, (int, np.integer)) and 0 <= n_params < r.size):
        raise ValueError(f"n_params must be an integer in [0, {r.size}); got {n_params!r}")
    return float(np.percentile(np.abs(r), P68)) * r.size / (r.size - n_params)


def _robust_fit(
    x: np.ndarray, y: np.ndarray, start: np.ndarray, free: np.ndarray
) -> tuple[np.ndarray, float]:
    """Adaptive Lorentzian fit; returns the full theta and the final RSDR."""
    from scipy import optimize  # lazy: see the package docstring

    positive = x[x > 0]
    lo_box = np.array(
        [-np.inf, -np.inf, -_HILL_LIMIT, math.log(positive.min()) - _DECADES_BEYOND_RANGE * math.log(10)]
    )
    hi_box = np.array(
        [np.inf, np.inf, _HILL_LIMIT, math.log(positive.max()) + _DECADES_BEYOND_RANGE * math.log(10)]
    )
    theta = start.copy()
    theta[2:] = np.clip(theta[2:], lo_box[2:] + 1e-9, hi_box[2:] - 1e-9)
    n_free = int(free.sum())

    def full(p: np.ndarray) -> np.ndarray:
        out = theta.copy()
        out[free] = p
        return out

    def residuals(p: np.ndarray) -> np.ndarray:
        return calc.curve(full(p), x) - y

    def jacobian(p: np.ndarray) -> np.ndarray:
        return calc.jacobian(full(p), x)[:, free]

    scale = rsdr(residuals(theta[free]), n_free)
    for _ in range(_MAX_ROUNDS):
        if not scale > 0:
            return theta, 0.0
        res = optimize.least_squares(
            residuals, theta[free], jac=jacobian, bounds=(lo_box[free], hi_box[free]),
            loss="cauchy", f_scale=scale, method="trf", max_nfev=500,
        )  # fmt: skip
        theta = full(res.x)
        new_scale = rsdr(res.fun, n_free)
        settled = abs(new_scale - scale) <= _RSDR_SETTLED * scale
        scale = new_scale
        if settled:
            break
    return theta, scale


def rout_outliers(
    conc_um: ArrayLike, response: ArrayLike, theta: ArrayLike, *, n_params: int = 4, q: float = ROUT_Q
) -> tuple[tuple[OutlierWell, ...], float]:
    """The FDR outlier test (step 3 of the module docstring) on the residuals of a robust curve.

    Parameters
    ----------
    conc_um : array_like, shape (n_wells,)
        Concentrations, µM (≥ 0).
    response : array_like, shape (n_wells,)
        Responses.
    theta : array_like, shape (4,)
        The robust curve's ``(top, bottom, hill, ln ic50)``.
    n_params : int
        Fitted parameters K (4, or fewer with a fixed top/bottom).
    q : float
        False discovery rate in (0, 1).

    Returns
    -------
    outliers : tuple of OutlierWell
        Largest residual first.
    rsdr : float
        Robust SD of the residuals.
    """
    from scipy import stats  # lazy: see the package docstring

    x = as_vector(conc_um, "conc_um")
    y = as_vector(response, "response")
    same_length("conc_um", x, "response", y)
    params = as_vector(theta, "theta")
    if params.size != 4:
        raise ValueError(f"theta must be (top, bottom, hill, ln ic50); got {params.size} values")
    level = as_number(q, "q", low=0.0, high=1.0)
    n = y.size
    residual = y - calc.curve(params, x)
    scale = rsdr(residual, n_params)
    if not scale > 0:
        return (), scale
    order = np.argsort(np.abs(residual), kind="stable")  # rank i = 1 … N from the smallest
    t_ratio = np.abs(residual[order]) / scale
    p_value = 2.0 * stats.t.sf(t_ratio, n - n_params)
    alpha = level * (n - np.arange(n)) / n  # Q (N − (i − 1)) / N
    first_candidate = n - math.floor(MAX_OUTLIER_FRACTION * n)
    hits = [i for i in range(first_candidate, n) if p_value[i] < alpha[i]]
    if not hits:
        return (), scale
    flagged = []
    for i in range(hits[0], n)[::-1]:
        k = int(order[i])
        side = "above" if residual[k] > 0 else "below"
        flagged.append(
            OutlierWell(
                k, float(x[k]), float(y[k]), float(residual[k]), float(t_ratio[i]), float(p_value[i]),
                float(alpha[i]),
                f"response {y[k]:.4g} lies {abs(residual[k]):.3g} {side} the robust curve "
                f"({t_ratio[i]:.1f} robust SDs; p = {p_value[i]:.2g}, FDR threshold {alpha[i]:.2g})",
            )
        )  # fmt: skip
    return tuple(flagged), scale


def fit_without_outliers(
    conc_um: ArrayLike,
    response: ArrayLike,
    *,
    q: float = ROUT_Q,
    fix_top: float | None = None,
    fix_bottom: float | None = None,
) -> RoutResult:
    """Detect outliers with the ROUT-like method and refit the Hill curve without them.

    Parameters
    ----------
    conc_um : array_like, shape (n_wells,)
        Concentration of each well, µM (≥ 0; 0 = vehicle control).
    response : array_like, shape (n_wells,)
        Response of each well (e.g. OD450).
    q : float
        False discovery rate Q in (0, 1); the paper recommends 0.01.
    fix_top, fix_bottom : float, optional
        Passed to :func:`app.doseresponse.fit_hill` (and held in the robust fit).

    Returns
    -------
    RoutResult

    Raises
    ------
    ValueError
        Bad arrays (as :func:`app.doseresponse.fit_hill`) or a bad ``q``.
    """
    x = as_vector(conc_um, "conc_um")
    y = as_vector(response, "response")
    same_length("conc_um", x, "response", y)
    level = as_number(q, "q", low=0.0, high=1.0)
    top = as_optional_number(fix_top, "fix_top")
    bottom = as_optional_number(fix_bottom, "fix_bottom")
    original = fit_hill(x, y, fix_top=top, fix_bottom=bottom)
    everyone = tuple(range(x.size))
    free = np.array([top is None, bottom is None, True, True])
    n_params = int(free.sum())
    if not original.has_curve or not np.any(x > 0) or x.size - n_params < 2:
        message = f"No outlier test: the fit has status {original.status}."
        return RoutResult((), everyone, original, None, None, level, message)
    if original.ic50_um is not None:  # a sigmoid fit: start the robust fit from it
        start = np.array(
            [original.top, original.bottom, original.hill, math.log(original.ic50_um)], dtype=float
        )
    else:  # a flat (no_effect) fit: start from the data range, hill 1, midpoint mid-range (log scale)
        positive = x[x > 0]
        midpoint = 0.5 * (math.log(positive.min()) + math.log(positive.max()))
        start = np.array([float(np.max(y)), float(np.min(y)), 1.0, midpoint])
    if top is not None:
        start[0] = top
    if bottom is not None:
        start[1] = bottom
    theta, _ = _robust_fit(x, y, start, free)
    outliers, scale = rout_outliers(x, y, theta, n_params=n_params, q=level)
    robust = tuple(float(v) for v in theta)
    if not outliers:
        return RoutResult((), everyone, original, robust, scale, level, f"No outliers at Q = {level:g}.")
    removed = {w.index for w in outliers}
    kept = tuple(i for i in everyone if i not in removed)
    refit = fit_hill(x[list(kept)], y[list(kept)], fix_top=top, fix_bottom=bottom)
    message = f"{len(outliers)} outlier well(s) removed at Q = {level:g}; refitted on the {len(kept)} others."
    return RoutResult(outliers, kept, refit, robust, scale, level, message)
