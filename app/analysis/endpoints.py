"""The bodies of ``POST /api/gr`` (GR from two time points) and ``POST /api/timecourse`` (several)."""

from __future__ import annotations

from typing import Any

from app import fitting
from app.analysis.growth import GR_ASSUMPTION, GrowthError, gr_block
from app.analysis.service import analysis_methods
from app.analysis.wells import curve_data, request_curve_data
from app.config import Settings
from app.schemas_analysis import AnalysisOptions
from app.schemas_growth import GRRequest, TimeCourseRequest
from app.screening import time_course
from app.text import quote

__all__ = ["gr_response", "time_course_response"]


def gr_response(request: GRRequest, settings: Settings) -> dict[str, Any]:
    """GR values (per well) and GR metrics (per curve) of every curve, in request order.

    Raises
    ------
    RequestTooLarge
        More curves or wells than the limits.
    UnfittableRequest
        A curve whose GR values are undefined (no vehicle wells, no time-zero read, controls that did not
        grow), named with the reason.
    """
    fitting.check_limits([len(c.concentrations_um) for c in request.curves], settings)
    results = []
    for i, c in enumerate(request.curves, start=1):
        curve = request_curve_data(c, i)
        try:
            results.append({"label": c.label, **gr_block(curve)})
        except GrowthError as exc:
            raise fitting.UnfittableRequest(f"{curve.name}: no GR values: {exc}") from exc
    return {"results": results, "methods": {"gr": analysis_methods(AnalysisOptions())["gr"]}}


def time_course_response(request: TimeCourseRequest, settings: Settings) -> dict[str, Any]:
    """Viability per well and concentration, a Hill fit per time and GR over time, as tidy records.

    Raises
    ------
    RequestTooLarge
        More wells than a curve may have.
    UnfittableRequest
        Vehicle controls at a concentration above 0, or a time point without a 0 % or 100 % reference.
    """
    fitting.check_limits([len(request.concentrations_um)] * len(request.times_h), settings)
    wells = curve_data(
        request.label,
        request.concentrations_um,
        request.values[0],
        position=1,
        controls=request.controls,
        well_ids=request.well_ids,
    )  # the wells' roles, checked as /api/fit checks them
    try:
        course = time_course(
            request.times_h, request.values, wells.conc_um, blank_wells=wells.role == "blank",
            blank_level=request.blank_level, well_names=request.well_ids,
        )  # fmt: skip
    except ValueError as exc:
        raise fitting.UnfittableRequest(f"time course {quote(request.label)}: {exc}") from exc
    return {
        "label": request.label,
        "times_h": list(course.times_h),
        "wells": list(course.wells),
        "concentrations": list(course.concentrations),
        "fits": list(course.fits),
        "gr": list(course.gr),
        "message": "Viability in % of each time's vehicle wells (0 % = blank/kill wells or blank_level); a "
        f"Hill fit of viability per time; GR per interval from the blank-subtracted means. {GR_ASSUMPTION}",
    }
