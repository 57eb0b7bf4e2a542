"""Instrument file names: training.instruments on tests/data/instrument_names.json.

The page's twin (static/js/instruments.js) runs the same cases in tests/e2e/test_instruments.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.training.test_well_ids import CASES as WELL_ID_CASES
from training.instruments import (
    AmbiguousPath,
    ImageName,
    group_wells,
    is_transmitted_light,
    parse_htd_channel_names,
    parse_instrument_path,
    read_channel_names,
    well_in_file_name,
)

NAMES = json.loads((Path(__file__).parents[1] / "data" / "instrument_names.json").read_text(encoding="utf-8"))
CASES = NAMES["cases"]
GROUPINGS = NAMES["groupings"]
DEFAULTS: dict[str, Any] = {
    "plate": None,
    "well": None,
    "field": None,
    "channel": None,
    "plane": None,
    "timepoint": None,
    "elapsed_minutes": None,
    "acquired": None,
    "read_step": None,
    "thumbnail": False,
}


def expected_reading(expect: dict[str, Any] | None) -> dict[str, Any] | None:
    """A case's ``expect`` as the full object both sides return (defaults filled in)."""
    if expect is None:
        return None
    if "ambiguous" in expect:
        return {"ambiguous": True, "readings": [{**DEFAULTS, **r} for r in expect["ambiguous"]]}
    return {**DEFAULTS, **expect}


def comparable(result: dict[str, Any] | None) -> dict[str, Any] | None:
    """A result without an ambiguous one's path and problem text (checked separately)."""
    if result is None or not result.get("ambiguous"):
        return result
    return {"ambiguous": True, "readings": result["readings"]}


def grouping_options(options: dict[str, Any]) -> dict[str, Any]:
    """A grouping case's options as group_wells takes them (JSON keys are strings)."""
    names = options.get("channel_names")
    return {
        "channel_names": {int(k): v for k, v in names.items()} if names else None,
        "bright_field": options.get("bright_field"),
    }


def test_the_shared_list_has_about_sixty_names_of_every_kind():
    formats = {c["expect"].get("format") for c in CASES if c["expect"] and "format" in c["expect"]}
    assert len(CASES) >= 55
    assert formats == {"imagexpress", "opera", "incucyte", "cytation", "folder"}
    assert sum(c["expect"] is None for c in CASES) >= 10
    assert sum(bool(c["expect"]) and "ambiguous" in c["expect"] for c in CASES) >= 3


@pytest.mark.parametrize("case", CASES, ids=[repr(c["path"]) for c in CASES])
def test_instrument_names_are_read_as_the_shared_list_says(case: dict[str, Any]):
    parsed = parse_instrument_path(case["path"])
    result = None if parsed is None else parsed.to_dict()
    assert comparable(result) == expected_reading(case["expect"])


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["expect"] and "ambiguous" in c["expect"]], ids=lambda c: repr(c["path"])
)
def test_an_ambiguous_path_is_named_with_every_well_it_could_be(case: dict[str, Any]):
    parsed = parse_instrument_path(case["path"])
    assert isinstance(parsed, AmbiguousPath)
    assert parsed.problem.startswith(f"{case['path']}: the path names more than one well")
    assert all(reading["well"] in parsed.problem for reading in case["expect"]["ambiguous"])


@pytest.mark.parametrize("grouping", GROUPINGS, ids=[g["why"] for g in GROUPINGS])
def test_files_are_grouped_into_wells_as_the_shared_list_says(grouping: dict[str, Any]):
    files = [(path, parse_instrument_path(path)) for path in grouping["paths"]]
    assert group_wells(files, **grouping_options(grouping["options"])).to_dict() == grouping["expect"]


@pytest.mark.parametrize("case", WELL_ID_CASES, ids=[repr(c["text"]) for c in WELL_ID_CASES])
def test_the_plain_well_in_a_name_is_the_pages_rule(case: dict[str, Any]):
    assert well_in_file_name(case["text"]) == case.get("in_file_name", case["well"])


