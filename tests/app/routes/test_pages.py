"""GET / stays lean (card summaries, no ``ood`` blocks) and carries the request limits; GET /api/limits."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app

ROOT = Path(__file__).resolve().parents[3]
LIMIT_KEYS = {
    "max_curves", "max_points_per_curve", "max_wells_per_report", "max_label_length", "max_well_id_length",
    "max_flags_per_well", "max_notes_per_curve", "max_body_bytes", "max_time_points",
}  # fmt: skip


def embedded(html: str, element_id: str) -> object:
    """The JSON of ``<script type="application/json" id=element_id>``."""
    match = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S)
    assert match, f"no #{element_id} in the page"
    return json.loads(match.group(1))


@pytest.fixture(scope="module")
def bundled() -> TestClient:
    """The app as shipped: the bundled models (whose cards carry ~150 kB ood blocks each)."""
    return TestClient(create_app(Settings()))


def test_page_is_small_and_embeds_no_ood_block(bundled: TestClient) -> None:
    r = bundled.get("/")
    assert r.status_code == 200
    assert len(r.content) < 100_000  # 721 kB when the cards' ood blocks were embedded
    cards = embedded(r.text, "model-cards")
    assert isinstance(cards, list) and len(cards) == 3
    for card in cards:
        assert "ood" not in card
        assert card["head_url"] == f"/models/{card['id']}/head/model.json"
        assert card["backbone_url"].startswith(f"/models/backbones/{card['backbone']['id']}/model.json?v=")
        assert card["card_url"] == f"/models/{card['id']}/card.json"
        assert "ood" in bundled.get(card["card_url"]).json()  # where the page fetches it when needed


def test_page_and_api_serve_the_same_limits(client: TestClient) -> None:
    config = embedded(client.get("/").text, "nostain-config")
    assert isinstance(config, dict) and set(config) == {"limits"}
    limits = client.get("/api/limits").json()
    assert config["limits"] == limits
    assert set(limits) == LIMIT_KEYS
    # the client fixture's settings (conftest) and the schemas' fixed lengths
    assert limits["max_curves"] == 50 and limits["max_points_per_curve"] == 200
    assert (limits["max_label_length"], limits["max_well_id_length"]) == (200, 12)
    assert (limits["max_flags_per_well"], limits["max_notes_per_curve"]) == (20, 20)
    assert limits["max_time_points"] == 100


def test_default_limits_and_the_body_limit_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().limits().max_body_bytes == 20_000_000
    monkeypatch.setenv("NOSTAIN_MAX_BODY_BYTES", "1234")
    assert Settings().limits().max_body_bytes == 1234


def test_the_schemas_enforce_the_served_lengths(client: TestClient) -> None:
    limits = client.get("/api/limits").json()
    too_long = {
        "label": "x" * (limits["max_label_length"] + 1),
        "well": "B" * (limits["max_well_id_length"] + 1),
        "flags": ["f"] * (limits["max_flags_per_well"] + 1),
    }
    for field, value in too_long.items():
        well = {"concentration_um": 1, "od450": 1, **({field: value} if field != "label" else {})}
        curve = {"wells": [well], **({"label": value} if field == "label" else {})}
        assert client.post("/api/report.csv", json={"curves": [curve]}).status_code == 422, field
    notes = ["n"] * (limits["max_notes_per_curve"] + 1)
    r = client.post(
        "/api/report.csv", json={"curves": [{"wells": [{"concentration_um": 1, "od450": 1}], "notes": notes}]}
    )
    assert r.status_code == 422 and "limit 20" in r.json()["detail"]


def test_limits_are_documented(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    schema = doc["paths"]["/api/limits"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Limits"}
    assert set(doc["components"]["schemas"]["Limits"]["properties"]) == LIMIT_KEYS


def test_the_page_warms_the_fitter_after_answering(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.routes import pages

    warmed: list[Settings] = []
    monkeypatch.setattr(pages, "warm_fitter", warmed.append)
    assert client.get("/").status_code == 200
    assert len(warmed) == 1 and isinstance(warmed[0], Settings)  # a background task after the response


def test_warming_loads_what_the_first_fit_would_wait_for() -> None:
    """In a fresh process: the lazily imported statistics are not loaded at start-up, and are after it."""
    code = (
        "import sys\n"
        "from app.analysis.warm import warm_fitter\n"
        "from app.config import Settings\n"
        "assert 'scipy.stats' not in sys.modules, 'imported at start-up'\n"
        "warm_fitter(Settings())\n"
        "assert 'scipy.stats' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
