"""``POST /api/report.csv``: the IC50 report of a session's curves, refitted exactly as ``/api/fit`` does."""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from app import __version__
from app.deps import SettingsDep
from app.report import CurveRow, WellRow, render_csv
from app.routes.fit import check_limits, fit_curves, result_dict
from app.schemas import CurveIn, ReportRequest

router = APIRouter(tags=["report"])


@router.post("/api/report.csv", response_class=Response)
def report_csv(request: ReportRequest, settings: SettingsDep) -> Response:
    """The CSV report: a header block (app version, models, time), one row per curve, one row per well.

    Excluded wells are listed but not fitted. Cells that a spreadsheet would run as formulas are neutralised.
    """
    included = [c.included() for c in request.curves]
    check_limits([len(conc) for conc, _ in included], settings)
    n_wells = sum(len(c.wells or []) for c in request.curves)
    if n_wells > settings.max_wells_per_report:
        raise HTTPException(
            413, f"Too many wells in one report ({n_wells}); the limit is {settings.max_wells_per_report}."
        )
    for i, (c, (conc, _)) in enumerate(zip(request.curves, included, strict=True)):
        if not conc:
            raise HTTPException(
                422, f"curve {i + 1} ({c.label!r}): every well is excluded; include some wells to fit a curve"
            )
    fits = fit_curves(
        [
            CurveIn(label=c.label, concentrations_um=conc, responses=resp,
                    fix_top=c.fix_top, fix_bottom=c.fix_bottom)
            for c, (conc, resp) in zip(request.curves, included, strict=True)
        ],
        settings,
    )  # fmt: skip
    curve_rows, well_rows = [], []
    for c, fit in zip(request.curves, fits, strict=True):
        m = c.model
        curve_rows.append(
            CurveRow(
                label=c.label, cell_line=c.cell_line, drug=c.drug,
                model_name=(m.name or m.id or "") if m else "", model_version=(m.version or "") if m else "",
                model_synthetic=m.synthetic if m else None, fit=result_dict(c.label, fit, settings),
                n_excluded=sum(w.excluded for w in c.wells or []), notes=c.notes,
            )
        )  # fmt: skip
        for w in c.wells or []:
            well_rows.append(
                WellRow(label=c.label, image=w.image, well=w.well, concentration_um=w.concentration_um,
                        od450=w.od450, excluded=w.excluded, flags=w.flags)
            )  # fmt: skip
    body = render_csv(curve_rows, well_rows, title=request.title, app_version=__version__)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.title).strip("_") or "report"
    return Response(
        content=body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'},
    )
