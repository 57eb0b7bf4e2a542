"""Request and response schemas of the JSON API (the contract scripts and the page depend on)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from app.config import MAX_CURVE_POINTS, MAX_FLAGS_PER_WELL, MAX_NOTES_PER_CURVE
from app.doseresponse import Status
from app.schema_types import (
    Concentration,
    ControlKind,
    Finite,
    Label,
    StrictModel,
    WellId,
    check_per_well,
)
from app.schemas_analysis import (
    AnalysisMethods,
    AnalysisOptions,
    AreaOverCurveOut,
    CensoredConcentrationOut,
    DrugSensitivityScoreOut,
    EfficacyOut,
    GROut,
    InhibitoryConcentrationOut,
    OutlierReviewOut,
    PlateControlsOut,
    PlateQCOut,
    WellValuesOut,
)

__all__ = [
    "CurveIn",
    "CurvePoints",
    "CurveResult",
    "CurveWells",
    "ErrorBody",
    "FitMethods",
    "FitRequest",
    "FitResponse",
    "ModelRef",
    "ModelUploaded",
    "ReportCurve",
    "ReportRequest",
    "WellIn",
]

#: The per-well lists of a curve besides its concentrations, each with one entry per well.
PER_WELL_FIELDS = ("well_ids", "plates", "controls", "time_zero", "outlier_exempt")


class CurveWells(StrictModel):
    """The wells of one curve: paired concentrations (µM) and responses, and optionally what each well is."""

    label: Label = Field("curve", description="Name of the curve, returned with its result")
    concentrations_um: list[Concentration] = Field(
        min_length=1, description="Concentration of each well (µM, ≥ 0; 0 = vehicle control)"
    )
    responses: list[Finite] = Field(
        min_length=1, description="Response of each well (e.g. predicted OD450; any unit, the same for all)"
    )
    well_ids: list[WellId] | None = Field(
        None, description="Well ID of each well ('B07'), for plate QC and to name outliers"
    )
    plates: list[Label] | None = Field(
        None,
        description="Plate label of each well: each plate is normalised to its own controls and checked on "
        "its own. Default: one plate",
    )
    controls: list[ControlKind | None] | None = Field(
        None,
        description="What each well is: null = a treated well (a vehicle control when its concentration is "
        "0), 'vehicle' or 'untreated' (100 % viability; concentration must be 0), 'blank' or 'kill' (0 %; "
        "not fitted, concentration not used)",
    )
    time_zero: list[Finite | None] | None = Field(
        None,
        description="The same wells read at the time of treatment (response units as sent; null where not "
        "read): their mean per plate is x0 of the GR values",
    )
    time_zero_level: Finite | None = Field(
        None,
        description="Instead of time_zero: one response at the time of treatment for the whole curve (e.g. "
        "the mean of a time-zero plate; response units as sent, before background subtraction)",
    )

    @model_validator(mode="after")
    def _one_entry_per_well(self) -> CurveWells:
        n = len(self.concentrations_um)
        if len(self.responses) != n:
            raise ValueError(
                f"concentrations_um has {n} values but responses has {len(self.responses)}: give one "
                "response per concentration"
            )
        check_per_well(self, PER_WELL_FIELDS, n)
        if self.time_zero is not None and self.time_zero_level is not None:
            raise ValueError("give time_zero (one value per well) or time_zero_level (one value), not both")
        return self

    def describes_wells(self) -> bool:
        """Whether anything beyond concentrations and responses was sent."""
        return any(getattr(self, name, None) is not None for name in (*PER_WELL_FIELDS, "time_zero_level"))


class CurveIn(CurveWells):
    """One dose-response curve: paired concentrations (µM) and responses (OD450 or any unit)."""

    fix_top: Finite | None = Field(
        None, description="Fix Top (response units of the fit, e.g. the mean OD450 of the vehicle wells)"
    )
    fix_bottom: Finite | None = Field(
        None, description="Fix Bottom (response units of the fit, e.g. 0 or the blank's OD450)"
    )
    outlier_exempt: list[StrictBool] | None = Field(
        None,
        description="True for wells the outlier test must keep in the fit (e.g. the user re-included them)",
    )


class FitRequest(AnalysisOptions):
    """``POST /api/fit`` body: one or many curves, fitted independently, results in the same order."""

    curves: list[CurveIn] = Field(min_length=1, description="The curves to fit")
    curve_points: int | None = Field(
        None,
        ge=2,
        le=MAX_CURVE_POINTS,
        description="Points of the fitted curve to return with each result (count; log-spaced across the "
        "tested range), e.g. 100 for plotting. Default: none (the server's NOSTAIN_CURVE_POINTS, 0 unless "
        "configured); the curve is Y = Bottom + (Top − Bottom) / (1 + (X/IC50)^Hill), or the flat line at "
        "mean_response when status is no_effect",
    )

    def asks_analysis(self) -> bool:
        """Whether an option or a curve's well descriptions ask for more than the plain fit."""
        return super().asks_analysis() or any(c.describes_wells() for c in self.curves)


