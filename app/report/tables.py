"""The report's tables as rows (dicts keyed by column name): curves, wells, plates, and its metadata.

Built from :class:`app.analysis.reports.ReportedCurve` objects, so the report holds exactly the fits and
metrics ``POST /api/fit`` gives for the same curves and options.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from app.analysis.potency import censored_ic50, censored_ic50_abs
from app.analysis.reports import ReportedCurve
from app.schemas import ReportRequest

__all__ = ["curve_rows", "metadata", "plate_rows", "well_rows"]

_UNIT = {"response": "OD450", "viability": "% viability"}
_FIT_ON = {
    "response": "predicted OD450",
    "viability": "% viability per plate (vehicle wells = 100 %, blank/kill wells = 0 %)",
}
_TRAINED_ON = {True: "synthetic images", False: "real images", None: ""}
#: The fit's method, as the report states it.
FIT_METHOD = (
    "OD450 predicted from bright-field images in the browser; 4-parameter Hill fit (least squares, IC50 on "
    "log scale; 95 % CI log-scale Wald)"
)
CENSORING = (
    "Concentration columns ending in _um hold measurements inside the tested range only; outside it they "
    "are empty and the _censored columns give '>30' or '<0.01' (µM)."
)


def _joined(items: Sequence[str]) -> str:
    return " | ".join(items)


def _ic_x_cells(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The IC_x columns of one curve from its ``ic_x`` block (relative, then absolute, per level)."""
    cells: dict[str, Any] = {}
    for entry in entries:
        x = f"ic{entry['percent']:g}" + ("_abs" if entry["kind"] == "absolute" else "")
        concentration = entry["concentration"]
        cells[f"{x}_um"] = concentration["value_um"]
        cells[f"{x}_censored"] = concentration["csv"]
        if entry["kind"] == "relative":
            low, high = entry["ci_um"] or (None, None)
            cells[f"{x}_ci_low_um"], cells[f"{x}_ci_high_um"] = low, high
    return cells


def _metric_cells(blocks: dict[str, Any]) -> dict[str, Any]:
    """Emax/Einf, AAC, DSS and GR columns from a curve's blocks (empty where not computed)."""
    efficacy = blocks.get("efficacy") or {}
    aac = blocks.get("aac") or {}
    dss = blocks.get("dss") or {}
    gr = (blocks.get("gr") or {}).get("metrics") or {}
    gr50 = gr.get("gr50") or {}
    low, high = aac.get("range_um") or (None, None)
    return {
        "emax_percent": efficacy.get("emax_percent"), "emax_conc_um": efficacy.get("emax_conc_um"),
        "einf_percent": efficacy.get("einf_percent"), "aac": aac.get("aac"), "aac_range_low_um": low,
        "aac_range_high_um": high, "dss1": dss.get("dss1"), "dss2": dss.get("dss2"), "dss3": dss.get("dss3"),
        "gr50_um": gr50.get("value_um"), "gr50_censored": gr50.get("csv"), "gr_max": gr.get("gr_max"),
        "gr_aoc": gr.get("gr_aoc"), "gec50_um": gr.get("gec50_um"), "gr_inf": gr.get("gr_inf"),
        "h_gr": gr.get("h_gr"), "gr_fit": gr.get("fit"),
    }  # fmt: skip


def _image(reported: ReportedCurve, k: int) -> str:
    """The image name of the curve's analysed well ``k`` ('' for a curve sent as arrays)."""
    wells = reported.request.wells
    return wells[reported.included[k]].image if wells else ""


def _curve_row(reported: ReportedCurve, unit: str) -> dict[str, Any]:
    curve, analysis = reported.request, reported.analysis
    fit, blocks = analysis.fit, analysis.blocks
    model = curve.model
    ic50, absolute = censored_ic50(fit), censored_ic50_abs(fit)
    ci = fit.ic50_ci_um if ic50 and ic50.censor == "none" and fit.ic50_ci_um else (None, None)
    review = blocks.get("outliers")
    flagged = review["wells"] if review else []
    names = [w["well"] or _image(reported, w["index"]) for w in flagged]
    warnings = [w for plate in blocks.get("qc") or [] for w in plate["warnings"]]
    return {
        "label": curve.label, "cell_line": curve.cell_line, "drug": curve.drug,
        "model": (model.name or model.id or "") if model else "",
        "model_version": (model.version or "") if model else "",
        "model_trained_on": _TRAINED_ON[model.synthetic if model else None],
        "status": fit.status, "status_message": fit.message, "ic50_um": ic50 and ic50.value_um,
        "ic50_ci_low_um": ci[0], "ic50_ci_high_um": ci[1], "ic50_abs_um": absolute and absolute.value_um,
        "hill": fit.hill, "top": fit.top, "bottom": fit.bottom, "r2": fit.r2, "residual_se": fit.residual_se,
        "df": fit.df, "n_wells": fit.n_wells, "n_excluded": sum(w.excluded for w in curve.wells or []),
        "n_concentrations": fit.n_concentrations, "p_no_effect": fit.p_no_effect,
        "notes": _joined(curve.notes), "concentration_unit": "µM", "response_unit": unit,
        "ic50_censored": ic50 and ic50.csv, "ic50_extrapolated_um": ic50 and ic50.extrapolated_um,
        "ic50_abs_censored": absolute and absolute.csv, **_metric_cells(blocks),
        "n_outliers_removed": sum(w["removed"] for w in flagged) if review else None,
        "outlier_wells": _joined(names),
        "qc_warnings": _joined(warnings), "analysis_notes": _joined(analysis.notes),
        **_ic_x_cells(blocks.get("ic_x") or []),
    }  # fmt: skip


