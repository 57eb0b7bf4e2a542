"""Score trained models on held-out dose series, in the paper's terms (Tables 1 and 2, the 3×3 matrix).

    python -m training evaluate --model runs/a549 runs/hek293 runs/h1975 \\
        --data data/a549 data/hek293 data/h1975 --out runs/eval [--cv runs/cv-a549/cv.json ...]

For every model × cell line: the test series of that cell line (the series held out when the model of
that cell line was trained; never a series the evaluated model trained on) are predicted from their
un-augmented images — exactly what the browser does — and compared with the measured OD450:

* Table 1: r² and regression line (slope, intercept) of predicted on measured OD450, and the mean ± SD
  of the difference predicted − measured.
* Table 2: per series, the IC50 of a 4-parameter Hill fit (app.doseresponse.fit_hill) to the measured
  and to the predicted OD450; their means ± SD, paired and unpaired t-tests (on the IC50s in µM, like the
  paper), the median |log10(predicted / measured IC50)|, and, for synthetic data, the errors against the
  true IC50.
* With several models and cell lines: the allogenic matrix (r² of every model on every cell line).
* Plots: measured vs predicted scatter, Hill curves per test series, t-SNE of the backbone features
  coloured by concentration, and the r² matrix.

Writes evaluation.json (machine-readable, used by export --evaluation), evaluation.md (for
people), predictions.csv (one row per image) and plots/*.png. Nothing in them is typed by hand.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "add_arguments",
    "allogenic_matrix",
    "evaluate_predictions",
    "evaluate_runs",
    "held_out_series",
    "load_inputs",
    "main",
    "markdown_report",
    "predict_images",
    "predict_inputs",
    "table1",
    "table2",
]


# ----------------------------------------------------------------------------------------------------------
# Statistics (pure; numbers in, dicts out)


def _finite(values: Sequence[float | None]) -> np.ndarray:
    return np.array([v for v in values if v is not None and math.isfinite(v)], dtype=float)


def _num(value: Any) -> float | None:
    """A JSON-safe float (None for missing / non-finite)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def table1(measured: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """The paper's Table 1 for one model on one test set.

    Parameters
    ----------
    measured, predicted : ndarray, shape (n,)
        OD450 per image.

    Returns
    -------
    dict
        ``n_images``, ``r2``, ``slope``, ``intercept`` (predicted = slope · measured + intercept),
        ``mean_difference`` and ``sd_difference`` of predicted − measured (OD450).
    """
    from app import stats

    measured = np.asarray(measured, float)
    predicted = np.asarray(predicted, float)
    if measured.shape != predicted.shape or measured.ndim != 1 or len(measured) < 3:
        raise ValueError(
            f"measured and predicted must be equal 1-D arrays of >= 3 values; "
            f"got {measured.shape}, {predicted.shape}"
        )
    reg = stats.regression(measured, predicted)
    diff = stats.mean_difference(measured, predicted)
    return {
        "n_images": len(measured),
        "r2": _num(reg.r2),
        "slope": _num(reg.slope),
        "intercept": _num(reg.intercept),
        "mean_difference": _num(diff.mean),
        "sd_difference": _num(diff.sd),
    }


def _fit(conc: np.ndarray, response: np.ndarray) -> Any:
    from app.doseresponse import fit_hill

    return fit_hill(conc, response)


def table2(frame: pd.DataFrame) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The paper's Table 2: IC50 per test series from measured vs predicted OD450.

    Parameters
    ----------
    frame : DataFrame
        One row per image with ``series``, ``concentration_um``, ``od450``, ``predicted`` and optionally
        ``ic50_true_um``.

    Returns
    -------
    (summary, per_series, curves)
        ``summary``: means ± SD (µM) over the series where both fits gave an IC50, the mean difference,
        paired and unpaired t-test p-values, the median |log10 error|, and errors against the true IC50
        when known. ``per_series``: one JSON-ready dict per series. ``curves``: the same with the fit
        objects and data, for plotting.
    """
    from app import stats

    per_series, curves = [], []
    for name, group in frame.groupby("series", sort=True):
        group = group.sort_values("concentration_um")
        conc = group["concentration_um"].to_numpy(float)
        fit_m = _fit(conc, group["od450"].to_numpy(float))
        fit_p = _fit(conc, group["predicted"].to_numpy(float))
        truth = (
            float(group["ic50_true_um"].iloc[0])
            if "ic50_true_um" in group and group["ic50_true_um"].notna().any()
            else None
        )
        row = {
            "series": str(name),
            "n_images": len(group),
            "ic50_measured_um": _num(fit_m.ic50_um),
            "ic50_predicted_um": _num(fit_p.ic50_um),
            "status_measured": fit_m.status,
            "status_predicted": fit_p.status,
            "ic50_true_um": _num(truth),
        }
        if row["ic50_measured_um"] and row["ic50_predicted_um"]:
            row["log10_error"] = math.log10(row["ic50_predicted_um"] / row["ic50_measured_um"])
        per_series.append(row)
        curves.append(
            {
                "name": str(name),
                "conc_um": conc,
                "measured": group["od450"].to_numpy(float),
                "predicted": group["predicted"].to_numpy(float),
                "fit_measured": fit_m,
                "fit_predicted": fit_p,
            }
        )
    both = [r for r in per_series if r["ic50_measured_um"] and r["ic50_predicted_um"]]
    measured = np.array([r["ic50_measured_um"] for r in both])
    predicted = np.array([r["ic50_predicted_um"] for r in both])
    summary: dict[str, Any] = {
        "n_series": len(per_series),
        "n_series_with_both_ic50": len(both),
        "ic50_measured_mean_um": _num(measured.mean()) if len(both) else None,
        "ic50_measured_sd_um": _num(measured.std(ddof=1)) if len(both) > 1 else None,
        "ic50_predicted_mean_um": _num(predicted.mean()) if len(both) else None,
        "ic50_predicted_sd_um": _num(predicted.std(ddof=1)) if len(both) > 1 else None,
        "difference_mean_um": _num((predicted - measured).mean()) if len(both) else None,
        "paired_t_p": None,
        "unpaired_t_p": None,
        "log10_error_median": _num(np.median(np.abs(np.log10(predicted / measured)))) if len(both) else None,
        "statuses_measured": _counts(r["status_measured"] for r in per_series),
        "statuses_predicted": _counts(r["status_predicted"] for r in per_series),
    }
    if len(both) >= 2:
        summary["paired_t_p"] = _num(stats.paired_t(measured, predicted).p_value)
        summary["unpaired_t_p"] = _num(stats.unpaired_t(measured, predicted).p_value)
    truths = [r for r in per_series if r["ic50_true_um"]]
    if truths:
        for key, source in (("measured", "ic50_measured_um"), ("predicted", "ic50_predicted_um")):
            errors = _finite(
                [abs(math.log10(r[source] / r["ic50_true_um"])) if r[source] else None for r in truths]
            )
            summary[f"log10_error_{key}_vs_true_median"] = _num(np.median(errors)) if len(errors) else None
        summary["ic50_true_mean_um"] = _num(np.mean([r["ic50_true_um"] for r in truths]))
    return summary, per_series, curves


def _counts(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def evaluate_predictions(frame: pd.DataFrame) -> dict[str, Any]:
    """Tables 1 and 2 for one model on one test set (``frame`` as for :func:`table2`)."""
    t1 = table1(frame["od450"].to_numpy(float), frame["predicted"].to_numpy(float))
    t1["n_series"] = int(frame["series"].nunique())
    summary, per_series, _ = table2(frame)
    return {"table1": t1, "table2": {**summary, "per_series": per_series}}


def allogenic_matrix(evaluations: Sequence[dict[str, Any]], *, key: str = "r2") -> dict[str, Any]:
    """Rows = test data (cell line), columns = models: ``table1[key]`` of every pair (None where missing)."""
    models = list(dict.fromkeys(e["model"] for e in evaluations))
    data = list(dict.fromkeys(e["cell_line"] for e in evaluations))
    lookup = {(e["cell_line"], e["model"]): e for e in evaluations}
    matrix = [
        [_num(lookup[(d, m)]["table1"][key]) if (d, m) in lookup else None for m in models] for d in data
    ]
    ic50 = [
        [
            _num(lookup[(d, m)]["table2"]["ic50_predicted_mean_um"]) if (d, m) in lookup else None
            for m in models
        ]
        for d in data
    ]
    return {"models": models, "cell_lines": data, key: matrix, "ic50_predicted_mean_um": ic50}


# ----------------------------------------------------------------------------------------------------------
# Predictions (TensorFlow)


def load_inputs(paths: Sequence[str | Path], size: int, *, workers: int = 2) -> np.ndarray:
    """Whole images preprocessed as the browser does: ``(n, size, size, 3)`` float32 0–255."""
    from training.preprocess import preprocess

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return np.stack(list(pool.map(lambda p: preprocess(p, size), paths)))


def predict_inputs(model: Any, inputs: np.ndarray, *, batch: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Predicted OD450 ``(n,)`` and pooled backbone features ``(n, F)`` of preprocessed images."""
    from training.model import export_model

    two = export_model(model)
    od, feats = [], []
    for start in range(0, len(inputs), batch):
        o, f = two.predict_on_batch(inputs[start : start + batch])
        od.append(np.asarray(o)[:, 0])
        feats.append(np.asarray(f))
    return np.concatenate(od).astype(np.float32), np.concatenate(feats).astype(np.float32)


def predict_images(
    model: Any, paths: Sequence[str | Path], *, workers: int = 2, batch: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    """Predict OD450 ``(n,)`` and pooled features ``(n, F)`` of whole, un-augmented image files."""
    return predict_inputs(model, load_inputs(paths, int(model.input_shape[1]), workers=workers), batch=batch)


def held_out_series(
    cell_line_rows: pd.DataFrame, run_config: dict[str, Any], other_configs: Sequence[dict[str, Any]]
) -> list[str]:
    """The test series of one cell line for one model.

    The series held out by the run that trained on them (this model, or another given model of that
    cell line); if no given run used them, the paper's split with this model's seed and test count.
    Raises ValueError if the result includes a series the model trained or validated on.
    """
    from training.dataset import split_series

    present = set(cell_line_rows["series"])
    seen = set(run_config["split"]["train"]) | set(run_config["split"]["val"])
    test: list[str] = []
    for cfg in [run_config, *other_configs]:
        candidates = present & set(cfg["split"]["test"])
        if candidates:
            test = sorted(candidates)
            break
    if not test:
        options = run_config["options"]
        test = list(
            split_series(cell_line_rows, n_test=options["n_test"], n_val=0, seed=options["seed"]).test
        )
    leaked = sorted(set(test) & seen)
    if leaked:
        raise ValueError(f"series {leaked[:3]} were used to train this model; they cannot test it")
    return test


# ----------------------------------------------------------------------------------------------------------
# Report


def _f(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _tables(evaluations: Sequence[dict[str, Any]]) -> list[str]:
    """Markdown lines of Tables 1 and 2 (and the per-series IC50s)."""
    lines = ["## Table 1 — measured vs predicted OD450 on the test series", ""]
    lines += [
        "| data | model | n images | r² | slope | intercept | difference ± SD (predicted − measured) |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in evaluations:
        t = e["table1"]
        lines.append(
            f"| {e['cell_line']} | {e['model']}{'' if e['autologous'] else ' (allogenic)'} | "
            f"{t['n_images']} | "
            f"{_f(t['r2'])} | {_f(t['slope'])} | {_f(t['intercept'])} | "
            f"{_f(t['mean_difference'])} ± {_f(t['sd_difference'])} |"
        )
    lines += ["", "## Table 2 — IC50 from measured vs predicted OD450 (µM, mean ± SD over test series)", ""]
    lines += [
        "| data | model | series (both fitted) | measured IC50 | predicted IC50 | paired t p | unpaired t p "
        "| median abs log10 error | true IC50 | median abs log10 error vs true (measured / predicted) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in evaluations:
        t = e["table2"]
        truth = t.get("ic50_true_mean_um")
        vs_true = (
            f"{_f(t.get('log10_error_measured_vs_true_median'), 3)} / "
            f"{_f(t.get('log10_error_predicted_vs_true_median'), 3)}"
            if truth
            else "—"
        )
        lines.append(
            f"| {e['cell_line']} | {e['model']} | {t['n_series']} ({t['n_series_with_both_ic50']}) | "
            f"{_f(t['ic50_measured_mean_um'])} ± {_f(t['ic50_measured_sd_um'])} | "
            f"{_f(t['ic50_predicted_mean_um'])} ± {_f(t['ic50_predicted_sd_um'])} | "
            f"{_f(t['paired_t_p'], 3)} | "
            f"{_f(t['unpaired_t_p'], 3)} | {_f(t['log10_error_median'], 3)} | {_f(truth)} | {vs_true} |"
        )
    lines += ["", "Per series:", ""]
    lines += [
        "| data | model | series | measured IC50 (status) | predicted IC50 (status) | true IC50 |",
        "|---|---|---|---|---|---|",
    ]
    for e in evaluations:
        for r in e["table2"]["per_series"]:
            lines.append(
                f"| {e['cell_line']} | {e['model']} | {r['series']} | "
                f"{_f(r['ic50_measured_um'])} ({r['status_measured']}) | "
                f"{_f(r['ic50_predicted_um'])} ({r['status_predicted']}) | {_f(r['ic50_true_um'])} |"
            )
    return lines


def markdown_report(result: dict[str, Any]) -> str:
    """The evaluation as Markdown: Tables 1 and 2, the allogenic matrix, the CV summary, the plots."""
    lines = ["# nostain evaluation", ""]
    if any(e.get("synthetic") for e in result["evaluations"]):
        lines += [
            "**The test data are synthetic (simulated) images; these figures are not lab results.**",
            "",
        ]
    lines += [f"Generated {result['created']} by `python -m training`.", ""]
    if result["evaluations"]:
        lines += _tables(result["evaluations"])
    matrix = result.get("allogenic")
    if matrix and len(matrix["models"]) > 1:
        lines += [
            "",
            "## Allogenic matrix — r² of every model (columns) on every cell line's test series (rows)",
            "",
        ]
        lines += [
            "| data \\ model | " + " | ".join(matrix["models"]) + " |",
            "|---" * (len(matrix["models"]) + 1) + "|",
        ]
        for line, row in zip(matrix["cell_lines"], matrix["r2"], strict=True):
            lines.append(f"| {line} | " + " | ".join(_f(v) for v in row) + " |")
    for cv in result.get("cv", []):
        lines += ["", f"## {cv['n_folds']}-fold cross-validation by series — {cv['label']}", ""]
        lines += ["| fold | test series | n images | r² | slope | intercept |", "|---|---|---|---|---|---|"]
        for fold in cv["folds"]:
            t = fold["table1"]
            lines.append(
                f"| {fold['fold']} | {len(fold['test_series'])} | {t['n_images']} | {_f(t['r2'])} | "
                f"{_f(t['slope'])} | {_f(t['intercept'])} |"
            )
        lines.append(f"| mean ± SD | | | {_f(cv['r2_mean'])} ± {_f(cv['r2_sd'])} | | |")
    if result.get("plots"):
        lines += ["", "## Plots", ""]
        for name in result["plots"]:
            lines.append(f"![{Path(name).stem}]({name})")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------------------
# CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m training evaluate``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
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


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text)


def evaluate_runs(
    run_dirs: Sequence[str | Path],
    data_dirs: Sequence[str | Path],
    out: str | Path,
    *,
    cv_files: Sequence[str | Path] = (),
    plots: bool = True,
    workers: int = 2,
    log: Any = None,
) -> dict[str, Any]:
    """Evaluate every run on every cell line of the data; write evaluation.json/.md, predictions.csv, plots.

    Parameters
    ----------
    run_dirs : paths
        Training run folders (:func:`training.train.train_run`); the folder name is the model's name.
    data_dirs : paths
        Dataset folders (their manifests are concatenated).
    out : path
        Output folder.
    cv_files : paths
        ``cv.json`` files to include (:mod:`training.cv`).
    plots : bool
        Draw the PNG plots.
    log : callable, optional
        Called with progress lines (e.g. ``print``).

    Returns
    -------
    dict
        The content of ``evaluation.json``.
    """
    from training.export import package_versions
    from training.plots import plot_hill_curves, plot_r2_matrix, plot_scatter, plot_tsne, tsne_embedding
    from training.train import load_datasets, load_run

    say = log or (lambda *a: None)
    manifest, _ = load_datasets([Path(d) for d in data_dirs])
    runs = [(Path(r).name, Path(r).resolve(), *load_run(r)) for r in run_dirs]
    out = Path(out)
    (out / "plots").mkdir(parents=True, exist_ok=True)
    evaluations, rows, pngs = [], [], []
    inputs_cache: dict[tuple[tuple[str, ...], int], np.ndarray] = {}
    for name, path, model, cfg in runs:
        others = [c for n, _, _, c in runs if n != name]
        for line, line_rows in sorted(manifest.groupby("cell_line")):
            test = held_out_series(line_rows, cfg, others)
            frame = line_rows[line_rows["series"].isin(test)].reset_index(drop=True)
            start = time.perf_counter()
            key = (tuple(frame["path"].astype(str)), int(model.input_shape[1]))
            if key not in inputs_cache:  # decode each test image once, whatever the number of models
                inputs_cache[key] = load_inputs(list(frame["path"]), key[1], workers=workers)
            od, feats = predict_inputs(model, inputs_cache[key])
            say(
                f"{name} on {line}: {len(frame)} test images of {len(test)} series "
                f"({time.perf_counter() - start:.1f} s)"
            )
            frame["predicted"] = od
            scores = evaluate_predictions(frame)
            autologous = line in cfg["data"]["cell_lines"]
            synthetic = bool("synthetic" in frame and frame["synthetic"].fillna(False).astype(bool).all())
            evaluations.append(
                {
                    "model": name,
                    "model_path": str(path),
                    "model_cell_lines": cfg["data"]["cell_lines"],
                    "cell_line": line,
                    "data": sorted(set(frame["dataset"])),
                    "autologous": autologous,
                    "synthetic": synthetic,
                    "test_series": test,
                    **scores,
                }
            )
            keep = ["series", "cell_line", "concentration_um", "od450", "predicted", "image"]
            rows.append(frame[[c for c in keep if c in frame]].assign(model=name))
            if plots:
                tag = _slug(f"{name}_on_{line}")
                title = f"{name} on {line} test series"
                pngs.append(f"plots/scatter_{tag}.png")
                plot_scatter(frame["od450"], od, out / pngs[-1], title=title, stats=scores["table1"])
                pngs.append(f"plots/hill_{tag}.png")
                plot_hill_curves(
                    table2(frame)[2], out / pngs[-1], title=f"Hill fits: {title} (measured ● / predicted ×)"
                )
                if autologous and len(frame) >= 5:
                    pngs.append(f"plots/tsne_{tag}.png")
                    plot_tsne(
                        tsne_embedding(feats),
                        frame["concentration_um"],
                        out / pngs[-1],
                        title=f"t-SNE of {name} backbone features, {line} test images",
                    )
    result: dict[str, Any] = {
        "schema": "nostain.evaluation/1",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": package_versions(),
        "evaluations": evaluations,
        "allogenic": allogenic_matrix(evaluations),
        "cv": [json.loads(Path(p).read_text(encoding="utf-8")) for p in cv_files],
        "plots": pngs,
    }
    if plots and len(result["allogenic"]["models"]) > 1:
        pngs.append("plots/r2_matrix.png")
        plot_r2_matrix(
            result["allogenic"]["r2"],
            result["allogenic"]["models"],
            result["allogenic"]["cell_lines"],
            out / pngs[-1],
        )
    (out / "evaluation.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (out / "evaluation.md").write_text(markdown_report(result), encoding="utf-8")
    pd.concat(rows).to_csv(out / "predictions.csv", index=False)
    return result


def main(args: argparse.Namespace) -> int:
    """Run ``python -m training evaluate``."""
    result = evaluate_runs(
        args.model,
        args.data,
        args.out,
        cv_files=args.cv,
        plots=not args.no_plots,
        workers=args.workers,
        log=print,
    )
    for e in result["evaluations"]:
        t1, t2 = e["table1"], e["table2"]
        print(
            f"{e['model']} on {e['cell_line']}: r² {_f(t1['r2'])}, slope {_f(t1['slope'])}, "
            f"IC50 measured {_f(t2['ic50_measured_mean_um'])} / "
            f"predicted {_f(t2['ic50_predicted_mean_um'])} µM"
        )
    out = Path(args.out)
    print(f"wrote {out / 'evaluation.md'} and {out / 'evaluation.json'}")
    return 0
