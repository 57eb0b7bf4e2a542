"""One well-ID rule, A01–P24: training.manifest.normalise_well on tests/data/well_ids.json.

The page's twin (static/js/concentrations.js parseWellId) runs the same cases in
tests/e2e/test_well_ids.py; a case without ``in_file_name`` must give the same answer on both sides.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.manifest import normalise_well

WELL_IDS = Path(__file__).parents[1] / "data" / "well_ids.json"
CASES = json.loads(WELL_IDS.read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=[repr(c["text"]) for c in CASES])
def test_manifest_reads_the_shared_well_id_cases(case: dict[str, str | None]):
    if case["well"] is None:
        with pytest.raises(ValueError, match=r"A01\.\.P24"):
            normalise_well(case["text"])
    else:
        assert normalise_well(case["text"]) == case["well"]


def test_every_well_a_file_name_gives_is_one_the_manifest_accepts_unchanged():
    found = {c["in_file_name"] for c in CASES if c.get("in_file_name")}
    assert found and all(normalise_well(w) == w for w in found)


def test_exactly_the_wells_of_a_384_well_plate_are_accepted():
    accepted = set()
    for row in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        for column in range(100):
            try:
                accepted.add(normalise_well(f"{row}{column:02d}"))
            except ValueError:
                pass
    assert accepted == {f"{row}{column:02d}" for row in "ABCDEFGHIJKLMNOP" for column in range(1, 25)}
