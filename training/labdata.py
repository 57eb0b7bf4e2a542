"""A lab's own plates → a training manifest: images matched to plate-reader readings well by well.

The inputs are what a lab has after an experiment: the image files of each well (named as the imager names
them, see :mod:`training.instruments`), a plate layout (concentrations, optionally series and drug; see
:mod:`training.layouts`) and the plate reader's OD450 exports. :func:`match_lab_data` is the pure step (file
names and parsed files in, a :class:`LabData` out); :func:`read_lab_data` and :func:`write_lab_manifest`
are the thin I/O around it used by ``python -m training manifest``. The page's trainer has a twin of the
pure step; ``tests/data/labdata/`` holds the cases both must decide alike (``LabData.to_dict()``).

The rules
---------
- **Images → wells.** A file name is read by the instrument rules (:func:`~training.instruments.
  parse_instrument_path`), else by the well ID in its name (``B07.jpg``, ``plate1/img_B07.tif``) with the
  folder holding it as its plate; names that give no well are set apart and named, files of other channels
  than bright field and thumbnails counted. Several files of one well are its fields: they share the
  well's reading.
- **Plates.** The reader's plates are the plates (a manifest plate is ``plate_prefix`` + the reader's
  label: ``Plate 1`` → ``1``). Image plates (folders, instrument prefixes) and layout plates are paired with
  them by name, ignoring case, spaces, punctuation, the word "plate", a ``P`` before a number and leading
  zeros (``plate1`` = ``Plate 01`` = ``P1``). One plate on each side pairs whatever the names; a layout
  that describes one plate applies to every plate. Files of one plate each under the same label (one
  unnamed grid per file: all "1") name their plate after the file (``plate2.csv`` → ``plate2``).
- **Series** are per plate: ``<plate>-<the layout's series label>`` when the layout has a series grid or
  column, else ``<plate>-<row letter>`` (one plate row = one dose series, as in the paper and the
  simulator). ``series_from`` says which.
- **Left out, and named**: saturated (``OVER``), below-range and unreadable readings; blank and kill
  control wells (no concentration); wells the layout does not describe; wells without a series label when
  the layout labels others; wells without a drug; readings outside the manifest's OD450 range; a second
  well of a series at a concentration it already has (e.g. DMSO at both ends of a row: the first, in
  A01…H12 order, is kept; a dose series holds one well per concentration).
- **Refused, with the reason**: nothing matched; a single concentration; constant readings.
- **Warned**: fewer series than cross-validation by series needs (the caller then uses a plain
  train/test split); a layout used for every plate; two plates paired although their names differ; a
  plate named after its file.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from training import config
from training.instruments import (
    AmbiguousPath,
    ImageName,
    WellFiles,
    group_wells,
    parse_instrument_path,
    well_in_file_name,
)
from training.layouts import LayoutWell, Parsed, Plate, ReaderWell, read_layout, read_reader
from training.manifest import MANIFEST_NAME, OD450_RANGE, write_manifest

__all__ = [
    "IMAGE_SUFFIXES",
    "SYNTHETIC_MARK",
    "LabData",
    "LeftOut",
    "MatchedWell",
    "Notice",
    "PlatePairing",
    "cv_min_series",
    "list_images",
    "marked_synthetic",
    "match_lab_data",
    "plate_key",
    "read_lab_data",
    "write_lab_manifest",
]

#: Image files the matching considers (other files in an image folder are not images and are skipped).
IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp", ".webp")
#: Text that marks a layout or reader file as made by nostain's simulator (the manifest is then synthetic).
SYNTHETIC_MARK = "nostain synthetic"

#: Why a well is left out: code → words (the twin uses the same codes).
_LEFT_OUT_WORDS = {
    "saturated": "the reading is saturated",
    "below_range": "the reading is below the reader's range",
    "invalid": "the reading is not a number",
    "od450_range": f"the reading is outside {OD450_RANGE[0]:g}–{OD450_RANGE[1]:g} OD450",
    "no_layout": "the layout gives no concentration for this well",
    "blank": "a blank control (no cells)",
    "kill": "a killed-cell control",
    "no_series": "the layout gives other wells a series but not this one",
    "no_drug": "no drug: the layout names none for this well and none was given",
    "repeat": "its dose series already has a well at this concentration",
}


# ------------------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class _PlateWell:
    """A well of a plate (the manifest's plate name) and its image files (its fields)."""

    plate: str
    well: str
    images: tuple[str, ...]


@dataclass(frozen=True)
class MatchedWell(_PlateWell):
    """One well with its image files (its fields), its reading and its place in a dose series."""

    concentration_um: float
    od450: float
    series: str
    drug: str
    control: str | None = None


@dataclass(frozen=True)
class LeftOut(_PlateWell):
    """A well with images and a reading that is not used: ``reason`` is a code of ``_LEFT_OUT_WORDS``."""

    reason: str
    text: str | None = None  # the reader's text of a flagged reading ("OVER"); for a repeat, the kept well

    @property
    def message(self) -> str:
        """The reason in words, naming the well."""
        said = "" if not self.text else f" ({self.text})" if self.reason == "repeat" else f" ('{self.text}')"
        return f"plate {self.plate}, well {self.well}: {_LEFT_OUT_WORDS[self.reason]}{said}"


@dataclass(frozen=True)
class Notice:
    """A warning or a refusal: a code the twin shares and the message for people."""

    code: str
    message: str


@dataclass(frozen=True)
class PlatePairing:
    """Which reader, image and layout plates were taken as one plate.

    ``images``: the image plates (folders or instrument prefixes; ``""`` for images in the top folder; empty
    when none pairs); ``layout``: None when no layout plate pairs.
    """

    plate: str
    reading: str
    images: tuple[str, ...]
    layout: str | None


@dataclass(frozen=True)
class LabData:
    """The outcome of matching: what was used, what was not and why, and whether training may go on.

    ``n_images`` counts image files, ``n_readings`` reader wells (numbers and flagged texts alike),
    ``n_matched`` wells with an image, a usable reading and a concentration (``n_matched_images`` their
    image files). ``refused`` is set when the matched wells cannot train a model; ``matched`` still shows
    them.
    """

    n_images: int
    n_readings: int
    matched: tuple[MatchedWell, ...]
    series_from: str  # "layout" or "plate_row"
    plates: tuple[PlatePairing, ...] = ()
    readings_without_image: tuple[tuple[str, str], ...] = ()  # (plate, well)
    images_without_reading: tuple[str, ...] = ()
    left_out: tuple[LeftOut, ...] = ()
    unread_images: tuple[str, ...] = ()
    channels_left_out: tuple[tuple[str, int], ...] = ()  # (channel, files): not the bright-field one
    thumbnails: int = 0
    problems: tuple[str, ...] = ()
    warnings: tuple[Notice, ...] = ()
    refused: Notice | None = None
    cv_min_series: int = 0
    synthetic: bool = False

    @property
    def n_matched(self) -> int:
        """Wells matched (image + usable reading + concentration)."""
        return len(self.matched)

    @property
    def n_matched_images(self) -> int:
        """Image files of the matched wells."""
        return sum(len(m.images) for m in self.matched)

    @property
    def n_series(self) -> int:
        """Dose series among the matched wells."""
        return len({m.series for m in self.matched})

    @property
    def extra_fields(self) -> tuple[str, ...]:
        """Image files of matched wells beyond each well's first (a manifest holds one image per well)."""
        return tuple(path for m in self.matched for path in m.images[1:])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able object (the page's trainer returns the same for the same inputs)."""
        return {
            "n_images": self.n_images,
            "n_readings": self.n_readings,
            "n_matched": self.n_matched,
            "n_matched_images": self.n_matched_images,
            "n_series": self.n_series,
            "cv_min_series": self.cv_min_series,
            "series_from": self.series_from,
            "synthetic": self.synthetic,
            "plates": [{**asdict(p), "images": list(p.images)} for p in self.plates],
            "matched": [{**asdict(m), "images": list(m.images)} for m in self.matched],
            "readings_without_image": [{"plate": p, "well": w} for p, w in self.readings_without_image],
            "images_without_reading": list(self.images_without_reading),
            "left_out": [{**asdict(x), "images": list(x.images)} for x in self.left_out],
            "unread_images": list(self.unread_images),
            "channels_left_out": [{"channel": c, "files": n} for c, n in self.channels_left_out],
            "thumbnails": self.thumbnails,
            "problems": list(self.problems),
            "warnings": [asdict(w) for w in self.warnings],
            "refused": None if self.refused is None else asdict(self.refused),
        }

    def report(self) -> str:
        """The outcome in plain lines, for the command line."""
        lines = [
            f"{self.n_images} images, {self.n_readings} readings, {self.n_matched} wells matched "
            f"({self.n_matched_images} images) in {self.n_series} series "
            f"(series from {'the layout' if self.series_from == 'layout' else 'plate rows'})"
            + (" — synthetic data" if self.synthetic else "")
        ]
        lines += [
            f"plate {p.plate}: readings '{p.reading}', images "
            + (", ".join(f"'{i or '(top folder)'}'" for i in p.images) or "none")
            + (f", layout '{p.layout}'" if p.layout is not None else ", no layout")
            for p in self.plates
        ]
        if self.readings_without_image:
            named = ", ".join(f"{p} {w}" for p, w in self.readings_without_image)
            lines.append(f"readings with no image ({len(self.readings_without_image)}): {named}")
        if self.images_without_reading:
            lines.append(
                f"images with no reading ({len(self.images_without_reading)}): "
                + ", ".join(self.images_without_reading)
            )
        lines += [f"left out: {x.message}" for x in self.left_out]
        if self.unread_images:
            lines.append(
                f"images giving no well ({len(self.unread_images)}): {', '.join(self.unread_images)}"
            )
        lines += [f"problem: {p}" for p in self.problems]
        lines += [f"warning: {w.message}" for w in self.warnings]
        if self.refused is not None:
            lines.append(f"refused: {self.refused.message}")
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------ rules


def plate_key(label: str | None) -> str | None:
    """The name by which plates are paired: ``"plate1"``, ``"Plate 01"``, ``"P1"`` → ``"1"``."""
    if label is None:
        return None
    text = re.sub(r"[^0-9a-z]", "", label.lower().replace("plate", ""))
    text = re.sub(r"^p(?=\d)", "", text)
    return re.sub(r"\d+", lambda m: str(int(m[0])), text)


def cv_min_series(folds: int = config.CV_FOLDS, val_series: int = config.N_VAL_SERIES) -> int:
    """The fewest series for ``folds``-fold cross-validation by series (:func:`training.dataset.cv_folds`):
    every fold's training part must keep ``val_series`` series for early stopping and one to train on."""
    if folds < 2 or val_series < 0:
        raise ValueError(f"folds must be >= 2 and val_series >= 0; got {folds}, {val_series}")
    n = folds
    while n - math.ceil(n / folds) < val_series + 1:
        n += 1
    return n


def _is_image(path: str) -> bool:
    return path.lower().endswith(IMAGE_SUFFIXES)


def _read_image_name(path: str) -> ImageName | AmbiguousPath | None:
    """The instrument rules, else the well ID in the file name with its folder as the plate."""
    parsed = parse_instrument_path(path)
    if parsed is not None:
        return parsed  # an AmbiguousPath is reported by group_wells
    parts = [p for p in re.split(r"[\\/]+", path) if p]
    well = well_in_file_name(parts[-1]) if parts else None
    if well is None:
        return None
    return ImageName("name", plate=parts[-2] if len(parts) > 1 else None, well=well)


def _plates_of(
    files: Sequence[tuple[str, Parsed]], what: str, problems: list[str], notes: list[Notice]
) -> dict[str, Plate]:
    """Plates of several files by label.

    Files that each hold one plate under the same label (e.g. one unnamed grid each, all "1") name their
    plate after the file (``plate2.csv`` → ``plate2``); any other label given twice is a problem (the first
    is kept).
    """
    counts: dict[str, int] = {}
    for _, result in files:
        for plate in result.plates:
            counts[plate.plate] = counts.get(plate.plate, 0) + 1
    plates: dict[str, Plate] = {}
    for name, result in files:
        problems += result.problems
        for plate in result.plates:
            if counts[plate.plate] > 1 and len(result.plates) == 1:
                label = PurePosixPath(name.replace("\\", "/")).stem
                notes.append(
                    Notice(
                        "plate_named_after_file",
                        f"{name}: its plate '{plate.plate}' is in other {what} files too; "
                        f"named '{label}' after the file",
                    )
                )
                plate = replace(plate, plate=label)
            if plate.plate in plates:
                problems.append(f"plate {plate.plate} is in two {what} files; the first is used")
                continue
            plates[plate.plate] = plate
    return plates


def _pair(
    labels: Sequence[str], others: Sequence[str | None], *, one_for_all: bool
) -> tuple[dict[str, list[str | None]], bool]:
    """Each label's partners among ``others`` (the module's rules); and whether a pair's names differ."""
    if len(others) == 1 and (len(labels) == 1 or one_for_all):
        return {label: [others[0]] for label in labels}, any(
            plate_key(label) != plate_key(others[0]) for label in labels
        )
    return {
        label: [o for o in others if o is not None and plate_key(o) == plate_key(label)] for label in labels
    }, False


def _well_order(well: str) -> tuple[str, int]:
    return well[0], int(well[1:])


@dataclass
class _Tally:
    matched: list[MatchedWell] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)
    without_image: list[tuple[str, str]] = field(default_factory=list)
    doses: dict[tuple[str, float], str] = field(default_factory=dict)  # (series, µM) → its first well


def _judge_well(
    name: str,
    well: str,
    reading: ReaderWell,
    images: tuple[str, ...],
    layout: Mapping[str, LayoutWell] | None,
    *,
    drug: str | None,
    layout_has_series: bool,
    tally: _Tally,
) -> None:
    """One well with a reading and images: matched, or left out with its reason."""

    def leave(reason: str, text: str | None = None) -> None:
        tally.left_out.append(LeftOut(name, well, images, reason, text))

    if reading.od450 is None:
        return leave(reading.flag or "invalid", reading.text)
    if not OD450_RANGE[0] <= reading.od450 <= OD450_RANGE[1]:
        return leave("od450_range")
    spot = None if layout is None else layout.get(well)
    if spot is None:
        return leave("no_layout")
    if spot.concentration_um is None:
        return leave(spot.control if spot.control in ("blank", "kill") else "no_layout")
    if layout_has_series and not spot.series:
        return leave("no_series")
    well_drug = spot.drug or drug
    if not well_drug:
        return leave("no_drug")
    series = f"{name}-{spot.series if layout_has_series else well[0]}"
    kept = tally.doses.setdefault((series, spot.concentration_um), well)
    if kept != well:
        return leave("repeat", kept)
    tally.matched.append(
        MatchedWell(name, well, images, spot.concentration_um, reading.od450, series, well_drug, spot.control)
    )


def _refusal(matched: Sequence[MatchedWell]) -> Notice | None:
    if not matched:
        return Notice(
            "nothing_matched",
            "no well has an image, a usable reading and a concentration: nothing to train on",
        )
    concentrations = {m.concentration_um for m in matched}
    if len(concentrations) < 2:
        return Notice(
            "single_concentration",
            f"all {len(matched)} matched wells are at one concentration ({concentrations.pop():g} µM): "
            "a model of a dose response needs wells at several concentrations",
        )
    readings = {m.od450 for m in matched}
    if len(readings) < 2:
        return Notice(
            "constant_readings",
            f"all {len(matched)} matched readings are the same ({readings.pop():g} OD450): "
            "there is nothing for a model to learn",
        )
    return None


def _warnings(
    matched: Sequence[MatchedWell], min_series: int, *, layout_everywhere: bool, renamed: list[str]
) -> list[Notice]:
    notes = []
    if layout_everywhere:
        notes.append(
            Notice("layout_for_every_plate", "the layout describes one plate: it is used for every plate")
        )
    notes += [Notice("plates_paired_by_position", text) for text in renamed]
    n_series = len({m.series for m in matched})
    if matched and n_series < min_series:
        notes.append(
            Notice(
                "few_series",
                f"{n_series} dose series: cross-validation by series needs at least {min_series}; "
                "use a plain train/test split",
            )
        )
    return notes


def match_lab_data(
    images: Sequence[str],
    layouts: Sequence[tuple[str, Parsed]],
    readings: Sequence[tuple[str, Parsed]],
    *,
    drug: str | None = None,
    plate_prefix: str = "",
    folds: int = config.CV_FOLDS,
    val_series: int = config.N_VAL_SERIES,
    bright_field: int | str | None = None,
    synthetic: bool = False,
) -> LabData:
    """Match image files to readings well by well, with the layout's concentrations and series.

    Parameters
    ----------
    images : sequence of str
        Image file paths relative to the image folder (``plate1/B07.jpg``); files that are not images by
        their suffix are skipped.
    layouts, readings : sequence of (str, Parsed)
        Each file's name and its :func:`training.layouts.parse_layout` /
        :func:`~training.layouts.parse_reader` result (their problems are passed on).
    drug : str, optional
        The drug of wells whose layout names none.
    plate_prefix : str
        Put before every plate name of the manifest (e.g. an experiment's name).
    folds, val_series : int
        The cross-validation whose series need sets the ``few_series`` warning.
    bright_field : int or str, optional
        The channel (number or name) to use when the file names hold several and do not say which one is
        bright field (:func:`training.instruments.group_wells`).
    synthetic : bool
        The inputs are simulated (carried into the result and the manifest).

    Returns
    -------
    LabData
    """
    problems: list[str] = []
    file_notes: list[Notice] = []
    reader_plates = _plates_of(readings, "reader", problems, file_notes)
    layout_plates = _plates_of(layouts, "layout", problems, file_notes)
    image_files = [p for p in images if _is_image(p)]
    groups = group_wells([(p, _read_image_name(p)) for p in image_files], bright_field=bright_field)
    problems += groups.problems
    unread = list(groups.unrecognised)

    image_labels = list(dict.fromkeys(w.plate for w in groups.wells))
    by_image_plate: dict[str | None, dict[str, WellFiles]] = {}
    for files in groups.wells:
        by_image_plate.setdefault(files.plate, {})[files.well] = files
    image_pairs, images_renamed = _pair(list(reader_plates), image_labels, one_for_all=False)
    layout_pairs, layout_renamed = _pair(list(reader_plates), list(layout_plates), one_for_all=True)
    layout_has_series = any(w.series for p in layout_plates.values() for w in p.wells.values())

    tally = _Tally()
    pairings = []
    without_reading: list[str] = []
    used_image_plates: set[str | None] = set()
    for label, plate in reader_plates.items():
        name = f"{plate_prefix}{label}"
        partners = image_pairs[label]
        used_image_plates.update(partners)
        files_by_well: dict[str, tuple[str, ...]] = {}
        for partner in partners:
            for well, files in by_image_plate.get(partner, {}).items():
                files_by_well[well] = files_by_well.get(well, ()) + files.files
        layout_label = layout_pairs[label][0] if layout_pairs[label] else None
        layout = None if layout_label is None else layout_plates[layout_label].wells
        pairings.append(PlatePairing(name, label, tuple(p or "" for p in partners), layout_label))
        for well in sorted(plate.wells, key=_well_order):
            if well not in files_by_well:
                tally.without_image.append((name, well))
                continue
            _judge_well(
                name, well, plate.wells[well], files_by_well[well], layout,
                drug=drug, layout_has_series=layout_has_series, tally=tally,
            )  # fmt: skip
        without_reading += [
            path for well, paths in files_by_well.items() if well not in plate.wells for path in paths
        ]
    without_reading += [
        path for files in groups.wells if files.plate not in used_image_plates for path in files.files
    ]
    renamed = []
    if images_renamed and image_labels[0] is not None:
        only = next(iter(reader_plates))
        renamed.append(
            f"the images' plate '{image_labels[0] or '(top folder)'}' is taken as the reader's plate '{only}'"
        )
    if layout_renamed and len(layout_plates) == 1 and len(reader_plates) == 1:
        renamed.append(
            f"the layout's plate '{next(iter(layout_plates))}' is taken as the reader's plate "
            f"'{next(iter(reader_plates))}'"
        )
    min_series = cv_min_series(folds, val_series)
    matched = tuple(tally.matched)
    return LabData(
        n_images=len(image_files),
        n_readings=sum(len(p.wells) for p in reader_plates.values()),
        matched=matched,
        series_from="layout" if layout_has_series else "plate_row",
        plates=tuple(pairings),
        readings_without_image=tuple(tally.without_image),
        images_without_reading=tuple(without_reading),
        left_out=tuple(tally.left_out),
        unread_images=tuple(unread),
        channels_left_out=tuple((channel, len(paths)) for channel, paths in groups.left_out),
        thumbnails=groups.thumbnails,
        problems=tuple(problems),
        warnings=(
            *file_notes,
            *_warnings(
                matched,
                min_series,
                layout_everywhere=len(layout_plates) == 1 and len(reader_plates) > 1,
                renamed=renamed,
            ),
        ),
        refused=_refusal(matched),
        cv_min_series=min_series,
        synthetic=synthetic,
    )


# ------------------------------------------------------------------------------------------ files


def list_images(folder: str | Path) -> list[str]:
    """Image files under ``folder`` (recursively), as sorted paths relative to it with ``/``."""
    root = Path(folder)
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and _is_image(p.name)
    )


