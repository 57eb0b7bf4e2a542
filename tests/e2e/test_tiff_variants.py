"""The page reads every TIFF variant as training does: same pixels, same choices, same metadata, same OD450.

Each file is written here with tifffile and decoded twice: by training (``training.preprocess.decode_image``:
tifffile + imagecodecs, the bit-depth rule) and in Chromium by static/js/decode.js (geotiff.js, tiff.js,
preprocess.js). The 8-bit pixels must be equal byte for byte, and what each side says about the file —
the window of the bit-depth rule, the plane and channel used, the pixel size, the warnings — equal too.
Then 12-bit data in 16-bit TIFF variants are scored on the page and compared with Keras on the same pixels.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile

from tests.e2e.conftest import (
    INPUT_SIZE,
    Fixture,
    Server,
    open_app,
    rows,
    scored_od450,
    wait_scored,
    well_image,
)
from tests.training.test_tiff import CUTS, LOSSLESS, TRUNCATED, write_truncated
from tests.training.test_tiff_meta import CASES, IMAGEJ_HYPERSTACK, METASERIES, OME_TWO_CHANNELS
from training.preprocess import Window, decode_image, load_rgb, preprocess
from training.tiff import ChannelChoiceError

pytestmark = pytest.mark.e2e

_DECODE = """async ([b64, options]) => {
  const { decodeImage } = await import('/static/js/decode.js');
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  let d;
  try {
    d = await decodeImage(new Blob([bytes]), options);
  } catch (err) {
    return { problem: { kind: err.kind, message: err.message, ...err.details } };
  }
  const [r, g, b] = d.order === 'BGRA' ? [2, 1, 0] : [0, 1, 2];
  const rgb = new Uint8Array(d.width * d.height * 3);
  for (let p = 0, q = 0; p < rgb.length; p += 3, q += 4) {
    rgb[p] = d.pixels[q + r]; rgb[p + 1] = d.pixels[q + g]; rgb[p + 2] = d.pixels[q + b];
  }
  let s = '';
  for (let i = 0; i < rgb.length; i += 32768) s += String.fromCharCode(...rgb.subarray(i, i + 32768));
  return { width: d.width, height: d.height, warnings: d.warnings, image: d.image, rgb: btoa(s) };
}"""


def _grey(seed: int, *, top: int = 4095, shape: tuple[int, int] = (67, 91)) -> np.ndarray:
    """A well-like grey image scaled to 0…``top`` (16-bit container)."""
    grey8 = well_image(40, width=shape[1], height=shape[0], rng=np.random.default_rng(seed))[:, :, 1]
    return np.round(grey8.astype(np.float64) * top / 255).astype(np.uint16)


def _write(kind: str, folder: Path) -> Path:
    path = folder / f"{kind}.tif"
    grey = _grey(len(kind))
    options = dict(LOSSLESS).get(kind)
    if options is not None:
        tifffile.imwrite(path, grey, photometric="minisblack", **options)
    elif kind == "rgb16_planar":
        rgb = np.stack([grey, grey // 2, np.minimum(grey * 2, 65535)])
        tifffile.imwrite(path, rgb, photometric="rgb", planarconfig="separate")
    elif kind == "rgb8_jpeg_tiles":
        rgb = well_image(40, width=96, height=80, rng=np.random.default_rng(3))
        tifffile.imwrite(path, rgb, photometric="rgb", tile=(16, 16), compression="jpeg")
    elif kind == "grey8_jpeg_strips":
        grey8 = well_image(40, width=96, height=80, rng=np.random.default_rng(4))[:, :, 1]
        tifffile.imwrite(path, grey8, photometric="minisblack", rowsperstrip=16, compression="jpeg")
    elif kind == "float32":
        tifffile.imwrite(path, grey.astype(np.float32) / 4095)
    elif kind == "int16":
        tifffile.imwrite(path, grey.astype(np.int16))
    elif kind == "max_sample_value_14":
        tifffile.imwrite(path, grey, extratags=[(281, "H", 1, 16383, True)])
    elif kind == "pages":
        for seed in range(3):
            tifffile.imwrite(path, _grey(seed), append=True, photometric="minisblack")
    elif kind == "imagej_z":
        stack = np.stack([_grey(seed) for seed in range(5)])
        tifffile.imwrite(
            path, stack, imagej=True, resolution=(2.0, 2.0), metadata={"axes": "ZYX", "unit": "um"}
        )
    elif kind in ("ome_bright_field", "ome_no_bright_field"):
        names = ["DAPI", "Bright Field"] if kind == "ome_bright_field" else ["DAPI", "GFP"]
        planes = np.stack([_grey(seed) for seed in range(2)])
        metadata = {"axes": "CYX", "Channel": {"Name": names}, "PhysicalSizeX": 0.65, "PhysicalSizeY": 0.65}
        tifffile.imwrite(path, planes, metadata=metadata, ome=True)
    elif kind == "ome_rgb":
        rgb = well_image(40, width=96, height=80, rng=np.random.default_rng(5))
        metadata = {"axes": "YXS", "PhysicalSizeX": 0.5}
        tifffile.imwrite(path, rgb, photometric="rgb", metadata=metadata, ome=True)
    elif kind == "imagej_12bit_range":  # 11 bits of data, a declared 12-bit range
        tifffile.imwrite(path, _grey(9, top=2000), imagej=True, metadata={"min": 0.0, "max": 4095.0})
    elif kind == "metaseries":
        tifffile.imwrite(path, grey, description=METASERIES, metadata=None)  # one ImageDescription
    else:
        raise ValueError(kind)
    return path


KINDS = [name for name, _ in LOSSLESS] + [
    "rgb16_planar", "rgb8_jpeg_tiles", "grey8_jpeg_strips", "float32", "int16", "max_sample_value_14",
    "pages", "imagej_z", "imagej_12bit_range", "ome_bright_field", "ome_rgb", "metaseries",
]  # fmt: skip


def _browser(pg: Any, path: Path, **options: Any) -> dict[str, Any]:
    got = pg.evaluate(_DECODE, [base64.b64encode(path.read_bytes()).decode(), options])
    if "rgb" in got:
        shape = (got["height"], got["width"], 3)
        got["rgb"] = np.frombuffer(base64.b64decode(got["rgb"]), np.uint8).reshape(shape)
    return got


@pytest.mark.parametrize("kind", KINDS)
def test_browser_decodes_each_variant_to_the_same_pixels_and_choices_as_training(
    origin_page: Any, kind: str, tmp_path: Path
):
    path = _write(kind, tmp_path)
    expected = decode_image(path)
    got = _browser(origin_page, path)
    assert "problem" not in got, got.get("problem")
    gap = int(np.abs(got["rgb"].astype(int) - expected.rgb.astype(int)).max())
    assert gap == 0, f"{kind}: max |browser − training| {gap} grey levels"
    assert got["warnings"] == list(expected.warnings)
    info = expected.info()
    pixel_size = info.pop("pixel_size")
    got_pixel_size = got["image"].pop("pixel_size")
    assert got["image"] == info
    if pixel_size is None:
        assert got_pixel_size is None
    else:
        assert got_pixel_size["source"] == pixel_size["source"]
        assert got_pixel_size["x_um"] == pytest.approx(pixel_size["x_um"], rel=1e-9)


def test_browser_takes_the_same_plane_channel_and_window_options(origin_page: Any, tmp_path: Path):
    for kind, options, js in (
        ("pages", {"plane": 2}, {"plane": 2}),
        ("imagej_z", {"plane": 0}, {"plane": 0}),
        ("ome_no_bright_field", {"channel": "GFP"}, {"channel": "GFP"}),
        ("uncompressed", {"window": Window(0.0, 65535.0)}, {"window": {"low": 0, "high": 65535}}),
        ("lzw", {"window": "percentile"}, {"window": "percentile"}),
        ("rgb16_planar", {"window": "percentile"}, {"window": "percentile"}),
    ):
        path = _write(kind, tmp_path)
        expected = decode_image(path, **options)
        got = _browser(origin_page, path, **js)
        assert np.array_equal(got["rgb"], expected.rgb), kind
        assert got["warnings"] == list(expected.warnings), kind


def test_a_file_without_a_bright_field_channel_is_a_problem_listing_its_channels(
    origin_page: Any, tmp_path: Path
):
    path = _write("ome_no_bright_field", tmp_path)
    with pytest.raises(ChannelChoiceError) as raised:
        decode_image(path)
    problem = _browser(origin_page, path)["problem"]
    assert problem["kind"] == "choose_channel" and problem["message"] == str(raised.value)
    assert [(c["index"], c["name"]) for c in problem["channels"]] == list(raised.value.channels)
    bad = _browser(origin_page, path, plane=5, channel=0)["problem"]
    assert bad["kind"] == "bad_option"


_META = """async (cases) => {
  const meta = await import('/static/js/tiffmeta.js');
  const camel = (name) => name.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
  return cases.map(([name, args]) => meta[camel(name)](...args));
}"""


def test_metadata_twins_agree(origin_page: Any):
    got = origin_page.evaluate(_META, [[name, args] for name, args, _ in CASES])
    for (name, _, expected), value in zip(CASES, got, strict=True):
        assert value == (pytest.approx(expected) if isinstance(expected, float | list) else expected), name
    js_ome = origin_page.evaluate(
        "async (x) => (await import('/static/js/tiffmeta.js')).parseOme(x)", OME_TWO_CHANNELS
    )
    from training.tiffmeta import parse_ome

    assert js_ome == parse_ome(OME_TWO_CHANNELS)
    js_imagej = origin_page.evaluate(
        "async (x) => (await import('/static/js/tiffmeta.js')).parseImagej(x)", IMAGEJ_HYPERSTACK
    )
    assert js_imagej["slices"] == 5 and js_imagej["unit"] == "µm"


_RULE = """async ([values, kind]) => {
  const p = await import('/static/js/preprocess.js');
  const samples = kind === 'float32' ? Float32Array.from(values) : Uint16Array.from(values);
  const own = p.dataWindow(samples);
  const plate = p.plateWindow([own, p.dataWindow(Uint16Array.from([6700]))]);
  const stretch = p.percentileWindow(samples);
  return { own, plate, stretch, bytes: Array.from(p.windowToUint8(samples, own)),
           plateBytes: Array.from(p.windowToUint8(samples, plate)),
           stretchBytes: Array.from(p.windowToUint8(samples, stretch)) };
}"""


@pytest.mark.parametrize("kind", ["uint16", "float32"])
def test_bit_depth_rule_twins_agree(origin_page: Any, kind: str):
    from training.preprocess import data_window, percentile_window, plate_window, to_uint8

    rng = np.random.default_rng(7)
    samples = rng.integers(0, 3901, 5000).astype(kind)
    if kind == "float32":
        samples = samples / np.float32(3900)
    got = origin_page.evaluate(_RULE, [samples.tolist(), kind])
    own = data_window(samples)
    plate = plate_window([own, data_window(np.array([6700], np.uint16))])
    assert got["own"] == own.to_dict() and got["plate"] == plate.to_dict()
    assert got["bytes"] == to_uint8(samples, own).tolist()
    assert got["plateBytes"] == to_uint8(samples, plate).tolist()
    stretch = percentile_window(samples)
    assert got["stretch"] == stretch.to_dict()
    assert got["stretchBytes"] == to_uint8(samples, stretch).tolist()


#: TIFF variants of 12-bit data scored on the page (OD450 vs Keras on the same pixels).
SCORED = {"lzw": {"compression": "lzw"}, "deflate_tiles": {"compression": "zlib", "tile": (32, 32)},
          "bigtiff_packbits": {"bigtiff": True, "compression": "packbits"}}  # fmt: skip


def test_12bit_data_in_16bit_tiff_variants_give_keras_od450_on_the_page(
    page: Any, server: Server, fixture: Fixture, tmp_path: Path
):
    uploads, expected = [], {}
    for jpeg in fixture.files[::8]:
        rgb8 = load_rgb(jpeg, reduce_for=INPUT_SIZE)  # the JPEG's pixels as the model sees them
        raw = np.round(rgb8.astype(np.float64) * 4095 / 255).astype(np.uint16)  # a 12-bit camera's values
        for variant, options in SCORED.items():
            path = tmp_path / f"{jpeg.stem}_{variant}.tif"
            tifffile.imwrite(path, raw, photometric="rgb", **options)
            decoded = decode_image(path)
            assert decoded.window is not None and decoded.window.bits == 12
            # Same model input as the plate's JPEG, so Keras predicts its cached keras_od450.
            assert np.array_equal(preprocess(path, INPUT_SIZE), preprocess(jpeg, INPUT_SIZE))
            uploads.append(path)
            expected[path.name] = fixture.plate[jpeg.name]["keras_od450"]
    od = scored_od450(page, server, uploads)
    assert set(od) == set(expected)
    for variant in SCORED:
        gaps = [abs(od[n] - expected[n]) for n in od if n.endswith(f"_{variant}.tif")]
        print(f"{variant}: max |browser − Keras| OD450 = {max(gaps):.1e} over {len(gaps)} images")
        assert max(gaps) < 1e-3


@pytest.mark.parametrize("cut", CUTS)
@pytest.mark.parametrize(("name", "options"), TRUNCATED, ids=[n for n, _ in TRUNCATED])
def test_a_truncated_tiff_is_a_bad_file_in_the_page_as_in_training(
    origin_page: Any, tmp_path: Path, name: str, options: dict[str, Any], cut: str
):
    """geotiff.js reads past the end of a file as zeros: the page must refuse the file, as training does."""
    grey = _grey(7, shape=(96, 128))
    path = tmp_path / f"B07_{name}.tif"
    write_truncated(path, grey, options, cut=cut)
    with pytest.raises(ValueError, match="truncated") as training_says:
        decode_image(path)
    got = _browser(origin_page, path)
    assert got.get("problem", {}).get("kind") == "corrupt", got.get("problem") or "decoded without complaint"
    assert got["problem"]["message"] == "the file ends before its image data (truncated?)"
    assert str(training_says.value) == f"{path.name}: {got['problem']['message']}"


def test_compressed_data_that_do_not_decode_are_a_bad_file_in_the_page_as_in_training(
    origin_page: Any, tmp_path: Path
):
    path = tmp_path / "C03.tif"
    tifffile.imwrite(path, _grey(8, shape=(96, 128)), photometric="minisblack", compression="zlib")
    with tifffile.TiffFile(path) as tif:
        start, count = tif.pages[0].dataoffsets[0], tif.pages[0].databytecounts[0]
    data = bytearray(path.read_bytes())
    data[start + count // 3 : start + count // 3 + 64] = bytes(range(64))
    path.write_bytes(bytes(data))
    said = "corrupt or unreadable TIFF file: its image data do not decode"
    with pytest.raises(ValueError, match=said):
        decode_image(path)
    got = _browser(origin_page, path)
    assert got.get("problem", {}).get("kind") == "corrupt", got.get("problem") or "decoded without complaint"
    assert got["problem"]["message"].startswith(said)


def test_a_plate_at_another_scale_than_the_models_training_images_is_warned_per_well(
    page: Any, fixture: Fixture, tmp_path: Path
):
    """The card's imaging block (docs/model-card.md) against the files' OME PhysicalSizeX, in the worker."""
    import json
    import shutil

    from tests.e2e.conftest import IMAGE_SIZE, MODEL_A, start_server, stop_server
    from training.tiffmeta import pixel_size_warning

    models = tmp_path / "models"
    shutil.copytree(fixture.models_dir, models)
    card_path = models / MODEL_A / "card.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    imaging = {"description": "fixture", "pixel_size_um": 0.65, "objective": "10×", "image_width_px": 320}
    card["imaging"] = imaging
    card_path.write_text(json.dumps(card), encoding="utf-8")
    uploads: dict[str, str | None] = {}
    for jpeg in fixture.files[::8]:  # three concentrations, so that the page fits a curve
        for label, pixel_um in (("same", 0.65), ("zoomed", 0.2)):
            path = tmp_path / f"{jpeg.stem}_{label}.tif"
            metadata = {"axes": "YXS", "PhysicalSizeX": pixel_um, "PhysicalSizeY": pixel_um}
            tifffile.imwrite(path, load_rgb(jpeg), photometric="rgb", metadata=metadata, ome=True)
            uploads[path.name] = pixel_size_warning(pixel_um, IMAGE_SIZE[0], imaging, card["name"])
    zoomed = {name: text for name, text in uploads.items() if name.endswith("_zoomed.tif")}
    assert all(text is None for name, text in uploads.items() if name not in zoomed)
    assert all(text is not None and "cells look 3.3× larger" in text for text in zoomed.values())
    server = start_server(models, tmp_path / "uvicorn.log")
    try:
        open_app(page, server)
        page.set_input_files("#file-input", [str(tmp_path / name) for name in uploads])
        wait_scored(page)
        notes = {r["name"]: r["notes"] for r in rows(page)}
    finally:
        stop_server(server)
    assert set(notes) == set(uploads)
    for name, text in uploads.items():
        if text is None:
            assert "µm/px" not in notes[name], notes[name]
        else:
            assert text in notes[name], notes[name]


_THUMB = """async ([low, high]) => {
  const { thumbnailRGBA } = await import('/static/js/preprocess.js');
  const size = 32;
  const input = new Float32Array(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    input.fill(low + ((high - low) * (i % size)) / (size - 1), 3 * i, 3 * i + 3);  // a ramp along x
  }
  const t = thumbnailRGBA(input, size, 64, 64, 16);
  const grey = Array.from(t.rgba).filter((_, k) => k % 4 === 0);
  return { min: Math.min(...grey), max: Math.max(...grey), range: t.range };
}"""


def test_thumbnails_are_shown_with_display_contrast_whatever_the_model_saw(origin_page: Any):
    """A dim, flat-looking model input (grey 100–110) is shown from black to white; a uniform one as it is."""
    dim = origin_page.evaluate(_THUMB, [100, 110])
    assert dim["min"] == 0 and dim["max"] == 255
    assert 100 <= dim["range"]["low"] < dim["range"]["high"] <= 110
    uniform = origin_page.evaluate(_THUMB, [120, 120])
    assert uniform["min"] == uniform["max"] == 120


_INSPECT = """async (files) => {
  const worker = new Worker('/static/js/worker.js', { type: 'module' });
  const ask = (message) => new Promise((resolve) => {
    worker.onmessage = (event) => resolve(event.data);
    worker.postMessage(message);
  });
  const out = [];
  for (const [b64, options] of files) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    out.push(await ask({ type: 'inspect', id: out.length, file: new Blob([bytes]), ...options }));
  }
  worker.terminate();
  return out;
}"""


def test_the_worker_says_what_a_file_holds_without_a_model(origin_page: Any, tmp_path: Path):
    """The 'inspect' message (worker.js protocol): the page can list planes and channels before scoring."""
    ome = _write("ome_no_bright_field", tmp_path)
    stack = _write("imagej_z", tmp_path)
    asked = [(ome, {}), (ome, {"channel": "GFP"}), (stack, {"plane": 4})]
    got = origin_page.evaluate(
        _INSPECT, [[base64.b64encode(path.read_bytes()).decode(), options] for path, options in asked]
    )
    assert got[0]["type"] == "problem" and got[0]["kind"] == "choose_channel"
    assert [c["name"] for c in got[0]["channels"]] == ["DAPI", "GFP"]
    assert got[1]["type"] == "inspected"
    assert got[1]["image"]["selection"]["channel_name"] == "GFP"
    assert got[1]["image"]["pixel_size"]["x_um"] == pytest.approx(0.65)
    assert got[2]["image"]["selection"]["plane"] == 4 and got[2]["image"]["selection"]["planes"] == 5
    assert got[2]["warnings"] == ["plane 5 of 5 was used, as chosen"]
