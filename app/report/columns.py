"""The columns of the report's tables, each with its unit and meaning (the zip's ``columns.csv``).

Concentration columns ending in ``_um`` hold measurements only: a value read off the curve outside the tested
range is left empty there, and its ``_censored`` column says ``>30`` or ``<0.01`` (the model's number is kept
in ``ic50_extrapolated_um``, named as what it is).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CURVE_COLUMNS", "PLATE_COLUMNS", "WELL_COLUMNS", "Column", "ic_x_columns"]


@dataclass(frozen=True)
class Column:
    """A report column: its name, unit ('' for text) and meaning."""

    name: str
    unit: str
    description: str


def _columns(*rows: tuple[str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(*row) for row in rows)


FIT_UNIT = "the curve's response_unit"  # columns in the unit of the fit (OD450 or % viability)

CURVE_COLUMNS = _columns(
    ("label", "", "Name of the curve"),
    ("cell_line", "", "Cell line"),
    ("drug", "", "Drug"),
    ("model", "", "Model that predicted the OD450s"),
    ("model_version", "", "Its version"),
    ("model_trained_on", "", "'synthetic images' or 'real images'"),
    ("status", "", "What the fit came to (ok, no_effect, ic50_above_range, …)"),
    ("status_message", "", "The status in plain words"),
    ("ic50_um", "µM", "Relative IC50 when inside the tested range; empty when censored"),
    ("ic50_ci_low_um", "µM", "Lower bound of its 95 % CI (empty when censored)"),
    ("ic50_ci_high_um", "µM", "Upper bound of its 95 % CI (empty when censored)"),
    ("ic50_abs_um", "µM", "Absolute IC50 (50 % of the control level) when inside the tested range"),
    ("hill", "unitless", "Hill slope; positive for a falling curve"),
    ("top", FIT_UNIT, "Top asymptote"),
    ("bottom", FIT_UNIT, "Bottom asymptote"),
    ("r2", "unitless", "R² of the fit"),
    ("residual_se", FIT_UNIT, "Residual standard error"),
    ("df", "count", "Residual degrees of freedom"),
    ("n_wells", "count", "Wells in the fit"),
    ("n_excluded", "count", "Wells excluded by the user"),
    ("n_concentrations", "count", "Distinct concentrations in the fit"),
    ("p_no_effect", "probability", "F-test of the Hill curve against a flat line"),
    ("notes", "", "Notes on the curve, joined by ' | '"),
    ("concentration_unit", "", "Unit of the concentrations: µM"),
    ("response_unit", "", "Unit of the fit: 'OD450' (predicted) or '% viability'"),
    ("ic50_censored", "µM", "The IC50 as a CSV value: '0.41', or '>10' / '<0.01' outside the tested range"),
    ("ic50_extrapolated_um", "µM", "The model's IC50 outside the tested range: an extrapolation"),
    ("ic50_abs_censored", "µM", "The absolute IC50 as a CSV value, censored like ic50_censored"),
    ("emax_percent", "% effect", "Largest observed effect (0 = none, 100 = no signal left)"),
    ("emax_conc_um", "µM", "Where Emax was observed"),
    ("einf_percent", "% effect", "Fitted effect at infinite concentration"),
    ("aac", "unitless", "Area over the curve over the stated range (0 = no effect, 1 = full effect)"),
    ("aac_range_low_um", "µM", "Low end of the AAC and DSS range"),
    ("aac_range_high_um", "µM", "High end of the AAC and DSS range"),
    ("dss1", "score", "Drug sensitivity score DSS1 (Yadav et al. 2014)"),
    ("dss2", "score", "DSS2"),
    ("dss3", "score", "DSS3"),
    ("n_outliers_removed", "count", "Wells the outlier test left out of the fit"),
    ("outlier_wells", "", "Flagged wells (well ID or image), joined by ' | '"),
    ("gr50_um", "µM", "GR50 when inside the tested range"),
    ("gr50_censored", "µM", "GR50 as a CSV value, censored"),
    ("gr_max", "unitless", "Smallest GR at the two highest concentrations"),
    ("gr_aoc", "unitless", "Area over the GR curve, divided by the log10 range"),
    ("gec50_um", "µM", "Midpoint of the GR sigmoid"),
    ("gr_inf", "unitless", "Asymptotic GR"),
    ("h_gr", "unitless", "Hill coefficient of the GR sigmoid"),
    ("gr_fit", "", "'sigmoid', 'flat' or 'insufficient_data'"),
    ("qc_warnings", "", "Plate QC warnings of the curve's plates, joined by ' | '"),
    ("analysis_notes", "", "Metrics that could not be computed, and why, joined by ' | '"),
)

WELL_COLUMNS = _columns(
    ("label", "", "Name of the curve"),
    ("image", "", "Image file"),
    ("well", "", "Well ID"),
    ("concentration_um", "µM", "Concentration (0 = vehicle)"),
    ("predicted_od450", "OD450", "Predicted OD450"),
    ("excluded", "", "'yes' when the user excluded the well"),
    ("flags", "", "Notes on the well, joined by ' | '"),
    ("plate", "", "Plate label"),
    ("control", "", "Control kind as sent: vehicle, untreated, blank, kill, or empty"),
    ("role", "", "Role in the analysis: sample, vehicle (100 %) or blank (0 %); empty when excluded"),
    ("time_zero_od450", "OD450", "The well read at the time of treatment"),
    ("viability_percent", "% viability", "% of the plate's vehicle wells (0 % = blank/kill wells)"),
    ("fit_response", FIT_UNIT, "The value the fit saw"),
    ("fitted_response", FIT_UNIT, "The fitted curve at the well's concentration"),
    ("residual", FIT_UNIT, "fit_response − fitted_response"),
    ("used_in_fit", "", "'yes' when the well is in the final fit"),
    ("outlier", "", "'removed' or 'kept' when the outlier test flagged the well"),
    ("outlier_reason", "", "Why it was flagged"),
    ("gr", "unitless", "GR value (1 = no effect, 0 = cytostasis, < 0 = cell death)"),
)

PLATE_COLUMNS = _columns(
    ("label", "", "Name of the curve"),
    ("plate", "", "Plate label"),
    ("plate_size", "wells", "96 or 384, from the well IDs"),
    ("z_prime", "unitless", "Z′ of the vehicle and blank/kill wells (≥ 0.5 excellent)"),
    ("z_prime_robust", "unitless", "Robust Z′ (medians, 1.4826·MAD)"),
    ("ssmd", "unitless", "SSMD of the vehicle and blank/kill wells (|β| ≥ 3 expected)"),
    ("quality", "", "excellent, marginal or failed (from Z′)"),
    ("n_vehicle", "count", "Vehicle wells"),
    ("n_blank", "count", "Blank/kill wells"),
    ("vehicle_mean", "OD450", "Mean of the vehicle wells"),
    ("blank_mean", "OD450", "Mean of the blank/kill wells"),
    ("edge_ratio", "unitless", "Outer ring / inner wells, of observed/fitted response"),
    ("edge_p_welch", "probability", "Welch's t-test of outer against inner wells"),
    ("edge_flagged", "", "'yes' when the ratio is off by ≥ 10 % with p < 0.05"),
    ("warnings", "", "The plate's warnings, joined by ' | '"),
    ("notes", "", "What could not be assessed, joined by ' | '"),
)


def ic_x_columns(percents: list[float]) -> tuple[Column, ...]:
    """The curves table's columns of each asked IC_x level (relative, then absolute; µM, censored)."""
    columns: list[Column] = []
    for percent in percents:
        x = f"ic{percent:g}"
        columns += [
            Column(f"{x}_um", "µM", f"Relative IC{percent:g} when inside the tested range"),
            Column(f"{x}_censored", "µM", f"Relative IC{percent:g} as a CSV value, censored"),
            Column(f"{x}_ci_low_um", "µM", "Lower bound of its 95 % CI (delta method, log scale)"),
            Column(f"{x}_ci_high_um", "µM", "Upper bound of its 95 % CI"),
            Column(f"{x}_abs_um", "µM", f"Absolute IC{percent:g} when inside the tested range"),
            Column(f"{x}_abs_censored", "µM", f"Absolute IC{percent:g} as a CSV value, censored"),
        ]
    return tuple(columns)
