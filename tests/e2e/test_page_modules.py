"""The page's pure modules (concentrations.js, session.js, plot.js), run in Chromium as the page runs them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import api_limits
from tests.training.score.test_names import NAME_CASES

pytestmark = pytest.mark.e2e


def _call(pg: Any, module: str, expression: str, *args: Any) -> Any:
    """Evaluate ``expression`` with the module's exports as ``m`` and ``args`` as ``a``."""
    return pg.evaluate(
        f"async (a) => {{ const m = await import('/static/js/{module}'); return {expression}; }}", list(args)
    )


@pytest.mark.parametrize(("name", "um"), NAME_CASES)  # the batch command's reader runs the same list
def test_concentration_is_read_from_the_file_name(origin_page: Any, name: str, um: float | None):
    got = _call(origin_page, "concentrations.js", "m.parseNameConcentration(a[0])", name)
    assert got["um"] == (pytest.approx(um) if um is not None else None)
    assert got["error"] is None


def test_two_different_concentrations_in_a_name_are_an_error(origin_page: Any):
    got = _call(origin_page, "concentrations.js", "m.parseNameConcentration(a[0])", "a_1uM_2uM.jpg")
    assert got["um"] is None and "2 different concentrations (1uM, 2uM)" in got["error"]


@pytest.mark.parametrize(
    ("name", "well"),
    [
        ("A549_dox_0.5uM_B07.jpg", "B07"),
        ("A549_B7.jpg", "B07"),  # A549 is a cell line, not well A5
        ("plate_H12-f1.png", "H12"),
        ("dox_1e-3uM_C3.tif", "C03"),
        ("HEK293_P24.jpg", "P24"),  # 384-well plates
        ("plate_A1_B2.jpg", None),  # ambiguous
        ("img_0001.jpg", None),
        ("x_Q05.jpg", None),  # no row Q
    ],
)
def test_well_id_is_read_from_the_file_name(origin_page: Any, name: str, well: str | None):
    assert _call(origin_page, "concentrations.js", "m.parseWellId(a[0])", name) == well


def test_serial_dilution_plate_map(origin_page: Any):
    plate = {
        "mode": "dilution",
        "topUm": 10,
        "factor": 3,
        "doseLines": list(range(2, 12)),
        "controlLines": [1, 12],
    }
    lines = dict(_call(origin_page, "concentrations.js", "[...m.plateMapConcentrations(a[0])]", plate))
    assert lines[1] == 0 and lines[12] == 0
    assert lines[2] == 10 and lines[3] == pytest.approx(10 / 3) and lines[11] == pytest.approx(10 / 3**9)
    reverse = {**plate, "highestFirst": False}
    lines = dict(_call(origin_page, "concentrations.js", "[...m.plateMapConcentrations(a[0])]", reverse))
    assert lines[11] == 10 and lines[2] == pytest.approx(10 / 3**9)
    b07 = _call(
        origin_page, "concentrations.js", "m.wellConcentration('B07', m.plateMapConcentrations(a[0]))", plate
    )
    assert b07 == pytest.approx(10 / 3**5)
    by_row = _call(
        origin_page, "concentrations.js", "m.wellConcentration('C07', m.plateMapConcentrations(a[0]), 'row')",
        {**plate, "doseLines": [2, 3, 4], "controlLines": [1]},
    )  # fmt: skip
    assert by_row == pytest.approx(10 / 3)


@pytest.mark.parametrize(
    ("plate", "message"),
    [
        ({"mode": "dilution", "topUm": 0, "factor": 3, "doseLines": [1]}, "top concentration must be > 0"),
        ({"mode": "dilution", "topUm": 1, "factor": 1, "doseLines": [1]}, "dilution factor must be > 1"),
        (
            {"mode": "dilution", "topUm": 1, "factor": 2, "doseLines": [1, 2], "controlLines": [2]},
            "both a dose",
        ),
    ],
)
def test_a_bad_plate_map_is_refused_with_a_reason(origin_page: Any, plate: dict, message: str):
    script = (
        "(() => { try { m.plateMapConcentrations(a[0]); return null; } catch (e) { return e.message; } })()"
    )
    got = _call(origin_page, "concentrations.js", script, plate)
    assert got is not None and message in got


