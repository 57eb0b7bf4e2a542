"""``POST /api/gr`` (GR values and metrics from two time points) and ``POST /api/timecourse`` (one plate
read at several times)."""

from __future__ import annotations

from fastapi import APIRouter

from app.analysis.endpoints import gr_response, time_course_response
from app.deps import SettingsDep
from app.errors import error_responses
from app.json_response import FastJSONResponse
from app.schemas_growth import GRRequest, GRResponse, TimeCourseRequest, TimeCourseResponse

__all__ = ["router"]

router = APIRouter(tags=["growth"])


@router.post("/api/gr", response_model=GRResponse, responses=error_responses(400, 422))
def gr(request: GRRequest, settings: SettingsDep) -> FastJSONResponse:
    """GR values (per well) and GR metrics (per curve) from an end-point read and a time-zero read.

    GR(c) = 2^(log2(x(c)/x0) / log2(x_ctrl/x0)) − 1 (Hafner et al., Nat Methods 13:521, 2016), per plate:
    x the end-point response minus the background (the blank/kill wells' mean, 0 without them), x0 the
    time-zero level (the mean time-zero read of the plate's wells, or ``time_zero_level``) minus the
    background, x_ctrl the vehicle wells' mean. Predicted OD450 is assumed proportional to the number of
    viable cells. Per curve: GR50 (censored to the tested range), GRmax, GR_AOC, GEC50, GRinf and h_GR as
    the reference implementation (datarail/gr_metrics) defines them. A curve whose vehicle wells did not
    grow is refused (422): its GR values are undefined.
    """
    return FastJSONResponse(gr_response(request, settings))


@router.post("/api/timecourse", response_model=TimeCourseResponse, responses=error_responses(400, 422))
def timecourse(request: TimeCourseRequest, settings: SettingsDep) -> FastJSONResponse:
    """One plate read at several times: % viability per well and per concentration over time (% of each
    time's vehicle wells; 0 % = blank/kill wells or ``blank_level``), a Hill fit of viability per time
    point, and GR per interval between consecutive reads and from the first read (time-dependent GR,
    Hafner et al. 2016), as tidy records ready to plot."""
    return FastJSONResponse(time_course_response(request, settings))
