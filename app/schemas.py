"""Request and response schemas of the JSON API (the contract scripts and the page depend on)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, model_validator
from pydantic_core import PydanticCustomError

from app.config import (
    MAX_CURVE_POINTS,
    MAX_FLAGS_PER_WELL,
    MAX_LABEL_LENGTH,
    MAX_NOTES_PER_CURVE,
    MAX_WELL_ID_LENGTH,
)
from app.doseresponse import Status

__all__ = [
    "CurveIn",
    "CurvePoints",
    "CurveResult",
    "ErrorBody",
    "FitMethods",
    "FitRequest",
    "FitResponse",
    "ModelRef",
    "ReportCurve",
    "ReportRequest",
    "WellIn",
]


def _not_a_boolean(value: Any) -> Any:
    """Refuse ``true``/``false`` where a number is expected (pydantic would read them as 1 and 0)."""
    if isinstance(value, bool):
        raise PydanticCustomError("float_type", "Input should be a number, not true or false")
    return value


#: A finite number (JSON NaN/Infinity are rejected with a clear message; so are true and false).
Finite = Annotated[float, Field(allow_inf_nan=False), BeforeValidator(_not_a_boolean)]
#: A concentration in µM: finite and ≥ 0 (0 = vehicle control).
Concentration = Annotated[float, Field(allow_inf_nan=False, ge=0), BeforeValidator(_not_a_boolean)]
Label = Annotated[str, Field(max_length=MAX_LABEL_LENGTH)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CurveIn(_Strict):
    """One dose-response curve: paired concentrations (µM) and responses (OD450 or any unit)."""

    label: Label = "curve"
    concentrations_um: list[Concentration] = Field(min_length=1)
    responses: list[Finite] = Field(min_length=1)
    fix_top: Finite | None = Field(None, description="Fix Top (e.g. mean of the vehicle controls)")
    fix_bottom: Finite | None = Field(None, description="Fix Bottom (e.g. 0 or the blank's OD450)")

    @model_validator(mode="after")
    def _same_length(self) -> CurveIn:
        if len(self.concentrations_um) != len(self.responses):
            raise ValueError(
                f"concentrations_um has {len(self.concentrations_um)} values but responses has "
                f"{len(self.responses)}: give one response per concentration"
            )
        return self


class FitRequest(_Strict):
    """``POST /api/fit`` body: one or many curves, fitted independently, results in the same order."""

    curves: list[CurveIn] = Field(min_length=1)
    curve_points: int | None = Field(
        None,
        ge=2,
        le=MAX_CURVE_POINTS,
        description="Points of the fitted curve to return with each result (log-spaced across the tested "
        "range), e.g. 100 for plotting. Default: none (the server's NOSTAIN_CURVE_POINTS, 0 unless "
        "configured); the curve is Y = Bottom + (Top − Bottom) / (1 + (X/IC50)^Hill), or the flat line at "
        "mean_response when status is no_effect",
    )


class CurvePoints(BaseModel):
    """The fitted curve sampled on a log grid across the tested range, for plotting."""

    concentrations_um: list[float]
    responses: list[float]


class CurveResult(BaseModel):
    """One curve's fit. Values that do not exist (e.g. the IC50 of a flat curve) are null; status says why."""

    model_config = ConfigDict(extra="allow")

    label: str
    status: Status = Field(description="What the fit came to; ``message`` says it in plain words")
    message: str = Field(description="The status in plain words")
    ic50_um: float | None = Field(description="Relative IC50: the curve's midpoint (µM)")
    ic50_ci_um: list[float | None] | None = Field(description="95 % confidence interval of the IC50 (µM)")
    ic50_abs_um: float | None = Field(
        None, description="Absolute IC50: the concentration where the response is 50 % of control (µM)"
    )
    hill: float | None = Field(description="Hill slope; positive for a falling curve")
    top: float | None
    bottom: float | None
    r2: float | None
    mean_response: float | None = Field(
        None, description="Mean response: the flat line that is the fit when status is no_effect"
    )
    curve: CurvePoints | None = Field(
        None, description="The fitted curve, only when the request asks for it (curve_points)"
    )


class FitMethods(BaseModel):
    """How the numbers of every result were computed (the same for all curves of a response)."""

    se_method: str = Field(description="How the standard errors (se) were computed")
    ci_method: str = Field(description="How the IC50 confidence interval (ic50_ci_um) was computed")


class FitResponse(BaseModel):
    """``POST /api/fit`` response."""

    results: list[CurveResult]
    methods: FitMethods


class ModelRef(_Strict):
    """Which model produced the predictions (from its card)."""

    id: Label | None = None
    name: Label | None = None
    version: Label | None = None
    synthetic: StrictBool | None = None


class WellIn(_Strict):
    """One well of a curve in the report: its image, concentration and predicted OD450."""

    image: Label = ""
    well: Annotated[str, Field(max_length=MAX_WELL_ID_LENGTH)] = ""
    concentration_um: Concentration
    od450: Finite
    excluded: StrictBool = False
    flags: list[Label] = Field(default_factory=list, max_length=MAX_FLAGS_PER_WELL)


class ReportCurve(_Strict):
    """A curve of the report: its wells (preferred) or plain arrays, plus what the report should name."""

    label: Label = "curve"
    cell_line: Label = ""
    drug: Label = ""
    model: ModelRef | None = None
    wells: list[WellIn] | None = None
    concentrations_um: list[Concentration] | None = None
    responses: list[Finite] | None = None
    fix_top: Finite | None = None
    fix_bottom: Finite | None = None
    notes: list[Label] = Field(default_factory=list, max_length=MAX_NOTES_PER_CURVE)

    @model_validator(mode="after")
    def _has_data(self) -> ReportCurve:
        if self.wells is None:
            if self.concentrations_um is None or self.responses is None:
                raise ValueError("give either wells or both concentrations_um and responses")
            CurveIn(label=self.label, concentrations_um=self.concentrations_um, responses=self.responses)
        elif not self.wells:
            raise ValueError("wells is empty: a curve needs at least one well")
        return self

    def included(self) -> tuple[list[float], list[float]]:
        """Concentrations (µM) and responses of the wells that are not excluded."""
        if self.wells is None:
            return list(self.concentrations_um or []), list(self.responses or [])
        kept = [w for w in self.wells if not w.excluded]
        return [w.concentration_um for w in kept], [w.od450 for w in kept]


class ReportRequest(_Strict):
    """``POST /api/report.csv`` body: the curves of one session, and optional free-text notes."""

    curves: list[ReportCurve] = Field(min_length=1)
    title: Label = "nostain IC50 report"


class ErrorBody(BaseModel):
    """Every error response (4xx, 5xx): what went wrong in plain words, and each problem on its own."""

    detail: str = Field(description="What went wrong, in plain words (the first 20 problems, joined by '; ')")
    problems: list[str] = Field(
        description="One sentence per problem, naming the curve, the field and the value"
    )
