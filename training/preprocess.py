"""The one image preprocessing rule, shared by training and the browser (``static/js/preprocess.js``).

Any image (JPEG, PNG, TIFF; grey or RGB; 8 or 16 bit) becomes a model input in three steps:

1. **Decode** to an ``(H, W, 3)`` array of 8-bit RGB values. Greyscale is replicated to three channels;
   an alpha channel is dropped; EXIF orientation is applied (as the browser's ``createImageBitmap`` does).
   16-bit images are mapped to 8 bit by :func:`to_uint8` (see there for the rule).
   *A JPEG is decoded at a reduced scale* (``load_rgb(path, reduce_for=S)``, which :func:`preprocess`
   uses): libjpeg's DCT scaling decodes it at 1/2, 1/4 or 1/8 of its size for a fraction of the cost of a
   full decode. The factor is the one Pillow's ``Image.draft`` picks, :func:`jpeg_reduction`: the largest
   ``k`` of 8, 4, 2, 1 with ``k ≤ min(W // S, H // S)``, giving ``ceil(W/k) × ceil(H/k)`` px (a 2560×2160
   image becomes 320×270 px for a 224 or 160 px input). The page (``static/js/jpeg.js``) reads W × H from
   the JPEG's frame header and asks WebCodecs' ``ImageDecoder`` for exactly that size. Measured on this
   project's machines (Pillow 13 / libjpeg-turbo, Chromium 156): bit-identical pixels (max |Δ| = 0) for
   4:2:0, 4:4:4, progressive, greyscale, CMYK and EXIF-rotated JPEGs at k = 2, 4, 8
   (``tests/e2e/test_preprocess_parity.py``). Where ``ImageDecoder`` is missing (an insecure http://
   origin other than localhost, an old browser) or cannot honour the size, the page decodes in full and
   says so in the well's warnings (about 1 grey level off). PNG, TIFF and other formats are decoded in
   full. When a side is no multiple of k, its last reduced pixel stands for the few original pixels left
   (libjpeg pads the block), so the image is stretched by less than k original pixels: both sides do
   the same.
2. **Area-average downscale** the whole image (no crop) to ``size × size`` with :func:`resize_area`:
   every output pixel is the exact, area-weighted mean of the input pixels its footprint covers. It is
   antialiased, has no free parameters and is easy to reproduce bit for bit in JavaScript (float64 prefix
   sums), unlike browser or Pillow resamplers whose internals differ between versions. The result stays
   float (no rounding to integers).
3. Feed the ``float32`` values in 0–255 to the model; the model itself rescales to MobileNetV2's −1…1
   (a ``Rescaling`` layer), so nothing else can drift between training and the page.

Training augmentations (crops, flips, colour jitter) happen on the decoded full-size image, before step 2;
the un-augmented training view is :func:`preprocess` itself (``training/features.py``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = ["INPUT_SIZE", "jpeg_reduction", "load_rgb", "preprocess", "resize_area", "to_uint8"]

#: Side of the square model input (px). MobileNetV2's ImageNet size, as in the paper.
INPUT_SIZE = 224


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """Map an image of any integer or float depth to ``uint8``.

    Rule (the browser applies the same one): ``uint8`` is returned as is. Other integer types are scaled
    by their *container* maximum, ``round(v * 255 / max)`` — e.g. 16 bit: ``round(v * 255 / 65535)`` — so
    that a 16-bit file and its 8-bit export agree. Floats are taken as 0–1 and scaled by 255.
    Values are clipped to 0–255.

    Parameters
    ----------
    pixels : ndarray, shape (H, W) or (H, W, C)
    """
    if pixels.dtype == np.uint8:
        return pixels
    if np.issubdtype(pixels.dtype, np.integer):
        scale = 255.0 / float(np.iinfo(pixels.dtype).max)
    else:
        scale = 255.0
    # floor(x + 0.5): round half up, the same as JavaScript's Math.round for non-negative values.
    return np.clip(np.floor(pixels.astype(np.float64) * scale + 0.5), 0, 255).astype(np.uint8)


def _as_rgb(pixels: np.ndarray) -> np.ndarray:
    """``(H, W)`` or ``(H, W, C)`` → ``(H, W, 3)``: grey replicated, alpha dropped."""
    if pixels.ndim == 2:
        return np.repeat(pixels[:, :, None], 3, axis=2)
    if pixels.ndim != 3:
        raise ValueError(f"image must be 2-D or 3-D; got shape {pixels.shape}")
    channels = pixels.shape[2]
    if channels in (1, 2):  # grey (+ alpha)
        return np.repeat(pixels[:, :, :1], 3, axis=2)
    if channels in (3, 4):  # RGB (+ alpha)
        return pixels[:, :, :3]
    raise ValueError(f"image must have 1–4 channels; got {channels}")


def jpeg_reduction(width: int, height: int, size: int) -> int:
    """The DCT reduction factor of a ``width × height`` JPEG decoded for a ``size × size`` model input.

    Pillow's ``draft`` rule: the largest ``k`` of 8, 4, 2, 1 with ``k ≤ min(width // size, height // size)``
    (1 when the image is smaller than ``size``). The reduced image is ``ceil(width / k) × ceil(height / k)``
    px, never smaller than ``size`` on either side. The page asks WebCodecs for the same size
    (``static/js/decode.js``).
    """
    if min(width, height, size) < 1:
        raise ValueError(f"width, height and size must be >= 1; got {width}, {height}, {size}")
    ratio = min(width // size, height // size)
    return next(k for k in (8, 4, 2, 1) if k <= max(ratio, 1))


def load_rgb(path: str | Path, *, reduce_for: int | None = None) -> np.ndarray:
    """Decode an image file (JPEG, PNG or TIFF) to ``uint8`` RGB, shape ``(H, W, 3)``.

    Multi-page TIFFs use their first page. Raises ``ValueError`` naming the file when it is not an image.

    Parameters
    ----------
    path : str or Path
    reduce_for : int, optional
        The model input side (px) the image is decoded for: a JPEG is then decoded at the reduced scale
        of :func:`jpeg_reduction` (DCT scaling; see the module docstring). None: full size.
    """
    path = Path(path)
    if path.suffix.lower() in (".tif", ".tiff"):
        try:
            pixels = tifffile.imread(path, key=0)
        except Exception as exc:  # tifffile raises several types for corrupt files
            raise ValueError(f"{path.name}: not a readable TIFF ({exc})") from exc
        return _as_rgb(to_uint8(pixels))
    try:
        with Image.open(path) as opened:
            if reduce_for is not None and opened.format == "JPEG":
                _draft(opened, reduce_for)
            img = ImageOps.exif_transpose(opened)
            if img.mode in ("I;16", "I;16B", "I;16L", "I"):
                pixels = np.asarray(img)
                pixels = pixels.astype(np.uint16) if img.mode.startswith("I;16") else pixels
                return _as_rgb(to_uint8(pixels))
            return np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"{path.name}: not a readable image ({exc})") from exc


def _draft(jpeg: Image.Image, size: int) -> None:
    """Ask Pillow to decode ``jpeg`` at :func:`jpeg_reduction`'s scale, and check that it will."""
    width, height = jpeg.size
    k = jpeg_reduction(width, height, size)
    if k == 1:
        return
    jpeg.draft("RGB", (size, size))
    expected = (-(-width // k), -(-height // k))
    if jpeg.size != expected:  # Pillow declined (e.g. a second draft): the rule would silently change
        raise RuntimeError(f"Pillow decodes at {jpeg.size}, not the rule's {expected}")


def _area_axis(values: np.ndarray, n_out: int, axis: int) -> np.ndarray:
    """Area-average ``values`` along ``axis`` to ``n_out`` samples (float64).

    The input is a step function of unit-wide pixels; its integral ``F(x)`` is the sum of the pixels
    below ``floor(x)`` plus ``frac(x)`` times pixel ``floor(x)``. Output ``i`` is
    ``(F((i+1)·s) − F(i·s)) / s`` with ``s = n_in / n_out``. Integer input is summed exactly (int64).
    """
    n_in = values.shape[axis]
    scale = n_in / n_out
    edges = np.arange(n_out + 1, dtype=np.float64) * scale
    edges[-1] = n_in  # exact end, whatever the rounding of n_out * scale
    lo = np.minimum(np.floor(edges).astype(np.int64), n_in - 1)
    shape = [1] * values.ndim
    shape[axis] = -1
    frac = (edges - lo).reshape(shape)
    acc = np.int64 if np.issubdtype(values.dtype, np.integer) else np.float64
    # Sums of whole pixels between consecutive edges (one pass over the data), then their prefix sums.
    starts = np.unique(np.concatenate([[0], lo]))
    block = np.add.reduceat(values, starts, axis=axis, dtype=acc)
    prefix = np.concatenate(
        [np.zeros_like(np.take(block, [0], axis=axis)), np.cumsum(block, axis=axis)], axis
    )
    below = np.take(prefix, np.searchsorted(starts, lo), axis=axis).astype(np.float64)
    integral = below + frac * np.take(values, lo, axis=axis).astype(np.float64)
    return np.diff(integral, axis=axis) / scale


def resize_area(pixels: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """Area-average resize of a whole image to ``size × size``.

    Parameters
    ----------
    pixels : ndarray, shape (H, W, C), any numeric dtype (values 0–255)
    size : int
        Output side (px).

    Returns
    -------
    ndarray, shape (size, size, C), float32, values 0–255 (not rounded)
    """
    if pixels.ndim != 3 or min(pixels.shape[:2]) < 1:
        raise ValueError(f"pixels must have shape (H, W, C); got {pixels.shape}")
    out = _area_axis(pixels, size, axis=0)  # rows first: a cumulative sum over whole rows is fast in numpy
    out = _area_axis(out, size, axis=1)
    return out.astype(np.float32)


def preprocess(path: str | Path, size: int = INPUT_SIZE) -> np.ndarray:
    """Decode (a JPEG at its reduced scale) and resize one file to a model input: what the page computes.

    Returns
    -------
    ndarray, shape (size, size, 3), float32 0–255
    """
    return resize_area(load_rgb(path, reduce_for=size), size)
