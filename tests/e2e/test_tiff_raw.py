"""The fast paths for grey microscope images give exactly what the general paths give.

1. The read of uncompressed grey TIFF strips (static/js/tiffraw.js) gives geotiff.js' samples, or declines.
Each file is written here with tifffile, then read in Chromium twice: by ``rawGreySamples`` and by geotiff.js
``readRasters`` (the general path it replaces for these files). Where the fast path applies the samples must
be equal, element for element and of the same type; every other layout must be declined (null), so that it is
read by geotiff.js as before. Training's parity with the page on the same layouts is tested in
test_tiff_variants.py.

2. A grey image decoded as one byte per pixel (decode.js ``grey``) and area-averaged once
(preprocess.js ``resizeArea`` with 1 channel) gives the same model input, to the last bit, as its RGBA copy.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile

pytestmark = pytest.mark.e2e

_READ_BOTH = """async (b64) => {
  await import('/static/vendor/geotiff.js');
  const { rawGreySamples } = await import('/static/js/tiffraw.js');
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const image = await (await GeoTIFF.fromArrayBuffer(bytes.buffer)).getImage(0);
  const raw = await rawGreySamples(image, bytes.buffer);
  if (raw === null) return { raw: null };
  const general = await image.readRasters({ samples: [0], interleave: true });
  let equal = raw.length === general.length;
  for (let i = 0; equal && i < raw.length; i++) equal = raw[i] === general[i];
  return { raw: raw.constructor.name, general: general.constructor.name, equal, n: raw.length,
           sum: raw.reduce((a, b) => a + b, 0) };
}"""

_RNG = np.random.default_rng(7)
GREY16 = _RNG.integers(0, 4096, size=(67, 91), dtype=np.uint16)  # 12-bit data in a 16-bit container
GREY8 = _RNG.integers(0, 256, size=(67, 91), dtype=np.uint8)

#: Layouts the fast path reads: name → (image, tifffile options).
READ = {
    "uint16_one_strip": (GREY16, {"rowsperstrip": 67}),
    "uint16_default_strips": (GREY16, {}),
    "uint16_strips_of_7_rows": (GREY16, {"rowsperstrip": 7}),  # the last strip holds 4 rows
    "uint16_big_endian": (GREY16, {"byteorder": ">", "rowsperstrip": 10}),
    "uint16_bigtiff": (GREY16, {"bigtiff": True}),
    "uint8_strips": (GREY8, {"rowsperstrip": 16}),
}
#: Layouts it declines (geotiff.js reads them).
DECLINED = {
    "lzw": (GREY16, {"compression": "lzw"}),
    "tiles": (GREY16, {"tile": (32, 32)}),
    "rgb16": (np.stack([GREY16] * 3, axis=-1), {"photometric": "rgb"}),
    "two_samples": (np.stack([GREY16] * 2, axis=-1), {"photometric": "minisblack", "planarconfig": "contig"}),
    "int16": (GREY16.astype(np.int16), {}),
    "float32": (GREY16.astype(np.float32), {}),
    "packed_12bit": (GREY16, {"bitspersample": 12}),
}


def _read(pg: Any, path: Path) -> dict[str, Any]:
    return pg.evaluate(_READ_BOTH, base64.b64encode(path.read_bytes()).decode())


@pytest.mark.parametrize("name", sorted(READ))
def test_fast_path_gives_geotiffs_samples(origin_page: Any, tmp_path: Path, name: str):
    image, options = READ[name]
    path = tmp_path / f"{name}.tif"
    tifffile.imwrite(path, image, **{"photometric": "minisblack", **options})
    got = _read(origin_page, path)
    expected_type = "Uint16Array" if image.dtype == np.uint16 else "Uint8Array"
    assert got["raw"] == expected_type == got["general"]
    assert got["equal"] and got["n"] == image.size
    assert got["sum"] == int(image.sum(dtype=np.int64))  # and both are the file's samples


@pytest.mark.parametrize("name", sorted(DECLINED))
def test_other_layouts_are_left_to_geotiff(origin_page: Any, tmp_path: Path, name: str):
    image, options = DECLINED[name]
    path = tmp_path / f"{name}.tif"
    tifffile.imwrite(path, image, **options)
    assert _read(origin_page, path)["raw"] is None


_MODEL_INPUTS = """async ([b64, size]) => {
  const { decodeImage } = await import('/static/js/decode.js');
  const { toModelInput } = await import('/static/js/preprocess.js');
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const grey = await decodeImage(new Blob([bytes]), { reduceFor: size, grey: true });
  const rgba = await decodeImage(new Blob([bytes]), { reduceFor: size });
  const a = toModelInput(grey.pixels, grey.height, grey.width, size, grey.order);
  const b = toModelInput(rgba.pixels, rgba.height, rgba.width, size, rgba.order);
  let same = a.length === b.length;
  for (let i = 0; same && i < a.length; i++) same = Object.is(a[i], b[i]);
  return { order: grey.order, rgbaOrder: rgba.order, same, n: a.length };
}"""

#: Grey files of several layouts and sizes (wider, taller, smaller than the model input).
GREY_FILES = {
    "uint16_strips": (GREY16, {}),
    "uint16_lzw": (GREY16, {"compression": "lzw"}),
    "uint8": (GREY8, {}),
    # more than 256 rows per output row at size 2:
    "uint16_tall": (_RNG.integers(0, 16384, size=(700, 45), dtype=np.uint16), {}),
    "uint16_wide": (_RNG.integers(0, 65535, size=(33, 519), dtype=np.uint16), {"rowsperstrip": 5}),
}


@pytest.mark.parametrize("size", [2, 16, 160])
@pytest.mark.parametrize("name", sorted(GREY_FILES))
def test_grey_model_input_equals_the_rgba_one(origin_page: Any, tmp_path: Path, name: str, size: int):
    image, options = GREY_FILES[name]
    path = tmp_path / f"{name}.tif"
    tifffile.imwrite(path, image, **{"photometric": "minisblack", **options})
    got = origin_page.evaluate(_MODEL_INPUTS, [base64.b64encode(path.read_bytes()).decode(), size])
    assert got["order"] == "GREY" and got["rgbaOrder"] == "RGBA"
    assert got["same"] and got["n"] == size * size * 3


def test_a_16bit_grey_png_takes_the_grey_path_too(origin_page: Any, tmp_path: Path):
    from PIL import Image

    path = tmp_path / "grey16.png"
    Image.fromarray(GREY16).save(path)
    got = origin_page.evaluate(_MODEL_INPUTS, [base64.b64encode(path.read_bytes()).decode(), 16])
    assert got["order"] == "GREY" and got["same"]
