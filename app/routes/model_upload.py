"""``POST /api/models``: a model trained in the page (its exported zip) added to the models folder and served
at once — only when the operator has set ``NOSTAIN_MODEL_UPLOAD_TOKEN`` and the request carries it.

Off by default (403): a public server must not let anyone add models to its dropdown. The zip is checked
before anything is written (:func:`app.model_bundle.read_bundle`), unpacked into a hidden folder of the models
directory and moved into place in one rename, then the registry is scanned again, so the model is listed
without a restart (in this server process; see :func:`app.deps.reload_registry`).
"""

from __future__ import annotations

import hmac
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.config import Settings
from app.deps import RegistryDep, SettingsDep, reload_registry
from app.errors import error_responses
from app.model_bundle import InvalidBundle, ModelBundle, ModelExists, read_bundle
from app.schemas import ModelUploaded

__all__ = ["UPLOADS_OFF", "router"]

router = APIRouter(tags=["models"])

#: Why an upload is refused when no token is set (403).
UPLOADS_OFF = (
    "This server does not accept model uploads. Its operator can enable them by starting it with "
    "NOSTAIN_MODEL_UPLOAD_TOKEN set to a secret of at least 16 characters and giving that token to the "
    "people allowed to add models; or place the exported models/<id>/ folder in its models directory "
    "(docs/train-in-browser.md, 'Serving a model')."
)

_bearer = HTTPBearer(auto_error=False, description="The operator's NOSTAIN_MODEL_UPLOAD_TOKEN")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _check_token(settings: Settings, credentials: HTTPAuthorizationCredentials | None) -> None:
    if settings.model_upload_token is None:
        raise HTTPException(403, UPLOADS_OFF)
    expected = settings.model_upload_token.get_secret_value().encode()
    given = (credentials.credentials if credentials else "").encode()
    if not hmac.compare_digest(given, expected):
        what = "a wrong token" if credentials else "no token (Authorization: Bearer <token>)"
        raise HTTPException(
            401,
            f"The upload came with {what}: ask this server's operator for the model-upload token.",
            headers={"WWW-Authenticate": "Bearer"},
        )


def _install(bundle: ModelBundle, models_dir: Path) -> None:
    """Write the files into a hidden folder of ``models_dir``, then move the model folder into place."""
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".upload-", dir=models_dir))
    try:
        folder = staging / bundle.id
        for name, data in bundle.files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
        target = models_dir / bundle.id
        if target.exists():
            raise HTTPException(409, f"this server already has a model {bundle.id!r}")
        folder.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@router.post(
    "/api/models",
    status_code=201,
    response_model=ModelUploaded,
    responses=error_responses(401, 403, 409, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def upload_model(
    request: Request, settings: SettingsDep, registry: RegistryDep, credentials: BearerDep
) -> ModelUploaded:
    """Add a model trained in the page: the body is the zip of its ``models/<id>/`` folder as the page
    exports it (``card.json`` of schema ``nostain.model-card/2``, ``head/model.json`` and its weights).

    Needs ``Authorization: Bearer <NOSTAIN_MODEL_UPLOAD_TOKEN>``: without that setting the server takes no
    uploads (403); a missing or wrong token is 401. The model must run on a backbone this server serves
    (same id and fingerprint) and its id must be new here (409 otherwise); anything else that would stop it
    from being served is 422 with the reason. The model is then listed by ``GET /api/models`` and in the
    page's dropdown without a restart.
    """
    _check_token(settings, credentials)
    models_dir = settings.models_dir
    taken = {p.name for p in models_dir.iterdir()} if models_dir.is_dir() else set()
    backbones = {b.id: b.description for b in registry.backbones}
    try:
        bundle = read_bundle(await request.body(), taken_ids=taken, backbones=backbones)
    except ModelExists as exc:
        raise HTTPException(409, str(exc)) from exc
    except InvalidBundle as exc:
        raise HTTPException(422, f"The model was not added: {exc}.") from exc
    _install(bundle, models_dir)
    entry = reload_registry(settings).get(bundle.id)
    if entry is None:  # the checks above mirror the registry's; should they ever differ, undo and say why
        shutil.rmtree(models_dir / bundle.id, ignore_errors=True)
        problems = [p for p in reload_registry(settings).problems if bundle.id in p]
        reason = "; ".join(problems)
        raise HTTPException(422, f"The model was not added: the server cannot serve it ({reason})")
    return ModelUploaded(id=bundle.id, model=entry.summary())
