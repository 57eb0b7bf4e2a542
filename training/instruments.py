"""Image files as high-content imagers name them: plate, well, field, channel, plane and time point.

The twin of ``static/js/instruments.js``: the same rules, the same results (``to_dict()`` gives the page's
objects); ``tests/data/instrument_names.json`` holds the example names both sides must parse alike.

Recognised (``path`` is a relative path such as ``plate1/B07/img.tif``, or a bare file name):

- ImageXpress (MetaXpress): ``<plate>_B07_s2_w1<GUID>.tif``, with or without the site (``_s2``), the
  wavelength (``_w1``; at least one of the two), the plate prefix, the GUID and ``_thumb`` (thumbnails);
  ``TimePoint_3/`` and ``ZStep_2/`` folders give the time point and the plane. Channel names are not in
  the names: :func:`parse_htd_channel_names` reads them from the plate's ``.HTD`` file.
- Opera Phenix / Operetta (Harmony): ``r02c07f03p01-ch1sk1fk1fl1.tiff``: row 2, column 7 (→ B07), field 3,
  plane 1, channel 1, time point 1 (``sk``).
- Incucyte: ``VID1234_B7_2_00d04h30m.tif`` (vessel, well, image number = field, elapsed time), or with the
  acquisition date and time, ``VID1234_B7_2_2024y03m05d_14h30m.tif``.
- Cytation (Gen5): ``B7_-1_1_1_Bright Field_001.tif``: well, read step, channel number, image position
  (field), channel name (may hold spaces, underscores or a processing step, ``ZProj[Bright Field]``) and
  image number (time point).
- One folder per well: ``B07/…``, ``Well B07/…``, ``plate1/B07/…`` (the folder above it is the plate).

Anything else gives ``None``: the caller falls back to the plain rules (a concentration or a well ID in the
name). A path that names two different wells (a well folder and a name that disagree, two well folders) is
returned as :class:`AmbiguousPath` with every reading; none is chosen.

Libraries. bioio (with the bioio-ome-tiff and bioio-imagexpress plug-ins) reads what an export stores
*inside* its files: :func:`read_channel_names` takes the channel names from an OME-TIFF's OME-XML (e.g. a
Harmony or Columbus OME-TIFF export) or from an ImageXpress acquisition's ``.jdce`` descriptor (the newer
MetaXpress acquisitions that come with ``image_metadata_*.csv`` manifests). bioio reads no file *names*:
the classic MetaXpress ``_s2_w1<GUID>`` names, Harmony's ``r02c07…`` names, Incucyte's and Gen5's names and
the browser's relative paths are read by the rules here, which the page must share (it cannot run bioio).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from training.manifest import normalise_well

__all__ = [
    "AmbiguousPath",
    "Channel",
    "ImageName",
    "WellFiles",
    "WellGroups",
    "group_wells",
    "is_transmitted_light",
    "parse_htd_channel_names",
    "parse_instrument_path",
    "read_channel_names",
    "well_in_file_name",
]

_IMAGE_EXT_RE = re.compile(r"\.(?:tiff?|png|jpe?g|bmp|webp)$", re.IGNORECASE)
_GUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
# The rules read a file name without its extension. Each captures the well as written; the one well-ID
# rule (training.manifest.normalise_well) reads it, so "B25" or "Q03" is no well.
_IMAGEXPRESS_RE = re.compile(
    r"^(?:(?P<plate>.*?)_)?(?P<well>[A-P]\d{1,2})(?:_s(?P<site>\d{1,4}))?(?:_w(?P<wave>\d{1,2}))?"
    rf"(?:_z(?P<z>\d{{1,3}}))?(?P<thumb>_thumb)?(?:{_GUID})?$",
    re.ASCII,
)
_OPERA_RE = re.compile(
    r"^r(?P<row>\d{2})c(?P<column>\d{2})f(?P<field>\d{1,3})p(?P<plane>\d{1,3})-ch(?P<channel>\d{1,2})"
    r"(?:sk(?P<timepoint>\d{1,4}))?(?:fk\d{1,4})?(?:fl\d{1,4})?$",
    re.ASCII,
)
_INCUCYTE_RE = re.compile(
    r"^(?:(?P<plate>.*?)_)?(?P<well>[A-P]\d{1,2})_(?P<image>\d{1,4})_"
    r"(?:(?P<days>\d{1,3})d(?P<hours>\d{1,2})h(?P<minutes>\d{1,2})m|"
    r"(?P<year>\d{4})y(?P<month>\d{2})m(?P<day>\d{2})d_(?P<hour>\d{2})h(?P<minute>\d{2})m)$",
    re.ASCII,
)
_CYTATION_RE = re.compile(
    r"^(?P<well>[A-P]\d{1,2})_(?P<step>-?\d{1,2})_(?P<channel>\d{1,2})_(?P<position>\d{1,4})_"
    r"(?P<name>[^_].*?)_(?P<image>\d{3,4})$",
    re.ASCII,
)
_TIMEPOINT_DIR_RE = re.compile(r"^TimePoint_(\d{1,4})$", re.IGNORECASE | re.ASCII)
_ZSTEP_DIR_RE = re.compile(r"^ZStep_(\d{1,4})$", re.IGNORECASE | re.ASCII)
_WELL_DIR_RE = re.compile(r"^(?:[Ww]ell[\s_-]*)?([A-P][-_]?\d{1,3})$", re.ASCII)
_FORMAT_NAMES = {
    "imagexpress": "ImageXpress",
    "opera": "Opera/Operetta",
    "incucyte": "Incucyte",
    "cytation": "Cytation",
    "folder": "folder",
    "name": "well in the name",
}

# The page's file-name well rule (static/js/concentrations.js parseWellId: WELL_RE, with the characters of
# a concentration (CONC_RE) blanked first), for the plain reading of a file inside a well folder.
_CONC_RE = re.compile(
    r"(?<![\d.,])(\d+(?:[.,p]\d+)?(?:[eE][-+]?\d+)?|[.]\d+)[\s_]?(µM|μM|uM|UM|um|µm|μm|nM|NM|mM|pM)(?![A-Za-z])"
)
_NAME_WELL_RE = re.compile(r"(?<![A-Za-z0-9])([A-P])[-_]?0*(2[0-4]|1\d|[1-9])(?![0-9])", re.ASCII)
_NAME_EXT_RE = re.compile(r"\.[A-Za-z0-9]{2,5}$")


@dataclass(frozen=True)
class Channel:
    """An imaging channel: its number as the instrument numbers it, and its name when known."""

    index: int | None
    name: str | None


@dataclass(frozen=True)
class ImageName:
    """What one file's path says; ``None`` where it does not say.

    ``format`` is ``"imagexpress"``, ``"opera"``, ``"incucyte"``, ``"cytation"`` or ``"folder"`` (and
    ``"name"`` for the plain well-ID reading inside an :class:`AmbiguousPath`). Fields, planes, channels and
    time points are numbered as the instrument numbers them; ``elapsed_minutes`` is the time since the
    first scan (min); ``acquired`` a local ``"YYYY-MM-DDTHH:MM"``; ``read_step`` is Gen5's.
    """

    format: str
    plate: str | None = None
    well: str | None = None
    field: int | None = None
    channel: Channel | None = None
    plane: int | None = None
    timepoint: int | None = None
    elapsed_minutes: int | None = None
    acquired: str | None = None
    read_step: int | None = None
    thumbnail: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The page's object for this reading (``parseInstrumentPath``)."""
        return asdict(self)


