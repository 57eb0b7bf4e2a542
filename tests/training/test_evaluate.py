"""The paper's tables computed from predictions (no TensorFlow here)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from app.doseresponse import hill
from training.evaluate import held_out_series
from training.report import markdown_report
from training.tables import allogenic_matrix, evaluate_predictions, table1, table2

CONC = np.array([0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 100])


def series_frame(ic50s_measured, ic50s_predicted, *, truth=None) -> pd.DataFrame:
    rows = []
    for k, (im, ip) in enumerate(zip(ic50s_measured, ic50s_predicted, strict=True)):
        measured = hill(CONC, 1.6, 0.15, 1.2, im)
        predicted = hill(CONC, 1.6, 0.15, 1.2, ip)
        for c, m, p in zip(CONC, measured, predicted, strict=True):
            rows.append(
                {"series": f"S{k}", "concentration_um": c, "od450": m, "predicted": p, "ic50_true_um": truth}
            )
    return pd.DataFrame(rows)


def test_table1_of_perfect_predictions():
    measured = np.linspace(0.1, 1.9, 20)
    t = table1(measured, measured.copy())
    assert t["r2"] == pytest.approx(1.0)
    assert t["slope"] == pytest.approx(1.0) and t["intercept"] == pytest.approx(0.0, abs=1e-12)
    assert t["mean_difference"] == pytest.approx(0.0, abs=1e-12) and t["n_images"] == 20


def test_table1_regression_is_predicted_on_measured():
    measured = np.linspace(0.1, 1.9, 20)
    t = table1(measured, 0.5 * measured + 0.2)
    assert t["slope"] == pytest.approx(0.5) and t["intercept"] == pytest.approx(0.2)
    assert t["mean_difference"] == pytest.approx(np.mean(-0.5 * measured + 0.2))


def test_table1_rejects_mismatched_arrays():
    with pytest.raises(ValueError, match="measured and predicted"):
        table1(np.ones(5), np.ones(4))


def test_table2_recovers_ic50s_and_their_log_error():
    frame = series_frame([0.3, 0.4, 0.5], [0.6, 0.8, 1.0], truth=0.4)
    summary, per_series, curves = table2(frame)
    assert [r["ic50_measured_um"] for r in per_series] == pytest.approx([0.3, 0.4, 0.5], rel=1e-4)
    assert [r["ic50_predicted_um"] for r in per_series] == pytest.approx([0.6, 0.8, 1.0], rel=1e-4)
    assert summary["n_series_with_both_ic50"] == 3
    assert summary["ic50_measured_mean_um"] == pytest.approx(0.4, rel=1e-4)
    assert summary["ic50_measured_sd_um"] == pytest.approx(0.1, rel=1e-3)
    assert summary["log10_error_median"] == pytest.approx(math.log10(2), abs=1e-4)
    assert summary["paired_t_p"] < 0.05  # predicted IC50s are consistently twice the measured ones
    assert summary["log10_error_measured_vs_true_median"] == pytest.approx(math.log10(1.25), abs=1e-3)
    assert summary["log10_error_predicted_vs_true_median"] == pytest.approx(math.log10(2), abs=1e-3)
    assert len(curves) == 3 and curves[0]["fit_measured"].ic50_um == pytest.approx(0.3, rel=1e-4)


def test_table2_counts_flat_series_without_inventing_an_ic50():
    frame = series_frame([0.3, 0.4], [0.3, 0.4])
    flat = frame["series"] == "S1"
    frame.loc[flat, "predicted"] = 1.2 + 0.01 * np.sin(np.arange(flat.sum()))
    summary, per_series, _ = table2(frame)
    assert per_series[1]["ic50_predicted_um"] is None and per_series[1]["status_predicted"] == "no_effect"
    assert summary["n_series_with_both_ic50"] == 1 and summary["paired_t_p"] is None


def test_evaluate_predictions_combines_both_tables():
    result = evaluate_predictions(series_frame([0.3, 0.4, 0.5], [0.3, 0.4, 0.5]))
    assert result["table1"]["r2"] == pytest.approx(1.0) and result["table1"]["n_series"] == 3
    assert result["table2"]["log10_error_median"] == pytest.approx(0.0, abs=1e-6)


def _entry(model, line, r2):
    return {
        "model": model,
        "cell_line": line,
        "table1": {"r2": r2},
        "table2": {"ic50_predicted_mean_um": 1.0},
    }


def test_allogenic_matrix_rows_are_data_and_columns_are_models():
    entries = [_entry("A549-M", "A549", 0.95), _entry("H-M", "A549", 0.7), _entry("A549-M", "HEK293", 0.8)]
    matrix = allogenic_matrix(entries)
    assert matrix["models"] == ["A549-M", "H-M"] and matrix["cell_lines"] == ["A549", "HEK293"]
    assert matrix["r2"] == [[0.95, 0.7], [0.8, None]]


def _config(train, val, test, seed=0):
    return {"split": {"train": train, "val": val, "test": test}, "options": {"n_test": 1, "seed": seed}}


def test_test_series_come_from_the_run_that_held_them_out():
    rows = pd.DataFrame({"series": ["h1", "h2", "h3"], "cell_line": "HEK293", "plate": "p"})
    a549_run = _config(["a1", "a2"], ["a3"], ["a4"])
    hek_run = _config(["h1"], ["h2"], ["h3"])
    assert held_out_series(rows, a549_run, [hek_run]) == ["h3"]


def test_a_series_the_model_trained_on_is_never_a_test_series():
    rows = pd.DataFrame({"series": ["h1", "h2", "h3"], "cell_line": "HEK293", "plate": "p"})
    leaky = _config(["h3"], ["h2"], [])
    other = _config(["h1"], ["h2"], ["h3"])
    with pytest.raises(ValueError, match="used to train"):
        held_out_series(rows, leaky, [other])


def test_markdown_report_flags_synthetic_data_and_shows_the_numbers():
    result = evaluate_predictions(series_frame([0.3, 0.4, 0.5], [0.35, 0.45, 0.5]))
    entry = {"model": "A549-M", "cell_line": "A549", "autologous": True, "synthetic": True, **result}
    text = markdown_report({"created": "now", "evaluations": [entry], "allogenic": allogenic_matrix([entry])})
    assert "synthetic" in text and "| A549 | A549-M |" in text
    assert f"{result['table1']['r2']:.4g}" in text
