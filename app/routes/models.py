"""``GET /api/models`` (the registry's cards) and ``GET /models/{id}/{file}`` (TF.js files, cached)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from app.deps import RegistryDep, SettingsDep
from app.errors import error_responses
from app.text import quote

__all__ = ["router"]

router = APIRouter(tags=["models"])


@router.get("/api/models")
def list_models(registry: RegistryDep) -> dict[str, Any]:
    """Every servable model's card (without its bulky ``ood`` block), with the URLs of its files."""
    return {
        "models": [entry.summary() for entry in registry.models],
        "problems": list(registry.problems),
    }


@router.get(
    "/models/{model_id}/{filename}",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/json": {}, "application/octet-stream": {}}},
        **error_responses(404, 422),
    },
)
def model_file(model_id: str, filename: str, registry: RegistryDep, settings: SettingsDep) -> FileResponse:
    """One file of a model folder (model.json, weight shards, card.json), with caching headers."""
    entry = registry.get(model_id)
    if entry is None:
        raise HTTPException(
            404, f"No model {quote(model_id)}. Known models: {[m.id for m in registry.models]}"
        )
    path = (entry.folder / filename).resolve()
    if path.parent != entry.folder.resolve() or not path.is_file():
        raise HTTPException(404, f"Model {quote(model_id)} has no file {quote(filename)}")
    media = "application/json" if path.suffix == ".json" else "application/octet-stream"
    return FileResponse(
        path,
        media_type=media,
        headers={"Cache-Control": f"public, max-age={settings.model_cache_seconds}"},
    )
