"""A lab's images + layout + reader exports → a manifest: training.labdata on the cases of tests/data/labdata/
(the page's trainer decides the same cases alike), the ``manifest`` command, and the round trip from the
simulator's lab files back to its own manifest."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from app.doseresponse import fit_hill
from training.cli import main as cli
from training.dataset import cv_folds, fold_split
from training.labdata import (
    SYNTHETIC_MARK,
    LabData,
    cv_min_series,
    marked_synthetic,
    match_lab_data,
    plate_key,
    read_lab_data,
    write_lab_manifest,
)
from training.layouts import Parsed, Sheet, parse_csv_text, parse_layout, parse_reader
from training.manifest import load_manifest
from training.simulate import simulate_dataset
from training.simulate.labfiles import LAYOUT_FILE, READER_FILE
from training.simulate.presets import EXTRA_PRESETS, PRESETS

CASES = Path(__file__).parents[1] / "data" / "labdata"
TINY = (64, 54)  # px: the round trip is about labels, not pixels
CONCENTRATIONS_UM = (0.003, 0.03, 0.3, 3.0, 30.0)


def _parsed(files: list[dict[str, Any]], parse: Any) -> list[tuple[str, Parsed]]:
    return [
        (f["name"], parse([Sheet(f["name"], parse_csv_text("\n".join(f["lines"])))], source=f["name"]))
        for f in files
    ]


def _match_case(case: dict[str, Any]) -> LabData:
    """A fixture's inputs through the pure step, as the page's twin runs them."""
    texts = ["\n".join(f["lines"]) for f in (*case["layouts"], *case["readings"])]
    return match_lab_data(
        case["images"],
        _parsed(case["layouts"], parse_layout),
        _parsed(case["readings"], parse_reader),
        synthetic=marked_synthetic(texts),
        **case["options"],
    )


def _comparable(lab: LabData) -> dict[str, Any]:
    """to_dict() with warnings and the refusal as their codes (the messages are checked below)."""
    found = lab.to_dict()
    found["warnings"] = [w["code"] for w in found["warnings"]]
    found["refused"] = None if found["refused"] is None else found["refused"]["code"]
    return found


@pytest.mark.parametrize("path", sorted(CASES.glob("*.json")), ids=lambda p: p.stem)
def test_shared_cases_give_the_expected_matching(path):
    case = json.loads(path.read_text(encoding="utf-8"))
    lab = _match_case(case)
    assert _comparable(lab) == case["expect"]
    assert json.loads(json.dumps(lab.to_dict())) == lab.to_dict()  # JSON-able as it is


def _case(name: str) -> LabData:
    return _match_case(json.loads((CASES / f"{name}.json").read_text(encoding="utf-8")))


def test_messages_name_the_wells_and_the_reader_text():
    lab = _case("grids_flags_fields")
    messages = [x.message for x in (*lab.left_out, *_case("series_repeats_concentration").left_out)]
    assert "plate 1, well B01: its dose series already has a well at this concentration (A01)" in messages
    assert "plate 1, well A03: the reading is saturated ('OVER')" in messages
    assert "plate 1, well A01: a blank control (no cells)" in messages
    report = lab.report()
    assert "images with no reading (1): MyPlate_D05_s1_w1.tif" in report
    assert "3 dose series: cross-validation by series needs at least 7" in report
    assert "synthetic data" in report


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("refuse_single_concentration", ["all 2 matched wells are at one concentration (1 µM)"]),
        ("refuse_constant_readings", ["the same (0.5 OD450)"]),
        ("refuse_nothing_matched", ["nothing to train on"]),
    ],
)
def test_refusals_say_why(name, words, tmp_path):
    lab = _case(name)
    assert lab.refused is not None
    assert all(w in lab.refused.message for w in words), lab.refused.message
    with pytest.raises(ValueError, match="no manifest written"):
        write_lab_manifest(lab, tmp_path, tmp_path, cell_line="A549")
    assert not (tmp_path / "manifest.csv").exists()


@pytest.mark.parametrize(
    ("label", "key"),
    [("plate1", "1"), ("Plate 01", "1"), ("P1", "1"), ("plate_2", "2"), ("A549-P1", "a549p1"), (None, None)],
)
def test_plate_names_pair_ignoring_case_spaces_the_word_plate_and_zeros(label, key):
    assert plate_key(label) == key


def _series_rows(n: int) -> pd.DataFrame:
    return pd.DataFrame({"series": [f"s{i:02d}" for i in range(n)], "cell_line": "X", "plate": "1"})


@pytest.mark.parametrize(("folds", "val_series"), [(4, 4), (4, 1), (5, 2), (3, 0)])
def test_cv_min_series_is_the_fewest_series_the_cv_split_accepts(folds, val_series):
    def splits(n: int) -> bool:
        rows = _series_rows(n)
        try:
            fold_list = cv_folds(rows, k=folds, seed=0)
            for index in range(folds):
                fold_split(rows, fold_list, index, n_val=val_series, seed=0)
        except ValueError:
            return False
        return True

    n = cv_min_series(folds, val_series)
    assert splits(n)
    assert not splits(n - 1)


def test_one_field_per_well_goes_into_the_manifest_and_the_rest_is_named(tmp_path):
    lab = _case("grids_flags_fields")
    for name in {p for m in lab.matched for p in m.images}:
        (tmp_path / name).write_bytes(b"")
    path = write_lab_manifest(lab, tmp_path, tmp_path / "manifest.csv", cell_line="A549")
    manifest = load_manifest(path)
    assert list(manifest["well"]) == ["A02", "A04", "B02", "B03", "C02"]
    assert manifest.loc[0, "image"] == "MyPlate_A02_s1_w1.tif"
    assert lab.extra_fields == ("MyPlate_A02_s2_w1.tif",)
    assert manifest["synthetic"].all()
    assert list(manifest["series"]) == ["1-s1", "1-s1", "1-s2", "1-s2", "1-s3"]


def test_a_manifest_must_be_called_manifest_csv(tmp_path):
    with pytest.raises(ValueError, match=r"manifest\.csv"):
        write_lab_manifest(_case("two_plates_one_layout"), tmp_path, tmp_path / "wells.csv", cell_line="A549")


# ------------------------------------------------------------------------------------------ simulator


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """Two plates × 4 rows × 5 concentrations of the MCF7-like line, with their lab files."""
    out = tmp_path_factory.mktemp("lab") / "sim"
    manifest = simulate_dataset(
        out,
        cell_line="MCF7-like",
        seed=3,
        image_size=TINY,
        plates=2,
        replicates=4,
        concentrations_um=CONCENTRATIONS_UM,
        progress=False,
    )
    return out, manifest


def _lab_files(out: Path, name: str) -> list[Path]:
    return sorted((out / "MCF7-like").glob(f"plate*/{name}"))


def test_simulator_writes_a_reader_grid_and_a_layout_per_plate_marked_synthetic(simulated):
    out, _ = simulated
    for name in (READER_FILE, LAYOUT_FILE):
        files = _lab_files(out, name)
        assert [f.parent.name for f in files] == ["plate1", "plate2"]
        assert all(f.read_text(encoding="utf-8").startswith(f'"{SYNTHETIC_MARK}') for f in files)
    grid = parse_csv_text(_lab_files(out, READER_FILE)[0].read_text(encoding="utf-8"))
    header = next(i for i, row in enumerate(grid) if row[1:] == [str(c) for c in range(1, 13)])
    assert header >= 2  # a couple of reader header lines above the 8 × 12 grid
    assert [row[0] for row in grid[header + 1 :]] == list("ABCDEFGH")


def test_round_trip_simulator_lab_files_to_its_own_manifest(simulated, tmp_path):
    out, manifest = simulated
    lab = read_lab_data(
        out / "MCF7-like",
        _lab_files(out, LAYOUT_FILE),
        _lab_files(out, READER_FILE),
        plate_prefix="MCF7-like-P",
    )
    assert (lab.n_images, lab.n_readings, lab.n_matched) == (40, 40, 40)
    assert lab.refused is None and lab.synthetic and lab.series_from == "layout"
    assert [w.code for w in lab.warnings] == []  # 8 series ≥ the 7 the CV needs
    path = write_lab_manifest(lab, out / "MCF7-like", tmp_path / "manifest.csv", cell_line="MCF7-like")
    converted = load_manifest(path)
    columns = ["od450", "concentration_um", "series", "plate", "well", "drug", "cell_line", "synthetic"]
    key = ["plate", "well"]
    pd.testing.assert_frame_equal(
        converted[columns].sort_values(key).reset_index(drop=True),
        manifest[columns].sort_values(key).reset_index(drop=True),
        check_exact=True,
    )
    same_files = converted["path"].map(Path.resolve).tolist() == manifest.sort_values(key)["path"].tolist()
    assert same_files


def test_manifest_command_writes_the_manifest_and_refuses_with_exit_code_2(simulated, tmp_path, capsys):
    out, _ = simulated
    args = [
        "manifest", "--images", str(out / "MCF7-like"),
        "--layout", *map(str, _lab_files(out, LAYOUT_FILE)),
        "--readings", str(_lab_files(out, READER_FILE)[0]),
        "--out", str(tmp_path / "one"), "--cell-line", "MCF7-like",
    ]  # fmt: skip
    assert cli(args) == 0
    printed = capsys.readouterr().out
    assert "40 images, 20 readings, 20 wells matched" in printed
    assert "images with no reading (20)" in printed
    assert "4 dose series: cross-validation by series needs at least 7" in printed
    assert "--test-series 1 --val-series 1" in printed
    written = load_manifest(tmp_path / "one")
    assert len(written) == 20 and set(written["plate"]) == {"1"}
    one_conc = tmp_path / "layout.csv"
    one_conc.write_text("well,concentration (uM)\n" + "".join(f"{row}02,1\n" for row in "ABCD"))
    args[args.index("--layout") + 1 : args.index("--readings")] = [str(one_conc)]
    args[args.index("--out") + 1] = str(tmp_path / "two")
    assert cli(args) == 2
    assert "left out: plate 1, well D02: no drug" in capsys.readouterr().out
    assert cli([*args, "--drug", "doxorubicin"]) == 2
    assert "refused: all 4 matched wells are at one concentration (1 µM)" in capsys.readouterr().out
    assert not (tmp_path / "two" / "manifest.csv").exists()


def test_mcf7_like_is_a_made_up_line_the_app_ships_no_model_for():
    preset = EXTRA_PRESETS["MCF7-like"]
    assert "MCF7-like" not in PRESETS and "synthetic" in preset.description
    shipped = {
        json.loads(card.read_text(encoding="utf-8"))["cell_line"]
        for card in (Path(__file__).parents[2] / "models").glob("*/card.json")
    }
    assert shipped and "MCF7-like" not in shipped
    assert min(abs(math.log10(preset.growth.ic50_um / p.growth.ic50_um)) for p in PRESETS.values()) > 0.5
    labels = simulate_dataset(None, cell_line="mcf7-like", seed=2, render=False)
    fit = fit_hill(labels["concentration_um"], labels["od450"])
    assert abs(np.log10(fit.ic50_um / preset.growth.ic50_um)) < 0.15
    assert (labels["cell_line"] == "MCF7-like").all() and labels["synthetic"].all()


def test_simulate_command_writes_lab_files_unless_told_not_to(tmp_path):
    common = [
        "simulate",
        "--cell-line",
        "A549",
        "--image-size",
        "64x54",
        "--plates",
        "1",
        "--replicates",
        "1",
    ]
    common += ["--concentrations", "0.1,10", "--workers", "1", "--quiet"]
    assert cli([*common, "--out", str(tmp_path / "with")]) == 0
    assert cli([*common, "--out", str(tmp_path / "without"), "--no-lab-files"]) == 0
    assert sorted(p.name for p in (tmp_path / "with/A549/plate1").glob("*.csv")) == [LAYOUT_FILE, READER_FILE]
    assert [p.name for p in (tmp_path / "without").rglob("*.csv")] == ["manifest.csv"]
