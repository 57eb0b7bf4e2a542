"""One plane of a microscope TIFF, as the page reads it (``static/js/tiff.js``): which plane and channel, and
what the file says about its bit depth, pixel size and objective.

tifffile (with imagecodecs) decodes every variant microscopes write: uncompressed, LZW, Deflate, PackBits,
JPEG; strips and tiles; BigTIFF; 8-, 10/12/14- (packed), 16- and 32-bit integers and 16/32/64-bit floats.
The rules below decide *which* pixels become the model input; both sides apply them alike
(docs/formats.md):

**Planes.** A file whose metadata (:mod:`training.tiffmeta`: OME-XML, ImageJ) declares a z-stack uses its
middle plane, ``(Z − 1) // 2`` (0-based), unless ``plane`` says otherwise; time series use their first
time point; OME files with several images (series) their first image. A multi-page TIFF without such
metadata is a list of pages of unknown meaning: the first page is used unless ``plane`` picks another.
Reduced-resolution pages (``NewSubfileType`` bit 0) are never planes.

**Channels.** Channels are OME/ImageJ channels (one page each) or, in a grey page with several samples
that are not alpha, its samples. With one channel there is nothing to choose. Otherwise ``channel`` (an
index from 0, or a name) picks one; without it, the one channel whose name is a transmitted-light name
(:func:`training.instruments.is_transmitted_light`: bright field, BF, TL, phase, DIC…) or which OME marks
as transmitted light (``IlluminationType="Transmitted"``, ``ContrastMethod`` bright field, phase or DIC)
is used. When none or several are, :class:`ChannelChoiceError` lists them: a fluorescence channel would
give a meaningless OD450, so nothing is guessed.

Every choice made among several is stated in :attr:`TiffPlane.warnings`, in the page's words.

**Bad files.** A file whose plane has a strip or tile that runs past the end of the file is truncated
("B07.tif: the file ends before its image data (truncated?)"), and one whose compressed data do not decode
is corrupt: both raise, as the page refuses them, instead of giving an image with zeros where data are
missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import tifffile

from training.instruments import is_transmitted_light
from training.tiffmeta import (
    ome_is_transmitted,
    ome_plane_ifds,
    parse_imagej,
    parse_metaseries,
    parse_ome,
    plane_index,
    resolution_pixel_size,
)

__all__ = [
    "ChannelChoiceError",
    "Layout",
    "PixelSize",
    "Selection",
    "TiffPlane",
    "TiffScale",
    "choose_channel",
    "choose_plane",
    "file_layout",
    "read_tiff",
    "read_tiff_scale",
]

#: Bits of each integer container (signed: the bits of its positive range).
_CONTAINER_BITS = {"uint8": 8, "uint16": 16, "uint32": 32, "int8": 7, "int16": 15, "int32": 31}
_SUPPORTED = {
    1: (8, 10, 12, 14, 16, 32),  # unsigned integers (10–14: packed, read as 16 bit)
    2: (8, 16, 32),  # signed integers
    3: (16, 32, 64),  # floats
}
_ALPHA = (1, 2)  # ExtraSamples: associated, unassociated alpha


class ChannelChoiceError(ValueError):
    """The file holds several channels and none (or more than one) is named as transmitted light.

    Attributes
    ----------
    channels : tuple of (int, str or None)
        Each channel's index (from 0) and name.
    """

    def __init__(self, message: str, channels: list[tuple[int, str | None]]):
        super().__init__(message)
        self.channels = tuple(channels)


@dataclass(frozen=True)
class PixelSize:
    """Physical size of one pixel (µm) and where the file says so."""

    x_um: float
    y_um: float
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"x_um": self.x_um, "y_um": self.y_um, "source": self.source}


@dataclass(frozen=True)
class Selection:
    """Which plane and channel of a file were used (indices from 0) among how many."""

    plane: int = 0
    planes: int = 1
    plane_axis: str = "none"  # "z" (declared z-stack), "page" (pages of unknown meaning) or "none"
    channel: int = 0
    channels: int = 1
    channel_name: str | None = None
    timepoints: int = 1

    def to_dict(self) -> dict[str, Any]:
        """The page's ``selection`` object."""
        return {
            "plane": self.plane,
            "planes": self.planes,
            "plane_axis": self.plane_axis,
            "channel": self.channel,
            "channels": self.channels,
            "channel_name": self.channel_name,
            "timepoints": self.timepoints,
        }


