"""Splits by dose series, the paper's augmentation, and the model's input views of an image.

Splits never cut a dose series: all images of one series (one image per concentration) go to the same set,
so a model is always tested on series it has never seen. The paper's design per cell line is 24 series
(3 plates × 8 replicate series × 11 concentrations): 18 for training/validation, 6 for test; and 4-fold
cross-validation by series. Splits are stratified by cell line and, within a cell line, spread evenly over
plates.

Augmentation (paper, Methods): random 90° rotations, horizontal/vertical flips, a random crop to 70 % of
each side, brightness ±0.2, saturation ×0.6–1.6, contrast ×0.7–1.3, hue ±0.08.

The views of one image (:func:`make_views`; the files are decoded by :mod:`training.features`), never
from the full-size decode of a 2560 × 2160 image:

* **View 0** is what the page sees, exactly: ``resize_area(load_rgb(path, reduce_for=S), S)`` — the
  decode rule of :mod:`training.preprocess` (a JPEG decoded at 1/k by DCT scaling, then the exact area
  resize to ``S × S``).
* **Augmented views** come from a second reduced decode, ``load_rgb(path, reduce_for=A)`` with
  ``A = augmentation_side(S, 0.7) = round(S / 0.7)`` (320 px for S = 224, 229 px for S = 160), so that
  a 70 % crop still holds at least ``S`` decoded pixels. That decode is area-resized once to ``A × A``;
  each view is an ``S × S`` crop of it (= 70 % of each side), turned, flipped and colour-jittered. No
  view is resized on its own: cropping the area-resized square gives the pixels that area-resizing the
  crop would. For the paper's 2560 × 2160 JPEGs the two decodes are 320 × 270 (1/8) and 640 × 540
  (1/4) px for S = 224, and one 320 × 270 decode serves both for S = 160.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from training import config
from training.preprocess import resize_area
from training.stream import RandomStream

__all__ = [
    "Augmentation",
    "Draw",
    "SeriesSplit",
    "adjust_contrast",
    "adjust_hue",
    "adjust_saturation",
    "apply_draw",
    "augment",
    "augmentation_side",
    "augmented_views",
    "cv_folds",
    "fold_split",
    "make_views",
    "series_table",
    "split_series",
]


# ----------------------------------------------------------------------------------------------------------
# Splits


@dataclass(frozen=True)
class SeriesSplit:
    """Series ids of the training, validation (early stopping) and test sets; disjoint."""

    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]

    def __post_init__(self) -> None:
        sets = [set(self.train), set(self.val), set(self.test)]
        if sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2]:
            raise ValueError("a series appears in two of train, val and test")

    def role(self, series: str) -> str:
        """``"train"``, ``"val"``, ``"test"`` or ``"unused"``."""
        for name in ("train", "val", "test"):
            if series in getattr(self, name):
                return name
        return "unused"

    def to_dict(self) -> dict[str, list[str]]:
        """JSON-ready form."""
        return {"train": list(self.train), "val": list(self.val), "test": list(self.test)}

    @classmethod
    def from_dict(cls, data: dict[str, Sequence[str]]) -> SeriesSplit:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(data["train"]), tuple(data["val"]), tuple(data["test"]))


def series_table(manifest: pd.DataFrame) -> pd.DataFrame:
    """One row per dose series: ``series``, ``cell_line``, ``plate`` (its most common plate), ``n_images``."""
    for column in ("series", "cell_line", "plate"):
        if column not in manifest.columns:
            raise ValueError(f"manifest must have a {column!r} column")
    grouped = manifest.groupby("series", sort=True)
    return pd.DataFrame(
        {
            "series": list(grouped.groups),
            "cell_line": grouped["cell_line"].first().to_numpy(),
            "plate": grouped["plate"].agg(lambda p: p.value_counts().index[0]).to_numpy(),
            "n_images": grouped.size().to_numpy(),
        }
    )


def _interleaved(table: pd.DataFrame, rng: np.random.Generator) -> list[str]:
    """A cell line's series in a random order that alternates between plates (plates also shuffled)."""
    plates = sorted(table["plate"].unique())
    rng.shuffle(plates)
    queues = []
    for plate in plates:
        ids = sorted(table.loc[table["plate"] == plate, "series"])
        rng.shuffle(ids)
        queues.append(ids)
    order: list[str] = []
    while any(queues):
        for queue in queues:
            if queue:
                order.append(queue.pop(0))
    return order


