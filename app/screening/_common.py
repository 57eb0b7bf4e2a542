"""Shared helpers of the screening package: input validation, JSON-safe output, number formatting.

Private to :mod:`app.screening`; every public function validates its own inputs with these, so each error
names the argument and shows the offending value (shortened to 40 characters).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

MAX_SHOWN = 40  # characters of an offending value shown in an error message


def shorten(value: Any) -> str:
    """``repr`` of ``value`` cut to :data:`MAX_SHOWN` characters (with "…" when cut)."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def as_vector(values: ArrayLike, name: str, *, allow_nan: bool = False, min_size: int = 1) -> np.ndarray:
    """``values`` as a 1-D float array; ValueError naming ``name`` for anything else.

    Parameters
    ----------
    values : array_like
        Numbers; a scalar becomes a length-1 array.
    name : str
        Argument name used in error messages.
    allow_nan : bool
        Accept NaN (missing) entries; infinities are always refused.
    min_size : int
        Fewest entries accepted.
    """
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric; got {shorten(values)}") from exc
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got shape {arr.shape}")
    if arr.size < min_size:
        raise ValueError(f"{name} must have at least {min_size} value(s); got {arr.size}")
    bad = np.isinf(arr) if allow_nan else ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be finite; got {shorten(float(arr[i]))} at index {i}")
    return arr


def as_number(value: Any, name: str, *, low: float = -math.inf, high: float = math.inf) -> float:
    """``value`` as a finite float in the open interval (``low``, ``high``); ValueError otherwise."""
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number; got {shorten(value)}") from exc
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite; got {shorten(value)}")
    if not low < number < high:
        raise ValueError(f"{name} must be in ({low:g}, {high:g}); got {shorten(value)}")
    return number


def as_optional_number(value: Any, name: str, **bounds: float) -> float | None:
    """None stays None; anything else as :func:`as_number`."""
    return None if value is None else as_number(value, name, **bounds)


def as_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``; ValueError listing them otherwise."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}; got {shorten(value)}")
    return str(value)


def same_length(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray) -> None:
    """ValueError unless the two vectors have the same length."""
    if a.size != b.size:
        raise ValueError(f"{name_a} and {name_b} must have the same length; got {a.size} and {b.size}")


def json_safe(value: Any) -> Any:
    """Recursively convert to JSON-safe Python: NaN/inf → None, tuples/arrays → lists, numpy → builtins."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value


class JsonResult:
    """Mixin for frozen result dataclasses: ``to_dict()`` of every field, JSON-safe."""

    def to_dict(self) -> dict:
        """Every field as JSON-safe Python (NaN and inf → None, tuples → lists, nested results → dicts)."""
        return {f.name: json_safe(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


def optional_float(value: float) -> float | None:
    """A finite float, or None for NaN/inf."""
    number = float(value)
    return number if math.isfinite(number) else None


def format_number(value: float | None, digits: int = 4) -> str:
    """``value`` with ``digits`` significant digits (``"—"`` for None or non-finite)."""
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.{digits}g}"