def marked_synthetic(texts: Iterable[str]) -> bool:
    """Does any of these file texts hold :data:`SYNTHETIC_MARK` (a file the simulator wrote)?"""
    return any(SYNTHETIC_MARK in text for text in texts)


def _head(path: Path) -> str:
    """The start of a file as text (XLSX files are zipped: their mark is not seen)."""
    with path.open("rb") as handle:
        return handle.read(4096).decode("utf-8", errors="replace")


def read_lab_data(
    images: str | Path,
    layouts: Sequence[str | Path],
    readings: Sequence[str | Path],
    *,
    unit: str | None = None,
    **options: Any,
) -> LabData:
    """Read an image folder, layout files and reader exports, and :func:`match_lab_data` them.

    ``unit``: the unit of bare layout numbers when the layout names none (see
    :func:`training.layouts.parse_layout`). Text layout or reader files holding :data:`SYNTHETIC_MARK`
    make the result synthetic. Other keyword options go to :func:`match_lab_data`.
    """
    folder = Path(images)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder}")
    files = [Path(p) for p in (*layouts, *readings)]
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"file{'s' if len(missing) > 1 else ''} not found: {', '.join(missing)}")
    return match_lab_data(
        list_images(folder),
        [(Path(p).name, read_layout(p, unit=unit)) for p in layouts],
        [(Path(p).name, read_reader(p)) for p in readings],
        synthetic=marked_synthetic(_head(p) for p in files),
        **options,
    )


