"""Decode-time reduction of JPEGs (training/preprocess.py): Pillow's draft rule, applied only to JPEGs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training.preprocess import jpeg_reduction, load_rgb, resize_area


@pytest.mark.parametrize(
    ("width", "height", "size", "k"),
    [
        (2560, 2160, 224, 8),  # the paper's images: 320 × 270 px are decoded for a 224 px input
        (2560, 2160, 160, 8),
        (2560, 2160, 300, 4),  # 2160 // 300 = 7
        (1280, 1080, 160, 4),  # 1080 // 160 = 6
        (1280, 1080, 224, 4),
        (320, 270, 96, 2),
        (200, 180, 224, 1),  # smaller than the input: never reduced
    ],
)
def test_reduction_follows_pillows_draft_rule(width: int, height: int, size: int, k: int) -> None:
    assert jpeg_reduction(width, height, size) == k
    assert min(-(-width // k), -(-height // k)) >= min(size, width, height)


def _textured(width: int, height: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(60, 200, (height // 16 + 1, width // 16 + 1))
    grey = np.kron(coarse, np.ones((16, 16)))[:height, :width] + rng.normal(0, 4, (height, width))
    return np.stack([grey, grey * 0.97, grey * 0.9], -1).clip(0, 255).astype(np.uint8)


def test_a_jpeg_is_decoded_reduced_and_other_formats_are_not(tmp_path: Path) -> None:
    pixels = _textured(644, 516)
    Image.fromarray(pixels).save(tmp_path / "w.jpg", quality=95)
    Image.fromarray(pixels).save(tmp_path / "w.png")
    full = load_rgb(tmp_path / "w.jpg")
    reduced = load_rgb(tmp_path / "w.jpg", reduce_for=96)  # k = min(6, 5) → 4
    assert full.shape == (516, 644, 3) and reduced.shape == (129, 161, 3)
    assert load_rgb(tmp_path / "w.png", reduce_for=96).shape == (516, 644, 3)
    # DCT scaling is an antialiased downscale: the model input barely moves (grey levels, 0–255)
    gap = np.abs(resize_area(reduced, 96) - resize_area(full, 96))
    assert gap.mean() < 1.0 and gap.max() < 6.0


def test_a_side_that_is_no_multiple_of_k_ends_in_a_padded_pixel(tmp_path: Path) -> None:
    """ceil(W/k) px: the last column stands for W mod k original columns (libjpeg pads the block), so the
    reduced image is stretched by less than k px. The page does the same; both sides agree bit for bit."""
    Image.fromarray(_textured(645, 516)).save(tmp_path / "w.jpg", quality=95)
    assert load_rgb(tmp_path / "w.jpg", reduce_for=96).shape == (129, 162, 3)  # ceil(645 / 4) = 162
