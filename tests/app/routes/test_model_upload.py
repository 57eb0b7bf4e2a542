"""POST /api/models: a model zip from the page, accepted only with the operator's token, checked before
anything is written, then served without a restart; every refusal a 4xx with the reason, never a 500."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.config import Settings, get_settings
from app.main import app
from app.routes.model_upload import UPLOADS_OFF
from tests.app.routes.test_models import _write_backbone, _write_head_model

BACKBONE = "mobilenetv2-ffff-224"
TOKEN = "a-long-enough-secret-token"
WEIGHTS = [{"name": "dense/kernel", "shape": [4, 2], "dtype": "float32"}, {"name": "dense/bias",
           "shape": [2], "dtype": "float32"}]  # fmt: skip
WEIGHT_BYTES = bytes(range(40))  # (4·2 + 2) float32


def _card(model_id: str, **changes: Any) -> dict[str, Any]:
    card = {"schema": "nostain.model-card/2", "id": model_id, "name": "MCF7 · cisplatin (lab)",
            "version": "1.0.0", "cell_line": "MCF7", "drug": "cisplatin", "synthetic": False,
            "input": {"size": 224}, "backbone": {"id": BACKBONE, "fingerprint": "f" * 64},
            "head": {"format": "tfjs_layers_model", "model_file": "head/model.json"}}  # fmt: skip
    return {**card, **changes}


def bundle(
    model_id: str = "mcf7-lab-20261201t0000",
    *,
    card: dict[str, Any] | None = None,
    weights: bytes = WEIGHT_BYTES,
    extra: dict[str, bytes] | None = None,
    leave_out: str | None = None,
    compression: int = zipfile.ZIP_STORED,
) -> bytes:
    """A zip as the page's bundle.js writes it: <id>/card.json, <id>/head/model.json and its shard."""
    model_json = {"format": "layers-model", "modelTopology": {},
                  "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": WEIGHTS}]}  # fmt: skip
    files = {
        f"{model_id}/card.json": json.dumps(card or _card(model_id)).encode(),
        f"{model_id}/head/model.json": json.dumps(model_json).encode(),
        f"{model_id}/head/group1-shard1of1.bin": weights,
        **(extra or {}),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files.items():
            if name != leave_out:
                archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    """A models folder serving one card/2 model on the backbone the uploads use."""
    folder = tmp_path / "models"
    _write_backbone(folder, BACKBONE)
    _write_head_model(folder, "served-m", BACKBONE)
    return folder


@pytest.fixture
def client_with(models_dir: Path) -> Iterator[Callable[..., TestClient]]:
    """A TestClient for settings with the given upload token (None: uploads off)."""
    from app.deps import _registry_for

    def make(token: str | None = TOKEN) -> TestClient:
        settings = Settings(models_dir=models_dir, model_upload_token=token)
        app.dependency_overrides[get_settings] = lambda: settings
        _registry_for.cache_clear()
        return TestClient(app)

    yield make
    app.dependency_overrides.clear()
    _registry_for.cache_clear()


def _post(client: TestClient, body: bytes, token: str | None = TOKEN) -> Any:
    headers = {"Content-Type": "application/zip"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.post("/api/models", content=body, headers=headers)


def _folders(models_dir: Path) -> list[str]:
    return sorted(p.name for p in models_dir.iterdir())


def test_uploads_are_refused_unless_the_operator_set_a_token(
    client_with: Callable[..., TestClient], models_dir: Path
) -> None:
    response = _post(client_with(None), bundle(), token=TOKEN)
    assert response.status_code == 403
    assert response.json()["detail"] == UPLOADS_OFF and "NOSTAIN_MODEL_UPLOAD_TOKEN" in UPLOADS_OFF
    assert _folders(models_dir) == ["backbones", "served-m"]


@pytest.mark.parametrize("token", [None, "a-wrong-but-long-token!", ""])
def test_a_missing_or_wrong_token_is_401(
    client_with: Callable[..., TestClient], models_dir: Path, token: str | None
) -> None:
    response = _post(client_with(), bundle(), token=token)
    assert response.status_code == 401, response.text
    assert "token" in response.json()["detail"] and response.headers["www-authenticate"] == "Bearer"
    assert _folders(models_dir) == ["backbones", "served-m"]


def test_a_valid_zip_is_served_at_once_and_its_id_cannot_be_taken_again(
    client_with: Callable[..., TestClient], models_dir: Path
) -> None:
    client = client_with()
    assert [m["id"] for m in client.get("/api/models").json()["models"]] == ["served-m"]
    response = _post(client, bundle())
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"] == "mcf7-lab-20261201t0000" and body["model"]["synthetic"] is False
    assert body["model"]["head_url"] == "/models/mcf7-lab-20261201t0000/head/model.json"
    # listed and its files served, without a restart; nothing else left in the models folder
    listed = [m["id"] for m in client.get("/api/models").json()["models"]]
    assert sorted(listed) == ["mcf7-lab-20261201t0000", "served-m"]
    assert client.get(body["model"]["head_url"]).json()["weightsManifest"][0]["weights"] == WEIGHTS
    shard = client.get("/models/mcf7-lab-20261201t0000/head/group1-shard1of1.bin")
    assert shard.content == WEIGHT_BYTES
    assert "mcf7-lab-20261201t0000" in client.get("/").text
    assert _folders(models_dir) == ["backbones", "mcf7-lab-20261201t0000", "served-m"]
    again = _post(client, bundle())
    assert again.status_code == 409 and "already has a model" in again.json()["detail"]
    assert _post(client, bundle("served-m")).status_code == 409


def _zip_with_crc_error() -> bytes:
    data = bytearray(bundle(compression=zipfile.ZIP_DEFLATED))
    at = data.index(b"card.json") + len(b"card.json") + 5  # inside the deflated card
    data[at] ^= 0xFF
    return bytes(data)


_BAD = {
    "not a zip": (b"PK not really a zip", "not a readable zip"),
    "truncated": (bundle()[:200], "not a readable zip"),
    "empty zip": (b"PK\x05\x06" + b"\0" * 18, "the zip is empty"),
    "damaged member": (_zip_with_crc_error(), "card.json"),
    "path outside": (bundle(extra={"../evil.txt": b"x"}), "outside the model's folder"),
    "two folders": (bundle(extra={"other/card.json": b"{}"}), "exactly one model folder"),
    "loose file": (bundle(extra={"readme.txt": b"x"}), "exactly one model folder"),
    "unsafe id": (bundle("Bad Id", card=_card("Bad Id")), "is not allowed"),
    "reserved id": (bundle("backbones", card=_card("backbones")), "is not allowed"),
    "no card": (bundle(leave_out="mcf7-lab-20261201t0000/card.json"), "no mcf7-lab-20261201t0000/card.json"),
    "card not JSON": (
        bundle(extra={"mcf7-lab-20261201t0000/card.json": b"{nope"}),
        "card.json is not valid JSON",
    ),
    "card/1": (bundle(card=_card("mcf7-lab-20261201t0000", schema="nostain.model-card/1")), "model-card/2"),
    "id differs": (bundle(card=_card("another-id")), "differs from its folder"),
    "no head entry": (
        bundle(card={k: v for k, v in _card("mcf7-lab-20261201t0000").items() if k != "head"}),
        "lacks ['head']",
    ),
    "no weights": (bundle(leave_out="mcf7-lab-20261201t0000/head/group1-shard1of1.bin"), "not in the zip"),
    "short weights": (bundle(weights=WEIGHT_BYTES[:-4]), "declares 40"),
    "extra file": (bundle(extra={"mcf7-lab-20261201t0000/notes.txt": b"x"}), "files a model does not have"),
    "unknown backbone": (
        bundle(card=_card("mcf7-lab-20261201t0000", backbone={"id": "resnet", "fingerprint": "f" * 64})),
        "does not serve",
    ),
    "other weights": (
        bundle(card=_card("mcf7-lab-20261201t0000", backbone={"id": BACKBONE, "fingerprint": "e" * 64})),
        "other weights",
    ),
    "other input size": (bundle(card=_card("mcf7-lab-20261201t0000", input={"size": 160})), "160 px"),
}


@pytest.mark.parametrize("case", sorted(_BAD))
def test_a_bad_zip_is_422_with_the_reason_and_writes_nothing(
    client_with: Callable[..., TestClient], models_dir: Path, case: str
) -> None:
    body, reason = _BAD[case]
    response = _post(client_with(), body)
    assert response.status_code == 422, response.text
    assert reason in response.json()["detail"] and response.json()["problems"]
    assert _folders(models_dir) == ["backbones", "served-m"]


def test_a_file_over_its_limit_is_refused_before_it_is_unpacked(
    client_with: Callable[..., TestClient], models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app import model_bundle

    monkeypatch.setitem(model_bundle.MAX_FILE_BYTES, "weights", 39)
    response = _post(client_with(), bundle())
    assert response.status_code == 422 and "the limit is 39" in response.json()["detail"]
    assert _folders(models_dir) == ["backbones", "served-m"]


def test_a_short_token_is_refused_when_the_server_starts() -> None:
    with pytest.raises(ValidationError, match="at least 16 characters"):
        Settings(model_upload_token="secret")
    assert Settings(model_upload_token="").model_upload_token is None  # empty: uploads stay off


def test_the_openapi_document_declares_the_upload_and_its_refusals(
    client_with: Callable[..., TestClient],
) -> None:
    operation = client_with().get("/openapi.json").json()["paths"]["/api/models"]["post"]
    assert "application/zip" in operation["requestBody"]["content"]
    assert {"201", "401", "403", "409", "422"} <= set(operation["responses"])