class CurvePoints(BaseModel):
    """The fitted curve sampled on a log grid across the tested range, for plotting."""

    concentrations_um: list[float] = Field(description="Concentrations of the points (µM, log-spaced)")
    responses: list[float] = Field(description="The fitted curve there (response units of the fit)")


class CurveResult(BaseModel):
    """One curve's fit. Values that do not exist (e.g. the IC50 of a flat curve) are null; status says why.

    The analysis blocks (``ic50_censored`` … ``wells``) come only when the request asks for them."""

    model_config = ConfigDict(extra="allow")

    label: str = Field(description="The curve's label as sent")
    status: Status = Field(description="What the fit came to; ``message`` says it in plain words")
    message: str = Field(description="The status in plain words")
    ic50_um: float | None = Field(
        description="Relative IC50: the curve's midpoint (µM). Outside the tested range (status "
        "ic50_above_range / ic50_below_range) it is the model's extrapolation, not a measurement: "
        "`ic50_censored` gives it as '> 10 µM'"
    )
    ic50_ci_um: list[float | None] | None = Field(description="95 % confidence interval of the IC50 (µM)")
    ic50_abs_um: float | None = Field(
        None, description="Absolute IC50: the concentration where the response is 50 % of control (µM)"
    )
    hill: float | None = Field(description="Hill slope (unitless); positive for a falling curve")
    top: float | None = Field(description="Top asymptote (response units of the fit)")
    bottom: float | None = Field(description="Bottom asymptote (response units of the fit)")
    r2: float | None = Field(description="Coefficient of determination R² of the fit (unitless)")
    mean_response: float | None = Field(
        None,
        description="Mean response (response units of the fit): the flat line that is the fit when status "
        "is no_effect",
    )
    curve: CurvePoints | None = Field(
        None, description="The fitted curve, only when the request asks for it (curve_points)"
    )
    ic50_censored: CensoredConcentrationOut | None = Field(
        None, description="The relative IC50 censored to the tested range (µM; `metrics`)"
    )
    ic_x: list[InhibitoryConcentrationOut] | None = Field(
        None, description="IC_x for each level of `ic_percents`: relative, then absolute (µM)"
    )
    efficacy: EfficacyOut | None = Field(None, description="Emax and Einf (% effect; `metrics`)")
    aac: AreaOverCurveOut | None = Field(None, description="Area over the curve (unitless; `metrics`)")
    dss: DrugSensitivityScoreOut | None = Field(None, description="DSS1–3 (scores; `metrics`)")
    controls: list[PlateControlsOut] | None = Field(
        None, description="The control levels per plate behind % viability (response units as sent)"
    )
    outliers: OutlierReviewOut | None = Field(None, description="The outlier test (`outliers`)")
    qc: list[PlateQCOut] | None = Field(None, description="Plate quality control per plate (`qc`)")
    gr: GROut | None = Field(None, description="GR values and metrics, when time-zero values were sent")
    wells: WellValuesOut | None = Field(None, description="Per-well values (`per_well`)")
    notes: list[str] | None = Field(
        None, description="Analysis blocks that could not be computed for this curve, and why"
    )


class FitMethods(BaseModel):
    """How the numbers of every result were computed (the same for all curves of a response)."""

    se_method: str = Field(description="How the standard errors (se) were computed")
    ci_method: str = Field(description="How the IC50 confidence interval (ic50_ci_um) was computed")
    analysis: AnalysisMethods | None = Field(
        None, description="How the analysis blocks were computed, when the request asks for any"
    )


class FitResponse(BaseModel):
    """``POST /api/fit`` response."""

    results: list[CurveResult] = Field(description="One result per curve, in request order")
    methods: FitMethods = Field(description="How the numbers were computed")


