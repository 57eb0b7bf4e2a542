"""The plausibility box of the parameters and drc-like self-starting values."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from app.doseresponse.model import BOTTOM, HILL, TOP
from app.doseresponse.stack import PaddedCurves, data_range, pack_curves
from app.doseresponse.validate import as_curve, as_optional_number, check_fixed_pair

__all__ = [
    "DECADES_BEYOND_RANGE",
    "HILL_LIMIT",
    "HILL_MIN",
    "LN10",
    "at_bound",
    "guess",
    "plausibility_box",
    "starting_values",
]

HILL_LIMIT = 10.0  # |hill| of a plausible fit is at most this ...
HILL_MIN = 0.1  # ... and at least this (hill → 0 turns the controls into a step at x = 0: a degenerate fit)
DECADES_BEYOND_RANGE = 3.0  # IC50 searched up to 3 decades beyond the tested concentrations
ASYMPTOTE_SPANS = 10.0  # top and bottom within 10 data ranges of the data
LN10 = math.log(10.0)


def _response_scale(ymin: np.ndarray, ymax: np.ndarray) -> np.ndarray:
    """The data range of the responses, or max(|ymax|, 1) where every response is the same."""
    spread = ymax - ymin
    return np.where(spread > 0, spread, np.maximum(np.abs(ymax), 1.0))


def plausibility_box(stack: PaddedCurves) -> tuple[np.ndarray, np.ndarray]:
    """Plausibility box (n_curves, 4) lower and upper bounds for (top, bottom, hill, ln ic50)."""
    ymin, ymax, lnlo, lnhi = data_range(stack)
    scale = _response_scale(ymin, ymax)
    beyond = DECADES_BEYOND_RANGE * LN10
    lo = np.column_stack(
        [
            ymin - ASYMPTOTE_SPANS * scale,
            ymin - ASYMPTOTE_SPANS * scale,
            np.full_like(ymin, -HILL_LIMIT),
            lnlo - beyond,
        ]
    )
    hi = np.column_stack(
        [
            ymax + ASYMPTOTE_SPANS * scale,
            ymax + ASYMPTOTE_SPANS * scale,
            np.full_like(ymin, HILL_LIMIT),
            lnhi + beyond,
        ]
    )
    # a fixed value may lie outside the data-based box; widen the box to hold it
    fixed = ~stack.free
    lo = np.where(fixed, np.fmin(lo, stack.fixed), lo)
    hi = np.where(fixed, np.fmax(hi, stack.fixed), hi)
    return lo, hi


def at_bound(theta: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Elementwise: whether a parameter of ``theta`` lies on its bound ``lo`` or ``hi``, to 1e-9 relative."""
    tight = 1e-9 * (np.abs(theta) + 1.0)
    return (theta <= lo + tight) | (theta >= hi - tight)


def _starting_asymptotes(stack: PaddedCurves) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Starting top, bottom (n_curves,) and the 5 % padding used to widen the data range.

    Free asymptotes: the data range widened by 5 % (top on the high side). A fixed value is kept and the
    free one goes to the data extreme farther from it.
    """
    ymin, ymax, _, _ = data_range(stack)
    pad = 0.05 * _response_scale(ymin, ymax)
    ft, fb = stack.fixed[:, TOP], stack.fixed[:, BOTTOM]
    top0 = np.where(np.isnan(ft), ymax + pad, ft)
    bottom0 = np.where(np.isnan(fb), ymin - pad, fb)
    with np.errstate(invalid="ignore"):
        far_from_ft = np.where(np.abs(ymin - ft) >= np.abs(ymax - ft), ymin - pad, ymax + pad)
        far_from_fb = np.where(np.abs(ymin - fb) >= np.abs(ymax - fb), ymin - pad, ymax + pad)
    top0 = np.where(np.isnan(ft) & ~np.isnan(fb), far_from_fb, top0)
    bottom0 = np.where(np.isnan(fb) & ~np.isnan(ft), far_from_ft, bottom0)
    return top0, bottom0, pad


def starting_values(stack: PaddedCurves) -> np.ndarray:
    """drc-like self-starting values (n_curves, 4) = (top, bottom, hill, ln ic50) of a stack of wells.

    ``stack`` has one well per column (:func:`~app.doseresponse.stack.pack_curves`): the logit regression
    runs over the wells, as drc's does.

    Asymptotes: the data range widened by 5 % (top on the high side; a fixed value is kept and the free one
    goes to the data extreme farther from it). Slope and midpoint: least-squares line through the logit
    ``ln((top - y) / (y - bottom)) = hill · ln x - hill · ln ic50`` over the positive concentrations.
    """
    top0, bottom0, pad = _starting_asymptotes(stack)
    span = top0 - bottom0
    span = np.where(span == 0, pad, span)  # both fixed and equal is rejected at the boundary

    frac = np.clip((stack.y - bottom0[:, None]) / span[:, None], 0.02, 0.98)
    z = np.log1p(-frac) - np.log(frac)  # ln(1/frac - 1) = hill (ln x - ln ic50)
    pos = stack.mask & ~stack.zero
    n = pos.sum(axis=1)
    nn = np.maximum(n, 1)
    mx = np.where(pos, stack.lnx, 0.0).sum(axis=1) / nn
    mz = np.where(pos, z, 0.0).sum(axis=1) / nn
    dx = np.where(pos, stack.lnx - mx[:, None], 0.0)
    sxx = (dx * dx).sum(axis=1)
    sxz = (dx * np.where(pos, z, 0.0)).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope0 = sxz / sxx
        log_ic50_0 = mx - mz / slope0
    weak = ~np.isfinite(slope0) | (np.abs(slope0) < 1e-3) | ~np.isfinite(log_ic50_0)
    # no usable slope (flat logits, e.g. every treated well on one plateau): hill 1, midpoint from the logits
    slope0 = np.where(weak, 1.0, slope0)
    log_ic50_0 = np.where(weak, mx - mz, log_ic50_0)
    lo, hi = plausibility_box(stack)
    theta = np.column_stack([top0, bottom0, slope0, log_ic50_0])
    theta[:, HILL:] = np.clip(theta[:, HILL:], lo[:, HILL:], hi[:, HILL:])
    return theta


def guess(
    conc_um: ArrayLike, response: ArrayLike, *, fix_top: float | None = None, fix_bottom: float | None = None
) -> dict:
    """Self-starting values for the Hill fit, as R drc computes them: data range plus a logit regression.

    Parameters
    ----------
    conc_um : array_like, shape (n_wells,)
        Concentrations in µM, ≥ 0 (0 = vehicle control).
    response : array_like, shape (n_wells,)
        Responses (e.g. OD450).
    fix_top, fix_bottom : float, optional
        Values held fixed in the fit; returned unchanged.

    Returns
    -------
    dict
        ``{"top", "bottom", "hill", "ic50_um"}`` as floats.
    """
    x, y = as_curve(conc_um, response)
    ft = as_optional_number(fix_top, "fix_top")
    fb = as_optional_number(fix_bottom, "fix_bottom")
    check_fixed_pair(ft, fb)
    if not np.any(x > 0):
        raise ValueError("conc_um must contain at least one positive concentration to guess a midpoint")
    theta = starting_values(pack_curves([(x, y)], [ft], [fb]))[0]
    return {
        "top": float(theta[0]),
        "bottom": float(theta[1]),
        "hill": float(theta[2]),
        "ic50_um": float(np.exp(theta[3])),
    }
