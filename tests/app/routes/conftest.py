"""A TestClient whose registry reads a temporary models folder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings, get_settings
from app.main import app


def write_model(models_dir: Path, model_id: str, **card_extra: object) -> Path:
    """A minimal registry entry: card.json + a (dummy) model.json."""
    folder = models_dir / model_id
    folder.mkdir(parents=True)
    (folder / "model.json").write_text('{"format": "graph-model"}')
    (folder / "group1-shard1of1.bin").write_bytes(b"\0" * 16)
    card = {
        "schema": "nostain.model-card/1", "id": model_id, "name": model_id.upper(), "version": "1.0.0",
        "cell_line": "A549", "drug": "doxorubicin", "synthetic": True, "format": "tfjs_graph_model",
        "model_file": "model.json", "input": {"size": 224}, **card_extra,
    }  # fmt: skip
    (folder / "card.json").write_text(json.dumps(card))
    return folder


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    return tmp_path / "models"


@pytest.fixture
def client(models_dir: Path) -> Iterator[TestClient]:
    models_dir.mkdir(exist_ok=True)
    write_model(models_dir, "a549-m")
    settings = Settings(models_dir=models_dir, max_curves=50, max_points_per_curve=200)
    app.dependency_overrides[get_settings] = lambda: settings
    try:
        yield TestClient(app)
    finally:
        app.dependency_overrides.clear()
