"""Model inputs and predictions of whole, un-augmented images: exactly what the browser computes.

:func:`load_inputs` decodes and area-resizes image files (:func:`training.preprocess.preprocess`);
:func:`predict_inputs` runs a trained model on them and returns both outputs of the exported model, the
predicted OD450 and the pooled backbone features.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from training.model import export_model
from training.preprocess import preprocess

__all__ = ["load_inputs", "predict_inputs"]


def load_inputs(paths: Sequence[str | Path], size: int, *, workers: int = 2) -> np.ndarray:
    """Whole images preprocessed as the browser does: ``(n, size, size, 3)`` float32 0–255."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return np.stack(list(pool.map(lambda p: preprocess(p, size), paths)))


def predict_inputs(model: Any, inputs: np.ndarray, *, batch: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Predicted OD450 ``(n,)`` and pooled backbone features ``(n, F)`` of preprocessed images.

    Parameters
    ----------
    model : tf_keras.Model
        A trained model (raw 0–255 input, OD450 output) or its two-output export model.
    inputs : ndarray, shape (n, S, S, 3)
        From :func:`load_inputs`.
    batch : int
        Images per forward pass.
    """
    two = export_model(model)
    od, feats = [], []
    for start in range(0, len(inputs), batch):
        o, f = two.predict_on_batch(inputs[start : start + batch])
        od.append(np.asarray(o)[:, 0])
        feats.append(np.asarray(f))
    return np.concatenate(od).astype(np.float32), np.concatenate(feats).astype(np.float32)
