"""4-fold cross-validation by dose series (the paper's Tables S1/S2), with a frozen backbone.

    python -m training cv data/a549 --out runs/cv-a549 --weights imagenet [--backbone InceptionV3]

The series are split into 4 folds (stratified by cell line and plate); each fold in turn is the test set,
and a head is trained on the cached features of the other three (a few of their series used for early
stopping). The backbone features are computed once for all images (and cached), so the 4 folds cost
little more than one training run. Test predictions use view 0 (the whole, un-augmented image), as the
browser does. Writes cv.json (give it to python -m training evaluate --cv) and cv.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from training import config
from training.dataset import cv_folds, fold_split

__all__ = ["add_arguments", "cross_validate", "main"]


def cross_validate(
    manifest: pd.DataFrame,
    options: Any,
    *,
    k: int = config.CV_FOLDS,
    cache: Path | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Cross-validate the frozen-backbone model by series.

    Parameters
    ----------
    manifest : DataFrame
        From :func:`training.manifest.load_manifest` (several cell lines allowed: folds are stratified).
    options : training.train.TrainOptions
        Backbone, weights, views, head and seed (``fine_tune`` must be False).
    k : int
        Number of folds (paper: 4).

    Returns
    -------
    dict
        JSON-ready: ``folds`` (each with its test series, Table 1 and the Table 2 summary), ``r2_mean``,
        ``r2_sd`` over folds, ``r2_pooled`` over all test predictions.
    """
    from training.evaluate import _f, _num, evaluate_predictions
    from training.features import cached_features
    from training.model import build_backbone, build_model, feature_extractor
    from training.train import seed_everything, train_head_on_views

    options = options.resolved()
    if options.fine_tune:
        raise ValueError("cross-validation runs with a frozen backbone; fine_tune must be False")
    seed_everything(options.seed)
    start = time.perf_counter()
    backbone, origin = build_backbone(
        options.backbone, input_size=options.input_size, weights=options.weights
    )
    model = build_model(backbone, units=options.head_units)
    rows = manifest.reset_index(drop=True)
    spec = options.view_spec()
    features = cached_features(
        list(rows["path"]),
        feature_extractor(model),
        spec,
        cache=cache,
        workers=options.workers,
        progress=progress,
    )
    features_s = time.perf_counter() - start
    y = rows["od450"].to_numpy(np.float32)
    folds = cv_folds(rows, k=k, seed=options.seed)
    results, pooled = [], []
    for index in range(k):
        split = fold_split(rows, folds, index, n_val=options.n_val, seed=options.seed)
        role = rows["series"].map(split.role).to_numpy()
        train_idx, val_idx, test_idx = (np.flatnonzero(role == r) for r in ("train", "val", "test"))
        head, history = train_head_on_views(features, y, train_idx, val_idx, options)
        frame = rows.iloc[test_idx].copy()
        frame["predicted"] = head.predict(features[test_idx, 0], verbose=0)[:, 0]
        pooled.append(frame)
        scores = evaluate_predictions(frame)
        table2 = {k2: v for k2, v in scores["table2"].items() if k2 != "per_series"}
        results.append(
            {
                "fold": index + 1,
                "test_series": list(split.test),
                "epochs": len(history),
                "table1": scores["table1"],
                "table2": table2,
            }
        )
        if progress:
            print(f"fold {index + 1}/{k}: r² {_f(scores['table1']['r2'])} on {len(test_idx)} images")
    r2 = np.array([np.nan if f["table1"]["r2"] is None else f["table1"]["r2"] for f in results], float)
    everything = pd.concat(pooled)
    from training.evaluate import table1

    lines = sorted(rows["cell_line"].unique())
    return {
        "schema": "nostain.cv/1",
        "label": f"{options.backbone} ({options.weights} weights) on {', '.join(lines)}",
        "backbone": options.backbone,
        "weights_origin": origin,
        "cell_lines": lines,
        "n_folds": k,
        "folds": results,
        "r2_mean": _num(r2.mean()),
        "r2_sd": _num(r2.std(ddof=1)),
        "r2_pooled": table1(everything["od450"].to_numpy(float), everything["predicted"].to_numpy(float))[
            "r2"
        ],
        "options": options.to_dict(),
        "features_s": round(features_s, 2),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m training cv``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    from training.train import add_common_arguments

    add_common_arguments(parser)
    parser.add_argument("--out", type=Path, required=True, help="folder for cv.json and cv.md")
    parser.add_argument(
        "--folds", type=int, default=config.CV_FOLDS, help=f"number of folds (default {config.CV_FOLDS})"
    )


def main(args: argparse.Namespace) -> int:
    """Run ``python -m training cv``."""
    from training.evaluate import _f, markdown_report
    from training.train import cache_from_args, load_datasets, options_from_args

    manifest, _ = load_datasets(args.data)
    result = cross_validate(
        manifest, options_from_args(args), k=args.folds, cache=cache_from_args(args), progress=True
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "cv.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    report = markdown_report({"evaluations": [], "cv": [result], "created": result["created"]})
    (out / "cv.md").write_text(report, encoding="utf-8")
    print(
        f"r² over {args.folds} folds: {_f(result['r2_mean'])} ± {_f(result['r2_sd'])}; "
        f"wrote {out / 'cv.json'}"
    )
    return 0
