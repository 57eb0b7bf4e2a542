"""Schemas of the growth endpoints: ``POST /api/gr`` (two time points) and ``POST /api/timecourse``
(one plate read at several times). Definitions in docs/metrics.md (GR values and metrics, time courses)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from app.config import MAX_TIME_POINTS
from app.doseresponse import Status
from app.schema_types import (
    Concentration,
    ControlKind,
    Finite,
    Label,
    NumberOnly,
    StrictModel,
    WellId,
    check_per_well,
)
from app.schemas import CurveWells
from app.schemas_analysis import GROut

__all__ = [
    "GRCurveIn",
    "GRRequest",
    "GRResponse",
    "GRResult",
    "TimeCourseRequest",
    "TimeCourseResponse",
]

Hours = Annotated[float, Field(ge=0, allow_inf_nan=False), NumberOnly]


class GRCurveIn(CurveWells):
    """One curve read at the end point (``responses``) and at the time of treatment (``time_zero`` per well,
    or ``time_zero_level``), with its vehicle wells (0 µM) and optionally blank/kill wells."""

    @model_validator(mode="after")
    def _has_time_zero(self) -> GRCurveIn:
        if self.time_zero is None and self.time_zero_level is None:
            raise ValueError("GR needs the time-zero read: give time_zero (per well) or time_zero_level")
        return self


class GRRequest(StrictModel):
    """``POST /api/gr`` body: curves with an end-point and a time-zero read."""

    curves: list[GRCurveIn] = Field(min_length=1, description="The curves")


class GRResult(GROut):
    """GR values and metrics of one curve."""

    label: str = Field(description="The curve's label as sent")


class GRMethods(BaseModel):
    """How the GR numbers were computed."""

    gr: str = Field(description="GR values, metrics and the assumption they rest on")


class GRResponse(BaseModel):
    """``POST /api/gr`` response."""

    results: list[GRResult] = Field(description="One result per curve, in request order")
    methods: GRMethods = Field(description="How the numbers were computed")


class TimeCourseRequest(StrictModel):
    """``POST /api/timecourse`` body: the same wells of one plate read at several times."""

    label: Label = Field("plate", description="Name of the plate, returned with the result")
    times_h: list[Hours] = Field(
        min_length=2, max_length=MAX_TIME_POINTS, description="Read times (h since treatment), increasing"
    )
    concentrations_um: list[Concentration] = Field(
        min_length=1, description="Concentration of each well (µM; 0 = vehicle control)"
    )
    values: list[list[Finite]] = Field(
        min_length=2,
        max_length=MAX_TIME_POINTS,
        description="values[t][w]: the response of well w at time times_h[t] (e.g. predicted OD450)",
    )
    controls: list[ControlKind | None] | None = Field(
        None, description="Control kind of each well, as in /api/fit (blank/kill wells define 0 %)"
    )
    well_ids: list[WellId] | None = Field(None, description="Well ID of each well ('B07')")
    blank_level: Finite | None = Field(
        None,
        description="The 0 % level (response units) when the plate has no blank/kill wells, e.g. 0 for "
        "background-corrected reads",
    )

    @model_validator(mode="after")
    def _grid(self) -> TimeCourseRequest:
        n_wells = len(self.concentrations_um)
        if len(self.values) != len(self.times_h):
            raise ValueError(
                f"values has {len(self.values)} rows but times_h has {len(self.times_h)}: one row per time"
            )
        for t, row in enumerate(self.values):
            if len(row) != n_wells:
                raise ValueError(f"values[{t}] has {len(row)} entries but there are {n_wells} wells")
        check_per_well(self, ("controls", "well_ids"), n_wells)
        if any(b <= a for a, b in zip(self.times_h, self.times_h[1:], strict=False)):
            raise ValueError(f"times_h must increase strictly; got {self.times_h[:10]}")
        return self


class TimeWell(BaseModel):
    """One well at one time."""

    time_h: float = Field(description="Read time (h)")
    well: str = Field(description="Well ID as sent, else 'w0', 'w1', … by position")
    conc_um: float = Field(description="Concentration (µM)")
    value: float | None = Field(description="Response as sent (response units)")
    viability_percent: float | None = Field(description="% of the vehicle wells at that time (%)")


class TimeConcentration(BaseModel):
    """The wells of one concentration at one time."""

    time_h: float = Field(description="Read time (h)")
    conc_um: float = Field(description="Concentration (µM; 0 = vehicle)")
    n: int = Field(description="Wells (count)")
    mean_value: float | None = Field(description="Mean response (response units)")
    mean_viability_percent: float | None = Field(description="Mean % viability (%)")
    sd_viability_percent: float | None = Field(description="SD of % viability (%); null for one well")


class TimeFit(BaseModel):
    """The Hill fit of % viability at one time."""

    time_h: float = Field(description="Read time (h)")
    status: Status = Field(description="What the fit came to (as in /api/fit)")
    ic50_um: float | None = Field(description="IC50 (µM)")
    ic50_ci_um: list[float | None] | None = Field(description="95 % confidence interval of the IC50 (µM)")
    hill: float | None = Field(description="Hill slope (unitless)")
    top: float | None = Field(description="Top asymptote (% viability)")
    bottom: float | None = Field(description="Bottom asymptote (% viability)")
    r2: float | None = Field(description="R² of the fit (unitless)")
    message: str = Field(description="The status in plain words")


class TimeGR(BaseModel):
    """GR of one concentration over one interval (Hafner et al. 2016, time-dependent GR)."""

    kind: Literal["interval", "from_start"] = Field(
        description="'interval': between consecutive reads; 'from_start': from the first read"
    )
    t_start_h: float = Field(description="Start of the interval (h)")
    t_end_h: float = Field(description="End of the interval (h)")
    t_mid_h: float = Field(description="Midpoint (h), where the value is plotted")
    conc_um: float = Field(description="Concentration (µM)")
    gr: float | None = Field(
        description="GR value (unitless); null where a mean is ≤ 0 or the controls did not grow"
    )


class TimeCourseResponse(BaseModel):
    """``POST /api/timecourse`` response: tidy records for plotting."""

    label: str = Field(description="The plate's label as sent")
    times_h: list[float] = Field(description="Read times (h)")
    wells: list[TimeWell] = Field(description="One record per well (not blank/kill) and time")
    concentrations: list[TimeConcentration] = Field(description="One record per concentration and time")
    fits: list[TimeFit] = Field(description="One Hill fit of % viability per time")
    gr: list[TimeGR] = Field(description="GR per interval and positive concentration")
    message: str = Field(description="What was computed and the assumption behind GR, in plain words")