def _orders(manifest: pd.DataFrame, seed: int) -> dict[str, list[str]]:
    table = series_table(manifest)
    rng = np.random.default_rng(seed)
    return {line: _interleaved(group, rng) for line, group in sorted(table.groupby("cell_line"))}


def split_series(
    manifest: pd.DataFrame,
    *,
    n_test: int = config.N_TEST_SERIES,
    n_val: int = config.N_VAL_SERIES,
    seed: int = config.SEED,
) -> SeriesSplit:
    """The paper's split: per cell line, ``n_test`` series for test, the rest for training/validation.

    Parameters
    ----------
    manifest : DataFrame
        With columns ``series``, ``cell_line``, ``plate`` (from :func:`training.manifest.load_manifest`).
    n_test : int
        Test series per cell line (paper: 6 of 24).
    n_val : int
        Of the remaining series, how many per cell line are held out for early stopping (0: none).
    seed : int
        The split is a pure function of the series table and the seed.

    Raises
    ------
    ValueError
        A cell line has fewer than ``n_test + n_val + 1`` series.
    """
    if n_test < 0 or n_val < 0:
        raise ValueError(f"n_test and n_val must be >= 0; got {n_test}, {n_val}")
    train: list[str] = []
    val: list[str] = []
    test: list[str] = []
    for line, order in _orders(manifest, seed).items():
        if len(order) < n_test + n_val + 1:
            raise ValueError(
                f"cell line {line!r} has {len(order)} series; need at least n_test + n_val + 1 = "
                f"{n_test + n_val + 1}"
            )
        test += order[:n_test]
        val += order[n_test : n_test + n_val]
        train += order[n_test + n_val :]
    return SeriesSplit(tuple(sorted(train)), tuple(sorted(val)), tuple(sorted(test)))


def cv_folds(
    manifest: pd.DataFrame, *, k: int = config.CV_FOLDS, seed: int = config.SEED
) -> list[tuple[str, ...]]:
    """Partition the series into ``k`` folds (each series in exactly one), by cell line and plate."""
    if k < 2:
        raise ValueError(f"k must be >= 2; got {k}")
    folds: list[list[str]] = [[] for _ in range(k)]
    for line, order in _orders(manifest, seed).items():
        if len(order) < k:
            raise ValueError(f"cell line {line!r} has {len(order)} series; need at least k = {k}")
        for i, series in enumerate(order):
            folds[i % k].append(series)
    return [tuple(sorted(f)) for f in folds]


def fold_split(
    manifest: pd.DataFrame,
    folds: Sequence[Sequence[str]],
    index: int,
    *,
    n_val: int = config.N_VAL_SERIES,
    seed: int = config.SEED,
) -> SeriesSplit:
    """Fold ``index`` as the test set; ``n_val`` series per cell line of the others for early stopping."""
    if not 0 <= index < len(folds):
        raise ValueError(f"index must be in 0..{len(folds) - 1}; got {index}")
    test = set(folds[index])
    rest = manifest[~manifest["series"].isin(test)]
    inner = split_series(rest, n_test=0, n_val=n_val, seed=seed + 1 + index)
    return SeriesSplit(inner.train, inner.val, tuple(sorted(test)))


# ----------------------------------------------------------------------------------------------------------
# Augmentation


