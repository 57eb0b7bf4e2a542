"""The report with the analysis: censored concentrations, per-well analysis columns, plate QC, and the same
tables as a zip of tidy CSVs (metadata, curves, wells, plates, column dictionary)."""

from __future__ import annotations

import csv
import io
import zipfile

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app import __version__
from app.report import CURVE_COLUMNS, PLATE_COLUMNS, WELL_COLUMNS
from tests.app.analysis.conftest import plate
from tests.app.routes.test_report import sections

MODEL = {"id": "a549-m", "name": "A549-M", "version": "1.0.0", "synthetic": True}
OPTIONS = {"ic_percents": [20], "metrics": True, "outliers": True, "qc": True}


def report_curve(wells: dict, label: str = "A549 DOX") -> dict:
    """A report curve of the simulated plate's wells."""
    listed = [
        {"image": f"{label}_{w}.jpg", "well": w, "concentration_um": c, "od450": y, "control": k}
        for w, c, y, k in zip(wells["well_ids"], wells["concentrations_um"], wells["responses"],
                              wells["controls"], strict=True)
    ]  # fmt: skip
    return {"label": label, "cell_line": "A549", "drug": "doxorubicin", "model": MODEL, "wells": listed}


def _zip(client: TestClient, body: dict) -> dict[str, list[dict[str, str]]]:
    r = client.post("/api/report.zip", json=body)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert r.headers["content-disposition"] == 'attachment; filename="session.zip"'
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        return {
            name.removesuffix(".csv"): list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))
            for name in archive.namelist()
        }


def test_the_zip_holds_tidy_tables_that_read_whole(client: TestClient) -> None:
    wells = plate(seed=20)
    wells["responses"][wells["well_ids"].index("D6")] += 1.0  # an outlier
    body = {"title": "session", "curves": [report_curve(wells)], **OPTIONS}
    tables = _zip(client, body)
    assert set(tables) == {"metadata", "curves", "wells", "plates", "columns"}
    facts = {row["key"]: row["value"] for row in tables["metadata"]}
    assert facts["app"] == f"nostain {__version__}" and facts["models"] == "A549-M 1.0.0"
    assert facts["response_unit"] == "OD450" and facts["title"] == "session"
    assert "synthetic" in facts["warning"] and "Hill fit" in facts["method"]
    (curve,) = tables["curves"]
    fit = client.post("/api/fit", json={"curves": [{**wells, "label": "A549 DOX"}], **OPTIONS}).json()
    (result,) = fit["results"]
    assert float(curve["ic50_um"]) == pytest.approx(result["ic50_um"], rel=1e-5)
    assert float(curve["ic20_um"]) == pytest.approx(result["ic_x"][0]["concentration"]["value_um"], rel=1e-5)
    assert float(curve["aac"]) == pytest.approx(result["aac"]["aac"], rel=1e-5)
    assert curve["n_outliers_removed"] == "1" and curve["outlier_wells"] == "D6"
    assert len(tables["wells"]) == 96
    by_well = {row["well"]: row for row in tables["wells"]}
    assert by_well["D6"]["outlier"] == "removed" and by_well["D6"]["used_in_fit"] == "no"
    assert by_well["A12"]["role"] == "blank" and by_well["A12"]["fitted_response"] == ""
    assert by_well["A1"]["control"] == "vehicle" and by_well["B3"]["control"] == ""
    (qc,) = tables["plates"]
    assert qc["quality"] == "excellent" and float(qc["z_prime"]) > 0.5
    described = {(row["table"], row["column"]) for row in tables["columns"]}
    for name, columns in (("curves", CURVE_COLUMNS), ("wells", WELL_COLUMNS), ("plates", PLATE_COLUMNS)):
        assert list(tables[name][0]) == [c.name for c in columns] + (
            [f"ic20_{s}" for s in ("um", "censored", "ci_low_um", "ci_high_um", "abs_um", "abs_censored")]
            if name == "curves" else []
        )  # fmt: skip
        assert {(f"{name}.csv", c.name) for c in columns} <= described


def test_a_concentration_outside_the_range_is_never_a_number_in_the_report(client: TestClient) -> None:
    conc = np.repeat([0.0, 0.001, 0.01, 0.1, 1.0], 3)
    y = 0.1 + 1.4 / (1 + (conc / 5.0) ** 1.5) + np.random.default_rng(3).normal(0, 0.01, conc.size)
    wells = [{"concentration_um": c, "od450": v} for c, v in zip(conc, y, strict=True)]
    curve = {"label": "weak", "wells": wells}
    (row,) = sections(client.post("/api/report.csv", json={"curves": [curve]}).text)["curves"]
    assert row["status"] == "ic50_above_range"
    assert row["ic50_um"] == "" and row["ic50_ci_low_um"] == "" and row["ic50_ci_high_um"] == ""
    assert row["ic50_censored"] == ">1" and float(row["ic50_extrapolated_um"]) > 1


def test_the_csv_says_what_was_fitted_and_lists_plates_only_with_qc(client: TestClient) -> None:
    wells = plate(seed=21)
    text = client.post("/api/report.csv", json={"curves": [report_curve(wells)], "fit_on": "viability"}).text
    lines = list(csv.reader(io.StringIO(text)))
    facts = {line[0]: line[1] for line in lines[1:9] if len(line) == 2}
    assert facts["response_unit"] == "% viability" and facts["fit_on"].startswith("% viability per plate")
    assert ["[plates]"] not in lines
    (row,) = sections(text)["curves"]
    assert row["response_unit"] == "% viability" and float(row["top"]) == pytest.approx(100, abs=3)
    with_qc = client.post("/api/report.csv", json={"curves": [report_curve(wells)], "qc": True}).text
    assert ["[plates]"] in list(csv.reader(io.StringIO(with_qc)))


def test_the_zip_is_formula_safe_too(client: TestClient) -> None:
    curve = report_curve(plate(seed=22), label="=HYPERLINK(1)")
    tables = _zip(client, {"title": "session", "curves": [curve]})
    assert tables["curves"][0]["label"] == "'=HYPERLINK(1)"
    assert "plates" not in tables
