"""The bundled cards' scale in the real page: a plate at another pixel size than A549-M's training images is
warned about on each well, in plain words; the same plate at the training scale is not.

The plate is OME-TIFF at the simulator's frame size (2560 × 2160 px), once at 0.1625 µm/px (a 40× objective's
scale: a field 4× narrower than the training images') and once at 0.65 µm/px (the training images' own scale,
models/a549-m/card.json ``imaging``). The expected text is training's twin of the page's rule
(training.tiffmeta.pixel_size_warning).
"""

from __future__ import annotations

import base64
import json
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile

from tests.e2e.conftest import (
    MODEL_A,
    ROOT,
    Fixture,
    Server,
    open_app,
    rows,
    start_server,
    stop_server,
    wait_model,
    wait_scored,
    well_image,
)
from training.tiffmeta import pixel_size_warning

pytestmark = pytest.mark.e2e

MODELS = ROOT / "models"
WIDTH, HEIGHT = 2560, 2160
SCALES_UM = {"fine": 0.1625, "same": 0.65}
CONCENTRATIONS = ("DMSO", "0.1uM", "1uM", "10uM")


def test_a_plate_at_a_quarter_of_a549_ms_pixel_size_is_warned_and_one_at_its_own_is_not(
    page: Any, tmp_path: Path
):
    card = json.loads((MODELS / "a549-m" / "card.json").read_text(encoding="utf-8"))
    assert card["imaging"]["pixel_size_um"] == 0.65  # the scale its training images had
    grey = well_image(150, width=WIDTH, height=HEIGHT, rng=np.random.default_rng(3))[:, :, 1]
    expected: dict[str, str | None] = {}
    for label, pixel_um in SCALES_UM.items():
        for k, conc in enumerate(CONCENTRATIONS):
            path = tmp_path / f"A549_dox_{conc}_{'BC'[label == 'same']}{k + 2:02d}.ome.tif"
            metadata = {"axes": "YX", "PhysicalSizeX": pixel_um, "PhysicalSizeY": pixel_um}
            tifffile.imwrite(path, grey, metadata=metadata, ome=True, compression="zlib")
            expected[path.name] = pixel_size_warning(pixel_um, WIDTH, card["imaging"], card["name"])
    fine = {name: text for name, text in expected.items() if "_B" in name}
    assert all(text is None for name, text in expected.items() if name not in fine)
    for text in fine.values():
        assert text is not None
        assert text.startswith(
            "these images are at 0.163 µm/px (416 µm wide); A549-M was trained at 0.65 µm/px"
        )
        assert text.endswith("cells look 4× larger to the model than in its training")
    server = start_server(MODELS, tmp_path / "uvicorn.log")
    try:
        open_app(page, server, model="a549-m")
        shown = page.inner_text("#model-card .imaging-scale")
        assert shown == "trained on images at 0.65 µm/px, 10× objective — from the simulator’s optics"
        page.set_input_files("#file-input", [str(tmp_path / name) for name in expected])
        wait_scored(page)
        table = {r["name"]: r for r in rows(page)}
    finally:
        stop_server(server)
    assert set(table) == set(expected)
    for name, text in expected.items():
        assert table[name]["status"] == "done", table[name]["notes"]
        if text is None:
            assert "µm/px" not in table[name]["notes"], table[name]["notes"]
        else:
            assert text in table[name]["notes"], table[name]["notes"]


_IMAGING = """async (cases) => {
  const { imagingBlock } = await import('/static/js/train/card.js');
  return cases.map((images) => imagingBlock(images));
}"""


