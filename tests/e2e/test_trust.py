"""Trust the prediction: out-of-distribution warnings in the page (static/js/ood.js ↔ training/ood.py).

Two fixture models share the e2e fixture's network (so the same backbone fingerprint) but carry `ood` blocks
fitted on clearly different image sets: "A549" on bright-field-like wells drawn like the fixture plate,
"HEK293" on another kind of picture (large bright blobs on a darker background). The plate, scored with the
HEK293 model, must raise the curve warning naming A549 and put it into the CSV; scored with the A549 model,
no warning. The features fitted here come from the browser's own forward pass of the fixture model
(decode.js + preprocess.js, whose parity with Keras is tested elsewhere); training/ood.py fits the blocks.
"""

from __future__ import annotations

import base64
import json
import shutil
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.e2e.conftest import (
    IMAGE_SIZE,
    INPUT_SIZE,
    MODEL_A,
    PAGE_PREDICT_JS,
    Fixture,
    Server,
    open_app,
    parse_report,
    rows,
    scored_od450,
    start_server,
    stop_server,
    wait_model,
    wait_scored,
    well_image,
)
from training.preprocess import load_rgb, preprocess
from training.trust.ood import fit_image_stats, fit_ood, image_stats, ood_scores

pytestmark = pytest.mark.e2e

RIGHT = "trust-a549"
WRONG = "trust-hek293"


def _other_image(rng: np.random.Generator, *, width: int, height: int) -> np.ndarray:
    """Not like the plate: large bright blobs on a darker, bluish, textured background."""
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.full((height, width), 80.0) + 12.0 * np.sin(xx / 9.0) * np.cos(yy / 13.0)
    img += rng.normal(0.0, 6.0, (height, width))
    for _ in range(int(rng.integers(8, 30))):
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(0.04, 0.09) * width
        img += 90.0 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / r**2)
    grey = img.clip(0, 255)
    return np.stack([grey * 0.8, grey * 0.9, grey], -1).clip(0, 255).astype(np.uint8)


def _image_set(folder: Path, kind: str, n: int, seed: int) -> list[Path]:
    rng = np.random.default_rng(seed)
    width, height = IMAGE_SIZE
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        if kind == "plate":
            pixels = well_image(int(rng.integers(20, 271)), width=width, height=height, rng=rng)
        else:
            pixels = _other_image(rng, width=width, height=height)
        path = folder / f"{kind}_{seed}_{i:03d}.jpg"
        Image.fromarray(pixels).save(path, quality=90)
        paths.append(path)
    return paths


@dataclass
class TrustSetup:
    server: Server
    features: dict[str, np.ndarray]  # image set → (N, F) browser features
    inputs: dict[str, np.ndarray]  # image set → (N, S, S, 3) model inputs (preprocess)
    blocks: dict[str, dict[str, Any]]  # model id → card["ood"]


def _browser_features(pg: Any, card: dict[str, Any], paths: list[Path]) -> np.ndarray:
    files = [base64.b64encode(p.read_bytes()).decode() for p in paths]
    return np.array([r["features"] for r in pg.evaluate(PAGE_PREDICT_JS, [card, files])], dtype=np.float64)


