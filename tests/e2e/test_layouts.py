"""Plate layouts and reader exports: the page's static/js/layouts.js reads tests/data/layouts/ in Chromium
(XLSX through the vendored read-excel-file) and must give exactly what training.layouts gives.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.training.test_layouts import FILES, FIXTURES, UNREADABLE, read
from training.layouts import layout_template, parse_csv_text

pytestmark = pytest.mark.e2e

_READ = """async ([name, data, kind, unit]) => {
  const m = await import('/static/js/layouts.js');
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const { sheets, problems } = await m.readSheets(new File([bytes], name));
  if (problems.length) return { plates: [], problems };
  if (kind === 'layout') return m.parseLayout(sheets, { source: name, unit });
  return m.parseReader(sheets, { source: name });
}"""


def page_read(pg: Any, name: str, data: bytes, kind: str, unit: str | None = None) -> dict[str, Any]:
    return pg.evaluate(_READ, [name, base64.b64encode(data).decode(), kind, unit])


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_page_reads_each_fixture_as_python_does(origin_page: Any, name: str):
    got = page_read(origin_page, name, (FILES / name).read_bytes(), FIXTURES[name])
    expected = read(name).to_dict()
    assert got["problems"] == expected["problems"]
    assert got == expected


def test_page_uses_the_unit_the_caller_gives_for_bare_numbers(origin_page: Any):
    got = page_read(
        origin_page, "layout_no_unit.csv", (FILES / "layout_no_unit.csv").read_bytes(), "layout", "nM"
    )
    assert got["problems"] == []
    assert {w: v["concentration_um"] for w, v in got["plates"][0]["wells"].items()} == {
        "A01": 0,
        "A02": 0.01,
        "A03": 0.001,
        "A04": 1e-4,
    }


@pytest.mark.parametrize(
    "text",
    [
        'a,b\r\n"c,d",e\n\n"x""y",\n',
        "plain\nno newline at the end",
        ' spaced , cells ,\r\n,,\r\n"multi\nline",2\n',
        "A;0,5;1,5\nB;2;3\n",
        "\ufeffx\ty\tz\n1\t2\n",
        'ab"c,"d"e,""\n',
        "",
    ],
)
def test_page_splits_csv_text_as_pythons_csv_module(origin_page: Any, text: str):
    got = origin_page.evaluate("async (t) => (await import('/static/js/layouts.js')).parseCsvText(t)", text)
    assert got == parse_csv_text(text)


@pytest.mark.parametrize("size", [96, 384])
def test_page_writes_the_same_template(origin_page: Any, size: int):
    got = origin_page.evaluate("async (n) => (await import('/static/js/layouts.js')).layoutTemplate(n)", size)
    assert got == layout_template(size)


@pytest.mark.parametrize(("name", "content", "problem"), UNREADABLE)
def test_page_reports_files_it_cannot_read(origin_page: Any, name: str, content: bytes, problem: str):
    got = page_read(origin_page, name, content, "layout")
    assert got["plates"] == [] and got["problems"][0].startswith(problem)


def test_page_decodes_utf16_and_latin1_text(origin_page: Any):
    for name, data in (("a.txt", "x\tµM\ty\n".encode("utf-16")), ("b.csv", "x,µM,y\n".encode("cp1252"))):
        got = origin_page.evaluate(
            """async ([name, data]) => {
              const m = await import('/static/js/layouts.js');
              const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
              return (await m.readSheets(new File([bytes], name))).sheets[0].rows;
            }""",
            [name, base64.b64encode(data).decode()],
        )
        assert got == [["x", "µM", "y"]]


def test_an_unknown_unit_option_is_a_programmers_error_in_the_page_too(origin_page: Any):
    message = origin_page.evaluate(
        """async () => {
          const m = await import('/static/js/layouts.js');
          try { m.parseLayout([], { source: 'x.csv', unit: 'furlongs' }); return null; }
          catch (error) { return `${error.name}: ${error.message}`; }
        }"""
    )
    assert message.startswith("RangeError: unit must be one of")
