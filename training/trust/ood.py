"""Is an image like the model's training images? Out-of-distribution (OOD) scores for the model card.

Two independent checks, both computed in the browser by the twin ``static/js/ood.js`` with the same formulas:

1. **Feature space.** The backbone's pooled features ``(F,)`` of an image (the model's second output, from
   the same forward pass that predicts OD450) are projected on the first ``k`` principal components of the
   training images' features. Two numbers describe how unusual the image is:

   - ``distance``: the Mahalanobis distance of its PCA scores, ``sqrt(s · P · s)``, with ``P`` the inverse of
     a Ledoit–Wolf shrunk covariance of the training scores;
   - ``residual``: the Euclidean norm of what the ``k`` components do not explain, ``‖(x − μ) − s·C‖``.

   The card stores the quantiles of both over *held-out* training images; the page flags an image beyond
   the 99th percentile of either (by construction about 1 % of the model's own kind of images, two checks:
   at most about 2 %).
2. **Image statistics** of the model input (``(S, S, 3)``, 0–255): mean grey, contrast, colourfulness, focus
   and the fraction of near-black pixels, compared with the range seen in training (:func:`is_brightfield`).
   This catches what cannot be a bright-field well at all: a photo, a blank frame, a fluorescence image.

Pure numpy / scikit-learn functions; no TensorFlow, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "IMAGE_STATS",
    "QUANTILES",
    "fit_image_stats",
    "fit_ood",
    "image_stats",
    "is_brightfield",
    "ood_scores",
]

#: Quantiles of the held-out distances and residuals stored in the card.
QUANTILES = (0.5, 0.95, 0.99, 0.999)
#: The image statistics, in the order they are reported, with a plain-words name.
IMAGE_STATS = {
    "mean_grey": "mean grey level",
    "contrast": "contrast (SD of grey)",
    "colourfulness": "colourfulness (mean chroma)",
    "focus": "focus (variance of the Laplacian)",
    "dark_fraction": "fraction of near-black pixels",
}
#: Grey = ITU-R BT.601 luma of the 0–255 RGB input.
_LUMA = (0.299, 0.587, 0.114)
#: A pixel is near-black when its grey level is below this (0–255).
_DARK_LEVEL = 25.0
#: Smallest half-width added around a statistic's training range, in its own units: ranges from a few
#: similar training images would otherwise flag ordinary variation (a slightly brighter lamp).
_MIN_MARGIN = {"mean_grey": 15.0, "contrast": 4.0, "colourfulness": 6.0, "focus": 0.0, "dark_fraction": 0.05}
#: Focus varies over orders of magnitude: its range is widened by this factor (÷ below, × above).
_FOCUS_FACTOR = 3.0
_SIGNIFICANT = 5


def _round(values: Any) -> Any:
    """Round floats (scalar or array) to :data:`_SIGNIFICANT` significant digits; returns lists for arrays."""
    arr = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(arr == 0, 0, np.floor(np.log10(np.abs(np.where(arr == 0, 1, arr)))))
    factor = 10.0 ** (_SIGNIFICANT - 1 - mag)
    rounded = np.round(arr * factor) / factor
    return rounded.tolist() if arr.ndim else float(rounded)


def _check_features(name: str, x: Any, n_features: int | None = None) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} must have shape (N, F); got {arr.shape}")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{name} must have {n_features} features per row; got {arr.shape[1]}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; got NaN or inf")
    return arr


def fit_ood(
    train_features: np.ndarray, heldout_features: np.ndarray, *, n_components: int = 16
) -> dict[str, Any]:
    """The card's feature-space OOD block, fitted on training images and calibrated on held-out ones.

    Parameters
    ----------
    train_features : ndarray, shape (N, F)
        Pooled backbone features of the training images (N ≥ 3).
    heldout_features : ndarray, shape (M, F)
        Features of held-out images of the same kind (validation or test), M ≥ 1: their distances set the
        quantiles, so an image is judged against images the PCA and covariance did not see.
    n_components : int
        PCA components kept (k = min(n_components, N − 1, F)).

    Returns
    -------
    dict
        JSON-ready: ``method``, ``n_components``, ``mean`` (F,), ``components`` (k, F), ``precision`` (k, k),
        ``quantiles`` (4,), ``distance_quantiles`` (4,), ``residual_quantiles`` (4,), ``n_train``,
        ``n_heldout``. Floats rounded to 5 significant digits; the quantiles are computed with the rounded
        block, so Python and the browser score exactly what the card says.
    """
    from sklearn.covariance import LedoitWolf  # lazy: scikit-learn takes about a second to import

    train = _check_features("train_features", train_features)
    heldout = _check_features("heldout_features", heldout_features, train.shape[1])
    if train.shape[0] < 3:
        raise ValueError(f"train_features needs at least 3 rows; got {train.shape[0]}")
    if not isinstance(n_components, int) or n_components < 1:
        raise ValueError(f"n_components must be a positive integer; got {n_components!r}")
    k = min(n_components, train.shape[0] - 1, train.shape[1])
    mean = train.mean(axis=0)
    centred = train - mean
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[:k]
    # Sign convention (largest |loading| positive) so that refits give the same block.
    signs = np.sign(components[np.arange(k), np.abs(components).argmax(axis=1)])
    components = components * np.where(signs == 0, 1.0, signs)[:, None]
    scores = centred @ components.T
    precision = LedoitWolf(assume_centered=True).fit(scores).precision_
    block: dict[str, Any] = {
        "method": "PCA of pooled backbone features; Mahalanobis distance with a Ledoit-Wolf shrunk "
        "covariance of the PCA scores, and the norm of the PCA reconstruction residual",
        "n_components": k,
        "mean": _round(mean),
        "components": _round(components),
        "precision": _round((precision + precision.T) / 2),
    }
    distance, residual = ood_scores(block, heldout)
    block.update(
        quantiles=list(QUANTILES),
        distance_quantiles=_round(np.quantile(distance, QUANTILES)),
        residual_quantiles=_round(np.quantile(residual, QUANTILES)),
        n_train=int(train.shape[0]),
        n_heldout=int(heldout.shape[0]),
    )
    return block


def ood_scores(block: Mapping[str, Any], features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mahalanobis distance and PCA residual norm of images against a card's OOD block.

    Parameters
    ----------
    block : mapping
        From :func:`fit_ood` (or ``card["ood"]["features"]``).
    features : ndarray, shape (N, F) or (F,)

    Returns
    -------
    (distance, residual) : ndarrays, shape (N,)
        Unitless distance in the PCA space, and residual norm in feature units.
    """
    mean = np.asarray(block["mean"], dtype=np.float64)
    components = np.asarray(block["components"], dtype=np.float64)
    precision = np.asarray(block["precision"], dtype=np.float64)
    x = np.asarray(features, dtype=np.float64)
    x = _check_features("features", x[None, :] if x.ndim == 1 else x, mean.shape[0])
    centred = x - mean
    scores = centred @ components.T
    distance = np.sqrt(np.maximum(np.einsum("ni,ij,nj->n", scores, precision, scores), 0.0))
    residual = np.linalg.norm(centred - scores @ components, axis=1)
    return distance, residual


