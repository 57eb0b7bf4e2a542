"""The one image preprocessing rule, shared by training and the browser (``static/js/preprocess.js``).

Any image (JPEG, PNG, TIFF; grey or RGB; 8, 10–16 or 32 bit, integer or float) becomes a model input in
three steps:

1. **Decode** to an ``(H, W, 3)`` array of 8-bit RGB values. Greyscale is replicated to three channels;
   an alpha channel is dropped; EXIF orientation is applied (as the browser's ``createImageBitmap`` does).
   Images of more than 8 bits are mapped to 8 bit by the bit-depth rule below (:func:`to_uint8`). Which
   plane and channel of a multi-page or multi-channel TIFF is used is :mod:`training.tiff`'s rule.
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

Bit depth
---------
The models see 8-bit images as an 8-bit camera records them; most scientific cameras are 12- or 14-bit
and write 16-bit files (values 0–4,095 of 65,535). Dividing by the container's 65,535 makes such images
almost black (mean grey ~14/255); stretching each image between its 0.1th and 99.9th percentiles makes
them 2–4× more contrasted than the camera's own 8-bit image (measured on 12 simulated A549 wells stored as
12-bit data: grey SD 11.9 → 33.7, mean 146 → 169, per well × 2.2–3.8), i.e. unlike what the models were
trained on. The rule keeps the camera's view (the same wells: SD 11.9, mean 146, bit for bit the 8-bit
image):

- **8-bit images** (``uint8``) are used as they are, whatever else is said here: the bundled models'
  inputs are bit-identical to before this rule (``tests/training/test_bit_depth.py``).
- **Other integers** are mapped by the window ``[0, 2^b − 1]`` of their bit depth ``b`` (a
  :class:`Window`): ``b`` is the number of bits the data need — the smallest ``b ≥ 8`` with
  ``m < 2^b``, ``m`` the robust maximum below — or the significant bits the file declares when they are
  more (OME ``SignificantBits``, MetaSeries' camera bit depth, a packed ``BitsPerSample`` of 10–14,
  ``SMaxSampleValue``/``MaxSampleValue``, an ImageJ display range that is exactly a bit depth's,
  ``min=0``/``max=2^b − 1``; a declaration equal to the container's bits, e.g. 16 for a 16-bit file, says
  nothing and is ignored). A 12-bit camera's file (``m`` = 3,901) maps 4,095 to 255,
  exactly as the camera's own 8-bit export would; a file using the full 16-bit range is mapped as before.
- **Floats** whose robust maximum is at most 1 are taken as 0–1; others like integers.
- **Robust maximum** ``m``: the finite samples (all colour channels of the chosen plane, alpha excluded)
  sorted ascending, ``n`` of them, the one at 0-based rank ``n − 1 − ⌊n / 1000⌋`` (the 99.9th percentile
  as an order statistic: a few hot pixels do not change the window). ``m = 0`` for no finite sample.
- **Mapping** with a window ``[lo, hi]``: ``v8 = clip(floor((v − lo) · (255 / (hi − lo)) + 0.5), 0, 255)``
  in float64 (round half up, as JavaScript's ``Math.floor(x + 0.5)``); NaN → 0. With ``[0, 65535]`` this
  is the former 16-bit rule, bit for bit.
- **Per plate**, on request: :func:`plate_window` of the plate's own windows (the widest), passed to every
  image as ``window`` so that all wells share one mapping; or any window a lab gives.
- **Per-image stretch**, on request only (``window="percentile"``): :func:`percentile_window`, the image's
  0.1th and 99.9th percentiles (order statistics, ranks ``⌊n / 1000⌋`` and ``n − 1 − ⌊n / 1000⌋``) → 0 and
  255. For labs whose images need it; it changes contrast as measured above.
- Other display ranges stored in files (ImageJ ``min=``/``max=`` that are not a bit depth's, MetaSeries
  ``scale-min``/``scale-max``) are viewing choices (auto-contrast), not properties of the data: not used.
  Thumbnails and occlusion maps are always shown with a display stretch (``static/js/preprocess.js``
  ``displayRange``/``thumbnailRGBA``), whatever this rule gives.

The page applies the same rule in ``static/js/preprocess.js`` (``robustMax``, ``dataWindow``,
``percentileWindow``, ``windowToUint8``, ``plateWindow``); ``tests/e2e/test_tiff_variants.py`` checks both
give the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from training.tiff import PixelSize, Selection, read_tiff

__all__ = [
    "INPUT_SIZE",
    "DecodedImage",
    "Window",
    "WindowChoice",
    "bits_needed",
    "data_window",
    "decode_image",
    "jpeg_reduction",
    "load_rgb",
    "percentile_window",
    "plate_window",
    "preprocess",
    "resize_area",
    "robust_max",
    "to_uint8",
]

#: Side of the square model input (px). MobileNetV2's ImageNet size, as in the paper.
INPUT_SIZE = 224
#: The robust maximum leaves out the top ⌊n / ROBUST_DIVISOR⌋ samples (0.1 %).
ROBUST_DIVISOR = 1000


@dataclass(frozen=True)
class Window:
    """The sample values mapped to 0 and 255 (:func:`to_uint8`).

    Attributes
    ----------
    low, high : float
        Sample values that become 0 and 255 (``high > low``).
    bits : int or None
        ``b`` when the window is a bit depth's ``[0, 2^b − 1]``.
    source : str
        Why this window, in plain words (e.g. ``"12-bit: the data's range"``).
    """

    low: float
    high: float
    bits: int | None = None
    source: str = "given"

    def __post_init__(self) -> None:
        if not (np.isfinite(self.low) and np.isfinite(self.high) and self.high > self.low):
            raise ValueError(f"a window needs finite low < high; got {self.low}, {self.high}")

    def to_dict(self) -> dict[str, Any]:
        """The page's window object."""
        return {"low": self.low, "high": self.high, "bits": self.bits, "source": self.source}


