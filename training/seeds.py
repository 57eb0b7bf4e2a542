"""Figures with their noise: the same evaluation repeated over training seeds, summarised as mean ± SD.

A training seed draws the augmented views and the head's initial weights and mini-batch order; the series
split (which series are test series) stays fixed, so every seed is scored on the same test images and the
spread of a figure over seeds is the noise of training itself. :func:`seed_figures` reads one seed's
figures out of its ``evaluation.json`` content and cross-validation results, :func:`summarise_seeds`
gives mean, SD, minimum and maximum of each over the seeds, and :func:`median_seed` picks the seed whose
model ships: the one whose held-out r² is the median (a typical model, neither the luckiest nor the
unluckiest draw). Pure functions: dicts in, dicts out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from training.formatting import json_float

__all__ = ["FIGURES", "median_seed", "seed_figures", "summarise_seeds"]

#: The figures summarised per cell line: name → (table of the evaluation entry, key in it), or
#: ``("cv", key)`` for the cross-validation result of the cell line's model.
FIGURES: dict[str, tuple[str, str]] = {
    "r2": ("table1", "r2"),
    "slope": ("table1", "slope"),
    "intercept": ("table1", "intercept"),
    "mean_difference": ("table1", "mean_difference"),
    "ic50_log10_error_median": ("table2", "log10_error_median"),
    "paired_t_p": ("table2", "paired_t_p"),
    "unpaired_t_p": ("table2", "unpaired_t_p"),
    "ic50_measured_mean_um": ("table2", "ic50_measured_mean_um"),
    "ic50_predicted_mean_um": ("table2", "ic50_predicted_mean_um"),
    "log10_error_predicted_vs_true_median": ("table2", "log10_error_predicted_vs_true_median"),
    "cv_r2_mean": ("cv", "r2_mean"),
    "cv_r2_pooled": ("cv", "r2_pooled"),
}


def _model_line(entry: Mapping[str, Any]) -> str:
    lines = entry["model_cell_lines"]
    return str(lines[0]) if len(lines) == 1 else ", ".join(lines)


def seed_figures(evaluation: Mapping[str, Any], cv: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """One seed's figures, by the cell line a model was trained on.

    Parameters
    ----------
    evaluation : dict
        Content of ``evaluation.json`` (:meth:`training.evaluate.Evaluation.to_json`).
    cv : sequence of dict
        Cross-validation results (:func:`training.cv.cross_validate`) of the same seed, one per model.

    Returns
    -------
    dict
        ``{"autologous": {line: {figure: value}}, "r2": {(data line, model line) as "data|model": r²}}``.
    """
    cv_by_line = {", ".join(c["cell_lines"]): c for c in cv}
    autologous: dict[str, dict[str, float | None]] = {}
    r2: dict[str, float | None] = {}
    for entry in evaluation["evaluations"]:
        line = _model_line(entry)
        r2[f"{entry['cell_line']}|{line}"] = json_float(entry["table1"]["r2"])
        if not entry["autologous"]:
            continue
        figures = {}
        for name, (table, key) in FIGURES.items():
            source = cv_by_line.get(line, {}) if table == "cv" else entry[table]
            figures[name] = json_float(source.get(key))
        autologous[line] = figures
    return {"autologous": autologous, "r2": r2}


def _stats(values: Sequence[float | None]) -> dict[str, Any]:
    """Mean, SD (n − 1), minimum and maximum of the values present, and the values (None where missing)."""
    present = np.array([v for v in values if v is not None], float)
    return {
        "mean": json_float(present.mean()) if len(present) else None,
        "sd": json_float(present.std(ddof=1)) if len(present) > 1 else None,
        "min": json_float(present.min()) if len(present) else None,
        "max": json_float(present.max()) if len(present) else None,
        "n": len(present),
        "values": list(values),
    }


def summarise_seeds(per_seed: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    """Mean ± SD over seeds of every figure of :func:`seed_figures`.

    Parameters
    ----------
    per_seed : mapping of int → dict
        Seed → :func:`seed_figures` of that seed (the same cell lines and models in each).

    Returns
    -------
    dict
        ``seeds`` (sorted), ``autologous`` (line → figure → ``{mean, sd, min, max, n, values}``, values in
        seed order) and ``r2`` (``"data|model"`` → the same statistics of the allogenic matrix's r²).
    """
    if not per_seed:
        raise ValueError("per_seed must hold at least one seed")
    seeds = sorted(per_seed)
    first = per_seed[seeds[0]]
    autologous = {
        line: {
            name: _stats([per_seed[s]["autologous"][line][name] for s in seeds])
            for name in first["autologous"][line]
        }
        for line in first["autologous"]
    }
    r2 = {pair: _stats([per_seed[s]["r2"][pair] for s in seeds]) for pair in first["r2"]}
    return {"seeds": seeds, "autologous": autologous, "r2": r2}


def median_seed(values: Mapping[int, float | None]) -> int:
    """The seed whose value is the median (the lower of the middle two for an even count; missing values
    count as lowest; ties go to the smaller seed)."""
    if not values:
        raise ValueError("values must hold at least one seed")
    ranked = sorted(values, key=lambda s: (-np.inf if values[s] is None else values[s], s))
    return ranked[(len(ranked) - 1) // 2]
