"""Plate layouts and reader exports: training.layouts on the files of tests/data/layouts/.

The page's twin (static/js/layouts.js) reads the same files in tests/e2e/test_layouts.py and must give the
same results as these functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from training.layouts import (
    LayoutWell,
    Parsed,
    ReaderWell,
    Sheet,
    layout_template,
    parse_csv_text,
    parse_layout,
    parse_reader,
    read_layout,
    read_reader,
    read_sheets,
)

FILES = Path(__file__).parents[1] / "data" / "layouts"
#: Every fixture and how it is read: as a layout or as a reader export (the e2e twin reads the same list).
FIXTURES = {
    "layout_96_titled.csv": "layout",
    "layout_96_units_in_cells.csv": "layout",
    "layout_96_semicolon.csv": "layout",
    "layout_384.csv": "layout",
    "layout_long.csv": "layout",
    "layout_no_unit.csv": "layout",
    "layout_two_sheets.xlsx": "layout",
    "reader_gen5.txt": "reader",
    "reader_magellan.csv": "reader",
    "reader_384.csv": "reader",
    "reader_long.csv": "reader",
    "reader_tecan.xlsx": "reader",
}
#: Files that cannot be read, and the start of the problem each gives (name, bytes, problem).
UNREADABLE = [
    (
        "old.xls",
        b"\xd0\xcf\x11\xe0",
        "old.xls: the old Excel format (.xls) is not read; save it as .xlsx or CSV",
    ),
    ("plate.png", b"\x89PNG", "plate.png: not a CSV, TSV, TXT or XLSX file"),
    ("broken.xlsx", b"not a zip", "broken.xlsx: cannot be read ("),
]
#: The dilution of layout_96_titled.csv, columns 2–11 (µM).
TITLED_SERIES_UM = (10, 3.33, 1.11, 0.37, 0.123, 0.0412, 0.0137, 0.00457, 0.00152, 0.000508)


def read(name: str) -> Parsed:
    """A fixture read as FIXTURES says."""
    return (read_layout if FIXTURES[name] == "layout" else read_reader)(FILES / name)


def wells(parsed: Parsed, plate: str = "1") -> dict[str, Any]:
    return parsed.plate(plate).wells


def test_every_fixture_is_listed():
    assert sorted(FIXTURES) == sorted(p.name for p in FILES.iterdir() if p.suffix != ".toml")


def test_a_titled_96_well_grid_with_a_series_grid():
    parsed = read("layout_96_titled.csv")
    assert parsed.problems == ()
    assert [(p.plate, p.size) for p in parsed.plates] == [("1", 96)]
    plate = wells(parsed)
    for row in "ABCDEF":
        series = "s1" if row in "ABC" else "s2"
        for column, um in enumerate(TITLED_SERIES_UM, start=2):
            assert plate[f"{row}{column:02d}"] == LayoutWell(float(um), None, series, None)
    for well in ("A01", "B01", "C01", "A12", "B12", "C12"):
        assert plate[well] == LayoutWell(0.0, "vehicle", "s1", None)  # DMSO
    assert plate["D01"] == plate["D12"] == LayoutWell(0.0, "vehicle", "s2", None)  # "vehicle" and "0"
    assert plate["E01"] == plate["F12"] == LayoutWell(0.0, "untreated", "s2", None)
    assert plate["G01"] == plate["G03"] == LayoutWell(None, "kill", None, None)
    assert plate["G11"] == plate["G12"] == LayoutWell(None, "blank", None, None)
    assert "G04" not in plate and not any(w.startswith("H") for w in plate)  # empty cells are no wells
    assert len(plate) == 6 * 12 + 5


def test_units_written_in_the_cells_and_the_cells_that_are_no_concentration():
    parsed = read("layout_96_units_in_cells.csv")
    plate = wells(parsed)
    expected_um = {
        "A02": 10,
        "A03": 1,
        "A04": 0.1,
        "A05": 0.01,
        "A06": 0.001,
        "A07": 1e-4,
        "A08": 1,
        "A09": 500,
    }
    assert {w: plate[w].concentration_um for w in expected_um} == pytest.approx(expected_um)
    assert plate["H01"] == LayoutWell(10.0, None, None, "Dox")
    assert plate["H02"] == LayoutWell(5.0, None, None, "Cis")
    assert plate["H06"] == LayoutWell(0.0, "vehicle", None, None)  # "DMSO 0.1%"
    assert plate["H12"] == LayoutWell(None, "blank", None, None)
    assert {"H03", "H04", "H05"}.isdisjoint(plate)
    assert parsed.problems == (
        "layout_96_units_in_cells.csv, cell D9 (well H03): 'abc' is not a concentration "
        "(write e.g. 0.5, 500 nM, DMSO, untreated, blank or kill)",
        "layout_96_units_in_cells.csv, cell E9 (well H04): '-1 µM' is not a concentration "
        "(must be a number ≥ 0)",
        "layout_96_units_in_cells.csv, cell F9 (well H05): '0.1%' is not a concentration "
        "(write e.g. 0.5, 500 nM, DMSO, untreated, blank or kill)",
    )


def test_a_semicolon_file_with_decimal_commas_in_nm():
    parsed = read("layout_96_semicolon.csv")
    plate = wells(parsed)
    assert parsed.problems == ()
    assert plate["A02"].concentration_um == 1.0
    assert plate["B07"].concentration_um == 0.03125  # "31,25" nM
    assert plate["A11"].concentration_um == pytest.approx(0.001953125)
    assert plate["A01"] == plate["B12"] == LayoutWell(0.0, "vehicle")
    assert len(plate) == 24


def test_a_384_well_grid_with_its_unit_in_the_title():
    parsed = read("layout_384.csv")
    plate = parsed.plate("1")
    assert parsed.problems == () and plate.size == 384 and len(plate.wells) == 384
    assert plate.wells["A02"].concentration_um == 10.0  # 10000 nM
    assert plate.wells["O23"].concentration_um == pytest.approx(10 / 2**21, rel=1e-5)
    assert plate.wells["C24"] == LayoutWell(0.0, "vehicle")
    assert plate.wells["P01"] == plate.wells["P24"] == LayoutWell(None, "blank")


def test_long_rows_with_plates_units_series_and_drugs():
    parsed = read("layout_long.csv")
    assert [p.plate for p in parsed.plates] == ["P1", "P2"]
    p1, p2 = wells(parsed, "P1"), wells(parsed, "P2")
    assert p1["A03"] == LayoutWell(0.1, None, "s1", "doxorubicin")  # 100 nM
    assert p1["A04"] == LayoutWell(0.0, "vehicle", "s1", "doxorubicin")
    assert p1["B01"] == LayoutWell(None, "blank", None, None)
    assert p2 == {
        "A01": LayoutWell(5.0, None, "s1", "cisplatin"),
        "A02": LayoutWell(0.0, "vehicle", "s1", "cisplatin"),
    }
    assert parsed.problems == (
        "layout_long.csv, row 9: 'Q9' is not a well (A01–P24)",
        "layout_long.csv, row 10: well A01 of plate P2 is given twice",
        "layout_long.csv, row 11: 'furlongs' is not a unit (M, mM, µM, nM, pM)",
    )


def test_bare_numbers_without_a_unit_are_refused_unless_the_caller_gives_one():
    parsed = read("layout_no_unit.csv")
    assert wells(parsed) == {"A01": LayoutWell(0.0, "vehicle")}
    assert parsed.problems == (
        "layout_no_unit.csv, plate 1: 3 wells (A02…) hold bare numbers and the grid names no unit: "
        "write it in the title above the grid (e.g. 'Concentration (µM)') or in each cell (10 µM)",
    )
    given = read_layout(FILES / "layout_no_unit.csv", unit="nM")
    assert given.problems == ()
    assert {w: v.concentration_um for w, v in wells(given).items()} == {
        "A01": 0,
        "A02": 0.01,
        "A03": 0.001,
        "A04": 1e-4,
    }


def test_a_workbook_with_one_plate_per_sheet():
    parsed = read("layout_two_sheets.xlsx")
    assert parsed.problems == ()
    assert [(p.plate, p.size, len(p.wells)) for p in parsed.plates] == [
        ("Dox plate", 96, 96),
        ("Cis plate", 96, 96),
    ]
    dox, cis = wells(parsed, "Dox plate"), wells(parsed, "Cis plate")
    assert dox["A02"] == LayoutWell(10.0, None, "rep1", None)
    assert cis["H03"].concentration_um == pytest.approx(20 / 3) and cis["H03"].series == "rep3"
    assert dox["C11"].concentration_um == pytest.approx(10 / 3**9)
    assert dox["B01"] == LayoutWell(0.0, "vehicle", "rep1") and cis["G12"] == LayoutWell(
        0.0, "vehicle", "rep3"
    )


def test_a_wellmap_toml_layout():
    parsed = read_layout(FILES / "layout.toml")
    assert parsed.problems == ()
    assert wells(parsed) == {
        "A01": LayoutWell(0.0, "vehicle", "s1", "doxorubicin"),
        "A02": LayoutWell(10.0, None, "s1", "doxorubicin"),
        "A03": LayoutWell(3.333, None, "s1", "doxorubicin"),
        "A04": LayoutWell(1.111, None, "s1", "doxorubicin"),
        "B01": LayoutWell(0.0, "vehicle", "s2", "doxorubicin"),
        "B02": LayoutWell(10.0, None, "s2", "doxorubicin"),
        "B03": LayoutWell(3.333, None, "s2", "doxorubicin"),
        "B04": LayoutWell(1.111, None, "s2", "doxorubicin"),
    }


def test_a_broken_toml_layout_is_a_problem_not_an_exception(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[row]\nZ.conc = 1\n", encoding="utf-8")
    parsed = read_layout(bad)
    assert parsed.plates == () and parsed.problems[0].startswith("bad.toml: wellmap could not read it")


def test_a_gen5_export_keeps_the_450_read_and_flags_what_is_no_number():
    parsed = read("reader_gen5.txt")
    assert parsed.problems == ()
    plate = wells(parsed)
    assert len(plate) == 96
    assert plate["A01"] == ReaderWell(1.452) and plate["H12"] == ReaderWell(0.081)
    assert plate["C02"] == ReaderWell(None, "saturated", "OVRFLW")
    assert plate["E12"] == ReaderWell(None, "saturated", ">3.500")
    assert plate["D03"] == ReaderWell(None, "invalid", "*")
    assert plate["H09"] == ReaderWell(None, "below_range", "<0.001")


def test_a_magellan_export_with_two_plates():
    parsed = read("reader_magellan.csv")
    assert parsed.problems == () and [p.plate for p in parsed.plates] == ["1", "2"]
    assert wells(parsed, "1")["A01"] == ReaderWell(0.1)
    assert wells(parsed, "2")["A01"] == ReaderWell(None, "saturated", "OVER")
    assert wells(parsed, "2")["A12"] == ReaderWell(None, "saturated", "Sat")
    assert wells(parsed, "2")["H12"] == ReaderWell(1.5)


def test_a_384_well_reader_export_and_a_workbook_export():
    parsed = read("reader_384.csv")
    plate = parsed.plate("7")
    assert parsed.problems == () and plate.size == 384 and len(plate.wells) == 384
    assert plate.wells["P24"] == ReaderWell(0.224) and plate.wells["B03"] == ReaderWell(
        None, "saturated", "OVER"
    )
    tecan = read("reader_tecan.xlsx")
    assert tecan.problems == ()
    assert wells(tecan)["A01"] == ReaderWell(0.11) and wells(tecan)["H12"] == ReaderWell(0.92)
    assert wells(tecan)["C05"] == ReaderWell(None, "saturated", "Sat")
    assert wells(tecan)["F01"] == ReaderWell(None, "invalid", "*")


def test_reader_long_rows():
    parsed = read("reader_long.csv")
    assert parsed.problems == ()
    assert wells(parsed, "1") == {
        "A01": ReaderWell(1.234),
        "A02": ReaderWell(None, "saturated", "OVER"),
        "H12": ReaderWell(0.051),
    }
    assert wells(parsed, "2") == {"A01": ReaderWell(0.9)}


def grid_rows(top: list[str], n_rows: int = 8, n_columns: int = 12) -> list[list[str]]:
    """A sheet: ``top`` lines, then an empty 96-well grid."""
    rows = [[line] for line in top] + [["", *map(str, range(1, n_columns + 1))]]
    return rows + [[chr(65 + r), *[""] * n_columns] for r in range(n_rows)]


def test_a_grid_of_another_size_is_reported_with_its_cell():
    parsed = parse_layout([Sheet("x.csv", grid_rows(["µM"], n_rows=4))], source="x.csv")
    assert parsed.plates == ()
    assert parsed.problems[0] == (
        "x.csv, cell B2: a grid of rows A–D and columns 1–12 is no plate "
        "(a plate grid is A–H × 1–12 or A–P × 1–24)"
    )


def test_a_file_without_any_grid_says_what_was_expected():
    parsed = parse_reader([Sheet("notes.csv", [["hello"], ["world"]])], source="notes.csv")
    assert parsed.problems == (
        "notes.csv: no plate grid (rows A–H down and columns 1–12 across (or A–P, 1–24)) and no long table "
        "(a header row with 'well' and 'OD450')",
    )


def test_two_reads_of_a_plate_without_a_450_one_are_not_guessed():
    rows = grid_rows(["Read 1: 600"]) + grid_rows(["Read 2: 630"])
    parsed = parse_reader([Sheet("r.csv", rows)], source="r.csv")
    assert parsed.plates == ()
    assert parsed.problems == (
        "r.csv: plate 1 has 2 grids (rows 2, 12) and not exactly one of them says 450: "
        "keep only the OD450 grid",
    )


def test_a_title_naming_two_units_is_a_problem():
    rows = grid_rows(["Concentration (µM), top 10 mM stock"])
    rows[2][1] = "5"
    parsed = parse_layout([Sheet("t.csv", rows)], source="t.csv")
    assert parsed.problems == (
        "t.csv, plate 1: the title 'Concentration (µM), top 10 mM stock' names several units (mM, µM)",
    )


def test_a_wavelength_in_nm_is_no_concentration_unit():
    rows = grid_rows(["Absorbance at 450 nm"])
    rows[2][1] = "5"
    parsed = parse_layout([Sheet("t.csv", rows)], source="t.csv")
    assert parsed.problems[0].startswith("t.csv, plate 1: 1 wells (A01…) hold bare numbers")


@pytest.mark.parametrize("size", [96, 384])
def test_the_template_is_read_back_once_filled(size: int):
    text = layout_template(size)
    empty = parse_layout([Sheet("template.csv", parse_csv_text(text))], source="template.csv")
    assert [(p.plate, p.size, p.wells) for p in empty.plates] == [("1", size, {})] and empty.problems == ()
    n_columns = 12 if size == 96 else 24
    lines = text.split("\r\n")
    lines[lines.index("A" + "," * n_columns)] = "A,DMSO,10" + "," * (n_columns - 2)
    lines[lines.index("Plate 1 - series") + 2] = "A,s1,s1" + "," * (n_columns - 2)
    filled = parse_layout([Sheet("t.csv", parse_csv_text("\r\n".join(lines)))], source="t.csv")
    assert filled.problems == ()
    assert filled.plate("1").wells == {
        "A01": LayoutWell(0.0, "vehicle", "s1"),
        "A02": LayoutWell(10.0, None, "s1"),
    }


def test_the_template_is_only_for_96_or_384_wells():
    with pytest.raises(ValueError, match="96 or 384"):
        layout_template(48)


def test_an_unknown_unit_option_is_a_programmers_error():
    with pytest.raises(ValueError, match="unit must be one of"):
        parse_layout([], source="x.csv", unit="furlongs")


@pytest.mark.parametrize(("name", "content", "problem"), UNREADABLE)
def test_files_that_cannot_be_read_are_problems(tmp_path: Path, name: str, content: bytes, problem: str):
    (tmp_path / name).write_bytes(content)
    sheets, problems = read_sheets(tmp_path / name)
    assert sheets == [] and problems[0].startswith(problem)
    assert read_layout(tmp_path / name).problems == tuple(problems)


def test_utf16_and_latin1_text_files_are_decoded(tmp_path: Path):
    (tmp_path / "a.txt").write_bytes("x\tµM\ty\n".encode("utf-16"))
    (tmp_path / "b.csv").write_bytes("x,µM,y\n".encode("cp1252"))
    assert read_sheets(tmp_path / "a.txt")[0][0].rows == [["x", "µM", "y"]]
    assert read_sheets(tmp_path / "b.csv")[0][0].rows == [["x", "µM", "y"]]