#: What a caller may ask for instead of an image's own window: a given one (e.g. a plate's) or each image's
#: 0.1th–99.9th percentile stretch.
WindowChoice = Window | Literal["percentile"] | None


def _finite(samples: np.ndarray) -> np.ndarray:
    flat = np.asarray(samples).ravel()
    return flat[np.isfinite(flat)] if flat.dtype.kind == "f" else flat


def robust_max(samples: np.ndarray) -> float:
    """The robust maximum of the bit-depth rule: rank ``n − 1 − ⌊n / 1000⌋`` of the finite samples."""
    flat = _finite(samples)
    n = flat.size
    if n == 0:
        return 0.0
    rank = n - 1 - n // ROBUST_DIVISOR
    return float(np.partition(flat, rank)[rank])


def percentile_window(samples: np.ndarray) -> Window:
    """The opt-in stretch ``window="percentile"``: ranks ``⌊n / 1000⌋`` and ``n − 1 − ⌊n / 1000⌋`` of the
    finite samples (the 0.1th and 99.9th percentiles as order statistics) become 0 and 255.

    Not the default: it changes an image's contrast to its own range (see the module docstring). An image
    whose two percentiles are equal (uniform) gets its :func:`data_window` instead.
    """
    flat = _finite(samples)
    n = flat.size
    if n:
        cut = n // ROBUST_DIVISOR
        low, high = np.partition(flat, (cut, n - 1 - cut))[[cut, n - 1 - cut]]
        if high > low:
            return Window(float(low), float(high), None, "the image's 0.1th–99.9th percentiles (as asked)")
    return data_window(samples)


def bits_needed(value: float) -> int:
    """The smallest ``b ≥ 8`` with ``value < 2^b`` (8 for values below 256, 12 for 3,901 or 4,095)."""
    bits = 8
    while 2.0**bits <= value:
        bits += 1
    return bits