@dataclass(frozen=True)
class AmbiguousPath:
    """A path that names more than one well: every reading, and the problem in plain words."""

    path: str
    readings: tuple[ImageName, ...]
    problem: str

    def to_dict(self) -> dict[str, Any]:
        """The page's object for this path (``parseInstrumentPath``)."""
        return {
            "ambiguous": True,
            "path": self.path,
            "readings": [r.to_dict() for r in self.readings],
            "problem": self.problem,
        }


def _int(text: str | None) -> int | None:
    return None if text is None else int(text)


def _well(text: str) -> str | None:
    try:
        return normalise_well(text)
    except ValueError:
        return None


def _parse_imagexpress(stem: str) -> ImageName | None:
    m = _IMAGEXPRESS_RE.match(stem)
    if m is None or (m["site"] is None and m["wave"] is None):
        return None
    well = _well(m["well"])
    if well is None:
        return None
    return ImageName(
        "imagexpress",
        plate=m["plate"] or None,
        well=well,
        field=_int(m["site"]),
        channel=None if m["wave"] is None else Channel(int(m["wave"]), None),
        plane=_int(m["z"]),
        thumbnail=m["thumb"] is not None,
    )


def _parse_opera(stem: str) -> ImageName | None:
    m = _OPERA_RE.match(stem)
    if m is None:
        return None
    row, column = int(m["row"]), int(m["column"])
    if not (1 <= row <= 16 and 1 <= column <= 24):
        return None
    return ImageName(
        "opera",
        well=f"{chr(64 + row)}{column:02d}",
        field=int(m["field"]),
        channel=Channel(int(m["channel"]), None),
        plane=int(m["plane"]),
        timepoint=_int(m["timepoint"]),
    )


