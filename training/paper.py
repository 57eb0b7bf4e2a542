"""The paper's published figures (Cho et al., Sci Rep 12:6610, 2022; ``shared/PAPER.md``) and a generated
side-by-side of ours against them, with the issue's targets judged from the evaluation JSON.

Only the paper's numbers are typed here (they are citations); every figure of ours comes from
:func:`training.evaluate.evaluate_runs`' JSON.
"""

from __future__ import annotations

from typing import Any

from training.formatting import format_value

__all__ = ["PAPER_CV_R2", "PAPER_IC50", "PAPER_R2", "TARGETS", "comparison_markdown"]

#: Table 1 r² of measured vs predicted OD450 on the test series: (data cell line, model cell line) → r².
PAPER_R2: dict[tuple[str, str], float] = {
    ("A549", "A549"): 0.9513, ("A549", "HEK293"): 0.6996, ("A549", "NCI-H1975"): 0.07962,
    ("HEK293", "HEK293"): 0.9404, ("HEK293", "A549"): 0.8634, ("HEK293", "NCI-H1975"): 0.4474,
    ("NCI-H1975", "NCI-H1975"): 0.9491, ("NCI-H1975", "A549"): 0.004085, ("NCI-H1975", "HEK293"): 0.7028,
}  # fmt: skip
#: Table 2, autologous models: measured and predicted IC50 (µM, mean ± SD of 6 series) and t-test p-values.
PAPER_IC50: dict[str, dict[str, float]] = {
    "A549": {"measured": 0.4035, "measured_sd": 0.0642, "predicted": 0.4970, "predicted_sd": 0.1062,
             "unpaired_p": 0.0947, "paired_p": 0.0126},
    "HEK293": {"measured": 0.0346, "measured_sd": 0.0085, "predicted": 0.0331, "predicted_sd": 0.0138,
               "unpaired_p": 0.8205, "paired_p": 0.7765},
    "NCI-H1975": {"measured": 0.2801, "measured_sd": 0.0529, "predicted": 0.3586, "predicted_sd": 0.2296,
                  "unpaired_p": 0.4334, "paired_p": 0.4645},
}  # fmt: skip
#: Table S2: 4-fold cross-validation r² with MobileNetV2.
PAPER_CV_R2: dict[str, float] = {"A549": 0.9237, "HEK293": 0.9218, "NCI-H1975": 0.9290}
#: Issue 6's targets on the held-out series of each autologous model.
TARGETS = {"r2_min": 0.95, "ic50_log10_error_median_max": 0.1, "paired_p_min": 0.05}


def _verdict(ok: bool, miss: str) -> str:
    return "met" if ok else f"**missed** ({miss})"


def _mean_sd(mean: Any, sd: Any, sd_digits: int = 4) -> str:
    return f"{format_value(mean)} ± {format_value(sd, sd_digits)}"


def _figure(entry: dict[str, Any], seeds: dict[str, Any] | None, name: str, table: str, key: str) -> Any:
    """A figure to judge: its mean over training seeds when the evaluation was repeated, else the entry's."""
    if seeds and entry["model_cell_lines"][0] in seeds["autologous"]:
        return seeds["autologous"][entry["model_cell_lines"][0]][name]["mean"]
    return entry[table].get(key)


def _with_sd(value: Any, entry: dict[str, Any], seeds: dict[str, Any] | None, name: str, digits: int) -> str:
    """``value`` (± SD over seeds when repeated)."""
    if seeds and entry["model_cell_lines"][0] in seeds["autologous"]:
        sd = seeds["autologous"][entry["model_cell_lines"][0]][name]["sd"]
        return f"{format_value(value, digits)} ± {format_value(sd, 2)}"
    return format_value(value, digits)


def _autologous_row(entry: dict[str, Any], seeds: dict[str, Any] | None = None) -> str:
    """One cell line's row: our figures (means over seeds when repeated), the paper's, the targets judged."""
    line, t2 = entry["cell_line"], entry["table2"]
    paper = PAPER_IC50.get(line, {})
    r2 = _figure(entry, seeds, "r2", "table1", "r2")
    err = _figure(entry, seeds, "ic50_log10_error_median", "table2", "log10_error_median")
    p = _figure(entry, seeds, "paired_t_p", "table2", "paired_t_p")
    r2_ok = r2 is not None and r2 >= TARGETS["r2_min"]
    err_ok = err is not None and err <= TARGETS["ic50_log10_error_median_max"]
    r2_miss = f"by {TARGETS['r2_min'] - r2:.3f}" if r2 is not None else "not computed"
    err_miss = f"by {err - TARGETS['ic50_log10_error_median_max']:.3f}" if err is not None else "none"
    difference = (
        "no significant difference" if p is not None and p >= TARGETS["paired_p_min"] else "significant"
    )
    return (
        f"| {line} | {_with_sd(r2, entry, seeds, 'r2', 4)} | {format_value(PAPER_R2.get((line, line)))} "
        f"| {_verdict(r2_ok, r2_miss)} "
        f"| {_with_sd(err, entry, seeds, 'ic50_log10_error_median', 3)} | {_verdict(err_ok, err_miss)} "
        f"| {_with_sd(p, entry, seeds, 'paired_t_p', 3)} ({difference}) "
        f"| {format_value(paper.get('paired_p'))} "
        f"| {_mean_sd(t2.get('ic50_measured_mean_um'), t2.get('ic50_measured_sd_um'), 3)} "
        f"| {_mean_sd(t2.get('ic50_predicted_mean_um'), t2.get('ic50_predicted_sd_um'), 3)} "
        f"| {format_value(t2.get('ic50_true_mean_um'))} "
        f"| {_mean_sd(paper.get('measured'), paper.get('measured_sd'))} "
        f"| {_mean_sd(paper.get('predicted'), paper.get('predicted_sd'))} |"
    )


