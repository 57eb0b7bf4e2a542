"""``POST /api/fit``: fit the Hill equation to one or many curves."""

from __future__ import annotations

from fastapi import APIRouter

from app.analysis.service import fit_response
from app.deps import SettingsDep
from app.errors import error_responses
from app.json_response import FastJSONResponse
from app.schemas import FitRequest, FitResponse

__all__ = ["router"]

router = APIRouter(tags=["fit"])


@router.post("/api/fit", response_model=FitResponse, responses=error_responses(400, 422))
def fit(request: FitRequest, settings: SettingsDep) -> FastJSONResponse:
    """Fit ``Y = Bottom + (Top − Bottom) / (1 + (X/IC50)^Hill)`` to each curve (X in µM).

    Results come back in request order. Each has a ``status`` (``ok``, ``no_effect``,
    ``ic50_above_range``, ``ic50_below_range``, ``ambiguous``, ``not_converged``, ``insufficient_data``) and a
    plain-words ``message``; values that do not exist are null. ``methods`` says once how the standard
    errors and the IC50 interval were computed. The fitted curve's points come only when asked
    (``curve_points``); a client can also draw it from ``top``, ``bottom``, ``hill`` and ``ic50_um``.

    Options (all off by default, so a plain request stays fast): ``fit_on`` ('viability': % of each plate's
    vehicle wells, 0 % = blank/kill wells named in a curve's ``controls``), ``ic_percents`` (IC_x, relative
    and absolute, censored to the tested range), ``metrics`` (censored IC50, Emax, Einf, AAC, DSS),
    ``outliers`` (ROUT-like test, refit without the flagged wells), ``qc`` (Z′, robust Z′, SSMD, edge
    effect per plate) and ``per_well`` (role, fitted value, residual, % viability per well). A curve with
    time-zero values (``time_zero`` or ``time_zero_level``) gets its GR values and metrics (``gr``).
    Definitions and references: docs/metrics.md.
    """
    return FastJSONResponse(fit_response(request, settings))
