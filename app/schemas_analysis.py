"""Schemas of the analysis beyond the IC50 (issue 16): the options a fit or report request may ask for, and
the blocks they add to each result. Every field says its unit; the definitions are in docs/metrics.md.

The blocks mirror the result objects of :mod:`app.screening` (their ``to_dict()``), so the OpenAPI document
says exactly what the API sends; ``tests/app/test_schemas_analysis.py`` holds the two to the same fields.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool, model_validator

from app.schema_types import NumberOnly, StrictModel

__all__ = [
    "MAX_IC_PERCENTS",
    "AnalysisMethods",
    "AnalysisOptions",
    "AreaOverCurveOut",
    "CensoredConcentrationOut",
    "ControlSeparationOut",
    "DrugSensitivityScoreOut",
    "EdgeEffectOut",
    "EfficacyOut",
    "GRMetricsOut",
    "GROut",
    "GRPlateOut",
    "InhibitoryConcentrationOut",
    "OutlierReviewOut",
    "OutlierWellOut",
    "PlateControlsOut",
    "PlateQCOut",
    "WellValuesOut",
]

#: IC_x levels one request may ask for.
MAX_IC_PERCENTS = 10

#: A percentage strictly between 0 and 100 (IC_x levels, thresholds).
Percent = Annotated[float, Field(gt=0, lt=100, allow_inf_nan=False), NumberOnly]
#: A positive concentration in µM.
PositiveConcentration = Annotated[float, Field(gt=0, allow_inf_nan=False), NumberOnly]
#: The ROUT false discovery rate Q in % (Motulsky & Brown recommend 1 %).
OutlierQ = Annotated[float, Field(gt=0, le=10, allow_inf_nan=False), NumberOnly]

FitOn = Literal["response", "viability"]
Censor = Literal["none", "above_range", "below_range", "not_reached", "no_effect", "not_estimated"]
Role = Literal["sample", "vehicle", "blank"]


class AnalysisOptions(StrictModel):
    """What a request asks beyond the Hill fit. Everything is off by default, so a plain request stays as
    fast as before; the definitions and references are in docs/metrics.md."""

    fit_on: FitOn = Field(
        "response",
        description="What the Hill curve is fitted to: 'response' (the responses as sent, e.g. predicted "
        "OD450) or 'viability' (% viability per plate: vehicle wells = 100 %, blank or kill wells = 0 %; "
        "needs both on every plate). Every metric is then in that unit",
    )
    ic_percents: list[Percent] = Field(
        default_factory=list,
        max_length=MAX_IC_PERCENTS,
        description="Inhibition levels x (%) whose IC_x to report, e.g. [20, 80]; each gives a relative and "
        "an absolute IC_x (µM) with a delta-method CI, censored to the tested range",
    )
    metrics: StrictBool = Field(
        False,
        description="Add the IC50 censored to the tested range (text such as '> 10 µM'), Emax and Einf "
        "(% effect), the area over the curve (AAC, unitless 0–1) and the drug sensitivity scores DSS1–3",
    )
    score_range_um: tuple[PositiveConcentration, PositiveConcentration] | None = Field(
        None,
        description="Concentration range (µM, low < high) of AAC and DSS; default: the lowest and highest "
        "positive concentration tested of each curve",
    )
    dss_threshold_percent: Percent = Field(
        10.0, description="Activity threshold t of the DSS (% inhibition); Yadav et al. 2014 use 10 %"
    )
    outliers: StrictBool = Field(
        False,
        description="Find outlier wells with the ROUT-like test (Motulsky & Brown 2006) and refit without "
        "them; the result's fit is then the refit, and `outliers` lists each flagged well with its reason",
    )
    outlier_q_percent: OutlierQ = Field(
        1.0, description="False discovery rate Q of the outlier test (%, in (0, 10]); 1 % is the paper's"
    )
    qc: StrictBool = Field(
        False,
        description="Plate quality control per plate of each curve: Z′, robust Z′ and SSMD from its "
        "vehicle and blank/kill wells, and the edge effect (outer ring against inner wells) when well IDs "
        "are given; plain-words warnings when a plate fails a threshold",
    )
    per_well: StrictBool = Field(
        False,
        description="Add each well's role, fitted value, residual, % viability and GR value (`wells`, one "
        "list entry per well in request order)",
    )

    @model_validator(mode="after")
    def _ordered_range(self) -> AnalysisOptions:
        if self.score_range_um is not None and not self.score_range_um[0] < self.score_range_um[1]:
            raise ValueError(
                f"score_range_um must be (low, high) with low < high; got {list(self.score_range_um)}"
            )
        return self

    def asks_analysis(self) -> bool:
        """Whether any option differs from the plain fit's."""
        return (
            self.fit_on != "response"
            or bool(self.ic_percents)
            or self.metrics
            or self.outliers
            or self.qc
            or self.per_well
        )