def _parse_incucyte(stem: str) -> ImageName | None:
    m = _INCUCYTE_RE.match(stem)
    well = None if m is None else _well(m["well"])
    if m is None or well is None:
        return None
    elapsed = None
    if m["days"] is not None:
        elapsed = int(m["days"]) * 1440 + int(m["hours"]) * 60 + int(m["minutes"])
    acquired = None
    if m["year"] is not None:
        acquired = f"{m['year']}-{m['month']}-{m['day']}T{m['hour']}:{m['minute']}"
    return ImageName(
        "incucyte",
        plate=m["plate"] or None,
        well=well,
        field=int(m["image"]),
        elapsed_minutes=elapsed,
        acquired=acquired,
    )


def _parse_cytation(stem: str) -> ImageName | None:
    m = _CYTATION_RE.match(stem)
    well = None if m is None else _well(m["well"])
    if m is None or well is None:
        return None
    return ImageName(
        "cytation",
        well=well,
        field=int(m["position"]),
        channel=Channel(int(m["channel"]), m["name"].strip()),
        timepoint=int(m["image"]),
        read_step=int(m["step"]),
    )


_NAME_RULES = (_parse_imagexpress, _parse_opera, _parse_incucyte, _parse_cytation)


def well_in_file_name(name: str) -> str | None:
    """The well ID a file name holds, as the page's ``parseWellId`` finds it (``tests/data/well_ids.json``).

    Upper-case row only, not glued to letters or digits before it nor to digits after it, the characters
    of a concentration (``1e-3uM``) ignored; ``None`` when absent or when two different wells appear.
    """
    stem = _NAME_EXT_RE.sub("", name)
    stem = _CONC_RE.sub(lambda m: " " * len(m[0]), stem)
    wells = {f"{m[1]}{int(m[2]):02d}" for m in _NAME_WELL_RE.finditer(stem)}
    return wells.pop() if len(wells) == 1 else None


def _well_of_folder(folder: str) -> str | None:
    m = _WELL_DIR_RE.match(folder.strip())
    return None if m is None else _well(m[1])


def _with_folders(found: ImageName, folders: list[str]) -> ImageName:
    """Time point and plane from ImageXpress's ``TimePoint_N/`` and ``ZStep_N/`` folders, unless named."""
    timepoint, plane = found.timepoint, found.plane
    for folder in folders:
        t = _TIMEPOINT_DIR_RE.match(folder)
        z = _ZSTEP_DIR_RE.match(folder)
        if t and timepoint is None:
            timepoint = int(t[1])
        if z and plane is None:
            plane = int(z[1])
    return replace(found, timepoint=timepoint, plane=plane)


def _ambiguous(path: str, readings: list[ImageName]) -> AmbiguousPath:
    says = "; ".join(f"{_FORMAT_NAMES[r.format]}: {r.well}" for r in readings)
    return AmbiguousPath(
        path, tuple(readings), f"{path}: the path names more than one well ({says}); rename or move the file"
    )


def parse_instrument_path(path: str) -> ImageName | AmbiguousPath | None:
    """What an instrument's file name (and its folders) say about the image.

    Parameters
    ----------
    path : str
        A file name or a relative path (``"plate1/B07/img.tif"``; ``/`` or ``\\`` separators).

    Returns
    -------
    ImageName or AmbiguousPath or None
        ``None`` when no instrument rule applies (not an image file name, or no rule matches).
    """
    parts = [p for p in re.split(r"[\\/]+", str(path)) if p]
    folders, name = parts[:-1], (parts[-1] if parts else "")
    if not _IMAGE_EXT_RE.search(name):
        return None
    stem = _IMAGE_EXT_RE.sub("", name)
    readings = [_with_folders(found, folders) for rule in _NAME_RULES if (found := rule(stem))]
    well_folders = [
        ImageName("folder", plate=folders[i - 1] if i > 0 else None, well=well)
        for i, folder in reversed(list(enumerate(folders)))
        if (well := _well_of_folder(folder))
    ]
    plain_well = None if readings or not well_folders else well_in_file_name(name)
    candidates = [*readings, *well_folders, *([ImageName("name", well=plain_well)] if plain_well else [])]
    if not candidates:
        return None
    if len(readings) > 1 or len({c.well for c in candidates}) > 1:
        return _ambiguous(str(path), candidates)
    first = candidates[0]
    plate = first.plate if first.plate is not None else (well_folders[0].plate if well_folders else None)
    return replace(first, plate=plate)


