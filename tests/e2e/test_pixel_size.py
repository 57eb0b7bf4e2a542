"""The bundled cards' scale in the real page: a plate at another pixel size than A549-M's training images is
warned about on each well, in plain words; the same plate at the training scale is not.

The plate is OME-TIFF at the simulator's frame size (2560 × 2160 px), once at 0.1625 µm/px (a 40× objective's
scale: a field 4× narrower than the training images') and once at 0.65 µm/px (the training images' own scale,
models/a549-m/card.json ``imaging``). The expected text is training's twin of the page's rule
(training.tiffmeta.pixel_size_warning).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile

from tests.e2e.conftest import ROOT, open_app, rows, start_server, stop_server, wait_scored, well_image
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


def test_a_model_trained_in_the_page_records_its_images_scale_by_trainings_rule(origin_page: Any):
    """static/js/train/card.js imagingBlock against training.imaging.imaging_from_scales, same scales."""
    from training.imaging import ImageScale, imaging_from_scales

    source = "OME PhysicalSizeX/Y"
    cases = {
        "agree": [(640, 480, 0.325, "20×"), (640, 480, 0.3251, "20×"), (640, 480, 0.325, "20×")],
        "disagree": [(640, 480, 0.325, None), (1280, 960, 0.65, None)],
        "one_unknown": [(640, 480, 0.325, "20×"), (640, 480, None, None)],
    }
    browser = origin_page.evaluate(
        _IMAGING,
        [
            [
                {"name": f"plate1/B0{k + 2}.tif", "widthPx": w, "heightPx": h, "pixelSizeUm": um,
                 "pixelSizeSource": source, "objective": objective}
                for k, (w, h, um, objective) in enumerate(images)
            ]
            for images in cases.values()
        ],
    )  # fmt: skip
    for (name, images), got in zip(cases.items(), browser, strict=True):
        scales = [ImageScale(w, h, um, objective, source if um else None) for w, h, um, objective in images]
        names = [f"plate1/B0{k + 2}.tif" for k in range(len(images))]
        assert got == imaging_from_scales(scales, names, synthetic=False), name
    assert browser[0]["pixel_size_um"] == 0.325 and browser[0]["objective"] == "20×"
    assert browser[1]["pixel_size_um"] is None and browser[1]["image_width_px"] is None
    assert browser[2]["pixel_size_source"].startswith("unknown: 1 of 2 training images record no pixel size")
