"""What a microscope TIFF says about itself: OME-XML, ImageJ and MetaSeries descriptions, resolution tags.

The twin of ``static/js/tiffmeta.js``: pure functions from a TIFF's ``ImageDescription`` text and tag values
to plain dicts, with the same results on both sides (tests/training/test_tiff_meta.py and
tests/e2e/test_tiff_variants.py). Nothing here reads pixels; :mod:`training.tiff` does.

- **OME-XML** (an OME-TIFF's first ``ImageDescription``): the first ``Image``'s ``Pixels`` — sizes,
  ``DimensionOrder``, ``SignificantBits``, ``PhysicalSizeX``/``Y`` with their units — its channels (name,
  samples per pixel, illumination type, contrast method), its ``TiffData`` (which IFD holds which plane) and
  the objective's nominal magnification.
- **ImageJ** (``ImageJ=…`` key=value lines): ``channels``, ``slices``, ``frames``, ``images``, ``unit``.
- **MetaSeries** (MetaMorph / MetaXpress ``<MetaData>``): spatial calibration, camera bit depth, objective.
- **Resolution tags**: ``XResolution``/``YResolution`` (pixels per unit) with ``ResolutionUnit``.
- **Scale check**: :func:`pixel_size_warning` compares an image's pixel size with the one a model card's
  ``imaging`` block records (docs/model-card.md) and says so in plain words when they differ by more than 2×.

Display ranges (ImageJ ``min=``/``max=``, MetaSeries ``scale-min``/``scale-max``) are not read: they are a
viewing choice, not a property of the data (see ``training/preprocess.py``, "Bit depth").
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ElementTree
from typing import Any

__all__ = [
    "UNITS_UM",
    "length_um",
    "ome_is_transmitted",
    "ome_plane_ifds",
    "parse_imagej",
    "parse_metaseries",
    "parse_ome",
    "pixel_size_warning",
    "plane_index",
    "resolution_pixel_size",
]

#: Length units → µm (OME ``UnitsLength`` symbols, ImageJ's ``unit=`` words, MetaSeries' ``um``).
UNITS_UM = {
    "m": 1e6,
    "dm": 1e5,
    "cm": 1e4,
    "mm": 1e3,
    "µm": 1.0,
    "μm": 1.0,
    "um": 1.0,
    "micron": 1.0,
    "microns": 1.0,
    "micrometer": 1.0,
    "micrometre": 1.0,
    "nm": 1e-3,
    "pm": 1e-6,
    "å": 1e-4,
    "inch": 25400.0,
    "in": 25400.0,
}
#: TIFF ``ResolutionUnit`` → µm per unit (2 inch, 3 cm; 4 mm and 5 µm are tifffile's extensions).
_RESOLUTION_UNITS_UM = {2: 25400.0, 3: 1e4, 4: 1e3, 5: 1.0}
#: Pixel sizes a resolution tag may give for a microscope image (µm); outside, the tag is a print resolution
#: (72, 96 or 300 dpi written by office software: 353, 265, 85 µm) and says nothing about the sample.
_TAG_PIXEL_UM = (0.01, 50.0)
#: Images and a model's training images differ in scale when their sizes differ by more than this factor.
SCALE_WARNING_RATIO = 2.0
#: OME contrast methods of transmitted light.
_TRANSMITTED_CONTRAST = frozenset({"brightfield", "phase", "dic"})


def length_um(value: Any, unit: str | None) -> float | None:
    """A length in µm from a value and a unit name (None: unknown unit, or not a positive number)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    factor = UNITS_UM.get(str(unit if unit is not None else "µm").strip().lower())
    if factor is None or not (number > 0) or number == float("inf"):
        return None
    return number * factor


def _local(tag: str) -> str:
    """An element's name without its namespace (``{ns}Image`` → ``Image``)."""
    return tag.rsplit("}", 1)[-1]


def _int(text: str | None, default: int) -> int:
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        return default


