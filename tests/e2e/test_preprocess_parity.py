"""The page decodes and downscales images exactly as training does (training/preprocess.py).

Each file is decoded in Chromium by static/js/decode.js (createImageBitmap → OffscreenCanvas → getImageData)
and resized by static/js/preprocess.js, then compared with ``training.preprocess.load_rgb`` (Pillow) and
``resize_area``.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.e2e.conftest import well_image
from training.preprocess import load_rgb, resize_area

pytestmark = pytest.mark.e2e

_DECODE = """async ([b64, size]) => {
  const { decodeImage } = await import('/static/js/decode.js');
  const { toModelInput } = await import('/static/js/preprocess.js');
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const d = await decodeImage(new Blob([bytes]));
  const input = toModelInput(d.pixels, d.height, d.width, size, d.order);
  const [r, g, b] = d.order === 'BGRA' ? [2, 1, 0] : [0, 1, 2];
  const rgb = new Uint8Array(d.width * d.height * 3);
  for (let p = 0, q = 0; p < rgb.length; p += 3, q += 4) {
    rgb[p] = d.pixels[q + r]; rgb[p + 1] = d.pixels[q + g]; rgb[p + 2] = d.pixels[q + b];
  }
  const b64of = (u8) => {
    let s = '';
    for (let i = 0; i < u8.length; i += 32768) s += String.fromCharCode(...u8.subarray(i, i + 32768));
    return btoa(s);
  };
  return { width: d.width, height: d.height, format: d.format, order: d.order, warnings: d.warnings,
           rgb: b64of(rgb), input: b64of(new Uint8Array(input.buffer)) };
}"""


def _image(width: int, height: int) -> np.ndarray:
    return well_image(120, width=width, height=height, rng=np.random.default_rng(width * 7 + height))


def _write(kind: str, folder: Path) -> Path:
    """A test image of one kind (odd sizes, so resize edges fall between pixels)."""
    rgb = _image(333, 217)
    path = folder / f"{kind}.{'png' if kind.startswith('png') else 'jpg'}"
    img = Image.fromarray(rgb)
    if kind == "jpeg_420":
        img.save(path, quality=90)
    elif kind == "jpeg_444":
        img.save(path, quality=95, subsampling=0)
    elif kind == "jpeg_progressive":
        img.save(path, quality=85, progressive=True)
    elif kind == "jpeg_grey":
        img.convert("L").save(path, quality=90)
    elif kind.startswith("jpeg_exif"):
        exif = img.getexif()
        exif[0x0112] = int(kind.removeprefix("jpeg_exif"))
        img.save(path, quality=92, exif=exif)
    elif kind == "png_rgb":
        img.save(path)
    elif kind == "png_grey":
        img.convert("L").save(path)
    elif kind == "png_rgba_opaque":
        img.convert("RGBA").save(path)
    elif kind == "png_palette":
        img.convert("P").save(path)
    elif kind == "png_rgba_translucent":
        alpha = np.random.default_rng(1).integers(1, 255, rgb.shape[:2], dtype=np.uint8)
        Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(path)
    elif kind == "png_grey16":  # 16 → 8 bit: Chromium's rule may differ from to_uint8's rounding by 1
        Image.fromarray(rgb[:, :, 1].astype(np.uint16) * 257 + 100).save(path)
    else:
        raise ValueError(kind)
    return path


def _decode_in_browser(pg: Any, path: Path, size: int) -> dict[str, Any]:
    out = pg.evaluate(_DECODE, [base64.b64encode(path.read_bytes()).decode(), size])
    h, w = out["height"], out["width"]
    out["rgb"] = np.frombuffer(base64.b64decode(out["rgb"]), np.uint8).reshape(h, w, 3)
    out["input"] = np.frombuffer(base64.b64decode(out["input"]), np.float32).reshape(size, size, 3)
    return out


KINDS = [
    "jpeg_420", "jpeg_444", "jpeg_progressive", "jpeg_grey", "jpeg_exif2", "jpeg_exif3", "jpeg_exif6",
    "jpeg_exif8", "png_rgb", "png_grey", "png_rgba_opaque", "png_rgba_translucent", "png_palette",
    "png_grey16",
]  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_browser_pixels_and_model_input_equal_pillow_and_resize_area(
    origin_page: Any, kind: str, tmp_path: Path
):
    path = _write(kind, tmp_path)
    expected = load_rgb(path)
    got = _decode_in_browser(origin_page, path, 96)
    assert got["rgb"].shape == expected.shape  # EXIF orientation applied by both
    pixel_diff = int(np.abs(got["rgb"].astype(int) - expected.astype(int)).max())
    input_diff = float(np.abs(got["input"] - resize_area(expected, 96)).max())
    print(f"{kind}: max |browser − Pillow| pixel {pixel_diff}, model input {input_diff:.2e}")
    assert pixel_diff <= 1
    # Same pixels → the same float32 model input (the JS resize is the exact twin of resize_area).
    assert float(np.abs(got["input"] - resize_area(got["rgb"], 96)).max()) < 1e-4
    assert input_diff <= 1.0


@pytest.mark.parametrize(
    ("width", "height", "size"), [(1280, 1080, 224), (640, 540, 96), (97, 95, 96), (50, 64, 96)]
)
def test_resize_matches_resize_area_for_down_and_up_scaling(
    origin_page: Any, width: int, height: int, size: int, tmp_path
):
    path = tmp_path / "x.png"
    Image.fromarray(_image(width, height)).save(path, compress_level=1)
    got = _decode_in_browser(origin_page, path, size)
    assert np.array_equal(got["rgb"], load_rgb(path))
    assert float(np.abs(got["input"] - resize_area(load_rgb(path), size)).max()) < 1e-4
