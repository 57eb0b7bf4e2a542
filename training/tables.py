"""The paper's Tables 1 and 2 and the allogenic matrix, from predictions (pure: numbers in, dicts out).

* Table 1: r² and regression line (slope, intercept) of predicted on measured OD450, and the mean ± SD
  of the difference predicted − measured.
* Table 2: per series, the IC50 of a 4-parameter Hill fit (:func:`app.doseresponse.fit_hill`) to the
  measured and to the predicted OD450; their means ± SD, paired and unpaired t-tests (on the IC50s in µM,
  like the paper), the median |log10(predicted / measured IC50)|, and, for synthetic data, the errors
  against the true IC50.
* The allogenic matrix: r² of every model on every cell line.

Every number is JSON-safe (:func:`training.formatting.json_float`); each series is fitted once, and the
fits are kept (:attr:`Scores.curves`) for the Hill-curve plots.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from app import stats
from app.doseresponse import fit_hill
from training.formatting import json_float

__all__ = ["Scores", "allogenic_matrix", "evaluate_predictions", "score_predictions", "table1", "table2"]


@dataclass(frozen=True)
class Scores:
    """Tables 1 and 2 of one model on one test set, and the per-series Hill fits behind Table 2.

    Attributes
    ----------
    table1 : dict
        :func:`table1` plus ``n_series``.
    table2 : dict
        The :func:`table2` summary plus ``per_series`` (one JSON-ready dict per series).
    curves : list of dict
        Per series: ``name``, ``conc_um``, ``measured``, ``predicted`` (arrays, OD450) and
        ``fit_measured``, ``fit_predicted`` (:class:`app.doseresponse.HillFit`), for plotting.
    """

    table1: dict[str, Any]
    table2: dict[str, Any]
    curves: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready tables: ``{"table1": ..., "table2": ...}``."""
        return {"table1": self.table1, "table2": self.table2}


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
        "r2": json_float(reg.r2),
        "slope": json_float(reg.slope),
        "intercept": json_float(reg.intercept),
        "mean_difference": json_float(diff.mean),
        "sd_difference": json_float(diff.sd),
    }


def _fit_series(name: Any, group: pd.DataFrame) -> tuple[dict[str, Any], dict[str, Any]]:
    """Hill fits of one series' measured and predicted OD450: its Table 2 row and its plotting curve."""
    group = group.sort_values("concentration_um")
    conc = group["concentration_um"].to_numpy(float)
    measured = group["od450"].to_numpy(float)
    predicted = group["predicted"].to_numpy(float)
    fit_m, fit_p = fit_hill(conc, measured), fit_hill(conc, predicted)
    truth = (
        float(group["ic50_true_um"].iloc[0])
        if "ic50_true_um" in group and group["ic50_true_um"].notna().any()
        else None
    )
    row: dict[str, Any] = {
        "series": str(name),
        "n_images": len(group),
        "ic50_measured_um": json_float(fit_m.ic50_um),
        "ic50_predicted_um": json_float(fit_p.ic50_um),
        "status_measured": fit_m.status,
        "status_predicted": fit_p.status,
        "ic50_true_um": json_float(truth),
    }
    if row["ic50_measured_um"] and row["ic50_predicted_um"]:
        row["log10_error"] = math.log10(row["ic50_predicted_um"] / row["ic50_measured_um"])
    curve = {
        "name": str(name),
        "conc_um": conc,
        "measured": measured,
        "predicted": predicted,
        "fit_measured": fit_m,
        "fit_predicted": fit_p,
    }
    return row, curve


