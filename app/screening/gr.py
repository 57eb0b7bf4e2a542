"""Growth-rate inhibition (GR) values and metrics (Hafner, Niepel, Chung & Sorger, Nat Methods 13:521, 2016).

GR value of a well (the paper's Eq. 1; datarail/gr_metrics, all three implementations)::

    GR(c) = 2^( log2(x(c) / x0) / log2(x_ctrl / x0) ) − 1

x(c) is the end-point value of a well treated at concentration c, x_ctrl that of untreated (vehicle) wells at
the same end point, x0 that of untreated wells at the time of treatment. GR = 1: no effect; 0: complete
cytostasis; < 0: cell death (−1: all cells dead). nostain reads x from OD450 predicted from images, which is
assumed proportional to the number of viable cells (as the CCK-8 assay is over its linear range); any
background (blank) must have been subtracted first, since GR uses ratios.

GR metrics of one curve, with the definitions and bounds of the reference implementation (R package
GRmetrics ``.GRlogisticFit``; Python ``gr50._metrics``; MATLAB ``evaluate_GRmetrics``):

* sigmoid ``GR(c) = GRinf + (1 − GRinf) / (1 + (c / GEC50)^h_GR)``, least squares with bounds
  GRinf ∈ [−1, 1], GEC50 ∈ [min(c)/100, 100 · max(c)], h_GR ∈ [0.1, 5], start (0.1, median c, 2);
* F-test of the sigmoid against a flat line at the mean GR: ``F = ((RSS_flat − RSS)/2) / (RSS/(n − 2))``
  on (2, n − 2) df — the reference's df2 = n − 3 + 1 (a textbook nested test would use n − 3). With
  p ≥ ``p_cutoff`` (0.05) the flat line is the fit: GRinf = mean GR, and GEC50 and h_GR are None (the
  reference writes placeholders 0 and 0.01);
* GR50 = ``GEC50 · ((1 − GRinf)/(0.5 − GRinf) − 1)^(1/h_GR)`` where GRinf < 0.5 (else not reached),
  censored to the tested range (:mod:`app.screening.censoring`);
* GRmax: the smallest GR value at the two highest concentrations (a robust minimum);
* GR_AOC: ``∫ (1 − GR) d log10 c`` by the trapezoid rule over the mean GR at each concentration, divided
  by ``log10(max c) − log10(min c)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from app.screening._common import JsonResult, as_number, as_vector, optional_float, same_length
from app.screening.censoring import CensoredConcentration, censor_concentration

__all__ = ["GEC50_FACTOR", "GR_INF_BOUNDS", "H_GR_BOUNDS", "GRMetrics", "gr_curve", "gr_metrics", "gr_values"]

GR_INF_BOUNDS = (-1.0, 1.0)  # GRmetrics' bounds of GRinf ...
H_GR_BOUNDS = (0.1, 5.0)  # ... of h_GR ...
GEC50_FACTOR = 100.0  # ... and GEC50 within [min c / 100, 100 · max c]
_START = (0.1, 2.0)  # GRinf and h_GR starting values of the reference (GEC50 starts at the median c)
MIN_WELLS = 4
MIN_CONCENTRATIONS = 3


def gr_values(cell_count: ArrayLike, control_count: ArrayLike, time0_count: ArrayLike) -> np.ndarray:
    """GR value of each well.

    Parameters
    ----------
    cell_count : array_like, shape (n_wells,)
        End-point value x(c) of each treated well (cells, or OD450 proportional to viable cells), > 0.
    control_count : float or array_like, shape (n_wells,)
        End-point value of untreated controls x_ctrl (one value, or the matching control of each well), > 0.
    time0_count : float or array_like, shape (n_wells,)
        Value at the time of treatment x0, > 0.

    Returns
    -------
    numpy.ndarray, shape (n_wells,)

    Raises
    ------
    ValueError
        Non-positive or non-finite values, mismatched lengths, or controls that did not grow
        (x_ctrl ≤ x0: GR is undefined).
    """
    x = as_vector(cell_count, "cell_count")
    ctrl = as_vector(control_count, "control_count")
    x0 = as_vector(time0_count, "time0_count")
    for name, values in (("cell_count", x), ("control_count", ctrl), ("time0_count", x0)):
        if values.size not in (1, x.size):
            raise ValueError(f"{name} must have 1 or {x.size} values (one per well); got {values.size}")
        bad = np.flatnonzero(values <= 0)
        if bad.size:
            raise ValueError(f"{name} must be > 0; got {float(values[bad[0]])!r} at index {int(bad[0])}")
    control_growth = np.log2(ctrl / x0)
    if np.any(control_growth <= 0):
        i = int(np.flatnonzero(np.broadcast_to(control_growth, x.shape) <= 0)[0])
        raise ValueError(
            "control wells did not grow between time 0 and the end point (control_count <= time0_count at "
            f"index {i}): GR values are undefined"
        )
    return 2.0 ** (np.log2(x / x0) / control_growth) - 1.0


def gr_curve(conc_um: ArrayLike, gr_inf: float, gec50_um: float, h_gr: float) -> np.ndarray:
    """The GR sigmoid ``GRinf + (1 − GRinf) / (1 + (c / GEC50)^h_GR)`` at ``conc_um`` (µM, ≥ 0, any shape)."""
    c = np.asarray(conc_um, dtype=float)
    if np.any(c < 0):
        raise ValueError(f"conc_um must be >= 0; got {float(c[c < 0].flat[0])!r}")
    as_number(gr_inf, "gr_inf")
    as_number(gec50_um, "gec50_um", low=0.0)
    as_number(h_gr, "h_gr", low=0.0)
    return gr_inf + (1.0 - gr_inf) / (1.0 + (c / gec50_um) ** h_gr)


@dataclass(frozen=True)
class GRMetrics(JsonResult):
    """GR metrics of one dose-response curve (see the module docstring for the definitions).

    Attributes
    ----------
    fit : str
        ``"sigmoid"``, ``"flat"`` (F-test p ≥ ``p_cutoff``) or ``"insufficient_data"``.
    gr50 : CensoredConcentration
        Concentration where GR = 0.5, µM, censored to the tested range.
    gr_max : float
        Smallest GR at the two highest concentrations.
    gr_aoc : float
        Area over the GR curve (data, trapezoid rule), normalised by the log10 range.
    gec50_um : float or None
        Midpoint of the sigmoid, µM (None for a flat or no fit).
    gr_inf : float or None
        Asymptotic GR (the flat level for a flat fit).
    h_gr : float or None
        Hill coefficient of the sigmoid.
    r2 : float or None
        R² of the sigmoid fit (reported for flat fits too, as the reference does).
    p_value : float or None
        F-test of the sigmoid against a flat line.
    at_bound : tuple of str
        Sigmoid parameters that ended on a bound of the search (read them as limits).
    n_wells : int
    message : str
    """

    fit: str
    gr50: CensoredConcentration
    gr_max: float
    gr_aoc: float
    gec50_um: float | None
    gr_inf: float | None
    h_gr: float | None
    r2: float | None
    p_value: float | None
    at_bound: tuple[str, ...]
    n_wells: int
    message: str


def _bounds(unique: np.ndarray) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """Lower and upper bounds of (GRinf, log10 GEC50, h_GR) for the tested concentrations ``unique``."""
    lower = (GR_INF_BOUNDS[0], math.log10(unique[0] / GEC50_FACTOR), H_GR_BOUNDS[0])
    upper = (GR_INF_BOUNDS[1], math.log10(unique[-1] * GEC50_FACTOR), H_GR_BOUNDS[1])
    return lower, upper


def _fit_sigmoid(c: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, float]:
    """Bounded least squares of (GRinf, log10 GEC50, h_GR): the best of the reference's start and 4 more."""
    from scipy import optimize  # lazy: see the package docstring

    unique = np.unique(c)
    lower, upper = (np.array(b) for b in _bounds(unique))
    log_c = np.log10(c)

    def residuals(p: np.ndarray) -> np.ndarray:
        return p[0] + (1.0 - p[0]) / (1.0 + 10.0 ** (p[2] * (log_c - p[1]))) - g

    def jacobian(p: np.ndarray) -> np.ndarray:
        power = 10.0 ** (p[2] * (log_c - p[1]))
        s = 1.0 / (1.0 + power)
        ds = -(1.0 - p[0]) * s * s * power * math.log(10.0)  # ∂/∂(h (log c − mid)) of the sigmoid part
        return np.column_stack([1.0 - s, -ds * p[2], ds * (log_c - p[1])])

    starts = [(_START[0], math.log10(float(np.median(unique))), _START[1])]  # the reference's start
    starts += [(g_inf, mid, 1.0) for g_inf in (-0.5, 0.5) for mid in np.log10(unique[[1, -2]])]
    best, best_rss = None, math.inf
    for start in starts:
        res = optimize.least_squares(
            residuals, np.clip(start, lower, upper), jac=jacobian, bounds=(lower, upper), method="trf",
            ftol=1e-12, xtol=1e-12, gtol=1e-12, max_nfev=1000,
        )  # fmt: skip
        rss = float(res.fun @ res.fun)
        if rss < best_rss * (1 - 1e-12):
            best, best_rss = res.x, rss
    assert best is not None
    return best, best_rss


