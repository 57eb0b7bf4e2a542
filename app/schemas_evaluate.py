"""Schemas of ``POST /api/evaluate``: measured vs predicted OD450 of a model's test images (numbers only),
and what ``python -m training evaluate`` reports from them (the paper's Tables 1 and 2)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from app.doseresponse import Status
from app.schema_types import Concentration, Finite, Label, StrictModel

__all__ = [
    "EvaluateRequest",
    "EvaluateResponse",
    "EvaluatedImage",
    "IC50Agreement",
    "OD450Agreement",
    "PairedTTestOut",
    "SeriesIC50",
]

SeriesName = Annotated[Label, Field(min_length=1)]


class EvaluatedImage(StrictModel):
    """One test image: its dose series, its concentration, and the OD450 read and predicted for its well."""

    series: SeriesName = Field(description="The image's dose series (one image per concentration)")
    concentration_um: Concentration = Field(description="Concentration (µM, ≥ 0; 0 = vehicle control)")
    measured_od450: Finite = Field(description="OD450 read on the plate reader for this well")
    predicted_od450: Finite = Field(description="OD450 the model predicted from the well's image")


class EvaluateRequest(StrictModel):
    """``POST /api/evaluate`` body: the test images of a model (no image data: numbers only)."""

    images: list[EvaluatedImage] = Field(min_length=1, description="The test images, in any order")


class OD450Agreement(BaseModel):
    """The paper's Table 1: the regression of predicted on measured OD450 over all images."""

    n_images: int
    r2: float | None = Field(description="Squared Pearson correlation of measured and predicted OD450")
    slope: float | None = Field(description="Of predicted = slope · measured + intercept")
    intercept: float | None = Field(description="Of predicted = slope · measured + intercept (OD450)")
    mean_difference: float | None = Field(description="Mean of predicted − measured (OD450)")
    sd_difference: float | None = Field(description="SD (ddof = 1) of predicted − measured (OD450)")


class SeriesIC50(BaseModel):
    """One dose series: the IC50 of a Hill fit to its measured and to its predicted OD450."""

    series: str
    n_images: int
    ic50_measured_um: float | None = Field(description="IC50 from the measured OD450 (µM); null: none")
    ic50_predicted_um: float | None = Field(description="IC50 from the predicted OD450 (µM); null: none")
    status_measured: Status
    status_predicted: Status
    log10_error: float | None = Field(description="log10(predicted / measured IC50); null without both")


class PairedTTestOut(BaseModel):
    """Paired t-test of the IC50s (µM) from measured vs predicted OD450 (``scipy.stats.ttest_rel``)."""

    t: float | None = Field(description="t > 0 when the measured IC50s are larger on average")
    p_value: float | None = Field(description="Two-sided; null when every difference is the same")
    df: float | None = Field(description="n − 1")
    n: int = Field(description="Series with both IC50s")


class IC50Agreement(BaseModel):
    """The paper's Table 2 summary over the series where both fits gave an IC50."""

    n_series: int
    n_series_with_both_ic50: int
    ic50_measured_mean_um: float | None
    ic50_measured_sd_um: float | None
    ic50_predicted_mean_um: float | None
    ic50_predicted_sd_um: float | None
    log10_error_median: float | None = Field(description="Median |log10(predicted / measured IC50)|")
    paired_t: PairedTTestOut | None = Field(description="Null with fewer than 2 series with both IC50s")


class EvaluateResponse(BaseModel):
    """What ``python -m training evaluate`` reports, from the numbers sent."""

    od450: OD450Agreement
    series: list[SeriesIC50] = Field(description="Sorted by series name")
    ic50: IC50Agreement
