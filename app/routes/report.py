"""``POST /api/report.csv`` and ``/api/report.zip``: the session's report, analysed exactly as ``/api/fit``
does with the same options."""

from __future__ import annotations

import re

from fastapi import APIRouter
from fastapi.responses import Response

from app import __version__
from app.analysis.reports import analyse_report
from app.deps import SettingsDep
from app.errors import error_responses
from app.report import render_report, render_zip
from app.schemas import ReportRequest

__all__ = ["router"]

router = APIRouter(tags=["report"])


def _attachment(title: str, suffix: str) -> dict[str, str]:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", title).strip("_") or "report"
    return {"Content-Disposition": f'attachment; filename="{stem}.{suffix}"'}


@router.post(
    "/api/report.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, **error_responses(400, 422)},
)
def report_csv(request: ReportRequest, settings: SettingsDep) -> Response:
    """The CSV report: a header block (app version, models, method, unit of the fit, time), then
    ``[curves]`` (one row per curve), ``[wells]`` (one row per well) and, with ``qc``, ``[plates]``.

    Excluded wells are listed but not fitted. A concentration outside the tested range is never written as
    a number in a ``_um`` column: its ``_censored`` column says ``>30`` or ``<0.01``. Cells that a
    spreadsheet would run as formulas are neutralised.
    """
    reported = analyse_report(request, settings)
    return Response(
        content=render_report(request, reported, app_version=__version__),
        media_type="text/csv; charset=utf-8",
        headers=_attachment(request.title, "csv"),
    )


@router.post(
    "/api/report.zip",
    response_class=Response,
    responses={
        200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}},
        **error_responses(400, 422),
    },
)
def report_zip(request: ReportRequest, settings: SettingsDep) -> Response:
    """The same report as tidy tables that pandas or R read whole: a zip of ``metadata.csv`` (app version,
    models, method, unit of the fit, synthetic warning), ``curves.csv``, ``wells.csv``, ``plates.csv`` (with
    ``qc``) and ``columns.csv`` (every column's unit and meaning)."""
    reported = analyse_report(request, settings)
    return Response(
        content=render_zip(request, reported, app_version=__version__),
        media_type="application/zip",
        headers=_attachment(request.title, "zip"),
    )
