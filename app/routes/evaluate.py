"""``POST /api/evaluate``: r², per-series IC50s and the paired t-test of a model's test predictions."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import SettingsDep
from app.errors import error_responses
from app.evaluation import evaluate_predictions
from app.json_response import FastJSONResponse
from app.schemas_evaluate import EvaluateRequest, EvaluateResponse

__all__ = ["router"]

router = APIRouter(tags=["evaluate"])


@router.post("/api/evaluate", response_model=EvaluateResponse, responses=error_responses(400, 422))
def evaluate(request: EvaluateRequest, settings: SettingsDep) -> FastJSONResponse:
    """Compare measured with predicted OD450, as ``python -m training evaluate`` does (the paper's Tables
    1 and 2): the regression of predicted on measured OD450 (r², slope, intercept) and the mean difference
    ± SD; per dose series the IC50 of a Hill fit to the measured and to the predicted OD450; the paired
    t-test of those IC50s (µM) and the median |log10(predicted / measured IC50)|.

    The page sends numbers only (series, concentration, measured and predicted OD450 per image): the images
    never leave the browser. Constant measured readings or fewer than 3 images are refused (422).
    """
    images = request.images
    return FastJSONResponse(
        evaluate_predictions(
            [i.series for i in images],
            [i.concentration_um for i in images],
            [i.measured_od450 for i in images],
            [i.predicted_od450 for i in images],
            settings,
        )
    )
