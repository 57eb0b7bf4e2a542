"""Growth-rate metrics from images alone, in the real page with the bundled A549-M model.

The simulator images one A549 plate (vehicle + the paper's 11 doxorubicin concentrations × 8 rows) when the
drug is added and again after the 48 h exposure (training.simulate.time_zero). The page scores both reads
with A549-M, the person sets their read times (0 h and 48 h), and the fit panel's GR50 must be close to the
simulator's true GR50 of that plate: the whole path from images through the model to GR metrics, with the
assumption the page states (predicted OD450 ∝ live cells). The images are synthetic.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.e2e.conftest import ROOT, Server, file_name, open_app, rows, start_server, stop_server, wait_scored

pytestmark = pytest.mark.e2e

CACHE = ROOT / ".cache" / "e2e-growth"
CONCENTRATIONS_UM = (0.0, 0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 100.0)
IMAGE_SIZE = (640, 540)
#: How far (log10) the page's GR50 may be from the truth: A549-M's own IC50 error on its held-out series
#: (card: median ~0.1 log10) plus the blank OD450 the model's predictions carry (no blank wells: ~0.03 log10).
GR50_TOLERANCE_LOG10 = 0.25


def _key() -> str:
    digest = hashlib.sha256(repr((CONCENTRATIONS_UM, IMAGE_SIZE)).encode())
    for path in sorted((ROOT / "training" / "simulate").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="module")
def plate_reads() -> tuple[Path, pd.DataFrame]:
    """One simulated A549 plate read at 0 h and at 48 h: folder of page-named JPEGs and the manifest."""
    from training.simulate import simulate_dataset

    folder = CACHE / _key()
    if not (folder / "reads.csv").is_file():
        shutil.rmtree(CACHE, ignore_errors=True)
        raw = folder / "raw"
        manifest = simulate_dataset(
            raw, cell_line="A549", image_size=IMAGE_SIZE, plates=1, concentrations_um=CONCENTRATIONS_UM,
            time_zero=True, workers=2, progress=False,
        )  # fmt: skip
        names = []
        for row in manifest.itertuples():
            read = "t0" if row.x_read_time_h == 0 else "t48"
            name = f"{read}/{file_name(row.concentration_um, row.well)}"
            (folder / read).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(row.path, folder / name)
            names.append(name)
        manifest.assign(name=names).drop(columns="path").to_csv(folder / "reads.csv", index=False)
        shutil.rmtree(raw)
    return folder, pd.read_csv(folder / "reads.csv")


@pytest.fixture(scope="module")
def bundled_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app serving the repository's bundled models."""
    running = start_server(ROOT / "models", tmp_path_factory.mktemp("bundled") / "uvicorn.log")
    yield running
    stop_server(running)


def _upload_read(page: Any, files: list[Path], read_time_h: float, *, new_curve: bool) -> dict[str, float]:
    """Score one read as a curve of its own and set its read time; returns file name → predicted OD450."""
    fits = page.evaluate("window.nostainDebug.fits")
    if new_curve:
        page.click("#new-curve")
    page.set_input_files("#file-input", [str(p) for p in files])
    wait_scored(page, fits_before=fits)
    fits = page.evaluate("window.nostainDebug.fits")
    page.fill("#read-time", f"{read_time_h:g}")
    page.dispatch_event("#read-time", "change")
    if read_time_h > 0:  # a later read of a plate with a time-zero read is refitted with GR
        wait_scored(page, fits_before=fits)
    return {r["name"]: r["od450"] for r in rows(page)}


def _micromolar(text: str) -> float:
    value, unit = text.split()
    assert unit == "µM", text
    return float(value)


def test_gr50_from_a_time_zero_read_is_close_to_the_simulators_truth(
    page: Any, bundled_server: Server, plate_reads: tuple[Path, pd.DataFrame]
):
    folder, reads = plate_reads
    truth = float(reads["x_gr50_true_um"].iloc[0])
    assert math.isfinite(truth) and reads["x_gr50_true_um"].nunique() == 1
    open_app(page, bundled_server, model="a549-m")
    zero = reads[reads["x_read_time_h"] == 0]
    end = reads[reads["x_read_time_h"] > 0]
    at_zero = _upload_read(page, [folder / n for n in zero["name"]], 0, new_curve=False)
    at_end = _upload_read(
        page, [folder / n for n in end["name"]], float(end["x_read_time_h"].iloc[0]), new_curve=True
    )
    # The model sees fewer cells at time zero than in the vehicle wells 48 h later (2^(48/22) = 4.5×).
    vehicle = [at_end[Path(n).name] for n in end[end["concentration_um"] == 0]["name"]]
    assert np.median(list(at_zero.values())) < 0.6 * np.median(vehicle)
    page.wait_for_selector("#metrics tr[data-metric='gr50'] td")
    shown = page.inner_text("#metrics tr[data-metric='gr50'] td")
    gr50 = _micromolar(shown)
    error = abs(math.log10(gr50 / truth))
    ic50 = _micromolar(page.inner_text("#params tr[data-param='IC50'] td"))
    ic50_true = float(end["ic50_true_um"].iloc[0])
    print(
        json.dumps(
            {
                "gr50_page_um": gr50,
                "gr50_true_um": truth,
                "error_log10": round(error, 3),
                "ic50_page_um": ic50,
                "ic50_true_um": ic50_true,
            }
        )
    )
    assert error <= GR50_TOLERANCE_LOG10, f"GR50 {shown} vs the simulator's {truth:.3g} µM"
