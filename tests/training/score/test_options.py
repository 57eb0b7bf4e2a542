"""The batch command's image options and pixel-size warning, in whole runs on a Dask cluster of 2 workers.

- With the default options, an OME-TIFF plate at 0.1625 µm/px scored with a model trained at 0.65 µm/px
  (its card's ``imaging``) carries the page's warning in each well's trust flags, word for word
  (:func:`training.tiffmeta.pixel_size_warning`, as tests/e2e/test_pixel_size.py checks the page); the same
  plate at 0.65 µm/px does not. Multi-channel files whose channels do not say which is bright field are
  rows of ``wells.csv`` naming the file and the reason, not scored.
- ``--bright-field 2 --plane 3 --window plate`` scores channel 2 of plane 3 of each file with the plate's
  window (computed in the workers): the OD450 the same served model gives
  :func:`training.preprocess.preprocess` of those pixels; ``wells.csv`` and ``run.json`` say so.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile
from PIL import Image

from tests.e2e.conftest import Fixture
from tests.training.score.conftest import MODEL_A
from training.preprocess import data_window, plate_window, preprocess
from training.score import ScoreOptions, score_archive
from training.score.output import RUN_FILE
from training.score.served import ServedModel
from training.tiffmeta import pixel_size_warning

pytestmark = pytest.mark.slow

#: The card's training images: 0.65 µm/px, 320 px wide (the fixture images' width), a 208 µm wide field.
IMAGING = {"description": "test", "pixel_size_um": 0.65, "objective": "10×", "image_width_px": 320,
           "pixel_size_source": "tests/training/score/test_options.py"}  # fmt: skip
CONCENTRATIONS = ("DMSO", "0.1uM", "1uM", "10uM")
SAME_OD450 = 1e-4  # the same served model in a worker and in this process


def _table(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def imaged_model(fixture: Fixture, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Fixture-A whose card records its training images' scale (:data:`IMAGING`)."""
    folder = tmp_path_factory.mktemp("imaged") / "models"
    shutil.copytree(fixture.models_dir, folder)
    card_path = folder / MODEL_A / "card.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card_path.write_text(json.dumps({**card, "imaging": IMAGING}), encoding="utf-8")
    return folder / MODEL_A


def _wells(fixture: Fixture, n: int, top: int) -> list[np.ndarray]:
    """``n`` fixture wells as grey 16-bit data whose largest value is about ``top`` (320 × 270 px)."""
    greys = [np.asarray(Image.open(p).convert("L"), dtype=np.float64) for p in fixture.files[:n]]
    return [np.round(g * (top / 255.0)).astype(np.uint16) for g in greys]


def _ome(path: Path, data: np.ndarray, axes: str, um: float, names: list[str] | None = None) -> None:
    metadata: dict[str, Any] = {"axes": axes, "PhysicalSizeX": um, "PhysicalSizeY": um}
    if names:
        metadata["Channel"] = {"Name": names}
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, data, ome=True, metadata=metadata, compression="zlib")


def _run(model: Path, images: Path, out: Path, cluster: Any, **options: Any) -> None:
    run = ScoreOptions(model, images, out, scheduler=cluster.scheduler_address, progress=False, **options)
    summary = score_archive(run, log=lambda _: None)
    assert summary.failed == [] and summary.scored == summary.plates, summary


