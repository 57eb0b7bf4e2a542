"""How well a model's predicted OD450 matches the measured OD450: what ``python -m training evaluate``
reports (the paper's Tables 1 and 2), for a model trained in the browser.

``POST /api/evaluate`` sends per image the measured and the predicted OD450 with its dose series and
concentration (numbers only: the images stay in the browser). Returned: the regression of predicted on
measured OD450 (r², slope, intercept; :func:`app.stats.regression`) and the mean difference ± SD; per
series the IC50 of a Hill fit to the measured and to the predicted OD450 (the batched fit of
:mod:`app.fitting`, the same estimates as :func:`app.doseresponse.fit_hill`); over the series where both fits
gave an IC50 the paired t-test of the IC50s (µM, as the paper) and the median |log10(predicted / measured)|.
Nothing here knows HTTP: refusals raise :class:`~app.fitting.UnfittableRequest` (422) or
:class:`~app.fitting.RequestTooLarge` (413).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from app.config import Settings
from app.fitting import RequestTooLarge, UnfittableRequest, fit_curves
from app.stats import mean_difference, paired_t, regression

__all__ = ["MIN_IMAGES", "evaluate_predictions"]

#: Images needed for a regression line with a standard error (n − 2 > 0 degrees of freedom).
MIN_IMAGES = 3


def _finite(value: float | None) -> float | None:
    """JSON-safe: None, NaN and ±inf become None."""
    return float(value) if value is not None and math.isfinite(value) else None


def _od450_agreement(measured: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """Table 1: the regression of predicted on measured OD450 and the mean difference predicted − measured."""
    if np.ptp(measured) == 0:
        raise UnfittableRequest(
            f"every measured OD450 is {measured[0]:g}: r² needs readings that differ between wells"
        )
    line = regression(measured, predicted)
    difference = mean_difference(measured, predicted)
    return {
        "n_images": int(measured.size),
        "r2": _finite(line.r2),
        "slope": _finite(line.slope),
        "intercept": _finite(line.intercept),
        "mean_difference": _finite(difference.mean),
        "sd_difference": _finite(difference.sd),
    }


def _series_rows(
    series: Sequence[str], conc_um: np.ndarray, measured: np.ndarray, predicted: np.ndarray
) -> list[dict[str, Any]]:
    """Per series (sorted by name): the IC50s (µM) of Hill fits to its measured and its predicted OD450."""
    names = sorted(set(series))
    labels = np.asarray(series, dtype=object)
    members = []
    for name in names:
        rows = np.flatnonzero(labels == name)
        members.append(rows[np.argsort(conc_um[rows], kind="stable")])
    curves = [(conc_um[rows].tolist(), y[rows].tolist()) for y in (measured, predicted) for rows in members]
    n = len(names)
    fits = fit_curves(curves, [None] * 2 * n, [None] * 2 * n)
    out = []
    for i, (name, rows) in enumerate(zip(names, members, strict=True)):
        fit_m, fit_p = fits[i], fits[n + i]
        ic50_m, ic50_p = _finite(fit_m.ic50_um), _finite(fit_p.ic50_um)
        out.append(
            {
                "series": name,
                "n_images": int(rows.size),
                "ic50_measured_um": ic50_m,
                "ic50_predicted_um": ic50_p,
                "status_measured": fit_m.status,
                "status_predicted": fit_p.status,
                "log10_error": math.log10(ic50_p / ic50_m) if ic50_m and ic50_p else None,
            }
        )
    return out


def _ic50_agreement(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Table 2's summary over the series where both fits gave an IC50: means ± SD (µM), the paired t-test,
    the median |log10 error|."""
    both = [r for r in rows if r["ic50_measured_um"] and r["ic50_predicted_um"]]
    measured = np.array([r["ic50_measured_um"] for r in both], float)
    predicted = np.array([r["ic50_predicted_um"] for r in both], float)
    summary: dict[str, Any] = {
        "n_series": len(rows),
        "n_series_with_both_ic50": len(both),
        "ic50_measured_mean_um": _finite(measured.mean()) if both else None,
        "ic50_measured_sd_um": _finite(measured.std(ddof=1)) if len(both) > 1 else None,
        "ic50_predicted_mean_um": _finite(predicted.mean()) if both else None,
        "ic50_predicted_sd_um": _finite(predicted.std(ddof=1)) if len(both) > 1 else None,
        "log10_error_median": (
            _finite(float(np.median(np.abs(np.log10(predicted / measured))))) if both else None
        ),
        "paired_t": None,
    }
    if len(both) >= 2:
        test = paired_t(measured, predicted)
        summary["paired_t"] = {
            "t": _finite(test.t),
            "p_value": _finite(test.p_value),
            "df": _finite(test.df),
            "n": test.n_a,
        }
    return summary


def evaluate_predictions(
    series: Sequence[str],
    conc_um: Sequence[float],
    measured: Sequence[float],
    predicted: Sequence[float],
    settings: Settings,
) -> dict[str, Any]:
    """The body of ``POST /api/evaluate``.

    Parameters
    ----------
    series : sequence of str, shape (n_images,)
        The dose series of each image (one image per concentration and series).
    conc_um : sequence of float, shape (n_images,)
        Concentration (µM, ≥ 0).
    measured, predicted : sequence of float, shape (n_images,)
        OD450 read on the plate reader and predicted from the image.
    settings : Settings
        The limits: at most ``max_wells_per_report`` images, ``max_curves`` series.

    Returns
    -------
    dict
        ``od450`` (r², slope, intercept, mean ± SD of the difference), ``series`` (per series IC50s),
        ``ic50`` (their summary and the paired t-test).
    """
    n = len(series)
    if n > settings.max_wells_per_report:
        raise RequestTooLarge(
            f"Too many images in one evaluation ({n}); the limit is {settings.max_wells_per_report}."
        )
    if n < MIN_IMAGES:
        raise UnfittableRequest(f"an evaluation needs at least {MIN_IMAGES} images; got {n}")
    n_series = len(set(series))
    if 2 * n_series > settings.max_curves:
        raise RequestTooLarge(
            f"Too many series in one evaluation ({n_series}: two fits each); the limit is "
            f"{settings.max_curves // 2}."
        )
    conc = np.asarray(conc_um, float)
    y_measured = np.asarray(measured, float)
    y_predicted = np.asarray(predicted, float)
    od450 = _od450_agreement(y_measured, y_predicted)
    rows = _series_rows(series, conc, y_measured, y_predicted)
    return {
        "od450": od450,
        "series": rows,
        "ic50": _ic50_agreement(rows),
    }
