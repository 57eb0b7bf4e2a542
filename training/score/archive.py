"""An archive folder as plates of images, read with the page's rules for names, folders and layouts.

Every image file under the folder (``.tif .tiff .png .jpg .jpeg .bmp .webp``, hidden files and folders
skipped) is read as the page reads it:

- **Instrument names and well folders** (:func:`training.instruments.parse_instrument_path`, the twin of
  ``static/js/instruments.js``): ImageXpress, Opera/Operetta, Incucyte and Cytation names, ``B07/`` and
  ``Well B07/`` folders. A plate's instrument files are grouped into wells keeping the bright-field channel
  (:func:`training.instruments.group_wells`; channel names from the plate folder's ``.HTD`` file, or the
  ``bright_field`` option); thumbnails and other channels are left out.
- **Any other name**: the page's plain rules, the well ID in the name
  (:func:`training.instruments.well_in_file_name`, the page's ``parseWellId``).
- **Concentrations** as the page's ``concentrationOf``: the file name's (:func:`training.score.names.
  name_concentration`) wins; otherwise the plate layout's for the well (:func:`training.layouts.read_layout`);
  blank and kill wells of the layout are controls (fitted at no concentration, as the page does).

**Plates.** The files of one plate are those in the same folder (well folders are part of their plate,
``plate1/B07/x.tif`` belongs to ``plate1``) with the same plate name in their instrument names
(``MyPlate_B07_s1_w1.tif`` → ``MyPlate``). A plate's label is its folder path below the archive, plus the
name's plate: ``A549/plate3``, ``run1/MyPlate``; files right in the archive folder with no plate name form
one plate named after the folder. A layout of one plate applies to every plate; a layout of several plates
is matched by label (``Plate 3``, ``plate3``, ``3`` and ``plate_3`` match the folder ``plate3``).

**Curves.** One curve per plate, per drug when the layout names several (the plate's wells without a drug,
its vehicle and blank wells, join each drug's curve), and per read when the plate holds several time points.
Every image is one point of its curve, as on the page.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from training.instruments import (
    AmbiguousPath,
    ImageName,
    group_wells,
    parse_htd_channel_names,
    parse_instrument_path,
    well_in_file_name,
)
from training.layouts import LayoutWell, Parsed, Plate
from training.score.names import name_concentration

__all__ = [
    "IMAGE_SUFFIXES",
    "ImageEntry",
    "PlateJob",
    "curve_members",
    "describe",
    "find_plates",
    "layout_for",
]

#: File suffixes read as images (the instrument rules' list).
IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp", ".webp")


@dataclass(frozen=True)
class ImageEntry:
    """One image file of a plate and what its name, folders and the layout say about it.

    Attributes
    ----------
    image : str
        Path below the archive folder, ``/``-separated (``A549/plate1/B07.jpg``).
    size_bytes : int
        The file's size (part of the plate's fingerprint: a changed file is scored again).
    well : str
        Well ID (``B07``), ``""`` when the path names none.
    field : int or None
        Field (site) number as the instrument numbers it.
    read : str
        Which read of the plate (``"t2"``, ``"270 min"``, an acquisition time), ``""`` for a single read.
    concentration_um : float or None
        µM; 0 for vehicle wells and for blank/kill controls (whose concentration is not fitted).
    source : str or None
        Where the concentration came from: ``"file name"``, ``"layout"`` or ``"control"``.
    control : str or None
        The layout's control kind (``vehicle``, ``untreated``, ``blank``, ``kill``).
    drug : str or None
        The layout's drug label.
    note : str or None
        Why there is no concentration, or that the file name and the layout disagree (the name wins).
    problem : str or None
        Why the file is not scored at all (a path naming two wells, a second copy of an image).
    """

    image: str
    size_bytes: int
    well: str = ""
    field: int | None = None
    read: str = ""
    concentration_um: float | None = None
    source: str | None = None
    control: str | None = None
    drug: str | None = None
    note: str | None = None
    problem: str | None = None


@dataclass(frozen=True)
class PlateJob:
    """One plate to score: its label, its images in well order, and plate-wide notes.

    ``notes`` are what the grouping says about files that are not wells (other channels, thumbnails, no
    bright-field channel to choose) in plain words.
    """

    label: str
    images: tuple[ImageEntry, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def key(self) -> str:
        """A folder name for the plate's results: its label made safe, plus a short hash (unique)."""
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", self.label).strip("._") or "plate"
        return f"{safe[:80]}-{hashlib.sha256(self.label.encode()).hexdigest()[:8]}"

    def fingerprint(self) -> str:
        """sha256 of what decides the plate's results: its files (path, size), wells and concentrations."""
        digest = hashlib.sha256()
        for entry in self.images:
            digest.update(repr(tuple(vars(entry).values())).encode())
        digest.update(repr(self.notes).encode())
        return digest.hexdigest()

    def to_score(self) -> list[ImageEntry]:
        """The images that are decoded and scored (those without a problem)."""
        return [e for e in self.images if e.problem is None]