def test_default_options_warn_of_the_pixel_size_and_name_files_needing_a_channel(
    imaged_model: Path, fixture: Fixture, cluster: Any, tmp_path: Path
):
    root = tmp_path / "archive"
    greys = _wells(fixture, 4, 4000)
    for row, um in (("B", 0.1625), ("C", 0.65)):
        for k, (conc, grey) in enumerate(zip(CONCENTRATIONS, greys, strict=True)):
            _ome(root / "scale" / f"A549_dox_{conc}_{row}{k + 2:02d}.ome.tif", grey, "YX", um)
    for k, conc in enumerate(CONCENTRATIONS[:3]):
        _ome(root / "channels" / f"A549_dox_{conc}_D{k + 2:02d}.ome.tif", np.stack(greys[k : k + 2]), "CYX",
             0.65, ["Hoechst", "Cy5"])  # fmt: skip
    _run(imaged_model, root, tmp_path / "out", cluster)

    wells = {Path(w["image"]).name: w for w in _table(tmp_path / "out" / "wells.csv")}
    assert len(wells) == 11  # every file is a row, scored or not
    fine = pixel_size_warning(0.1625, 320, IMAGING, "Fixture-A")
    assert fine is not None and fine.startswith("these images are at 0.163 µm/px (52 µm wide); Fixture-A")
    assert fine.endswith("cells look 4× larger to the model than in its training")
    assert pixel_size_warning(0.65, 320, IMAGING, "Fixture-A") is None
    for name, well in wells.items():
        if "_D0" in name:  # two channels, neither named as bright field
            assert well["predicted_od450"] == "" and well["used_in_fit"] == "no", well
            assert well["problem"].startswith(f"{name}: this file holds 2 channels (Hoechst, Cy5)"), well
            assert "--bright-field" in well["problem"] and well["plane"] == "" and well["window"] == ""
            continue
        assert well["predicted_od450"] and well["problem"] == "", well
        assert (well["plane"], well["channel"]) == ("1", "1")
        assert well["window"] == "12-bit: the data's range (0–4095)"
        if "_B0" in name:
            assert fine in well["trust_flags"].split(" | "), well
            assert float(well["pixel_size_um"]) == 0.1625
        else:
            assert "µm/px" not in well["trust_flags"] and float(well["pixel_size_um"]) == 0.65, well
    curves = {c["plate"]: c for c in _table(tmp_path / "out" / "ic50.csv")}
    assert "3 image(s) not in the fit" in curves["channels"]["notes"]
    run = json.loads((tmp_path / "out" / RUN_FILE).read_text(encoding="utf-8"))
    assert run["image_options"] == {"plane": None, "bright_field": None, "window": "file"}


def test_plane_channel_and_plate_window_score_the_pixels_chosen(
    imaged_model: Path, fixture: Fixture, served: ServedModel, cluster: Any, tmp_path: Path
):
    root = tmp_path / "archive"
    paths = []
    for k, (conc, top) in enumerate(zip(CONCENTRATIONS, (3000, 4000, 9000, 16000), strict=True)):
        planes = _wells(fixture, 6, top)  # plane z, channel c: well 2z + c (all different)
        path = root / "stacks" / f"A549_dox_{conc}_E{k + 2:02d}.ome.tif"
        _ome(path, np.stack([np.stack(planes[2 * z : 2 * z + 2]) for z in range(3)]), "ZCYX", 0.65,
             ["Hoechst", "Cy5"])  # fmt: skip
        paths.append(path)
    _run(imaged_model, root, tmp_path / "out", cluster, bright_field=2, plane=3, window="plate")

    window = plate_window([data_window(tifffile.imread(p)[2, 1]) for p in paths])
    assert (window.low, window.high) == (0, 16383)  # the widest: 14-bit
    expected, _ = served.predict(np.stack([preprocess(p, served.size, plane=2, channel=1, window=window)
                                           for p in paths]))  # fmt: skip
    wells = {w["image"]: w for w in _table(tmp_path / "out" / "wells.csv")}
    for path, od450 in zip(paths, expected, strict=True):
        well = wells[path.relative_to(root).as_posix()]
        assert abs(float(well["predicted_od450"]) - float(od450)) < SAME_OD450, well
        assert (well["plane"], well["channel"], well["channel_name"]) == ("3", "2", "Cy5")
        assert well["window"] == "plate: the widest of 4 images' windows (0–16383)"
    own, _ = served.predict(np.stack([preprocess(p, served.size, plane=2, channel=1) for p in paths]))
    assert np.max(np.abs(own - expected)) > 10 * SAME_OD450  # each file's own window scores otherwise
    run = json.loads((tmp_path / "out" / RUN_FILE).read_text(encoding="utf-8"))
    assert run["image_options"] == {"plane": 3, "bright_field": 2, "window": "plate"}
