"""Plate layouts and plate-reader exports as labs write them: grids or long rows, in CSV or XLSX.

The twin of ``static/js/layouts.js``: the same rules give the same results (``to_dict()`` gives the page's
objects) on the same files (``tests/data/layouts/``; ``tests/training/test_layouts.py`` and
``tests/e2e/test_layouts.py``). Nothing here raises on a user's file: every problem comes back in plain
words naming the file, the sheet and the cell (``"layout.csv, cell E7 (well C05): 'abc' is not a
concentration …"``).

What is read
------------
- **Grids**: a row of column numbers 1–12 (or 1–24) with row letters A–H (or A–P) down the column to its
  left: 8 × 12 (96 wells) or 16 × 24 (384). Anything above a grid (reader header lines, titles) is read for
  its plate (``Plate 2``), and its title line (the line just above, and the grid's corner cell) for a unit
  (``Concentration (nM)``) and a kind: ``series`` or ``drug``/``compound``/``treatment`` grids hold labels,
  others concentrations. Several grids in one file are several plates, or a plate's concentration grid
  and its series/drug grids (an unnamed grid joins the plate above it while that plate lacks its kind).
  In a workbook with grids on several sheets, an unnamed grid's plate is its sheet's name.
- **Long rows**: a header row naming ``well`` and ``concentration`` (layouts) or ``od450`` (reader
  exports), optionally ``plate``, ``unit``, ``series``, ``drug``; a unit may sit in the header
  (``concentration (nM)``).
- **TOML layouts** (Python only) through wellmap, whose long table is read as long rows.

Layout cells: a number (in the grid's unit, or with its own: ``10 µM``, ``500nM``, ``1e-6 M``, ``0,5 mM``;
M, mM, µM/uM, nM, pM), optionally with a drug name (``Dox 10 µM``); ``DMSO``/``vehicle``/``control``/``0``
= vehicle (0 µM); ``untreated`` (0 µM), ``blank`` (no cells) and ``kill`` (killed-cell control) as control
kinds; empty (or ``-``, ``empty``, ``unused``) = no well. Reader cells: a number is an OD450; ``OVER``,
``Sat``, ``>3.5`` … are ``saturated``, ``<0.01`` … ``below_range``, any other text (``*``, ``Err``,
``#DIV/0!``) ``invalid``: never numbers, always with their text.

Libraries: openpyxl reads XLSX (the page uses read-excel-file); wellmap reads TOML layouts; CSV is read by
the csv module after the delimiter rule below (the page has a twin of both).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from training.manifest import normalise_well

__all__ = [
    "CONTROL_KINDS",
    "LayoutWell",
    "Parsed",
    "Plate",
    "ReaderWell",
    "Sheet",
    "layout_template",
    "parse_csv_text",
    "parse_layout",
    "parse_reader",
    "read_layout",
    "read_reader",
    "read_sheets",
]

Cell = str | int | float | bool | dt.datetime | dt.date | None

#: Control kinds of a layout well: vehicle and untreated wells are at 0 µM; blank (no cells) and kill
#: (killed-cell control) wells have no concentration.
CONTROL_KINDS = ("vehicle", "untreated", "blank", "kill")

#: Factor of each concentration unit to µM.
_TO_UM = {"M": 1e6, "mM": 1e3, "µM": 1.0, "nM": 1e-3, "pM": 1e-6}
_UNIT = r"µM|μM|uM|UM|um|nM|NM|mM|pM|M"
_NUMBER = r"[-+]?(?:\d+(?:[.,]\d+)?|[.,]\d+)(?:[eE][-+]?\d+)?"
_CELL_RE = re.compile(rf"^({_NUMBER})[ \t]*({_UNIT})?$", re.ASCII)
_EMBEDDED_RE = re.compile(rf"(?<![A-Za-z0-9.,])({_NUMBER})[ \t]*({_UNIT})(?![A-Za-z0-9])", re.ASCII)
_TITLE_UNIT_RE = re.compile(r"(?<![A-Za-z])(µM|μM|uM|UM|um|nM|NM|mM|pM)(?![A-Za-z])|[(\[]M[)\]]")
_TITLE_MOLAR_RE = re.compile(r"\b(micromolar|nanomolar|millimolar|picomolar|molar)\b", re.I | re.A)
_MOLAR_UNITS = {"micromolar": "µM", "nanomolar": "nM", "millimolar": "mM", "picomolar": "pM", "molar": "M"}
_WORDS = {
    "kill": (
        "kill",
        "killed",
        "max kill",
        "dead",
        "positive",
        "positive control",
        "pos",
        "pos ctrl",
        "triton",
    ),
    "blank": ("blank", "medium", "media", "medium only", "media only", "background", "bkg", "no cells"),
    "untreated": ("untreated", "no treatment", "no drug", "cells only"),
    "vehicle": ("dmso", "vehicle", "veh", "control", "ctrl", "ctl", "mock", "negative", "neg", "neg ctrl"),
}
_NO_WELL = ("-", "—", "–", "empty", "unused", "none", "n/a")
_PLATE_RE = re.compile(
    r"\bplate[ \t]*(?:no\.?|number|#|:|-|_)?[ \t]*([A-Za-z]?\d+[A-Za-z]?|[A-Za-z])\b", re.I | re.A
)
_SATURATED_RE = re.compile(r"^(?:over|ovrflw|overflow|sat|saturated|high|>.*)$", re.IGNORECASE)
_BELOW_RE = re.compile(r"^(?:low|<.*)$", re.IGNORECASE)
_LABEL_ROLES = (
    ("series", re.compile(r"series", re.I)),
    ("drug", re.compile(r"drug|compound|treatment", re.I)),
)
_CONCENTRATION_TITLE_RE = re.compile(r"conc|dose|dilution", re.I)
_HEADER_ALIASES = {
    "plate": ("plate", "plateid", "platename", "barcode"),
    "well": ("well", "wellid", "wellname"),
    "concentration": ("concentration", "conc", "dose"),
    "unit": ("unit", "units"),
    "series": ("series",),
    "drug": ("drug", "compound", "treatment"),
    "od450": ("od450", "od", "absorbance", "abs", "od450nm", "450", "value"),
}


# ------------------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class LayoutWell:
    """One well of a layout: concentration (µM; None for blank and kill wells), control kind, labels."""

    concentration_um: float | None
    control: str | None = None
    series: str | None = None
    drug: str | None = None


@dataclass(frozen=True)
class ReaderWell:
    """One well of a plate-reader export: OD450, or None with a flag and the reader's text."""

    od450: float | None
    flag: str | None = None  # "saturated", "below_range" or "invalid"
    text: str | None = None


