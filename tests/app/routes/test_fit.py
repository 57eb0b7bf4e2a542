"""POST /api/fit: the JSON contract, batch order, and a readable 4xx for every kind of bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.doseresponse import fit_hill

CONC = [0, 0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 100]


def hill_curve(ic50: float, *, top: float = 1.6, bottom: float = 0.1, hill: float = 1.2, noise: float = 0.02,
               seed: int = 0) -> tuple[list[float], list[float]]:  # fmt: skip
    rng = np.random.default_rng(seed)
    conc = np.repeat(CONC, 3).astype(float)
    y = bottom + (top - bottom) / (1 + (conc / ic50) ** hill) + rng.normal(0, noise, conc.size)
    return conc.tolist(), y.tolist()


def test_fit_returns_the_contract_fields_in_request_order(client: TestClient) -> None:
    curves = []
    for label, ic50 in [("A549 DOX", 0.4), ("HEK293 DOX", 0.035)]:
        conc, resp = hill_curve(ic50)
        curves.append({"label": label, "concentrations_um": conc, "responses": resp,
                       "fix_top": None, "fix_bottom": None})  # fmt: skip
    r = client.post("/api/fit", json={"curves": curves, "curve_points": 100})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["label"] for x in results] == ["A549 DOX", "HEK293 DOX"]
    for res, true_ic50 in zip(results, [0.4, 0.035], strict=True):
        assert res["status"] == "ok"
        assert abs(math.log10(res["ic50_um"] / true_ic50)) < 0.15
        lo, hi = res["ic50_ci_um"]
        assert 0 < lo < res["ic50_um"] < hi
        assert res["hill"] > 0  # falling curve → positive Hill slope
        assert res["top"] > res["bottom"]
        assert 0.9 < res["r2"] <= 1
        grid = res["curve"]["concentrations_um"]
        assert len(grid) == len(res["curve"]["responses"]) > 10
        assert math.isclose(grid[0], 0.0001) and math.isclose(grid[-1], 100)


def test_curve_points_and_method_texts_are_sent_once_and_on_request(client: TestClient) -> None:
    conc, resp = hill_curve(0.4)
    curves = [{"label": f"plate {i}", "concentrations_um": conc, "responses": resp} for i in range(3)]
    body = client.post("/api/fit", json={"curves": curves}).json()
    assert all("curve" not in res and "se_method" not in res for res in body["results"])
    assert "Gauss–Newton" in body["methods"]["se_method"] and "Wald" in body["methods"]["ci_method"]
    asked = client.post("/api/fit", json={"curves": curves, "curve_points": 5}).json()
    assert [len(res["curve"]["responses"]) for res in asked["results"]] == [5, 5, 5]
    for points in (1, 1001, "many"):
        r = client.post("/api/fit", json={"curves": curves, "curve_points": points})
        assert r.status_code == 422 and "curve_points" in r.json()["detail"], r.text


def test_api_fit_equals_the_engine(client: TestClient) -> None:
    conc, resp = hill_curve(0.28, seed=3)
    res = client.post("/api/fit", json={"curves": [{"concentrations_um": conc, "responses": resp}]}).json()
    direct = fit_hill(conc, resp)
    assert res["results"][0]["ic50_um"] == pytest.approx(direct.ic50_um, rel=1e-12)


def test_fixed_bottom_is_honoured(client: TestClient) -> None:
    conc, resp = hill_curve(0.4, bottom=0.0)
    res = client.post(
        "/api/fit", json={"curves": [{"concentrations_um": conc, "responses": resp, "fix_bottom": 0}]}
    ).json()["results"][0]
    assert res["bottom"] == 0


def test_flat_curve_has_no_ic50_and_says_why(client: TestClient) -> None:
    conc, _ = hill_curve(1)
    resp = (1.2 + np.random.default_rng(1).normal(0, 0.03, len(conc))).tolist()
    res = client.post("/api/fit", json={"curves": [{"concentrations_um": conc, "responses": resp}]}).json()
    assert res["results"][0]["status"] == "no_effect"
    assert res["results"][0]["ic50_um"] is None
    assert res["results"][0]["message"]


def test_too_few_concentrations_is_insufficient_data(client: TestClient) -> None:
    body = {"curves": [{"concentrations_um": [0, 1, 10], "responses": [1.5, 1.0, 0.2]}]}
    res = client.post("/api/fit", json=body).json()["results"][0]
    assert res["status"] == "insufficient_data" and res["ic50_um"] is None


@pytest.mark.parametrize(
    ("curve", "expected"),
    [
        ({"concentrations_um": [0, 1, -1, 10], "responses": [1, 1, 1, 1]}, "concentration #3: must be ≥ 0"),
        ({"concentrations_um": [0, 1, 2, 3], "responses": [1, 1, 1]}, "give one response per concentration"),
        ({"concentrations_um": [0, 1, 2, 3], "responses": [1, "NaN", 1, 1]}, "response #2: must be a finite"),
        ({"concentrations_um": [0, 1, 2, 3], "responses": [1, "abc", 1, 1]}, "response #2: must be a number"),
        ({"concentrations_um": [], "responses": []}, "concentration: is empty"),
        ({"concentrations_um": [0, 1, 2, 3]}, "response: is missing"),
        ({"concentrations_um": [0, 1], "responses": [1, 1], "colour": "red"}, "colour: is not a field"),
    ],
)
def test_bad_input_is_a_422_naming_the_curve_and_value(
    client: TestClient, curve: dict, expected: str
) -> None:
    r = client.post("/api/fit", json={"curves": [{"label": "plate 1", **curve}]})
    assert r.status_code == 422
    assert "curve 1 ('plate 1')" in r.json()["detail"]
    assert expected in r.json()["detail"]


def test_nan_literal_in_raw_json_is_rejected(client: TestClient) -> None:
    raw = '{"curves": [{"concentrations_um": [0, 1, 2, 3], "responses": [1, NaN, 1, Infinity]}]}'
    r = client.post("/api/fit", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "finite" in r.json()["detail"]


def test_malformed_json_and_empty_request_are_422(client: TestClient) -> None:
    r = client.post("/api/fit", content="{", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.json()["detail"]
    r = client.post("/api/fit", json={"curves": []})
    assert r.status_code == 422 and "empty" in r.json()["detail"]


def test_request_limits_are_413_with_the_limit(client: TestClient) -> None:
    one = {"concentrations_um": [0, 1, 2, 3], "responses": [1, 1, 1, 1]}
    r = client.post("/api/fit", json={"curves": [one] * 51})
    assert r.status_code == 413 and "limit is 50" in r.json()["detail"]
    big = {"concentrations_um": list(range(201)), "responses": [1.0] * 201}
    r = client.post("/api/fit", json={"curves": [big]})
    assert r.status_code == 413 and "limit is 200" in r.json()["detail"]