def _matrix_lines(
    evals: list[dict[str, Any]], model_line: dict[str, str], seeds: dict[str, Any] | None = None
) -> list[str]:
    """The 3×3 r² matrix, ours (mean ± SD over seeds when repeated) with the paper's in brackets."""
    models = sorted(model_line, key=lambda m: model_line[m])
    r2_of: dict[tuple[str, str], Any] = {(e["cell_line"], e["model"]): e["table1"].get("r2") for e in evals}
    if seeds:
        for data, model in list(r2_of):
            stats = seeds["r2"].get(f"{data}|{model_line.get(model, model)}")
            if stats:
                r2_of[(data, model)] = f"{format_value(stats['mean'])} ± {format_value(stats['sd'], 2)}"
    lines = [
        "",
        "### Allogenic matrix: r² of measured vs predicted OD450, ours (paper)",
        "",
        "| data ↓ / model → | " + " | ".join(models) + " |",
        "|---|" + "---|" * len(models),
    ]
    for data in sorted({e["cell_line"] for e in evals}):
        cells = [
            f"{format_value(r2_of.get((data, m)))} ({format_value(PAPER_R2.get((data, model_line[m])))})"
            for m in models
        ]
        lines.append(f"| {data} | " + " | ".join(cells) + " |")
    return lines


def comparison_markdown(evaluation: dict[str, Any]) -> str:
    """Markdown: ours next to the paper's Tables 1, 2, the 3×3 r² matrix and Table S2, targets judged."""
    evals = evaluation["evaluations"]
    seeds = evaluation.get("seeds")
    model_line = {e["model"]: e["model_cell_lines"][0] for e in evals if len(e["model_cell_lines"]) == 1}
    repeated = (
        f" Ours: mean ± SD over {len(seeds['seeds'])} training seeds (fixed series split); the targets are "
        "judged on the mean; the IC50 columns are the shipped models'."
        if seeds
        else ""
    )
    lines = [
        "## Ours next to the paper",
        "",
        "Ours: simulated plates (synthetic images, not lab data), 6 held-out test series per cell line. "
        "Paper: Cho et al. 2022, real A549/HEK293/NCI-H1975 images, 6 test series. Targets (issue 6): "
        f"r² ≥ {TARGETS['r2_min']}, median |log10(predicted/measured IC50)| ≤ "
        f"{TARGETS['ic50_log10_error_median_max']}, paired t-test p ≥ {TARGETS['paired_p_min']}.{repeated}",
        "",
        "| cell line | r² ours | r² paper | r² target | median IC50 log10 error | IC50 target "
        "| paired p ours | paired p paper | measured IC50 ours (µM) | predicted IC50 ours | true IC50 "
        "| measured IC50 paper | predicted IC50 paper |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [_autologous_row(e, seeds) for e in evals if e["autologous"]]
    lines += _matrix_lines(evals, model_line, seeds)
    over = (
        f"mean over folds, then mean ± SD over {len(seeds['seeds'])} seeds"
        if seeds
        else "mean ± SD over folds"
    )
    lines += ["", f"### 4-fold cross-validation by series (Table S2): r², ours ({over}) (paper)", ""]
    lines += ["| cell line | ours | paper |", "|---|---|---|"]
    for cv in evaluation.get("cv", []):
        line = cv["cell_lines"][0] if len(cv["cell_lines"]) == 1 else ", ".join(cv["cell_lines"])
        ours = _mean_sd(cv.get("r2_mean"), cv.get("r2_sd"), 2)
        if seeds and line in seeds["autologous"]:
            stats = seeds["autologous"][line]["cv_r2_mean"]
            ours = _mean_sd(stats["mean"], stats["sd"], 2)
        lines.append(f"| {line} | {ours} | {format_value(PAPER_CV_R2.get(line))} |")
    return "\n".join(lines) + "\n"
