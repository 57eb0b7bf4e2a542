"""Fit the Dense(10) → Dense(1) head on cached feature vectors: Adam on the mean squared error of OD450,
mini-batches, early stopping on validation series, best weights kept.

The same recipe as Keras' ``model.fit`` with an ``EarlyStopping(restore_best_weights=True)`` callback,
written as one compiled epoch (a ``tf.function`` looping over the mini-batches) called once per epoch:
``fit`` spends ~70 ms per epoch on per-step and per-epoch bookkeeping for a model this small, the loop
below ~5 ms, so a head trains in about a second instead of half a minute.

Randomness is explicit and local, and the page's: the initial weights (Glorot uniform, zero biases) and
every epoch's mini-batch order come from :func:`training.stream.head_stream` of the seed, the stream the
page's trainer (static/js/train/head.js) draws them from. So the result depends on the features, the
options and the seed only — not on what else ran in the process before, nor on the global seeds — and the
page trains the same head from the same features. TensorFlow's deterministic ops
(:func:`training.train.seed_everything`) make it repeat bit for bit on one machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from training.model import build_head, quiet_tensorflow
from training.stream import batch_order, glorot_uniform, head_stream

__all__ = ["HeadFit", "fit_head"]


@dataclass(frozen=True)
class HeadFit:
    """Optimiser and stopping settings of :func:`fit_head` (defaults in :mod:`training.config`)."""

    learning_rate: float
    batch_size: int
    epochs: int
    patience: int
    units: int

    def __post_init__(self) -> None:
        if self.learning_rate <= 0 or min(self.batch_size, self.epochs, self.patience, self.units) < 1:
            raise ValueError(f"learning_rate must be > 0 and the counts >= 1; got {self}")


def _epoch_function(head: Any, optimizer: Any, x: Any, y: Any, x_val: Any, y_val: Any, batch: int) -> Any:
    """A compiled function: one pass over the training rows in the given order, then the losses."""
    import tensorflow as tf  # lazy: TensorFlow takes seconds to import

    n = int(x.shape[0])

    @tf.function
    def epoch(order: Any) -> tuple[Any, Any]:
        total = tf.constant(0.0)
        for start in tf.range(0, n, batch):
            rows = order[start : start + batch]
            xb, yb = tf.gather(x, rows), tf.gather(y, rows)
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(head(xb, training=True) - yb))
            grads = tape.gradient(loss, head.trainable_variables)
            optimizer.apply_gradients(zip(grads, head.trainable_variables, strict=True))
            total += loss * tf.cast(tf.shape(rows)[0], tf.float32)
        if x_val is None:
            return total / n, tf.constant(np.nan, tf.float32)
        return total / n, tf.reduce_mean(tf.square(head(x_val, training=False) - y_val))

    return epoch


def fit_head(
    train_x: np.ndarray,
    train_y: np.ndarray,
    val_x: np.ndarray | None,
    val_y: np.ndarray | None,
    settings: HeadFit,
    seed: Sequence[int],
) -> tuple[Any, pd.DataFrame]:
    """Train a new head on feature vectors, stopping early; returns it with the best weights restored.

    Parameters
    ----------
    train_x : ndarray, shape (n, F)
        Pooled backbone features.
    train_y : ndarray, shape (n,)
        OD450.
    val_x, val_y : ndarray, shapes (m, F), (m,), or None
        Validation features and OD450 for early stopping; None (or m = 0): stop on the training loss.
    settings : HeadFit
    seed : sequence of int
        Seeds the head's stream (:func:`training.stream.head_stream`): its initial weights and every
        epoch's mini-batch order. ``(seed,)`` for a model, ``(seed, fold)`` for a cross-validation fold.

    Returns
    -------
    (keras.Model, DataFrame)
        The head ``(N, F) → (N, 1)`` and the history: ``epoch``, ``loss``, and ``val_loss`` with
        validation data (mean squared errors, OD450²), one row per epoch run.
    """
    quiet_tensorflow()
    import tensorflow as tf
    import tf_keras as keras

    if len(train_x) != len(train_y) or len(train_x) < 1:
        raise ValueError(
            f"train_x and train_y must have the same n >= 1 rows; got {len(train_x)}, {len(train_y)}"
        )
    has_val = val_x is not None and val_y is not None and len(val_x) > 0
    stream = head_stream(*seed)
    n_features = int(train_x.shape[1])
    head = build_head(n_features, units=settings.units)
    head.set_weights(
        [
            glorot_uniform(stream, n_features, settings.units),
            np.zeros(settings.units, np.float32),
            glorot_uniform(stream, settings.units, 1),
            np.zeros(1, np.float32),
        ]
    )
    optimizer = keras.optimizers.Adam(settings.learning_rate)
    x = tf.constant(train_x, tf.float32)
    y = tf.constant(np.reshape(train_y, (-1, 1)), tf.float32)
    x_val = y_val = None
    if has_val:
        x_val = tf.constant(val_x, tf.float32)
        y_val = tf.constant(np.reshape(np.asarray(val_y), (-1, 1)), tf.float32)
    epoch = _epoch_function(head, optimizer, x, y, x_val, y_val, settings.batch_size)
    rows: list[dict[str, float]] = []
    best, best_weights, waited = np.inf, head.get_weights(), 0
    for index in range(settings.epochs):
        order = tf.constant(batch_order(stream, len(train_x)).astype(np.int32))
        loss, val_loss = (float(v) for v in epoch(order))
        rows.append({"epoch": index, "loss": loss, **({"val_loss": val_loss} if has_val else {})})
        monitored = val_loss if has_val else loss
        if monitored < best:
            best, best_weights, waited = monitored, head.get_weights(), 0
        else:
            waited += 1
            if waited >= settings.patience:
                break
    head.set_weights(best_weights)
    return head, pd.DataFrame(rows)