@dataclass(frozen=True)
class TiffPlane:
    """The samples of one plane and channel, as stored, with what the file says about them.

    Attributes
    ----------
    samples : ndarray, shape (H, W) grey or (H, W, 3) RGB
        Native dtype (uint8, uint16, int16, uint32, int32, float16/32/64); alpha dropped.
    declared_bits : int or None
        Significant bits the file declares, when fewer than its container's (``training.preprocess``).
    declared_source : str or None
        Which field declared them (``"OME SignificantBits"``…).
    pixel_size : PixelSize or None
    objective : str or None
        E.g. ``"10×"`` (OME nominal magnification) or MetaXpress' ``"10X Plan Apo Lambda"``.
    selection : Selection
    warnings : tuple of str
        Each choice made among several planes, channels or images, in plain words.
    """

    samples: np.ndarray
    declared_bits: int | None
    declared_source: str | None
    pixel_size: PixelSize | None
    objective: str | None
    selection: Selection
    warnings: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class TiffScale:
    """A TIFF's image size (px) and what it says about its scale, from its first page's tags (no pixels).

    ``pixel_size`` and ``objective`` are what :func:`read_tiff` gives for the same file.
    """

    width: int
    height: int
    pixel_size: PixelSize | None
    objective: str | None


@dataclass(frozen=True)
class Layout:
    """Planes and channels of a file: which IFD holds plane (z, c, t), and the channels' names."""

    source: str  # "OME-XML", "ImageJ" or "pages"
    size_z: int
    size_c: int
    size_t: int
    channel_names: tuple[str | None, ...]
    channel_marked: tuple[bool, ...]  # marked as transmitted light by OME attributes
    ifds: dict[tuple[int, int, int], int]
    images: int = 1


def file_layout(
    description: str, n_ifds: int, main_ifds: list[int], *, file_name: str | None = None
) -> Layout:
    """The layout of a file from its first ``ImageDescription`` and its IFDs.

    Parameters
    ----------
    description : str
        The first page's ``ImageDescription`` ("" when none).
    n_ifds : int
        IFDs in the file's main chain.
    main_ifds : list of int
        Those that are not reduced-resolution copies (``NewSubfileType`` bit 0 clear).
    file_name : str, optional
        The file's name, to recognise OME ``TiffData`` naming this file.

    Raises
    ------
    ValueError
        An ImageJ file whose planes are not one IFD each (ImageJ's > 4 GB layout).
    """
    ome = parse_ome(description)
    if ome is not None:
        mapping = ome_plane_ifds(ome, n_ifds, file_name=file_name)
        z, c, t = ome["size_z"], ome["size_c"], ome["size_t"]
        channels = ome["channels"] if len(ome["channels"]) == c else [{}] * c
        ifds = {
            (zi, ci, ti): mapping[plane_index(ome, zi, ci, ti)]
            for zi in range(z) for ci in range(c) for ti in range(t)
            if plane_index(ome, zi, ci, ti) in mapping
        }  # fmt: skip
        return Layout(
            source="OME-XML",
            size_z=z,
            size_c=c,
            size_t=t,
            channel_names=tuple(ch.get("name") for ch in channels),
            channel_marked=tuple(ome_is_transmitted(ch) for ch in channels),
            ifds=ifds,
            images=ome["images"],
        )
    imagej = parse_imagej(description)
    if imagej is not None and imagej["images"] > 1:
        c, z, t = imagej["channels"], imagej["slices"], imagej["frames"]
        if c * z * t != imagej["images"]:  # a plain stack: images=N without channels/slices/frames
            c, z, t = 1, imagej["images"], 1
        if imagej["images"] > n_ifds:
            raise ValueError(
                f"this ImageJ file holds {imagej['images']} images in {n_ifds} IFD(s) (ImageJ's layout for "
                "files over 4 GB), which cannot be read here: save the plane you need as its own TIFF"
            )
        ifds = {
            (zi, ci, ti): ti * z * c + zi * c + ci for zi in range(z) for ci in range(c) for ti in range(t)
        }
        return Layout("ImageJ", z, c, t, (None,) * c, (False,) * c, ifds)
    pages = main_ifds or [0]
    return Layout("pages", len(pages), 1, 1, (None,), (False,), {(i, 0, 0): p for i, p in enumerate(pages)})


def _label(index: int, name: str | None) -> str:
    return name if name else f"channel {index + 1}"


