"""The page's matching of images to plate-reader readings (static/js/readings.js), run in Chromium on the
shared cases of tests/data/labdata/: it must give exactly what training.labdata gives (computed here from
the same inputs, messages included), and read XLSX readings through the page's sheet reader."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.training.test_labdata import CASES, _match_case
from training.labdata import cv_min_series, plate_key

pytestmark = pytest.mark.e2e

#: One case through the page's parsers (layouts.js) and readings.js, as the train view runs them.
_MATCH = """async (c) => {
  const layouts = await import('/static/js/layouts.js');
  const readings = await import('/static/js/readings.js');
  const parsed = (files, parse) => files.map((f) => {
    const rows = layouts.parseCsvText(f.lines.join('\\n'));
    return [f.name, parse([{ name: f.name, rows }], { source: f.name })];
  });
  const texts = [...c.layouts, ...c.readings].map((f) => f.lines.join('\\n'));
  const o = c.options;
  return readings.matchLabData(c.images, parsed(c.layouts, layouts.parseLayout),
    parsed(c.readings, layouts.parseReader), {
      drug: o.drug ?? null, platePrefix: o.plate_prefix ?? '', folds: o.folds, valSeries: o.val_series,
      brightField: o.bright_field ?? null, synthetic: readings.markedSynthetic(texts) });
}"""


@pytest.mark.parametrize("path", sorted(CASES.glob("*.json")), ids=lambda p: p.stem)
def test_page_matches_each_shared_case_as_python_does(origin_page: Any, path: Path):
    case = json.loads(path.read_text(encoding="utf-8"))
    got = origin_page.evaluate(_MATCH, case)
    expected = _match_case(case).to_dict()
    assert got["refused"] == expected["refused"]
    assert got["warnings"] == expected["warnings"]
    assert got == expected


def test_page_names_left_out_wells_as_python_does(origin_page: Any):
    case = json.loads((CASES / "grids_flags_fields.json").read_text(encoding="utf-8"))
    expected = [x.message for x in _match_case(case).left_out]
    got = origin_page.evaluate(
        "async (c) => { const r = await import('/static/js/readings.js');"
        f" const lab = await ({_MATCH})(c); return lab.left_out.map(r.leftOutMessage); }}",
        case,
    )
    assert got == expected
    assert "plate 1, well A03: the reading is saturated ('OVER')" in got


@pytest.mark.parametrize("label", ["plate1", "Plate 01", "P1", "plate_2", "A549-P1", "P007b", "Platte"])
def test_plate_names_pair_as_in_python(origin_page: Any, label: str):
    got = origin_page.evaluate("async (s) => (await import('/static/js/readings.js')).plateKey(s)", label)
    assert got == plate_key(label)


@pytest.mark.parametrize(("folds", "val"), [(4, 4), (4, 1), (5, 2), (3, 0)])
def test_cv_min_series_as_in_python(origin_page: Any, folds: int, val: int):
    got = origin_page.evaluate(
        "async ([k, v]) => (await import('/static/js/readings.js')).cvMinSeries(k, v)", [folds, val]
    )
    assert got == cv_min_series(folds, val)


@pytest.mark.parametrize("x", [0.5, 1.0, 0.001, 1e-5, 123456.0, 1234567.0, 0.1 + 0.2, -0.1, 2.5e-7])
def test_numbers_in_messages_are_written_as_pythons_g(origin_page: Any, x: float):
    got = origin_page.evaluate("async (x) => (await import('/static/js/readings.js')).formatG(x)", x)
    assert got == f"{x:g}"


def test_xlsx_reader_grid_is_read_by_the_page_and_matched(origin_page: Any):
    """A reader's 8×12 grid under its header lines, saved as XLSX (numbers as numbers, flags as text): the
    page's sheet reader (layouts.js readSheets, the one that reads XLSX layouts) and readings.js give what
    Python gives for the CSV export of the same grid."""
    from openpyxl import Workbook

    case = json.loads((CASES / "grids_flags_fields.json").read_text(encoding="utf-8"))
    book = Workbook()
    sheet = book.active
    for line in case["readings"][0]["lines"]:
        sheet.append([_number_or_text(c) for c in line.split(",")])
    data = io.BytesIO()
    book.save(data)
    got = origin_page.evaluate(
        """async ([c, b64]) => {
          const layouts = await import('/static/js/layouts.js');
          const readings = await import('/static/js/readings.js');
          const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
          const read = await layouts.readSheets(new File([bytes], 'od450.xlsx'));
          const reader = layouts.parseReader(read.sheets, { source: 'od450.xlsx' });
          const lay = c.layouts.map((f) => [f.name, layouts.parseLayout(
            [{ name: f.name, rows: layouts.parseCsvText(f.lines.join('\\n')) }], { source: f.name })]);
          return readings.matchLabData(c.images, lay, [['od450.xlsx', reader]],
            { drug: c.options.drug, synthetic: true });
        }""",
        [case, base64.b64encode(data.getvalue()).decode()],
    )
    expected = _match_case(case).to_dict()
    assert got["n_matched"] == 5 and got["left_out"][1]["text"] == "OVER"
    assert got == expected


def _number_or_text(cell: str) -> Any:
    """A CSV cell as a spreadsheet holds it: a number, a text, or nothing."""
    try:
        return float(cell)
    except ValueError:
        return cell or None
