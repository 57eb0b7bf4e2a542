"""The report as one CSV with sections (``/api/report.csv``) or as tidy tables in a zip (``/api/report.zip``).

The CSV: a header block (title, app version, models, method, unit of the fit, analysis, censoring rule,
synthetic warning), then ``[curves]``, ``[wells]`` and, when plate QC was asked for, ``[plates]``. The zip
holds the same tables as plain CSVs that pandas and R read whole (``curves.csv``, ``wells.csv``,
``plates.csv``), the header facts as ``metadata.csv`` and every column's unit and meaning as
``columns.csv``.

Spreadsheet-safe: any text cell that a spreadsheet would read as a formula (starting with ``= + - @``, a tab
or a carriage return) is prefixed with an apostrophe, so a label such as ``=HYPERLINK(...)`` stays text.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from app.analysis.reports import ReportedCurve
from app.report.columns import CURVE_COLUMNS, PLATE_COLUMNS, WELL_COLUMNS, Column, ic_x_columns
from app.report.tables import curve_rows, metadata, plate_rows, well_rows
from app.schemas import ReportRequest

__all__ = ["csv_cell", "render_report", "render_zip", "safe_cell"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas in text; numbers, booleans and None pass unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_cell(value: Any, *, full_precision: bool = False) -> Any:
    """A CSV cell: empty for None and non-finite floats, yes/no for booleans, text safe from spreadsheet
    formulas; floats with 6 significant digits (the report) or every digit (``full_precision``: the batch
    command's tables, which other programs read back)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value or abs(value) == float("inf"):
            return ""
        return repr(value) if full_precision else f"{value:.6g}"
    return safe_cell(value)


def _write_table(out: Any, columns: Sequence[Column], rows: Iterable[dict[str, Any]]) -> None:
    out.writerow([c.name for c in columns])
    for row in rows:
        out.writerow([csv_cell(row.get(c.name)) for c in columns])


def _tables(request: ReportRequest, reported: Sequence[ReportedCurve]) -> dict[str, tuple[Any, list]]:
    """name → (columns, rows) of the report's tables; ``plates`` only when QC was asked for."""
    tables = {
        "curves": ((*CURVE_COLUMNS, *ic_x_columns(request.ic_percents)), curve_rows(reported, request)),
        "wells": (WELL_COLUMNS, well_rows(reported)),
    }
    if request.qc:
        tables["plates"] = (PLATE_COLUMNS, plate_rows(reported))
    return tables


def render_report(
    request: ReportRequest,
    reported: Sequence[ReportedCurve],
    *,
    app_version: str,
    generated: datetime | None = None,
) -> str:
    """The CSV report of analysed curves. ``generated`` defaults to now (UTC)."""
    facts = metadata(request, reported, app_version=app_version, generated=generated or datetime.now(UTC))
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow([csv_cell(request.title)])
    for key, value in facts:
        out.writerow([key, csv_cell(value)])
    for name, (columns, rows) in _tables(request, reported).items():
        out.writerow([])
        out.writerow([f"[{name}]"])
        _write_table(out, columns, rows)
    return buf.getvalue()


def _csv_text(columns: Sequence[Column], rows: Iterable[dict[str, Any]]) -> str:
    buf = io.StringIO()
    _write_table(csv.writer(buf, lineterminator="\n"), columns, rows)
    return buf.getvalue()


def render_zip(
    request: ReportRequest,
    reported: Sequence[ReportedCurve],
    *,
    app_version: str,
    generated: datetime | None = None,
) -> bytes:
    """The report as a zip of tidy CSVs (UTF-8): metadata, curves, wells, plates (with QC), columns."""
    when = generated or datetime.now(UTC)
    facts = [("title", request.title), *metadata(request, reported, app_version=app_version, generated=when)]
    tables = _tables(request, reported)
    key_value = (Column("key", "", "What the value is"), Column("value", "", "The fact"))
    dictionary = (
        Column("table", "", "Table of the zip"),
        Column("column", "", "Column name"),
        Column("unit", "", "Unit ('' for text)"),
        Column("description", "", "What the column holds"),
    )
    described = [
        {"table": f"{name}.csv", "column": c.name, "unit": c.unit, "description": c.description}
        for name, (columns, _) in tables.items()
        for c in columns
    ]
    buf = io.BytesIO()
    stamp = when.timetuple()[:6]
    with zipfile.ZipFile(buf, "w") as archive:
        files = {"metadata": _csv_text(key_value, [{"key": k, "value": v} for k, v in facts])}
        files |= {name: _csv_text(columns, rows) for name, (columns, rows) in tables.items()}
        files["columns"] = _csv_text(dictionary, described)
        for name, text in files.items():
            entry = zipfile.ZipInfo(f"{name}.csv", date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, text.encode("utf-8"))
    return buf.getvalue()