# ------------------------------------------------------------------------------------------ results


class CensoredConcentrationOut(BaseModel):
    """A concentration read off a fitted curve, censored to the tested range: a measurement only inside it."""

    value_um: float | None = Field(description="The estimate (µM) when inside the tested range; else null")
    extrapolated_um: float | None = Field(
        description="The model's estimate (µM) when outside the tested range: an extrapolation, not a "
        "measurement; null inside the range or without an estimate"
    )
    censor: Censor = Field(
        description="'none' (inside the range), 'above_range', 'below_range', 'not_reached' (the curve never "
        "reaches the level), 'no_effect' (flat curve) or 'not_estimated' (no curve)"
    )
    text: str = Field(description="For people, with its unit: '1.46 µM', '> 30 µM', 'not reached (> 30 µM)'")
    csv: str = Field(
        description="For a CSV cell, in µM without the unit: '1.46', '>30', '<0.001'; empty if none"
    )
    tested_range_um: list[float] = Field(
        description="Lowest and highest positive concentration tested (µM)", min_length=2, max_length=2
    )


class InhibitoryConcentrationOut(BaseModel):
    """IC_x of a fitted curve (relative or absolute), with its delta-method SE and CI (docs/metrics.md)."""

    percent: float = Field(description="x: the inhibition level (%)")
    kind: Literal["relative", "absolute"] = Field(
        description="'relative': x % of the way from the control-level asymptote to the other one; "
        "'absolute': where the response is (100 − x) % of the reference level"
    )
    target_response: float | None = Field(
        description="The response level that defines IC_x (response units of the fit: OD450 or % viability)"
    )
    reference_level: float | None = Field(
        description="The 100 % level of an absolute IC_x (response units of the fit); null for relative"
    )
    concentration: CensoredConcentrationOut = Field(description="IC_x (µM), censored to the tested range")
    se_um: float | None = Field(description="Delta-method standard error of IC_x (µM); null when censored")
    se_log10: float | None = Field(description="Standard error of log10 IC_x (log10 µM)")
    ci_um: list[float | None] | None = Field(
        description="Confidence interval of IC_x (µM, log scale); null when censored"
    )
    ci_level: float = Field(description="Confidence level of ci_um (fraction, e.g. 0.95)")
    ci_method: str = Field(description="'log' (exp(ln IC_x ± t·SE), never negative) or 'delta'")
    message: str = Field(description="How the value was obtained, or why it is missing, in plain words")


class EfficacyOut(BaseModel):
    """Maximal effect in % of the reference level: observed (Emax) and fitted (Einf)."""

    emax_percent: float | None = Field(
        description="Largest observed effect, 100·(1 − mean response / reference) over the tested positive "
        "concentrations (% effect: 0 = none, 100 = no signal left)"
    )
    emax_conc_um: float | None = Field(description="Concentration where Emax was observed (µM)")
    effect_at_max_conc_percent: float | None = Field(
        description="Observed effect at the highest tested concentration (% effect)"
    )
    einf_percent: float | None = Field(
        description="Fitted effect at infinite concentration (% effect); null without a sigmoid fit"
    )
    reference_level: float = Field(description="The 100 % level (response units of the fit)")
    reference_source: str = Field(
        description="Where the reference came from: 'given' (100 % viability), 'vehicle wells' or "
        "'fitted control level'"
    )


class AreaOverCurveOut(BaseModel):
    """Area over the fitted curve on the log10 concentration axis, divided by the range width."""

    aac: float | None = Field(
        description="AAC (unitless): 0 = no effect, 1 = no signal left over the whole range; null without "
        "a fit"
    )
    range_um: list[float] = Field(description="Integration range (µM)", min_length=2, max_length=2)
    reference_level: float | None = Field(description="The 100 % level (response units of the fit)")
    message: str = Field(description="The range and reference used, or why there is no AAC")


class DrugSensitivityScoreOut(BaseModel):
    """DSS1–3 of Yadav et al., Sci Rep 4:5193 (2014), as the authors' R implementation computes them."""

    dss1: float | None = Field(description="DSS1 (score, % inhibition area above t over the range, 0–100)")
    dss2: float | None = Field(description="DSS2 = DSS1 / log10(a) (score)")
    dss3: float | None = Field(description="DSS3 = DSS1 · 2/log10(a) · (x2 − x1)/(x2 − x_min) (score)")
    threshold_percent: float = Field(description="Activity threshold t (% inhibition)")
    range_um: list[float] = Field(description="Concentration range x_min–x2 (µM)", min_length=2, max_length=2)
    max_inhibition_percent: float | None = Field(description="a: the maximal inhibition of the curve (%)")
    x1_um: float | None = Field(description="Where the curve crosses t, clamped to the range (µM)")
    area: float | None = Field(description="Area above t (% inhibition × log10 µM)")
    message: str = Field(description="The threshold and range used, or why the score is 0 or missing")


