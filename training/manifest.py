"""The dataset format: a folder of well images and one ``manifest.csv`` describing them.

Everything in ``training/`` reads datasets through :func:`load_manifest`, real lab data and simulated
plates alike. One row per well image:

Required columns
    ``image``             path of the image file, relative to the manifest's folder (``\\`` is read as ``/``).
    ``cell_line``         e.g. ``A549``.
    ``drug``              e.g. ``doxorubicin``.
    ``concentration_um``  drug concentration in µM, a number ≥ 0 (0 = vehicle control).
    ``od450``             the well's CCK-8 absorbance at 450 nm, between −0.1 and 5. May be empty only for
                          unlabelled prediction sets (load with ``require_od450=False``).
    ``plate``             plate id; ``(plate, well)`` is unique.
    ``well``              well id such as ``B07`` (rows A–P, columns 1–24, so 96- and 384-well plates);
                          ``b7`` and ``B7`` are accepted and normalised to ``B07``.
    ``series``            id of one dose series: one image per concentration of one cell line and drug
                          (the unit that train/test splits keep together).

Optional known columns
    ``synthetic`` (true/false), ``viability_true`` (0–1, fraction of the untreated control),
    ``ic50_true_um`` (µM), ``hill_true``, ``n_cells`` (live cells in the image), ``seed`` (integer),
    ``row``, ``column`` (plate coordinates), ``notes``.

Any other column must start with ``x_`` (free user columns; kept, and converted to numbers when every
value is one). Anything else is an error, so that a typo (``od_450``) is caught rather than ignored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

import pandas as pd

__all__ = [
    "MANIFEST_NAME",
    "OD450_RANGE",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "ManifestError",
    "load_manifest",
    "normalise_well",
    "validate_manifest",
    "write_manifest",
]

#: File name of the manifest inside a dataset folder.
MANIFEST_NAME = "manifest.csv"

REQUIRED_COLUMNS: tuple[str, ...] = (
    "image",
    "cell_line",
    "drug",
    "concentration_um",
    "od450",
    "plate",
    "well",
    "series",
)
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "synthetic",
    "viability_true",
    "ic50_true_um",
    "hill_true",
    "n_cells",
    "seed",
    "row",
    "column",
    "notes",
)
#: Prefix of free user columns.
USER_PREFIX = "x_"
#: Accepted OD450 values (inclusive). A blank-subtracted reading can be slightly negative; a plate reader
#: saturates well below 5.
OD450_RANGE = (-0.1, 5.0)

_TEXT_COLUMNS = ("image", "cell_line", "drug", "plate", "well", "series")
_FLOAT_COLUMNS = ("concentration_um", "od450", "viability_true", "ic50_true_um", "hill_true")
_INT_COLUMNS = ("n_cells", "seed", "column")
#: A well ID, A01–P24: 96- and 384-well plates (the twin of static/js/concentrations.js WELL_RE).
_WELL_RE = re.compile(r"^([A-Pa-p])[-_]?0*(2[0-4]|1[0-9]|[1-9])$")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


class ManifestError(ValueError):
    """A manifest is not usable; the message lists every problem found.

    Row numbers are those of the CSV file as a spreadsheet shows it: the header is row 1, the first well
    row 2. ``problems`` holds the same lines as a list.
    """

    def __init__(self, problems: Iterable[str], *, source: str = "manifest"):
        self.problems = list(problems)
        count = len(self.problems)
        header = f"{source}: {count} problem{'s' if count != 1 else ''}"
        super().__init__(header + ":\n" + "\n".join(f"  - {p}" for p in self.problems))


def normalise_well(well: object) -> str:
    """Normalise a well id: ``'b7'``, ``'B7'``, ``'B007'``, ``'B-07'`` → ``'B07'``.

    A01–P24: 96- and 384-well plates. Rows A–P (either case: the column is known to hold well IDs) and
    columns 1–24, with leading zeros and an optional ``-`` or ``_`` between row and column; surrounding
    spaces are ignored. The twin of ``parseWellId`` in ``static/js/concentrations.js``, which finds the
    same IDs in file names (upper-case row only there); ``tests/data/well_ids.json`` holds the cases both
    must pass. Raises ``ValueError`` naming the value otherwise.
    """
    text = str(well).strip()
    match = _WELL_RE.match(text)
    if match is None:
        raise ValueError(f"well must look like A01..P24 (e.g. B07 or B7); got {text!r}")
    return f"{match.group(1).upper()}{int(match.group(2)):02d}"


def _csv_row(index: int) -> int:
    """Row number in the CSV file of the data row at position ``index`` (header = row 1)."""
    return index + 2


def _is_blank(value: object) -> bool:
    """True for an empty cell: ``None``, NaN, ``pd.NA`` or a blank string."""
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _parse_float(value: object) -> float | None:
    """A float, NaN for a blank cell, or ``None`` when the value is not a number."""
    if _is_blank(value):
        return math.nan
    if isinstance(value, bool):
        return None
    try:
        return float(value.strip()) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _parse_int(value: object) -> int | float | None:
    """An int, NaN for a blank cell, or ``None`` when the value is not an integer."""
    number = _parse_float(value)
    if number is None or math.isnan(number):
        return number
    if not math.isfinite(number) or number != int(number):
        return None
    return int(number)


def _parse_bool(value: object) -> bool | float | None:
    if _is_blank(value):
        return math.nan
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _check_columns(columns: list[str], *, require_od450: bool) -> list[str]:
    problems = []
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS) | {"path"}
    unknown = [c for c in columns if c not in known and not c.startswith(USER_PREFIX)]
    if unknown:
        problems.append(
            f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(repr(c) for c in unknown)}; "
            f"allowed: {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}, or any name starting with "
            f"{USER_PREFIX!r}"
        )
    needed = [c for c in REQUIRED_COLUMNS if require_od450 or c != "od450"]
    missing = [c for c in needed if c not in columns]
    if missing:
        problems.append(f"missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        problems.append(f"duplicate column{'s' if len(duplicated) > 1 else ''} {', '.join(duplicated)}")
    return problems


def _normalise(
    df: pd.DataFrame, *, root: Path, require_od450: bool, check_files: bool
) -> tuple[pd.DataFrame, list[str]]:
    """Parse and check every cell; returns the typed table (with ``path``) and the problems found."""
    columns = [str(c).strip() for c in df.columns]
    problems = _check_columns(columns, require_od450=require_od450)
    if problems:
        return df, problems
    df = df.copy()
    df.columns = columns
    df = df.drop(columns=["path"], errors="ignore").reset_index(drop=True)
    if len(df) == 0:
        return df, ["the manifest has no rows (empty manifest)"]
    if "od450" not in df.columns:
        df["od450"] = math.nan
    out = pd.DataFrame(index=df.index)

    for name in _TEXT_COLUMNS:
        values = []
        for i, value in enumerate(df[name]):
            if _is_blank(value):
                problems.append(f"row {_csv_row(i)}: {name} is empty")
                values.append("")
            else:
                text = str(value).strip()
                values.append(text.replace("\\", "/") if name == "image" else text)
        out[name] = values

    wells = []
    for i, value in enumerate(out["well"]):
        if value == "":
            wells.append("")
            continue
        try:
            wells.append(normalise_well(value))
        except ValueError:
            problems.append(
                f"row {_csv_row(i)}: well {value!r} is not a well id like B07 (rows A–P, columns 1–24)"
            )
            wells.append(value)
    out["well"] = wells

    unreadable: set[tuple[str, int]] = set()
    for name in _FLOAT_COLUMNS:
        if name not in df.columns:
            continue
        parsed = []
        for i, value in enumerate(df[name]):
            number = _parse_float(value)
            if number is None:
                problems.append(f"row {_csv_row(i)}: {name} {str(value).strip()!r} is not a number")
                unreadable.add((name, i))
                number = math.nan
            parsed.append(number)
        out[name] = pd.Series(parsed, dtype="float64")

    for name in _INT_COLUMNS:
        if name not in df.columns:
            continue
        parsed_int: list[object] = []
        for i, value in enumerate(df[name]):
            number = _parse_int(value)
            if number is None:
                problems.append(f"row {_csv_row(i)}: {name} {str(value).strip()!r} is not an integer")
                number = math.nan
            parsed_int.append(pd.NA if isinstance(number, float) else number)
        out[name] = pd.array(parsed_int, dtype="Int64")

    if "synthetic" in df.columns:
        flags: list[object] = []
        for i, value in enumerate(df["synthetic"]):
            flag = _parse_bool(value)
            if flag is None:
                problems.append(f"row {_csv_row(i)}: synthetic {str(value).strip()!r} is not true or false")
                flag = math.nan
            flags.append(pd.NA if isinstance(flag, float) else flag)
        out["synthetic"] = pd.array(flags, dtype="boolean")

    for name in ("row", "notes"):
        if name in df.columns:
            out[name] = ["" if _is_blank(v) else str(v).strip() for v in df[name]]

    for name in df.columns:
        if name.startswith(USER_PREFIX):
            out[name] = _user_column(df[name])

    lo, hi = OD450_RANGE
    for i in range(len(out)):
        row = _csv_row(i)
        conc = out.at[i, "concentration_um"]
        if math.isnan(conc):
            if ("concentration_um", i) not in unreadable:
                problems.append(f"row {row}: concentration_um is empty or NaN (use 0 for vehicle control)")
        elif not math.isfinite(conc) or conc < 0:
            problems.append(f"row {row}: concentration_um must be a finite number >= 0 µM; got {conc:g}")
        od = out.at[i, "od450"]
        if math.isnan(od):
            if require_od450 and ("od450", i) not in unreadable:
                problems.append(
                    f"row {row}: od450 is empty (allowed only for unlabelled sets: require_od450=False)"
                )
        elif not lo <= od <= hi:
            problems.append(f"row {row}: od450 must be between {lo:g} and {hi:g}; got {od:g}")
        if "viability_true" in out and not math.isnan(v := out.at[i, "viability_true"]) and v < 0:
            problems.append(f"row {row}: viability_true must be >= 0; got {v:g}")
        if "ic50_true_um" in out and not math.isnan(v := out.at[i, "ic50_true_um"]) and not 0 < v < math.inf:
            problems.append(f"row {row}: ic50_true_um must be a finite number > 0 µM; got {v:g}")

    problems += _check_images(out, root=root, check_files=check_files)
    problems += _check_duplicates(out)
    out["path"] = [root / PurePosixPath(p) if p else root for p in out["image"]]
    return out, problems


def _user_column(values: pd.Series) -> pd.Series:
    """An ``x_`` column as numbers when every non-blank value is one, else as text."""
    parsed = [_parse_float(v) for v in values]
    if all(p is not None for p in parsed):
        numbers = pd.Series(parsed, dtype="float64")
        finite = numbers.dropna()
        if len(finite) and (finite == finite.round()).all() and finite.abs().max() < 2**53:
            return pd.Series(pd.array([pd.NA if math.isnan(v) else int(v) for v in numbers], dtype="Int64"))
        return numbers
    return pd.Series(["" if _is_blank(v) else str(v) for v in values], dtype="object")


def _check_images(out: pd.DataFrame, *, root: Path, check_files: bool) -> list[str]:
    problems = []
    for i, image in enumerate(out["image"]):
        if not image:
            continue
        relative = PurePosixPath(image)
        if relative.is_absolute() or re.match(r"^[A-Za-z]:", image):
            problems.append(
                f"row {_csv_row(i)}: image {image!r} must be a path relative to the manifest's folder"
            )
        elif check_files and not (root / relative).is_file():
            problems.append(f"row {_csv_row(i)}: image file {image!r} not found in {root}")
    return problems


def _rows_of_duplicates(keys: list[tuple], label: str) -> list[str]:
    seen: dict[tuple, list[int]] = {}
    for i, key in enumerate(keys):
        if all(k != "" for k in key):
            seen.setdefault(key, []).append(_csv_row(i))
    return [
        f"rows {', '.join(map(str, rows))}: duplicate {label} {' / '.join(map(str, key))}"
        for key, rows in seen.items()
        if len(rows) > 1
    ]


def _check_duplicates(out: pd.DataFrame) -> list[str]:
    problems = _rows_of_duplicates(list(zip(out["plate"], out["well"], strict=True)), "(plate, well)")
    problems += _rows_of_duplicates([(p,) for p in out["image"]], "image")
    series_keys = [
        (s, f"{c:g} µM") if not math.isnan(c) else (s, "")
        for s, c in zip(out["series"], out["concentration_um"], strict=True)
    ]
    problems += [
        p.replace("duplicate (series, concentration)", "series has one image per concentration, but")
        for p in _rows_of_duplicates(series_keys, "(series, concentration)")
    ]
    for series, group in out.groupby("series", sort=True):
        if series == "":
            continue
        for name in ("cell_line", "drug"):
            values = sorted(set(group[name]) - {""})
            if len(values) > 1:
                problems.append(
                    f"series {series!r} mixes {name}s {', '.join(values)} (one series = one {name})"
                )
    return problems


def _source_paths(folder_or_csv: str | Path) -> tuple[Path, Path]:
    path = Path(folder_or_csv).expanduser().resolve()
    csv_path = path / MANIFEST_NAME if path.is_dir() else path
    if not csv_path.is_file():
        raise FileNotFoundError(f"no manifest found: {csv_path} does not exist")
    return csv_path, csv_path.parent


def load_manifest(
    folder_or_csv: str | Path, *, require_od450: bool = True, check_files: bool = True
) -> pd.DataFrame:
    """Read and check a dataset's ``manifest.csv``.

    Parameters
    ----------
    folder_or_csv : str or Path
        The dataset folder (holding ``manifest.csv``) or the CSV file itself; image paths are relative
        to the CSV's folder.
    require_od450 : bool
        ``False`` for unlabelled prediction sets: ``od450`` may then be empty or absent (NaN).
    check_files : bool
        Check that every image file exists.

    Returns
    -------
    pandas.DataFrame, shape (n_images, n_columns + 1)
        Typed columns (floats for µM and OD450, ``Int64`` for integers, ``boolean`` for ``synthetic``,
        wells normalised to ``B07``), in the file's row order, plus ``path``: the absolute image path.

    Raises
    ------
    FileNotFoundError
        When there is no manifest file.
    ManifestError
        Listing every problem found, with CSV row numbers (header = row 1).
    """
    csv_path, root = _source_paths(folder_or_csv)
    try:
        # utf-8-sig: spreadsheets often start the file with a byte-order mark
        raw = pd.read_csv(
            csv_path, dtype=str, keep_default_na=False, skipinitialspace=True, encoding="utf-8-sig"
        )
    except pd.errors.EmptyDataError:
        raise ManifestError(["the file is empty (no header, no rows)"], source=str(csv_path)) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ManifestError([f"not a readable CSV file: {exc}"], source=str(csv_path)) from None
    out, problems = _normalise(raw, root=root, require_od450=require_od450, check_files=check_files)
    if problems:
        raise ManifestError(problems, source=str(csv_path))
    return out


def validate_manifest(
    df: pd.DataFrame, *, root: str | Path, require_od450: bool = True, check_files: bool = True
) -> None:
    """Check a manifest table (e.g. one built in code before :func:`write_manifest`).

    Same checks as :func:`load_manifest`; row numbers refer to the CSV that :func:`write_manifest` would
    write (position 0 = row 2). Image paths are relative to ``root``.

    Raises
    ------
    ManifestError
        Listing every problem found.
    """
    _, problems = _normalise(
        df, root=Path(root).expanduser().resolve(), require_od450=require_od450, check_files=check_files
    )
    if problems:
        raise ManifestError(problems)


def _column_order(columns: list[str]) -> list[str]:
    known = [c for c in REQUIRED_COLUMNS + OPTIONAL_COLUMNS if c in columns]
    return known + [c for c in columns if c.startswith(USER_PREFIX)]


def write_manifest(
    df: pd.DataFrame, folder: str | Path, *, require_od450: bool = True, check_files: bool = True
) -> Path:
    """Validate ``df`` and write it as ``folder/manifest.csv``; returns the CSV path.

    Columns are written in a fixed order (required, known optional, then ``x_`` columns in their order);
    the ``path`` column of a loaded manifest is dropped. Numbers keep full precision (``load_manifest``
    reads back the same values), booleans are written ``true``/``false``, missing values as empty cells.

    Raises
    ------
    ManifestError
        When the table is not a valid manifest (nothing is written then).
    """
    folder = Path(folder).expanduser().resolve()
    typed, problems = _normalise(df, root=folder, require_od450=require_od450, check_files=check_files)
    if problems:
        raise ManifestError(problems, source=str(folder / MANIFEST_NAME))
    typed = typed[_column_order([c for c in typed.columns if c != "path"])].copy()
    if "synthetic" in typed:
        typed["synthetic"] = typed["synthetic"].map(
            lambda v: "" if pd.isna(v) else ("true" if v else "false")
        )
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / MANIFEST_NAME
    typed.to_csv(csv_path, index=False, lineterminator="\n")
    return csv_path
