"""The bit-depth rule of training/preprocess.py: 8-bit images untouched, others mapped by their data's bits.

The page's twin (static/js/preprocess.js) is checked on the same samples in tests/e2e/test_tiff_variants.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from training.preprocess import (
    Window,
    bits_needed,
    data_window,
    decode_image,
    percentile_window,
    plate_window,
    robust_max,
    to_uint8,
)


@pytest.mark.parametrize(("value", "bits"), [(0, 8), (255, 8), (256, 9), (3901, 12), (4095, 12), (4096, 13)])
def test_bits_needed(value: float, bits: int):
    assert bits_needed(value) == bits


def test_robust_max_ignores_the_top_tenth_of_a_percent():
    samples = np.full(10_000, 3000, np.uint16)
    samples[:10] = 65535  # ten hot pixels of 10,000: exactly ⌊n / 1000⌋
    assert robust_max(samples) == 3000
    samples[10] = 65535  # one more is data
    assert robust_max(samples) == 65535
    assert robust_max(np.array([np.nan, np.inf, 2.0], np.float32)) == 2.0  # 2 finite samples, rank 1
    assert robust_max(np.array([], np.uint16)) == 0.0


def test_a_12bit_camera_in_a_16bit_file_is_mapped_by_4095_not_65535():
    samples = np.array([[0, 1000, 2048, 3901, 4095]], np.uint16)
    window = data_window(samples)
    assert (window.low, window.high, window.bits) == (0.0, 4095.0, 12)
    assert to_uint8(samples).tolist() == [[0, 62, 128, 243, 255]]


def test_full_16bit_range_keeps_the_former_rule_bit_for_bit():
    samples = np.arange(0, 65536, 7, dtype=np.uint16)
    former = np.clip(np.floor(samples.astype(np.float64) * (255 / 65535) + 0.5), 0, 255).astype(np.uint8)
    assert np.array_equal(to_uint8(samples), former)


def test_declared_bits_win_when_the_data_fit_in_them():
    samples = np.array([100, 900], np.uint16)  # 10 bits of data
    declared = data_window(samples, declared_bits=12, declared_source="OME SignificantBits")
    assert declared.high == 4095 and declared.source == "12-bit, as the file declares (OME SignificantBits)"
    exceeded = data_window(np.array([5000], np.uint16), declared_bits=12, declared_source="x")
    assert exceeded.bits == 13 and "exceed the 12 bits" in exceeded.source


def test_floats_of_0_to_1_and_other_floats():
    assert data_window(np.array([0.0, 0.5, 1.0], np.float32)).high == 1.0
    assert to_uint8(np.array([0.0, 0.5, 1.0, np.nan], np.float32)).tolist() == [0, 128, 255, 0]
    assert data_window(np.array([0.0, 3000.0], np.float32)).bits == 12


def test_plate_window_is_the_widest_and_maps_every_well_alike():
    windows = [data_window(np.array([3000], np.uint16)), data_window(np.array([6700], np.uint16))]
    plate = plate_window(windows)
    assert (plate.low, plate.high, plate.bits) == (0.0, 8191.0, 13)
    assert to_uint8(np.array([4095], np.uint16), plate).tolist() == [127]  # 4095 · 255 / 8191 = 127.48
    with pytest.raises(ValueError, match="at least one"):
        plate_window([])


def test_a_window_must_be_finite_and_ordered():
    with pytest.raises(ValueError, match="finite low < high"):
        Window(10.0, 10.0)


def test_8bit_files_are_decoded_as_before(tmp_path: Path):
    """The bundled models' inputs do not change: 8-bit files never pass through the rule."""
    rgb = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "a.png")
    tifffile.imwrite(tmp_path / "a.tif", rgb, photometric="rgb")
    Image.fromarray(rgb[:, :, 0]).save(tmp_path / "grey.png")
    for name in ("a.png", "a.tif"):
        decoded = decode_image(tmp_path / name)
        assert np.array_equal(decoded.rgb, rgb) and decoded.window is None, name
    grey = decode_image(tmp_path / "grey.png").rgb
    assert np.array_equal(grey, np.repeat(rgb[:, :, :1], 3, axis=2))


def test_16bit_png_and_tiff_of_the_same_data_decode_alike(tmp_path: Path):
    samples = np.random.default_rng(1).integers(500, 4000, (29, 31), dtype=np.uint16)
    Image.fromarray(samples).save(tmp_path / "a.png")
    tifffile.imwrite(tmp_path / "a.tif", samples, compression="lzw")
    png, tif = decode_image(tmp_path / "a.png"), decode_image(tmp_path / "a.tif")
    assert np.array_equal(png.rgb, tif.rgb)
    assert tif.window is not None and tif.window.bits == 12
    assert float(tif.rgb.mean()) > 100  # not the near-black of ÷ 65,535


def test_a_given_window_replaces_the_images_own(tmp_path: Path):
    samples = np.full((20, 20), 2000, np.uint16)
    tifffile.imwrite(tmp_path / "a.tif", samples)
    decoded = decode_image(tmp_path / "a.tif", window=Window(0.0, 65535.0))
    assert int(decoded.rgb[0, 0, 0]) == 8 and decoded.data_window is not None
    assert decoded.data_window.bits == 11  # the image's own window is still reported, for plate_window


def test_the_percentile_stretch_is_asked_for_only(tmp_path: Path):
    samples = np.arange(10_000, dtype=np.uint16).reshape(100, 100) + 1000  # 1,000 … 10,999
    window = percentile_window(samples)
    assert (window.low, window.high, window.bits) == (1010.0, 10989.0, None)  # ranks 10 and 9,989
    assert percentile_window(np.full((4, 4), 7, np.uint16)) == data_window(np.full((4, 4), 7, np.uint16))
    tifffile.imwrite(tmp_path / "a.tif", samples)
    assert decode_image(tmp_path / "a.tif").window == data_window(samples)  # not by default
    stretched = decode_image(tmp_path / "a.tif", window="percentile")
    assert stretched.window == window and stretched.rgb.min() == 0 and stretched.rgb.max() == 255
    with pytest.raises(ValueError, match="window must be"):
        decode_image(tmp_path / "a.tif", window="auto")  # type: ignore[arg-type]


def test_an_imagej_bit_depth_display_range_declares_the_bits(tmp_path: Path):
    samples = np.random.default_rng(2).integers(0, 2000, (20, 30), dtype=np.uint16)  # 11 bits of data
    tifffile.imwrite(tmp_path / "ij.tif", samples, imagej=True, metadata={"min": 0.0, "max": 4095.0})
    decoded = decode_image(tmp_path / "ij.tif")
    assert decoded.window is not None and decoded.window.high == 4095
    assert decoded.window.source == "12-bit, as the file declares (ImageJ display range)"
    tifffile.imwrite(tmp_path / "auto.tif", samples, imagej=True, metadata={"min": 37.0, "max": 1800.0})
    auto = decode_image(tmp_path / "auto.tif").window
    assert auto is not None and auto.high == 2047  # an auto-contrast range is a viewing choice: not used