def _data_metrics(c: np.ndarray, g: np.ndarray) -> tuple[float, float, np.ndarray]:
    unique = np.unique(c)
    top_two = c >= unique[max(unique.size - 2, 0)]
    gr_max = float(np.min(g[top_two]))
    means = np.array([np.mean(g[c == u]) for u in unique])
    log_u = np.log10(unique)
    width = log_u[-1] - log_u[0]
    aoc = (
        float(np.sum((1.0 - (means[:-1] + means[1:]) / 2.0) * np.diff(log_u)) / width)
        if width > 0
        else math.nan
    )
    return gr_max, aoc, unique


def gr_metrics(conc_um: ArrayLike, gr: ArrayLike, *, p_cutoff: float = 0.05) -> GRMetrics:
    """GR50, GRmax, GR_AOC, GEC50, GRinf and h_GR of one curve of GR values.

    Parameters
    ----------
    conc_um : array_like, shape (n_wells,)
        Concentration of each treated well, µM, > 0 (controls enter through the GR values).
    gr : array_like, shape (n_wells,)
        GR value of each well (:func:`gr_values`).
    p_cutoff : float
        F-test level in (0, 1]: the sigmoid is kept when p < ``p_cutoff`` (the reference's "force" option is
        ``p_cutoff=1``).

    Returns
    -------
    GRMetrics

    Raises
    ------
    ValueError
        Non-positive or non-finite concentrations, non-finite GR values, mismatched lengths, a bad
        ``p_cutoff``.
    """
    from scipy import stats  # lazy: see the package docstring

    c = as_vector(conc_um, "conc_um")
    g = as_vector(gr, "gr")
    same_length("conc_um", c, "gr", g)
    bad = np.flatnonzero(c <= 0)
    if bad.size:
        raise ValueError(
            f"conc_um must be > 0 (treated wells only; controls enter through the GR values); got "
            f"{float(c[bad[0]])!r} at index {int(bad[0])}"
        )
    cutoff = as_number(p_cutoff, "p_cutoff", low=0.0)
    if cutoff > 1.0:
        raise ValueError(f"p_cutoff must be in (0, 1]; got {p_cutoff!r}")
    order = np.argsort(c, kind="stable")
    c, g = c[order], g[order]
    gr_max, aoc, unique = _data_metrics(c, g)
    tested = (float(unique[0]), float(unique[-1]))
    if c.size < MIN_WELLS or unique.size < MIN_CONCENTRATIONS:
        return GRMetrics(
            "insufficient_data", censor_concentration(None, tested, reason="not_estimated"), gr_max, aoc,
            None, None, None, None, None, (), int(c.size),
            f"Too few data for a GR curve: {c.size} wells at {unique.size} concentrations "
            f"(need {MIN_WELLS} and {MIN_CONCENTRATIONS}).",
        )  # fmt: skip
    params, rss = _fit_sigmoid(c, g)
    mean = float(np.mean(g))
    rss_flat = float(np.sum((g - mean) ** 2))
    df1, df2 = 2, c.size - 2  # the reference: (3 − 1, n − 3 + 1)
    if rss_flat > 0 and rss > 0:
        f_stat = ((rss_flat - rss) / df1) / (rss / df2)
        p_value = float(stats.f.sf(f_stat, df1, df2))
    else:
        p_value = 0.0 if rss_flat > 0 else 1.0
    r2 = optional_float(1.0 - rss / rss_flat) if rss_flat > 0 else None
    if not p_value < cutoff:
        gr50 = censor_concentration(None, tested, reason="not_reached" if mean > 0.5 else "below_range")
        message = (
            f"Flat GR curve (F-test p = {p_value:.3g} ≥ {cutoff:g}): GR {mean:.3g} at every concentration."
        )
        return GRMetrics("flat", gr50, gr_max, aoc, None, mean, None, r2, p_value, (), int(c.size), message)
    gr_inf, log_gec50, h_gr = (float(v) for v in params)
    gec50 = 10.0**log_gec50
    gr50_estimate = gec50 * ((1.0 - gr_inf) / (0.5 - gr_inf) - 1.0) ** (1.0 / h_gr) if gr_inf < 0.5 else None
    gr50 = (
        censor_concentration(gr50_estimate, tested) if gr50_estimate is not None
        else censor_concentration(None, tested, reason="not_reached")
    )  # fmt: skip
    lower, upper = _bounds(unique)
    names = ("gr_inf", "gec50_um", "h_gr")
    at_bound = tuple(
        n for n, v, lo, hi in zip(names, params, lower, upper, strict=True) if min(v - lo, hi - v) < 1e-6
    )
    message = f"Sigmoid GR fit (F-test p = {p_value:.3g}); GR50 {gr50.text}."
    if at_bound:
        message += f" {', '.join(at_bound)} ended on a bound of the search: read as limits."
    return GRMetrics(
        "sigmoid", gr50, gr_max, aoc, gec50, gr_inf, h_gr, r2, p_value, at_bound, int(c.size), message
    )
