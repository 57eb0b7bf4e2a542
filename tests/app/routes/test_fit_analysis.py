"""POST /api/fit with the analysis options: controls, % viability, IC_x, censoring, outliers, QC, GR."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.doseresponse import fit_hill
from tests.app.analysis.conftest import plate

EVERYTHING = {"fit_on": "viability", "ic_percents": [20, 80], "metrics": True, "outliers": True, "qc": True,
              "per_well": True}  # fmt: skip


def _post(client: TestClient, curve: dict, **options: object) -> dict:
    r = client.post("/api/fit", json={"curves": [{"label": "A549 DOX", **curve}], **options})
    assert r.status_code == 200, r.text
    return r.json()


def test_a_plain_request_gets_exactly_the_plain_result(client: TestClient) -> None:
    wells = plate(seed=10)
    body = _post(client, {"concentrations_um": wells["concentrations_um"], "responses": wells["responses"]})
    assert set(body["methods"]) == {"se_method", "ci_method"}
    assert not {"ic_x", "qc", "wells", "notes", "outliers", "gr"} & set(body["results"][0])


def test_a_fit_on_viability_fits_percent_of_the_plates_controls(client: TestClient) -> None:
    wells = plate(seed=11)
    body = _post(client, wells, fit_on="viability", per_well=True)
    (result,) = body["results"]
    y, controls = np.array(wells["responses"]), np.array(wells["controls"], dtype=object)
    vehicle, blank = y[controls == "vehicle"].mean(), y[controls == "blank"].mean()
    percent = 100 * (y - blank) / (vehicle - blank)
    treated = controls != "blank"
    expected = fit_hill(np.array(wells["concentrations_um"])[treated], percent[treated])
    assert result["ic50_um"] == pytest.approx(expected.ic50_um, rel=1e-9)
    assert result["top"] == pytest.approx(100, abs=3) and result["ic50_um"] == pytest.approx(0.5, rel=0.15)
    (levels,) = result["controls"]
    assert levels["vehicle_level"] == pytest.approx(vehicle) and levels["blank_level"] == pytest.approx(blank)
    per_well = result["wells"]
    assert per_well["viability_percent"] == pytest.approx(percent.tolist())
    assert per_well["response"] == pytest.approx(percent.tolist())
    blanks = np.flatnonzero(~treated)
    assert all(per_well["role"][k] == "blank" and per_well["fitted"][k] is None for k in blanks)
    assert not any(per_well["used_in_fit"][k] for k in blanks)
    assert body["methods"]["analysis"]["fit_on"] == "viability"
    assert body["methods"]["analysis"]["response_unit"].startswith("% viability")


def test_every_option_at_once_gives_every_block(client: TestClient) -> None:
    wells = plate(seed=12)
    (result,) = _post(client, wells, **EVERYTHING)["results"]
    assert [(x["percent"], x["kind"]) for x in result["ic_x"]] == [
        (20, "relative"), (20, "absolute"), (80, "relative"), (80, "absolute")
    ]  # fmt: skip
    ic20, ic80 = (result["ic_x"][k]["concentration"]["value_um"] for k in (0, 2))
    assert ic20 < result["ic50_um"] < ic80
    assert result["ic50_censored"]["censor"] == "none"
    assert result["efficacy"]["emax_percent"] > 90
    assert 0.2 < result["aac"]["aac"] < 0.4  # IC50 0.5 µM in 0.0005–10 µM: the upper 30 % of the log range
    assert result["dss"]["dss1"] > 0
    assert result["outliers"]["wells"] == [] and result["outliers"]["q_percent"] == 1.0
    (qc,) = result["qc"]
    assert qc["control_separation"]["quality"] == "excellent" and qc["plate_size"] == 96
    assert result["notes"] == [] and "gr" not in result


def test_an_ic50_outside_the_range_is_censored_in_words(client: TestClient) -> None:
    conc = np.repeat([0.0, 0.001, 0.01, 0.1, 1.0], 3)
    y = 0.1 + 1.4 / (1 + (conc / 5.0) ** 1.5) + np.random.default_rng(3).normal(0, 0.01, conc.size)
    body = _post(client, {"concentrations_um": conc.tolist(), "responses": y.tolist()}, metrics=True)
    (result,) = body["results"]
    assert result["status"] == "ic50_above_range" and result["ic50_um"] > 1  # the engine's extrapolation …
    assert result["ic50_censored"]["text"] == "> 1 µM"  # … said as what the data show
    assert result["ic50_censored"]["value_um"] is None


def test_a_flagged_well_is_left_out_until_the_request_exempts_it(client: TestClient) -> None:
    wells = plate(seed=13)
    planted = wells["well_ids"].index("C5")
    wells["responses"][planted] += 1.0
    (result,) = _post(client, wells, outliers=True, per_well=True)["results"]
    (flagged,) = result["outliers"]["wells"]
    assert (flagged["index"], flagged["well"], flagged["removed"]) == (planted, "C5", True)
    assert result["n_wells"] == 96 - 8 - 1  # blank wells are not fitted, the outlier is left out
    assert result["wells"]["outlier"][planted] and not result["wells"]["used_in_fit"][planted]
    exempt = [k == planted for k in range(96)]
    (undone,) = _post(client, {**wells, "outlier_exempt": exempt}, outliers=True)["results"]
    assert undone["outliers"]["wells"][0]["removed"] is False and undone["n_wells"] == 96 - 8
    assert undone["ic50_um"] != result["ic50_um"]


def test_time_zero_values_give_gr_metrics(client: TestClient) -> None:
    wells = plate(seed=14)
    (result,) = _post(client, {**wells, "time_zero_level": 0.4})["results"]
    gr = result["gr"]
    assert gr["plates"][0]["time_zero_level"] == pytest.approx(0.4 - gr["plates"][0]["background"])
    assert gr["metrics"]["fit"] == "sigmoid" and gr["metrics"]["gr50"]["censor"] == "none"
    assert len(gr["values"]) == 96 and gr["values"][wells["controls"].index("blank")] is None
    (flat,) = _post(client, {**wells, "time_zero_level": 3.0})["results"]
    assert flat["gr"] is None
    assert flat["notes"][0].startswith("No GR values: plate 'plate': the vehicle wells did not grow")


@pytest.mark.parametrize(
    ("change", "options", "expected"),
    [
        ({"controls": None}, {"fit_on": "viability"}, "plate 'plate' has no blank or kill wells"),
        ({"controls": ["vehicle"] * 96}, {}, "well 2 ('A2'): a vehicle control must be at 0 µM"),
        ({"controls": ["blank"] * 3}, {}, "controls has 3 entries but there are 96 wells"),
        ({"time_zero": [0.3] * 96, "time_zero_level": 0.3}, {}, "not both"),
        ({"controls": ["medium"] * 96}, {}, "controls #1"),
        ({}, {"ic_percents": [120]}, "ic_percents #1"),
    ],
)
def test_bad_analysis_requests_are_422_in_words(
    client: TestClient, change: dict, options: dict, expected: str
) -> None:
    wells = {**plate(seed=15), **change}
    r = client.post("/api/fit", json={"curves": [{"label": "A549 DOX", **wells}], **options})
    assert r.status_code == 422, r.text
    assert expected in r.json()["detail"]
