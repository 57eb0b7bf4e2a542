"""Occlusion attribution maps: which parts of a well image drive its predicted OD450.

The page shows the same maps (``static/js/attribution.js`` + ``worker.js``): the model input ``(S, S, 3)`` is
split into ``grid × grid`` cells (cell ``i`` spans ``floor(i·S/grid)`` to ``floor((i+1)·S/grid)``); each cell
in turn is covered by a patch of the image's per-channel mean colour and the image is scored again. The map
holds the drop in predicted OD450, ``OD450(image) − OD450(image with the cell covered)``: positive where the
region pushes the prediction up. (The paper shows XRAI saliency; occlusion needs no gradients, so the
browser can compute it with the exported graph model.)

TensorFlow is imported only inside :func:`keras_predictor`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from training.preprocess import preprocess

__all__ = ["attribution_figure", "cell_edges", "keras_predictor", "occlusion_map"]

Predictor = Callable[[np.ndarray], np.ndarray]


def cell_edges(size: int, grid: int) -> np.ndarray:
    """Edges of the grid cells along one side, ``floor(i · size / grid)`` for i = 0…grid (px)."""
    if not isinstance(grid, int) or not 1 <= grid <= size:
        raise ValueError(f"grid must be an integer from 1 to {size}; got {grid!r}")
    return (np.arange(grid + 1) * size) // grid


def occlusion_map(predict: Predictor, image: np.ndarray, *, grid: int = 8, batch: int = 16) -> np.ndarray:
    """The occlusion map of one model input.

    Parameters
    ----------
    predict : callable
        ``(N, S, S, 3)`` float32 0–255 → predicted OD450, shape ``(N,)`` or ``(N, 1)``
        (e.g. :func:`keras_predictor`).
    image : ndarray, shape (S, S, 3)
        The model input (``training.preprocess.preprocess``), 0–255.
    grid : int
        Cells per side (8 → 64 occluded copies).
    batch : int
        Occluded copies scored per call.

    Returns
    -------
    ndarray, shape (grid, grid), float64
        Drop in predicted OD450 when the cell is covered (OD450 units).
    """
    x = np.asarray(image, dtype=np.float32)
    if x.ndim != 3 or x.shape[2] != 3 or x.shape[0] != x.shape[1]:
        raise ValueError(f"image must have shape (S, S, 3); got {x.shape}")
    if batch < 1:
        raise ValueError(f"batch must be >= 1; got {batch}")
    size = x.shape[0]
    edges = cell_edges(size, grid)
    fill = x.reshape(-1, 3).astype(np.float64).mean(axis=0).astype(np.float32)
    base = float(np.ravel(predict(x[None]))[0])
    drops = np.empty(grid * grid)
    for start in range(0, grid * grid, batch):
        cells = range(start, min(start + batch, grid * grid))
        copies = np.repeat(x[None], len(cells), axis=0)
        for b, cell in enumerate(cells):
            r, c = divmod(cell, grid)
            copies[b, edges[r] : edges[r + 1], edges[c] : edges[c + 1]] = fill
        drops[start : start + len(cells)] = base - np.ravel(predict(copies)).astype(np.float64)
    return drops.reshape(grid, grid)


def keras_predictor(model: Any) -> Predictor:
    """A :data:`Predictor` for a Keras model whose first (or only) output is OD450 ``(N, 1)``."""

    def predict(x: np.ndarray) -> np.ndarray:
        out = model.predict(x, verbose=0)
        return np.asarray(out[0] if isinstance(out, list) else out)[:, 0]

    return predict


def attribution_figure(
    predict: Predictor,
    images: Sequence[np.ndarray],
    labels: Sequence[str],
    *,
    grid: int = 8,
    columns: int = 4,
) -> Any:
    """A figure of occlusion maps over their images, e.g. a sample of test wells across concentrations.

    Parameters
    ----------
    predict : callable
        As in :func:`occlusion_map`.
    images : sequence of ndarrays, shape (S, S, 3), 0–255
    labels : sequence of str
        One title per image (e.g. ``"0.3 µM · OD450 0.82 (true 0.79)"``).
    grid, columns : int

    Returns
    -------
    matplotlib.figure.Figure
        Each panel: the image in grey, the map in red (covering lowers OD450) / blue (raises it), on one
        colour scale shared by all panels; save it with ``fig.savefig(path, dpi=...)``.
    """
    from matplotlib.figure import Figure  # lazy: matplotlib is slow to import and only figures need it

    if len(images) != len(labels) or not images:
        raise ValueError(
            f"images and labels must be non-empty and equally long; got {len(images)}, {len(labels)}"
        )
    maps = [occlusion_map(predict, img, grid=grid) for img in images]
    scale = max(float(np.abs(m).max()) for m in maps) or 1.0
    rows = -(-len(images) // columns)
    fig = Figure(figsize=(3.0 * min(columns, len(images)), 3.2 * rows + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, min(columns, len(images)), squeeze=False)).ravel()
    shown: Any = None
    for ax, img, m, label in zip(axes, images, maps, labels, strict=False):
        size = np.asarray(img).shape[0]
        ax.imshow(
            np.asarray(img, dtype=np.float64) @ np.array([0.299, 0.587, 0.114]), cmap="gray", vmin=0, vmax=255
        )
        shown = ax.imshow(m, cmap="bwr", vmin=-scale, vmax=scale, alpha=0.45, extent=(0, size, size, 0),
                          interpolation="nearest")  # fmt: skip
        ax.set_title(label, fontsize=8)
        ax.set_axis_off()
    for ax in axes[len(images) :]:
        ax.set_axis_off()
    fig.colorbar(shown, ax=list(axes), shrink=0.6, label="drop in predicted OD450 when covered")
    fig.suptitle(f"Occlusion maps ({grid}×{grid} cells, patch = image mean colour)", fontsize=10)
    return fig


def series_figure(model: Any, rows: Any, out_png: str | Any, *, grid: int = 8, columns: int = 6) -> Any:
    """Occlusion maps of one dose series across its concentrations, saved as a PNG for the report.

    Parameters
    ----------
    model : tf_keras.Model
        Raw 0–255 input, OD450 (first) output.
    rows : pandas.DataFrame
        Manifest rows of one series (``path``, ``concentration_um``, ``od450``), e.g. a test series.
    out_png : path
    """
    rows = rows.sort_values("concentration_um")
    size = int(model.input_shape[1])
    images = [preprocess(p, size) for p in rows["path"]]
    predict = keras_predictor(model)
    predicted = predict(np.stack(images))
    labels = [
        f"{c:g} µM · OD450 {y:.2f} (pred. {p:.2f})"
        for c, y, p in zip(rows["concentration_um"], rows["od450"], predicted, strict=True)
    ]
    fig = attribution_figure(predict, images, labels, grid=grid, columns=columns)
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=80)
    return Path(out_png)