def _files(root: Path, skip: Path | None) -> list[tuple[str, int]]:
    """Image files below ``root``: (relative ``/`` path, bytes), sorted; hidden ones and ``skip`` left out."""
    found = []
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (skip is None or here / d != skip))
        for name in sorted(names):
            if not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES):
                path = here / name
                found.append((path.relative_to(root).as_posix(), path.stat().st_size))
    return found


def _is_well_folder(name: str) -> bool:
    reading = parse_instrument_path(f"{name}/image.png")
    return isinstance(reading, ImageName) and reading.format == "folder"


def _plate_of(path: str, reading: ImageName | AmbiguousPath | None) -> tuple[str, str]:
    """The plate a file belongs to: (its folders down to its well folder, its name's plate or '')."""
    folders = path.split("/")[:-1]
    wells = [i for i, name in enumerate(folders) if _is_well_folder(name)]
    named = reading.plate if isinstance(reading, ImageName) and reading.format != "folder" else None
    return "/".join(folders[: wells[0]] if wells else folders), named or ""


def _read_of(reading: ImageName | AmbiguousPath | None) -> str:
    if not isinstance(reading, ImageName):
        return ""
    if reading.timepoint is not None:
        return f"t{reading.timepoint}"
    if reading.elapsed_minutes is not None:
        return f"{reading.elapsed_minutes} min"
    return reading.acquired or ""


def _normalised(label: str) -> str:
    return re.sub(r"[^a-z0-9]", "", label.lower()).removeprefix("plate")


def layout_for(layout: Parsed | None, label: str) -> Plate | None:
    """The layout plate of an archive plate: the only one, or the one whose label matches (see above)."""
    if layout is None or not layout.plates:
        return None
    if len(layout.plates) == 1:
        return layout.plates[0]
    wanted = {_normalised(label), _normalised(label.rsplit("/", 1)[-1])}
    return next((p for p in layout.plates if _normalised(p.plate) in wanted), None)


def _concentration(entry: ImageEntry, plate: Plate | None, plate_label: str) -> ImageEntry:
    """The entry with its concentration, control kind and drug, by the page's precedence."""
    named = name_concentration(entry.image.rsplit("/", 1)[-1])
    spot: LayoutWell | None = plate.wells.get(entry.well) if plate and entry.well else None
    control = spot.control if spot else None
    drug = spot.drug if spot else None
    if named.um is not None:
        note = None
        if spot is not None and spot.concentration_um is not None:
            if abs(spot.concentration_um - named.um) > 1e-9 * max(1.0, spot.concentration_um):
                note = f"the layout says {spot.concentration_um:g} µM for {entry.well}; the file name wins"
        return _with(entry, named.um, "file name", control, drug, note)
    if spot is not None and spot.concentration_um is not None:
        return _with(entry, spot.concentration_um, "layout", control, drug, None)
    if spot is not None and control in ("blank", "kill"):
        return _with(entry, 0.0, "control", control, drug, None)
    if named.error:
        note = f"no concentration: {named.error}"
    elif entry.well and plate is not None:
        note = f"no concentration: the layout does not cover well {entry.well}"
    elif entry.well:
        note = f"no concentration: well {entry.well} found in the path; give a layout for plate {plate_label}"
    else:
        note = "no concentration and no well ID in the name (e.g. _0.5uM_ or _B07_)"
    return _with(entry, None, None, None, None, note)


def _with(
    entry: ImageEntry,
    um: float | None,
    source: str | None,
    control: str | None,
    drug: str | None,
    note: str | None,
) -> ImageEntry:
    return ImageEntry(
        entry.image, entry.size_bytes, entry.well, entry.field, entry.read,
        um, source, control, drug, note, entry.problem,
    )  # fmt: skip


def _channel_names(folder: Path) -> dict[int, str]:
    """Wavelength names from the ``.HTD`` file(s) of a plate folder (ImageXpress)."""
    names: dict[int, str] = {}
    for htd in sorted(folder.glob("*.[Hh][Tt][Dd]")):
        names.update(parse_htd_channel_names(htd.read_text(encoding="utf-8", errors="replace")))
    return names