#: Training images' (width px, height px, µm/px or None, objective, source) for the parity of the card's
#: ``imaging`` block: one shared scale, a 1 % rounding, scales just within and just over 1 %, widths that
#: differ at one scale, sources that differ, images without metadata.
_OME, _IMAGEJ = "OME PhysicalSizeX/Y", "ImageJ unit and XResolution/YResolution"
_X20 = (640, 480, 0.325, "20×", _OME)
SCALE_CASES: dict[str, list[tuple[int, int, float | None, str | None, str | None]]] = {
    "agree": [_X20, (640, 480, 0.3251, "20×", _OME), _X20],
    "within_1_percent": [(640, 480, 0.325, None, _OME), (640, 480, 0.3282, None, _OME)],
    "over_1_percent": [(640, 480, 0.325, None, _OME), (640, 480, 0.3284, None, _OME)],
    "disagree": [(640, 480, 0.325, None, _OME), (1280, 960, 0.65, None, _OME)],
    "widths_differ": [(640, 480, 0.65, "10×", _OME), (1280, 960, 0.65, "10×", _OME)],
    "sources_differ": [(640, 480, 0.65, "10×", _OME), (640, 480, 0.65, "10×", _IMAGEJ)],
    "objectives_differ": [(640, 480, 0.65, "10×", _OME), (640, 480, 0.65, "20×", _OME)],
    "one_unknown": [_X20, (640, 480, None, None, None)],
    "none_known": [(320, 270, None, None, None), (320, 270, None, None, None)],
}  # fmt: skip


def test_a_model_trained_in_the_page_records_its_images_scale_by_trainings_rule(origin_page: Any):
    """static/js/train/card.js imagingBlock against training.imaging.imaging_from_scales, same scales."""
    from training.imaging import ImageScale, imaging_from_scales

    def name(k: int) -> str:
        return f"plate1/B0{k + 2}.tif"

    browser = origin_page.evaluate(
        _IMAGING,
        [
            [
                {"name": name(k), "widthPx": w, "heightPx": h, "pixelSizeUm": um, "pixelSizeSource": source,
                 "objective": objective}
                for k, (w, h, um, objective, source) in enumerate(images)
            ]
            for images in SCALE_CASES.values()
        ],
    )  # fmt: skip
    got = dict(zip(SCALE_CASES, browser, strict=True))
    for case, images in SCALE_CASES.items():
        scales = [ImageScale(w, h, um, objective, source) for w, h, um, objective, source in images]
        names = [name(k) for k in range(len(images))]
        assert got[case] == imaging_from_scales(scales, names, synthetic=False), case
    assert got["agree"]["pixel_size_um"] == 0.325 and got["agree"]["objective"] == "20×"
    assert got["agree"]["pixel_size_source"] == "OME PhysicalSizeX/Y of the 3 training images"
    assert (
        got["within_1_percent"]["pixel_size_um"] == 0.325 and got["over_1_percent"]["pixel_size_um"] is None
    )
    assert got["disagree"]["pixel_size_um"] is None and got["disagree"]["image_width_px"] is None
    assert got["disagree"]["pixel_size_source"].startswith("unknown: the training images are at different")
    assert got["widths_differ"]["pixel_size_um"] == 0.65 and got["widths_differ"]["image_width_px"] is None
    assert got["sources_differ"]["pixel_size_source"] == f"{_IMAGEJ} and {_OME} of the 2 training images"
    assert got["objectives_differ"]["objective"] is None
    assert got["one_unknown"]["pixel_size_source"].startswith(
        "unknown: 1 of 2 training images record no pixel size (e.g. B03.tif;"
    )
    assert got["none_known"]["pixel_size_um"] is None
    assert got["none_known"]["pixel_size_source"].startswith("unknown: 2 of 2 training images record no")


#: Train a model in the page (train-session.js trainOnSet, one view per image) on the files a[0] with the
#: rows a[1], on the fixture backbone, and keep it in this browser: its card.
_TRAIN_AND_KEEP = """async ([files, rows, served]) => {
  const m = await import('/static/js/train-session.js');
  const { WorkerPool } = await import('/static/js/pool.js');
  const { workerModel } = await import('/static/js/worker-model.js');
  const store = await import('/static/js/train/store.js');
  const toFile = ([name, b64]) => new File([Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0))], name);
  const pool = new WorkerPool({ size: 1 });
  try {
    await pool.load({ backend: 'wasm', wasmPath: '/static/vendor/', model: workerModel(served) });
    const about = { name: 'Scaled lab model', cellLine: 'A549', drug: 'doxorubicin',
      backbone: m.backboneOf(served) };
    const set = { files: files.map(toFile), images: rows, extraFields: 0 };
    const result = await m.trainOnSet({ pool, set, about }, { nViews: 1 });
    await store.saveModel({ card: result.card, head: result.head });
    return result.card;
  } finally {
    m.closePool(pool);
  }
}"""