@pytest.fixture(scope="module")
def trust(
    fixture: Fixture, server: Server, browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TrustSetup]:
    root = tmp_path_factory.mktemp("trust")
    sets = {
        "a_train": _image_set(root / "img", "plate", 30, 1),
        "a_held": _image_set(root / "img", "plate", 30, 2),
        "b_train": _image_set(root / "img", "other", 30, 3),
        "b_held": _image_set(root / "img", "other", 30, 4),
    }
    context = browser.new_context()
    pg = context.new_page()
    pg.goto(server.url + "/healthz")
    cards = json.loads(urllib.request.urlopen(server.url + "/api/models", timeout=10).read())["models"]
    card_a = next(c for c in cards if c["id"] == MODEL_A)
    features = {k: _browser_features(pg, card_a, v) for k, v in sets.items()}
    context.close()
    inputs = {k: np.stack([preprocess(p, INPUT_SIZE) for p in v]) for k, v in sets.items()}
    source = fixture.models_dir / MODEL_A
    fingerprint = card_a["backbone"]["fingerprint"]
    models = root / "models"
    shutil.copytree(fixture.models_dir / "backbones", models / "backbones")
    blocks = {}
    for model_id, name, line, prefix in (
        (RIGHT, "Trust-A549", "A549", "a"),
        (WRONG, "Trust-HEK", "HEK293", "b"),
    ):
        shutil.copytree(source, models / model_id)
        card = json.loads((models / model_id / "card.json").read_text(encoding="utf-8"))
        blocks[model_id] = {
            "features": fit_ood(features[f"{prefix}_train"], features[f"{prefix}_held"], n_components=16),
            "image_stats": fit_image_stats([image_stats(x) for x in inputs[f"{prefix}_train"]]),
            "backbone_fingerprint": fingerprint,
        }
        card.update(id=model_id, name=name, cell_line=line, ood=blocks[model_id])
        (models / model_id / "card.json").write_text(json.dumps(card), encoding="utf-8")
    running = start_server(models, root / "uvicorn.log")
    yield TrustSetup(server=running, features=features, inputs=inputs, blocks=blocks)
    stop_server(running)


_PARITY = """async ([block, features, inputs, size]) => {
  const { oodScores, imageStats } = await import('/static/js/ood.js');
  return {
    scores: features.map((f) => oodScores(block, f)),
    stats: inputs.map((b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      return imageStats(new Float32Array(bytes.buffer), size, size);
    }),
  };
}"""