@dataclass(frozen=True)
class Augmentation:
    """Parameters of the random augmentation; defaults are the paper's (Methods, "Data augmentation").

    Attributes
    ----------
    rotate90 : bool
        Rotate by a random multiple of 90°.
    flip_horizontal, flip_vertical : bool
        Each flip with probability 1/2.
    crop_fraction : float
        Side of the random crop as a fraction of each image side (0.7: 70 % of the width and of the
        height); 1.0 disables cropping. See :func:`augmentation_side` for how the crop is taken.
    brightness : float
        Maximum added brightness, as a fraction of full scale (±0.2 → ±51 grey levels).
    saturation : (float, float)
        Range of the HSV saturation factor.
    contrast : (float, float)
        Range of the contrast factor (distance from each channel's mean is scaled).
    hue : float
        Maximum hue shift as a fraction of the colour circle (±0.08 → ±28.8°).
    """

    rotate90: bool = True
    flip_horizontal: bool = True
    flip_vertical: bool = True
    crop_fraction: float = 0.7
    brightness: float = 0.2
    saturation: tuple[float, float] = (0.6, 1.6)
    contrast: tuple[float, float] = (0.7, 1.3)
    hue: float = 0.08

    def __post_init__(self) -> None:
        if not 0.0 < self.crop_fraction <= 1.0:
            raise ValueError(f"crop_fraction must be in (0, 1]; got {self.crop_fraction}")
        if not 0.0 <= self.brightness <= 1.0:
            raise ValueError(f"brightness must be in [0, 1]; got {self.brightness}")
        if not 0.0 <= self.hue <= 0.5:
            raise ValueError(f"hue must be in [0, 0.5]; got {self.hue}")
        for name in ("saturation", "contrast"):
            lo, hi = getattr(self, name)
            if not 0.0 <= lo <= hi:
                raise ValueError(f"{name} must be a range 0 <= low <= high; got ({lo}, {hi})")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def none(cls) -> Augmentation:
        """No augmentation at all (every view is the plain image)."""
        return cls(False, False, False, 1.0, 0.0, (1.0, 1.0), (1.0, 1.0), 0.0)


@dataclass(frozen=True)
class Draw:
    """One random draw of augmentation parameters (what :func:`apply_draw` does to one image)."""

    rotations: int  # number of 90° turns, counter-clockwise
    flip_horizontal: bool
    flip_vertical: bool
    crop_top: float  # offset of the crop as a fraction of the free margin, 0–1
    crop_left: float
    crop_fraction: float
    brightness: float  # added, fraction of full scale
    saturation: float
    contrast: float
    hue: float  # fraction of the colour circle


def _draw(aug: Augmentation, rng: RandomStream) -> Draw:
    """One draw, in the order (and with the arithmetic) of the page's ``drawAugmentation`` (augment.js)."""
    return Draw(
        rotations=rng.integer(4) if aug.rotate90 else 0,
        flip_horizontal=bool(aug.flip_horizontal and rng.random() < 0.5),
        flip_vertical=bool(aug.flip_vertical and rng.random() < 0.5),
        crop_top=rng.random(),
        crop_left=rng.random(),
        crop_fraction=aug.crop_fraction,
        brightness=rng.uniform(-aug.brightness, aug.brightness),
        saturation=rng.uniform(*aug.saturation),
        contrast=rng.uniform(*aug.contrast),
        hue=rng.uniform(-aug.hue, aug.hue),
    )


def adjust_contrast(pixels: np.ndarray, factor: float) -> np.ndarray:
    """Scale each channel's distance from its image mean by ``factor`` (as ``tf.image.adjust_contrast``),
    clipped to 0–255. ``pixels``: (H, W, 3) float32."""
    mean = pixels.mean(axis=(0, 1), dtype=np.float64).astype(np.float32)
    return np.clip((pixels - mean) * np.float32(factor) + mean, 0.0, 255.0)


def adjust_saturation(pixels: np.ndarray, factor: float) -> np.ndarray:
    """Multiply the HSV saturation by ``factor`` (clipped to 1), keeping hue and value.

    ``pixels``: (H, W, 3) float32 0–255. Same result as ``tf.image.adjust_saturation`` on 0–1 values.
    """
    planes = _colour_planes(np.moveaxis(pixels, 2, 0).astype(np.float32), saturation=factor, hue=0.0)
    return np.moveaxis(planes, 0, 2)


