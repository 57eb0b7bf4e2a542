"""GET /api/models, /models/{id}/{file}, /healthz and the registry's handling of broken folders."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app import __version__
from app.registry import load_registry
from tests.app.routes.conftest import write_model


def test_models_lists_cards_with_model_url(client: TestClient) -> None:
    body = client.get("/api/models").json()
    assert [m["id"] for m in body["models"]] == ["a549-m"]
    assert body["models"][0]["model_url"] == "/models/a549-m/model.json"
    assert body["models"][0]["synthetic"] is True


def test_model_files_are_served_with_cache_headers(client: TestClient) -> None:
    r = client.get("/models/a549-m/model.json")
    assert r.status_code == 200
    assert "max-age=" in r.headers["cache-control"]
    assert client.get("/models/a549-m/group1-shard1of1.bin").content == b"\0" * 16


def test_unknown_model_or_file_is_404_with_a_reason(client: TestClient) -> None:
    r = client.get("/models/nope/model.json")
    assert r.status_code == 404 and "nope" in r.json()["detail"]
    r = client.get("/models/a549-m/secret.txt")
    assert r.status_code == 404 and "secret.txt" in r.json()["detail"]
    assert client.get("/models/a549-m/..%2F..%2Fcard.json").status_code == 404


def test_registry_skips_broken_folders_and_says_why(tmp_path: Path) -> None:
    write_model(tmp_path, "good")
    bad = write_model(tmp_path, "no-model-file")
    (bad / "model.json").unlink()
    (tmp_path / "bad-json").mkdir()
    (tmp_path / "bad-json" / "card.json").write_text("{not json")
    (tmp_path / "no-card").mkdir()
    registry = load_registry(tmp_path)
    assert [m.id for m in registry.models] == ["good"]
    assert len(registry.problems) == 2
    assert any("no-model-file" in p and "model.json" in p for p in registry.problems)


def test_empty_or_missing_models_dir_is_an_empty_registry(tmp_path: Path) -> None:
    assert load_registry(tmp_path / "absent").models == ()


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "version": __version__, "models": 1}


def test_api_docs_are_served_without_a_cdn(client: TestClient) -> None:
    html = client.get("/docs").text
    assert "/static/vendor/swagger-ui-bundle.js" in html and "/openapi.json" in html
    assert "cdn" not in html.lower()
    assert client.get("/static/vendor/swagger-ui-bundle.js").status_code == 200
    assert "/api/fit" in client.get("/openapi.json").json()["paths"]


def test_bulky_ood_block_stays_out_of_the_page_and_model_list(models_dir: Path, client: TestClient) -> None:
    write_model(models_dir, "with-ood", ood={"features": {"components": [[0.1] * 1280] * 16}})
    from app.deps import _registry_for

    _registry_for.cache_clear()
    listed = {m["id"]: m for m in client.get("/api/models").json()["models"]}
    assert "ood" not in listed["with-ood"]
    assert listed["with-ood"]["card_url"] == "/models/with-ood/card.json"
    assert "components" in client.get("/models/with-ood/card.json").text
