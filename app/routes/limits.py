"""``GET /api/limits``: the limits of one request, so that a client can split its work before sending."""

from fastapi import APIRouter

from app.config import Limits
from app.deps import SettingsDep

__all__ = ["router"]

router = APIRouter(tags=["limits"])


@router.get("/api/limits", response_model=Limits)
def limits(settings: SettingsDep) -> Limits:
    """The request limits: curves, points per curve, wells per report, text lengths and body bytes.

    The page gets the same values embedded as ``<script id="nostain-config">``.
    """
    return settings.limits()
