"""The model card's ``imaging`` block (training/imaging.py): the training images' scale, from their own
metadata, and the bundled cards hold exactly what export computes for their training data."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile
from PIL import Image

from training.imaging import imaging_block, imaging_for_run, recorded_imaging
from training.reproduce import DEFAULT_MODELS, reproduce
from training.simulate import simulate_dataset
from training.tiffmeta import pixel_size_warning

MODELS = Path(__file__).resolve().parents[2] / "models"


def _lab_images(folder: Path, pixel_sizes_um: list[float | None], *, suffix: str = ".tif") -> pd.DataFrame:
    """A lab's training images (grey, 12-bit data), as manifest rows: OME-TIFFs at the given pixel sizes
    (None: a plain TIFF without one), or JPEGs."""
    rows = []
    for k, pixel_um in enumerate(pixel_sizes_um):
        path = folder / f"B{k + 2:02d}{suffix}"
        grey = np.random.default_rng(k).integers(200, 4096, (48, 64), dtype=np.uint16)
        if suffix == ".jpg":
            Image.fromarray((grey // 16).astype(np.uint8)).save(path)
        elif pixel_um is None:
            tifffile.imwrite(path, grey)
        else:
            metadata = {"axes": "YX", "PhysicalSizeX": pixel_um, "PhysicalSizeY": pixel_um}
            tifffile.imwrite(path, grey, metadata=metadata, ome=True)
        rows.append({"path": str(path), "cell_line": "MCF7", "synthetic": False})
    return pd.DataFrame(rows)


def test_simulated_images_are_at_the_simulators_scale(tmp_path: Path):
    """The field of view is fixed (1664 µm): images of 320 px have 5.2 µm pixels."""
    manifest = simulate_dataset(
        tmp_path / "sim", image_size=(320, 270), plates=1, replicates=1, concentrations_um=(0.0, 1.0),
        progress=False, lab_files=False,
    )  # fmt: skip
    imaging = imaging_block(manifest)
    assert imaging["pixel_size_um"] == pytest.approx(5.2) and imaging["image_width_px"] == 320
    assert imaging["objective"] == "10×"
    assert (
        imaging["description"].startswith("simulated bright-field images")
        and "320×270 px" in (imaging["description"])
    )
    assert "simulator's microscope" in imaging["pixel_size_source"]


@pytest.mark.parametrize("item", DEFAULT_MODELS, ids=[m.model_id for m in DEFAULT_MODELS])
def test_each_bundled_cards_imaging_is_what_export_computes_for_its_training_data(item, tmp_path: Path):
    """models/<id>/card.json was made by `python -m training reproduce`: simulated plates of the model's cell
    line at the simulator's default size (2560×2160). One such image is simulated here (the scale depends
    on the cell line's optics and the image size, not on the design) and given to export's own function."""
    assert inspect.signature(reproduce).parameters["image_size"].default is None  # the simulator's size
    card = json.loads((MODELS / item.model_id / "card.json").read_text(encoding="utf-8"))
    assert card["training_data"]["synthetic"] is True and card["cell_line"] == item.cell_line
    data = tmp_path / "data"
    manifest = simulate_dataset(
        data, cell_line=item.cell_line, seed=item.seed, plates=1, replicates=1, concentrations_um=(0.0,),
        progress=False, lab_files=False,
    )  # fmt: skip
    run_config = {
        "data": {"sources": [{"path": str(data)}]},
        "split": {"train": sorted(manifest["series"].unique()), "val": [], "test": []},
    }
    computed = imaging_for_run(run_config)
    assert computed["pixel_size_um"] == 0.65 and computed["image_width_px"] == 2560
    assert card["imaging"] == computed


def test_the_bundled_cards_warn_on_a_plate_four_times_finer_and_not_on_their_own_scale():
    """The pixel-size warning (the page's twin: tiffmeta.js pixelSizeWarning) on a bundled card's object."""
    card = json.loads((MODELS / "a549-m" / "card.json").read_text(encoding="utf-8"))
    finer = pixel_size_warning(0.1625, 2560, card["imaging"], card["name"])
    assert finer is not None and finer.startswith(
        "these images are at 0.163 µm/px (416 µm wide); A549-M was "
    )
    assert "trained at 0.65 µm/px (1664 µm wide): cells look 4× larger to the model" in finer
    assert pixel_size_warning(0.65, 2560, card["imaging"], card["name"]) is None
    # Half the width at twice the pixel size is the same field of view: the model sees the same cells.
    assert pixel_size_warning(1.3, 1280, card["imaging"], card["name"]) is None
    assert (
        pixel_size_warning(0.1625, 2560, card["imaging"]["description"], card["name"]) is None
    )  # a sentence


def test_a_labs_images_at_one_pixel_size_give_it(tmp_path: Path):
    imaging = imaging_block(_lab_images(tmp_path, [0.325, 0.325, 0.3251]))
    assert imaging["pixel_size_um"] == 0.325 and imaging["image_width_px"] == 64
    assert imaging["pixel_size_source"] == "OME PhysicalSizeX/Y of the 3 training images"
    assert (
        imaging["description"]
        == "bright-field images, one field per well, RGB 64×48 px (as the training images)"
    )


@pytest.mark.parametrize(
    ("sizes", "suffix", "reason"),
    [
        ([0.325, 0.65, 0.325], ".tif", "unknown: the training images are at different pixel sizes (0.325–0."),
        ([0.325, None, 0.325], ".tif", "unknown: 1 of 3 training images record no pixel size (e.g. B03.tif;"),
        ([None, None], ".jpg", "unknown: 2 of 2 training images record no pixel size (e.g. B02.jpg;"),
    ],
    ids=["disagree", "one_without", "jpeg"],
)  # fmt: skip
def test_a_labs_images_without_one_pixel_size_say_why(tmp_path: Path, sizes, suffix: str, reason: str):
    imaging = imaging_block(_lab_images(tmp_path, sizes, suffix=suffix))
    assert imaging["pixel_size_um"] is None
    assert imaging["pixel_size_source"].startswith(reason)
    assert pixel_size_warning(0.1, 64, imaging, "lab model") is None  # nothing to compare with


def test_a_run_that_recorded_a_sentence_keeps_it_as_the_description():
    old = recorded_imaging({"imaging": "simulated bright-field images, one field per well"})
    assert old["description"] == "simulated bright-field images, one field per well"
    assert old["pixel_size_um"] is None and old["pixel_size_source"].startswith("unknown")
    new = {"description": "x", "pixel_size_um": 0.65, "objective": None, "image_width_px": 2560}
    assert recorded_imaging({"imaging": new}) is new
