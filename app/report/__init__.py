"""The session's report: one CSV with sections, or tidy CSV tables in a zip (``columns`` says each column's
unit and meaning, ``tables`` builds the rows, ``render`` writes them)."""

from app.report.columns import CURVE_COLUMNS, PLATE_COLUMNS, WELL_COLUMNS, Column
from app.report.render import csv_cell, render_report, render_zip, safe_cell

__all__ = [
    "CURVE_COLUMNS",
    "PLATE_COLUMNS",
    "WELL_COLUMNS",
    "Column",
    "csv_cell",
    "render_report",
    "render_zip",
    "safe_cell",
]