_TRANSMITTED_WORDS = frozenset({"bf", "tl", "dic", "phase", "brightfield", "transmitted", "trans"})


def is_transmitted_light(name: str | None) -> bool:
    """Is this channel name a transmitted-light one (bright field, BF, TL, transmitted, phase, DIC)?

    ``"Bright Field"``, ``"TL 20x"``, ``"ZProj[Phase Contrast]"``, ``"Ph2"`` → True; ``"DAPI"`` → False.
    """
    words = [w for w in re.split(r"[^a-z0-9]+", str(name or "").lower()) if w]
    return any(
        w in _TRANSMITTED_WORDS
        or re.fullmatch(r"ph[123]", w)
        or (w == "bright" and i + 1 < len(words) and words[i + 1] == "field")
        for i, w in enumerate(words)
    )


def parse_htd_channel_names(text: str) -> dict[int, str]:
    """Channel names of an ImageXpress plate from its ``.HTD`` file (``"WaveName1", "TL 20x"`` lines).

    Returns
    -------
    dict
        Wavelength number (the ``_w1`` of the file names) → name.
    """
    pattern = re.compile(r'^\s*"WaveName(\d+)"\s*,\s*"([^"]*)"', re.IGNORECASE | re.MULTILINE)
    return {int(m[1]): m[2] for m in pattern.finditer(text)}


def read_channel_names(path: str | Path) -> dict[int, str]:
    """Channel names stored inside an export, read with bioio.

    Parameters
    ----------
    path : str or Path
        An OME-TIFF file (``.ome.tif``/``.ome.tiff``: names from its OME-XML), or an ImageXpress
        acquisition (its folder or its ``.jdce`` descriptor: names from the descriptor).

    Returns
    -------
    dict
        Channel number (1-based, in the export's order) → name.

    Raises
    ------
    ValueError
        When the path is neither, or bioio cannot read it (the message names the file).
    """
    from bioio import BioImage  # imported here: bioio pulls in dask and xarray (~3 s)

    target = Path(path)
    if target.is_dir() or target.suffix.lower() == ".jdce":
        import bioio_imagexpress as plugin
    elif target.name.lower().endswith((".ome.tif", ".ome.tiff")):
        import bioio_ome_tiff as plugin  # type: ignore[no-redef]
    else:
        raise ValueError(
            f"{target.name}: channel names are read from OME-TIFF files and ImageXpress acquisitions"
        )
    try:
        with warnings.catch_warnings():  # bioio-ome-tiff 1.4.0 passes ome-types a retired argument
            warnings.filterwarnings("ignore", "As of version 0.4.0, the parser argument", DeprecationWarning)
            names = BioImage(target, reader=plugin.Reader).channel_names
    except Exception as exc:  # bioio raises many kinds; the caller gets one, naming the file
        raise ValueError(f"{target.name}: bioio could not read its channel names ({exc})") from exc
    return {i: str(name) for i, name in enumerate(names, start=1)}


@dataclass(frozen=True)
class WellFiles:
    """One well's bright-field files, sorted by time point, field and plane."""

    plate: str | None
    well: str
    files: tuple[str, ...]
    fields: tuple[int, ...]
    timepoints: tuple[int, ...]


@dataclass(frozen=True)
class WellGroups:
    """A plate's files grouped into wells (see :func:`group_wells`)."""

    wells: tuple[WellFiles, ...] = ()
    channel: str | None = None
    left_out: tuple[tuple[str, int], ...] = ()
    thumbnails: int = 0
    unrecognised: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The page's object for this grouping (``groupWells``)."""
        return {
            "wells": [
                {
                    **asdict(w),
                    "files": list(w.files),
                    "fields": list(w.fields),
                    "timepoints": list(w.timepoints),
                }
                for w in self.wells
            ],
            "channel": self.channel,
            "left_out": [{"channel": c, "files": n} for c, n in self.left_out],
            "thumbnails": self.thumbnails,
            "unrecognised": list(self.unrecognised),
            "problems": list(self.problems),
        }


def _channel_label(channel: Channel | None) -> str:
    if channel is None:
        return "no channel"
    return channel.name if channel.name is not None else f"channel {channel.index}"


