"""Cached backbone features: computed once per (image content, backbone weights, views), order-independent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training import features as features_module
from training.dataset import Augmentation
from training.features import ViewSpec, cached_features, decode_for_views, image_views, iter_views
from training.preprocess import load_rgb, preprocess, resize_area


class FakeWeight:
    def __init__(self, value: np.ndarray, name: str = "w:0"):
        self.value, self.name = value, name

    def numpy(self) -> np.ndarray:
        return self.value


class FakeExtractor:
    """Stands in for a Keras feature extractor: per-channel means of each view, times a 'weight'."""

    def __init__(self, size: int, scale: float = 1.0):
        self.name = "fake"
        self.input_shape = (None, size, size, 3)
        self.weights = [FakeWeight(np.array([scale], np.float32))]
        self.calls = 0

    def predict_on_batch(self, batch: np.ndarray) -> np.ndarray:
        self.calls += 1
        return batch.mean(axis=(1, 2)) * self.weights[0].value


@pytest.fixture
def images(tmp_path) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(5):
        path = tmp_path / f"img{i}.png"
        Image.fromarray(rng.integers(0, 256, (40 + i, 50, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def test_features_have_one_row_per_view_and_view_zero_is_the_plain_image(images):
    spec = ViewSpec(n_views=3, size=16, seed=0)
    feats = cached_features(images, FakeExtractor(16), spec, cache=None, batch_images=2)
    assert feats.shape == (5, 3, 3) and feats.dtype == np.float32
    for path, row in zip(images, feats, strict=True):
        np.testing.assert_allclose(row[0], preprocess(path, 16).mean(axis=(0, 1)), rtol=1e-5)


def test_cache_is_reused_and_keyed_by_weights_and_views(images, tmp_path):
    cache = tmp_path / "cache"
    spec = ViewSpec(n_views=2, size=16, seed=0)
    first = FakeExtractor(16)
    a = cached_features(images, first, spec, cache=cache)
    assert first.calls > 0 and len(list(cache.rglob("*.npz"))) == 5
    again = FakeExtractor(16)
    np.testing.assert_array_equal(cached_features(images, again, spec, cache=cache), a)
    assert again.calls == 0  # all from the cache
    other_weights = FakeExtractor(16, scale=2.0)
    np.testing.assert_allclose(cached_features(images, other_weights, spec, cache=cache), 2 * a, rtol=1e-6)
    assert other_weights.calls > 0
    other_seed = FakeExtractor(16)
    b = cached_features(images, other_seed, ViewSpec(n_views=2, size=16, seed=1), cache=cache)
    assert other_seed.calls > 0 and not np.allclose(b[:, 1], a[:, 1])
    np.testing.assert_allclose(b[:, 0], a[:, 0])  # view 0 never depends on the seed


def test_views_do_not_depend_on_order_or_workers(images):
    spec = ViewSpec(n_views=3, size=16, seed=4)
    forward = list(iter_views(images, spec, workers=1))
    backward = list(iter_views(images[::-1], spec, workers=2))[::-1]
    for x, y in zip(forward, backward, strict=True):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(image_views(images[2], spec), forward[2])


def test_a_copied_file_gets_the_same_views(images, tmp_path):
    copy = tmp_path / "copy.png"
    copy.write_bytes(images[0].read_bytes())
    spec = ViewSpec(n_views=2, size=16, seed=0)
    np.testing.assert_array_equal(image_views(copy, spec), image_views(images[0], spec))


def test_spec_key_changes_with_augmentation():
    assert ViewSpec().key() != ViewSpec(augmentation=Augmentation(hue=0.0)).key()
    with pytest.raises(ValueError, match="n_views"):
        ViewSpec(n_views=0)


def test_extractor_size_must_match_spec(images):
    with pytest.raises(ValueError, match="size"):
        cached_features(images, FakeExtractor(32), ViewSpec(size=16), cache=None)


@pytest.fixture
def big_jpeg(tmp_path) -> Path:
    """A 700 × 600 px JPEG: large enough for the decode rule to reduce it."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:600, 0:700]
    base = np.stack([xx * 255 / 700, yy * 255 / 600, (xx + yy) % 255], axis=2)
    path = tmp_path / "well.jpg"
    Image.fromarray(np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)).save(path)
    return path


def test_views_of_a_jpeg_follow_the_decode_rule_and_never_decode_it_in_full(big_jpeg, monkeypatch):
    calls = []

    def recording_load_rgb(path, *, reduce_for=None):
        calls.append(reduce_for)
        return load_rgb(path, reduce_for=reduce_for)

    monkeypatch.setattr(features_module, "load_rgb", recording_load_rgb)
    spec = ViewSpec(n_views=4, size=64, seed=0)
    plain, source = decode_for_views(big_jpeg, spec)
    assert plain.shape == (75, 88, 3)  # 600 // 64 = 9 → decoded at 1/8
    assert source.shape == (150, 175, 3)  # for augmentation_side(64, 0.7) = 91 px: 600 // 91 = 6 → 1/4
    assert calls == [64, 91]
    views = image_views(big_jpeg, spec)
    np.testing.assert_array_equal(views[0], resize_area(load_rgb(big_jpeg, reduce_for=64), 64))
    assert all(reduce_for is not None for reduce_for in calls)


def test_one_decode_serves_both_when_the_scales_agree(big_jpeg, images, monkeypatch):
    calls = []

    def recording_load_rgb(path, *, reduce_for=None):
        calls.append(reduce_for)
        return load_rgb(path, reduce_for=reduce_for)

    monkeypatch.setattr(features_module, "load_rgb", recording_load_rgb)
    plain, source = decode_for_views(big_jpeg, ViewSpec(n_views=4, size=32))  # 1/8 for 32 and 46 px
    assert plain is source and calls == [32]
    plain, source = decode_for_views(images[0], ViewSpec(n_views=4, size=16))  # a PNG: decoded in full
    assert plain is source and plain.shape == (40, 50, 3)


def test_several_seeds_at_once_give_what_each_seed_gives_alone(big_jpeg, images, tmp_path, monkeypatch):
    paths = [big_jpeg, *images[:2]]
    specs = [ViewSpec(n_views=3, size=16, seed=0), ViewSpec(n_views=3, size=16, seed=1)]
    decodes = []

    def recording_decode(path, spec):
        decodes.append(path)
        return decode_for_views(path, spec)

    monkeypatch.setattr(features_module, "decode_for_views", recording_decode)
    extractor = FakeExtractor(16)
    together = features_module.cached_features_for_specs(paths, extractor, specs, cache=tmp_path / "c")
    assert len(decodes) == len(paths)  # each file decoded once for both seeds
    for spec, array in zip(specs, together, strict=True):
        np.testing.assert_allclose(
            array, cached_features(paths, FakeExtractor(16), spec, cache=None), rtol=1e-6
        )
    np.testing.assert_array_equal(together[0][:, 0], together[1][:, 0])
    assert len(list((tmp_path / "c").rglob("*.npz"))) == 2 * len(paths)
    again = FakeExtractor(16)
    cached = features_module.cached_features_for_specs(paths, again, specs, cache=tmp_path / "c")
    assert again.calls == 0 and all(np.array_equal(a, b) for a, b in zip(cached, together, strict=True))
