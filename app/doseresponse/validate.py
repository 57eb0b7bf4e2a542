"""Input checks at the engine's boundary: each names the argument and the offending value.

Everything inside the engine trusts what these functions return. :func:`as_vector` is the general check
for a 1-D numeric vector; other code that takes vectors from users reuses it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike

from app.doseresponse.result import CI_METHODS, CiMethod
from app.text import quote

__all__ = [
    "as_ci_level",
    "as_ci_method",
    "as_curve",
    "as_optional_number",
    "as_vector",
    "check_fixed_pair",
    "per_curve",
]


def as_vector(values: ArrayLike, name: str) -> np.ndarray:
    """A non-empty, finite, 1-D float vector, or a ValueError naming ``name`` and the bad value.

    Parameters
    ----------
    values : array_like, shape (n,) or scalar
        A scalar becomes a vector of one.
    name : str
        The argument's name, as the caller knows it (e.g. ``"conc_um"``, ``"curves[3].response"``).

    Returns
    -------
    numpy.ndarray of float, shape (n,)
    """
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric; got {quote(values)}") from exc
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"{name} must be finite; got {float(arr[bad[0]])!r} at index {int(bad[0])}")
    return arr


def as_curve(conc_um: ArrayLike, response: ArrayLike, prefix: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Concentrations (µM, ≥ 0) and responses of one curve, shape (n_wells,) each, of equal length.

    ``prefix`` goes before the argument names in messages (``"curves[3]."``).
    """
    x = as_vector(conc_um, f"{prefix}conc_um")
    y = as_vector(response, f"{prefix}response")
    neg = np.flatnonzero(x < 0)
    if neg.size:
        raise ValueError(f"{prefix}conc_um must be >= 0; got {float(x[neg[0]])!r} at index {int(neg[0])}")
    if x.size != y.size:
        raise ValueError(
            f"{prefix}conc_um and {prefix}response must have the same length; got {x.size} and {y.size}"
        )
    return x, y


def as_optional_number(value: Any, name: str) -> float | None:
    """A finite float, or None for None (a fixed top or bottom, in response units)."""
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number or None; got {quote(value)}") from exc
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite; got {quote(value)}")
    return v


def as_ci_level(ci_level: Any) -> float:
    """The confidence level of the IC50 interval, in (0, 1)."""
    try:
        level = float(ci_level)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"ci_level must be a number in (0, 1); got {quote(ci_level)}") from exc
    if not 0.0 < level < 1.0:
        raise ValueError(f"ci_level must be in (0, 1); got {quote(ci_level)}")
    return level


def as_ci_method(ci_method: Any) -> CiMethod:
    """One of :data:`~app.doseresponse.result.CI_METHODS`."""
    if ci_method not in CI_METHODS:
        raise ValueError(f"ci_method must be one of {CI_METHODS}; got {quote(ci_method)}")
    return cast(CiMethod, ci_method)


def check_fixed_pair(fixed_top: float | None, fixed_bottom: float | None, prefix: str = "") -> None:
    """Refuse a fixed top equal to a fixed bottom (the curve would be a flat line with no midpoint)."""
    if fixed_top is not None and fixed_bottom is not None and fixed_top == fixed_bottom:
        raise ValueError(f"{prefix}fix_top and {prefix}fix_bottom must differ; both are {fixed_top!r}")


def per_curve(value: Any, n: int, name: str) -> list[float | None]:
    """One fixed value per curve from a scalar (or None) for all, or a sequence of ``n`` values."""
    if value is None or np.isscalar(value):
        return [as_optional_number(value, name)] * n
    values = list(cast(Sequence[Any], value))
    if len(values) != n:
        raise ValueError(f"{name} must be a scalar or have one entry per curve ({n}); got {len(values)}")
    return [as_optional_number(v, f"{name}[{i}]") for i, v in enumerate(values)]
