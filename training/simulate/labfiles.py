"""The files a lab would have beside its images: per plate a plate-reader OD450 export and a layout.

Per simulated plate, in its image folder (``<cell line>/plate<k>/``):

- ``od450.csv``: an 8 × 12 OD450 grid under a few header lines, as a plate reader exports it;
- ``layout.csv``: the plate's concentration grid (µM), series grid (the plate row's letter: one row is one
  dose series) and drug grid, in the format of :func:`training.layouts.layout_template`.

Both start with a line holding :data:`training.labdata.SYNTHETIC_MARK`, so they are never taken for a real
experiment (``python -m training manifest`` marks what it converts from them synthetic). Column 1 (the
medium-only blanks of the paper's plates, not imaged) is left empty. ``python -m training manifest --images
DIR/<cell line> --layout …/layout.csv --readings …/od450.csv --plate-prefix <cell line>-P`` gives back the
simulator's own manifest (``tests/training/test_labdata.py``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import pandas as pd

from training.labdata import SYNTHETIC_MARK

__all__ = ["LAYOUT_FILE", "READER_FILE", "layout_csv", "reader_csv", "write_lab_files"]

READER_FILE = "od450.csv"
LAYOUT_FILE = "layout.csv"
_ROWS = "ABCDEFGH"
_COLUMNS = range(1, 13)


def _grid_lines(title: str, values: Mapping[str, str], corner: str = "") -> list[list[str]]:
    """A title line and an 8 × 12 grid (empty where ``values`` has no well)."""
    lines = [[title], [corner, *(str(c) for c in _COLUMNS)]]
    lines += [[row, *(values.get(f"{row}{c:02d}", "") for c in _COLUMNS)] for row in _ROWS]
    return lines


def _csv_text(lines: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(lines)
    return buffer.getvalue()


def reader_csv(od450: Mapping[str, float], *, plate: int, note: str) -> str:
    """A reader-style export of one plate: header lines, then the OD450 grid (4 decimals, like a reader).

    Parameters
    ----------
    od450 : mapping
        Well (``B07``) → OD450.
    plate : int
        The plate's number, written as ``Plate <k>``.
    note : str
        What the data are (after :data:`SYNTHETIC_MARK` on the first line).
    """
    lines = [[f"{SYNTHETIC_MARK} reader export ({note}): simulated OD450, not a measurement"]]
    lines += [["Read: absorbance, 450 nm"]]
    lines += _grid_lines(f"Plate {plate}", {w: f"{v:.4f}" for w, v in od450.items()}, corner="<>")
    return _csv_text(lines)


def layout_csv(
    concentration_um: Mapping[str, float],
    series: Mapping[str, str],
    drug: Mapping[str, str],
    *,
    plate: int,
    note: str,
) -> str:
    """The layout of one plate: concentration (µM, shortest exact decimals), series and drug grids."""
    lines = [[f"{SYNTHETIC_MARK} plate layout ({note}): a simulated experiment, not a real plate"]]
    lines += _grid_lines(
        f"Plate {plate} - concentration (µM)", {w: repr(c) for w, c in concentration_um.items()}
    )
    lines += [[], *_grid_lines(f"Plate {plate} - series", series)]
    lines += [[], *_grid_lines(f"Plate {plate} - drug", drug)]
    return _csv_text(lines)


def write_lab_files(manifest: pd.DataFrame, out: str | Path) -> list[Path]:
    """Write ``od450.csv`` and ``layout.csv`` beside each simulated plate's images; returns their paths.

    Parameters
    ----------
    manifest : pandas.DataFrame
        The simulator's manifest (``image``, ``cell_line``, ``drug``, ``concentration_um``, ``od450``,
        ``plate``, ``well``), wells of a plate in one image folder.
    out : str or Path
        The dataset folder the ``image`` paths are relative to.
    """
    written = []
    for line, wells_of_line in manifest.groupby("cell_line", sort=False):
        for number, (plate, wells) in enumerate(wells_of_line.groupby("plate", sort=False), start=1):
            folders = {PurePosixPath(image).parent for image in wells["image"]}
            if len(folders) != 1:
                raise ValueError(f"plate {plate} has images in {len(folders)} folders; expected one")
            folder = Path(out) / folders.pop()
            note = f"cell line {line}, plate {plate}"
            by_well = wells.set_index("well")
            reader = reader_csv(by_well["od450"].to_dict(), plate=number, note=note)
            layout = layout_csv(
                by_well["concentration_um"].to_dict(),
                {well: well[0] for well in by_well.index},
                by_well["drug"].to_dict(),
                plate=number,
                note=note,
            )
            for name, text in ((READER_FILE, reader), (LAYOUT_FILE, layout)):
                (folder / name).write_text(text, encoding="utf-8", newline="")
                written.append(folder / name)
    return written
