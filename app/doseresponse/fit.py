"""The public entry points: :func:`fit_hill` for one curve, :func:`fit_hill_many` for many at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from app.doseresponse.inference import insufficient_data, not_converged
from app.doseresponse.optimize import fit_batch, fit_one
from app.doseresponse.result import CiMethod, HillFit
from app.doseresponse.start import pack_curves, padded_width
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
    short = insufficient_data(x, ft, fb, level, method)
    if short is not None:
        return short
    stack = pack_curves([(x, y)], [ft], [fb])
    theta, settled = fit_one(stack)
    if theta is None:
        return not_converged(x, ft, fb, level, method)
    return summarize(stack, theta[None, :], np.array([settled]), [x], [(ft, fb)], level, method)[0]


def _as_pair(item: Any, i: int) -> tuple[np.ndarray, np.ndarray]:
    """Curve ``i`` of ``fit_hill_many`` validated, errors naming it (``curves[3].conc_um ...``)."""
    try:
        conc, resp = item
    except (TypeError, ValueError) as exc:
        raise ValueError(f"curves[{i}] must be a (conc_um, response) pair; got {quote(item)}") from exc
    return as_curve(conc, resp, prefix=f"curves[{i}].")


def _batches(widths: Sequence[int], todo: Sequence[int]) -> list[list[int]]:
    """Curves ``todo`` grouped by padded width (``widths``: wells per curve), in chunks of BATCH_CHUNK.

    Curves of one padded width are fitted together: other padding would change the rounding, and on flat,
    ill-conditioned curves that can change the end point; this way the arithmetic per curve is the same as
    in fit_hill.
    """
    by_width: dict[int, list[int]] = {}
    for i in todo:
        by_width.setdefault(padded_width(widths[i]), []).append(i)
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
    data = []
    for i, item in enumerate(curves):
        data.append(_as_pair(item, i))
        check_fixed_pair(tops[i], bottoms[i], f"curves[{i}].")

    results: dict[int, HillFit] = {}
    for i, (x, _) in enumerate(data):
        short = insufficient_data(x, tops[i], bottoms[i], level, method)
        if short is not None:
            results[i] = short
    todo = [i for i in range(n) if i not in results]
    for batch in _batches([x.size for x, _ in data], todo):
        chunk = np.array(batch)
        stack = pack_curves([data[i] for i in chunk], [tops[i] for i in chunk], [bottoms[i] for i in chunk])
        theta, found, converged = fit_batch(stack)
        for j in np.flatnonzero(~found):
            i = int(chunk[j])
            results[i] = not_converged(data[i][0], tops[i], bottoms[i], level, method)
        idx = np.flatnonzero(found)
        if idx.size:
            fits = summarize(
                stack.take(idx), theta[idx], converged[idx], [data[i][0] for i in chunk[idx]],
                [(tops[i], bottoms[i]) for i in chunk[idx]], level, method,
            )  # fmt: skip
            results.update(zip(chunk[idx].tolist(), fits, strict=True))
    return [results[i] for i in range(n)]
