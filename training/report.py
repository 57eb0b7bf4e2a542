"""Write an evaluation to files: plots, ``evaluation.json``, ``evaluation.md`` and ``predictions.csv``.

:func:`training.evaluate.evaluate_runs` measures; this module renders what it measured for people
(Markdown tables, PNG plots) and for programs (JSON, CSV). Cross-validation results get their own
``cv.json`` and ``cv.md`` (:func:`write_cv`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from training.evaluate import Evaluation, PairResult
from training.formatting import format_value, write_json
from training.plots import plot_hill_curves, plot_r2_matrix, plot_scatter, plot_tsne, tsne_embedding

__all__ = ["markdown_report", "seed_noise_lines", "write_cv", "write_evaluation"]

#: Columns of predictions.csv (those present), then the model's name.
_PREDICTION_COLUMNS = ["series", "cell_line", "concentration_um", "od450", "predicted", "image"]


def _table1_lines(evaluations: Sequence[dict[str, Any]]) -> list[str]:
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
            f"{format_value(t['r2'])} | {format_value(t['slope'])} | {format_value(t['intercept'])} | "
            f"{format_value(t['mean_difference'])} ± {format_value(t['sd_difference'])} |"
        )
    return lines


def _table2_lines(evaluations: Sequence[dict[str, Any]]) -> list[str]:
    lines = ["## Table 2 — IC50 from measured vs predicted OD450 (µM, mean ± SD over test series)", ""]
    lines += [
        "| data | model | series (both fitted) | measured IC50 | predicted IC50 | paired t p | unpaired t p "
        "| median abs log10 error | true IC50 | median abs log10 error vs true (measured / predicted) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in evaluations:
        t = e["table2"]
        truth = t.get("ic50_true_mean_um")
        vs_true = (
            f"{format_value(t.get('log10_error_measured_vs_true_median'), 3)} / "
            f"{format_value(t.get('log10_error_predicted_vs_true_median'), 3)}"
            if truth
            else "—"
        )
        lines.append(
            f"| {e['cell_line']} | {e['model']} | {t['n_series']} ({t['n_series_with_both_ic50']}) | "
            f"{format_value(t['ic50_measured_mean_um'])} ± {format_value(t['ic50_measured_sd_um'])} | "
            f"{format_value(t['ic50_predicted_mean_um'])} ± {format_value(t['ic50_predicted_sd_um'])} | "
            f"{format_value(t['paired_t_p'], 3)} | {format_value(t['unpaired_t_p'], 3)} | "
            f"{format_value(t['log10_error_median'], 3)} | {format_value(truth)} | {vs_true} |"
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
                f"{format_value(r['ic50_measured_um'])} ({r['status_measured']}) | "
                f"{format_value(r['ic50_predicted_um'])} ({r['status_predicted']}) | "
                f"{format_value(r['ic50_true_um'])} |"
            )
    return lines


def _matrix_lines(matrix: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "## Allogenic matrix — r² of every model (columns) on every cell line's test series (rows)",
        "",
        "| data \\ model | " + " | ".join(matrix["models"]) + " |",
        "|---" * (len(matrix["models"]) + 1) + "|",
    ]
    for line, row in zip(matrix["cell_lines"], matrix["r2"], strict=True):
        lines.append(f"| {line} | " + " | ".join(format_value(v) for v in row) + " |")
    return lines


def _cv_lines(cv: dict[str, Any]) -> list[str]:
    lines = ["", f"## {cv['n_folds']}-fold cross-validation by series — {cv['label']}", ""]
    lines += ["| fold | test series | n images | r² | slope | intercept |", "|---|---|---|---|---|---|"]
    for fold in cv["folds"]:
        t = fold["table1"]
        lines.append(
            f"| {fold['fold']} | {len(fold['test_series'])} | {t['n_images']} | {format_value(t['r2'])} | "
            f"{format_value(t['slope'])} | {format_value(t['intercept'])} |"
        )
    lines.append(f"| mean ± SD | | | {format_value(cv['r2_mean'])} ± {format_value(cv['r2_sd'])} | | |")
    return lines


def _mean_sd(stats: dict[str, Any], digits: int = 3) -> str:
    """``mean ± SD`` of a :func:`training.seeds.summarise_seeds` entry (the SD to 2 digits, at most 4
    decimals; just the mean when there is no SD, ``—`` when there is no value)."""
    if stats["mean"] is None:
        return format_value(None)
    if stats["sd"] is None:
        return format_value(stats["mean"], digits)
    return f"{format_value(stats['mean'], digits)} ± {format_value(round(stats['sd'], 4), 2)}"


#: Columns of the seed-noise table: figure name, header.
_SEED_COLUMNS = (
    ("r2", "r²"),
    ("slope", "slope"),
    ("ic50_log10_error_median", "median abs log10 IC50 error"),
    ("paired_t_p", "paired t p"),
    ("unpaired_t_p", "unpaired t p"),
    ("cv_r2_mean", "CV r² (mean of folds)"),
)


def seed_noise_lines(seeds: dict[str, Any]) -> list[str]:
    """The evaluation's figures as mean ± SD over training seeds (``evaluation.json``'s ``seeds`` block)."""
    n = len(seeds["seeds"])
    shipped = seeds.get("shipped", {})
    lines = [
        "",
        f"## Noise over {n} training seeds (mean ± SD; the series split is fixed)",
        "",
        f"Every model was trained {n} times, with training seeds {', '.join(map(str, seeds['seeds']))}: each "
        "seed draws other augmented views, other initial head weights and another mini-batch order; the "
        "dose series split (training, validation, test) stays the same, so every seed is tested on the "
        "same images and the spread is the noise of training itself. The tables above are those of the "
        f"shipped models: for each cell line, {seeds.get('rule', 'the median seed')}.",
        "",
        "| model cell line | " + " | ".join(h for _, h in _SEED_COLUMNS) + " | shipped seed |",
        "|---" * (len(_SEED_COLUMNS) + 2) + "|",
    ]
    for line, figures in seeds["autologous"].items():
        cells = [_mean_sd(figures[name]) for name, _ in _SEED_COLUMNS]
        lines.append(f"| {line} | " + " | ".join(cells) + f" | {shipped.get(line, '—')} |")
    pairs = seeds["r2"]
    models = list(dict.fromkeys(key.split("|")[1] for key in pairs))
    data = list(dict.fromkeys(key.split("|")[0] for key in pairs))
    lines += [
        "",
        f"Allogenic matrix, r² mean ± SD over the {n} seeds (rows: test data; columns: model's cell line):",
        "",
        "| data \\ model | " + " | ".join(models) + " |",
        "|---" * (len(models) + 1) + "|",
    ]
    for row in data:
        cells = [_mean_sd(pairs[f"{row}|{m}"]) if f"{row}|{m}" in pairs else "—" for m in models]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return lines


def markdown_report(result: dict[str, Any]) -> str:
    """The evaluation as Markdown: Tables 1 and 2, the allogenic matrix, the CV summary, the plots.

    ``result`` is the content of ``evaluation.json`` (:meth:`training.evaluate.Evaluation.to_json`);
    only ``created`` and ``evaluations`` are required.
    """
    lines = ["# nostain evaluation", ""]
    if any(e.get("synthetic") for e in result["evaluations"]):
        lines += [
            "**The test data are synthetic (simulated) images; these figures are not lab results.**",
            "",
        ]
    lines += [f"Generated {result['created']} by `python -m training`.", ""]
    if result["evaluations"]:
        lines += _table1_lines(result["evaluations"])
        lines += [""]
        lines += _table2_lines(result["evaluations"])
    matrix = result.get("allogenic")
    if matrix and len(matrix["models"]) > 1:
        lines += _matrix_lines(matrix)
    for cv in result.get("cv", []):
        lines += _cv_lines(cv)
    if result.get("seeds"):
        lines += seed_noise_lines(result["seeds"])
    if result.get("plots"):
        lines += ["", "## Plots", ""]
        for name in result["plots"]:
            lines.append(f"![{Path(name).stem}]({name})")
    return "\n".join(lines) + "\n"


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text)


def _plot_pair(pair: PairResult, out: Path) -> list[str]:
    """Scatter, Hill curves and (autologous, ≥ 5 images) t-SNE of one model on one cell line."""
    entry, frame = pair.entry, pair.frame
    name, line = entry["model"], entry["cell_line"]
    tag = _slug(f"{name}_on_{line}")
    title = f"{name} on {line} test series"
    pngs = [f"plots/scatter_{tag}.png", f"plots/hill_{tag}.png"]
    plot_scatter(frame["od450"], frame["predicted"], out / pngs[0], title=title, stats=entry["table1"])
    plot_hill_curves(pair.curves, out / pngs[1], title=f"Hill fits: {title} (measured ● / predicted ×)")
    if entry["autologous"] and len(frame) >= 5:
        pngs.append(f"plots/tsne_{tag}.png")
        plot_tsne(
            tsne_embedding(pair.features),
            frame["concentration_um"],
            out / pngs[-1],
            title=f"t-SNE of {name} backbone features, {line} test images",
        )
    return pngs


def write_evaluation(evaluation: Evaluation, out: str | Path, *, plots: bool = True) -> dict[str, Any]:
    """Write ``evaluation.json``, ``evaluation.md``, ``predictions.csv`` and (``plots``) ``plots/*.png``.

    Parameters
    ----------
    evaluation : Evaluation
        From :func:`training.evaluate.evaluate_runs`.
    out : path
        Output folder (created, with its ``plots/`` folder).
    plots : bool
        Draw the PNG plots (the t-SNE takes a few seconds per model).

    Returns
    -------
    dict
        The content of ``evaluation.json``.
    """
    out = Path(out)
    (out / "plots").mkdir(parents=True, exist_ok=True)
    pngs: list[str] = []
    if plots:
        for pair in evaluation.pairs:
            pngs += _plot_pair(pair, out)
        matrix = evaluation.allogenic
        if len(matrix["models"]) > 1:
            pngs.append("plots/r2_matrix.png")
            plot_r2_matrix(matrix["r2"], matrix["models"], matrix["cell_lines"], out / pngs[-1])
    result = evaluation.to_json(pngs)
    write_json(out / "evaluation.json", result)
    (out / "evaluation.md").write_text(markdown_report(result), encoding="utf-8")
    frames = [
        p.frame[[c for c in _PREDICTION_COLUMNS if c in p.frame]].assign(model=p.entry["model"])
        for p in evaluation.pairs
    ]
    pd.concat(frames).to_csv(out / "predictions.csv", index=False)
    return result


def write_cv(result: dict[str, Any], out: str | Path) -> Path:
    """Write a cross-validation result (:func:`training.cv.cross_validate`) as ``cv.json`` and ``cv.md``.

    Returns the path of ``cv.json``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = write_json(out / "cv.json", result)
    report = markdown_report({"evaluations": [], "cv": [result], "created": result["created"]})
    (out / "cv.md").write_text(report, encoding="utf-8")
    return path
