"""training.score.served: the page's TF.js files run in Python give the page's OD450.

The chain to the browser: the e2e fixture caches the Keras OD450 of each fixture image, and the browser tests
hold the page to Keras (tests/e2e/test_workflow.py: JPEG within 5.4e-5); the card's
``verification.reference.od450`` is the browser's own OD450 of the reference input, measured at export.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.conftest import Fixture
from tests.training.score.conftest import MODEL_A
from training.preprocess import preprocess
from training.score.served import ParityError, ServedModel, find_model, rival_cards

PAGE_TOLERANCE_OD450 = 1e-3  # the page's promise (docs/model-card.md)


def test_od450_equals_the_page_on_the_same_files(fixture: Fixture, served: ServedModel):
    inputs = np.stack([preprocess(path, served.size) for path in fixture.files])
    od450, features = served.predict(inputs)
    keras = np.array([fixture.plate[path.name]["keras_od450"] for path in fixture.files])
    difference = np.abs(od450 - keras).max()
    print(f"max |Δ OD450| tfjs-graph-converter vs Keras over {len(keras)} fixture images: {difference:.2g}")
    assert difference < 1e-4  # well inside the page's 1e-3: the same float32 network
    assert features.shape == (len(keras), served.entry.card["n_features"])
    assert od450.dtype == np.float32 and np.all(np.isfinite(features))


def test_reference_input_gives_the_browsers_od450(served: ServedModel):
    check = served.reference_check()
    print(f"reference input: {check.od450:.6f} here, {check.browser_od450:.6f} in the browser")
    assert check.browser_od450 is not None and check.difference is not None
    assert check.difference < PAGE_TOLERANCE_OD450
    assert check.tolerance == 1e-3


def test_damaged_weights_are_refused_as_the_page_refuses_them(fixture: Fixture, tmp_path: Path):
    models = tmp_path / "models"
    shutil.copytree(fixture.models_dir, models)
    shard = next((models / MODEL_A / "head").glob("*.bin"))
    weights = np.frombuffer(shard.read_bytes(), dtype=np.float32).copy()
    weights[: len(weights) // 2] *= 1.5
    shard.write_bytes(weights.tobytes())
    with pytest.raises(ParityError, match="on the reference input, the browser gave"):
        ServedModel(find_model(models / MODEL_A)).reference_check()


def test_a_folder_the_server_would_not_list_is_refused_with_its_reason(fixture: Fixture, tmp_path: Path):
    models = tmp_path / "models"
    shutil.copytree(fixture.models_dir / MODEL_A, models / MODEL_A)  # no backbones/ beside it
    with pytest.raises(ValueError, match=r"the server would not list this model: .*backbone"):
        find_model(models / MODEL_A)
    with pytest.raises(ValueError, match=r"no card\.json"):
        find_model(tmp_path)
    card = json.loads((models / MODEL_A / "card.json").read_text(encoding="utf-8"))
    old = {
        **card,
        "schema": "nostain.model-card/1",
        "format": "tfjs_graph_model",
        "model_file": "head/model.json",
    }
    (models / MODEL_A / "card.json").write_text(json.dumps(old), encoding="utf-8")
    with pytest.raises(ValueError, match=r"convert it with scripts/convert_card1_models\.py"):
        find_model(models / MODEL_A)


def test_rivals_are_the_other_models_on_the_same_backbone_with_a_trust_block(fixture: Fixture, trusted):
    assert rival_cards(find_model(fixture.models_dir / MODEL_A)) == []  # the fixture's cards have no ood
    (rival,) = rival_cards(find_model(trusted.folder / MODEL_A))
    assert rival["id"] == "fixture-b" and rival["ood"]["features"]


def test_a_float16_backbone_of_another_input_size_runs_at_the_size_its_card_gives(
    fixture: Fixture, tmp_path: Path
):
    """The bundled models move to 160 px float16 backbones: the size comes from the card, never assumed."""
    import tf_keras as keras

    from training.export import export_tfjs
    from training.model import build_model

    size = 64
    keras.utils.set_random_seed(1)
    backbone = keras.applications.MobileNetV2(
        input_shape=(size, size, 3), alpha=0.35, include_top=False, weights=None
    )
    # Batch norms as training leaves them (not the identity of a fresh network, whose zero offsets TF.js folds
    # away into a bias-less fused depthwise op that tfjs-graph-converter cannot split).
    rng = np.random.default_rng(0)
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            shifts = (rng.normal(0, 0.1, beta.shape).astype(np.float32) for _ in range(2))
            layer.set_weights([gamma, next(shifts) + beta, next(shifts) + mean, variance])
    card = json.loads((fixture.models_dir / MODEL_A / "card.json").read_text(encoding="utf-8"))
    filled_in_by_export = ("schema", "id", "head", "input", "n_features", "quantization", "versions",
                           "created", "verification")  # fmt: skip
    card = {k: v for k, v in card.items() if k not in filled_in_by_export} | {"backbone": "MobileNetV2"}
    inputs = np.stack([preprocess(path, size) for path in fixture.files[:4]])
    export_tfjs(
        build_model(backbone), tmp_path / "models" / "tiny-f16", card, quantize="float16", inputs=inputs
    )
    served = ServedModel(find_model(tmp_path / "models" / "tiny-f16"))
    assert served.size == size and served.entry.card["backbone"]["id"].endswith(f"-{size}-float16")
    check = served.reference_check()  # refused (ParityError) if float16 weights were misread
    assert check.difference is not None and check.difference <= check.tolerance
    od450, features = served.predict(inputs)
    assert od450.shape == (4,) and features.shape == (4, served.entry.card["n_features"])