def data_window(
    samples: np.ndarray, *, declared_bits: int | None = None, declared_source: str | None = None
) -> Window:
    """An image's own window by the bit-depth rule (the module docstring): ``[0, 2^b − 1]`` or floats' 0–1.

    Parameters
    ----------
    samples : ndarray
        The chosen plane's colour or grey samples (no alpha), any numeric dtype but ``uint8``.
    declared_bits : int, optional
        Significant bits the file declares (fewer than its container's; :class:`training.tiff.TiffPlane`).
    declared_source : str, optional
        The field that declared them, for :attr:`Window.source`.
    """
    top = robust_max(samples)
    if np.asarray(samples).dtype.kind == "f" and top <= 1.0:
        return Window(0.0, 1.0, None, "0–1: floating-point data whose 99.9th percentile is at most 1")
    needed = bits_needed(top)
    if declared_bits is not None and declared_bits >= needed:
        bits, source = declared_bits, f"{declared_bits}-bit, as the file declares ({declared_source})"
    elif declared_bits is not None:
        bits = needed
        source = f"{needed}-bit: the data exceed the {declared_bits} bits the file declares"
    else:
        bits, source = needed, f"{needed}-bit: the data's range"
    return Window(0.0, float(2**bits - 1), bits, source)


def plate_window(windows: list[Window]) -> Window:
    """One window for a plate: the widest of its images' windows (lowest low, highest high).

    Passed to every image of the plate as ``window``, it maps all wells alike, so that differences in
    brightness between wells stay differences in the model input.
    """
    if not windows:
        raise ValueError("windows must hold at least one image's window")
    low = min(w.low for w in windows)
    high = max(w.high for w in windows)
    bits = max((w.bits or 0) for w in windows)
    exact = low == 0 and bits and high == 2**bits - 1
    return Window(low, high, bits if exact else None, f"plate: the widest of {len(windows)} images' windows")


def to_uint8(pixels: np.ndarray, window: Window | None = None) -> np.ndarray:
    """Map an image of any integer or float depth to ``uint8`` by the bit-depth rule (module docstring).

    Parameters
    ----------
    pixels : ndarray, shape (H, W) or (H, W, C)
        ``uint8`` is returned as is (8-bit images are never remapped).
    window : Window, optional
        The values mapped to 0 and 255; default :func:`data_window` of ``pixels``.
    """
    if pixels.dtype == np.uint8:
        return pixels
    window = window or data_window(pixels)
    scale = 255.0 / (window.high - window.low)
    values = np.floor((pixels.astype(np.float64) - window.low) * scale + 0.5)
    return np.clip(np.nan_to_num(values, nan=0.0, posinf=255.0, neginf=0.0), 0, 255).astype(np.uint8)


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


@dataclass(frozen=True)
class DecodedImage:
    """An image file decoded to the model's 8-bit RGB, with what was chosen and read on the way.

    Attributes
    ----------
    rgb : ndarray, shape (H, W, 3), uint8
    window : Window or None
        The window used (None for 8-bit images, which are used as they are).
    data_window : Window or None
        The image's own window (:func:`data_window`), whatever was used: the page collects these for
        :func:`plate_window`.
    selection : Selection
        The plane and channel used (:mod:`training.tiff`; one of one for other formats).
    pixel_size : PixelSize or None
        From the file's metadata (TIFF only).
    objective : str or None
    warnings : tuple of str
    """

    rgb: np.ndarray
    window: Window | None = None
    data_window: Window | None = None
    selection: Selection = field(default_factory=Selection)
    pixel_size: PixelSize | None = None
    objective: str | None = None
    warnings: tuple[str, ...] = ()

    def info(self) -> dict[str, Any]:
        """What the page's worker returns about the file (``image`` of its 'result' message)."""
        return {
            "window": self.window.to_dict() if self.window else None,
            "data_window": self.data_window.to_dict() if self.data_window else None,
            "selection": self.selection.to_dict(),
            "pixel_size": self.pixel_size.to_dict() if self.pixel_size else None,
            "objective": self.objective,
        }


_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF, both byte orders
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _mapped(
    samples: np.ndarray,
    window: WindowChoice,
    *,
    declared_bits: int | None = None,
    declared_source: str | None = None,
) -> tuple[np.ndarray, Window | None, Window | None]:
    """Samples → RGB by the bit-depth rule: ``(rgb, window used, the image's own window)``."""
    if samples.dtype == np.uint8:
        return _as_rgb(samples), None, None
    own = data_window(samples, declared_bits=declared_bits, declared_source=declared_source)
    used = percentile_window(samples) if window == "percentile" else (window or own)
    return _as_rgb(to_uint8(samples, used)), used, own