def parse_ome(text: str) -> dict[str, Any] | None:
    """The first image of an OME-XML document, or None when ``text`` is not OME-XML.

    Returns
    -------
    dict
        ``{"images": number of Image elements, "size_z", "size_c" (planes per z and t: an RGB channel
        counts once), "size_t", "dimension_order",
        "significant_bits" (int or None), "pixel_size_um": [x, y] or None, "objective": "10×" or None,
        "uuid": the document's UUID or None, "channels": [{"name", "samples", "illumination", "contrast"}],
        "tiff_data": [{"ifd", "first_z", "first_c", "first_t", "plane_count", "has_ifd", "uuid",
        "file_name"}]}`` (absent attributes as None).
    """
    if "<OME" not in text[:4096]:
        return None
    try:
        root = ElementTree.fromstring(text.strip().encode("utf-8"))
    except ElementTree.ParseError:
        return None
    if _local(root.tag) != "OME":
        return None
    images = [e for e in root if _local(e.tag) == "Image"]
    if not images:
        return None
    image = images[0]
    pixels = next((e for e in image if _local(e.tag) == "Pixels"), None)
    if pixels is None:
        return None
    get = pixels.attrib.get
    x_um = length_um(get("PhysicalSizeX"), get("PhysicalSizeXUnit"))
    y_um = length_um(get("PhysicalSizeY"), get("PhysicalSizeYUnit"))
    channels = [
        {
            "name": e.attrib.get("Name"),
            "samples": _int(e.attrib.get("SamplesPerPixel"), 1),
            "illumination": e.attrib.get("IlluminationType"),
            "contrast": e.attrib.get("ContrastMethod"),
        }
        for e in pixels
        if _local(e.tag) == "Channel"
    ]
    tiff_data = []
    for e in pixels:
        if _local(e.tag) != "TiffData":
            continue
        uuid = next((u for u in e if _local(u.tag) == "UUID"), None)
        a = e.attrib
        tiff_data.append(
            {
                "ifd": _int(a.get("IFD"), 0),
                "has_ifd": "IFD" in a,
                "first_z": _int(a.get("FirstZ"), 0),
                "first_c": _int(a.get("FirstC"), 0),
                "first_t": _int(a.get("FirstT"), 0),
                "plane_count": _int(a.get("PlaneCount"), -1) if "PlaneCount" in a else None,
                "uuid": (uuid.text or "").strip() if uuid is not None else None,
                "file_name": uuid.attrib.get("FileName") if uuid is not None else None,
            }
        )
    bits = _int(get("SignificantBits"), 0)
    size_c = max(1, _int(get("SizeC"), 1))
    if channels and len(channels) < size_c == sum(max(1, int(c["samples"] or 1)) for c in channels):
        size_c = len(channels)  # SizeC counts samples: an RGB channel (SamplesPerPixel 3) is one plane
    return {
        "images": len(images),
        "size_z": max(1, _int(get("SizeZ"), 1)),
        "size_c": size_c,
        "size_t": max(1, _int(get("SizeT"), 1)),
        "dimension_order": str(get("DimensionOrder") or "XYZCT").upper(),
        "significant_bits": bits if bits > 0 else None,
        "pixel_size_um": [x_um, y_um if y_um is not None else x_um] if x_um is not None else None,
        "objective": _ome_objective(root, image),
        "uuid": root.attrib.get("UUID"),
        "channels": channels,
        "tiff_data": tiff_data,
    }


def _ome_objective(root: ElementTree.Element, image: ElementTree.Element) -> str | None:
    """Nominal magnification of the image's objective (``ObjectiveSettings`` ID, else the only one)."""
    objectives = [
        e for instrument in root if _local(instrument.tag) == "Instrument" for e in instrument
        if _local(e.tag) == "Objective"
    ]  # fmt: skip
    settings = next((e for e in image if _local(e.tag) == "ObjectiveSettings"), None)
    wanted = settings.attrib.get("ID") if settings is not None else None
    chosen = next((o for o in objectives if o.attrib.get("ID") == wanted), None)
    if chosen is None and len(objectives) == 1:
        chosen = objectives[0]
    if chosen is None:
        return None
    try:
        magnification = float(chosen.attrib["NominalMagnification"])
    except (KeyError, ValueError):
        return None
    return f"{magnification:g}×" if magnification > 0 else None


def ome_is_transmitted(channel: dict[str, Any]) -> bool:
    """An OME channel marked as transmitted light by its own attributes (not its name)."""
    return str(channel.get("illumination") or "").lower() == "transmitted" or (
        str(channel.get("contrast") or "").lower() in _TRANSMITTED_CONTRAST
    )


