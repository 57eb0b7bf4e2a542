"""Evaluation figures (PNG): measured vs predicted OD450, Hill curves, t-SNE of backbone features, r² matrix.

Every function takes the numbers, draws one figure, writes it to ``path`` and returns the path. Matplotlib
runs with the file-only Agg backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from training import config

__all__ = ["plot_hill_curves", "plot_r2_matrix", "plot_scatter", "plot_tsne", "tsne_embedding"]


def _pyplot() -> Any:
    import matplotlib  # lazy: slow to import, and only the plots need it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_scatter(
    measured: np.ndarray, predicted: np.ndarray, path: str | Path, *, title: str, stats: dict
) -> Path:
    """Measured (x) vs predicted (y) OD450 with the identity line and the fitted regression line.

    ``stats`` holds ``r2``, ``slope`` and ``intercept`` (Table 1 of the same data).
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.6, 4.4), dpi=110)
    ax.scatter(measured, predicted, s=16, alpha=0.75, edgecolors="none")
    lo = float(min(np.min(measured), np.min(predicted), 0.0))
    hi = float(max(np.max(measured), np.max(predicted))) * 1.05
    ax.plot([lo, hi], [lo, hi], color="0.4", lw=1, ls="--", label="identity")
    slope, intercept, r2 = stats.get("slope"), stats.get("intercept"), stats.get("r2")
    if slope is not None and intercept is not None:
        xs = np.array([lo, hi])
        ax.plot(xs, slope * xs + intercept, color="C3", lw=1.2, label="fit")
    ax.set(xlim=(lo, hi), ylim=(lo, hi), xlabel="measured OD450", ylabel="predicted OD450", title=title)
    line = f"y = {slope:.3f}x {intercept:+.3f}" if slope is not None and intercept is not None else "no fit"
    text = f"r² = {'—' if r2 is None else f'{r2:.3f}'}\n{line}\nn = {len(measured)}"
    ax.text(0.04, 0.96, text, transform=ax.transAxes, va="top", fontsize=8)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_aspect("equal")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def plot_hill_curves(series: Sequence[dict], path: str | Path, *, title: str) -> Path:
    """One small panel per dose series: measured and predicted OD450 points and their fitted Hill curves.

    Each item of ``series`` has ``name``, ``conc_um``, ``measured``, ``predicted`` (arrays) and
    ``fit_measured``, ``fit_predicted`` (:class:`app.doseresponse.HillFit`).
    """
    plt = _pyplot()
    n = len(series)
    cols = min(3, max(n, 1))
    rows = max(1, int(np.ceil(n / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 2.7 * rows), dpi=100, squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    for ax, item in zip(axes.ravel(), series, strict=False):
        conc = np.asarray(item["conc_um"], float)
        positive = conc > 0
        ax.scatter(conc[positive], np.asarray(item["measured"])[positive], s=14, color="C0", label="measured")
        ax.scatter(
            conc[positive],
            np.asarray(item["predicted"])[positive],
            s=16,
            marker="x",
            color="C3",
            label="predicted",
        )
        for key, colour in (("fit_measured", "C0"), ("fit_predicted", "C3")):
            fit = item[key]
            xs, ys = fit.curve(100)
            if len(xs):
                ax.plot(xs, ys, color=colour, lw=1.2)
            if fit.ic50_um is not None and np.isfinite(fit.ic50_um):
                ax.axvline(fit.ic50_um, color=colour, lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_title(item["name"], fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("doxorubicin µM" if "drug" not in item else f"{item['drug']} µM", fontsize=7)
        ax.set_ylabel("OD450", fontsize=7)
    axes.ravel()[0].legend(fontsize=7, loc="lower left")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def tsne_embedding(features: np.ndarray, *, seed: int = config.SEED) -> np.ndarray:
    """2-D t-SNE of feature vectors ``(n, F)`` → ``(n, 2)`` (PCA init, perplexity ≤ 30, seeded)."""
    from sklearn.manifold import TSNE  # lazy: scikit-learn takes about a second to import

    n = len(features)
    if n < 5:
        raise ValueError(f"features must have at least 5 rows for t-SNE; got {n}")
    perplexity = float(min(config.TSNE_PERPLEXITY, (n - 1) / 3))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(
        np.asarray(features, np.float64)
    )


def plot_tsne(embedding: np.ndarray, conc_um: np.ndarray, path: str | Path, *, title: str) -> Path:
    """t-SNE points coloured by log10 concentration (the paper's Fig. 4); vehicle controls in grey."""
    plt = _pyplot()
    conc = np.asarray(conc_um, float)
    positive = conc > 0
    fig, ax = plt.subplots(figsize=(5.2, 4.2), dpi=110)
    if (~positive).any():
        ax.scatter(*embedding[~positive].T, s=14, color="0.6", label="0 µM")
    points = ax.scatter(*embedding[positive].T, c=np.log10(conc[positive]), cmap="viridis", s=16)
    fig.colorbar(points, ax=ax, label="log10 concentration (µM)")
    ax.set(title=title, xticks=[], yticks=[])
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def plot_r2_matrix(matrix: np.ndarray, models: Sequence[str], data: Sequence[str], path: str | Path) -> Path:
    """Heat map of r² (rows = data, columns = models), the allogenic comparison of the paper's Table 1."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.5 + 1.3 * len(models), 1.2 + 0.8 * len(data)), dpi=110)
    shown = np.nan_to_num(np.asarray(matrix, float), nan=0.0)
    ax.imshow(np.clip(shown, 0, 1), cmap="Greens", vmin=0, vmax=1)
    for i in range(len(data)):
        for j in range(len(models)):
            value = matrix[i][j]
            ax.text(
                j,
                i,
                "—" if value is None or not np.isfinite(value) else f"{value:.3f}",
                ha="center",
                va="center",
            )
    ax.set_xticks(range(len(models)), models, rotation=20, fontsize=8)
    ax.set_yticks(range(len(data)), data, fontsize=8)
    ax.set(xlabel="model", ylabel="test data", title="r², measured vs predicted OD450")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
