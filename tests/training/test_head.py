"""The head's training loop: seeded and independent of the global random state, early stopping with the
best weights kept, and it learns."""

from __future__ import annotations

import numpy as np
import pytest

from training.head import HeadFit, fit_head
from training.train import TrainOptions, seed_everything, train_head


@pytest.fixture(scope="module")
def problem() -> tuple[np.ndarray, ...]:
    """OD450 as a noisy linear function of 8 non-negative 'features' (like pooled ReLU outputs)."""
    rng = np.random.default_rng(0)
    weights = rng.uniform(0.0, 0.5, 8)
    x = rng.uniform(0.0, 1.0, (160, 8)).astype(np.float32)
    y = (x @ weights + rng.normal(0.0, 0.02, 160)).astype(np.float32)
    return x[:128], y[:128], x[128:], y[128:]


SETTINGS = HeadFit(learning_rate=1e-2, batch_size=16, epochs=60, patience=8, units=10)


def _weights(head) -> list[np.ndarray]:
    return [w.copy() for w in head.get_weights()]


def test_same_seed_same_head_whatever_ran_before(problem):
    import tf_keras as keras

    x, y, xv, yv = problem
    seed_everything(0)
    first, history = fit_head(x, y, xv, yv, SETTINGS, (3,))
    seed_everything(0)
    keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(32, 32, 3))  # draws numbers
    second, again = fit_head(x, y, xv, yv, SETTINGS, (3,))
    for a, b in zip(_weights(first), _weights(second), strict=True):
        np.testing.assert_array_equal(a, b)
    assert history.equals(again)
    other, _ = fit_head(x, y, xv, yv, SETTINGS, (4,))
    assert not np.array_equal(_weights(other)[0], _weights(first)[0])


def test_early_stopping_keeps_the_best_validation_weights(problem):
    x, y, xv, yv = problem
    head, history = fit_head(x, y, xv, yv, SETTINGS, (0,))
    assert list(history.columns) == ["epoch", "loss", "val_loss"]
    best = int(history["val_loss"].idxmin())
    assert len(history) == SETTINGS.epochs or len(history) == best + 1 + SETTINGS.patience
    predicted = np.asarray(head.predict_on_batch(xv))[:, 0]
    assert np.mean((predicted - yv) ** 2) == pytest.approx(history["val_loss"].min(), rel=1e-4)


def test_the_head_learns_the_relation(problem):
    x, y, xv, yv = problem
    head, history = train_head(x, y, xv, yv, TrainOptions(learning_rate=1e-2, batch_size=16, epochs=150))
    predicted = np.asarray(head.predict_on_batch(xv))[:, 0]
    r2 = 1 - np.sum((predicted - yv) ** 2) / np.sum((yv - yv.mean()) ** 2)
    assert r2 > 0.9, r2
    assert history["loss"].iloc[-1] < history["loss"].iloc[0]


def test_without_validation_it_stops_on_the_training_loss(problem):
    x, y, _, _ = problem
    _, history = fit_head(x, y, None, None, SETTINGS, (0,))
    assert list(history.columns) == ["epoch", "loss"]
    assert history["loss"].min() < 0.1 * history["loss"].iloc[0]


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="learning_rate"):
        HeadFit(learning_rate=0.0, batch_size=16, epochs=10, patience=2, units=10)