@pytest.mark.parametrize(
    ("name", "transmitted"),
    [
        ("Bright Field", True),
        ("Brightfield", True),
        ("BF", True),
        ("TL 20x", True),
        ("TL Brightfield", True),
        ("Transmitted Light", True),
        ("Phase Contrast", True),
        ("Phase", True),
        ("Ph2", True),
        ("DIC", True),
        ("ZProj[Bright Field]", True),
        ("Bright_Field", True),
        ("DAPI", False),
        ("GFP", False),
        ("Texas Red", False),
        ("TRITC", False),
        ("Cy5", False),
        ("Brightness", False),
        ("", False),
        (None, False),
    ],
)
def test_transmitted_light_channel_names(name: str | None, transmitted: bool):
    assert is_transmitted_light(name) is transmitted


def test_htd_channel_names():
    htd = (
        '"HTSInfoFile", Version 1.0\r\n"NWavelengths", 2\r\n"WaveName1", "TL 20x"\r\n"WaveName2", "DAPI"\r\n'
    )
    assert parse_htd_channel_names(htd) == {1: "TL 20x", 2: "DAPI"}
    assert parse_htd_channel_names("no wavelengths here") == {}


def test_channel_names_come_from_an_ome_tiff_through_bioio(tmp_path: Path):
    import tifffile

    path = tmp_path / "r02c07f01p01.ome.tiff"
    pixels = np.zeros((2, 8, 8), np.uint16)
    tifffile.imwrite(
        path, pixels, metadata={"axes": "CYX", "Channel": {"Name": ["Brightfield", "Alexa 488"]}}
    )
    assert read_channel_names(path) == {1: "Brightfield", 2: "Alexa 488"}


def test_channel_names_come_from_an_imagexpress_acquisition_through_bioio(tmp_path: Path):
    """A synthetic acquisition in the layout bioio-imagexpress reads: .jdce descriptor, manifest, planes."""
    import tifffile

    wavelengths = [
        {"Index": i, "EmissionFilter": {"Name": n}} for i, n in ((1, "Transmitted Light"), (2, "DAPI"))
    ]
    descriptor = {"ImageStack": {"AutoLeadAcquisitionProtocol": {"Wavelengths": wavelengths}}}
    (tmp_path / "plate.jdce").write_text(json.dumps(descriptor), encoding="utf-8")
    rows = ["Well,Field,Wavelength,Timepoint,ZIndex,ImageFileName,ImageSubFolderPath"]
    (tmp_path / "timepoint1").mkdir()
    for wave in (1, 2):
        tifffile.imwrite(tmp_path / "timepoint1" / f"B07_s1_w{wave}.tif", np.zeros((8, 8), np.uint16))
        rows.append(f"B07,1,{wave},1,1,B07_s1_w{wave}.tif,timepoint1")
    (tmp_path / "image_metadata_1.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    expected = {1: "Transmitted Light", 2: "DAPI"}
    assert read_channel_names(tmp_path) == expected
    assert read_channel_names(tmp_path / "plate.jdce") == expected


def test_channel_names_of_an_unreadable_or_other_file_are_a_plain_error(tmp_path: Path):
    broken = tmp_path / "x.ome.tif"
    broken.write_bytes(b"not a TIFF at all")
    with pytest.raises(ValueError, match=r"x\.ome\.tif: bioio could not read its channel names"):
        read_channel_names(broken)
    with pytest.raises(ValueError, match=r"y\.png: channel names are read from OME-TIFF"):
        read_channel_names(tmp_path / "y.png")


def test_a_reading_is_a_frozen_record():
    parsed = parse_instrument_path("r02c07f03p01-ch1sk1fk1fl1.tiff")
    assert isinstance(parsed, ImageName)
    with pytest.raises(AttributeError):
        parsed.well = "A01"  # type: ignore[misc]
