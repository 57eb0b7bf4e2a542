"""One well-ID rule, A01–P24: the page's parseWellId (static/js/concentrations.js) on
tests/data/well_ids.json.

tests/training/test_well_ids.py runs training.manifest.normalise_well on the same cases; a case without
``in_file_name`` must give the same answer on both sides.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.training.test_well_ids import CASES

pytestmark = pytest.mark.e2e

_PARSE = """async (texts) => {
  const { parseWellId } = await import('/static/js/concentrations.js');
  return texts.map((t) => parseWellId(t));
}"""


@pytest.mark.parametrize("case", CASES, ids=[repr(c["text"]) for c in CASES])
def test_page_reads_the_shared_well_id_cases(origin_page: Any, case: dict[str, str | None]):
    expected = case.get("in_file_name", case["well"])
    assert origin_page.evaluate(_PARSE, [case["text"]]) == [expected]


def test_page_accepts_exactly_the_wells_of_a_384_well_plate(origin_page: Any):
    names = [f"x_{row}{column:02d}.jpg" for row in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" for column in range(100)]
    found = {well for well in origin_page.evaluate(_PARSE, names) if well is not None}
    assert found == {f"{row}{column:02d}" for row in "ABCDEFGHIJKLMNOP" for column in range(1, 25)}
