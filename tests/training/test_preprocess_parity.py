"""The one resize rule: resize_area equals an explicit area-weight matrix on real JPEG files, and the training
views, the evaluation inputs and the page's input are all the same array."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training.features import ViewSpec, image_views
from training.preprocess import load_rgb, resize_area


def area_weights(n_in: int, n_out: int) -> np.ndarray:
    """``(n_out, n_in)`` matrix: row i holds the overlap of each input pixel [j, j+1) with output pixel i's
    footprint [i·s, (i+1)·s), divided by s = n_in / n_out (the definition, written out the slow way)."""
    scale = n_in / n_out
    weights = np.zeros((n_out, n_in))
    for i in range(n_out):
        lo, hi = i * scale, (i + 1) * scale
        for j in range(n_in):
            weights[i, j] = max(0.0, min(hi, j + 1) - max(lo, j)) / scale
    return weights


@pytest.fixture(scope="module")
def jpegs(tmp_path_factory) -> list[Path]:
    """Real JPEG files: a noisy colour texture and a smooth gradient, in odd sizes."""
    folder = tmp_path_factory.mktemp("jpegs")
    rng = np.random.default_rng(0)
    paths = []
    for k, (h, w) in enumerate([(217, 263), (160, 120), (99, 301)]):
        yy, xx = np.mgrid[0:h, 0:w]
        base = np.stack([xx * 255 / w, yy * 255 / h, (xx + yy) % 255], axis=2)
        pixels = np.clip(base + rng.normal(0, 25, base.shape), 0, 255).astype(np.uint8)
        path = folder / f"well{k}.jpg"
        Image.fromarray(pixels).save(path, quality=85)
        paths.append(path)
    return paths


@pytest.mark.parametrize("size", [224, 64, 37])
def test_resize_area_equals_the_weight_matrix_definition_on_jpegs(jpegs, size):
    for path in jpegs:
        pixels = load_rgb(path).astype(np.float64)
        h, w = pixels.shape[:2]
        rows, cols = area_weights(h, size), area_weights(w, size)
        expected = np.einsum("ih,hwc,jw->ijc", rows, pixels, cols, optimize=True)
        got = resize_area(load_rgb(path), size)
        assert got.shape == (size, size, 3) and got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=0, atol=2e-3)


def test_weight_matrix_rows_sum_to_one():
    np.testing.assert_allclose(area_weights(263, 37).sum(axis=1), 1.0)


def test_training_view_zero_is_exactly_what_evaluation_and_the_page_feed(jpegs):
    """View 0 follows the decode rule (a JPEG decoded at a reduced scale, then the area resize)."""
    spec = ViewSpec(n_views=3, size=48, seed=1)
    for path in jpegs:
        expected = resize_area(load_rgb(path, reduce_for=48), 48)
        np.testing.assert_array_equal(image_views(path, spec)[0], expected)
    assert load_rgb(jpegs[0], reduce_for=48).shape[:2] == (55, 66)  # 217 × 263 px decoded at 1/4