def choose_channel(
    names: tuple[str | None, ...] | list[str | None],
    marked: tuple[bool, ...] | list[bool],
    channel: int | str | None,
) -> tuple[int, str | None]:
    """The channel to use (index from 0) and the sentence saying so (None when there was one channel).

    Raises
    ------
    ChannelChoiceError
        Several channels and none, or several, named or marked as transmitted light.
    ValueError
        ``channel`` names no channel of the file.
    """
    n = len(names)
    labels = [_label(i, name) for i, name in enumerate(names)]
    listed = [(i, name) for i, name in enumerate(names)]
    if channel is not None:
        if isinstance(channel, str):
            found = [i for i, name in enumerate(names) if name and name.lower() == channel.strip().lower()]
            index = found[0] if found else -1
        else:
            index = int(channel)
        if not 0 <= index < n:
            asked = repr(channel) if isinstance(channel, str) else str(int(channel) + 1)
            raise ValueError(f"channel {asked} was asked for, but the file holds {n}: {', '.join(labels)}")
        return index, (f"channel {index + 1} of {n} ({labels[index]}) was used, as chosen" if n > 1 else None)
    if n == 1:
        return 0, None
    transmitted = [i for i in range(n) if is_transmitted_light(names[i]) or marked[i]]
    if len(transmitted) == 1:
        index = transmitted[0]
        return index, f"channel {index + 1} of {n} ({labels[index]}) was used: the transmitted-light one"
    if transmitted:
        which = ", ".join(labels[i] for i in transmitted)
        raise ChannelChoiceError(
            f"this file holds several transmitted-light channels ({which}): choose one", listed
        )
    raise ChannelChoiceError(
        f"this file holds {n} channels ({', '.join(labels)}) and none is named as bright field: choose one",
        listed,
    )


def choose_plane(count: int, axis: str, plane: int | None) -> tuple[int, str | None]:
    """The plane to use (index from 0) and the sentence saying so (None when there was one plane).

    ``axis`` is ``"z"`` for a declared z-stack (default: the middle plane, ``(count − 1) // 2``) or
    ``"page"`` for pages of unknown meaning (default: the first).

    Raises
    ------
    ValueError
        ``plane`` is not one of the file's planes.
    """
    if plane is not None:
        if not 0 <= int(plane) < count:
            raise ValueError(f"plane {int(plane) + 1} was asked for, but the file has {count} plane(s)")
        index = int(plane)
        return index, (f"plane {index + 1} of {count} was used, as chosen" if count > 1 else None)
    if count == 1:
        return 0, None
    if axis == "z":
        index = (count - 1) // 2
        return index, f"z-stack of {count} planes: the middle one (plane {index + 1}) was used"
    return 0, f"multi-page TIFF ({count} pages): only the first page was used"


def _tag(page: tifffile.TiffPage, code: int) -> Any:
    tag = page.tags.get(code)
    return None if tag is None else tag.value


def _rational(value: Any) -> float | None:
    if isinstance(value, tuple) and len(value) == 2:
        return value[0] / value[1] if value[1] else None
    return float(value) if value is not None else None


def _pixel_size(
    description: str, page: tifffile.TiffPage, ome: dict[str, Any] | None, meta: dict[str, Any] | None
) -> PixelSize | None:
    """OME ``PhysicalSize``, else ImageJ ``unit=`` with the resolution tags, else MetaSeries' spatial
    calibration, else the resolution tags with their ``ResolutionUnit``."""
    if ome is not None and ome["pixel_size_um"]:
        x, y = ome["pixel_size_um"]
        return PixelSize(x, y, "OME PhysicalSizeX/Y")
    x_res, y_res = _rational(_tag(page, 282)), _rational(_tag(page, 283))
    imagej = parse_imagej(description)
    if imagej is not None and imagej["unit"]:
        size = resolution_pixel_size(x_res, y_res, None, imagej["unit"])
        if size:
            return PixelSize(size[0], size[1], "ImageJ unit and XResolution/YResolution")
    if meta is not None and meta["pixel_size_um"]:
        x, y = meta["pixel_size_um"]
        return PixelSize(x, y, "MetaSeries spatial calibration")
    size = resolution_pixel_size(x_res, y_res, _tag(page, 296), None)
    return PixelSize(size[0], size[1], "TIFF XResolution/YResolution") if size else None


def _objective(ome: dict[str, Any] | None, meta: dict[str, Any] | None) -> str | None:
    """The objective OME (nominal magnification) or MetaSeries names, else None."""
    return (ome or {}).get("objective") or (meta or {}).get("objective")


