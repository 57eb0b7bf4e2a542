"""The page's pure analysis code (results.js, the analysis parts of session.js), run in Chromium."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import api_limits

pytestmark = pytest.mark.e2e


def _call(pg: Any, module: str, expression: str, *args: Any) -> Any:
    """Evaluate ``expression`` with the module's exports as ``m`` and ``args`` as ``a``."""
    return pg.evaluate(
        f"async (a) => {{ const m = await import('/static/js/{module}'); return {expression}; }}", list(args)
    )


#: A session of wells built in the page: m is session.js; mk(id, name, od450, extra) a scored well.
_SESSION = """(() => {
  const mk = (id, name, od450, extra = {}) =>
    Object.assign(m.newWell({ id, file: new File([''], name) }), { status: 'done', od450 }, extra);
  const curve = (id, readTimeH, scale) => Object.assign(m.newCurve({ id }), { readTimeH, wells: [
    mk(id * 10 + 1, 'dmso_A01.jpg', 1.0 * scale), mk(id * 10 + 2, 'dmso_B01.jpg', 1.2 * scale),
    mk(id * 10 + 3, 'x_1uM_A02.jpg', 0.6 * scale),
    mk(id * 10 + 4, 'blank_H12.jpg', 0.05, { control: 'blank' }),
    mk(id * 10 + 5, 'x_10uM_A03.jpg', 0.3 * scale, { outlierExempt: true }),
  ] });
  return %s;
})()"""


def test_the_fit_request_carries_controls_well_ids_exemptions_and_time_zero(origin_page: Any):
    zero = "new Map([['A01', 0.3], ['A02', 0.31]])"
    expression = _SESSION % f"m.fitRequestCurve(curve(1, 48, 1), a[0], {zero})"
    got = _call(origin_page, "session.js", expression, api_limits())
    assert got["concentrations_um"] == [0, 0, 1, 0, 10]  # the blank well has no concentration: sent at 0
    assert got["controls"] == [None, None, None, "blank", None]
    assert got["well_ids"] == ["A01", "B01", "A02", "H12", "A03"]
    assert got["outlier_exempt"] == [False, False, False, False, True]
    assert got["time_zero"] == [0.3, None, 0.31, None, None]


def test_replicates_leave_blank_wells_out(origin_page: Any):
    got = _call(origin_page, "session.js", _SESSION % "m.replicates(curve(1, null, 1))")
    assert [(g["um"], g["n"]) for g in got] == [(0, 2), (1, 1), (10, 1)]


def test_a_time_zero_read_is_another_curve_of_the_plate_read_at_0_h(origin_page: Any):
    expression = _SESSION % "[...m.timeZeroReads(curve(2, 48, 2), [curve(1, 0, 1), curve(2, 48, 2)])]"
    got = dict(_call(origin_page, "session.js", expression))
    assert got == {"A01": 1.0, "B01": 1.2, "A02": 0.6, "H12": 0.05, "A03": 0.3}
    none = _SESSION % "m.timeZeroReads(curve(2, 0, 2), [curve(1, 0, 1), curve(2, 0, 2)])"
    assert _call(origin_page, "session.js", none) is None


def test_curves_with_read_times_make_one_time_course(origin_page: Any):
    expression = _SESSION % "m.timeCourseRequest([curve(2, 48, 2), curve(1, 24, 1), curve(3, null, 3)], a[0])"
    got = _call(origin_page, "session.js", expression, api_limits())
    assert got["times_h"] == [24, 48]
    assert got["well_ids"] == ["A01", "B01", "A02", "H12", "A03"]
    assert got["values"] == [[1.0, 1.2, 0.6, 0.05, 0.3], [2.0, 2.4, 1.2, 0.05, 0.6]]
    assert got["controls"] == [None, None, None, "blank", None] and "blank_level" not in got
    one = _SESSION % "m.timeCourseRequest([curve(1, 24, 1), curve(2, null, 2)], a[0])"
    assert _call(origin_page, "session.js", one, api_limits()) is None
    same = _SESSION % "m.timeCourseRequest([curve(1, 24, 1), curve(2, 24, 2)], a[0])"
    assert _call(origin_page, "session.js", same, api_limits()) is None  # two reads at one time: not a course


@pytest.mark.parametrize(
    ("text", "values", "error"),
    [
        ("20, 80", [20, 80], None),
        ("20;80 90%", [20, 80, 90], None),
        ("20, 20", [20], None),
        ("", [], None),
        ("0", [], "between 0 and 100"),
        ("20, abc", [], 'got "abc"'),
        (", ".join(str(x) for x in range(5, 100, 10)), [], "at most 9 IC levels (got 10)"),
    ],
)
def test_ic_levels_typed_by_the_user(origin_page: Any, text: str, values: list, error: str | None):
    got = _call(origin_page, "results.js", "m.parseIcPercents(a[0])", text)
    assert got["values"] == values
    assert (got["error"] is None) if error is None else (error in got["error"])


def test_the_page_asks_for_the_ic50_levels_once_and_every_block(origin_page: Any):
    analysis = {"fitOn": "viability", "icPercents": [20, 50, 80], "outliers": True}
    got = _call(origin_page, "results.js", "m.fitOptions(a[0])", analysis)
    assert got == {"fit_on": "viability", "ic_percents": [50, 20, 80], "metrics": True, "outliers": True,
                   "qc": True, "per_well": True}  # fmt: skip


def test_a_censored_concentration_is_shown_in_words(origin_page: Any):
    inside = {"censor": "none", "value_um": 0.123456, "text": "0.1235 µM"}
    above = {"censor": "above_range", "value_um": None, "extrapolated_um": 42.0, "text": "> 10 µM"}
    assert _call(origin_page, "results.js", "m.concentrationText(a[0])", inside) == "0.123 µM"
    assert _call(origin_page, "results.js", "m.concentrationText(a[0])", above) == "> 10 µM"


def test_plate_maps_know_96_and_384_well_plates(origin_page: Any):
    script = """m.plateMaps([
        { id: 1, status: 'done', well: 'A01', od450: 1.0 },
        { id: 2, status: 'done', well: a[0], od450: 0.5 },
        { id: 3, status: 'queued', well: 'B01', od450: null },
        { id: 4, status: 'done', well: '', od450: 0.7 },
      ], new Map([[1, { residual: 0.1 }], [2, { residual: null }]]))"""
    small = _call(
        origin_page,
        "results.js",
        f"(() => {{ const r = {script}; return [r.rows, r.columns, [...r.od450], [...r.residual]]; }})()",
        "H12",
    )
    assert small == [8, 12, [["A01", 1.0], ["H12", 0.5]], [["A01", 0.1]]]
    big = _call(
        origin_page, "results.js", f"(() => {{ const r = {script}; return [r.rows, r.columns]; }})()", "P24"
    )
    assert big == [16, 24]
