"""Numbers into JSON and into text, the same way in every file the training package writes.

Evaluation, cross-validation and the paper comparison all print figures into Markdown and JSON; these
helpers give one rule for both (a missing or non-finite number is ``None`` in JSON and ``—`` in text).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

__all__ = ["MISSING", "format_value", "json_float", "write_json"]

#: How a missing value is printed in the Markdown reports.
MISSING = "—"


def json_float(value: Any) -> float | None:
    """``value`` as a JSON-safe float: None for a missing (None) or non-finite value.

    Parameters
    ----------
    value : float-like or None
        E.g. a numpy scalar, an r², an IC50 in µM.
    """
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def format_value(value: Any, digits: int = 4) -> str:
    """A table cell: ``—`` for None, a float to ``digits`` significant digits, anything else as ``str``."""
    if value is None:
        return MISSING
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented JSON (2 spaces) with a final newline; returns the path."""
    path = Path(path)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path