def _ome_tiff(jpeg: Path, out: Path, pixel_um: float) -> Path:
    """The fixture JPEG's green channel as an OME-TIFF recording ``pixel_um`` µm/px."""
    from PIL import Image

    with Image.open(jpeg) as opened:
        grey = np.asarray(opened.convert("RGB"))[:, :, 1]
    metadata = {"axes": "YX", "PhysicalSizeX": pixel_um, "PhysicalSizeY": pixel_um}
    tifffile.imwrite(out, grey, metadata=metadata, ome=True, compression="zlib")
    return out


def test_a_model_trained_in_the_page_on_ome_tiffs_records_their_scale_shows_it_and_warns_at_another(
    page: Any, server: Server, fixture: Fixture, tmp_path: Path
):
    """Issue 14 for a model trained in the page: the fixture plate as OME-TIFFs at 0.65 µm/px is trained on
    (the worker reads each file's pixel size in the decoding that feeds the features); the card's
    ``imaging`` is what training.imaging computes from the same files; the model card panel says the
    scale in words; the model, chosen for scoring, warns on wells at a quarter of that pixel size, not at its
    own."""
    from training.imaging import image_scale, imaging_from_scales

    train = tmp_path / "train"
    train.mkdir()
    tiffs = [_ome_tiff(p, train / p.name.replace(".jpg", ".ome.tif"), 0.65) for p in fixture.files]
    info = [fixture.plate[p.name] for p in fixture.files]
    files = [[t.name, base64.b64encode(t.read_bytes()).decode()] for t in tiffs]
    training_rows = [
        {"path": t.name, "well": i["well"], "series": i["well"][0], "plate": "p1", "cellLine": "A549",
         "concentrationUm": i["concentration_um"], "od450": i["target_od450"]}
        for t, i in zip(tiffs, info, strict=True)
    ]  # fmt: skip
    with urllib.request.urlopen(server.url + "/api/models", timeout=10) as response:
        served = next(c for c in json.loads(response.read())["models"] if c["id"] == MODEL_A)
    open_app(page, server)
    card = page.evaluate(_TRAIN_AND_KEEP, [files, training_rows, served])

    series = card["training_data"]["series"]
    used = [
        t for t, r in zip(tiffs, training_rows, strict=True) if r["series"] in series["train"] + series["val"]
    ]
    expected = imaging_from_scales([image_scale(t) for t in used], [t.name for t in used], synthetic=False)
    assert card["imaging"] == expected
    assert card["imaging"]["pixel_size_um"] == 0.65 and card["imaging"]["image_width_px"] == 320
    assert card["imaging"]["pixel_size_source"] == f"OME PhysicalSizeX/Y of the {len(used)} training images"

    page.reload()
    wait_model(page)
    page.select_option("#model-select", card["id"])
    wait_model(page)
    assert page.inner_text("#model-card .imaging-scale") == (
        f"trained on images at 0.65 µm/px — from OME PhysicalSizeX/Y of the {len(used)} training images"
    )

    plate = tmp_path / "plate"
    plate.mkdir()
    scored: dict[str, str | None] = {}
    for k, (label, pixel_um) in enumerate(SCALES_UM.items()):
        for jpeg in fixture.files[k * 4 : k * 4 + 3]:
            tiff = _ome_tiff(jpeg, plate / f"{label}_{jpeg.name.replace('.jpg', '.ome.tif')}", pixel_um)
            scored[tiff.name] = pixel_size_warning(pixel_um, 320, card["imaging"], card["name"])
    assert [text is None for text in scored.values()] == [False] * 3 + [True] * 3
    page.set_input_files("#file-input", [str(plate / name) for name in scored])
    wait_scored(page)
    table = {r["name"]: r for r in rows(page)}
    assert set(table) == set(scored)
    for name, text in scored.items():
        assert table[name]["status"] == "done", table[name]["notes"]
        if text is None:
            assert "µm/px" not in table[name]["notes"], table[name]["notes"]
        else:
            assert text.startswith(
                "these images are at 0.163 µm/px (52 µm wide); Scaled lab model was trained"
            )
            assert text in table[name]["notes"], table[name]["notes"]
