"""Curves stacked for vectorised fitting: one row per curve, wells or concentrations in columns.

The least-squares optimum of a curve depends on its wells only through the mean response and the number of
wells at each concentration::

    RSS = Σ_wells (y − f(x))² = Σ_conc n_j (ȳ_j − f(x_j))² + Σ_wells (y − ȳ_j)²

The last sum (the spread of the replicates about their means) does not depend on the curve. So the fit
runs on :func:`collapse_replicates`' stack, one column per concentration weighted by its wells (11 columns
instead of 88 for 11 concentrations × 8 replicates), and adds the replicates' spread back wherever an RSS
is reported, so that every statistic is the one of the wells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np

from app.doseresponse.model import BOTTOM, TOP

__all__ = [
    "PAD_COLUMNS",
    "DataRange",
    "Designs",
    "PaddedCurves",
    "collapse_replicates",
    "data_range",
    "designs",
    "pack_curves",
    "padded_width",
]

PAD_COLUMNS = 8  # stacks are padded to a multiple of this many columns (see padded_width)


@dataclass(frozen=True)
class PaddedCurves:
    """Curves stacked and padded to one width (n_curves, n_columns); padding has weight 0.

    A column is one well (weight 1, as :func:`pack_curves` stacks them) or, after
    :func:`collapse_replicates`, the mean response of the wells at one concentration, weighted by their
    number. ``within`` holds what the columns leave out of the RSS: the sum of squares of the wells about
    their column's mean (0 when every column is one well).
    """

    x: np.ndarray  # (N, m) concentrations, µM
    y: np.ndarray  # (N, m) responses (the mean of the column's wells)
    weight: np.ndarray  # (N, m) wells per column; 0 on padding
    mask: np.ndarray  # (N, m) bool, weight > 0
    root_weight: np.ndarray  # (N, m) √weight: residuals times this give the weighted least-squares problem
    lnx: np.ndarray  # (N, m) ln concentration; 0 at zero concentrations and padding
    zero: np.ndarray  # (N, m) bool, vehicle controls
    fixed: np.ndarray  # (N, 4) fixed parameter values, NaN where the parameter is free
    free: np.ndarray  # (N, 4) bool
    within: np.ndarray  # (N,) sum of squares of the wells about their column means (response units²)
    y_low: np.ndarray  # (N,) lowest response of any well
    y_high: np.ndarray  # (N,) highest response of any well

    def take(self, rows: np.ndarray) -> PaddedCurves:
        """The curves at ``rows`` (integer indices or a boolean mask), as a new stack."""
        return PaddedCurves(*(getattr(self, f.name)[rows] for f in fields(PaddedCurves)))


def padded_width(n_columns: int) -> int:
    """Columns a stack of up to ``n_columns`` is padded to: the next multiple of ``PAD_COLUMNS``.

    Every stack, single or batched, pads this way, so a curve meets the same arithmetic (the same summation
    order) whichever way it is fitted, and curves of similar length can share a batch.
    """
    return -(-n_columns // PAD_COLUMNS) * PAD_COLUMNS


def _stack(
    x: np.ndarray, y: np.ndarray, weight: np.ndarray, fixed: np.ndarray, within: np.ndarray,
    y_low: np.ndarray, y_high: np.ndarray,
) -> PaddedCurves:  # fmt: skip
    """A stack from its columns; ln x and the controls are derived here."""
    mask = weight > 0
    zero = mask & (x == 0)
    lnx = np.log(np.where(zero | ~mask, 1.0, x))
    return PaddedCurves(
        x, y, weight, mask, np.sqrt(weight), lnx, zero, fixed, np.isnan(fixed), within, y_low, y_high
    )


def _padded(values: Sequence[np.ndarray], width: int, fill: float) -> tuple[np.ndarray, np.ndarray]:
    """1-D arrays as the rows of an (n, width) array padded with ``fill``, and the mask of real entries."""
    lengths = np.array([v.size for v in values])
    real = np.arange(width) < lengths[:, None]
    out = np.full((len(values), width), fill)
    out[real] = np.concatenate(values)
    return out, real


def pack_curves(
    curves: Sequence[tuple[np.ndarray, np.ndarray]],
    fix_top: Sequence[float | None],
    fix_bottom: Sequence[float | None],
) -> PaddedCurves:
    """Stack validated (conc_um, response) pairs, one well per column, and their fixed top and bottom."""
    n = len(curves)
    m = padded_width(max(len(c[0]) for c in curves))
    x, real = _padded([c[0] for c in curves], m, 1.0)
    y, _ = _padded([c[1] for c in curves], m, 0.0)
    fixed = np.full((n, 4), np.nan)
    fixed[:, TOP] = [np.nan if v is None else v for v in fix_top]
    fixed[:, BOTTOM] = [np.nan if v is None else v for v in fix_bottom]
    y_low = np.where(real, y, np.inf).min(axis=1)
    y_high = np.where(real, y, -np.inf).max(axis=1)
    return _stack(x, y, real.astype(float), fixed, np.zeros(n), y_low, y_high)


def collapse_replicates(wells: PaddedCurves, width: int | None = None) -> PaddedCurves:
    """One column per distinct concentration: the mean response of its wells, weighted by their number.

    Parameters
    ----------
    wells : PaddedCurves
        One well per column (:func:`pack_curves`).
    width : int, optional
        Columns of the result; default ``padded_width`` of the most concentrations of any curve.

    Returns
    -------
    PaddedCurves
        Columns in ascending concentration; ``within`` = Σ (well − its concentration's mean)² per curve.
        Every sum runs over the wells in their given order, so a curve gets the same numbers alone or in
        a batch.
    """
    n, m = wells.x.shape
    order = np.argsort(np.where(wells.mask, wells.x, np.inf), axis=1, kind="stable")
    order += np.arange(0, n * m, m)[:, None]  # into the flattened arrays
    xs, ys, real = (a.ravel()[order] for a in (wells.x, wells.y, wells.mask))
    first = real.copy()
    first[:, 1:] &= xs[:, 1:] != xs[:, :-1]
    column = first.cumsum(axis=1, dtype=np.int32) - 1  # (int32: several times faster than the default)
    width = padded_width(int(first.sum(axis=1).max())) if width is None else width
    flat = np.flatnonzero(real)  # the wells, row by row in sorted order
    row = flat // m
    cell = row * width + column.ravel()[flat]
    y_real = ys.ravel()[flat]
    count = np.bincount(cell, minlength=n * width).astype(float)
    total = np.bincount(cell, y_real, minlength=n * width)
    x = np.ones(n * width)
    x[cell] = xs.ravel()[flat]
    mean = np.divide(total, count, out=np.zeros(n * width), where=count > 0)
    spread = y_real - mean[cell]
    within = np.bincount(row, spread * spread, minlength=n)
    shape = (n, width)
    return _stack(
        x.reshape(shape), mean.reshape(shape), count.reshape(shape), wells.fixed, within, wells.y_low,
        wells.y_high,
    )  # fmt: skip


class DataRange(NamedTuple):
    """Per curve (n_curves,): response extremes and the ln of the lowest and highest positive µM."""

    y_min: np.ndarray
    y_max: np.ndarray
    lnx_low: np.ndarray
    lnx_high: np.ndarray


def data_range(stack: PaddedCurves) -> DataRange:
    """Range of the responses (of the wells) and of the positive concentrations of each curve."""
    pos = stack.mask & ~stack.zero
    lnlo = np.where(pos, stack.lnx, np.inf).min(axis=1)
    lnhi = np.where(pos, stack.lnx, -np.inf).max(axis=1)
    return DataRange(stack.y_low, stack.y_high, lnlo, lnhi)


class Designs(NamedTuple):
    """What was tested, per curve (n_curves,): distinct concentrations (0 counts as one), and the lowest
    positive and the highest concentration (µM; NaN, NaN without a positive one)."""

    n_concentrations: np.ndarray
    tested_low: np.ndarray
    tested_high: np.ndarray


def designs(curves: Sequence[tuple[np.ndarray, np.ndarray]]) -> Designs:
    """The :class:`Designs` of one or more validated (conc_um, response) pairs, vectorised."""
    x, real = _padded([c[0] for c in curves], max(c[0].size for c in curves), np.inf)
    x.sort(axis=1)
    lengths = real.sum(axis=1)
    distinct = real.copy()
    distinct[:, 1:] &= x[:, 1:] != x[:, :-1]
    n_zero = (x == 0).sum(axis=1)
    rows = np.arange(x.shape[0])
    has_positive = n_zero < lengths
    low = np.where(has_positive, x[rows, np.minimum(n_zero, x.shape[1] - 1)], np.nan)
    high = np.where(has_positive, x[rows, lengths - 1], np.nan)
    return Designs(distinct.sum(axis=1), low, high)
