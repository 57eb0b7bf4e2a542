"""The engine's building blocks: replicates collapsed into weighted columns, and the LM step."""

from __future__ import annotations

import numpy as np
import pytest

from app.doseresponse.objective import lm_step, residual_sum_of_squares
from app.doseresponse.rows import row_all, row_any, row_max
from app.doseresponse.stack import collapse_replicates, pack_curves


def _unbalanced_curves(seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    levels = np.array([0.0, 0.01, 0.1, 1.0, 10.0, 100.0])
    curves = []
    for _ in range(5):
        x = rng.permutation(np.repeat(levels, rng.integers(1, 5, levels.size)))  # shuffled, unbalanced
        curves.append((x, rng.normal(1.0, 0.3, x.size)))
    return curves


def test_collapsed_columns_are_the_means_counts_and_spread_of_the_wells() -> None:
    curves = _unbalanced_curves(1)
    stack = collapse_replicates(pack_curves(curves, [None] * 5, [None] * 5))
    for i, (x, y) in enumerate(curves):
        levels, counts = np.unique(x, return_counts=True)
        k = levels.size
        assert stack.x[i, :k].tolist() == levels.tolist()
        assert stack.weight[i, :k].tolist() == counts.tolist() and not stack.weight[i, k:].any()
        means = np.array([y[x == level].mean() for level in levels])
        assert stack.y[i, :k] == pytest.approx(means, rel=1e-14)
        spread = sum(((y[x == level] - m) ** 2).sum() for level, m in zip(levels, means, strict=True))
        assert stack.within[i] == pytest.approx(spread, rel=1e-12)
        assert (stack.y_low[i], stack.y_high[i]) == (y.min(), y.max())


def test_the_rss_of_the_columns_is_the_rss_of_the_wells() -> None:
    curves = _unbalanced_curves(2)
    wells = pack_curves(curves, [None] * 5, [None] * 5)
    theta = np.column_stack([np.full(5, 1.3), np.full(5, 0.2), np.linspace(-2, 2, 5), np.linspace(-3, 3, 5)])
    assert residual_sum_of_squares(collapse_replicates(wells), theta) == pytest.approx(
        residual_sum_of_squares(wells, theta), rel=1e-12
    )


@pytest.mark.parametrize("k", [2, 4])
def test_lm_step_solves_the_damped_system_and_takes_the_undamped_one_at_the_minimum(k: int) -> None:
    rng = np.random.default_rng(k)
    n = 200
    J = rng.normal(size=(n, k, 12)) * rng.uniform(0.1, 10.0, size=(n, k, 1))
    A = J @ J.transpose(0, 2, 1)
    params = rng.normal(size=(n, k))
    gauss_newton = rng.normal(size=(n, k)) * 10.0 ** rng.uniform(-9, 0, size=(n, 1))  # some below xtol
    g = -(A @ gauss_newton[..., None])[..., 0]
    lam = 10.0 ** rng.uniform(-6, 1, n)
    step, converged = lm_step(A, g, lam, np.ones((n, k), dtype=bool), params, 1e-5)
    scale = np.sqrt(np.einsum("nii->ni", A))
    damped = np.linalg.solve(A + lam[:, None, None] * (scale[:, :, None] ** 2 * np.eye(k)), -g[..., None])
    expect_converged = np.max(np.abs(gauss_newton) / (np.abs(params) + 1.0), axis=1) <= 1e-5
    assert converged.tolist() == expect_converged.tolist()
    assert 0 < converged.sum() < n
    assert step[converged] == pytest.approx(gauss_newton[converged], rel=1e-6, abs=1e-15)
    assert step[~converged] == pytest.approx(damped[~converged, :, 0], rel=1e-8)


def test_lm_step_leaves_fixed_parameters_alone_and_flags_degenerate_systems() -> None:
    A = np.array([[[4.0, 1.0, 0.0], [1.0, 3.0, 0.0], [0.0, 0.0, 0.0]]] * 2)
    g = np.array([[1.0, 2.0, 0.0]] * 2)
    free = np.array([[True, True, False], [True, True, True]])  # the second: a free parameter without effect
    step, converged = lm_step(A, g, np.full(2, 1e-3), free, np.zeros((2, 3)), 1e-5)
    assert step[0, 2] == 0.0 and np.all(np.isfinite(step[0]))
    assert np.all(np.isnan(step[1])) and not converged[1]


@pytest.mark.parametrize("k", [1, 2, 4])
def test_the_row_reductions_equal_numpys_nan_and_signs_included(k: int) -> None:
    rng = np.random.default_rng(k)
    a = rng.normal(size=(500, k)) * 10.0 ** rng.integers(-300, 300, size=(500, k))
    a[rng.random(a.shape) < 0.05] = np.nan
    a[rng.random(a.shape) < 0.05] = np.inf
    a[rng.random(a.shape) < 0.05] = -np.inf
    np.testing.assert_array_equal(row_max(a), np.max(a, axis=1))
    flags = rng.random((500, k)) < 0.5
    np.testing.assert_array_equal(row_any(flags), np.any(flags, axis=1))
    np.testing.assert_array_equal(row_all(flags), np.all(flags, axis=1))
    for reduced in (row_max(a), row_any(flags), row_all(flags)):
        assert reduced.shape == (500,)
        assert not np.shares_memory(reduced, a) and not np.shares_memory(reduced, flags)