def _png16(path: Path) -> np.ndarray | None:
    """The samples of a 16-bit PNG (alpha dropped), or None for any other PNG (Pillow reads those).

    Pillow keeps 16-bit grey but truncates 16-bit colour to 8 bit; imagecodecs' libpng keeps all 16.
    """
    import imagecodecs  # lazily: only 16-bit PNGs need it (tifffile imports it too, for compressed TIFFs)

    data = path.read_bytes()
    if len(data) < 29 or not data.startswith(_PNG_MAGIC) or data[24] != 16:
        return None
    samples = imagecodecs.png_decode(data)
    if samples.ndim == 3 and samples.shape[2] in (2, 4):
        samples = samples[:, :, : samples.shape[2] - 1]
    return samples


def decode_image(
    path: str | Path,
    *,
    reduce_for: int | None = None,
    plane: int | None = None,
    channel: int | str | None = None,
    window: WindowChoice = None,
) -> DecodedImage:
    """Decode an image file (JPEG, PNG, TIFF…) to ``uint8`` RGB by the rules of this module.

    Parameters
    ----------
    path : str or Path
    reduce_for : int, optional
        The model input side (px) the image is decoded for: a JPEG is then decoded at the reduced scale
        of :func:`jpeg_reduction` (DCT scaling; see the module docstring). None: full size.
    plane, channel : optional
        Which plane (index from 0) and channel (index from 0, or its name) of a TIFF
        (:func:`training.tiff.read_tiff`); default: that module's rule.
    window : Window or "percentile", optional
        Map images of more than 8 bits by this window (e.g. :func:`plate_window`) instead of their own, or
        by each image's :func:`percentile_window` (``"percentile"``).

    Raises
    ------
    training.tiff.ChannelChoiceError
        A multi-channel TIFF without one transmitted-light channel and no ``channel``.
    ValueError
        Not an image, or one that cannot be read; the message names the file.
    """
    path = Path(path)
    if isinstance(window, str) and window != "percentile":
        raise ValueError(f"window must be a Window, 'percentile' or None; got {window!r}")
    with path.open("rb") as handle:
        head = handle.read(8)
    if head[:4] in _TIFF_MAGIC:
        read = read_tiff(path, plane=plane, channel=channel)
        rgb, used, own = _mapped(
            read.samples, window, declared_bits=read.declared_bits, declared_source=read.declared_source
        )
        return DecodedImage(rgb, used, own, read.selection, read.pixel_size, read.objective, read.warnings)
    if head == _PNG_MAGIC and (samples := _png16(path)) is not None:
        rgb, used, own = _mapped(samples, window)
        return DecodedImage(rgb, used, own)
    try:
        with Image.open(path) as opened:
            if reduce_for is not None and opened.format == "JPEG":
                _draft(opened, reduce_for)
            img = ImageOps.exif_transpose(opened)
            if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                pixels = np.asarray(img)
                pixels = pixels.astype(np.uint16) if img.mode.startswith("I;16") else pixels
                rgb, used, own = _mapped(pixels, window)
                return DecodedImage(rgb, used, own)
            return DecodedImage(np.asarray(img.convert("RGB")))
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"{path.name}: not a readable image ({exc})") from exc


def load_rgb(
    path: str | Path,
    *,
    reduce_for: int | None = None,
    plane: int | None = None,
    channel: int | str | None = None,
    window: WindowChoice = None,
) -> np.ndarray:
    """:func:`decode_image`'s pixels: ``uint8`` RGB, shape ``(H, W, 3)`` (same parameters and errors)."""
    return decode_image(path, reduce_for=reduce_for, plane=plane, channel=channel, window=window).rgb


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


def preprocess(
    path: str | Path,
    size: int = INPUT_SIZE,
    *,
    plane: int | None = None,
    channel: int | str | None = None,
    window: WindowChoice = None,
) -> np.ndarray:
    """Decode (a JPEG at its reduced scale) and resize one file to a model input: what the page computes.

    ``plane``, ``channel`` and ``window`` as in :func:`decode_image`.

    Returns
    -------
    ndarray, shape (size, size, 3), float32 0–255
    """
    rgb = load_rgb(path, reduce_for=size, plane=plane, channel=channel, window=window)
    return resize_area(rgb, size)
