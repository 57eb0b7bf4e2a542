"""Plate QC: Z′, robust Z′ and SSMD by hand; edge effects on simulated plates (synthetic data)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from app.screening.qc import control_separation, edge_effect, plate_array

VEHICLE = [1.0, 1.1, 0.9, 1.0]
BLANK = [0.1, 0.12, 0.08, 0.1]


def test_z_prime_robust_z_prime_and_ssmd_by_hand():
    # vehicle: mean 1.0, SD √(0.02/3) = 0.0816497; median 1.0, MAD 0.05 → 1.4826 · 0.05 = 0.074130
    # blank:   mean 0.1, SD √(0.0008/3) = 0.0163299; median 0.1, MAD 0.01 → 0.014826
    # Z′ = 1 − 3 (0.0816497 + 0.0163299) / 0.9 = 0.673401
    # robust Z′ = 1 − 3 (0.074130 + 0.014826) / 0.9 = 0.703480
    # SSMD = 0.9 / √(0.0816497² + 0.0163299²) = 10.808650
    result = control_separation(VEHICLE, BLANK)
    sd_v, sd_b = math.sqrt(0.02 / 3), math.sqrt(0.0008 / 3)
    assert result.z_prime == pytest.approx(1 - 3 * (sd_v + sd_b) / 0.9) == pytest.approx(0.673401, abs=1e-6)
    assert (
        result.z_prime_robust
        == pytest.approx(1 - 3 * 1.4826 * 0.06 / 0.9)
        == pytest.approx(0.703480, abs=1e-6)
    )
    assert result.ssmd == pytest.approx(0.9 / math.hypot(sd_v, sd_b)) == pytest.approx(10.808650, abs=1e-6)
    assert result.quality == "excellent"
    assert result.warnings == ()
    json.dumps(result.to_dict(), allow_nan=False)


def test_noisy_controls_warn_in_plain_words():
    result = control_separation(VEHICLE, [0.1, 0.2, 0.0, 0.1])  # Z′ = 1 − 3 (0.0816 + 0.0816) / 0.9 = 0.456
    assert result.z_prime == pytest.approx(1 - 6 * math.sqrt(0.02 / 3) / 0.9)
    assert result.quality == "marginal"
    assert any("less reliable" in w for w in result.warnings)


def test_overlapping_controls_fail():
    result = control_separation([1.0, 0.6, 1.4, 0.9], [0.5, 0.9, 0.2, 0.6])
    assert result.z_prime < 0
    assert result.quality == "failed"
    assert any("cannot tell live from dead cells" in w for w in result.warnings)
    assert any("SSMD" in w for w in result.warnings)


def test_one_aberrant_control_well_shows_in_robust_z_prime():
    result = control_separation([1.0, 1.02, 0.98, 1.01, 0.99, 0.2], [0.1, 0.11, 0.09, 0.1, 0.1, 0.1])
    assert result.z_prime < 0.5 < result.z_prime_robust
    assert any("far from the others" in w for w in result.warnings)


def test_swapped_controls_are_named():
    result = control_separation(BLANK, VEHICLE)
    assert result.ssmd < 0
    assert any("swapped" in w for w in result.warnings)


def test_control_separation_needs_two_wells_per_group():
    with pytest.raises(ValueError, match="blank needs at least 2 wells"):
        control_separation(VEHICLE, [0.1])


def _plate(rng: np.random.Generator, edge_factor: float) -> np.ndarray:
    plate = rng.normal(1.0, 0.03, (8, 12))
    plate[[0, -1], :] *= edge_factor
    plate[1:-1, [0, -1]] *= edge_factor
    return plate


def test_edge_effect_is_flagged_on_a_plate_with_a_dim_outer_ring():
    result = edge_effect(_plate(np.random.default_rng(0), 0.8))  # synthetic: outer ring 20 % lower
    assert (result.n_outer, result.n_inner) == (36, 60)
    assert result.ratio == pytest.approx(0.8, abs=0.02)
    assert result.flagged and result.p_welch < 1e-10 and result.p_mann_whitney < 1e-10
    assert "20% lower" in result.warnings[0]


def test_uniform_plate_is_not_flagged():
    result = edge_effect(_plate(np.random.default_rng(1), 1.0))
    assert result.ratio == pytest.approx(1.0, abs=0.02)
    assert not result.flagged and result.warnings == ()


def test_edge_effect_on_masked_wells_of_a_384_well_plate():
    plate = _plate(np.random.default_rng(2), 1.0).repeat(2, axis=0).repeat(2, axis=1)
    plate[0, :] = 0.5  # top row dim
    mask = np.zeros((16, 24), dtype=bool)
    mask[:, :2] = True  # compare only the first two columns (e.g. the vehicle wells)
    result = edge_effect(plate, mask=mask)
    assert result.n_outer + result.n_inner == 32
    with pytest.raises(ValueError, match=r"plate must have shape \(8, 12\) or \(16, 24\)"):
        edge_effect(np.ones((8, 8)))


def test_plate_array_places_wells():
    grid = plate_array(["A1", "h12", "B3"], [1.0, 2.0, 3.0])
    assert grid.shape == (8, 12)
    assert (grid[0, 0], grid[7, 11], grid[1, 2]) == (1.0, 2.0, 3.0)
    assert np.isnan(grid).sum() == 93
    assert plate_array(["P24"], [5.0], plate_size=384)[15, 23] == 5.0
    with pytest.raises(ValueError, match=r"wells\[0\] is not a well of a 96-well plate; got 'I1'"):
        plate_array(["I1"], [1.0])
    with pytest.raises(ValueError, match="given twice"):
        plate_array(["A1", "a1"], [1.0, 2.0])