def write_lab_manifest(lab: LabData, images: str | Path, out: str | Path, *, cell_line: str) -> Path:
    """Write the matched wells as a training manifest (``out``: a folder or a path named manifest.csv).

    One row per well: the manifest holds one image per well, so a well's first field is used and its
    other fields are not (the caller should say so: :attr:`LabData.extra_fields`). Image paths are written
    relative to the manifest's folder.

    Raises
    ------
    ValueError
        When the matching was refused, ``cell_line`` is empty or ``out`` names another file than
        manifest.csv.
    """
    if lab.refused is not None:
        raise ValueError(f"no manifest written: {lab.refused.message}")
    if not cell_line.strip():
        raise ValueError("cell_line must not be empty")
    target = Path(out)
    if target.suffix.lower() == ".csv" and target.name != MANIFEST_NAME:
        raise ValueError(
            f"the manifest must be called {MANIFEST_NAME} (train reads DIR/{MANIFEST_NAME}); "
            f"got {target.name}"
        )
    folder = (target.parent if target.suffix.lower() == ".csv" else target).resolve()
    folder.mkdir(parents=True, exist_ok=True)  # before the check of the image paths through it
    root = Path(images).resolve()
    rows = [
        {
            "image": PurePosixPath(os.path.relpath(root / m.images[0], folder)).as_posix(),
            "cell_line": cell_line.strip(),
            "drug": m.drug,
            "concentration_um": m.concentration_um,
            "od450": m.od450,
            "plate": m.plate,
            "well": m.well,
            "series": m.series,
            "synthetic": lab.synthetic,
            "row": m.well[0],
            "column": int(m.well[1:]),
        }
        for m in lab.matched
    ]
    return write_manifest(pd.DataFrame(rows), folder)