def adjust_hue(pixels: np.ndarray, delta: float) -> np.ndarray:
    """Rotate the HSV hue by ``delta`` (fraction of the circle), keeping saturation and value.

    ``pixels``: (H, W, 3) float32 0–255. Same result as ``tf.image.adjust_hue``; grey pixels are unchanged.
    """
    planes = _colour_planes(np.moveaxis(pixels, 2, 0).astype(np.float32), saturation=1.0, hue=delta)
    return np.moveaxis(planes, 0, 2)


def _colour_planes(planes: np.ndarray, *, saturation: float, hue: float) -> np.ndarray:
    """Saturation × ``saturation`` then hue + ``hue`` on channel planes ``(3, H, W)`` float32, in one go.

    In HSV terms the value ``M`` (max channel) is kept, the chroma ``C = M − m`` becomes
    ``C' = min(saturation·C, M)`` (saturation clipped to 1) and the hue turns by ``hue``; the channels are
    rebuilt with the standard HSV → RGB formula ``x_n = M − C'·clip(min(k, 4 − k), 0, 1)``,
    ``k = (n + 6·hue') mod 6`` for n = 5, 3, 1 (red, green, blue). Works in place where it can.
    """
    r, g, b = planes
    top = np.maximum(np.maximum(r, g), b)
    chroma = top - np.minimum(np.minimum(r, g), b)
    inv = np.divide(1.0, chroma, out=np.zeros_like(chroma), where=chroma > 0)
    if hue == 0.0:  # saturation only: x' = M − k (M − x), k = min(f, M / C)
        k = np.minimum(np.float32(saturation), top * inv)
        for plane in planes:
            np.subtract(top, plane, out=plane)
            plane *= k
            np.subtract(top, plane, out=plane)
        return planes
    sextant = np.where(top == r, (g - b) * inv, np.where(top == g, (b - r) * inv + 2, (r - g) * inv + 4))
    sextant += np.float32(6.0 * hue)
    new_chroma = np.minimum(chroma * np.float32(saturation), top)
    k = np.empty_like(sextant)
    for plane, n in zip(planes, (5.0, 3.0, 1.0), strict=True):
        np.add(sextant, np.float32(n), out=k)
        np.mod(k, 6, out=k)
        np.minimum(k, 4 - k, out=k)
        np.clip(k, 0, 1, out=k)
        k *= new_chroma
        np.subtract(top, k, out=plane)
    return planes


def _crop(pixels: np.ndarray, draw: Draw) -> np.ndarray:
    """The draw's crop of an array whose first two axes are (row, column)."""
    height, width = pixels.shape[:2]
    ch, cw = max(1, round(draw.crop_fraction * height)), max(1, round(draw.crop_fraction * width))
    top = round(draw.crop_top * (height - ch))
    left = round(draw.crop_left * (width - cw))
    return pixels[top : top + ch, left : left + cw]


def _orient(crop: np.ndarray, draw: Draw) -> np.ndarray:
    """The draw's 90° rotations and flips of a crop."""
    view = np.rot90(crop, draw.rotations)
    if draw.flip_horizontal:
        view = view[:, ::-1]
    if draw.flip_vertical:
        view = view[::-1]
    return view


def apply_draw(pixels: np.ndarray, draw: Draw) -> np.ndarray:
    """Apply one draw to an image: crop, turn, flip, then brightness, contrast, saturation, hue.

    Parameters
    ----------
    pixels : ndarray, shape (H, W, 3), uint8 or float (0–255)

    Returns
    -------
    ndarray, shape (h, w, 3), float32 0–255 (cropped and possibly turned by 90°)
    """
    crop = _crop(pixels, draw)
    planes = np.moveaxis(_orient(crop, draw), 2, 0).astype(np.float32)  # the one copy; steps work in place
    if draw.brightness:
        planes += np.float32(draw.brightness * 255.0)
        np.clip(planes, 0.0, 255.0, out=planes)
    if draw.contrast != 1.0:
        mean = planes.mean(axis=(1, 2), dtype=np.float64, keepdims=True).astype(np.float32)
        planes -= mean
        planes *= np.float32(draw.contrast)
        planes += mean
        np.clip(planes, 0.0, 255.0, out=planes)
    if draw.saturation != 1.0 or draw.hue:
        _colour_planes(planes, saturation=draw.saturation, hue=draw.hue)
    return np.moveaxis(planes, 0, 2)


