"""One archive image → its model input, decoded with the run's image options, and what was used.

The batch command decodes every image with the page's rule (:func:`training.preprocess.decode_image`); the
run's options choose among what a file holds, as the page's controls do:

- ``plane`` (``--plane N``, counted from 1 as the page shows planes): the plane of a z-stack or multi-page
  TIFF. A file with fewer planes is not scored, and says so.
- ``bright_field`` (``--bright-field``, a number counted from 1 or a name): besides choosing among file-name
  channels (:func:`training.instruments.group_wells`), the channel *inside* a multi-channel TIFF or OME-TIFF
  none of whose channels is named (or marked) as transmitted light. A file whose own channels say which one
  is bright field keeps that one. A file that needs a choice and gets none is not scored; its row of
  ``wells.csv`` names it and its channels (:class:`training.tiff.ChannelChoiceError`).
- ``window`` (``--window``): ``file`` (each image's own window by the bit-depth rule, the default),
  ``plate`` (one window for the plate: :func:`training.preprocess.plate_window` of its images' own windows,
  computed in the workers by :func:`data_windows` before the plate is scored) or ``percentile`` (each image
  stretched between its 0.1th and 99.9th percentiles).

:class:`WellImage` records what was used (plane, channel, window, pixel size) for ``wells.csv``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from training.preprocess import DecodedImage, Window, WindowChoice, decode_image, plate_window, resize_area
from training.tiff import ChannelChoiceError

__all__ = [
    "WINDOWS",
    "ImageOptions",
    "WellImage",
    "data_windows",
    "decode_well",
    "plate_window_of",
    "window_text",
]

#: ``--window`` choices: each file's own window (the rule), one per plate, each image's percentile stretch.
WINDOWS = ("file", "plate", "percentile")
#: What ``wells.csv`` says of an 8-bit image's window (8-bit images are never remapped).
EIGHT_BIT = "8-bit: used as it is"


@dataclass(frozen=True)
class ImageOptions:
    """The run's choices among what a file holds (see the module docstring).

    Attributes
    ----------
    plane : int, optional
        Plane to score, counted from 1 (None: the rule's, the middle of a z-stack).
    bright_field : int or str, optional
        Channel to score when a file's channels do not say which one is bright field: its number, counted
        from 1, or its name.
    window : {"file", "plate", "percentile"}
    """

    plane: int | None = None
    bright_field: int | str | None = None
    window: str = "file"

    def __post_init__(self) -> None:
        if self.plane is not None and self.plane < 1:
            raise ValueError(f"plane is counted from 1; got {self.plane}")
        if self.window not in WINDOWS:
            raise ValueError(f"window must be one of {', '.join(WINDOWS)}; got {self.window!r}")

    def to_dict(self) -> dict[str, Any]:
        """The options as ``run.json`` and each ``plate.json`` record them."""
        return {"plane": self.plane, "bright_field": self.bright_field, "window": self.window}


@dataclass(frozen=True)
class WellImage:
    """What one image was scored with, for ``wells.csv``.

    Attributes
    ----------
    plane, channel : int
        Counted from 1, as the page shows them (1 for formats with one plane and channel).
    channel_name : str or None
        The channel's name in the file, when it has one.
    window : str
        The window used and why, with its range in sample values (:func:`window_text`).
    pixel_size_um : float or None
        µm per pixel along x, when the file records it.
    width_px : int
        The decoded image's width (px; a JPEG's reduced width, but JPEGs record no pixel size).
    """

    plane: int
    channel: int
    channel_name: str | None
    window: str
    pixel_size_um: float | None
    width_px: int


def window_text(window: Window | None) -> str:
    """A window in plain words with its range: ``"12-bit: the data's range (0–4095)"``."""
    if window is None:
        return EIGHT_BIT
    return f"{window.source} ({window.low:g}–{window.high:g})"


def _named(path: Path, message: str) -> str:
    """``message`` starting with the file's name (the reader's errors do not all name it)."""
    return message if message.startswith(f"{path.name}:") else f"{path.name}: {message}"


def _channel(bright_field: int | str) -> int | str:
    """``decode_image``'s ``channel``: an index from 0, or the name as given."""
    return bright_field - 1 if isinstance(bright_field, int) else bright_field


def _decode(path: Path, size: int, options: ImageOptions, window: WindowChoice) -> DecodedImage:
    """:func:`decode_image` with the options; ValueError naming the file when it cannot be scored."""
    plane = None if options.plane is None else options.plane - 1
    try:
        try:
            decoded = decode_image(path, reduce_for=size, plane=plane, window=window)
        except ChannelChoiceError as exc:
            if options.bright_field is None:
                raise ValueError(
                    f"{exc} with --bright-field (its number, counted from 1, or its name); not scored"
                ) from exc
            channel = _channel(options.bright_field)
            decoded = decode_image(path, reduce_for=size, plane=plane, channel=channel, window=window)
    except ValueError as exc:
        raise ValueError(_named(path, str(exc))) from exc
    if plane is not None and plane >= decoded.selection.planes:  # formats other than TIFF: one plane
        raise ValueError(_named(path, f"plane {plane + 1} was asked for, but the file has 1 plane(s)"))
    return decoded


def decode_well(
    path: str | Path, size: int, options: ImageOptions, plate: Window | None = None
) -> tuple[np.ndarray, WellImage]:
    """One image's model input and what it was scored with.

    Parameters
    ----------
    path : str or Path
    size : int
        The model's input side (px).
    options : ImageOptions
    plate : Window, optional
        The plate's window (:func:`data_windows`, then :func:`training.preprocess.plate_window`), used when
        ``options.window`` is ``"plate"``; None there: each image's own (a plate of 8-bit images).

    Returns
    -------
    input : ndarray, shape (size, size, 3), float32 0–255
        As :func:`training.preprocess.preprocess` gives it for the same plane, channel and window.
    used : WellImage

    Raises
    ------
    ValueError
        The file cannot be scored (not an image, truncated, a plane or channel it lacks, a channel to
        choose); the message names the file and says why.
    """
    path = Path(path)
    chosen: WindowChoice = "percentile" if options.window == "percentile" else plate
    decoded = _decode(path, size, options, None if options.window == "file" else chosen)
    selection = decoded.selection
    used = WellImage(
        plane=selection.plane + 1,
        channel=selection.channel + 1,
        channel_name=selection.channel_name,
        window=window_text(decoded.window),
        pixel_size_um=decoded.pixel_size.x_um if decoded.pixel_size else None,
        width_px=int(decoded.rgb.shape[1]),
    )
    return resize_area(decoded.rgb, size), used


def data_windows(paths: Sequence[str | Path], size: int, options: ImageOptions) -> list[Window]:
    """The own windows (:attr:`training.preprocess.DecodedImage.data_window`) of the images that have one,
    with the run's plane and channel: what :func:`training.preprocess.plate_window` takes.

    8-bit images have none; a file that cannot be decoded is skipped here (scoring names it).
    """
    found = []
    for path in paths:
        try:
            window = _decode(Path(path), size, options, None).data_window
        except (ValueError, OSError, Image.DecompressionBombError):
            continue
        if window is not None:
            found.append(window)
    return found


def plate_window_of(*batches: Sequence[Window]) -> Window | None:
    """The plate's window from its batches' :func:`data_windows` (None when no image has one)."""
    windows = [w for batch in batches for w in batch]
    return plate_window(windows) if windows else None