def ome_plane_ifds(ome: dict[str, Any], n_ifds: int, *, file_name: str | None = None) -> dict[int, int]:
    """Which IFD of this file holds each plane: linear plane index (``DimensionOrder``) → IFD index.

    The OME-TIFF rules: a ``TiffData`` maps ``PlaneCount`` planes, from ``(FirstZ, FirstC, FirstT)`` on in
    the order of ``DimensionOrder``, to consecutive IFDs from ``IFD``; ``PlaneCount`` defaults to 1 when
    ``IFD`` is given and to every IFD of the file otherwise; no ``TiffData`` maps plane i to IFD i. Planes
    whose ``UUID`` names another file (neither this document's UUID nor ``file_name``) are left out.
    """
    n_planes = ome["size_z"] * ome["size_c"] * ome["size_t"]
    entries = ome["tiff_data"] or [
        {
            "ifd": 0, "has_ifd": False, "first_z": 0, "first_c": 0, "first_t": 0, "plane_count": None,
            "uuid": None, "file_name": None,
        }
    ]  # fmt: skip
    mapping: dict[int, int] = {}
    for entry in entries:
        uuid, name = entry["uuid"], entry["file_name"]
        elsewhere = uuid is not None and uuid != ome["uuid"] and not (file_name and name == file_name)
        if elsewhere:
            continue
        count = entry["plane_count"]
        if count is None:
            count = 1 if entry["has_ifd"] else n_ifds
        start = plane_index(ome, entry["first_z"], entry["first_c"], entry["first_t"])
        for k in range(max(count, 0)):
            if start + k < n_planes and entry["ifd"] + k < n_ifds:
                mapping[start + k] = entry["ifd"] + k
    return mapping


def plane_index(ome: dict[str, Any], z: int, c: int, t: int) -> int:
    """Linear index of plane (z, c, t) in ``DimensionOrder`` (e.g. ``XYZCT``: z fastest, then c, then t)."""
    sizes = {"Z": ome["size_z"], "C": ome["size_c"], "T": ome["size_t"]}
    position = {"Z": z, "C": c, "T": t}
    index, stride = 0, 1
    for axis in ome["dimension_order"][2:5]:
        index += position[axis] * stride
        stride *= sizes[axis]
    return index


def parse_imagej(text: str) -> dict[str, Any] | None:
    """An ImageJ description (``ImageJ=1.54f``, ``channels=2``, ``slices=5``, ``unit=micron``…) or None.

    Returns
    -------
    dict
        ``{"images", "channels", "slices", "frames", "unit", "display_bits"}`` (counts default to 1,
        ``images`` to their product; ``unit`` None when absent; ``display_bits`` ``b`` when the display range
        ``min=``/``max=`` is exactly ``0``–``2^b − 1``, ImageJ's "b-bit range", else None). ImageJ writes
        µm as ``\\u00B5m``: unescaped here.
    """
    if not text.startswith("ImageJ="):
        return None
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    counts = {k: max(1, _int(values.get(k), 1)) for k in ("channels", "slices", "frames")}
    unit = values.get("unit")
    if unit is not None:
        unit = unit.replace("\\u00B5", "µ").replace("\\u00b5", "µ")
    images = _int(values.get("images"), counts["channels"] * counts["slices"] * counts["frames"])
    display_bits = _bit_depth_range(values.get("min"), values.get("max"))
    return {"images": max(1, images), **counts, "unit": unit, "display_bits": display_bits}


def _bit_depth_range(low: str | None, high: str | None) -> int | None:
    """``b`` when a display range is exactly a bit depth's, ``0`` to ``2^b − 1`` (8 ≤ b ≤ 32); else None."""
    try:
        low_value, high_value = float(str(low)), float(str(high))
    except ValueError:
        return None
    if low_value != 0 or not (math.isfinite(high_value) and high_value > 0):
        return None
    bits = round(math.log2(high_value + 1))
    return bits if 8 <= bits <= 32 and high_value == 2**bits - 1 else None


_META_PROP = re.compile(r'<(?:custom-)?prop\s+id="([^"]*)"\s+type="[^"]*"\s+value="([^"]*)"\s*/>')


def parse_metaseries(text: str) -> dict[str, Any] | None:
    """A MetaSeries (MetaMorph, MetaXpress, ImageXpress) description, or None.

    Returns
    -------
    dict
        ``{"pixel_size_um": [x, y] or None (spatial calibration when it is on), "camera_bits": int or None,
        "objective": str or None}``.
    """
    if not text.lstrip().startswith("<MetaData>"):
        return None
    props = {m[1]: m[2] for m in _META_PROP.finditer(text)}
    pixel = None
    if props.get("spatial-calibration-state") == "on":
        unit = props.get("spatial-calibration-units")
        x = length_um(props.get("spatial-calibration-x"), unit)
        y = length_um(props.get("spatial-calibration-y"), unit)
        pixel = [x, y if y is not None else x] if x is not None else None
    try:
        bits = int(float(props["Camera Bit Depth"]))
    except (KeyError, ValueError):
        bits = 0
    objective = props.get("_MagSetting_") or props.get("ImageXpress Micro Objective") or None
    return {"pixel_size_um": pixel, "camera_bits": bits if bits > 0 else None, "objective": objective}


