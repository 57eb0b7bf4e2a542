"""training.score.archive: an archive folder read as the page reads plates (the shared list
tests/data/instrument_names.json, which the page and training.instruments pass), plus the batch's own rules
(plates, layouts, curves)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from training.instruments import well_in_file_name
from training.layouts import LayoutWell, Parsed, Plate, read_layout
from training.score.archive import IMAGE_SUFFIXES, PlateJob, curve_members, find_plates, layout_for

NAMES = json.loads((Path(__file__).parents[2] / "data" / "instrument_names.json").read_text(encoding="utf-8"))


def _archive(root: Path, paths: list[str], *, data: bytes = b"x") -> Path:
    for path in paths:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return root


def _entries(plates: list[PlateJob]) -> dict[str, tuple[str, Any]]:
    return {e.image: (p.label, e) for p in plates for e in p.images}


@pytest.mark.parametrize("case", NAMES["cases"], ids=[repr(c["path"]) for c in NAMES["cases"]])
def test_every_shared_name_is_read_as_the_page_reads_it(tmp_path: Path, case: dict[str, Any]):
    path, expect = case["path"], case["expect"]
    found = _entries(find_plates(_archive(tmp_path / "archive", [path])))
    if not path.lower().endswith(IMAGE_SUFFIXES):
        assert found == {}
        return
    if expect is not None and expect.get("thumbnail"):
        assert found == {}  # thumbnails are left out, as the page's grouping leaves them out
        return
    label, entry = found[path]
    if expect is None:  # no instrument rule: the page's plain well rule
        assert entry.well == (well_in_file_name(path.rsplit("/", 1)[-1]) or "")
        assert entry.problem is None
    elif "ambiguous" in expect:
        assert "names more than one well" in entry.problem
    else:
        assert (entry.well, entry.field, entry.problem) == (expect["well"], expect.get("field"), None)
        if expect.get("plate"):
            assert label.split("/")[-1] == expect["plate"]
        if expect.get("timepoint") is not None:
            assert entry.read == f"t{expect['timepoint']}"


@pytest.mark.parametrize("case", NAMES["groupings"], ids=[c["why"] for c in NAMES["groupings"]])
def test_the_shared_groupings_give_the_same_wells(tmp_path: Path, case: dict[str, Any]):
    root = _archive(tmp_path / "archive", case["paths"])
    names = case["options"].get("channel_names")
    if names:  # ImageXpress keeps channel names in the plate's .HTD file
        (root / "plate.HTD").write_text("".join(f'"WaveName{k}", "{v}"\n' for k, v in names.items()))
    plates = find_plates(root, bright_field=case["options"].get("bright_field"))
    wells: dict[tuple[str | None, str], list[str]] = {}
    for plate in plates:
        for entry in plate.images:
            if entry.problem is None:
                key = (None if plate.label == root.name else plate.label.split("/")[-1], entry.well)
                wells.setdefault(key, []).append(entry.image)
    said = [p for plate in plates for p in plate.notes] + [e.problem for _, e in _entries(plates).values()]
    expected = {(w["plate"], w["well"]): w["files"] for w in case["expect"]["wells"]}
    if case["why"].startswith("Opera: the same field"):
        # The batch's plates are folders: run1/ and run2/ are two plates, each with its own B07, not one
        # plate holding a copy (the page groups the files it is given together).
        assert wells == {
            ("run1", "B07"): ["run1/r02c07f01p01-ch1sk1fk1fl1.tiff", "run1/r02c07f02p01-ch1sk1fk1fl1.tiff"],
            ("run2", "B07"): ["run2/r02c07f01p01-ch1sk1fk1fl1.tiff"],
        }
        return
    assert {k: sorted(v) for k, v in wells.items()} == {k: sorted(v) for k, v in expected.items()}
    for problem in case["expect"]["problems"]:
        twice = [
            p
            for p in set(case["paths"])
            if case["paths"].count(p) > 1 and problem.startswith(f"{p} and {p} ")
        ]
        if twice:  # a drop can hand the page one path twice; a folder on disk holds it once
            continue
        assert any(problem == s for s in said if s), problem


def _layout(tmp_path: Path, text: str) -> Parsed:
    path = tmp_path / "layout.csv"
    path.write_text(text, encoding="utf-8")
    return read_layout(path)


def test_concentrations_come_from_names_first_then_the_layout(tmp_path: Path):
    root = _archive(
        tmp_path / "a",
        ["p1/dox_0.5uM_B02.jpg", "p1/dox_B03.jpg", "p1/dox_B04.jpg", "p1/dox_B05.jpg", "p1/x_1uM_2uM_B08.jpg",
         "p1/no_well.jpg"],
    )  # fmt: skip
    layout = _layout(
        tmp_path,
        "well,concentration (uM)\nB02,0.1\nB03,0.1\nB04,DMSO\nB05,blank\nB06,3\n",
    )
    (plate,) = find_plates(root, layout=layout)
    got = {e.image.split("/")[-1]: e for e in plate.images}
    assert (got["dox_0.5uM_B02.jpg"].concentration_um, got["dox_0.5uM_B02.jpg"].source) == (0.5, "file name")
    assert got["dox_0.5uM_B02.jpg"].note == "the layout says 0.1 µM for B02; the file name wins"
    assert (got["dox_B03.jpg"].concentration_um, got["dox_B03.jpg"].source) == (0.1, "layout")
    assert (got["dox_B04.jpg"].concentration_um, got["dox_B04.jpg"].control) == (0.0, "vehicle")
    assert (got["dox_B05.jpg"].source, got["dox_B05.jpg"].control) == ("control", "blank")
    assert got["x_1uM_2uM_B08.jpg"].concentration_um is None
    assert "2 different concentrations" in got["x_1uM_2uM_B08.jpg"].note
    assert got["no_well.jpg"].concentration_um is None and "no well ID" in got["no_well.jpg"].note


def test_a_layout_of_several_plates_is_matched_by_plate_label(tmp_path: Path):
    plates = (Plate("1", 96, {"A01": LayoutWell(1.0)}), Plate("Plate 2", 96, {"A01": LayoutWell(2.0)}))
    layout = Parsed(plates)
    assert layout_for(layout, "screen/plate1") is plates[0]
    assert layout_for(layout, "PLATE_2") is plates[1]
    assert layout_for(layout, "plate3") is None
    assert layout_for(Parsed(plates[:1]), "anything") is plates[0]  # one plate: every plate's layout
    root = _archive(tmp_path / "a", ["plate1/A01.jpg", "plate3/A01.jpg"])
    found = {p.label: p.images[0] for p in find_plates(root, layout=layout)}
    assert found["plate1"].concentration_um == 1.0
    assert found["plate3"].concentration_um is None
    assert (
        found["plate3"].note == "no concentration: well A01 found in the path; give a layout for plate plate3"
    )


def test_plates_are_folders_and_instrument_plate_names(tmp_path: Path):
    root = _archive(
        tmp_path / "archive",
        ["A549/plate1/B07.jpg", "A549/plate2/B07.jpg", "run/P1_B07_s1.tif", "run/P2_B07_s1.tif",
         "wells/C03/f1.png", "wells/C03/f2.png", "top_B02_1uM.jpg", "notes.txt", ".hidden/B07.jpg"],
    )  # fmt: skip
    plates = find_plates(root)
    assert [p.label for p in plates] == ["A549/plate1", "A549/plate2", "archive", "run/P1", "run/P2", "wells"]
    assert [e.image for e in plates[2].images] == ["top_B02_1uM.jpg"]
    wells = next(p for p in plates if p.label == "wells")
    assert [(e.well, e.image) for e in wells.images] == [
        ("C03", "wells/C03/f1.png"),
        ("C03", "wells/C03/f2.png"),
    ]
    assert len({p.key for p in plates}) == len(plates)


def test_the_output_folder_inside_the_archive_is_not_read(tmp_path: Path):
    root = _archive(tmp_path / "a", ["p1/B07_1uM.jpg", "out/plates/x/B07_1uM.jpg"])
    assert [p.label for p in find_plates(root, skip=root / "out")] == ["p1"]


def test_a_plate_fingerprint_changes_with_its_files_and_layout(tmp_path: Path):
    root = _archive(tmp_path / "a", ["p1/B07.jpg"])
    layout = _layout(tmp_path, "well,concentration (uM)\nB07,1\n")
    first = find_plates(root, layout=layout)[0].fingerprint()
    assert find_plates(root, layout=layout)[0].fingerprint() == first
    assert (
        find_plates(root, layout=_layout(tmp_path, "well,concentration (uM)\nB07,2\n"))[0].fingerprint()
        != first
    )
    (root / "p1" / "B07.jpg").write_bytes(b"longer")
    assert find_plates(root, layout=layout)[0].fingerprint() != first


def test_curves_split_by_drug_and_read_sharing_the_controls(tmp_path: Path):
    root = _archive(
        tmp_path / "a",
        ["p/B02.jpg", "p/B03.jpg", "p/B04.jpg", "p/B05.jpg"],
    )
    layout = _layout(tmp_path, "well,concentration (uM),drug\nB02,1,dox\nB03,1,cis\nB04,DMSO,\nB05,blank,\n")
    (plate,) = find_plates(root, layout=layout)
    curves = {
        label: [plate.images[i].well for i in members] for label, members in curve_members(plate).items()
    }
    assert curves == {"p dox": ["B02", "B04", "B05"], "p cis": ["B03", "B04", "B05"]}
    timed = find_plates(_archive(tmp_path / "t", ["P1_B07_s1_w1.tif", "TimePoint_2/P1_B07_s1_w1.tif"]))
    assert [p.label for p in timed] == ["P1", "TimePoint_2/P1"]  # each read's folder is its own plate
    kinetic = ["C3_-1_1_1_Bright Field_001.tif", "C3_-1_1_1_Bright Field_002.tif"]
    (plate,) = find_plates(_archive(tmp_path / "k", kinetic))
    assert {label: len(m) for label, m in curve_members(plate).items()} == {"k t1": 1, "k t2": 1}
