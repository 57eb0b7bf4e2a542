"""GET /api/models, /models/{id}/{file}, /healthz and the registry's handling of broken folders."""

from __future__ import annotations

import json
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


# ------------------------------------------------------------------------------ shared backbones (card/2)


def _write_backbone(
    models_dir: Path, backbone_id: str, *, fingerprint: str = "f" * 64, size: int = 224
) -> Path:
    folder = models_dir / "backbones" / backbone_id
    folder.mkdir(parents=True)
    (folder / "model.json").write_text('{"format": "graph-model"}')
    (folder / "group1-shard1of1.bin").write_bytes(b"\1" * 16)
    description = {"schema": "nostain.backbone/1", "id": backbone_id, "fingerprint": fingerprint,
                   "input": {"size": size}, "model_file": "model.json"}  # fmt: skip
    (folder / "backbone.json").write_text(json.dumps(description))
    return folder


def _write_head_model(
    models_dir: Path, model_id: str, backbone_id: str, *, fingerprint: str = "f" * 64
) -> Path:
    folder = models_dir / model_id
    (folder / "head").mkdir(parents=True)
    (folder / "head" / "model.json").write_text('{"format": "graph-model"}')
    (folder / "head" / "group1-shard1of1.bin").write_bytes(b"\2" * 8)
    card = {"schema": "nostain.model-card/2", "id": model_id, "name": model_id.upper(), "version": "1.0.0",
            "cell_line": "A549", "input": {"size": 224},
            "backbone": {"id": backbone_id, "fingerprint": fingerprint},
            "head": {"format": "tfjs_graph_model", "model_file": "head/model.json"}}  # fmt: skip
    (folder / "card.json").write_text(json.dumps(card))
    return folder


def _client_for(models_dir: Path) -> TestClient:
    from app.config import Settings, get_settings
    from app.deps import _registry_for
    from app.main import app

    _registry_for.cache_clear()
    app.dependency_overrides[get_settings] = lambda: Settings(models_dir=models_dir)
    return TestClient(app)


def test_models_on_a_shared_backbone_are_listed_with_backbone_and_head_urls(tmp_path: Path) -> None:
    _write_backbone(tmp_path, "mobilenetv2-ffff-224")
    for model_id in ("m-one", "m-two"):
        _write_head_model(tmp_path, model_id, "mobilenetv2-ffff-224")
    write_model(tmp_path, "old-style")  # a card/1 folder is still served
    registry = load_registry(tmp_path)
    assert [m.id for m in registry.models] == ["m-one", "m-two", "old-style"]
    assert not registry.problems and [b.id for b in registry.backbones] == ["mobilenetv2-ffff-224"]
    summaries = {m.id: m.summary() for m in registry.models}
    assert (
        summaries["m-one"]["backbone_url"]
        == summaries["m-two"]["backbone_url"]
        == ("/models/backbones/mobilenetv2-ffff-224/model.json?v=" + "f" * 16)
    )
    assert summaries["m-one"]["head_url"] == "/models/m-one/head/model.json"
    assert "backbone_url" not in summaries["old-style"]
    assert summaries["old-style"]["model_url"] == "/models/old-style/model.json"


def test_backbones_are_served_for_good_and_heads_for_a_day(tmp_path: Path) -> None:
    _write_backbone(tmp_path, "bb-224")
    _write_head_model(tmp_path, "m-one", "bb-224")
    try:
        client = _client_for(tmp_path)
        r = client.get("/models/backbones/bb-224/group1-shard1of1.bin?v=ffff")
        assert r.status_code == 200 and r.content == b"\1" * 16
        assert "immutable" in r.headers["cache-control"] and "max-age=31536000" in r.headers["cache-control"]
        r = client.get("/models/m-one/head/group1-shard1of1.bin")
        assert r.status_code == 200 and r.content == b"\2" * 8
        assert r.headers["cache-control"] == "public, max-age=86400"
        assert client.get("/models/backbones/nope/model.json").status_code == 404
        assert client.get("/models/backbones/bb-224/..%2F..%2Fm-one%2Fcard.json").status_code == 404
        (tmp_path / "secret.txt").write_text("not a model file")
        assert client.get("/models/m-one/head%2F..%2F..%2Fsecret.txt").status_code == 404
        assert client.get("/models/m-one/head/..%2F..%2Fsecret.txt").status_code == 404
    finally:
        from app.main import app

        app.dependency_overrides.clear()


def test_a_head_without_its_backbone_or_on_other_weights_is_not_listed(tmp_path: Path) -> None:
    _write_backbone(tmp_path, "bb-224", fingerprint="a" * 64)
    _write_backbone(tmp_path, "bb-160", fingerprint="b" * 64, size=160)
    _write_head_model(tmp_path, "no-backbone", "bb-missing")
    _write_head_model(tmp_path, "other-weights", "bb-224", fingerprint="c" * 64)
    _write_head_model(tmp_path, "other-size", "bb-160", fingerprint="b" * 64)
    _write_head_model(tmp_path, "good", "bb-224", fingerprint="a" * 64)
    registry = load_registry(tmp_path)
    assert [m.id for m in registry.models] == ["good"]
    assert [b.id for b in registry.backbones] == ["bb-224"]  # only backbones a listed model uses are served
    problems = " ".join(registry.problems)
    assert "'bb-missing' is not in" in problems
    assert "other weights than the model was trained on" in problems
    assert "takes 160 px images, the card 224 px" in problems


def test_a_card_whose_backbone_is_not_an_object_is_skipped_not_a_server_error(tmp_path: Path) -> None:
    _write_backbone(tmp_path, "bb-224")
    folder = _write_head_model(tmp_path, "odd", "bb-224")
    card = json.loads((folder / "card.json").read_text())
    (folder / "card.json").write_text(json.dumps({**card, "backbone": "MobileNetV2"}))
    registry = load_registry(tmp_path)
    assert registry.models == () and "['backbone'] must be JSON objects" in registry.problems[0]
