"""``POST /api/fit``: fit the Hill equation to one or many curves."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app import fitting
from app.deps import SettingsDep
from app.errors import error_responses
from app.schemas import FitRequest, FitResponse

__all__ = ["router"]

router = APIRouter(tags=["fit"])


@router.post("/api/fit", response_model=FitResponse, responses=error_responses(400, 422))
def fit(request: FitRequest, settings: SettingsDep) -> dict[str, Any]:
    """Fit ``Y = Bottom + (Top − Bottom) / (1 + (X/IC50)^Hill)`` to each curve (X in µM).

    Results come back in request order. Each has a ``status`` (``ok``, ``no_effect``,
    ``ic50_above_range``, ``ic50_below_range``, ``ambiguous``, ``not_converged``, ``insufficient_data``) and a
    plain-words ``message``; values that do not exist are null.
    """
    return {"results": fitting.fit_results(request, settings)}