def _declared_bits(
    page: tifffile.TiffPage,
    dtype: np.dtype,
    ome: dict[str, Any] | None,
    meta: dict[str, Any] | None,
    imagej: dict[str, Any] | None,
) -> tuple[int | None, str | None]:
    """Significant bits the file declares, when fewer than the container's (a 16 for uint16 says nothing)."""
    container = _CONTAINER_BITS.get(np.dtype(dtype).name)
    if container is None:  # floats: no bit depth
        return None, None
    max_sample = [_tag(page, 341), _tag(page, 281)]
    candidates = [
        (ome["significant_bits"] if ome else None, "OME SignificantBits"),
        (meta["camera_bits"] if meta else None, "MetaSeries camera bit depth"),
        (imagej["display_bits"] if imagej else None, "ImageJ display range"),
        (page.bitspersample if page.bitspersample not in (8, 16, 32, 64) else None, "BitsPerSample"),
        *[
            (int(np.max(v)).bit_length() if v is not None else None, name)
            for v, name in zip(max_sample, ("SMaxSampleValue", "MaxSampleValue"), strict=True)
        ],
    ]
    for bits, source in candidates:
        if bits is not None and 0 < bits < container:
            return int(bits), source
    return None, None


def _check_complete(page: tifffile.TiffPage, file_size: int, file_name: str) -> None:
    """Raise when a strip or tile of ``page`` lies (partly) beyond the end of the file (``file_size`` bytes).

    Decoders read such a file without complaint and fill what is missing with zeros (tifffile's LZW, the
    page's geotiff.js): a black band or a black image would be scored as if it were the well.
    """
    ends = [
        int(offset) + int(count)
        for offset, count in zip(page.dataoffsets, page.databytecounts, strict=True)
        if count  # a strip or tile of 0 bytes is absent (sparse files): filled by design, not truncated
    ]
    if ends and max(ends) > file_size:
        raise ValueError(f"{file_name}: the file ends before its image data (truncated?)")


def _decoded(page: tifffile.TiffPage, file_name: str) -> np.ndarray:
    """``page.asarray()``, with a decoder's failure (corrupt compressed data) named as a bad file."""
    try:
        return page.asarray()
    except Exception as exc:  # tifffile and imagecodecs raise a type per codec (TiffFileError, DeflateError…)
        raise ValueError(
            f"{file_name}: corrupt or unreadable TIFF file: its image data do not decode "
            f"({type(exc).__name__}: {exc})"
        ) from exc


def _page_samples(page: tifffile.TiffPage, file_name: str) -> tuple[np.ndarray, bool, int]:
    """The page as ``(H, W, S)`` samples (native dtype), whether they are RGB (photometric RGB, or YCbCr
    decoded by JPEG), and how many grey channels they hold (samples that are not alpha; 1 for RGB)."""
    photometric = int(page.photometric)
    fmt, bits = int(page.sampleformat), int(page.bitspersample)
    if bits not in _SUPPORTED.get(fmt, ()):
        kind = {1: "unsigned", 2: "signed", 3: "floating-point"}.get(fmt, f"sample format {fmt}")
        raise ValueError(f"{file_name}: {bits}-bit {kind} TIFF samples cannot be read here")
    jpeg_colour = photometric == 6 and int(page.compression) == 7
    if photometric not in (0, 1, 2) and not jpeg_colour:
        raise ValueError(
            f"{file_name}: TIFF photometric interpretation {photometric} (palette, CMYK, YCbCr, CIELab…) "
            "cannot be read here: export the image as grey or RGB"
        )
    data = _decoded(page, file_name)
    spp = int(page.samplesperpixel)
    if spp == 1:
        return data.reshape(data.shape[-2], data.shape[-1], 1), False, 1
    if int(page.planarconfig) == 2:  # separate planes: (S, H, W)
        data = np.moveaxis(data, 0, -1)
    if photometric == 2 or jpeg_colour:
        return data, True, 1
    extras = list(page.extrasamples or ())
    return data, False, max(spp - sum(1 for e in extras if int(e) in _ALPHA), 1)


def _open(path: Path) -> tifffile.TiffFile:
    """The file opened by tifffile (a context manager); ValueError naming the file when it cannot be."""
    try:
        return tifffile.TiffFile(path)
    except Exception as exc:  # tifffile raises several types for corrupt files
        raise ValueError(f"{path.name}: not a readable TIFF ({exc})") from exc