def _ic50_summary(per_series: list[dict[str, Any]]) -> dict[str, Any]:
    """Means ± SD of the IC50s (µM) over series where both fits gave one, t-tests, the median log error."""
    both = [r for r in per_series if r["ic50_measured_um"] and r["ic50_predicted_um"]]
    measured = np.array([r["ic50_measured_um"] for r in both])
    predicted = np.array([r["ic50_predicted_um"] for r in both])
    summary: dict[str, Any] = {
        "n_series": len(per_series),
        "n_series_with_both_ic50": len(both),
        "ic50_measured_mean_um": json_float(measured.mean()) if len(both) else None,
        "ic50_measured_sd_um": json_float(measured.std(ddof=1)) if len(both) > 1 else None,
        "ic50_predicted_mean_um": json_float(predicted.mean()) if len(both) else None,
        "ic50_predicted_sd_um": json_float(predicted.std(ddof=1)) if len(both) > 1 else None,
        "difference_mean_um": json_float((predicted - measured).mean()) if len(both) else None,
        "paired_t_p": None,
        "unpaired_t_p": None,
        "log10_error_median": (
            json_float(np.median(np.abs(np.log10(predicted / measured)))) if len(both) else None
        ),
        "statuses_measured": dict(Counter(r["status_measured"] for r in per_series)),
        "statuses_predicted": dict(Counter(r["status_predicted"] for r in per_series)),
    }
    if len(both) >= 2:
        summary["paired_t_p"] = json_float(stats.paired_t(measured, predicted).p_value)
        summary["unpaired_t_p"] = json_float(stats.unpaired_t(measured, predicted).p_value)
    return summary


def _errors_against_truth(per_series: list[dict[str, Any]]) -> dict[str, Any]:
    """Median |log10 error| of the measured and predicted IC50s against the true IC50 (synthetic data)."""
    truths = [r for r in per_series if r["ic50_true_um"]]
    if not truths:
        return {}
    out: dict[str, Any] = {}
    for key, source in (("measured", "ic50_measured_um"), ("predicted", "ic50_predicted_um")):
        errors = [abs(math.log10(r[source] / r["ic50_true_um"])) for r in truths if r[source]]
        finite = np.array([e for e in errors if math.isfinite(e)], dtype=float)
        out[f"log10_error_{key}_vs_true_median"] = json_float(np.median(finite)) if len(finite) else None
    out["ic50_true_mean_um"] = json_float(np.mean([r["ic50_true_um"] for r in truths]))
    return out


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
    fitted = [_fit_series(name, group) for name, group in frame.groupby("series", sort=True)]
    per_series = [row for row, _ in fitted]
    curves = [curve for _, curve in fitted]
    return {**_ic50_summary(per_series), **_errors_against_truth(per_series)}, per_series, curves


def score_predictions(frame: pd.DataFrame) -> Scores:
    """Tables 1 and 2 for one model on one test set (``frame`` as for :func:`table2`), fitting once."""
    t1 = table1(frame["od450"].to_numpy(float), frame["predicted"].to_numpy(float))
    t1["n_series"] = int(frame["series"].nunique())
    summary, per_series, curves = table2(frame)
    return Scores(table1=t1, table2={**summary, "per_series": per_series}, curves=curves)


def evaluate_predictions(frame: pd.DataFrame) -> dict[str, Any]:
    """Tables 1 and 2 for one model on one test set, JSON-ready: ``{"table1": ..., "table2": ...}``."""
    return score_predictions(frame).to_dict()


def allogenic_matrix(evaluations: Sequence[dict[str, Any]], *, key: str = "r2") -> dict[str, Any]:
    """Rows = test data (cell line), columns = models: ``table1[key]`` of every pair (None where missing)."""
    models = list(dict.fromkeys(e["model"] for e in evaluations))
    data = list(dict.fromkeys(e["cell_line"] for e in evaluations))
    lookup = {(e["cell_line"], e["model"]): e for e in evaluations}
    matrix = [
        [json_float(lookup[(d, m)]["table1"][key]) if (d, m) in lookup else None for m in models]
        for d in data
    ]
    ic50 = [
        [
            json_float(lookup[(d, m)]["table2"]["ic50_predicted_mean_um"]) if (d, m) in lookup else None
            for m in models
        ]
        for d in data
    ]
    return {"models": models, "cell_lines": data, key: matrix, "ic50_predicted_mean_um": ic50}
