"""The IC50 report as CSV: a header block, one row per curve, then one row per well.

Spreadsheet-safe: any text cell that a spreadsheet would read as a formula (starting with ``= + - @``, a tab
or a carriage return) is prefixed with an apostrophe, so a label such as ``=HYPERLINK(...)`` stays text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["CURVE_COLUMNS", "WELL_COLUMNS", "CurveRow", "WellRow", "render_csv", "safe_cell"]

CURVE_COLUMNS = (
    "label", "cell_line", "drug", "model", "model_version", "model_trained_on", "status", "status_message",
    "ic50_um", "ic50_ci_low_um", "ic50_ci_high_um", "ic50_abs_um", "hill", "top", "bottom", "r2",
    "residual_se", "df", "n_wells", "n_excluded", "n_concentrations", "p_no_effect", "notes",
    "concentration_unit", "response_unit",
)  # fmt: skip
WELL_COLUMNS = ("label", "image", "well", "concentration_um", "predicted_od450", "excluded", "flags")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas in text; numbers, booleans and None pass unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _fmt(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    return safe_cell(value)


@dataclass(frozen=True)
class CurveRow:
    """One curve of the report: what it is, which model, and its fit (the engine's ``to_dict()``)."""

    label: str
    cell_line: str
    drug: str
    model_name: str
    model_version: str
    model_synthetic: bool | None
    fit: dict[str, Any]
    n_excluded: int
    notes: Sequence[str] = ()

    def values(self) -> list[Any]:
        """Cells in :data:`CURVE_COLUMNS` order."""
        f = self.fit
        ci = f.get("ic50_ci_um") or [None, None]
        trained_on = {True: "synthetic images", False: "real images", None: ""}[self.model_synthetic]
        return [
            self.label, self.cell_line, self.drug, self.model_name, self.model_version, trained_on,
            f.get("status"), f.get("message"), f.get("ic50_um"), ci[0], ci[1], f.get("ic50_abs_um"),
            f.get("hill"), f.get("top"), f.get("bottom"), f.get("r2"), f.get("residual_se"), f.get("df"),
            f.get("n_wells"), self.n_excluded, f.get("n_concentrations"), f.get("p_no_effect"),
            " | ".join(self.notes), "µM", "OD450",
        ]  # fmt: skip


@dataclass(frozen=True)
class WellRow:
    """One well: the image it came from, its concentration (µM) and predicted OD450."""

    label: str
    image: str
    well: str
    concentration_um: float
    od450: float
    excluded: bool
    flags: Sequence[str] = ()

    def values(self) -> list[Any]:
        """Cells in :data:`WELL_COLUMNS` order."""
        return [
            self.label, self.image, self.well, self.concentration_um, self.od450, self.excluded,
            " | ".join(self.flags),
        ]  # fmt: skip


def render_csv(
    curves: Sequence[CurveRow],
    wells: Iterable[WellRow],
    *,
    title: str,
    app_version: str,
    generated: datetime | None = None,
) -> str:
    """Render the report. ``generated`` defaults to now (UTC)."""
    when = (generated or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    models = sorted({f"{c.model_name} {c.model_version}".strip() for c in curves if c.model_name})
    synthetic = any(c.model_synthetic for c in curves)
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow([_fmt(title)])
    out.writerow(["app", f"nostain {app_version}"])
    out.writerow(["generated_utc", when])
    out.writerow(["models", "; ".join(models) or "none named"])
    out.writerow(["method", "OD450 predicted from bright-field images in the browser; 4-parameter Hill fit "
                  "(least squares, IC50 on log scale; 95 % CI log-scale Wald)"])  # fmt: skip
    if synthetic:
        out.writerow(["warning", "At least one model was trained on synthetic (simulated) images only: "
                      "treat its IC50s as a demonstration, not a measurement."])  # fmt: skip
    out.writerow([])
    out.writerow(["[curves]"])
    out.writerow(CURVE_COLUMNS)
    for c in curves:
        out.writerow([_fmt(v) for v in c.values()])
    out.writerow([])
    out.writerow(["[wells]"])
    out.writerow(WELL_COLUMNS)
    for w in wells:
        out.writerow([_fmt(v) for v in w.values()])
    return buf.getvalue()
