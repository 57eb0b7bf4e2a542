"""POST /api/gr (two time points) and POST /api/timecourse (several) on simulated plates (synthetic)."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.analysis.growth import gr_block
from app.analysis.wells import curve_data

TIMES_H = [0.0, 24.0, 48.0, 72.0]
CONC_UM = [0, 0, 0, 0, *np.repeat([0.01, 0.1, 1.0, 10.0, 100.0], 3).tolist(), 0, 0]
CONTROLS = [None] * 19 + ["blank", "blank"]
BLANK_OD, X0, DOUBLING_H = 0.05, 0.2, 24.0


def rate_ratio(conc: np.ndarray) -> np.ndarray:
    """k(c) / k(0) of the simulated drug: up to 1.5 × the control rate lost (net death at high doses)."""
    return 1.0 - 1.5 * conc / (conc + 1.0)


def reads(times: list[float]) -> np.ndarray:
    """OD450 of the simulated plate at ``times`` (h), shape (n_times, n_wells): exponential growth."""
    plate = BLANK_OD + X0 * 2.0 ** (np.outer(times, rate_ratio(np.array(CONC_UM, float))) / DOUBLING_H)
    plate[:, -2:] = BLANK_OD
    return plate


def test_gr_from_two_reads_is_the_rate_ratio(client: TestClient) -> None:
    zero, end = reads([0.0, 72.0])
    curve = {"label": "A549", "concentrations_um": CONC_UM, "responses": end.tolist(), "controls": CONTROLS,
             "time_zero": zero.tolist()}  # fmt: skip
    r = client.post("/api/gr", json={"curves": [curve]})
    assert r.status_code == 200, r.text
    body = r.json()
    (result,) = body["results"]
    expected = 2.0 ** rate_ratio(np.array(CONC_UM, float)) - 1.0
    for k in range(19):
        assert result["values"][k] == pytest.approx(expected[k], abs=1e-9)
    assert result["values"][19] is None and result["plates"][0]["control_doublings"] == pytest.approx(3.0)
    same = gr_block(curve_data("A549", CONC_UM, end, position=1, controls=CONTROLS, time_zero=zero))
    assert {k: v for k, v in result.items() if k != "label"} == same  # JSON keeps every digit
    assert result["metrics"]["gr_inf"] < 0  # net cell death at the top doses
    assert "Hafner" in body["methods"]["gr"] and "proportional" in body["methods"]["gr"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"time_zero": None}, "GR needs the time-zero read"),
        ({"time_zero": None, "time_zero_level": 5.0}, "curve 1 ('A549'): no GR values: plate 'plate'"),
    ],
)
def test_gr_that_cannot_be_computed_is_422(client: TestClient, change: dict, expected: str) -> None:
    zero, end = reads([0.0, 72.0])
    curve = {"label": "A549", "concentrations_um": CONC_UM, "responses": end.tolist(), "controls": CONTROLS,
             "time_zero": zero.tolist(), **change}  # fmt: skip
    r = client.post("/api/gr", json={"curves": [curve]})
    assert r.status_code == 422 and expected in r.json()["detail"], r.text


def test_a_time_course_gives_viability_fits_and_gr_over_time(client: TestClient) -> None:
    body = {"label": "plate 1", "times_h": TIMES_H, "concentrations_um": CONC_UM,
            "values": reads(TIMES_H).tolist(), "controls": CONTROLS}  # fmt: skip
    r = client.post("/api/timecourse", json=body)
    assert r.status_code == 200, r.text
    course = r.json()
    assert course["times_h"] == TIMES_H and len(course["wells"]) == 4 * 19
    assert [f["time_h"] for f in course["fits"]] == TIMES_H
    later = [f["ic50_um"] for f in course["fits"][1:]]
    assert later == sorted(later, reverse=True)  # the IC50 falls as the drug acts longer
    for record in course["gr"]:
        assert record["gr"] == pytest.approx(2.0 ** rate_ratio(np.array(record["conc_um"])) - 1.0, abs=1e-9)
    at_72 = [c for c in course["concentrations"] if c["time_h"] == 72.0 and c["conc_um"] == 0]
    assert at_72[0]["mean_viability_percent"] == pytest.approx(100.0)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"times_h": [0.0, 0.0, 48.0, 72.0]}, "times_h must increase strictly"),
        ({"values": [[1.0] * 21] * 3}, "values has 3 rows but times_h has 4"),
        ({"values": [[1.0] * 20] * 4}, "values[0] has 20 entries but there are 21 wells"),
        ({"controls": None}, "has no blank (or kill) wells"),
        ({"controls": ["vehicle"] * 21}, "curve 1 ('plate'), well 5: a vehicle control must be at 0 µM"),
    ],
)
def test_bad_time_courses_are_422_in_words(client: TestClient, change: dict, expected: str) -> None:
    body = {"times_h": TIMES_H, "concentrations_um": CONC_UM, "values": reads(TIMES_H).tolist(),
            "controls": CONTROLS, **change}  # fmt: skip
    r = client.post("/api/timecourse", json=body)
    assert r.status_code == 422 and expected in r.json()["detail"], r.text
