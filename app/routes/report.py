"""``POST /api/report.csv``: the IC50 report of a session's curves, refitted exactly as ``/api/fit`` does."""

from __future__ import annotations

import re

from fastapi import APIRouter
from fastapi.responses import Response

from app import __version__, fitting
from app.deps import SettingsDep
from app.errors import error_responses
from app.report import render_report
from app.schemas import ReportRequest

__all__ = ["router"]

router = APIRouter(tags=["report"])


@router.post(
    "/api/report.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, **error_responses(400, 422)},
)
def report_csv(request: ReportRequest, settings: SettingsDep) -> Response:
    """The CSV report: a header block (app version, models, time), one row per curve, one row per well.

    Excluded wells are listed but not fitted. Cells that a spreadsheet would run as formulas are neutralised.
    """
    fits = fitting.fit_report(request, settings)
    body = render_report(request, fits, app_version=__version__)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.title).strip("_") or "report"
    return Response(
        content=body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'},
    )