class ModelRef(StrictModel):
    """Which model produced the predictions (from its card)."""

    id: Label | None = Field(None, description="The model's ID (its folder name)")
    name: Label | None = Field(None, description="The model's name")
    version: Label | None = Field(None, description="The model's version")
    synthetic: StrictBool | None = Field(None, description="Whether it was trained on synthetic images only")


class WellIn(StrictModel):
    """One well of a curve in the report: its image, concentration and predicted OD450."""

    image: Label = Field("", description="The image file the well was scored from")
    well: WellId = Field("", description="Well ID ('B07')")
    concentration_um: Concentration = Field(description="Concentration (µM, ≥ 0; 0 = vehicle control)")
    od450: Finite = Field(description="Predicted OD450 (absorbance units)")
    excluded: StrictBool = Field(False, description="Left out of the fit by the user")
    flags: list[Label] = Field(
        default_factory=list, max_length=MAX_FLAGS_PER_WELL, description="Plain-words notes on the well"
    )
    plate: Label = Field("", description="Plate label (wells of one plate share controls); '' = one plate")
    control: ControlKind | None = Field(
        None, description="Control kind: null = treated (vehicle when at 0 µM), or as in CurveIn.controls"
    )
    time_zero_od450: Finite | None = Field(
        None, description="The same well read at the time of treatment (predicted OD450), for GR"
    )
    outlier_exempt: StrictBool = Field(False, description="The outlier test must keep this well")


class ReportCurve(StrictModel):
    """A curve of the report: its wells (preferred) or plain arrays, plus what the report should name."""

    label: Label = Field("curve", description="Name of the curve")
    cell_line: Label = Field("", description="Cell line")
    drug: Label = Field("", description="Drug")
    model: ModelRef | None = Field(None, description="The model that predicted the OD450s")
    wells: list[WellIn] | None = Field(None, description="The curve's wells (preferred to the arrays)")
    concentrations_um: list[Concentration] | None = Field(
        None, description="Instead of wells: concentrations (µM)"
    )
    responses: list[Finite] | None = Field(None, description="Instead of wells: responses (OD450)")
    fix_top: Finite | None = Field(None, description="Fix Top (response units of the fit)")
    fix_bottom: Finite | None = Field(None, description="Fix Bottom (response units of the fit)")
    time_zero_level: Finite | None = Field(
        None, description="Response at the time of treatment for the whole curve (OD450), for GR"
    )
    notes: list[Label] = Field(
        default_factory=list, max_length=MAX_NOTES_PER_CURVE, description="Plain-words notes on the curve"
    )

    @model_validator(mode="after")
    def _has_data(self) -> ReportCurve:
        if self.wells is None:
            if self.concentrations_um is None or self.responses is None:
                raise ValueError("give either wells or both concentrations_um and responses")
            CurveWells(label=self.label, concentrations_um=self.concentrations_um, responses=self.responses)
        elif not self.wells:
            raise ValueError("wells is empty: a curve needs at least one well")
        return self

    def included(self) -> tuple[list[float], list[float]]:
        """Concentrations (µM) and responses of the wells that are not excluded."""
        if self.wells is None:
            return list(self.concentrations_um or []), list(self.responses or [])
        kept = [w for w in self.wells if not w.excluded]
        return [w.concentration_um for w in kept], [w.od450 for w in kept]


class ReportRequest(AnalysisOptions):
    """``POST /api/report.csv`` and ``/api/report.zip`` body: the curves of one session, the analysis
    options (as for ``/api/fit``, so the report shows what the page showed) and a title."""

    curves: list[ReportCurve] = Field(min_length=1, description="The curves of the report")
    title: Label = Field("nostain IC50 report", description="Title of the report (also its file name)")


class ErrorBody(BaseModel):
    """Every error response (4xx, 5xx): what went wrong in plain words, and each problem on its own."""

    detail: str = Field(description="What went wrong, in plain words (the first 20 problems, joined by '; ')")
    problems: list[str] = Field(
        description="One sentence per problem, naming the curve, the field and the value"
    )


class ModelUploaded(BaseModel):
    """``POST /api/models``: the model now served, as ``GET /api/models`` lists it."""

    id: str = Field(description="The model's id (its folder in the models directory)")
    model: dict[str, Any] = Field(
        description="Its card with the URLs of its files, as GET /api/models lists it"
    )