def read_tiff(path: str | Path, *, plane: int | None = None, channel: int | str | None = None) -> TiffPlane:
    """Read one plane and channel of a TIFF (the rules of this module's docstring).

    Raises
    ------
    ChannelChoiceError
        Several channels and none to choose by its name (the page asks the user).
    ValueError
        Not a readable TIFF, a truncated one (a strip or tile of the plane runs past the end of the file),
        compressed data that do not decode, a variant that cannot be read, or a ``plane``/``channel`` the
        file lacks; the message names the file.
    """
    path = Path(path)
    with _open(path) as tif:
        # Pages, not frames: tifffile returns TiffPage objects unless asked for frames (useframes).
        pages = [cast(tifffile.TiffPage, page) for page in tif.pages]
        if not pages:
            raise ValueError(f"{path.name}: not a readable TIFF (no image in the file)")
        first = pages[0]
        description = str(first.description or "")
        main = [i for i, p in enumerate(pages) if not int(p.subfiletype or 0) & 1]
        layout = file_layout(description, len(pages), main, file_name=path.name)
        warnings: list[str] = []
        if layout.images > 1:
            warnings.append(f"the file holds {layout.images} images (series): the first was used")
        # A file with one declared channel may still hold channels as samples: the option applies there.
        by_layout = channel if layout.size_c > 1 else None
        layout_channel, said = choose_channel(layout.channel_names, layout.channel_marked, by_layout)
        axis = "z" if layout.source != "pages" else "page"
        plane_used, plane_said = choose_plane(layout.size_z, axis, plane)
        warnings += [w for w in (plane_said, said) if w]
        if layout.size_t > 1:
            warnings.append(f"time series of {layout.size_t} time points: the first was used")
        ifd = layout.ifds.get((plane_used, layout_channel, 0))
        if ifd is None:
            raise ValueError(
                f"{path.name}: plane {plane_used + 1}, channel {layout_channel + 1} is not in this file "
                "(its OME-XML puts it in another file of the acquisition)"
            )
        page = pages[ifd]
        _check_complete(page, tif.filehandle.size, path.name)
        samples, rgb, grey_channels = _page_samples(page, path.name)
        channel_index, channel_name, channels = (
            layout_channel,
            layout.channel_names[layout_channel],
            layout.size_c,
        )
        if grey_channels > 1 and layout.size_c == 1:  # a grey page whose samples are channels
            n = grey_channels
            channel_index, sample_said = choose_channel([None] * n, [False] * n, channel)
            samples, channels, channel_name = samples[:, :, channel_index], n, None
            warnings += [sample_said] if sample_said else []
        else:
            if layout.size_c == 1 and channel is not None:
                choose_channel([None], [False], channel)  # one channel: only 0 (or its name) is valid
            samples = samples[:, :, :3] if rgb else samples[:, :, 0]
        if int(page.photometric) == 0:
            warnings.append("TIFF stores white as zero: used as stored (as training does), not inverted")
        ome = parse_ome(description)
        meta = parse_metaseries(description)
        declared, declared_source = _declared_bits(page, samples.dtype, ome, meta, parse_imagej(description))
        return TiffPlane(
            samples=np.ascontiguousarray(samples),
            declared_bits=declared,
            declared_source=declared_source,
            pixel_size=_pixel_size(description, page, ome, meta),
            objective=_objective(ome, meta),
            selection=Selection(
                plane=plane_used,
                planes=layout.size_z,
                plane_axis=axis if layout.size_z > 1 else "none",
                channel=channel_index,
                channels=channels,
                channel_name=channel_name,
                timepoints=layout.size_t,
            ),
            warnings=tuple(warnings),
        )


def read_tiff_scale(path: str | Path) -> TiffScale:
    """The size, pixel size and objective of a TIFF without decoding its pixels (model cards' ``imaging``).

    Raises
    ------
    ValueError
        Not a readable TIFF; the message names the file.
    """
    path = Path(path)
    with _open(path) as tif:
        if not tif.pages:
            raise ValueError(f"{path.name}: not a readable TIFF (no image in the file)")
        page = cast(tifffile.TiffPage, tif.pages[0])
        description = str(page.description or "")
        ome, meta = parse_ome(description), parse_metaseries(description)
        return TiffScale(
            width=int(page.imagewidth),
            height=int(page.imagelength),
            pixel_size=_pixel_size(description, page, ome, meta),
            objective=_objective(ome, meta),
        )
