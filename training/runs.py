"""Run folders and dataset folders on disk: what training writes and what evaluation and export read.

A run folder (made by :func:`training.train.train_run`) holds ``model.h5`` (the whole Keras model: backbone
+ head, input raw 0–255 pixels), ``config.json`` (every option, the split, the data's provenance, package
versions, timings) and ``history.csv`` (loss per epoch). A dataset folder holds ``manifest.csv`` and the
images it lists (:mod:`training.manifest`).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from training.formatting import write_json
from training.manifest import MANIFEST_NAME, load_manifest
from training.model import quiet_tensorflow

__all__ = [
    "CONFIG_FILE",
    "HISTORY_FILE",
    "MODEL_FILE",
    "load_datasets",
    "load_run",
    "package_versions",
    "save_run",
]

MODEL_FILE = "model.h5"
CONFIG_FILE = "config.json"
HISTORY_FILE = "history.csv"


def package_versions() -> dict[str, str]:
    """Versions of nostain and the packages that shape a model's numbers."""
    versions: dict[str, str] = {}
    for name in ("nostain", "tensorflow", "tf_keras", "tensorflowjs", "numpy", "pillow"):
        try:
            versions[name] = metadata.version(name.replace("_", "-"))
        except metadata.PackageNotFoundError:
            versions[name] = "unknown"
    return versions


def load_datasets(folders: list[Path]) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Load and concatenate manifests; returns the table and each source's path and manifest sha256.

    Each row gets a ``dataset`` column (the absolute folder). Raises ValueError when two datasets share
    a series id (series ids must be unique across the datasets of one run).
    """
    frames, sources = [], []
    for folder in folders:
        frame = load_manifest(folder)
        csv_path = Path(folder) / MANIFEST_NAME if Path(folder).is_dir() else Path(folder)
        digest = hashlib.sha256(csv_path.read_bytes()).hexdigest()
        frame["dataset"] = str(Path(folder).resolve())
        frames.append(frame)
        sources.append(
            {"path": str(Path(folder).resolve()), "manifest_sha256": digest, "n_images": len(frame)}
        )
    table = pd.concat(frames, ignore_index=True)
    if table["series"].duplicated().any() and len(frames) > 1:
        counts = table.groupby("series")["dataset"].nunique()
        shared = sorted(counts[counts > 1].index)
        if shared:
            raise ValueError(f"series ids {shared[:3]} occur in several datasets; series ids must be unique")
    return table, sources


def save_run(run_dir: Path, model: Any, history: pd.DataFrame, run_config: dict[str, Any]) -> None:
    """Write a run folder: ``model.h5`` (HDF5, no optimizer), ``history.csv`` and ``config.json``."""
    with warnings.catch_warnings():  # Keras 2 calls HDF5 "legacy"; it is what TF.js and the paper use
        warnings.simplefilter("ignore", UserWarning)
        model.save(run_dir / MODEL_FILE, include_optimizer=False, save_format="h5")
    history.to_csv(run_dir / HISTORY_FILE, index=False)
    write_json(run_dir / CONFIG_FILE, run_config)


def load_run(run_dir: str | Path) -> tuple[Any, dict[str, Any]]:
    """The Keras model and config of a run folder made by :func:`training.train.train_run`."""
    quiet_tensorflow()
    import tf_keras as keras  # lazy: TensorFlow takes seconds to import

    run_dir = Path(run_dir)
    if not (run_dir / MODEL_FILE).is_file():
        raise FileNotFoundError(f"{run_dir} is not a training run: no {MODEL_FILE}")
    model = keras.models.load_model(run_dir / MODEL_FILE, compile=False)
    return model, json.loads((run_dir / CONFIG_FILE).read_text(encoding="utf-8"))
