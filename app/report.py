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

from app.doseresponse import HillFit
from app.schemas import ReportRequest

__all__ = [
    "CURVE_COLUMNS",
    "WELL_COLUMNS",
    "CurveRow",
    "WellRow",
    "render_csv",
    "render_report",
    "report_rows",
    "safe_cell",
]

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
    """One curve of the report: what it is, which model, and its fit."""

    label: str
    cell_line: str
    drug: str
    model_name: str
    model_version: str
    model_synthetic: bool | None
    fit: HillFit
    n_excluded: int
    notes: Sequence[str] = ()

    def values(self) -> list[Any]:
        """Cells in :data:`CURVE_COLUMNS` order."""
        f = self.fit
        ci = f.ic50_ci_um or (None, None)
        trained_on = {True: "synthetic images", False: "real images", None: ""}[self.model_synthetic]
        return [
            self.label, self.cell_line, self.drug, self.model_name, self.model_version, trained_on,
            f.status, f.message, f.ic50_um, ci[0], ci[1], f.ic50_abs_um,
            f.hill, f.top, f.bottom, f.r2, f.residual_se, f.df,
            f.n_wells, self.n_excluded, f.n_concentrations, f.p_no_effect,
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


def report_rows(request: ReportRequest, fits: Sequence[HillFit]) -> tuple[list[CurveRow], list[WellRow]]:
    """The curve rows (with ``fits``, in request order) and the well rows of a report request."""
    curve_rows: list[CurveRow] = []
    well_rows: list[WellRow] = []
    for c, fit in zip(request.curves, fits, strict=True):
        m = c.model
        curve_rows.append(
            CurveRow(
                label=c.label, cell_line=c.cell_line, drug=c.drug,
                model_name=(m.name or m.id or "") if m else "", model_version=(m.version or "") if m else "",
                model_synthetic=m.synthetic if m else None, fit=fit,
                n_excluded=sum(w.excluded for w in c.wells or []), notes=c.notes,
            )
        )  # fmt: skip
        well_rows.extend(
            WellRow(label=c.label, image=w.image, well=w.well, concentration_um=w.concentration_um,
                    od450=w.od450, excluded=w.excluded, flags=w.flags)
            for w in c.wells or []
        )  # fmt: skip
    return curve_rows, well_rows


def render_report(
    request: ReportRequest, fits: Sequence[HillFit], *, app_version: str, generated: datetime | None = None
) -> str:
    """The CSV report of a request whose curves were fitted to ``fits`` (see :func:`render_csv`)."""
    curve_rows, well_rows = report_rows(request, fits)
    return render_csv(
        curve_rows, well_rows, title=request.title, app_version=app_version, generated=generated
    )
