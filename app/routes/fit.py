"""``POST /api/fit``: fit the Hill equation to one or many curves."""

from __future__ import annotations

from typing import Any

import numpy as np
import pydantic_core
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app import fitting
from app.deps import SettingsDep
from app.errors import error_responses
from app.schemas import FitRequest, FitResponse

__all__ = ["FitJSONResponse", "router"]

router = APIRouter(tags=["fit"])


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds (pydantic-core does not know NumPy types)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


class FitJSONResponse(JSONResponse):
    """The fit results as JSON, encoded by pydantic-core (Rust; several times faster than ``json.dumps`` on
    thousands of results). NaN and ±inf become null.

    The route returns this response itself, so FastAPI does not validate the results against
    :class:`~app.schemas.FitResponse` a second time; the model still documents them in the OpenAPI schema.
    """

    def render(self, content: Any) -> bytes:
        return pydantic_core.to_json(content, inf_nan_mode="null", fallback=_plain)


@router.post("/api/fit", response_model=FitResponse, responses=error_responses(400, 422))
def fit(request: FitRequest, settings: SettingsDep) -> FitJSONResponse:
    """Fit ``Y = Bottom + (Top − Bottom) / (1 + (X/IC50)^Hill)`` to each curve (X in µM).

    Results come back in request order. Each has a ``status`` (``ok``, ``no_effect``,
    ``ic50_above_range``, ``ic50_below_range``, ``ambiguous``, ``not_converged``, ``insufficient_data``) and a
    plain-words ``message``; values that do not exist are null. ``methods`` says once how the standard
    errors and the IC50 interval were computed. The fitted curve's points come only when asked
    (``curve_points``); a client can also draw it from ``top``, ``bottom``, ``hill`` and ``ic50_um``.
    """
    return FitJSONResponse(fitting.fit_response(request, settings))