class OutlierWellOut(BaseModel):
    """A well the ROUT-like test flagged."""

    index: int = Field(description="Position of the well in the curve as sent (0-based index)")
    well: str = Field(description="Its well ID as sent (empty when none was given)")
    conc_um: float = Field(description="Its concentration (µM)")
    response: float = Field(description="Its response in the unit of the fit (OD450 or % viability)")
    residual: float = Field(description="Response minus the robust curve (response units of the fit)")
    t_ratio: float = Field(description="|residual| / RSDR (unitless, robust SDs)")
    p_value: float = Field(description="Two-sided p of the t ratio (probability)")
    threshold: float = Field(description="The false-discovery threshold it was compared with (probability)")
    reason: str = Field(description="Why it was flagged, in plain words")
    removed: bool = Field(
        description="True: left out of the fit; false: kept because the request exempts it (outlier_exempt)"
    )


class OutlierReviewOut(BaseModel):
    """The outlier test of one curve: which wells it flagged and whether the fit left them out."""

    q_percent: float = Field(description="False discovery rate Q (%)")
    rsdr: float | None = Field(description="Robust SD of the residuals of the robust fit (response units)")
    wells: list[OutlierWellOut] = Field(description="Flagged wells, largest residual first")
    message: str = Field(description="What the test found, in plain words")


class PlateControlsOut(BaseModel):
    """Control levels of one plate, used for % viability (vehicle = 100 %, blank/kill = 0 %)."""

    plate: str = Field(description="Plate label as sent ('plate' when none was given)")
    vehicle_level: float = Field(description="100 % level: mean of the vehicle wells (response units)")
    blank_level: float = Field(description="0 % level: mean of the blank/kill wells (response units)")
    blank_source: str = Field(description="'blank wells' or 'given'")
    n_vehicle: int = Field(description="Vehicle wells used (count)")
    n_blank: int = Field(description="Blank/kill wells used (count)")
    vehicle_cv_percent: float | None = Field(description="Coefficient of variation of the vehicle wells (%)")
    method: str = Field(description="How control wells are summarised: 'mean' or 'median'")


class ControlSeparationOut(BaseModel):
    """How well a plate's vehicle and blank/kill wells separate (Z′, robust Z′, SSMD)."""

    z_prime: float | None = Field(description="Z′ = 1 − 3(σv + σb)/|μv − μb| (unitless; ≥ 0.5 excellent)")
    z_prime_robust: float | None = Field(description="Z′ from medians and 1.4826·MAD (unitless)")
    ssmd: float | None = Field(description="SSMD β = (μv − μb)/√(σv² + σb²) (unitless; |β| ≥ 3 expected)")
    quality: Literal["excellent", "marginal", "failed"] = Field(
        description="'excellent' (Z′ ≥ 0.5), 'marginal' (0 < Z′ < 0.5) or 'failed' (Z′ ≤ 0)"
    )
    vehicle_mean: float = Field(description="Mean of the vehicle wells (response units as sent)")
    blank_mean: float = Field(description="Mean of the blank/kill wells (response units as sent)")
    vehicle_sd: float = Field(description="SD of the vehicle wells (response units as sent)")
    blank_sd: float = Field(description="SD of the blank/kill wells (response units as sent)")
    n_vehicle: int = Field(description="Vehicle wells (count)")
    n_blank: int = Field(description="Blank/kill wells (count)")
    warnings: list[str] = Field(description="Plain-words warnings; empty when the plate passes")


class EdgeEffectOut(BaseModel):
    """The plate's outer ring against its inner wells, on observed / fitted response."""

    ratio: float | None = Field(description="Mean of the outer wells / mean of the inner wells (unitless)")
    outer_mean: float = Field(description="Mean observed/fitted ratio of the outer wells (unitless)")
    inner_mean: float = Field(description="Mean observed/fitted ratio of the inner wells (unitless)")
    n_outer: int = Field(description="Outer-ring wells compared (count)")
    n_inner: int = Field(description="Inner wells compared (count)")
    p_welch: float | None = Field(description="Welch's t-test, two-sided (probability)")
    p_mann_whitney: float | None = Field(description="Mann–Whitney U test, two-sided (probability)")
    flagged: bool = Field(description="Ratio off by ≥ 10 % and Welch p < 0.05")
    warnings: list[str] = Field(description="Plain-words warning when flagged")