def augment(pixels: np.ndarray, augmentation: Augmentation, rng: RandomStream) -> np.ndarray:
    """One random augmentation of an image: (H, W, 3) 0–255 → (h, w, 3) float32 0–255."""
    return apply_draw(pixels, _draw(augmentation, rng))


def augmentation_side(size: int, crop_fraction: float) -> int:
    """Side (px) of the square that the augmented views are cut from: ``round(size / crop_fraction)``.

    A ``size`` px crop of it is ``crop_fraction`` of each side of the image (exactly ``size`` px for any
    ``crop_fraction`` in (0, 1]), so the views need no resize of their own. For 224 px and the paper's
    0.7: 320 px; for 160 px: 229 px.
    """
    if size < 1 or not 0.0 < crop_fraction <= 1.0:
        raise ValueError(f"size must be >= 1 and crop_fraction in (0, 1]; got {size}, {crop_fraction}")
    return max(size, round(size / crop_fraction))


def augmented_views(
    source: np.ndarray,
    *,
    n: int,
    rng: RandomStream,
    augmentation: Augmentation,
    size: int = config.INPUT_SIZE,
) -> np.ndarray:
    """``n`` random augmentations of an image, each ``size × size``: ``(n, size, size, 3)`` float32 0–255.

    ``source`` is area-resized once to the square of :func:`augmentation_side` px; each view is a draw of
    :func:`apply_draw` on that square: a ``size`` px crop (``crop_fraction`` of each side, whole-pixel
    offsets), 90° turns, flips and the colour steps. Cropping the area-resized square gives the same
    pixels as area-resizing the crop of the image (each output pixel averages the same footprint), at a
    fraction of the cost.
    """
    views = np.empty((n, size, size, 3), np.float32)
    if n < 1:
        return views
    square = resize_area(source, augmentation_side(size, augmentation.crop_fraction))
    for i in range(n):
        views[i] = apply_draw(square, _draw(augmentation, rng))
    return views


def make_views(
    pixels: np.ndarray,
    *,
    n_views: int,
    rng: RandomStream,
    augmentation: Augmentation | None = None,
    size: int = config.INPUT_SIZE,
    source: np.ndarray | None = None,
) -> np.ndarray:
    """Model inputs for one image: view 0 un-augmented, views 1… randomly augmented (:func:`augmented_views`).

    Parameters
    ----------
    pixels : ndarray, shape (H, W, 3), uint8
        The image as decoded for view 0 (:func:`training.preprocess.load_rgb` with ``reduce_for=size``);
        view 0 is ``resize_area(pixels, size)``.
    n_views : int
        Number of views (>= 1).
    rng : training.stream.RandomStream
        The image's draws (:func:`training.stream.image_stream`: the page draws the same).
    augmentation : Augmentation, optional
        Default: the paper's.
    size : int
        Model input side (px).
    source : ndarray, shape (H', W', 3), optional
        The image as decoded for the augmented views (``reduce_for=augmentation_side(size, crop)``, so
        that a crop still has at least ``size`` px); default ``pixels``.

    Returns
    -------
    ndarray, shape (n_views, size, size, 3), float32 0–255
    """
    if n_views < 1:
        raise ValueError(f"n_views must be >= 1; got {n_views}")
    augmentation = augmentation or Augmentation()
    plain = resize_area(pixels, size)[None]
    source = pixels if source is None else source
    return np.concatenate(
        [plain, augmented_views(source, n=n_views - 1, rng=rng, augmentation=augmentation, size=size)]
    )
