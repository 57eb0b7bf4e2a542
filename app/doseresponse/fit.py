"""The public entry points: :func:`fit_hill` for one curve, :func:`fit_hill_many` for many at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from app.doseresponse.inference import insufficient_data, not_converged
from app.doseresponse.optimize import fit_batch
from app.doseresponse.result import CiMethod, HillFit
from app.doseresponse.stack import (
    Designs,
    PaddedCurves,
    collapse_replicates,
    designs,
    pack_curves,
    padded_width,
)
from app.doseresponse.start import starting_values
from app.doseresponse.summarize import summarize
from app.doseresponse.validate import (
    as_ci_level,
    as_ci_method,
    as_curve,
    as_optional_number,
    check_fixed_pair,
    per_curve,
)
from app.text import quote

__all__ = ["fit_hill", "fit_hill_many"]

BATCH_CHUNK = 2048  # curves per batch


def fit_hill(
    conc_um: ArrayLike,
    response: ArrayLike,
    *,
    fix_top: float | None = None,
    fix_bottom: float | None = None,
    ci_level: float = 0.95,
    ci_method: CiMethod = "wald",
) -> HillFit:
    """Fit the four-parameter Hill curve to one dose-response series.

    Parameters
    ----------
    conc_um : array_like, shape (n_wells,)
        Concentration of each well in µM, ≥ 0; 0 marks a vehicle control. Replicates repeat a value.
    response : array_like, shape (n_wells,)
        Response of each well (e.g. OD450).
    fix_top, fix_bottom : float, optional
        Hold top and/or bottom at this value (e.g. ``fix_bottom=0``, ``fix_top=`` the mean of the controls);
        each fixed parameter leaves one more residual degree of freedom.
    ci_level : float
        Confidence level of the IC50 interval, in (0, 1).
    ci_method : {"wald", "profile"}
        Log-scale Wald interval (default, fast) or profile likelihood (slower).

    Returns
    -------
    HillFit

    Raises
    ------
    ValueError
        Non-numeric, NaN or infinite values, negative concentrations, mismatched lengths, empty input, a bad
        ``ci_level`` or ``ci_method``, or equal fixed top and bottom. Too few data is not an error: the
        result has status ``insufficient_data``.
    """
    x, y = as_curve(conc_um, response)
    ft = as_optional_number(fix_top, "fix_top")
    fb = as_optional_number(fix_bottom, "fix_bottom")
    check_fixed_pair(ft, fb)
    level = as_ci_level(ci_level)
    method = as_ci_method(ci_method)
    return _fit_validated([(x, y)], [ft], [fb], level, method)[0]


def _as_pair(item: Any, i: int) -> tuple[np.ndarray, np.ndarray]:
    """Curve ``i`` of ``fit_hill_many`` validated, errors naming it (``curves[3].conc_um ...``)."""
    try:
        conc, resp = item
    except (TypeError, ValueError) as exc:
        raise ValueError(f"curves[{i}] must be a (conc_um, response) pair; got {quote(item)}") from exc
    return as_curve(conc, resp, prefix=f"curves[{i}].")


def _as_pairs(curves: Sequence[Any]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every curve of ``fit_hill_many`` validated as :func:`_as_pair` does, the value checks run at once.

    Any problem sends the curves through :func:`_as_pair` one by one, which names the first bad curve.
    """
    pairs = []
    try:
        for item in curves:
            conc, resp = item
            x, y = np.asarray(conc, dtype=float), np.asarray(resp, dtype=float)
            if x.ndim != 1 or x.shape != y.shape or x.size == 0:
                raise ValueError("a curve that is not two vectors of one length")
            pairs.append((x, y))
        if pairs:
            x, y = np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])
            if not (np.all(x >= 0) and np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
                raise ValueError("a value that is not finite, or a negative concentration")
    except (TypeError, ValueError):
        return [_as_pair(item, i) for i, item in enumerate(curves)]
    return pairs


def _prepare(
    curves: Sequence[tuple[np.ndarray, np.ndarray]],
    tops: Sequence[float | None],
    bottoms: Sequence[float | None],
) -> tuple[PaddedCurves, np.ndarray]:
    """Validated curves stacked by concentration (replicates collapsed), and their self-starting values."""
    wells = pack_curves(curves, tops, bottoms)
    return collapse_replicates(wells), starting_values(wells)


def _batches(sizes: Sequence[tuple[int, int]], todo: Sequence[int]) -> list[list[int]]:
    """Curves ``todo`` grouped by padded widths, in chunks of BATCH_CHUNK.

    ``sizes``: (wells, distinct concentrations) per curve. Curves whose wells and whose concentrations pad
    to the same widths are fitted together: other padding would change the rounding, and on flat,
    ill-conditioned curves that can change the end point; this way the arithmetic per curve is the same as
    in fit_hill.
    """
    by_width: dict[tuple[int, int], list[int]] = {}
    for i in todo:
        n_wells, n_conc = sizes[i]
        by_width.setdefault((padded_width(n_wells), padded_width(n_conc)), []).append(i)
    return [
        group[start : start + BATCH_CHUNK]
        for group in by_width.values()
        for start in range(0, len(group), BATCH_CHUNK)
    ]


def fit_hill_many(
    curves: Sequence[tuple[ArrayLike, ArrayLike]],
    *,
    fix_top: Any = None,
    fix_bottom: Any = None,
    ci_level: float = 0.95,
    ci_method: CiMethod = "wald",
) -> list[HillFit]:
    """Fit many dose-response series at once (vectorised); the same estimates as :func:`fit_hill` on each.

    Parameters
    ----------
    curves : sequence of (conc_um, response) pairs
        Each pair as for :func:`fit_hill`: two 1-D arrays of equal length (µM, response units).
    fix_top, fix_bottom : float or sequence of (float or None), optional
        One value for all curves, or one per curve (None: free).
    ci_level, ci_method
        As for :func:`fit_hill`.

    Returns
    -------
    list of HillFit
        In the order of ``curves``.

    Raises
    ------
    ValueError
        As :func:`fit_hill`, naming the curve (``curves[3].conc_um ...``).
    """
    curves = list(curves)
    n = len(curves)
    tops = per_curve(fix_top, n, "fix_top")
    bottoms = per_curve(fix_bottom, n, "fix_bottom")
    level = as_ci_level(ci_level)
    method = as_ci_method(ci_method)
    data = _as_pairs(curves)
    for i in range(n):
        check_fixed_pair(tops[i], bottoms[i], f"curves[{i}].")
    return _fit_validated(data, tops, bottoms, level, method)


def _fit_validated(
    data: Sequence[tuple[np.ndarray, np.ndarray]],
    tops: Sequence[float | None],
    bottoms: Sequence[float | None],
    level: float,
    method: CiMethod,
) -> list[HillFit]:
    """Fit validated curves (µM, response) with their fixed tops and bottoms, in batches of equal padding."""
    n = len(data)
    if not n:
        return []
    design = designs(data)
    n_conc = design.n_concentrations.tolist()
    results: dict[int, HillFit] = {}
    for i, (x, _) in enumerate(data):
        short = insufficient_data(x, tops[i], bottoms[i], level, method, n_conc[i])
        if short is not None:
            results[i] = short
    todo = [i for i in range(n) if i not in results]
    sizes = [(x.size, k) for (x, _), k in zip(data, n_conc, strict=True)]
    for batch in _batches(sizes, todo):
        chunk = np.array(batch)
        stack, theta0 = _prepare(
            [data[i] for i in chunk], [tops[i] for i in chunk], [bottoms[i] for i in chunk]
        )
        theta, found, converged = fit_batch(stack, theta0)
        for j in np.flatnonzero(~found):
            i = int(chunk[j])
            results[i] = not_converged(data[i][0], tops[i], bottoms[i], level, method)
        idx = np.flatnonzero(found)
        if idx.size:
            rows = chunk[idx]
            fits = summarize(
                stack.take(idx), theta[idx], converged[idx], [data[i][0] for i in rows],
                Designs(*(column[rows] for column in design)), [(tops[i], bottoms[i]) for i in rows],
                level, method,
            )  # fmt: skip
            results.update(zip(rows.tolist(), fits, strict=True))
    return [results[i] for i in range(n)]