@dataclass(frozen=True)
class Plate:
    """One plate: its label as the file names it, its size (96 or 384 wells) and its wells by ID."""

    plate: str
    size: int
    wells: dict[str, Any]


@dataclass(frozen=True)
class Parsed:
    """The plates a file describes, in file order, and its problems in plain words."""

    plates: tuple[Plate, ...] = ()
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The page's object for this result (``parseLayout`` / ``parseReader``)."""
        return {
            "plates": [
                {"plate": p.plate, "size": p.size, "wells": {w: vars(v).copy() for w, v in p.wells.items()}}
                for p in self.plates
            ],
            "problems": list(self.problems),
        }

    def plate(self, label: str) -> Plate:
        """The plate called ``label``; KeyError naming the plates there are."""
        for p in self.plates:
            if p.plate == label:
                return p
        raise KeyError(f"no plate {label!r}; plates: {[p.plate for p in self.plates]}")


@dataclass(frozen=True)
class Sheet:
    """A sheet of cells as read from a file: CSV text cells, or XLSX values (numbers stay numbers)."""

    name: str
    rows: Sequence[Sequence[Cell]] = field(default_factory=list)


# ------------------------------------------------------------------------------------------ cells


def _number_text(value: float) -> str:
    """A number as the page writes it (JavaScript's ``String(x)``): ``5``, ``0.5``, ``0.00001``, ``1e-7``."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e21:
        return str(int(value))
    text = repr(float(value))
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    if -7 < int(exponent) < 21:
        return format(Decimal(text), "f")
    return f"{mantissa}e{int(exponent):+d}"


def _text(value: Cell) -> str:
    """A cell as trimmed text (numbers as the page writes them)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return _number_text(float(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")[:19]
    if isinstance(value, dt.date):
        return f"{value.isoformat()}T00:00:00"
    return str(value).strip()


def _is_number(value: Cell) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _tidy(um: float) -> float:
    """Round away float noise of unit conversion (500 nM → 0.5 µM, not 0.5000000001)."""
    return float(f"{um:.12g}")


def _unit(text: str) -> str:
    """A unit as written → its key in _TO_UM."""
    if text[0] in "µμuU":
        return "µM"
    if text[0] in "nN":
        return "nM"
    return text


def _to_number(text: str) -> float:
    return float(text.replace(",", "."))


def _control_kind(text: str) -> str | None:
    words = re.sub(r"[^a-z0-9%.]+", " ", text.lower()).strip()
    for kind, names in _WORDS.items():
        if any(re.search(rf"(?<![a-z]){re.escape(n)}(?![a-z])", words) for n in names):
            return kind
    return None


@dataclass(frozen=True)
class _Concentration:
    """A parsed layout cell: µM (None for no number), control kind, drug text, or the problem."""

    um: float | None = None
    control: str | None = None
    drug: str | None = None
    problem: str | None = None
    needs_unit: bool = False


def _concentration(value: Cell, unit: str | None) -> _Concentration | None:
    """A layout cell → concentration; None for an empty cell (no well). ``unit``: the grid's."""
    text = _text(value)
    if text == "" or text.lower() in _NO_WELL:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_number(text, float(value), unit)
    match = _CELL_RE.match(text)
    if match is not None:
        return _from_number(text, _to_number(match[1]), _unit(match[2]) if match[2] else unit)
    embedded = list(_EMBEDDED_RE.finditer(text))
    if len(embedded) == 1:
        m = embedded[0]
        rest = re.sub(r"^[\s,;:@_-]+|[\s,;:@_-]+$", "", text[: m.start()] + " " + text[m.end() :])
        found = _from_number(text, _to_number(m[1]), _unit(m[2]))
        return found if found.problem or not rest else _Concentration(found.um, found.control, rest)
    kind = _control_kind(text)
    if kind is not None:
        return _Concentration(0.0 if kind in ("vehicle", "untreated") else None, kind)
    return _Concentration(
        problem=f"'{text}' is not a concentration (write e.g. 0.5, 500 nM, DMSO, untreated, blank or kill)"
    )


def _from_number(text: str, number: float, unit: str | None) -> _Concentration:
    if not math.isfinite(number) or number < 0:
        return _Concentration(problem=f"'{text}' is not a concentration (must be a number ≥ 0)")
    if number == 0:
        return _Concentration(0.0, "vehicle")
    if unit is None:
        return _Concentration(needs_unit=True)
    return _Concentration(_tidy(number * _TO_UM[unit]))


def _reader_value(value: Cell) -> ReaderWell | None:
    """A reader cell → OD450, or a flagged text; None for an empty cell."""
    text = _text(value)
    if text == "":
        return None
    if _is_number(value):
        return ReaderWell(float(value))  # type: ignore[arg-type]
    if re.fullmatch(rf"{_NUMBER}", text, re.ASCII):
        return ReaderWell(_to_number(text))
    if _SATURATED_RE.match(text):
        return ReaderWell(None, "saturated", text)
    if _BELOW_RE.match(text):
        return ReaderWell(None, "below_range", text)
    return ReaderWell(None, "invalid", text)


# ------------------------------------------------------------------------------------------ places


def _column_letters(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA (spreadsheet column names)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _where(source: str, sheet: Sheet, several_sheets: bool) -> str:
    return f"{source}, sheet '{sheet.name}'" if several_sheets else source


def _cell_ref(row: int, column: int) -> str:
    return f"cell {_column_letters(column)}{row + 1}"


# ------------------------------------------------------------------------------------------ grids


@dataclass(frozen=True)
class _Grid:
    """A grid found in a sheet: header row, first value column, size and the text above it."""

    sheet: Sheet
    row: int
    column: int
    n_rows: int
    n_columns: int
    above: tuple[str, ...]
    title: str

    @property
    def size(self) -> int:
        return self.n_rows * self.n_columns

    def value(self, r: int, c: int) -> Cell:
        row = self.sheet.rows[self.row + 1 + r]
        return row[self.column + c] if self.column + c < len(row) else None


def _header_number(value: Cell) -> int | None:
    if _is_number(value):
        number = float(value)  # type: ignore[arg-type]
        return int(number) if number == int(number) else None
    m = re.fullmatch(r"0*(\d{1,2})", _text(value), re.ASCII)
    return int(m[1]) if m else None


def _row_text(row: Sequence[Cell]) -> str:
    return " ".join(t for t in (_text(c) for c in row) if t)


def _grid_at(sheet: Sheet, r: int, c: int) -> tuple[int, int] | None:
    """(rows, columns) of the labels of a grid whose column 1 header is at (r, c), if any."""
    row = sheet.rows[r]
    n_columns = 0
    while c + n_columns < len(row) and _header_number(row[c + n_columns]) == n_columns + 1:
        n_columns += 1
    n_rows = 0
    while r + 1 + n_rows < len(sheet.rows):
        below = sheet.rows[r + 1 + n_rows]
        if c - 1 >= len(below) or _text(below[c - 1]).upper() != chr(65 + n_rows) or n_rows >= 16:
            break
        n_rows += 1
    return (n_rows, n_columns) if n_columns >= 1 and n_rows >= 1 else None


def _find_grids(sheet: Sheet, where: str, problems: list[str]) -> list[_Grid]:
    """Every plate grid of a sheet, top to bottom; grids of another size are reported."""
    grids: list[_Grid] = []
    start = 0  # first row after the previous grid
    r = 0
    while r < len(sheet.rows):
        found = None
        for c in range(1, len(sheet.rows[r])):
            if _header_number(sheet.rows[r][c]) == 1 and (shape := _grid_at(sheet, r, c)) is not None:
                found = (c, *shape)
                break
        if found is None:
            r += 1
            continue
        c, n_rows, n_columns = found
        if (n_rows, n_columns) not in ((8, 12), (16, 24)):
            last = chr(64 + n_rows)
            problems.append(
                f"{where}, {_cell_ref(r, c)}: a grid of rows A–{last} and columns 1–{n_columns} is no plate "
                "(a plate grid is A–H × 1–12 or A–P × 1–24)"
            )
            r += 1 + n_rows
            continue
        above = tuple(t for t in (_row_text(row) for row in sheet.rows[start:r]) if t)
        corner = _text(sheet.rows[r][c - 1])
        title = " ".join(t for t in ((above[-1] if above else ""), corner) if t)
        grids.append(_Grid(sheet, r, c, n_rows, n_columns, above, title))
        start = r = r + 1 + n_rows
    return grids


def _plate_named(lines: Iterable[str]) -> str | None:
    names = [m[1] for line in lines for m in _PLATE_RE.finditer(line)]
    return names[-1] if names else None


def _title_unit(title: str) -> tuple[str | None, str | None]:
    """(unit, None) or (None, problem) from a grid's title; (None, None) when it names none."""
    units = {_unit(m[1]) if m[1] else "M" for m in _TITLE_UNIT_RE.finditer(title)}
    units |= {_MOLAR_UNITS[m[1].lower()] for m in _TITLE_MOLAR_RE.finditer(title)}
    if len(units) > 1:
        return None, f"the title '{title}' names several units ({', '.join(sorted(units))})"
    return (units.pop() if units else None), None


def _role(title: str) -> str:
    """A grid's kind from its title: a title naming a concentration or a unit is a concentration grid."""
    if _CONCENTRATION_TITLE_RE.search(title) or _TITLE_UNIT_RE.search(title) or _TITLE_MOLAR_RE.search(title):
        return "concentration"
    for role, pattern in _LABEL_ROLES:
        if pattern.search(title):
            return role
    return "concentration"


def _assign_plates(grids: list[_Grid], roles: list[str], sheet_names: bool, reader: bool) -> list[str]:
    """The plate of each grid (see the module docstring)."""
    plates: list[str] = []
    kinds: dict[str, set[str]] = {}
    for grid, role in zip(grids, roles, strict=True):
        named = _plate_named(grid.above) or (grid.sheet.name if sheet_names else None)
        if named is None and plates:
            previous = plates[-1]
            if reader or (grid.sheet is grids[len(plates) - 1].sheet and role not in kinds[previous]):
                named = previous
        if named is None:
            number = len(kinds) + 1
            while str(number) in kinds:
                number += 1
            named = str(number)
        plates.append(named)
        kinds.setdefault(named, set()).add(role)
    return plates


# ------------------------------------------------------------------------------------------ long rows


def _header_key(text: str) -> tuple[str | None, str | None]:
    """(column kind, unit in the header) of a long table's header cell."""
    unit = None
    m = re.search(r"[(\[_ ](µM|μM|uM|um|nM|mM|pM|M)[)\]]?$", text)
    if m:
        unit = _unit(m[1])
        text = text[: m.start()]
    key = re.sub(r"[^a-z0-9]", "", text.lower())
    for kind, aliases in _HEADER_ALIASES.items():
        if key in aliases:
            return kind, unit
    return None, None


def _long_columns(header: Sequence[Cell]) -> dict[str, tuple[int, str | None]]:
    columns: dict[str, tuple[int, str | None]] = {}
    for index, cell in enumerate(header):
        kind, unit = _header_key(_text(cell))
        if kind is not None and kind not in columns:
            columns[kind] = (index, unit)
    return columns


def _long_header(sheet: Sheet) -> int | None:
    """The row of a long table's header: the first row with a 'well' column (reader lines may precede it)."""
    return next((i for i, row in enumerate(sheet.rows) if "well" in _long_columns(row)), None)


def _size_of(wells: Iterable[str]) -> int:
    return 384 if any(w[0] > "H" or int(w[1:]) > 12 for w in wells) else 96


class _Builder:
    """Plates in file order, each well set once (a second value for a well is a problem)."""

    def __init__(self) -> None:
        self.plates: dict[str, dict[str, Any]] = {}
        self.sizes: dict[str, int] = {}
        self.problems: list[str] = []

    def plate(self, label: str, size: int | None = None) -> dict[str, Any]:
        if size is not None:
            self.sizes.setdefault(label, size)
        return self.plates.setdefault(label, {})

    def result(self) -> Parsed:
        plates = tuple(
            Plate(label, self.sizes.get(label) or _size_of(wells), wells)
            for label, wells in self.plates.items()
        )
        return Parsed(plates, tuple(self.problems))


def _long_rows(
    sheet: Sheet, first: int, where: str, build: _Builder, *, reader: bool, unit: str | None
) -> None:
    """The wells of a long table whose header is row ``first``."""
    columns = _long_columns(sheet.rows[first])
    need = "od450" if reader else "concentration"
    if need not in columns:
        build.problems.append(f"{where}: the header row names 'well' but no '{need}' column")
        return

    def cell(row: Sequence[Cell], kind: str) -> Cell:
        index = columns[kind][0] if kind in columns else None
        return row[index] if index is not None and index < len(row) else None

    for r in range(first + 1, len(sheet.rows)):
        row = sheet.rows[r]
        if not _row_text(row):
            continue
        well_text = _text(cell(row, "well"))
        try:
            well = normalise_well(well_text)
        except ValueError:
            build.problems.append(f"{where}, row {r + 1}: '{well_text}' is not a well (A01–P24)")
            continue
        label = _text(cell(row, "plate")) or "1"
        value_ref = f"{where}, {_cell_ref(r, columns[need][0])} (well {well})"
        value: LayoutWell | ReaderWell | None
        if reader:
            value = _reader_value(cell(row, "od450"))
        else:
            row_unit = _text(cell(row, "unit"))
            if row_unit and not re.fullmatch(_UNIT, row_unit):
                build.problems.append(f"{where}, row {r + 1}: '{row_unit}' is not a unit (M, mM, µM, nM, pM)")
                continue
            value = _layout_well(
                cell(row, "concentration"),
                _unit(row_unit) if row_unit else (columns[need][1] or unit),
                value_ref,
                build.problems,
                series=_text(cell(row, "series")) or None,
                drug=_text(cell(row, "drug")) or None,
            )
        if value is None:
            continue
        wells = build.plate(label)
        if well in wells:
            build.problems.append(f"{where}, row {r + 1}: well {well} of plate {label} is given twice")
            continue
        wells[well] = value


def _layout_well(
    value: Cell, unit: str | None, ref: str, problems: list[str], *, series: str | None, drug: str | None
) -> LayoutWell | None:
    found = _concentration(value, unit)
    if found is None:
        return None
    if found.needs_unit:
        problems.append(
            f"{ref}: '{_text(value)}' has no unit (write e.g. 10 µM, or give the unit in the header)"
        )
        return None
    if found.problem is not None:
        problems.append(f"{ref}: {found.problem}")
        return None
    return LayoutWell(found.um, found.control, series, drug or found.drug)


# ------------------------------------------------------------------------------------------ parse


def _well_id(r: int, c: int) -> str:
    return f"{chr(65 + r)}{c + 1:02d}"


def _layout_grids(grids: list[_Grid], source: str, several: bool, build: _Builder, unit: str | None) -> None:
    roles = [_role(g.title) for g in grids]
    plates = _assign_plates(grids, roles, len({id(g.sheet) for g in grids}) > 1, reader=False)
    by_plate: dict[str, dict[str, list[_Grid]]] = {}
    for grid, role, label in zip(grids, roles, plates, strict=True):
        by_plate.setdefault(label, {}).setdefault(role, []).append(grid)
    for label, kinds in by_plate.items():
        where = _where(source, next(iter(kinds.values()))[0].sheet, several)
        doubled = [role for role, found in kinds.items() if len(found) > 1]
        if doubled:
            rows = ", ".join(str(g.row + 1) for g in kinds[doubled[0]])
            build.problems.append(
                f"{where}: plate {label} has {len(kinds[doubled[0]])} {doubled[0]} grids (rows {rows})"
            )
            continue
        if "concentration" not in kinds:
            build.problems.append(f"{where}: plate {label} has no concentration grid")
            continue
        sizes = {g.size for found in kinds.values() for g in found}
        if len(sizes) > 1:
            build.problems.append(
                f"{where}: the grids of plate {label} differ in size ({', '.join(map(str, sorted(sizes)))})"
            )
            continue
        _fill_layout_plate(
            label, {role: found[0] for role, found in kinds.items()}, source, several, build, unit
        )


def _fill_layout_plate(
    label: str, grids: dict[str, _Grid], source: str, several: bool, build: _Builder, unit: str | None
) -> None:
    grid = grids["concentration"]
    where = _where(source, grid.sheet, several)
    grid_unit, problem = _title_unit(grid.title)
    if problem is not None:
        build.problems.append(f"{where}, plate {label}: {problem}")
        return
    wells = build.plate(label, grid.size)
    bare: list[str] = []
    for r in range(grid.n_rows):
        for c in range(grid.n_columns):
            well = _well_id(r, c)
            ref = f"{where}, {_cell_ref(grid.row + 1 + r, grid.column + c)} (well {well})"
            labels = {
                role: _text(g.value(r, c)) or None for role, g in grids.items() if role != "concentration"
            }
            found = _concentration(grid.value(r, c), grid_unit or unit)
            if found is not None and found.needs_unit:
                bare.append(well)
                continue
            value = _layout_well(
                grid.value(r, c), grid_unit or unit, ref, build.problems,
                series=labels.get("series"), drug=labels.get("drug"),
            )  # fmt: skip
            if value is not None:
                wells[well] = value
    if bare:
        build.problems.append(
            f"{where}, plate {label}: {len(bare)} wells ({bare[0]}…) hold bare numbers and the grid names no "
            "unit: write it in the title above the grid (e.g. 'Concentration (µM)') or in each cell (10 µM)"
        )


def _reader_grids(grids: list[_Grid], source: str, several: bool, build: _Builder) -> None:
    plates = _assign_plates(grids, ["od450"] * len(grids), len({id(g.sheet) for g in grids}) > 1, reader=True)
    by_plate: dict[str, list[_Grid]] = {}
    for grid, label in zip(grids, plates, strict=True):
        by_plate.setdefault(label, []).append(grid)
    for label, found in by_plate.items():
        if len(found) > 1:
            at_450 = [g for g in found if "450" in " ".join((*g.above, g.title))]
            if len(at_450) != 1:
                rows = ", ".join(str(g.row + 1) for g in found)
                where = _where(source, found[0].sheet, several)
                build.problems.append(
                    f"{where}: plate {label} has {len(found)} grids (rows {rows}) and not exactly one "
                    "of them says 450: keep only the OD450 grid"
                )
                continue
            found = at_450
        grid = found[0]
        wells = build.plate(label, grid.size)
        for r in range(grid.n_rows):
            for c in range(grid.n_columns):
                value = _reader_value(grid.value(r, c))
                if value is not None:
                    wells[_well_id(r, c)] = value


def _parse(sheets: Sequence[Sheet], source: str, *, reader: bool, unit: str | None) -> Parsed:
    build = _Builder()
    several = len(sheets) > 1
    grids: list[_Grid] = []
    tables = 0
    for sheet in sheets:  # a sheet holds grids or, failing them, a long table
        where = _where(source, sheet, several)
        found = _find_grids(sheet, where, build.problems)
        header = None if found else _long_header(sheet)
        if header is not None:
            tables += 1
            _long_rows(sheet, header, where, build, reader=reader, unit=unit)
        grids += found
    if reader:
        _reader_grids(grids, source, several, build)
    else:
        _layout_grids(grids, source, several, build, unit)
    if not tables and not grids:
        what = "OD450" if reader else "concentration"
        size = "rows A–H down and columns 1–12 across (or A–P, 1–24)"
        build.problems.append(
            f"{source}: no plate grid ({size}) and no long table (a header row with 'well' and '{what}')"
        )
    return build.result()


def _check_unit(unit: str | None) -> str | None:
    if unit is None:
        return None
    if not re.fullmatch(_UNIT, unit):
        raise ValueError(f"unit must be one of M, mM, µM, uM, nM, pM; got {unit!r}")
    return _unit(unit)


def parse_layout(sheets: Sequence[Sheet], *, source: str, unit: str | None = None) -> Parsed:
    """The plate layout(s) a file's sheets describe.

    Parameters
    ----------
    sheets : sequence of Sheet
        From :func:`read_sheets` (or built by hand).
    source : str
        The file's name, for the problems.
    unit : str, optional
        Unit of bare numbers when the file names none (``"uM"``, ``"nM"`` …); without it such numbers are
        a problem, never assumed.

    Returns
    -------
    Parsed
        Plates in file order, each ``{well: LayoutWell}``; problems in plain words.
    """
    return _parse(sheets, source, reader=False, unit=_check_unit(unit))


def parse_reader(sheets: Sequence[Sheet], *, source: str) -> Parsed:
    """The OD450 values a plate-reader export's sheets hold: ``{well: ReaderWell}`` per plate."""
    return _parse(sheets, source, reader=True, unit=None)


# ------------------------------------------------------------------------------------------ files


def _delimiter(text: str) -> str:
    """Tab, semicolon or comma: the first of them that some line (outside quotes) holds twice."""
    lines = [re.sub(r'"[^"]*"', "", line) for line in re.split(r"\r\n|\n|\r", text)]
    for delimiter in ("\t", ";", ","):
        if any(line.count(delimiter) >= 2 for line in lines):
            return delimiter
    return ","


def parse_csv_text(text: str) -> list[list[str]]:
    """Rows of a CSV/TSV text (delimiter: see ``_delimiter``; quotes as RFC 4180), cells trimmed."""
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    return [[cell.strip() for cell in row] for row in reader]


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _xlsx_sheets(path: Path) -> list[Sheet]:
    import openpyxl

    book = openpyxl.load_workbook(path, data_only=True)
    try:
        sheets = []
        for ws in book.worksheets:
            rows = [list(r) for r in ws.iter_rows(min_row=1, min_col=1, values_only=True)]
            sheets.append(
                Sheet(ws.title, [[c.strip() if isinstance(c, str) else c for c in r] for r in rows])
            )
        return sheets
    finally:
        book.close()


def read_sheets(path: str | Path) -> tuple[list[Sheet], list[str]]:
    """The sheets of a CSV/TSV/TXT or XLSX file, and the problems reading it (never raises on its content).

    A text file is one sheet named after the file; an XLSX workbook gives one sheet per worksheet.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    try:
        if suffix in (".csv", ".tsv", ".txt"):
            return [Sheet(target.name, list(parse_csv_text(_decode(target.read_bytes()))))], []
        if suffix == ".xlsx":
            return _xlsx_sheets(target), []
    except Exception as exc:  # a broken file of any kind: say so, naming it
        return [], [f"{target.name}: cannot be read ({type(exc).__name__}: {exc})"]
    if suffix == ".xls":
        return [], [f"{target.name}: the old Excel format (.xls) is not read; save it as .xlsx or CSV"]
    return [], [f"{target.name}: not a CSV, TSV, TXT or XLSX file"]


def _toml_sheets(path: Path) -> tuple[list[Sheet], list[str]]:
    """A wellmap TOML layout as one long table (plate, well and the layout's own columns)."""
    import wellmap

    try:
        table = wellmap.load(path)
    except Exception as exc:  # wellmap's own errors say what is wrong in the TOML
        return [], [f"{path.name}: wellmap could not read it ({exc})"]
    columns = [c for c in table.columns if c not in ("well0", "row", "col", "row_i", "col_j", "path")]
    rows: list[list[Cell]] = [list(columns)]
    rows += [
        [None if _missing(v) else v for v in record] for record in table[columns].itertuples(index=False)
    ]
    return [Sheet(path.name, rows)], []


def _missing(value: object) -> bool:
    try:
        return bool(value is None or (isinstance(value, float) and math.isnan(value)))
    except TypeError:
        return False


def read_layout(path: str | Path, *, unit: str | None = None) -> Parsed:
    """A layout file (CSV/TSV/TXT, XLSX or wellmap TOML) → :func:`parse_layout`'s result."""
    target = Path(path)
    if target.suffix.lower() == ".toml":
        sheets, problems = _toml_sheets(target)
    else:
        sheets, problems = read_sheets(target)
    if problems:
        return Parsed((), tuple(problems))
    return parse_layout(sheets, source=target.name, unit=unit)


def read_reader(path: str | Path) -> Parsed:
    """A plate reader's export (CSV/TSV/TXT or XLSX) → :func:`parse_reader`'s result."""
    target = Path(path)
    sheets, problems = read_sheets(target)
    if problems:
        return Parsed((), tuple(problems))
    return parse_reader(sheets, source=target.name)


# ------------------------------------------------------------------------------------------ template

_TEMPLATE_NOTE = (
    "nostain plate layout: one concentration grid per plate, in the unit of its title (or write the unit "
    "in a cell: 500 nM). DMSO or vehicle (or 0) = vehicle control; untreated; blank = no cells; kill = "
    "killed-cell control; an empty cell = no well. The series grid (optional) names each well's dilution "
    "series; add a 'drug' grid the same way if the plate holds several drugs."
)


def _csv_line(cells: Sequence[str]) -> str:
    return ",".join(f'"{c.replace(chr(34), chr(34) * 2)}"' if re.search(r'[,"\n]', c) else c for c in cells)


def layout_template(n_wells: int) -> str:
    """The CSV text of an empty layout for a 96- or 384-well plate (concentration and series grids)."""
    shapes = {96: (8, 12), 384: (16, 24)}
    if n_wells not in shapes:
        raise ValueError(f"n_wells must be 96 or 384; got {n_wells}")
    n_rows, n_columns = shapes[n_wells]
    lines = [_csv_line([_TEMPLATE_NOTE])]
    for title in ("Plate 1 - concentration (µM)", "Plate 1 - series"):
        lines += ["", title, _csv_line(["", *(str(c) for c in range(1, n_columns + 1))])]
        lines += [_csv_line([chr(65 + r), *([""] * n_columns)]) for r in range(n_rows)]
    return "\r\n".join(lines) + "\r\n"
