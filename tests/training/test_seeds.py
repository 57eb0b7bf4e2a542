"""Figures over training seeds: read per seed, summarised as mean ± SD, and the median seed picked."""

from __future__ import annotations

import pytest

from training.report import markdown_report
from training.seeds import median_seed, seed_figures, summarise_seeds


def _evaluation(r2_auto: float, r2_allo: float, error: float) -> dict:
    t2 = {"log10_error_median": error, "paired_t_p": 0.3, "unpaired_t_p": 0.5, "ic50_measured_mean_um": 0.4,
          "ic50_predicted_mean_um": 0.41}  # fmt: skip
    auto = {"model": "A549-M", "model_cell_lines": ["A549"], "cell_line": "A549", "autologous": True,
            "table1": {"r2": r2_auto, "slope": 0.98, "intercept": 0.01, "mean_difference": 0.0},
            "table2": t2}  # fmt: skip
    allo = {**auto, "cell_line": "HEK293", "autologous": False, "table1": {"r2": r2_allo}}
    return {"evaluations": [auto, allo]}


def test_a_seeds_figures_are_read_by_the_models_cell_line():
    cv = [{"cell_lines": ["A549"], "r2_mean": 0.93, "r2_pooled": 0.94}]
    figures = seed_figures(_evaluation(0.95, 0.4, 0.08), cv)
    assert figures["autologous"]["A549"]["r2"] == 0.95
    assert figures["autologous"]["A549"]["ic50_log10_error_median"] == 0.08
    assert figures["autologous"]["A549"]["cv_r2_mean"] == 0.93
    assert figures["autologous"]["A549"]["log10_error_predicted_vs_true_median"] is None  # not in the table
    assert figures["r2"] == {"A549|A549": 0.95, "HEK293|A549": 0.4}


def test_summary_gives_mean_and_sample_sd_in_seed_order():
    per_seed = {
        s: seed_figures(_evaluation(r2, 0.3 + s / 10, 0.1)) for s, r2 in [(1, 0.92), (0, 0.94), (2, 0.96)]
    }
    summary = summarise_seeds(per_seed)
    r2 = summary["autologous"]["A549"]["r2"]
    assert summary["seeds"] == [0, 1, 2] and r2["values"] == [0.94, 0.92, 0.96]
    assert r2["mean"] == pytest.approx(0.94) and r2["sd"] == pytest.approx(0.02)
    assert (r2["min"], r2["max"], r2["n"]) == (0.92, 0.96, 3)
    assert summary["r2"]["HEK293|A549"]["mean"] == pytest.approx(0.4)
    assert summary["autologous"]["A549"]["cv_r2_mean"]["mean"] is None  # no CV given: missing, not 0


def test_median_seed_is_the_middle_value_not_the_best():
    assert median_seed({0: 0.91, 1: 0.95, 2: 0.93, 3: 0.97, 4: 0.92}) == 2
    assert median_seed({0: 0.9, 1: 0.8, 2: 0.95, 3: 0.85}) == 3  # even count: the lower middle (0.85)
    assert median_seed({0: 0.9, 1: None, 2: 0.95}) == 0  # a missing value counts as lowest
    assert median_seed({3: 0.9, 1: 0.9, 2: 0.9}) == 2  # ties: by seed
    with pytest.raises(ValueError, match="at least one"):
        median_seed({})


def test_the_report_shows_the_seed_noise_table():
    per_seed = {s: seed_figures(_evaluation(0.9 + s / 100, 0.3, 0.1)) for s in range(5)}
    seeds = {**summarise_seeds(per_seed), "shipped": {"A549": 2}, "rule": "the seed of median r²"}
    text = markdown_report({"created": "now", "evaluations": [], "seeds": seeds})
    assert "Noise over 5 training seeds" in text
    assert "| A549 | 0.92 ± 0.016 | 0.98 ± 0 | 0.1 ± 0 |" in text and "| — | 2 |" in text
    assert "| HEK293 | 0.3 ± 0 |" in text
