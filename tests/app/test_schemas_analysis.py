"""The analysis blocks of the API say exactly what app.screening's results hold, and the options parse."""

from __future__ import annotations

from dataclasses import fields

import pytest
from pydantic import BaseModel, ValidationError

from app.schemas import FitRequest
from app.schemas_analysis import (
    AnalysisOptions,
    AreaOverCurveOut,
    CensoredConcentrationOut,
    ControlSeparationOut,
    DrugSensitivityScoreOut,
    EdgeEffectOut,
    EfficacyOut,
    GRMetricsOut,
    InhibitoryConcentrationOut,
    OutlierWellOut,
    PlateControlsOut,
)
from app.screening import (
    AreaOverCurve,
    CensoredConcentration,
    ControlSeparation,
    DrugSensitivityScore,
    EdgeEffect,
    Efficacy,
    GRMetrics,
    InhibitoryConcentration,
    OutlierWell,
    PlateControls,
)


@pytest.mark.parametrize(
    ("schema", "result", "added"),
    [
        (CensoredConcentrationOut, CensoredConcentration, set()),
        (InhibitoryConcentrationOut, InhibitoryConcentration, set()),
        (EfficacyOut, Efficacy, set()),
        (AreaOverCurveOut, AreaOverCurve, set()),
        (DrugSensitivityScoreOut, DrugSensitivityScore, set()),
        (OutlierWellOut, OutlierWell, {"well", "removed"}),
        (PlateControlsOut, PlateControls, set()),
        (ControlSeparationOut, ControlSeparation, set()),
        (EdgeEffectOut, EdgeEffect, set()),
        (GRMetricsOut, GRMetrics, set()),
    ],
)
def test_each_block_has_the_fields_of_its_result(
    schema: type[BaseModel], result: type, added: set[str]
) -> None:
    assert set(schema.model_fields) == {f.name for f in fields(result)} | added


def test_everything_is_off_by_default() -> None:
    assert not AnalysisOptions().asks_analysis()
    plain = FitRequest.model_validate({"curves": [{"concentrations_um": [0, 1], "responses": [1, 0.5]}]})
    assert not plain.asks_analysis()
    for option in ({"metrics": True}, {"ic_percents": [20]}, {"qc": True}, {"fit_on": "viability"}):
        assert AnalysisOptions.model_validate(option).asks_analysis()
    described = {"concentrations_um": [0, 1], "responses": [1, 0.5], "well_ids": ["A1", "A2"]}
    assert FitRequest.model_validate({"curves": [described]}).asks_analysis()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ic_percents": [0]}, "greater than 0"),
        ({"ic_percents": [100]}, "less than 100"),
        ({"ic_percents": [10.0] * 11}, "at most 10"),
        ({"score_range_um": [10, 1]}, "low < high"),
        ({"outlier_q_percent": 20}, "less than or equal to 10"),
        ({"metrics": 1}, "valid boolean"),
        ({"fit_on": "od"}, "'response' or 'viability'"),
    ],
)
def test_bad_options_are_refused_by_name(options: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AnalysisOptions.model_validate(options)
