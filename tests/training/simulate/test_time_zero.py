"""The simulator's time-zero read and its growth-rate truth (training.simulate.time_zero)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from app.screening.gr import gr_metrics, gr_values
from training.simulate import PRESETS, simulate_labels
from training.simulate.presets import PlateDesign
from training.simulate.time_zero import doublings, gr50_true_um, gr_true, time_zero_labels, with_time_zero

DESIGN = PlateDesign(
    concentrations_um=(0.0, 0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 100.0), plates=2
)


def test_the_end_read_is_the_same_with_or_without_a_time_zero_read():
    preset = PRESETS["A549"]
    plain = simulate_labels(preset, design=DESIGN, seed=3)
    both = with_time_zero(preset, design=DESIGN, seed=3)
    end = both[both["x_read_time_h"] > 0].reset_index(drop=True)
    pd.testing.assert_frame_equal(end[plain.columns], plain)
    assert (both["x_read_time_h"] == 0).sum() == len(plain)


def test_time_zero_wells_hold_the_cells_at_drug_addition_of_the_same_well():
    preset = PRESETS["HEK293"]
    end = simulate_labels(preset, design=DESIGN, seed=1)
    zero = time_zero_labels(preset, design=DESIGN, seed=1)
    assert list(zero["well"]) == list(end["well"])
    assert set(zero["plate"]) == {"HEK293-P1-t0", "HEK293-P2-t0"}
    # x0 = cells at drug · seeding and x(c) = control cells · seeding · v: their ratio is 2^k · v, exactly.
    ratio = end["x_cells_well"].to_numpy(float) / zero["x_cells_well"].to_numpy(float)
    expected = 2 ** doublings(preset) * end["viability_true"].to_numpy(float)
    np.testing.assert_allclose(ratio, expected, rtol=2e-3)  # x_cells_well is rounded to 0.1 cell
    assert zero["n_cells"].mean() < end.loc[end["concentration_um"] == 0, "n_cells"].mean() / 2
    assert (zero["x_stress"] == 0).all() and zero["synthetic"].all()


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_true_gr_values_are_what_the_gr_formula_gives_on_the_true_cell_counts(name: str):
    preset = PRESETS[name]
    both = with_time_zero(preset, design=DESIGN, seed=0)
    end, zero = both[both["x_read_time_h"] > 0], both[both["x_read_time_h"] == 0]
    x = end["x_cells_well"].to_numpy(float)
    x0 = zero["x_cells_well"].to_numpy(float)
    control = (end["viability_true"] == 1).to_numpy()
    # Per well, its own time zero and the mean control growth of its plate row: the seeding cancels.
    ctrl = np.array([x[control & (end["row"] == r).to_numpy()].mean() for r in end["row"]])
    ctrl0 = np.array([x0[control & (end["row"] == r).to_numpy()].mean() for r in end["row"]])
    gr = gr_values(x / x0, ctrl / ctrl0, np.ones_like(x))
    np.testing.assert_allclose(gr, end["x_gr_true"], atol=5e-3)


def test_the_gr50_fitted_on_true_gr_values_is_the_closed_form_truth():
    preset = PRESETS["A549"]
    end = with_time_zero(preset, design=DESIGN, seed=0).query("x_read_time_h > 0 and concentration_um > 0")
    for _, plate in end.groupby("plate"):
        metrics = gr_metrics(plate["concentration_um"], plate["x_gr_true"])
        truth = float(plate["x_gr50_true_um"].iloc[0])
        # 2·v^(1/k) − 1 of a Hill v is close to, not exactly, the GR sigmoid: 2 % here, 5 % allowed.
        assert metrics.gr50.value_um == pytest.approx(truth, rel=0.05)
        gr_inf = float(gr_true(preset.growth.bottom, k=doublings(preset)))
        assert metrics.gr_inf == pytest.approx(gr_inf, abs=0.02)


def test_gr50_is_not_reached_when_the_cells_cannot_fall_to_half_growth():
    preset = PRESETS["A549"]
    k = doublings(preset)
    assert gr50_true_um(preset, ic50_um=1.0) == pytest.approx(
        ((1 - preset.growth.bottom) / (0.75**k - preset.growth.bottom) - 1) ** (1 / preset.growth.hill)
    )
    from dataclasses import replace

    resistant = replace(preset, growth=replace(preset.growth, bottom=0.9))
    assert gr50_true_um(resistant, ic50_um=1.0) is None
    assert math.isclose(float(gr_true(1.0, k=k)), 1.0)