@pytest.mark.parametrize(
    ("text", "unit", "um", "error"),
    [
        ("0.5", "uM", 0.5, None),
        ("500", "nM", 0.5, None),
        ("500 nM", "uM", 0.5, None),
        ("0,5", "uM", 0.5, None),
        ("DMSO", "uM", 0.0, None),
        ("", "uM", None, None),
        ("-1", "uM", None, "must be ≥ 0"),
        ("1..5", "uM", None, "is not a concentration"),
    ],
)
def test_typed_concentrations(origin_page: Any, text: str, unit: str, um: float | None, error: str | None):
    got = _call(origin_page, "concentrations.js", "m.parseTypedConcentration(a[0], a[1])", text, unit)
    assert got["um"] == (pytest.approx(um) if um is not None else None)
    assert (got["error"] is None) if error is None else (error in got["error"])


def test_replicates_are_grouped_with_mean_and_sample_sd(origin_page: Any):
    points = [
        {"um": 1, "value": 1.0},
        {"um": 0, "value": 3.0},
        {"um": 1, "value": 2.0},
        {"um": 1, "value": 3.0},
    ]
    groups = _call(origin_page, "concentrations.js", "m.groupReplicates(a[0])", points)
    assert [(g["um"], g["n"]) for g in groups] == [(0, 1), (1, 3)]
    assert groups[0]["sd"] is None
    assert groups[1]["mean"] == pytest.approx(2.0) and groups[1]["sd"] == pytest.approx(1.0)


def test_report_request_keeps_scored_wells_and_names_the_rest(origin_page: Any):
    script = """(() => {
      const card = { id: 'x', name: 'X', version: '1', synthetic: true, cell_line: 'A549', drug: 'dox' };
      const c = m.newCurve({ id: 1, card });
      const mk = (id, name, status, od450) =>
        Object.assign(m.newWell({ id, file: new File([''], name) }), { status, od450 });
      c.wells = [mk(1, 'a_1uM.jpg', 'done', 0.5), mk(2, 'b_DMSO.jpg', 'done', 1.2),
                 mk(3, 'c.jpg', 'done', 0.9), mk(4, 'd_1uM.jpg', 'problem', null)];
      c.wells[0].excluded = true;
      c.wells[0].warnings = ['w'.repeat(300)];
      c.wells[3].problem = { kind: 'corrupt', message: 'corrupt JPEG' };
      return { report: m.reportCurve(c, a[0]), fit: m.fitRequestCurve(c, a[0]) };
    })()"""
    got = _call(origin_page, "session.js", script, api_limits())
    wells = got["report"]["curve"]["wells"]
    assert [w["image"] for w in wells] == ["a_1uM.jpg", "b_DMSO.jpg"]
    assert wells[0]["excluded"] is True and len(wells[0]["flags"][0]) == 200  # clipped to the API's limit
    assert "concentration from file name" in wells[1]["flags"]
    assert "c.jpg (no concentration)" in got["report"]["curve"]["notes"][0]
    assert "d_1uM.jpg (corrupt JPEG)" in got["report"]["curve"]["notes"][0]
    assert got["report"]["curve"]["model"] == {"id": "x", "name": "X", "version": "1", "synthetic": True}
    assert got["fit"]["concentrations_um"] == [0] and got["fit"]["responses"] == [1.2]


def test_controls_get_a_place_left_of_the_lowest_dose(origin_page: Any):
    axis = _call(origin_page, "plot.js", "m.logAxisLayout(a[0], a[0])", [0.01, 0.1, 1, 10])
    assert axis["controlX"] < axis["breakX"] < 0.01
    assert axis["ticktext"][0] == "control" and axis["tickvals"][0] == axis["controlX"]
    assert axis["ticktext"][1:] == ["0.01", "0.1", "1", "10"]


def test_plate_map_form_reads_rows_as_letters_and_names_bad_fields(origin_page: Any):
    form = {
        "axis": "row", "plate": "96", "mode": "dilution", "unit": "nM", "top": "1000", "factor": "2",
        "doses": "B-G", "controls": "A, H", "reverse": False, "typed": {},
    }  # fmt: skip
    got = _call(origin_page, "concentrations.js", "m.plateMapFromForm(a[0])", form)
    assert got["doseLines"] == [2, 3, 4, 5, 6, 7] and got["controlLines"] == [1, 8]
    assert got["topUm"] == pytest.approx(1.0)
    script = "(() => { try { m.plateMapFromForm(a[0]); } catch (e) { return e.message; } })()"
    assert "outside 1–8" in _call(origin_page, "concentrations.js", script, {**form, "doses": "B-J"})
    assert "top concentration" in _call(origin_page, "concentrations.js", script, {**form, "top": "x"})
    typed = {**form, "mode": "typed", "typed": {"1": "DMSO", "2": "oops"}}
    assert "row 2: " in _call(origin_page, "concentrations.js", script, typed)
