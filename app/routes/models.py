"""``GET /api/models`` (the registry's cards) and the TF.js files: ``/models/backbones/{id}/{file}`` (shared
backbones, cached for good) and ``/models/{id}/{path}`` (a model's card and head, cached for a day)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from app.deps import RegistryDep, SettingsDep
from app.errors import error_responses
from app.registry import BACKBONES_FOLDER
from app.text import quote

__all__ = ["router"]

router = APIRouter(tags=["models"])

_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "application/octet-stream": {}}},
    **error_responses(404, 422),
}


@router.get("/api/models")
def list_models(registry: RegistryDep) -> dict[str, Any]:
    """Every servable model's card (without its bulky ``ood`` block), with the URLs of its files."""
    return {
        "models": [entry.summary() for entry in registry.models],
        "problems": list(registry.problems),
    }


def _serve(folder: Path, name: str, *, what: str, max_age: int, immutable: bool = False) -> FileResponse:
    """A file of ``folder`` (``name`` may hold sub-folders, never leave it) with caching headers."""
    path = (folder / name).resolve()
    if not path.is_relative_to(folder.resolve()) or not path.is_file():
        raise HTTPException(404, f"{what} has no file {quote(name)}")
    media = "application/json" if path.suffix == ".json" else "application/octet-stream"
    cache = f"public, max-age={max_age}" + (", immutable" if immutable else "")
    return FileResponse(path, media_type=media, headers={"Cache-Control": cache})


@router.get(
    f"/models/{BACKBONES_FOLDER}/{{backbone_id}}/{{filename}}",
    response_class=FileResponse,
    responses=_FILE_RESPONSES,
)
def backbone_file(
    backbone_id: str, filename: str, registry: RegistryDep, settings: SettingsDep
) -> FileResponse:
    """One file of a shared backbone (backbone.json, model.json, weight shards), cached for good.

    A backbone's files never change under its URL: the page asks for ``model.json?v=<fingerprint>``.
    """
    backbone = registry.backbone(backbone_id)
    if backbone is None:
        known = [b.id for b in registry.backbones]
        raise HTTPException(404, f"No backbone {quote(backbone_id)}. Known backbones: {known}")
    return _serve(
        backbone.folder,
        filename,
        what=f"Backbone {quote(backbone_id)}",
        max_age=settings.backbone_cache_seconds,
        immutable=True,
    )


@router.get("/models/{model_id}/{filename:path}", response_class=FileResponse, responses=_FILE_RESPONSES)
def model_file(model_id: str, filename: str, registry: RegistryDep, settings: SettingsDep) -> FileResponse:
    """One file of a model folder (card.json, head/model.json and its shard; model.json and shards of an
    older single-file model), with caching headers."""
    entry = registry.get(model_id)
    if entry is None:
        raise HTTPException(
            404, f"No model {quote(model_id)}. Known models: {[m.id for m in registry.models]}"
        )
    return _serve(
        entry.folder, filename, what=f"Model {quote(model_id)}", max_age=settings.model_cache_seconds
    )
