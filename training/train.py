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

import hashlib
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from training import config
from training.dataset import Augmentation, SeriesSplit, split_series
from training.features import ViewSpec, cached_features, iter_views
from training.head import HeadFit, fit_head
from training.imaging import imaging_block
from training.model import (
    build_backbone,
    build_model,
    copy_head_weights,
    feature_extractor,
    quiet_tensorflow,
)
from training.runs import package_versions, save_run

__all__ = [
    "TrainOptions",
    "TrainResult",
    "data_summary",
    "seed_everything",
    "train_head",
    "train_head_on_views",
    "train_run",
]


@dataclass(frozen=True)
class TrainOptions:
    """Everything that decides a trained model; defaults are the paper's where it gives them (see config).

    ``seed`` draws the augmented views and the head's initial weights and mini-batch order; ``split_seed``
    (default: ``seed``) decides which dose series are training, validation and test series. Repeating a
    run with other ``seed`` values and a fixed ``split_seed`` measures the training noise on one test set.
    ``float16_exact`` (frozen backbone only) folds the backbone's batch norms and rounds its weights to
    float16 before any feature is computed (:func:`training.model.float16_exact`): the export then stores
    the backbone as float16 without changing a feature.
    """

    backbone: str = config.DEFAULT_BACKBONE
    weights: str = "imagenet"
    input_size: int = config.INPUT_SIZE
    n_views: int = config.N_VIEWS
    augmentation: Augmentation = field(default_factory=Augmentation)
    fine_tune: bool = False
    train_batchnorm: bool = False
    float16_exact: bool = True
    head_units: int = config.HEAD_UNITS
    learning_rate: float | None = None  # None: config.LEARNING_RATE (head) or FINE_TUNE_LEARNING_RATE
    batch_size: int = config.BATCH_SIZE
    epochs: int | None = None  # None: config.EPOCHS (head) or FINE_TUNE_EPOCHS
    patience: int | None = None  # None: config.PATIENCE (head) or FINE_TUNE_PATIENCE
    seed: int = config.SEED
    split_seed: int | None = None  # None: the same as seed
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

    @property
    def series_seed(self) -> int:
        """The seed of the series split: ``split_seed``, or ``seed`` when that is None."""
        return self.seed if self.split_seed is None else self.split_seed

    def head_fit(self) -> HeadFit:
        """The head's optimiser and stopping settings (mode-dependent defaults filled in)."""
        resolved = self.resolved()
        return HeadFit(
            learning_rate=float(resolved.learning_rate or config.LEARNING_RATE),
            batch_size=resolved.batch_size,
            epochs=int(resolved.epochs or config.EPOCHS),
            patience=int(resolved.patience or config.PATIENCE),
            units=resolved.head_units,
        )

    def build_backbone(self) -> tuple[Any, str]:
        """The backbone these options ask for and its weights' origin (:func:`training.model.build_backbone`).

        Made float16-exact when ``float16_exact`` and the backbone stays frozen.
        """
        return build_backbone(
            self.backbone,
            input_size=self.input_size,
            weights=self.weights,
            float16=self.float16_exact and not self.fine_tune,
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
        aug: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.pop("augmentation").items()
        }
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
    import tensorflow as tf  # lazy: TensorFlow takes seconds to import
    import tf_keras as keras

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


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
    return {
        "imaging": imaging_block(used),
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


def _fit_with_early_stopping(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    validation: tuple[np.ndarray, np.ndarray] | None,
    options: TrainOptions,
    *,
    verbose: int,
) -> pd.DataFrame:
    """Adam on the mean squared error, stopping early on ``validation`` (on the training loss without it).

    The best weights are restored; returns the loss history per epoch.
    """
    import tf_keras as keras  # lazy: TensorFlow takes seconds to import

    model.compile(optimizer=keras.optimizers.Adam(options.learning_rate), loss="mse")
    stop = keras.callbacks.EarlyStopping(
        monitor="val_loss" if validation else "loss", patience=options.patience, restore_best_weights=True
    )
    history = model.fit(
        x,
        y,
        validation_data=validation,
        batch_size=options.batch_size,
        epochs=options.epochs,
        shuffle=True,
        callbacks=[stop],
        verbose=verbose,
    )
    return pd.DataFrame(history.history).rename_axis("epoch").reset_index()


def train_head(
    train_x: np.ndarray,
    train_y: np.ndarray,
    val_x: np.ndarray | None,
    val_y: np.ndarray | None,
    options: TrainOptions,
    *,
    seed: Sequence[int] | None = None,
) -> tuple[Any, pd.DataFrame]:
    """Fit the Dense head on feature vectors (:func:`training.head.fit_head`).

    Parameters
    ----------
    train_x : ndarray, shape (n, F)
        Pooled features (every view of every training image).
    train_y : ndarray, shape (n,)
        OD450.
    val_x, val_y : ndarray, shapes (m, F), (m,), or None
        Validation features (view 0 of the validation images) for early stopping; None: stop on the
        training loss.
    seed : sequence of int, optional
        Seeds the head's initial weights and mini-batch order (:func:`training.stream.head_stream`);
        default ``(options.seed,)``.

    Returns
    -------
    (keras.Model, DataFrame)
        The head (best validation weights restored) and the loss history per epoch.
    """
    return fit_head(train_x, train_y, val_x, val_y, options.head_fit(), seed or (options.seed,))


def train_head_on_views(
    features: np.ndarray,
    y: np.ndarray,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    options: TrainOptions,
    *,
    seed: Sequence[int] | None = None,
) -> tuple[Any, pd.DataFrame]:
    """Fit the head on cached views: every view of the training images, view 0 of the validation images.

    Parameters
    ----------
    features : ndarray, shape (n_images, n_views, F)
    y : ndarray, shape (n_images,)
        OD450.
    train_idx, val_idx : ndarray of int
        Rows of ``features`` to train on and to stop early on.
    seed : sequence of int, optional
        See :func:`train_head`.
    """
    n_views = features.shape[1]
    return train_head(
        features[train_idx].reshape(-1, features.shape[-1]),
        np.repeat(y[train_idx], n_views),
        features[val_idx, 0],
        y[val_idx],
        options,
        seed=seed,
    )


def _fine_tune(
    model: Any,
    views: np.ndarray,
    y: np.ndarray,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    options: TrainOptions,
) -> pd.DataFrame:
    """Train the whole model end to end on pre-made views ``(n_images, n_views, S, S, 3)``."""
    x_train = views[train_idx].reshape(-1, *views.shape[2:])
    y_train = np.repeat(y[train_idx], views.shape[1])
    validation = (views[val_idx, 0], y[val_idx]) if len(val_idx) > 0 else None
    return _fit_with_early_stopping(model, x_train, y_train, validation, options, verbose=2)


def _build(options: TrainOptions, backbone: tuple[Any, str] | None = None) -> tuple[Any, str]:
    """The regressor these options describe (backbone frozen unless fine-tuning) and its weights' origin.

    ``backbone``: an already built ``(backbone, origin)`` to wrap (shared, frozen) instead of a new one.
    """
    if backbone is not None and options.fine_tune:
        raise ValueError("a shared backbone stays frozen; build a new one to fine-tune")
    backbone_model, origin = backbone or options.build_backbone()
    model = build_model(
        backbone_model,
        units=options.head_units,
        trainable_backbone=options.fine_tune,
        batchnorm_inference=not options.train_batchnorm,
    )
    return model, origin


def _train_model(
    model: Any,
    rows: pd.DataFrame,
    split: SeriesSplit,
    options: TrainOptions,
    *,
    cache: Path | None,
    progress: bool,
    timings: dict[str, float],
) -> pd.DataFrame:
    """Train ``model`` on the split's training series (early stopping on its validation series).

    Frozen backbone: cached features of every view, then the head alone, copied into ``model``.
    Fine-tuning: every view through the whole model. Stage durations go into ``timings`` (s).
    """
    is_train = rows["series"].isin(split.train).to_numpy()
    train_idx, val_idx = np.flatnonzero(is_train), np.flatnonzero(~is_train)
    y = rows["od450"].to_numpy(np.float32)
    paths = list(rows["path"])
    spec = options.view_spec()
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
        return history
    stream = iter_views(paths, spec, workers=options.workers)
    views = np.stack(list(tqdm(stream, total=len(paths), desc="views", unit="image", disable=not progress)))
    timings["views_s"] = time.perf_counter() - start
    start = time.perf_counter()
    history = _fine_tune(model, views, y, train_idx, val_idx, options)
    timings["fine_tune_s"] = time.perf_counter() - start
    return history


def train_run(
    manifest: pd.DataFrame,
    run_dir: str | Path,
    options: TrainOptions,
    *,
    split: SeriesSplit | None = None,
    sources: list[dict[str, Any]] | None = None,
    cache: Path | None = None,
    progress: bool = False,
    backbone: tuple[Any, str] | None = None,
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
        Provenance of the manifest(s) (from :func:`training.runs.load_datasets`).
    cache : Path, optional
        Feature cache folder (None: no cache).
    progress : bool
        Progress bars and stage messages (CLI).
    backbone : (keras.Model, str), optional
        A frozen backbone from :func:`training.model.build_backbone` and its origin, to share between runs
        (saves building it again; not with ``fine_tune``).
    """
    quiet_tensorflow()
    options = options.resolved()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(options.seed)
    split = split or split_series(
        manifest, n_test=options.n_test, n_val=options.n_val, seed=options.series_seed
    )
    say = print if progress else (lambda *a, **k: None)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    model, origin = _build(options, backbone)
    timings["build_s"] = time.perf_counter() - start
    rows = manifest[manifest["series"].isin(split.train + split.val)].reset_index(drop=True)
    n_train = int(rows["series"].isin(split.train).sum())
    say(
        f"training on {n_train} images ({len(split.train)} series), validating on {len(rows) - n_train} "
        f"({len(split.val)} series); {len(split.test)} test series held out"
    )
    history = _train_model(model, rows, split, options, cache=cache, progress=progress, timings=timings)
    say(
        f"stopped after {len(history)} epochs; "
        f"best validation loss {history.get('val_loss', history['loss']).min():.4g}"
    )
    sources = sources or [{"path": "", "manifest_sha256": "", "n_images": len(manifest)}]
    run_config = {
        "schema": "nostain.run/1",
        "options": options.to_dict(),
        "backbone": options.backbone,
        "fine_tune": options.fine_tune,
        "weights_origin": origin,
        "split": split.to_dict(),
        "data": data_summary(manifest, split, sources),
        "epochs_run": len(history),
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
        "versions": package_versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    save_run(run_dir, model, history, run_config)
    return TrainResult(model=model, run_dir=run_dir, split=split, config=run_config)
