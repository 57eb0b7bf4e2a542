"""POST /api/evaluate: the numbers python -m training evaluate reports, and readable refusals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from app.config import Settings, get_settings
from app.main import app
from training.tables import score_predictions

CONC_UM = [0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]


@pytest.fixture
def client() -> Iterator[TestClient]:
    settings = Settings(max_curves=50, max_wells_per_report=500)
    app.dependency_overrides[get_settings] = lambda: settings
    try:
        yield TestClient(app)
    finally:
        app.dependency_overrides.clear()


def _test_set(n_series: int = 6, *, seed: int = 0) -> pd.DataFrame:
    """Images of ``n_series`` dose series: a measured Hill curve (IC50 near 1 µM) and a noisy prediction."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_series):
        ic50 = 10 ** rng.normal(0, 0.2)
        for conc in CONC_UM:
            measured = 0.1 + 1.4 / (1 + (conc / ic50) ** 1.2) + rng.normal(0, 0.03)
            rows.append({"series": f"P1-S{s}", "concentration_um": conc, "od450": measured,
                         "predicted": measured + rng.normal(0, 0.08)})  # fmt: skip
    return pd.DataFrame(rows)


def _body(frame: pd.DataFrame) -> dict[str, Any]:
    return {
        "images": [
            {
                "series": r.series,
                "concentration_um": r.concentration_um,
                "measured_od450": r.od450,
                "predicted_od450": r.predicted,
            }
            for r in frame.itertuples()
        ]
    }


def test_evaluation_equals_the_training_package_on_the_same_numbers(client: TestClient) -> None:
    frame = _test_set()
    r = client.post("/api/evaluate", json=_body(frame.sample(frac=1, random_state=1)))  # order is free
    assert r.status_code == 200, r.text
    got = r.json()
    want = score_predictions(frame).to_dict()
    for key in ("n_images", "r2", "slope", "intercept", "mean_difference", "sd_difference"):
        assert got["od450"][key] == pytest.approx(want["table1"][key], rel=1e-12), key
    want_series = want["table2"]["per_series"]
    assert [s["series"] for s in got["series"]] == [s["series"] for s in want_series]
    for mine, theirs in zip(got["series"], want_series, strict=True):
        assert mine["status_measured"] == theirs["status_measured"] == "ok"
        assert mine["ic50_measured_um"] == pytest.approx(theirs["ic50_measured_um"], rel=1e-6)
        assert mine["ic50_predicted_um"] == pytest.approx(theirs["ic50_predicted_um"], rel=1e-6)
    summary = want["table2"]
    assert got["ic50"]["n_series_with_both_ic50"] == summary["n_series_with_both_ic50"] == 6
    assert got["ic50"]["paired_t"]["p_value"] == pytest.approx(summary["paired_t_p"], rel=1e-6)
    assert got["ic50"]["paired_t"]["df"] == 5
    assert got["ic50"]["log10_error_median"] == pytest.approx(summary["log10_error_median"], rel=1e-6)
    assert 0.8 < got["od450"]["r2"] < 1  # a real agreement, not a degenerate one


def test_one_series_has_no_paired_test(client: TestClient) -> None:
    body = client.post("/api/evaluate", json=_body(_test_set(1))).json()
    assert body["ic50"]["n_series"] == 1 and body["ic50"]["paired_t"] is None
    assert body["series"][0]["log10_error"] is not None


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        (lambda b: b["images"][:2], 422, "at least 3 images"),
        (lambda b: [{**i, "measured_od450": 0.7} for i in b["images"]], 422, "every measured OD450 is 0.7"),
        (lambda b: [{**b["images"][0], "series": ""}, *b["images"][1:]], 422, "series"),
        (lambda b: [{**b["images"][0], "concentration_um": -1}, *b["images"][1:]], 422, "concentration"),
        (lambda b: [{**b["images"][0], "predicted_od450": "high"}, *b["images"][1:]], 422, "number"),
        (lambda b: [{**b["images"][0], "image": "…"}, *b["images"][1:]], 422, "image"),
        (lambda b: b["images"] * 9, 413, "limit is 500"),
    ],
)
def test_bad_input_is_refused_with_a_reason(
    client: TestClient, change: Any, status: int, message: str
) -> None:
    body = _body(_test_set())
    r = client.post("/api/evaluate", json={"images": change(body)})
    assert r.status_code == status, r.text
    assert message in r.json()["detail"]
