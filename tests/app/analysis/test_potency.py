"""Potency and efficacy blocks: the screening functions, with the reference level of the fit's unit."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.potency import censored_ic50, potency_blocks
from app.doseresponse import fit_hill
from app.schemas_analysis import AnalysisOptions
from app.screening import area_over_curve, drug_sensitivity_score, efficacy, ic_x, parameter_covariance
from tests.app.analysis.conftest import DOSES_UM, hill

CONC = np.repeat([0.0, *DOSES_UM], 3)


def test_ic_x_relative_and_absolute_with_their_ci_for_each_level() -> None:
    y = hill(CONC) + np.random.default_rng(1).normal(0, 0.02, CONC.size)
    fit = fit_hill(CONC, y)
    notes: list[str] = []
    blocks = potency_blocks(fit, CONC, y, AnalysisOptions(ic_percents=[20, 80]), notes)
    assert [(b["percent"], b["kind"]) for b in blocks["ic_x"]] == [
        (20, "relative"), (20, "absolute"), (80, "relative"), (80, "absolute")
    ]  # fmt: skip
    covariance = parameter_covariance(fit, CONC, y)
    assert blocks["ic_x"][2] == ic_x(fit, 80, covariance=covariance).to_dict()
    assert blocks["ic_x"][3] == ic_x(fit, 80, kind="absolute", covariance=covariance).to_dict()
    low, high = blocks["ic_x"][0]["ci_um"]
    assert low < blocks["ic_x"][0]["concentration"]["value_um"] < high
    assert "efficacy" not in blocks and notes == []


def test_a_fit_on_viability_measures_against_100_percent() -> None:
    y = 100 * (hill(CONC) - 0.1) / 1.4 + np.random.default_rng(2).normal(0, 1.0, CONC.size)
    fit = fit_hill(CONC, y)
    options = AnalysisOptions(fit_on="viability", metrics=True, ic_percents=[50])
    blocks = potency_blocks(fit, CONC, y, options, [])
    assert blocks["ic_x"][1]["reference_level"] == 100.0
    assert blocks["ic_x"][1] == ic_x(fit, 50, kind="absolute", reference_level=100.0,
                                     covariance=parameter_covariance(fit, CONC, y)).to_dict()  # fmt: skip
    assert blocks["efficacy"] == efficacy(fit, CONC, y, reference_level=100.0).to_dict()
    assert blocks["aac"] == area_over_curve(fit, reference_level=100.0).to_dict()
    assert blocks["dss"] == drug_sensitivity_score(fit, reference_level=100.0).to_dict()
    assert blocks["efficacy"]["reference_source"] == "given"


def test_a_stated_range_and_threshold_reach_aac_and_dss() -> None:
    y = hill(CONC)
    fit = fit_hill(CONC, y)
    options = AnalysisOptions(metrics=True, score_range_um=(0.01, 1.0), dss_threshold_percent=20)
    blocks = potency_blocks(fit, CONC, y, options, [])
    assert blocks["aac"]["range_um"] == [0.01, 1.0] and blocks["dss"]["threshold_percent"] == 20
    assert blocks["aac"]["aac"] == pytest.approx(area_over_curve(fit, range_um=(0.01, 1.0)).aac)


def test_an_ic50_above_the_range_is_censored_never_a_number() -> None:
    conc = np.repeat([0.0, 0.001, 0.01, 0.1, 1.0], 3)
    y = 0.1 + 1.4 / (1 + (conc / 5.0) ** 1.5) + np.random.default_rng(3).normal(0, 0.01, conc.size)
    fit = fit_hill(conc, y)
    assert fit.status == "ic50_above_range" and fit.ic50_um > 1.0
    blocks = potency_blocks(fit, conc, y, AnalysisOptions(metrics=True), [])
    censored = blocks["ic50_censored"]
    assert censored["value_um"] is None and censored["extrapolated_um"] == pytest.approx(fit.ic50_um)
    assert censored["text"] == "> 1 µM" and censored["csv"] == ">1"
    assert censored_ic50(fit).censor == "above_range"


def test_metrics_that_do_not_exist_become_notes() -> None:
    conc, y = np.array([0.0, 0.0, 0.0, 0.0]), np.array([1.0, 1.1, 0.9, 1.0])
    fit = fit_hill(conc, y)
    notes: list[str] = []
    blocks = potency_blocks(fit, conc, y, AnalysisOptions(metrics=True, ic_percents=[20]), notes)
    assert blocks == {"ic50_censored": None, "ic_x": []}
    assert notes == ["No IC50, IC_x, Emax, AAC or DSS: the curve has no positive concentration."]
    falling = np.array([0.0, 0.1, 1, 10, 100]), np.array([-1.0, -1.0, -0.6, -0.2, -0.1])
    fit = fit_hill(*falling)
    notes.clear()
    blocks = potency_blocks(fit, *falling, AnalysisOptions(metrics=True), notes)
    assert blocks["efficacy"] is None
    assert any(n.startswith("No Emax/Einf: the reference level") for n in notes)