def image_stats(pixels: np.ndarray) -> dict[str, float]:
    """Simple statistics of a model input that tell a bright-field well from other pictures.

    Parameters
    ----------
    pixels : ndarray, shape (H, W, 3), values 0–255 (the model input, e.g. float32 224 × 224 from
        :func:`training.preprocess.resize_area`, or uint8)

    Returns
    -------
    dict
        ``mean_grey`` (0–255), ``contrast`` (SD of grey, 0–255), ``colourfulness`` (mean of max − min over
        R, G, B, 0–255), ``focus`` (variance of the 4-neighbour Laplacian of grey over interior pixels,
        grey levels²), ``dark_fraction`` (share of pixels with grey < 25, 0–1).
    """
    arr = np.asarray(pixels, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[2] != 3 or min(arr.shape[:2]) < 3:
        raise ValueError(f"pixels must have shape (H, W, 3) with H, W >= 3; got {arr.shape}")
    grey = arr @ np.asarray(_LUMA)
    red, green, blue = arr[:, :, 0], arr[:, :, 1], arr[:, :, 2]
    lap = grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4.0 * grey[1:-1, 1:-1]
    return {
        "mean_grey": float(grey.mean()),
        "contrast": float(grey.std()),
        # max − min of R, G, B as two elementwise passes: numpy's reduction over a 3-long axis is 20× slower
        "colourfulness": float(
            (np.maximum(np.maximum(red, green), blue) - np.minimum(np.minimum(red, green), blue)).mean()
        ),
        "focus": float(lap.var()),
        "dark_fraction": float((grey < _DARK_LEVEL).mean()),
    }


def fit_image_stats(
    stats: Sequence[Mapping[str, float]], *, lower: float = 0.001, upper: float = 0.999, margin: float = 0.5
) -> dict[str, Any]:
    """Accepted range of each image statistic: the training images' quantiles, widened.

    Parameters
    ----------
    stats : sequence of dicts from :func:`image_stats` (training images), at least 1
    lower, upper : float
        Quantiles of the training values (0.1 % and 99.9 %).
    margin : float
        Each side is widened by ``margin`` × the quantile span, at least by a fixed amount per statistic
        (15 grey levels for the mean, 4 for contrast, 6 for colourfulness, 0.05 for the dark fraction);
        focus, which varies over orders of magnitude, by a factor of 3 (÷ below, × above).

    Returns
    -------
    dict
        ``{name: [low, high], ..., "n_images": N}``, floats rounded to 5 significant digits.
    """
    if len(stats) < 1:
        raise ValueError("stats must hold at least one image's statistics; got none")
    if not (0.0 <= lower < upper <= 1.0):
        raise ValueError(f"need 0 <= lower < upper <= 1; got lower={lower}, upper={upper}")
    if margin < 0:
        raise ValueError(f"margin must be >= 0; got {margin}")
    ranges: dict[str, Any] = {}
    for name in IMAGE_STATS:
        try:
            values = np.array([s[name] for s in stats], dtype=np.float64)
        except KeyError as exc:
            raise ValueError(f"stats: an entry lacks {name!r}") from exc
        lo, hi = (float(v) for v in np.quantile(values, [lower, upper]))
        if name == "focus":
            lo, hi = lo / _FOCUS_FACTOR, hi * _FOCUS_FACTOR
        else:
            pad = max(margin * (hi - lo), _MIN_MARGIN[name])
            lo, hi = lo - pad, hi + pad
        if name == "dark_fraction":
            lo, hi = max(lo, 0.0), min(hi, 1.0)
        ranges[name] = [_round(max(lo, 0.0)), _round(hi)]
    ranges["n_images"] = len(stats)
    return ranges


def is_brightfield(stats: Mapping[str, float], ranges: Mapping[str, Any]) -> tuple[bool, list[str]]:
    """Does an image look like the bright-field wells the model was trained on?

    Parameters
    ----------
    stats : dict from :func:`image_stats`
    ranges : dict from :func:`fit_image_stats` (``card["ood"]["image_stats"]``)

    Returns
    -------
    (bool, list of str)
        True and no reasons when every statistic is within its range; otherwise False and one plain-words
        reason per statistic outside, e.g. ``"mean grey level 12.3 is below the training range 140–215"``.
    """
    reasons = []
    for name, label in IMAGE_STATS.items():
        if name not in ranges or name not in stats:
            continue
        lo, hi = ranges[name]
        value = float(stats[name])
        if not math.isfinite(value) or value < lo or value > hi:
            side = "below" if value < lo else "above"
            reasons.append(f"{label} {_fmt(value)} is {side} the training range {_fmt(lo)}–{_fmt(hi)}")
    return not reasons, reasons


def _fmt(x: float) -> str:
    """A number in 3 significant digits, as the page prints it."""
    return f"{x:.3g}"
