"""``GET /healthz``: liveness and what this server has loaded."""

from fastapi import APIRouter

from app import __version__
from app.deps import RegistryDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(registry: RegistryDep) -> dict[str, object]:
    """Liveness probe: the app version and how many models are servable."""
    return {"status": "ok", "version": __version__, "models": len(registry.models)}