def _choose_bright_field(
    channels: list[Channel | None], bright_field: int | str | None
) -> tuple[str | None, str | None]:
    """(label of the channel to keep, None) or (None, the problem saying why none can be chosen)."""
    labels = list(dict.fromkeys(_channel_label(c) for c in channels))
    if bright_field is not None:
        wanted = [c for c in channels if c is not None and bright_field in (c.index, c.name)]
        if not wanted:
            return None, f"no channel {bright_field} among the files ({', '.join(labels)})"
        return _channel_label(wanted[0]), None
    if len(labels) == 1:
        return labels[0], None
    transmitted = [label for label in labels if is_transmitted_light(label)]
    if len(transmitted) == 1:
        return transmitted[0], None
    if transmitted:
        return None, f"several transmitted-light channels ({', '.join(transmitted)}): choose one"
    return (
        None,
        f"the files hold channels {', '.join(labels)} and none is named as bright field: say which one is",
    )


def _well_key(files: WellFiles) -> tuple[str, str, int]:
    return (files.plate or "", files.well[0], int(files.well[1:]))


def group_wells(
    files: Iterable[tuple[str, ImageName | AmbiguousPath | None]],
    *,
    channel_names: Mapping[int, str] | None = None,
    bright_field: int | str | None = None,
) -> WellGroups:
    """Group a plate's parsed files into wells, keeping the bright-field channel.

    Parameters
    ----------
    files : iterable of (str, ImageName or AmbiguousPath or None)
        Each file's path and :func:`parse_instrument_path` of it.
    channel_names : mapping, optional
        Channel number → name (e.g. :func:`parse_htd_channel_names`) for files whose names carry none.
    bright_field : int or str, optional
        The channel number or name to keep when the names do not say which channel is bright field.

    Returns
    -------
    WellGroups
        Wells sorted by plate, row and column; the kept channel's label; the other channels (by name when
        known) with their file counts; the number of thumbnails skipped; the names no rule reads; problems
        (ambiguous paths, two files of one image, no bright-field channel to choose) in plain words.
    """
    names = dict(channel_names or {})
    problems: list[str] = []
    unrecognised: list[str] = []
    thumbnails = 0
    images: list[tuple[str, ImageName]] = []
    for path, parsed in files:
        if parsed is None:
            unrecognised.append(path)
        elif isinstance(parsed, AmbiguousPath):
            problems.append(parsed.problem)
        elif parsed.thumbnail:
            thumbnails += 1
        else:
            channel = parsed.channel
            if channel is not None and channel.name is None:
                channel = Channel(
                    channel.index, names.get(channel.index) if channel.index is not None else None
                )
            images.append((path, replace(parsed, channel=channel)))
    if not images:
        return WellGroups(thumbnails=thumbnails, unrecognised=tuple(unrecognised), problems=tuple(problems))
    keep, problem = _choose_bright_field([image.channel for _, image in images], bright_field)
    if problem is not None:
        return WellGroups(
            thumbnails=thumbnails, unrecognised=tuple(unrecognised), problems=(*problems, problem)
        )
    left_out: dict[str, int] = {}
    wells: dict[tuple[str | None, str | None], list[tuple[str, ImageName]]] = {}
    seen: dict[tuple[Any, ...], str] = {}
    for path, image in images:
        label = _channel_label(image.channel)
        if label != keep:
            left_out[label] = left_out.get(label, 0) + 1
            continue
        # A well folder's files are its fields, unnumbered; instruments number theirs, so a repeat is a copy.
        spot = (image.plate, image.well, image.field, image.plane, image.timepoint)
        if image.format != "folder" and spot in seen:
            problems.append(f"{path} and {seen[spot]} are the same image of well {image.well}")
            continue
        seen[spot] = path
        wells.setdefault((image.plate, image.well), []).append((path, image))
    grouped = []
    for (plate, well), members in wells.items():
        members.sort(key=lambda m: (m[1].timepoint or 0, m[1].field or 0, m[1].plane or 0))
        grouped.append(
            WellFiles(
                plate=plate,
                well=str(well),
                files=tuple(p for p, _ in members),
                fields=tuple(sorted({i.field for _, i in members if i.field is not None})),
                timepoints=tuple(sorted({i.timepoint for _, i in members if i.timepoint is not None})),
            )
        )
    return WellGroups(
        wells=tuple(sorted(grouped, key=_well_key)),
        channel=keep,
        left_out=tuple(left_out.items()),
        thumbnails=thumbnails,
        unrecognised=tuple(unrecognised),
        problems=tuple(problems),
    )
