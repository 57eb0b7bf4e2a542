"""The model card's ``ood`` block: what a model's own training images look like, for the page's warnings.

Built at export time from the run's own data: pooled backbone features of the training series (un-augmented,
as the page sees them) define the reference (PCA + shrunk covariance, :func:`training.trust.ood.fit_ood`); the
validation series — held out from fitting the head — give the distance quantiles the page flags against.
Image statistics of the same model inputs give the "is this a bright-field well at all" ranges.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from training.dataset import SeriesSplit
from training.features import backbone_fingerprint
from training.model import feature_extractor
from training.predict import load_inputs, predict_inputs
from training.runs import load_datasets
from training.trust.ood import fit_image_stats, fit_ood, image_stats

__all__ = ["ood_block_for_run", "ood_card_block"]


def ood_card_block(
    model: Any, manifest: pd.DataFrame, split: SeriesSplit, *, workers: int = 2, n_components: int = 16
) -> dict[str, Any]:
    """``card["ood"]`` for a trained model.

    Parameters
    ----------
    model : tf_keras.Model
        The trained model (raw 0–255 input, OD450 output).
    manifest : DataFrame
        The rows it was trained on (needs ``path`` and ``series``).
    split : SeriesSplit
        The run's split: ``train`` series are the reference, ``val`` series the held-out images.

    Returns
    -------
    dict
        ``{"features": ..., "image_stats": ..., "backbone_fingerprint": ..., "reference": ...}``.
    """
    size = int(model.input_shape[1])
    train = manifest[manifest["series"].isin(split.train)]
    held = manifest[manifest["series"].isin(split.val)]
    if train.empty or held.empty:
        raise ValueError("the run's split needs training and validation series to describe its images")
    train_inputs = load_inputs(list(train["path"]), size, workers=workers)
    held_inputs = load_inputs(list(held["path"]), size, workers=workers)
    _, train_features = predict_inputs(model, train_inputs)
    _, held_features = predict_inputs(model, held_inputs)
    return {
        "features": fit_ood(train_features, held_features, n_components=n_components),
        "image_stats": fit_image_stats([image_stats(x) for x in train_inputs]),
        "backbone_fingerprint": backbone_fingerprint(feature_extractor(model)),
        "reference": f"{len(train)} training images ({len(split.train)} series); quantiles from "
        f"{len(held)} held-out validation images ({len(split.val)} series)",
    }


def ood_block_for_run(model: Any, run_config: dict[str, Any], *, workers: int = 2) -> dict[str, Any] | None:
    """:func:`ood_card_block` from a run's own training data (its ``config.json``: sources and split).

    None when the run's dataset folders are no longer where training found them.
    """
    folders = [Path(s["path"]) for s in run_config["data"].get("sources", []) if s.get("path")]
    if not folders or not all(f.exists() for f in folders):
        return None
    manifest, _ = load_datasets(folders)
    return ood_card_block(model, manifest, SeriesSplit.from_dict(run_config["split"]), workers=workers)
