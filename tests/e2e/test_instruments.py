"""Instrument file names: the page's static/js/instruments.js on tests/data/instrument_names.json.

tests/training/test_instruments.py runs training.instruments on the same cases; both must give exactly the
listed readings and groupings.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.training.test_instruments import CASES, GROUPINGS, comparable, expected_reading

pytestmark = pytest.mark.e2e

_PARSE = """async (paths) => {
  const { parseInstrumentPath } = await import('/static/js/instruments.js');
  return paths.map((p) => parseInstrumentPath(p));
}"""

_GROUP = """async ([paths, options]) => {
  const { parseInstrumentPath, groupWells } = await import('/static/js/instruments.js');
  const files = paths.map((name) => ({ name, parsed: parseInstrumentPath(name) }));
  return groupWells(files, { channelNames: options.channel_names ?? {}, brightField: options.bright_field });
}"""


def test_page_reads_the_shared_instrument_names(origin_page: Any):
    results = origin_page.evaluate(_PARSE, [c["path"] for c in CASES])
    wrong = [
        (case["path"], result)
        for case, result in zip(CASES, results, strict=True)
        if comparable(result) != expected_reading(case["expect"])
    ]
    assert not wrong, f"read differently from tests/data/instrument_names.json: {wrong}"


def test_page_names_every_well_of_an_ambiguous_path(origin_page: Any):
    ambiguous = [c for c in CASES if c["expect"] and "ambiguous" in c["expect"]]
    results = origin_page.evaluate(_PARSE, [c["path"] for c in ambiguous])
    for case, result in zip(ambiguous, results, strict=True):
        assert result["path"] == case["path"]
        assert result["problem"].startswith(f"{case['path']}: the path names more than one well")
        assert all(reading["well"] in result["problem"] for reading in case["expect"]["ambiguous"])


@pytest.mark.parametrize("grouping", GROUPINGS, ids=[g["why"] for g in GROUPINGS])
def test_page_groups_files_into_wells_as_the_shared_list_says(origin_page: Any, grouping: dict[str, Any]):
    assert origin_page.evaluate(_GROUP, [grouping["paths"], grouping["options"]]) == grouping["expect"]


@pytest.mark.parametrize(
    ("name", "transmitted"),
    [
        ("Bright Field", True),
        ("TL 20x", True),
        ("Ph2", True),
        ("ZProj[DIC]", True),
        ("DAPI", False),
        ("TRITC", False),
    ],
)
def test_page_knows_transmitted_light_channel_names(origin_page: Any, name: str, transmitted: bool):
    got = origin_page.evaluate(
        "async (n) => (await import('/static/js/instruments.js')).isTransmittedLight(n)", name
    )
    assert got is transmitted


def test_page_reads_htd_channel_names(origin_page: Any):
    htd = '"NWavelengths", 2\r\n"WaveName1", "TL 20x"\r\n"WaveName2", "DAPI"\r\n'
    got = origin_page.evaluate(
        "async (t) => (await import('/static/js/instruments.js')).parseHtdChannelNames(t)", htd
    )
    assert got == {"1": "TL 20x", "2": "DAPI"}
