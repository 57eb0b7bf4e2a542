"""POST /api/report.csv: refits like /api/fit, lists every well, and is safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from tests.app.routes.test_fit import hill_curve


def wells_for(conc: list[float], resp: list[float]) -> list[dict]:
    return [
        {"image": f"well_{i:02d}_{c}uM.jpg", "well": f"B{i % 12 + 1:02d}", "concentration_um": c, "od450": y}
        for i, (c, y) in enumerate(zip(conc, resp, strict=True))
    ]


def sections(text: str) -> dict[str, list[dict[str, str]]]:
    """Parse the report's [curves] and [wells] tables into dict rows."""
    out: dict[str, list[dict[str, str]]] = {}
    rows = list(csv.reader(io.StringIO(text)))
    for i, row in enumerate(rows):
        if row and row[0] in ("[curves]", "[wells]"):
            header = rows[i + 1]
            body = []
            for r in rows[i + 2 :]:
                if not r:
                    break
                body.append(dict(zip(header, r, strict=True)))
            out[row[0].strip("[]")] = body
    return out


def test_report_ic50_equals_api_fit_and_excluded_wells_are_not_fitted(client: TestClient) -> None:
    conc, resp = hill_curve(0.4, seed=5)
    wells = wells_for(conc, resp)
    wells[3]["excluded"] = True
    wells[3]["od450"] = 9.0  # an outlier the user excluded: must not move the fit
    kept = [w for w in wells if not w.get("excluded")]
    fit = client.post("/api/fit", json={"curves": [{
        "label": "A549", "concentrations_um": [w["concentration_um"] for w in kept],
        "responses": [w["od450"] for w in kept]}]}).json()["results"][0]  # fmt: skip
    r = client.post("/api/report.csv", json={"curves": [{
        "label": "A549", "cell_line": "A549", "drug": "doxorubicin", "wells": wells,
        "model": {"id": "a549-m", "name": "A549-M", "version": "1.0.0", "synthetic": True}}]})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    text = r.text
    assert text.splitlines()[1].startswith("app,nostain ")
    assert "generated_utc," in text and "A549-M 1.0.0" in text
    assert "synthetic" in text
    tables = sections(text)
    (curve,) = tables["curves"]
    assert float(curve["ic50_um"]) == pytest.approx(fit["ic50_um"], rel=1e-5)
    assert float(curve["ic50_ci_low_um"]) == pytest.approx(fit["ic50_ci_um"][0], rel=1e-5)
    assert curve["status"] == fit["status"] == "ok"
    assert curve["n_excluded"] == "1" and curve["model_trained_on"] == "synthetic images"
    assert curve["concentration_unit"] == "µM"
    assert len(tables["wells"]) == len(wells)
    assert tables["wells"][3]["excluded"] == "yes" and tables["wells"][4]["excluded"] == "no"


def test_several_curves_end_up_in_one_report(client: TestClient) -> None:
    curves = []
    for label, ic50 in [("A549", 0.4), ("HEK293", 0.035), ("H1975", 0.28)]:
        conc, resp = hill_curve(ic50)
        curves.append({"label": label, "wells": wells_for(conc, resp)})
    tables = sections(client.post("/api/report.csv", json={"curves": curves}).text)
    assert [c["label"] for c in tables["curves"]] == ["A549", "HEK293", "H1975"]
    assert len(tables["wells"]) == 3 * 36


@pytest.mark.parametrize("label", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd"])
def test_formula_injection_is_neutralised(client: TestClient, label: str) -> None:
    conc, resp = hill_curve(0.4)
    wells = wells_for(conc, resp)
    wells[0]["image"] = label
    text = client.post("/api/report.csv", json={"curves": [{"label": label, "wells": wells}]}).text
    tables = sections(text)
    assert tables["curves"][0]["label"] == "'" + label
    assert tables["wells"][0]["image"] == "'" + label
    for row in csv.reader(io.StringIO(text)):
        assert not any(cell.startswith(("=", "+", "@")) for cell in row)


def test_report_from_plain_arrays(client: TestClient) -> None:
    conc, resp = hill_curve(0.4)
    r = client.post("/api/report.csv", json={"curves": [{"concentrations_um": conc, "responses": resp}]})
    assert r.status_code == 200
    assert sections(r.text)["curves"][0]["status"] == "ok"


@pytest.mark.parametrize(
    ("curve", "expected"),
    [
        ({"label": "x"}, "give either wells or both"),
        ({"label": "x", "wells": []}, "wells is empty"),
        (
            {"label": "x", "wells": [{"concentration_um": -1, "od450": 1}]},
            "well 1, concentration: must be ≥ 0",
        ),
        (
            {"label": "x", "wells": [{"concentration_um": 1, "od450": 1, "excluded": True}]},
            "every well is excluded",
        ),
    ],
)
def test_bad_report_requests_are_422(client: TestClient, curve: dict, expected: str) -> None:
    r = client.post("/api/report.csv", json={"curves": [curve]})
    assert r.status_code == 422
    assert expected in r.json()["detail"]
