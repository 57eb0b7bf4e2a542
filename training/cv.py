"""4-fold cross-validation by dose series (the paper's Tables S1/S2), with a frozen backbone.

    python -m training cv data/a549 --out runs/cv-a549 --weights imagenet [--backbone InceptionV3]

The series are split into 4 folds (stratified by cell line and plate); each fold in turn is the test set,
and a head is trained on the cached features of the other three (a few of their series used for early
stopping). The backbone features are computed once for all images (and cached), so the 4 folds cost
little more than one training run. Test predictions use view 0 (the whole, un-augmented image), as the
browser does. Writes cv.json (give it to python -m training evaluate --cv) and cv.md.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from training import config
from training.dataset import cv_folds, fold_split
from training.features import cached_features
from training.formatting import format_value, json_float
from training.model import build_model, feature_extractor
from training.tables import score_predictions, table1
from training.train import TrainOptions, seed_everything, train_head_on_views

__all__ = ["cross_validate"]


def _fold_result(
    rows: pd.DataFrame, features: np.ndarray, folds: list[tuple[str, ...]], index: int, options: TrainOptions
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Train a head on all folds but ``index`` and score it on fold ``index``: the JSON entry and the
    test rows with ``predicted``."""
    split = fold_split(rows, folds, index, n_val=options.n_val, seed=options.series_seed)
    role = rows["series"].map(split.role).to_numpy()
    train_idx, val_idx, test_idx = (np.flatnonzero(role == r) for r in ("train", "val", "test"))
    y = rows["od450"].to_numpy(np.float32)
    # each fold's head: its own stream (the page seeds fold i the same way)
    head, history = train_head_on_views(features, y, train_idx, val_idx, options, seed=(options.seed, index))
    frame = rows.iloc[test_idx].copy()
    frame["predicted"] = np.asarray(head.predict_on_batch(features[test_idx, 0]))[:, 0]
    scores = score_predictions(frame).to_dict()
    entry = {
        "fold": index + 1,
        "test_series": list(split.test),
        "epochs": len(history),
        "table1": scores["table1"],
        "table2": {key: value for key, value in scores["table2"].items() if key != "per_series"},
    }
    return entry, frame


def cross_validate(
    manifest: pd.DataFrame,
    options: TrainOptions,
    *,
    k: int = config.CV_FOLDS,
    cache: Path | None = None,
    progress: bool = False,
    backbone: tuple[Any, str] | None = None,
) -> dict[str, Any]:
    """Cross-validate the frozen-backbone model by series.

    Parameters
    ----------
    manifest : DataFrame
        From :func:`training.manifest.load_manifest` (several cell lines allowed: folds are stratified).
    options : TrainOptions
        Backbone, weights, views, head and seed (``fine_tune`` must be False).
    k : int
        Number of folds (paper: 4).
    cache : Path, optional
        Feature cache folder (None: no cache).
    progress : bool
        Progress bar and one line per fold (CLI).
    backbone : (keras.Model, str), optional
        A frozen backbone and its origin (:func:`training.model.build_backbone`) to share; default: built.

    Returns
    -------
    dict
        JSON-ready: ``folds`` (each with its test series, Table 1 and the Table 2 summary), ``r2_mean``,
        ``r2_sd`` over folds, ``r2_pooled`` over all test predictions.
    """
    options = options.resolved()
    if options.fine_tune:
        raise ValueError("cross-validation runs with a frozen backbone; fine_tune must be False")
    seed_everything(options.seed)
    start = time.perf_counter()
    backbone_model, origin = backbone or options.build_backbone()
    model = build_model(backbone_model, units=options.head_units)
    rows = manifest.reset_index(drop=True)
    features = cached_features(
        list(rows["path"]),
        feature_extractor(model),
        options.view_spec(),
        cache=cache,
        workers=options.workers,
        progress=progress,
    )
    features_s = time.perf_counter() - start
    start = time.perf_counter()
    folds = cv_folds(rows, k=k, seed=options.series_seed)
    # The folds' heads are independent (each has its own seeded generator): train them side by side.
    with ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="nostain-cv") as pool:
        done = list(pool.map(lambda index: _fold_result(rows, features, folds, index, options), range(k)))
    results, pooled = [entry for entry, _ in done], [frame for _, frame in done]
    if progress:
        for entry, frame in done:
            r2_fold = format_value(entry["table1"]["r2"])
            print(f"fold {entry['fold']}/{k}: r² {r2_fold} on {len(frame)} images")
    heads_s = time.perf_counter() - start
    r2 = np.array([np.nan if f["table1"]["r2"] is None else f["table1"]["r2"] for f in results], float)
    everything = pd.concat(pooled)
    lines = sorted(rows["cell_line"].unique())
    return {
        "schema": "nostain.cv/1",
        "label": f"{options.backbone} ({options.weights} weights) on {', '.join(lines)}",
        "backbone": options.backbone,
        "weights_origin": origin,
        "cell_lines": lines,
        "n_folds": k,
        "folds": results,
        "r2_mean": json_float(r2.mean()),
        "r2_sd": json_float(r2.std(ddof=1)),
        "r2_pooled": table1(everything["od450"].to_numpy(float), everything["predicted"].to_numpy(float))[
            "r2"
        ],
        "options": options.to_dict(),
        "features_s": round(features_s, 2),
        "heads_s": round(heads_s, 2),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