def _plate_entries(
    folder: Path,
    files: Sequence[tuple[str, int, ImageName | AmbiguousPath | None]],
    bright_field: int | str | None,
) -> tuple[list[ImageEntry], list[str]]:
    """The entries of one plate's files (before concentrations) and its notes."""
    sizes = {path: size for path, size, _ in files}
    readings = {path: reading for path, _, reading in files}
    entries: list[ImageEntry] = []
    notes: list[str] = []
    instrument = [(path, reading) for path, _, reading in files if reading is not None]
    if instrument:
        grouped = group_wells(instrument, channel_names=_channel_names(folder), bright_field=bright_field)
        used = set()
        for well in grouped.wells:
            for path in well.files:
                reading = readings[path]
                fld = reading.field if isinstance(reading, ImageName) else None
                entries.append(ImageEntry(path, sizes[path], well.well, fld, _read_of(reading)))
                used.add(path)
        for path, _ in instrument:
            problem = next((p for p in grouped.problems if path in p), None)
            if path not in used and problem is not None:
                entries.append(ImageEntry(path, sizes[path], read=_read_of(readings[path]), problem=problem))
        notes += [p for p in grouped.problems if not any(path in p for path, _ in instrument)]
        notes += [f"channel {channel}: {n} file(s) left out" for channel, n in grouped.left_out]
        if grouped.thumbnails:
            notes.append(f"{grouped.thumbnails} thumbnail(s) left out")
    for path, size, reading in files:
        if reading is None:
            entries.append(ImageEntry(path, size, well_in_file_name(path.rsplit("/", 1)[-1]) or ""))
    return entries, notes


def _order(entry: ImageEntry) -> tuple[str, str, int, int, str]:
    row, column = (entry.well[0], int(entry.well[1:])) if entry.well else ("~", 0)
    return (entry.read, row, column, entry.field or 0, entry.image)


def find_plates(
    root: str | Path,
    *,
    layout: Parsed | None = None,
    bright_field: int | str | None = None,
    skip: str | Path | None = None,
) -> list[PlateJob]:
    """The plates of an archive folder, sorted by label.

    Parameters
    ----------
    root : str or Path
        The archive folder (one plate or many, in any folder structure the page reads).
    layout : Parsed, optional
        :func:`training.layouts.read_layout` of the plate layout file.
    bright_field : int or str, optional
        The channel to score when the names do not say which one is bright field (number or name).
    skip : str or Path, optional
        A folder below ``root`` to leave out (the run's own output folder, when it is inside the archive).

    Returns
    -------
    list of PlateJob
        Empty when the folder holds no image file.
    """
    base = Path(root).expanduser().resolve()
    by_plate: dict[tuple[str, str], list[tuple[str, int, ImageName | AmbiguousPath | None]]] = {}
    skipped = Path(skip).expanduser().resolve() if skip is not None else None
    for path, size in _files(base, skipped):
        reading = parse_instrument_path(path)
        by_plate.setdefault(_plate_of(path, reading), []).append((path, size, reading))
    plates = []
    for (folder, named), files in by_plate.items():
        label = "/".join(part for part in (folder, named) if part) or base.name
        entries, notes = _plate_entries(base / folder, files, bright_field)
        plate_layout = layout_for(layout, label)
        resolved = [e if e.problem else _concentration(e, plate_layout, label) for e in entries]
        plates.append(PlateJob(label, tuple(sorted(resolved, key=_order)), tuple(notes)))
    return sorted(plates, key=lambda p: p.label)


def curve_members(plate: PlateJob) -> dict[str, list[int]]:
    """Curve label → positions in ``plate.images`` of its images (see the module docstring)."""
    reads = list(dict.fromkeys(e.read for e in plate.images))
    curves: dict[str, list[int]] = {}
    for read in reads:
        here = [i for i, e in enumerate(plate.images) if e.read == read]
        drugs = list(dict.fromkeys(plate.images[i].drug for i in here if plate.images[i].drug))
        suffix = f" {read}" if len(reads) > 1 and read else ""
        if len(drugs) <= 1:
            name = f"{plate.label} {drugs[0]}" if drugs else plate.label
            curves[name + suffix] = here
            continue
        for drug in drugs:
            curves[f"{plate.label} {drug}{suffix}"] = [
                i for i in here if plate.images[i].drug in (drug, None)
            ]
    return curves


def describe(plates: Iterable[PlateJob]) -> Mapping[str, int]:
    """Counts for the run's summary: plates, images to score, files with a problem."""
    counts = {"plates": 0, "images": 0, "problems": 0}
    for plate in plates:
        counts["plates"] += 1
        counts["images"] += len(plate.to_score())
        counts["problems"] += len(plate.images) - len(plate.to_score())
    return counts
