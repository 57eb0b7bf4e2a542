"""Fixtures of the batch command's tests: the e2e fixture model (tests/e2e/conftest.py: two small card/2
models on one backbone, with the Keras OD450 of every fixture image cached), a copy of its models folder
whose cards carry trust (``ood``) blocks, small simulated archives and a Dask cluster of 2 worker processes.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.e2e.conftest import Fixture, fixture  # noqa: F401  (the e2e fixture model and plate)
from training.preprocess import preprocess
from training.score.served import ServedModel, find_model
from training.trust.ood import fit_image_stats, fit_ood, image_stats

MODEL_A, MODEL_B = "fixture-a", "fixture-b"


@pytest.fixture(scope="session")
def served(fixture: Fixture) -> ServedModel:  # noqa: F811
    """Fixture-A as the page serves it, loaded into TensorFlow in the test process."""
    return ServedModel(find_model(fixture.models_dir / MODEL_A))


@dataclass(frozen=True)
class TrustedModels:
    """A models folder whose two cards carry ``ood`` blocks, and the plate's features it was built from."""

    folder: Path
    features: np.ndarray  # (24, F), the fixture plate in sorted name order
    inputs: np.ndarray  # (24, S, S, 3)


@pytest.fixture(scope="session")
def trusted(fixture: Fixture, served: ServedModel, tmp_path_factory: pytest.TempPathFactory) -> TrustedModels:  # noqa: F811
    """Fixture-A's card with an ``ood`` block fitted on the fixture plate (odd images train, even ones
    calibrate); Fixture-B's with one fitted on the same features moved far away (so it never looks closer)."""
    folder = tmp_path_factory.mktemp("models") / "models"
    shutil.copytree(fixture.models_dir, folder)
    inputs = np.stack([preprocess(path, served.size) for path in fixture.files])
    _, features = served.predict(inputs)
    ranges = fit_image_stats([image_stats(x) for x in inputs])
    fingerprint = served.entry.card["backbone"]["fingerprint"]
    for model_id, shift in ((MODEL_A, 0.0), (MODEL_B, 50.0)):
        moved = features.astype(np.float64) + shift
        ood = {
            "features": fit_ood(moved[1::2], moved[0::2], n_components=4),
            "image_stats": ranges,
            "backbone_fingerprint": fingerprint,
        }
        card_path = folder / model_id / "card.json"
        card = json.loads(card_path.read_text(encoding="utf-8"))
        card_path.write_text(json.dumps({**card, "ood": ood}), encoding="utf-8")
    return TrustedModels(folder, features, inputs)


@dataclass(frozen=True)
class Archive:
    """A small archive: its folder, its layout, and what the page would get for each plate's images."""

    root: Path
    layout: Path
    # plate label → image path below root → {"concentration_um", "well", "keras_od450"} (the fixture's)
    expected: dict[str, dict[str, dict[str, Any]]]
    corrupt: str  # an image that cannot be decoded
    not_brightfield: str  # a dark noise frame: scored, flagged by the trust check


def _corrupt_jpeg(source: Path, target: Path) -> None:
    """The first 300 bytes of a real JPEG: a truncated file that no decoder reads."""
    target.write_bytes(source.read_bytes()[:300])


@pytest.fixture(scope="session")
def archive(fixture: Fixture, tmp_path_factory: pytest.TempPathFactory) -> Archive:  # noqa: F811
    """Three plates of the fixture's 24 images as a lab stores them (names with concentrations; bare well
    names with a layout; well folders with a layout), plus a corrupt file and a non-bright-field frame."""
    root = tmp_path_factory.mktemp("archive") / "screen"
    expected: dict[str, dict[str, dict[str, Any]]] = {"plate1": {}, "plate2": {}, "plate3": {}}
    for name, info in sorted(fixture.plate.items()):
        well = info["well"]
        for label, path in (("plate1", f"plate1/{name}"), ("plate2", f"plate2/{well}.jpg"),
                            ("plate3", f"plate3/{well}/field1.jpg")):  # fmt: skip
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(fixture.plate_dir / name, root / path)
            expected[label][path] = info
    corrupt = "plate1/A549_dox_1uM_D01.jpg"
    _corrupt_jpeg(fixture.files[0], root / corrupt)
    not_brightfield = "plate3/D02/field1.jpg"
    (root / not_brightfield).parent.mkdir()
    noise = np.random.default_rng(3).uniform(0, 12, (270, 320, 3)).astype(np.uint8)
    Image.fromarray(noise).save(root / not_brightfield, quality=90)
    (root / "notes.txt").write_text("not an image", encoding="utf-8")
    layout = root.parent / "layout.csv"
    rows = sorted({(i["well"], i["concentration_um"]) for i in fixture.plate.values()})
    layout.write_text(
        "well,concentration (µM)\n" + "".join(f"{w},{'DMSO' if c == 0 else c}\n" for w, c in rows),
        encoding="utf-8",
    )
    return Archive(root, layout, expected, corrupt, not_brightfield)


@pytest.fixture(scope="session")
def many_plates(fixture: Fixture, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """Ten plates of the fixture's images (names with concentrations), for the stop-and-restart tests."""
    root = tmp_path_factory.mktemp("many") / "archive"
    for k in range(1, 11):
        (root / f"plate{k:02d}").mkdir(parents=True)
        for path in fixture.files:
            shutil.copyfile(path, root / f"plate{k:02d}" / path.name)
    return root


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A Dask cluster of 2 worker processes (one thread each), as `dask scheduler` + `dask worker` give."""
    import logging

    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "TFDF_DISABLE_WELCOME_MESSAGE": "1"},
    ) as running:  # fmt: skip
        yield running