def curve_rows(reported: Sequence[ReportedCurve], request: ReportRequest) -> list[dict[str, Any]]:
    """One row per curve, in request order."""
    return [_curve_row(r, _UNIT[request.fit_on]) for r in reported]


def _analysis_cells(reported: ReportedCurve, k: int) -> dict[str, Any]:
    """The analysis columns of the curve's analysed well ``k``."""
    analysis = reported.analysis
    flagged = {w["index"]: w for w in (analysis.blocks.get("outliers") or {}).get("wells", [])}
    gr = (analysis.blocks.get("gr") or {}).get("values")
    outlier = flagged.get(k)
    return {
        "role": analysis.curve.role[k],
        "viability_percent": analysis.viability.viability_percent[k] if analysis.viability else None,
        "fit_response": analysis.fit_value[k],
        "fitted_response": analysis.fitted[k],
        "residual": analysis.fit_value[k] - analysis.fitted[k],
        "used_in_fit": bool(analysis.used[k]),
        "outlier": "" if outlier is None else ("removed" if outlier["removed"] else "kept"),
        "outlier_reason": "" if outlier is None else outlier["reason"],
        "gr": gr[k] if gr else None,
    }


def well_rows(reported: Sequence[ReportedCurve]) -> list[dict[str, Any]]:
    """One row per well of every curve given as wells (excluded wells too, without analysis values)."""
    rows = []
    for r in reported:
        position = {original: k for k, original in enumerate(r.included)}
        for original, w in enumerate(r.request.wells or []):
            k = position.get(original)
            rows.append({
                "label": r.request.label, "image": w.image, "well": w.well,
                "concentration_um": w.concentration_um, "predicted_od450": w.od450, "excluded": w.excluded,
                "flags": _joined(w.flags), "plate": w.plate, "control": w.control or "",
                "time_zero_od450": w.time_zero_od450, **({} if k is None else _analysis_cells(r, k)),
            })  # fmt: skip
    return rows


def plate_rows(reported: Sequence[ReportedCurve]) -> list[dict[str, Any]]:
    """One row per plate of every curve whose QC was asked for."""
    rows = []
    for r in reported:
        for plate in r.analysis.blocks.get("qc") or []:
            separation = plate["control_separation"] or {}
            edge = plate["edge_effect"] or {}
            rows.append({
                "label": r.request.label, "plate": plate["plate"], "plate_size": plate["plate_size"],
                **{k: separation.get(k) for k in ("z_prime", "z_prime_robust", "ssmd", "quality", "n_vehicle",
                                                   "n_blank", "vehicle_mean", "blank_mean")},
                "edge_ratio": edge.get("ratio"), "edge_p_welch": edge.get("p_welch"),
                "edge_flagged": edge.get("flagged"), "warnings": _joined(plate["warnings"]),
                "notes": _joined(plate["notes"]),
            })  # fmt: skip
    return rows


def metadata(
    request: ReportRequest, reported: Sequence[ReportedCurve], *, app_version: str, generated: datetime
) -> list[tuple[str, str]]:
    """The facts every table rests on, as (key, value) rows: app, models, method, unit, options."""
    named = {f"{m.name or m.id or ''} {m.version or ''}".strip() for r in reported if (m := r.request.model)}
    models = sorted(named - {""})
    options = [f"IC_x at {', '.join(f'{p:g}' for p in request.ic_percents)} %"] if request.ic_percents else []
    options += ["Emax, Einf, AAC, DSS"] if request.metrics else []
    options += [f"outlier test (ROUT-like, Q = {request.outlier_q_percent:g} %)"] if request.outliers else []
    options += ["plate QC"] if request.qc else []
    rows = [
        ("app", f"nostain {app_version}"),
        ("generated_utc", generated.strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("models", "; ".join(models) or "none named"),
        ("method", FIT_METHOD),
        ("fit_on", _FIT_ON[request.fit_on]),
        ("response_unit", _UNIT[request.fit_on]),
        ("analysis", "; ".join(options) or "Hill fit only"),
        ("censoring", CENSORING),
    ]
    if any(r.request.model and r.request.model.synthetic for r in reported):
        rows.append((
            "warning", "At least one model was trained on synthetic (simulated) images only: treat its IC50s "
            "as a demonstration, not a measurement.",
        ))  # fmt: skip
    return rows
