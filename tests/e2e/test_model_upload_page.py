"""The page's ``api.uploadModel``: a model zip sent to a server whose operator enabled uploads is served at
once; a wrong token and a server that takes no uploads are refused with the server's words."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.app.routes.test_model_upload import TOKEN, _card, bundle
from tests.e2e.conftest import start_server, stop_server

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]

_UPLOAD = """async ([b64, tokens]) => {
  const api = await import('/static/js/api.js');
  const s = atob(b64); const zip = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) zip[i] = s.charCodeAt(i);
  const out = [];
  for (const token of tokens) {
    try { out.push({ ok: await api.uploadModel(zip, token) }); }
    catch (err) { out.push({ status: err.status, message: err.message, name: err.name }); }
  }
  out.push({ listed: (await (await fetch('/api/models')).json()).models.map((m) => m.id) });
  return out;
}"""


def _upload(browser: Any, models: Path, log: Path, zip_bytes: bytes, tokens: list[str]) -> list[dict]:
    server = start_server(models, log)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(server.url + "/healthz")
        return page.evaluate(_UPLOAD, [base64.b64encode(zip_bytes).decode(), tokens])
    finally:
        context.close()
        stop_server(server)


def test_upload_model_from_the_page(browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    models = tmp_path / "models"
    shutil.copytree(ROOT / "models", models)
    (spec,) = (models / "backbones").glob("*/backbone.json")
    backbone = json.loads(spec.read_text(encoding="utf-8"))
    card = _card("lab-model", backbone={"id": backbone["id"], "fingerprint": backbone["fingerprint"]},
                 input=backbone["input"])  # fmt: skip
    zip_bytes = bundle("lab-model", card=card)
    monkeypatch.delenv("NOSTAIN_MODEL_UPLOAD_TOKEN", raising=False)
    off = _upload(browser, models, tmp_path / "off.log", zip_bytes, [TOKEN])
    assert off[0]["status"] == 403 and "NOSTAIN_MODEL_UPLOAD_TOKEN" in off[0]["message"]
    monkeypatch.setenv("NOSTAIN_MODEL_UPLOAD_TOKEN", TOKEN)
    wrong, right, again, listed = _upload(
        browser, models, tmp_path / "on.log", zip_bytes, ["not-the-token-at-all", TOKEN, TOKEN]
    )
    assert wrong["status"] == 401 and wrong["name"] == "ApiError" and "token" in wrong["message"]
    assert right["ok"]["id"] == "lab-model" and right["ok"]["model"]["head_url"].startswith(
        "/models/lab-model/"
    )
    assert again["status"] == 409 and "already has a model" in again["message"]
    assert "lab-model" in listed["listed"] and (models / "lab-model" / "card.json").is_file()