def resolution_pixel_size(
    x_resolution: float | None,
    y_resolution: float | None,
    unit_code: int | None,
    unit_name: str | None = None,
) -> list[float] | None:
    """Pixel size ``[x, y]`` (µm) from ``XResolution``/``YResolution`` (pixels per unit), or None.

    ``unit_name`` (ImageJ's ``unit=``) takes precedence over the TIFF ``ResolutionUnit`` code. A code-only
    size outside 0.01–50 µm is a print resolution (72 dpi = 353 µm), not a microscope's: None.
    """
    if not x_resolution or not (x_resolution > 0):
        return None
    y_res = y_resolution if y_resolution and y_resolution > 0 else x_resolution
    if unit_name is not None:
        x, y = length_um(1.0 / x_resolution, unit_name), length_um(1.0 / y_res, unit_name)
        return [x, y] if x is not None and y is not None else None
    per_unit = _RESOLUTION_UNITS_UM.get(int(unit_code or 1))
    if per_unit is None:
        return None
    x, y = per_unit / x_resolution, per_unit / y_res
    low, high = _TAG_PIXEL_UM
    return [x, y] if low <= x <= high and low <= y <= high else None


def _number(value: float, digits: int) -> str:
    """``value`` (> 0) to ``digits`` significant digits, halves rounded up (the page's ``numberText``)."""
    places = digits - 1 - math.floor(math.log10(value))
    if places >= 0:
        rounded = math.floor(value * 10**places + 0.5) / 10**places
    else:
        rounded = math.floor(value / 10**-places + 0.5) * 10**-places
    return f"{rounded:g}"


def pixel_size_warning(
    pixel_size_um: float | None, width_px: int | None, imaging: Any, model_name: str
) -> str | None:
    """A plain warning when an image's scale differs from the model's training images by more than 2×.

    The page resizes the whole image to the model's input, so what the model sees depends on the width of
    the field (pixel size × width): when the card gives its training images' width (``image_width_px``) as
    well, the field widths are compared; otherwise the pixel sizes.

    Parameters
    ----------
    pixel_size_um : float or None
        The image's pixel size (µm per pixel, along x), from its metadata; None: nothing to compare.
    width_px : int or None
        The image's width (px).
    imaging : Any
        The model card's ``imaging``: an object ``{"pixel_size_um", "objective", "image_width_px"}`` (any
        key optional) or, in older cards, a sentence (nothing to compare).
    model_name : str
        The model's name, e.g. ``"A549-M"``.

    Returns
    -------
    str or None
        E.g. ``"these images are at 0.65 µm/px; A549-M was trained at 1.3 µm/px"`` (2×), or None.
    """
    if not isinstance(imaging, dict) or not pixel_size_um or not (pixel_size_um > 0):
        return None
    trained = imaging.get("pixel_size_um")
    if not isinstance(trained, int | float) or not (trained > 0):
        return None
    ours = f"these images are at {_number(pixel_size_um, 3)} µm/px"
    theirs = f"{model_name} was trained at {_number(trained, 3)} µm/px"
    trained_width = imaging.get("image_width_px")
    if isinstance(trained_width, int | float) and trained_width > 0 and width_px:
        field, trained_field = pixel_size_um * width_px, trained * trained_width
        ratio = trained_field / field  # > 1: the cells look larger to the model than in training
        if max(ratio, 1 / ratio) <= SCALE_WARNING_RATIO:
            return None
        look = "larger" if ratio > 1 else "smaller"
        return (
            f"{ours} ({math.floor(field + 0.5)} µm wide); {theirs} ({math.floor(trained_field + 0.5)} µm "
            f"wide): cells look {_number(max(ratio, 1 / ratio), 2)}× {look} to the model than in its training"
        )
    ratio = pixel_size_um / trained
    return f"{ours}; {theirs}" if max(ratio, 1 / ratio) > SCALE_WARNING_RATIO else None