def test_browser_scores_and_image_statistics_equal_training_ood(origin_page: Any, trust: TrustSetup):
    page = origin_page
    block = trust.blocks[RIGHT]["features"]
    feats = np.concatenate([trust.features["a_held"][:4], trust.features["b_held"][:4]])
    inputs = np.concatenate([trust.inputs["a_held"][:2], trust.inputs["b_held"][:2]]).astype(np.float32)
    got = page.evaluate(
        _PARITY,
        [block, feats.tolist(), [base64.b64encode(x.tobytes()).decode() for x in inputs], INPUT_SIZE],
    )
    distance, residual = ood_scores(block, feats)
    js_d = np.array([s["distance"] for s in got["scores"]])
    js_r = np.array([s["residual"] for s in got["scores"]])
    np.testing.assert_allclose(js_d, distance, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(js_r, residual, rtol=1e-4, atol=1e-4)
    for js, x in zip(got["stats"], inputs, strict=True):
        py = image_stats(x)
        for name, value in py.items():
            assert js[name] == pytest.approx(value, rel=1e-4, abs=1e-4), name


def _download_csv(pg: Any) -> str:
    with pg.expect_download() as info:
        pg.click("#download-csv")
    return info.value.path().read_text(encoding="utf-8")


def test_wrong_model_warns_names_the_better_one_and_reports_it_right_model_does_not(
    page: Any, trust: TrustSetup, fixture: Fixture
):
    open_app(page, trust.server, model=WRONG)
    page.set_input_files("#file-input", [str(p) for p in fixture.files])
    wait_scored(page)
    warning = page.locator("#trust-warning")
    assert warning.is_visible()
    text = warning.inner_text()
    assert "look more like A549 than HEK293" in text, text
    flagged = [r for r in rows(page) if "unlike the model's training images" in r["notes"]]
    assert len(flagged) > len(fixture.files) / 2
    curves, wells = parse_report(_download_csv(page))
    assert "model check:" in curves[0]["notes"] and "A549" in curves[0]["notes"]
    assert sum("unlike the model's training images" in w["flags"] for w in wells) == len(flagged)

    fits = page.evaluate("window.nostainDebug.fits")
    page.select_option("#model-select", RIGHT)
    wait_model(page)
    wait_scored(page, fits_before=fits)
    assert not page.locator("#trust-warning").is_visible()
    table = rows(page)
    right_flagged = [r["name"] for r in table if "unlike the model's training images" in r["notes"]]
    assert len(right_flagged) <= 3, right_flagged  # the 99th percentile of held-out wells: a few at most
    assert not any("not a bright-field well" in r["notes"] for r in table)
    curves, _ = parse_report(_download_csv(page))
    assert "model check:" not in curves[0]["notes"]


def test_a_blank_frame_is_flagged_as_not_a_brightfield_well(page: Any, trust: TrustSetup, tmp_path: Path):
    blank = tmp_path / "blank_1uM_A01.png"
    Image.fromarray(np.full((270, 320, 3), 235, np.uint8)).save(blank)
    open_app(page, trust.server, model=RIGHT)
    page.set_input_files("#file-input", [str(blank)])
    page.wait_for_function(
        "() => [...document.querySelectorAll('#wells tbody tr')].every(r => r.dataset.status === 'done')"
    )
    page.wait_for_function(
        "() => document.querySelector('#wells tbody tr .c-notes').innerText.includes('bright-field')"
    )
    assert "contrast" in rows(page)[0]["notes"]


# ------------------------------------------------------------------------------ microscope files

_DECODE = """async (b64) => {
  const { decodeImage } = await import('/static/js/decode.js');
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const d = await decodeImage(new Blob([bytes]));
  const rgb = new Uint8Array(d.width * d.height * 3);
  const [r, g, b] = d.order === 'BGRA' ? [2, 1, 0] : [0, 1, 2];
  for (let p = 0, q = 0; p < rgb.length; p += 3, q += 4) {
    rgb[p] = d.pixels[q + r]; rgb[p + 1] = d.pixels[q + g]; rgb[p + 2] = d.pixels[q + b];
  }
  let s = '';
  for (let i = 0; i < rgb.length; i += 32768) s += String.fromCharCode(...rgb.subarray(i, i + 32768));
  return { width: d.width, height: d.height, format: d.format, warnings: d.warnings, rgb: btoa(s) };
}"""


def _sixteen(rgb8: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """16-bit values whose to_uint8 is not a plain ×257 inverse (offsets up to ±128 of 257 per level)."""
    return (
        (rgb8.astype(np.int32) * 257 + rng.integers(-128, 129, rgb8.shape)).clip(0, 65535).astype(np.uint16)
    )


def _write_kind(kind: str, folder: Path) -> tuple[Path, np.ndarray]:
    """A test file of one kind and the 8-bit RGB pixels that training's rule (to_uint8) gives for it."""
    import tifffile

    from training.preprocess import to_uint8

    rng = np.random.default_rng(TIFF_KINDS.index(kind))
    rgb8 = well_image(120, width=211, height=173, rng=rng)
    grey8 = rgb8[:, :, 1]
    path = folder / f"{kind}.{'png' if kind.startswith('png') else 'tif'}"
    raw: np.ndarray = {"tiff8_grey": grey8, "tiff8_rgb": rgb8}.get(kind, _sixteen(grey8, rng))
    if kind == "tiff16_rgb":
        raw = _sixteen(rgb8, rng)
    if kind == "tiff16_grey_bigendian_zlib":
        tifffile.imwrite(path, raw, byteorder=">", compression="zlib")
    elif kind == "tiff_multipage":
        tifffile.imwrite(path, np.stack([raw, np.zeros_like(raw)]))
    elif kind == "png16_grey":
        Image.fromarray(raw).save(path)
    else:
        tifffile.imwrite(path, raw, photometric="rgb" if raw.ndim == 3 else "minisblack")
    expected = to_uint8(raw)
    expected = expected if expected.ndim == 3 else np.repeat(expected[:, :, None], 3, axis=2)
    assert np.array_equal(load_rgb(path), expected)  # training reads the file by the same rule
    return path, expected


TIFF_KINDS = [
    "tiff8_grey", "tiff8_rgb", "tiff16_grey", "tiff16_rgb", "tiff16_grey_bigendian_zlib", "tiff_multipage",
    "png16_grey",
]  # fmt: skip


@pytest.mark.parametrize("kind", TIFF_KINDS)
def test_browser_decodes_microscope_files_to_the_same_pixels_as_training(
    origin_page: Any, kind: str, tmp_path: Path
):
    path, expected = _write_kind(kind, tmp_path)
    got = origin_page.evaluate(_DECODE, base64.b64encode(path.read_bytes()).decode())
    rgb = np.frombuffer(base64.b64decode(got["rgb"]), np.uint8).reshape(got["height"], got["width"], 3)
    assert rgb.shape == expected.shape
    assert np.array_equal(rgb, expected), f"max |Δ| {np.abs(rgb.astype(int) - expected).max()}"
    if kind == "tiff_multipage":
        assert any("first page" in w for w in got["warnings"])


def test_16bit_and_8bit_tiff_and_png_twins_give_the_same_od450_as_keras(
    page: Any, server: Server, fixture: Fixture, tmp_path: Path
):
    """Browser vs Keras OD450 per format: the plate's JPEGs (test_workflow.py) and here their lossless twins,
    16-bit TIFF, 8-bit TIFF and PNG of the pixels the model sees. Measured: max |Δ| 3.4e-5 (JPEG 5.4e-5)."""
    import tifffile

    from training.preprocess import to_uint8

    rng = np.random.default_rng(5)
    uploads, expected = [], {}
    for jpeg in fixture.files[::6]:
        stem = jpeg.stem
        raw = _sixteen(load_rgb(jpeg, reduce_for=INPUT_SIZE), rng)  # the JPEG's pixels as the model sees them
        for suffix in ("16bit.tif", "8bit.tif", "8bit.png"):
            path = tmp_path / f"{stem}_{suffix}"
            pixels = raw if suffix.startswith("16") else to_uint8(raw)
            if suffix.endswith(".tif"):
                tifffile.imwrite(path, pixels, photometric="rgb")
            else:
                Image.fromarray(pixels).save(path)
            # Same model input as the plate's JPEG, so Keras predicts the cached keras_od450 for all three.
            assert np.array_equal(preprocess(path, INPUT_SIZE), preprocess(jpeg, INPUT_SIZE))
            uploads.append(path)
            expected[path.name] = fixture.plate[jpeg.name]["keras_od450"]
    od = scored_od450(page, server, uploads)
    assert set(od) == set(expected)
    for suffix in ("16bit.tif", "8bit.tif", "8bit.png"):
        gaps = [abs(od[n] - expected[n]) for n in od if n.endswith(suffix)]
        print(f"{suffix}: max |browser − Keras| OD450 = {max(gaps):.1e} over {len(gaps)} images")
        assert max(gaps) < 1e-3


# ------------------------------------------------------------------------------ attribution


def test_clicking_a_thumbnail_shows_an_occlusion_map(page: Any, server: Server, fixture: Fixture):
    open_app(page, server)
    page.set_input_files("#file-input", [str(p) for p in fixture.files[:3]])
    wait_scored(page)
    page.click("#wells tbody tr:first-child td.c-thumb")
    page.wait_for_selector("#attribution[data-state='done'] canvas.attribution-map")
    assert "Method: occlusion" in page.inner_text("#attribution")
    done = page.evaluate("window.nostainDebug.attributions")
    assert len(done) == 1 and done[0]["grid"] == 8
    print(f"occlusion map of one well (8×8 grid, fixture model {INPUT_SIZE} px): {done[0]['ms']:.0f} ms")
    # The map is drawn over the thumbnail: the canvas is not blank.
    painted = page.evaluate(
        """() => { const c = document.querySelector('canvas.attribution-map');
                   const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] > 0; return n; }"""
    )
    assert painted > 0
