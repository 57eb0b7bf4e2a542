"""The dataset manifest: round trip, normalisation and every validation error, with CSV row numbers."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from training.manifest import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    ManifestError,
    load_manifest,
    normalise_well,
    validate_manifest,
    write_manifest,
)

HEADER = "image,cell_line,drug,concentration_um,od450,plate,well,series"


def _folder(tmp_path: Path, csv_text: str, images: tuple[str, ...] = ("a.jpg", "b.jpg", "c.jpg")) -> Path:
    for name in images:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"not decoded by the manifest")
    (tmp_path / "manifest.csv").write_text(csv_text, encoding="utf-8")
    return tmp_path


def _valid_rows() -> list[str]:
    return [
        "a.jpg,A549,doxorubicin,0,1.25,P1,B7,s1",
        "b.jpg,A549,doxorubicin,0.5,0.8,P1,B08,s1",
        "c.jpg,A549,doxorubicin,100,0.11,P1,b12,s1",
    ]


def _csv(rows: list[str], header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def _problems(tmp_path: Path, rows: list[str], header: str = HEADER, **options: bool) -> list[str]:
    folder = _folder(tmp_path, _csv(rows, header))
    with pytest.raises(ManifestError) as info:
        load_manifest(folder, **options)
    return info.value.problems


def test_required_and_optional_columns_are_the_documented_ones():
    assert REQUIRED_COLUMNS == (
        "image",
        "cell_line",
        "drug",
        "concentration_um",
        "od450",
        "plate",
        "well",
        "series",
    )
    assert set(OPTIONAL_COLUMNS) >= {
        "synthetic",
        "viability_true",
        "ic50_true_um",
        "hill_true",
        "n_cells",
        "seed",
    }


def test_load_types_columns_normalises_wells_and_adds_absolute_paths(tmp_path):
    df = load_manifest(_folder(tmp_path, _csv(_valid_rows())))
    assert list(df["well"]) == ["B07", "B08", "B12"]
    assert df["concentration_um"].dtype == "float64"
    assert list(df["od450"]) == [1.25, 0.8, 0.11]
    assert all(p.is_absolute() and p.is_file() for p in df["path"])
    assert df["path"].iloc[1] == (tmp_path / "b.jpg").resolve()


def test_load_accepts_the_csv_file_itself(tmp_path):
    folder = _folder(tmp_path, _csv(_valid_rows()))
    assert len(load_manifest(folder / "manifest.csv")) == 3


def test_missing_manifest_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="manifest"):
        load_manifest(tmp_path)


@pytest.mark.parametrize(
    ("well", "expected"), [("B7", "B07"), ("b7", "B07"), ("B007", "B07"), ("H12", "H12"), ("P24", "P24")]
)
def test_normalise_well_accepts_short_and_padded_forms(well, expected):
    assert normalise_well(well) == expected


@pytest.mark.parametrize("well", ["Z99", "B0", "B25", "7B", "", "Q1"])
def test_normalise_well_rejects_bad_ids(well):
    with pytest.raises(ValueError, match="well"):
        normalise_well(well)


def test_round_trip_keeps_every_value(tmp_path):
    (tmp_path / "img").mkdir()
    for i in range(3):
        (tmp_path / "img" / f"{i}.png").write_bytes(b"x")
    df = pd.DataFrame(
        {
            "image": [f"img/{i}.png" for i in range(3)],
            "cell_line": ["HEK293"] * 3,
            "drug": ["doxorubicin"] * 3,
            "concentration_um": [0.0001, 0.1 / 3, 100.0],
            "od450": [1.2345678901234567, 0.5, -0.05],
            "plate": ["P1"] * 3,
            "well": ["A2", "A03", "A04"],
            "series": ["P1-A"] * 3,
            "synthetic": [True, True, False],
            "viability_true": [0.99, 0.5, 0.01],
            "n_cells": [700, 350, 5],
            "seed": [4294967295, 1, 2],
            "notes": ["", "bubble, re-read", ""],
            "x_operator": ["ana", "ana", "bo"],
            "x_exposure_ms": [12.5, 12.5, 13.0],
        }
    )
    csv_path = write_manifest(df, tmp_path)
    assert csv_path == (tmp_path / "manifest.csv").resolve()
    back = load_manifest(tmp_path)
    assert list(back["well"]) == ["A02", "A03", "A04"]
    for name in ("concentration_um", "od450", "viability_true", "x_exposure_ms"):
        assert list(back[name]) == list(df[name]), name
    assert list(back["synthetic"]) == [True, True, False]
    assert list(back["n_cells"]) == [700, 350, 5]
    assert list(back["seed"]) == [4294967295, 1, 2]
    assert list(back["notes"]) == ["", "bubble, re-read", ""]
    assert list(back["x_operator"]) == ["ana", "ana", "bo"]
    # writing what was loaded gives the same file
    first = csv_path.read_bytes()
    write_manifest(back, tmp_path)
    assert csv_path.read_bytes() == first


def test_columns_are_written_in_a_fixed_order(tmp_path):
    folder = _folder(tmp_path, _csv(_valid_rows(), HEADER))
    df = load_manifest(folder)
    df = df[list(reversed(df.columns))].assign(x_extra=1)
    write_manifest(df, tmp_path)
    header = (tmp_path / "manifest.csv").read_text().splitlines()[0]
    assert header == HEADER + ",x_extra"


@pytest.mark.parametrize(
    ("rows", "header", "expected"),
    [
        (
            ["a.jpg,A549,dox,0,1.2,P1,A01,s1", "zz.jpg,A549,dox,1,0.5,P1,A02,s1"],
            HEADER,
            "row 3: image file 'zz.jpg' not found",
        ),
        (["a.jpg,A549,dox,0,abc,P1,A01,s1"], HEADER, "row 2: od450 'abc' is not a number"),
        (["a.jpg,A549,dox,1e-3x,1.0,P1,A01,s1"], HEADER, "row 2: concentration_um '1e-3x' is not a number"),
        (["a.jpg,A549,dox,,1.0,P1,A01,s1"], HEADER, "row 2: concentration_um is empty or NaN"),
        (["a.jpg,A549,dox,nan,1.0,P1,A01,s1"], HEADER, "row 2: concentration_um is empty or NaN"),
        (
            ["a.jpg,A549,dox,-0.1,1.0,P1,A01,s1"],
            HEADER,
            "row 2: concentration_um must be a finite number >= 0",
        ),
        (
            ["a.jpg,A549,dox,inf,1.0,P1,A01,s1"],
            HEADER,
            "row 2: concentration_um must be a finite number >= 0",
        ),
        (["a.jpg,A549,dox,0,7.5,P1,A01,s1"], HEADER, "row 2: od450 must be between -0.1 and 5; got 7.5"),
        (["a.jpg,A549,dox,0,-0.3,P1,A01,s1"], HEADER, "row 2: od450 must be between -0.1 and 5"),
        (["a.jpg,A549,dox,0,inf,P1,A01,s1"], HEADER, "row 2: od450 must be between -0.1 and 5; got inf"),
        (["a.jpg,A549,dox,0,nan,P1,A01,s1"], HEADER, "row 2: od450 is empty"),
        (
            ["a.jpg,A549,dox,0,1.0,P1,B7,s1", "b.jpg,A549,dox,1,0.5,P1,B07,s2"],
            HEADER,
            "rows 2, 3: duplicate (plate, well) P1 / B07",
        ),
        (
            ["a.jpg,A549,dox,0,1.0,P1,A01,s1", "a.jpg,A549,dox,1,0.5,P1,A02,s1"],
            HEADER,
            "rows 2, 3: duplicate image a.jpg",
        ),
        (["a.jpg,A549,dox,0,1.0,P1,Z99,s1"], HEADER, "row 2: well 'Z99' is not a well id"),
        (["a.jpg,A549,dox,0,1.0,P1,A01,"], HEADER, "row 2: series is empty"),
        (
            ["a.jpg,A549,dox,0,1.0,P1,A01,s1", "b.jpg,A549,dox,0,1.1,P1,A02,s1"],
            HEADER,
            "rows 2, 3: series has one image",
        ),
        (
            ["a.jpg,A549,dox,0,1.0,P1,A01,s1", "b.jpg,HEK293,dox,1,0.5,P1,A02,s1"],
            HEADER,
            "series 's1' mixes cell_lines",
        ),
        (["a.jpg,A549,dox,0,1.0,P1,A01"], HEADER.replace(",series", ""), "missing required column series"),
        (
            ["a.jpg,A549,dox,0,1.0,P1,A01,s1,maybe"],
            HEADER + ",synthetic",
            "row 2: synthetic 'maybe' is not true or false",
        ),
        (
            ["a.jpg,A549,dox,0,1.0,P1,A01,s1,1.5"],
            HEADER + ",n_cells",
            "row 2: n_cells '1.5' is not an integer",
        ),
        (
            ["/abs/a.jpg,A549,dox,0,1.0,P1,A01,s1"],
            HEADER,
            "row 2: image '/abs/a.jpg' must be a path relative",
        ),
        ([], HEADER, "no rows"),
    ],
)
def test_each_validation_error_is_reported_with_its_row(tmp_path, rows, header, expected):
    problems = _problems(tmp_path, rows, header)
    assert any(expected in p for p in problems), problems


def test_unknown_column_is_named_with_the_allowed_list(tmp_path):
    problems = _problems(tmp_path, [r + ",1.2,x" for r in _valid_rows()], HEADER + ",od_450,x_ok")
    assert len(problems) == 1
    assert "unknown column 'od_450'" in problems[0]
    assert "allowed: image, cell_line" in problems[0] and "x_" in problems[0]


def test_x_columns_are_kept_and_numeric_ones_become_numbers(tmp_path):
    df = load_manifest(
        _folder(tmp_path, _csv([r + ",3,left" for r in _valid_rows()], HEADER + ",x_n,x_side"))
    )
    assert list(df["x_n"]) == [3, 3, 3]
    assert list(df["x_side"]) == ["left"] * 3


def test_error_message_lists_every_problem(tmp_path):
    rows = ["a.jpg,A549,dox,-1,abc,P1,A01,s1", "b.jpg,A549,dox,1,0.5,P1,A1,s1", "c.jpg,A549,dox,2,9,P1,Z1,s1"]
    folder = _folder(tmp_path, _csv(rows))
    with pytest.raises(ManifestError) as info:
        load_manifest(folder)
    problems = info.value.problems
    assert len(problems) == 5, problems  # negative conc, od 'abc', duplicate well, od 9, well Z1
    message = str(info.value)
    assert "5 problems" in message
    for fragment in (
        "row 2: concentration_um",
        "row 2: od450 'abc'",
        "rows 2, 3: duplicate (plate, well)",
        "row 4: od450",
        "row 4: well 'Z1'",
    ):
        assert fragment in message


def test_unlabelled_sets_may_leave_od450_empty_only_when_asked(tmp_path):
    rows = ["a.jpg,A549,dox,0,,P1,A01,s1", "b.jpg,A549,dox,1,,P1,A02,s1"]
    folder = _folder(tmp_path, _csv(rows))
    with pytest.raises(ManifestError, match="row 2: od450 is empty"):
        load_manifest(folder)
    df = load_manifest(folder, require_od450=False)
    assert df["od450"].isna().all()


def test_unlabelled_sets_may_omit_the_od450_column(tmp_path):
    folder = _folder(tmp_path, _csv(["a.jpg,A549,dox,0,P1,A01,s1"], HEADER.replace(",od450", "")))
    with pytest.raises(ManifestError, match="missing required column od450"):
        load_manifest(folder)
    assert math.isnan(load_manifest(folder, require_od450=False)["od450"].iloc[0])


def test_check_files_false_skips_the_file_check(tmp_path):
    folder = _folder(tmp_path, _csv(["missing.jpg,A549,dox,0,1.0,P1,A01,s1"]), images=())
    with pytest.raises(ManifestError, match="not found"):
        load_manifest(folder)
    assert len(load_manifest(folder, check_files=False)) == 1


def test_validate_manifest_checks_a_table_with_csv_row_numbers(tmp_path):
    df = load_manifest(_folder(tmp_path, _csv(_valid_rows())))
    validate_manifest(df, root=tmp_path)
    df.loc[2, "od450"] = 99.0
    with pytest.raises(ManifestError, match="row 4: od450 must be between"):
        validate_manifest(df, root=tmp_path)


def test_write_manifest_refuses_an_invalid_table_and_writes_nothing(tmp_path):
    df = load_manifest(_folder(tmp_path, _csv(_valid_rows())))
    (tmp_path / "manifest.csv").unlink()
    df.loc[0, "concentration_um"] = -1.0
    with pytest.raises(ManifestError, match="concentration_um"):
        write_manifest(df, tmp_path)
    assert not (tmp_path / "manifest.csv").exists()


def test_spreadsheet_byte_order_mark_and_windows_separators_are_accepted(tmp_path):
    folder = _folder(
        tmp_path, "\ufeff" + _csv(["img\\a.jpg,A549,dox,0,1.0,P1,A01,s1"]), images=("img/a.jpg",)
    )
    df = load_manifest(folder)
    assert df["image"].iloc[0] == "img/a.jpg"
    assert df["path"].iloc[0].is_file()
