"""The analysis service: what ``/api/fit`` and the reports compute beyond the Hill fit, curve by curve.

A plain fit request (no option, no well descriptions) goes straight to :func:`app.fitting.fit_response`,
so it stays as fast as before. Otherwise each curve's wells get their roles and plates
(:mod:`~app.analysis.wells`), the curves are fitted in one batch (on the responses as sent or on %
viability), then per curve: the outlier test and refit (:mod:`~app.analysis.outlier_review`), potency and
efficacy (:mod:`~app.analysis.potency`), plate QC (:mod:`~app.analysis.plate_qc`), GR values
(:mod:`~app.analysis.growth`) and per-well values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app import fitting
from app.analysis.growth import GR_ASSUMPTION, GrowthError, gr_block
from app.analysis.outlier_review import review_outliers
from app.analysis.plate_qc import plate_qc
from app.analysis.potency import potency_blocks
from app.analysis.wells import CurveData, request_curve_data, viability
from app.config import Settings
from app.doseresponse import HillFit
from app.schemas import FitRequest
from app.schemas_analysis import AnalysisOptions
from app.screening import ControlNormalisation

__all__ = ["CurveAnalysis", "analyse", "analysis_methods", "fit_response"]

_UNITS = {
    "response": "response units as sent",
    "viability": "% viability (per plate: vehicle wells = 100 %, blank/kill wells = 0 %)",
}
_METHODS = {
    "ic_x": "Relative IC_x = IC50·(x/(100 − x))^(1/|Hill|); absolute IC_x where the fitted curve equals "
    "(100 − x) % of the reference level (the fitted control level; 100 % for a fit on viability). SE by the "
    "delta method on the Gauss–Newton covariance of the fit; 95 % CI on the log scale. A concentration "
    "outside the tested range is censored ('> 10 µM') and never reported as a measurement.",
    "scores": "Emax: largest observed effect 100·(1 − mean response/R) over the tested concentrations (R the "
    "vehicle wells' mean, 100 % for viability); Einf: fitted effect at infinite concentration. AAC: area "
    "over the fitted curve on log10 concentration divided by the range width (0 = no effect, 1 = full "
    "effect; R the fitted control level, 100 % for viability). DSS1–3: Yadav et al., Sci Rep 4:5193 (2014), "
    "as the authors' R implementation.",
    "outliers": "ROUT-like (Motulsky & Brown, BMC Bioinformatics 7:123, 2006): robust (Cauchy) fit, "
    "residuals tested at a false discovery rate Q; flagged wells left out and the curve refitted.",
    "qc": "Z′ (Zhang et al. 1999; warning below 0.5, failed at ≤ 0), robust Z′ (medians, 1.4826·MAD) and "
    "SSMD (Zhang 2007; warning below 3) from each plate's vehicle and blank/kill wells. Edge effect: "
    "observed/fitted response of the outer ring against the inner wells, flagged when off by ≥ 10 % with "
    "Welch p < 0.05.",
    "gr": "GR = 2^(log2(x/x0)/log2(x_ctrl/x0)) − 1 (Hafner et al., Nat Methods 13:521, 2016); GR50, GRmax, "
    f"GR_AOC, GEC50 as datarail/gr_metrics. {GR_ASSUMPTION}",
}


@dataclass(frozen=True)
class CurveAnalysis:
    """One curve's fit and analysis blocks.

    Attributes
    ----------
    curve : CurveData
    fit : HillFit
        The final fit (without the removed outliers).
    fit_value : numpy.ndarray, shape (n_wells,)
        Each well's value in the unit of the fit (as sent, or % viability).
    viability : ControlNormalisation or None
        % viability of every well, where the plates' controls allow it.
    fitted : numpy.ndarray, shape (n_wells,)
        The fitted curve at each well's concentration (NaN for blank wells or without a curve).
    used : numpy.ndarray of bool, shape (n_wells,)
        Wells in the final fit.
    outlier : numpy.ndarray of bool, shape (n_wells,)
        Wells the outlier test flagged.
    blocks : dict
        The result's analysis blocks by name (``ic_x``, ``qc``, ``gr``, …).
    notes : tuple of str
        Blocks that could not be computed, and why.
    """

    curve: CurveData
    fit: HillFit
    fit_value: np.ndarray
    viability: ControlNormalisation | None
    fitted: np.ndarray
    used: np.ndarray
    outlier: np.ndarray
    blocks: dict[str, Any]
    notes: tuple[str, ...]

    def result(self, curve_points: int) -> dict[str, Any]:
        """The curve's JSON result: the fit's fields, then the analysis blocks and the notes."""
        return {**fitting.result_dict(self.curve.label, self.fit, curve_points), **self.blocks,
                "notes": list(self.notes)}  # fmt: skip


def analysis_methods(options: AnalysisOptions) -> dict[str, str]:
    """The ``methods.analysis`` texts of a response (:class:`app.schemas_analysis.AnalysisMethods`)."""
    return {"fit_on": options.fit_on, "response_unit": _UNITS[options.fit_on], **_METHODS}


def _listed(values: np.ndarray) -> list[float | None]:
    return [float(v) if np.isfinite(v) else None for v in values]


def _well_values(
    curve: CurveData, value: np.ndarray, normalised: ControlNormalisation | None, fitted: np.ndarray,
    used: np.ndarray, outlier: np.ndarray,
) -> dict[str, Any]:  # fmt: skip
    """The ``wells`` block (:class:`app.schemas_analysis.WellValuesOut`); arrays of shape (n_wells,)."""
    return {
        "role": curve.role.tolist(),
        "response": _listed(value),
        "viability_percent": _listed(normalised.as_array()) if normalised else None,
        "fitted": _listed(fitted),
        "residual": _listed(np.where(curve.fitted, value - fitted, np.nan)),
        "used_in_fit": used.tolist(),
        "outlier": outlier.tolist(),
    }


def _analyse_one(
    curve: CurveData, normalised: ControlNormalisation | None, value: np.ndarray, fit: HillFit,
    options: AnalysisOptions,
) -> CurveAnalysis:  # fmt: skip
    notes: list[str] = []
    blocks: dict[str, Any] = {}
    index = np.flatnonzero(curve.fitted)
    x, y = curve.conc_um[index], value[index]
    used, outlier = curve.fitted.copy(), np.zeros(curve.conc_um.size, bool)
    if options.outliers:
        review = review_outliers(
            x, y, exempt=curve.outlier_exempt[index], well_ids=[curve.well_ids[k] for k in index],
            indices=index, q_percent=options.outlier_q_percent, fix_top=curve.fix_top,
            fix_bottom=curve.fix_bottom,
        )  # fmt: skip
        fit = review.fit
        used[index[review.removed]] = False
        outlier[index[review.flagged]] = True
        blocks["outliers"] = review.block
    kept = used[index]
    blocks |= potency_blocks(fit, x[kept], y[kept], options, notes)
    if normalised is not None and (options.fit_on == "viability" or options.per_well):
        blocks["controls"] = [plate.to_dict() for plate in normalised.plates]
    fitted = np.where(curve.fitted, fit.eval(curve.conc_um), np.nan)
    if options.qc:
        blocks["qc"] = plate_qc(
            plate=curve.plate, role=curve.role, response=curve.response, well_ids=curve.well_ids,
            fitted=fitted, fit=fit, fit_value=value,
        )  # fmt: skip
    if curve.time_zero is not None or curve.time_zero_level is not None:
        try:
            blocks["gr"] = gr_block(curve)
        except GrowthError as exc:
            blocks["gr"] = None
            notes.append(f"No GR values: {exc}.")
    if options.per_well:
        blocks["wells"] = _well_values(curve, value, normalised, fitted, used, outlier)
    return CurveAnalysis(curve, fit, value, normalised, fitted, used, outlier, blocks, tuple(notes))


def analyse(curves: Sequence[CurveData], options: AnalysisOptions, settings: Settings) -> list[CurveAnalysis]:
    """Fit every curve in one batch (on the unit ``options.fit_on`` asks) and compute what ``options`` ask.

    Raises
    ------
    RequestTooLarge
        More curves or wells than the limits.
    UnfittableRequest
        A fit on viability of a curve whose plates lack vehicle or blank/kill wells, or data the engine
        refuses.
    """
    fitting.check_limits([c.conc_um.size for c in curves], settings)
    prepared: list[tuple[CurveData, ControlNormalisation | None, np.ndarray]] = []
    for curve in curves:
        normalised, problem = viability(curve)
        if options.fit_on == "viability":
            if normalised is None:
                raise fitting.UnfittableRequest(f"{problem}. A fit on % viability needs them on every plate.")
            prepared.append((curve, normalised, normalised.as_array()))
        else:
            prepared.append((curve, normalised, curve.response))
    fits = fitting.fit_curves(
        [(c.conc_um[c.fitted], value[c.fitted]) for c, _, value in prepared],
        fix_top=[c.fix_top for c in curves],
        fix_bottom=[c.fix_bottom for c in curves],
    )
    return [_analyse_one(c, n, v, fit, options) for (c, n, v), fit in zip(prepared, fits, strict=True)]


def fit_response(request: FitRequest, settings: Settings) -> dict[str, Any]:
    """The body of ``POST /api/fit``: the plain fit (:func:`app.fitting.fit_response`) unless the request
    asks for analysis; then each result carries the blocks asked for, and ``methods.analysis`` says how."""
    if not request.asks_analysis():
        return fitting.fit_response(request, settings)
    curves = [request_curve_data(c, i) for i, c in enumerate(request.curves, start=1)]
    analyses = analyse(curves, request, settings)
    points = settings.curve_points if request.curve_points is None else request.curve_points
    first = analyses[0].fit
    return {
        "results": [a.result(points) for a in analyses],
        "methods": {"se_method": first.se_method, "ci_method": first.ci_method,
                    "analysis": analysis_methods(request)},
    }  # fmt: skip
