"""The run's output folder: one folder per finished plate, written whole or not at all, then the combined
tables.

```
OUT/
  run.json                   the run's settings: model id and version, app version, time, counts, checks
  wells.csv, ic50.csv        every finished plate's rows, in plate order (rebuilt at the end of each run)
  plates/<plate key>/        one per finished plate: wells.csv, ic50.csv, plate.json (written last)
```

A plate folder is written under a temporary name and renamed when complete, so a run that is stopped at any
moment leaves whole plates only; ``plate.json`` records what the plate's results rest on (its files, its
layout wells, the model), and a later run skips a plate only when all of it is the same.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from app.report import csv_cell
from training.score.archive import PlateJob
from training.score.plate import IC50_COLUMNS, WELL_COLUMNS, PlateTables

__all__ = [
    "PLATES_FOLDER",
    "RUN_FILE",
    "clean_partial",
    "combine_tables",
    "is_done",
    "write_json",
    "write_plate",
]

PLATES_FOLDER = "plates"
RUN_FILE = "run.json"
_PLATE_FILE = "plate.json"
_PARTIAL = ".partial-"
_TABLES = {"wells.csv": WELL_COLUMNS, "ic50.csv": IC50_COLUMNS}


def _csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(columns)
    for row in rows:
        out.writerow([csv_cell(row.get(c), full_precision=True) for c in columns])
    return buf.getvalue()


def write_json(path: Path, value: Mapping[str, Any]) -> None:
    """Write JSON atomically (a temporary file renamed over the old one)."""
    tmp = path.with_name(f"{_PARTIAL}{os.getpid()}-{path.name}")
    tmp.write_text(json.dumps(value, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _plate_folder(out: Path, plate: PlateJob) -> Path:
    return out / PLATES_FOLDER / plate.key


#: The image options of a plate written before they were recorded: the page's rules.
_DEFAULT_IMAGE_OPTIONS = {"plane": None, "bright_field": None, "window": "file"}


def is_done(
    out: Path, plate: PlateJob, model: Mapping[str, Any], image_options: Mapping[str, Any] | None = None
) -> bool:
    """Whether ``out`` holds this plate's results for the same files, layout, model and image options
    (:meth:`training.score.decode.ImageOptions.to_dict`; None: the defaults)."""
    path = _plate_folder(out, plate) / _PLATE_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    wanted = dict(image_options or _DEFAULT_IMAGE_OPTIONS)
    return (
        record.get("fingerprint") == plate.fingerprint()
        and record.get("model") == dict(model)
        and record.get("image_options", _DEFAULT_IMAGE_OPTIONS) == wanted
    )


def write_plate(out: Path, plate: PlateJob, tables: PlateTables, record: Mapping[str, Any]) -> Path:
    """Write a finished plate's folder whole: its tables, then ``plate.json``, then one rename.

    ``record`` is stored in ``plate.json`` with the plate's label and fingerprint (it must hold ``model``,
    and ``image_options`` unless they are the defaults, which :func:`is_done` compares).
    """
    final = _plate_folder(out, plate)
    tmp = final.with_name(f"{_PARTIAL}{os.getpid()}-{plate.key}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / "wells.csv").write_text(_csv_text(WELL_COLUMNS, tables.wells), encoding="utf-8")
    (tmp / "ic50.csv").write_text(_csv_text(IC50_COLUMNS, tables.curves), encoding="utf-8")
    meta = {"plate": plate.label, "fingerprint": plate.fingerprint(), **record}
    (tmp / _PLATE_FILE).write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if final.exists():  # results of other files or another model: replaced whole
        shutil.rmtree(final)
    os.rename(tmp, final)
    return final


def clean_partial(out: Path) -> int:
    """Remove what a stopped run left half-written; returns how many were removed."""
    removed = 0
    for folder in (out, out / PLATES_FOLDER):
        for path in folder.glob(f"{_PARTIAL}*") if folder.is_dir() else ():
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed += 1
    return removed


def combine_tables(out: Path, plates: Sequence[PlateJob]) -> dict[str, int]:
    """Rebuild ``OUT/wells.csv`` and ``OUT/ic50.csv`` from the finished plates' files, streaming.

    Plates without a folder (not finished) are left out. Returns the data rows written per table.
    """
    counts = {}
    for name in _TABLES:
        target = out / name
        tmp = out / f"{_PARTIAL}{os.getpid()}-{name}"
        rows = 0
        with tmp.open("w", encoding="utf-8", newline="") as combined:
            writer = csv.writer(combined, lineterminator="\n")
            writer.writerow(_TABLES[name])
            for plate in plates:
                folder = _plate_folder(out, plate)
                if not (folder / _PLATE_FILE).is_file():
                    continue
                with (folder / name).open(encoding="utf-8", newline="") as part:
                    # By column name: a plate written by an earlier version lacks the newer columns.
                    for row in csv.DictReader(part):
                        writer.writerow([row.get(column) or "" for column in _TABLES[name]])
                        rows += 1
        os.replace(tmp, target)
        counts[name] = rows
    return counts