class PlateQCOut(BaseModel):
    """Quality control of one plate of a curve."""

    plate: str = Field(description="Plate label as sent ('plate' when none was given)")
    plate_size: int | None = Field(description="96 or 384 (wells), from the well IDs; null without them")
    control_separation: ControlSeparationOut | None = Field(
        description="Z′, robust Z′ and SSMD; null with fewer than 2 vehicle or 2 blank/kill wells"
    )
    edge_effect: EdgeEffectOut | None = Field(
        description="Outer ring against inner wells; null without well IDs or enough wells on each side"
    )
    warnings: list[str] = Field(description="Every warning of this plate, in plain words")
    notes: list[str] = Field(description="What could not be assessed, and why")


class WellValuesOut(BaseModel):
    """Per-well values of a curve, one list entry per well in request order."""

    role: list[Role] = Field(
        description="'sample' (treated), 'vehicle' (100 % viability) or 'blank' (blank or kill: 0 %)"
    )
    response: list[float | None] = Field(
        description="The value the fit saw (response units of the fit: as sent, or % viability)"
    )
    viability_percent: list[float | None] | None = Field(
        description="% viability of the well's plate (vehicle = 100 %, blank/kill = 0 %); null when the "
        "plate has no vehicle or no blank/kill wells"
    )
    fitted: list[float | None] = Field(
        description="The fitted curve at the well's concentration (response units of the fit); null for "
        "blank/kill wells or without a fitted curve"
    )
    residual: list[float | None] = Field(description="response − fitted (response units of the fit)")
    used_in_fit: list[bool] = Field(description="Whether the well took part in the final fit")
    outlier: list[bool] = Field(description="Whether the outlier test flagged the well")


class AnalysisMethods(BaseModel):
    """How the analysis numbers were computed (the same for every curve of a response)."""

    fit_on: FitOn = Field(description="What was fitted: 'response' (as sent) or 'viability' (%)")
    response_unit: str = Field(description="The unit of the fit: 'response units as sent' or '% viability'")
    ic_x: str = Field(description="How IC_x values, SEs and CIs were computed")
    scores: str = Field(description="Definitions of Emax, Einf, AAC and DSS")
    outliers: str = Field(description="The outlier test")
    qc: str = Field(description="Plate QC thresholds")
    gr: str = Field(description="GR values and metrics, and the assumption they rest on")


class GRMetricsOut(BaseModel):
    """GR metrics of one curve (Hafner et al., Nat Methods 13:521, 2016; datarail/gr_metrics' definitions)."""

    fit: Literal["sigmoid", "flat", "insufficient_data"] = Field(
        description="'sigmoid', 'flat' (F-test p ≥ 0.05: GR does not change with concentration) or "
        "'insufficient_data'"
    )
    gr50: CensoredConcentrationOut = Field(description="Concentration where GR = 0.5 (µM), censored")
    gr_max: float | None = Field(description="Smallest GR at the two highest concentrations (unitless)")
    gr_aoc: float | None = Field(
        description="Area over the GR curve (trapezoid rule on log10 µM), divided by the log10 range "
        "(unitless)"
    )
    gec50_um: float | None = Field(description="Midpoint of the GR sigmoid (µM); null for a flat fit")
    gr_inf: float | None = Field(description="Asymptotic GR (unitless); the flat level for a flat fit")
    h_gr: float | None = Field(description="Hill coefficient of the GR sigmoid (unitless)")
    r2: float | None = Field(description="R² of the sigmoid fit (unitless)")
    p_value: float | None = Field(description="F-test of the sigmoid against a flat line (probability)")
    at_bound: list[str] = Field(description="Sigmoid parameters that ended on a bound (read them as limits)")
    n_wells: int = Field(description="Treated wells used (count)")
    message: str = Field(description="The fit in plain words")


class GRPlateOut(BaseModel):
    """The levels behind the GR values of one plate (background subtracted)."""

    plate: str = Field(description="Plate label as sent ('plate' when none was given)")
    time_zero_level: float = Field(
        description="x0: mean response of the wells at the time of treatment, background subtracted "
        "(response units as sent)"
    )
    vehicle_level: float = Field(
        description="x_ctrl: mean response of the vehicle wells at the end point, background subtracted "
        "(response units as sent)"
    )
    background: float = Field(
        description="Subtracted from every read: mean of the blank/kill wells (response units as sent), 0 "
        "without them"
    )
    control_doublings: float = Field(description="log2(x_ctrl / x0): doublings of the vehicle wells (count)")
    n_at_background: int = Field(
        description="Treated wells at or below the background: GR −1 (no viable cells detected) (count)"
    )


class GROut(BaseModel):
    """GR values and metrics of one curve, from its end-point and time-zero reads."""

    metrics: GRMetricsOut | None = Field(description="GR50, GRmax, GR_AOC, GEC50, GRinf, h_GR; null if none")
    values: list[float | None] = Field(
        description="GR value of each well in request order (unitless); null for blank/kill wells"
    )
    plates: list[GRPlateOut] = Field(description="The levels used, per plate")
    message: str = Field(description="What was computed, and the assumption it rests on, in plain words")
