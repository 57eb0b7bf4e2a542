"""The paper comparison judges the targets from the evaluation JSON and says by how much a miss is."""

from training.paper import comparison_markdown


def _evaluation(r2: float, log10_error: float, paired_p: float) -> dict:
    t2 = {"log10_error_median": log10_error, "paired_t_p": paired_p, "ic50_measured_mean_um": 0.4,
          "ic50_measured_sd_um": 0.05, "ic50_predicted_mean_um": 0.45, "ic50_predicted_sd_um": 0.06,
          "ic50_true_mean_um": 0.42}  # fmt: skip
    auto = {"model": "A549-M", "model_cell_lines": ["A549"], "cell_line": "A549", "autologous": True,
            "table1": {"r2": r2}, "table2": t2}  # fmt: skip
    allo = {**auto, "cell_line": "HEK293", "autologous": False, "table1": {"r2": 0.31}}
    cv = {"cell_lines": ["A549"], "r2_mean": 0.93, "r2_sd": 0.02}
    return {"evaluations": [auto, allo], "cv": [cv]}


def test_met_targets_say_met_with_paper_values_beside() -> None:
    text = comparison_markdown(_evaluation(0.96, 0.05, 0.4))
    row = next(line for line in text.splitlines() if line.startswith("| A549 | 0.96"))
    assert row.count("| met |") == 2
    assert "0.9513" in row and "no significant difference" in row
    assert "| HEK293 | 0.31 (0.8634) |" in text
    assert "| A549 | 0.93 ± 0.02 | 0.9237 |" in text


def test_missed_targets_say_by_how_much() -> None:
    text = comparison_markdown(_evaluation(0.90, 0.25, 0.01))
    assert "**missed** (by 0.050)" in text and "**missed** (by 0.150)" in text
    assert "0.01 (significant)" in text


def test_with_seeds_the_targets_are_judged_on_the_mean_over_seeds() -> None:
    evaluation = _evaluation(0.96, 0.05, 0.4)  # the shipped model alone would meet every target

    def stats(mean: float, sd: float) -> dict:
        return {"mean": mean, "sd": sd, "min": mean - sd, "max": mean + sd, "n": 5, "values": []}

    figures = {"r2": stats(0.94, 0.012), "ic50_log10_error_median": stats(0.12, 0.03),
               "paired_t_p": stats(0.2, 0.1), "cv_r2_mean": stats(0.91, 0.01)}  # fmt: skip
    evaluation["seeds"] = {
        "seeds": [0, 1, 2, 3, 4],
        "autologous": {"A549": figures},
        "r2": {"A549|A549": stats(0.94, 0.012), "HEK293|A549": stats(0.3, 0.05)},
    }
    text = comparison_markdown(evaluation)
    row = next(line for line in text.splitlines() if line.startswith("| A549 | 0.94 ± 0.012"))
    assert "**missed** (by 0.010)" in row and "**missed** (by 0.020)" in row
    assert "0.2 ± 0.1 (no significant difference)" in row
    assert "mean ± SD over 5 training seeds" in text
    assert "| HEK293 | 0.3 ± 0.05 (0.8634) |" in text
    assert "| A549 | 0.91 ± 0.01 | 0.9237 |" in text
