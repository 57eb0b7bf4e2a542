"""``POST /api/fit``: fit the Hill equation to one or many curves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, HTTPException

from app.config import Settings
from app.deps import SettingsDep
from app.doseresponse import HillFit, fit_hill_many
from app.schemas import CurveIn, CurveResult, FitRequest, FitResponse

router = APIRouter(tags=["fit"])


def check_limits(n_points: Sequence[int], settings: Settings) -> None:
    """Refuse requests larger than the configured limits with 413 and the limit in words."""
    if len(n_points) > settings.max_curves:
        raise HTTPException(
            413,
            f"Too many curves in one request ({len(n_points)}); the limit is {settings.max_curves}. "
            "Split the request.",
        )
    for i, n in enumerate(n_points):
        if n > settings.max_points_per_curve:
            raise HTTPException(
                413, f"Curve {i + 1} has {n} points; the limit is {settings.max_points_per_curve} per curve."
            )


def fit_curves(curves: Sequence[CurveIn], settings: Settings) -> list[HillFit]:
    """Fit every curve (batched); engine ValueErrors become 422 naming the curve."""
    try:
        return fit_hill_many(
            [(c.concentrations_um, c.responses) for c in curves],
            fix_top=[c.fix_top for c in curves],
            fix_bottom=[c.fix_bottom for c in curves],
        )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc


def result_dict(label: str, fit: HillFit, settings: Settings) -> dict[str, Any]:
    """The JSON result of one fit: the engine's fields plus the label."""
    return {"label": label, **fit.to_dict(curve_points=settings.curve_points)}


@router.post("/api/fit", response_model=FitResponse)
def fit(request: FitRequest, settings: SettingsDep) -> dict[str, Any]:
    """Fit ``Y = Bottom + (Top − Bottom) / (1 + (X/IC50)^Hill)`` to each curve (X in µM).

    Results come back in request order. Each has a ``status`` (``ok``, ``no_effect``,
    ``ic50_above_range``, ``ic50_below_range``, ``ambiguous``, ``not_converged``, ``insufficient_data``) and a
    plain-words ``message``; values that do not exist are null.
    """
    check_limits([len(c.concentrations_um) for c in request.curves], settings)
    fits = fit_curves(request.curves, settings)
    return {"results": [result_dict(c.label, f, settings) for c, f in zip(request.curves, fits, strict=True)]}


__all__ = ["CurveResult", "check_limits", "fit_curves", "result_dict", "router"]
