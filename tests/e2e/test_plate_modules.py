"""The page's drop-to-curves modules, run in Chromium as the page runs them: well-fields.js (a well's fields),
plate-import.js (what a drop holds), plate-curves.js (curves as the layout says), importer.js + imports.js
(every file accounted for), session.js (a well's OD450 = the mean of its fields) and dropped.js (folders).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.conftest import api_limits
from tests.training.test_layouts import FILES

pytestmark = pytest.mark.e2e

_MODULES = ("well-fields", "plate-import", "plate-curves", "imports", "importer", "session", "dropped")

GUID = "A1B2C3D4-5E6F-4A1B-9C2D-0123456789AB"


def _run(pg: Any, body: str, *args: Any) -> Any:
    """Run ``body`` (an async function body) with the modules as ``m.<name>`` and ``args`` as ``a``."""
    imports = json.dumps(list(_MODULES))
    return pg.evaluate(
        f"""async (a) => {{
          const m = {{}};
          for (const name of {imports}) m[name.replace('-', '_')] = await import(`/static/js/${{name}}.js`);
          {body}
        }}""",
        list(args),
    )


def _xpress(well: str, site: int, wave: int, plate: str = "plate1") -> str:
    return f"{plate}/{plate}_{well}_s{site}_w{wave}{GUID}.tif"


# ------------------------------------------------------------------------------ well-fields.js

_GROUP = """
  const image = ([id, well, status, od450, leftOut = false, problem = null]) => ({
    id, name: `f${id}.tif`, plate: 'p1', well, site: well ? { well } : null, status, od450,
    fieldLeftOut: leftOut, problem: problem && { message: problem } });
  return m.well_fields.groupFields(a[0].map(image)).map((g) => ({
    key: g.key, id: g.id, n: g.images.length, used: g.used.map((i) => i.id), status: g.status,
    od450: g.od450, problem: g.problem, name: m.well_fields.wellName(g) }));
"""


def test_a_wells_od450_is_the_mean_of_its_used_fields(origin_page: Any):
    got = _run(
        origin_page,
        _GROUP,
        [
            [1, "B07", "done", 1.0],
            [2, "B07", "done", 2.0],
            [3, "B07", "done", 6.0, True],  # left out by the person
            [4, "B07", "problem", None, False, "not an image"],
            [5, "C03", "done", 0.5],
            [6, None, "done", 0.7],  # a plainly named file: a well of its own
            [7, None, "done", 0.9],
        ],
    )
    b07, c03, plain6, plain7 = got
    assert (b07["n"], b07["used"], b07["status"], b07["od450"]) == (4, [1, 2], "done", 1.5)
    assert b07["name"] == "p1 · B07 (4 fields)" and b07["id"] == 1 and b07["problem"] is None
    assert (c03["n"], c03["od450"], c03["name"]) == (1, 0.5, "f5.tif")
    assert (plain6["od450"], plain7["od450"]) == (0.7, 0.9) and plain6["key"] != plain7["key"]


@pytest.mark.parametrize(
    ("fields", "status", "od450", "problem"),
    [
        ([[1, "B07", "done", 1.0], [2, "B07", "queued", None]], "queued", None, None),
        (
            [[1, "B07", "done", 1.0, True], [2, "B07", "done", 2.0, True]],
            "problem",
            None,
            "every field is left out",
        ),
        (
            [[1, "B07", "problem", None, False, "corrupt"], [2, "B07", "problem", None, False, "empty"]],
            "problem",
            None,
            "no field could be scored: f1.tif: corrupt; f2.tif: empty",
        ),
    ],
)
def test_a_well_waits_for_its_fields_and_says_why_it_has_no_od450(
    origin_page: Any, fields: list, status: str, od450: float | None, problem: str | None
):
    (well,) = _run(origin_page, _GROUP, fields)
    assert (well["status"], well["od450"], well["problem"]) == (status, od450, problem)


def test_fit_request_and_report_use_the_mean_of_fields_the_layout_controls_and_plates(origin_page: Any):
    got = _run(
        origin_page,
        """
        const s = m.session;
        const curve = s.newCurve({ id: 1, label: 'plate1 · dox' });
        const file = (name) => new File(['x'], name);
        let id = 1;
        const add = (well, site, od450, layoutWell) => {
          const w = s.newWell({ id: id++, file: file(`plate1_${well}_s${site}_w1.tif`),
            site: { well, field: site }, plate: 'plate1', layoutWell });
          Object.assign(w, { status: 'done', od450 });
          curve.wells.push(w);
        };
        const dose = (um) => ({ concentration_um: um, control: null, series: 'dox', drug: null });
        for (const site of [1, 2, 3]) add('B01', site, 1.0 + site / 10, dose(0));
        for (const site of [1, 2]) add('B02', site, site === 1 ? 0.4 : 0.6, dose(1));
        add('D02', 1, 0.05, { concentration_um: null, control: 'kill', series: null, drug: null });
        curve.wells[1].fieldLeftOut = true;
        return { request: s.fitRequestCurve(curve, a[0]), report: s.reportCurve(curve, a[0]).curve,
                 counts: s.curveCounts(curve) };
        """,
        api_limits(),
    )
    request = got["request"]
    assert request["responses"] == pytest.approx([(1.1 + 1.3) / 2, 0.5, 0.05])  # field 2 of B01 left out
    assert request["concentrations_um"] == [0, 1, 0]  # the kill well's concentration is not used
    assert request["controls"] == [None, None, "kill"]
    assert request["well_ids"] == ["B01", "B02", "D02"] and request["plates"] == ["plate1"] * 3
    b01 = got["report"]["wells"][0]
    assert b01["image"].startswith("3 fields: plate1_B01_s1_w1.tif, ") and b01["plate"] == "plate1"
    assert "mean of 2 of 3 fields (OD450 1.100, 1.300)" in b01["flags"]
    assert any("left out of the mean by the user" in f for f in b01["flags"])
    assert got["counts"] == {
        "total": 6, "queued": 0, "scoring": 0, "done": 6, "problems": 0, "wells": 3, "missingConc": 0,
    }  # fmt: skip


# ------------------------------------------------------------------------------ plate-import.js

_PLAN = """
  const entries = a[0].map((path) => ({ path, file: null }));
  const plan = m.plate_import.planImport(entries, a[1]);
  return { ...plan, images: plan.images.map((i) => ({ path: i.path, plate: i.plate,
    well: i.site?.well ?? null, field: i.site?.field ?? null })) };
"""


def test_sort_drop_tells_images_layouts_and_channel_names_apart(origin_page: Any):
    got = _run(
        origin_page,
        """
        const sorted = m.plate_import.sortDrop(a[0].map((path) => ({ path, file: null })));
        return Object.fromEntries(Object.entries(sorted).map(([k, v]) => [k, v.map((e) => e.path)]));
        """,
        ["p/a.tif", "p/layout.xlsx", "p/p.HTD", "p/layout.csv", "report.pdf", "p/db/index.db", "x.JPG"],
    )
    assert got == {
        "images": ["p/a.tif", "report.pdf", "x.JPG"],  # a loose file goes to the decoder, which names it
        "sheets": ["p/layout.xlsx", "p/layout.csv"],
        "channelNames": ["p/p.HTD"],
        "others": ["p/db/index.db"],  # an instrument's other files in a folder are named and left out
    }


def test_plan_keeps_the_named_bright_field_channel_and_names_every_other_file(origin_page: Any):
    paths = [_xpress(w, s, c) for w in ("B02", "B03") for s in (1, 2) for c in (1, 2)]
    thumb = f"plate1/plate1_B02_s1_w1_thumb{GUID}.tif"
    ambiguous = "plate1/B07/plate_C03_s1_w1.tif"
    copy = f"plate1/backup/plate1_B02_s1_w1{GUID}.tif"  # the same site again, in another folder
    plain = ["plate1/A549_dox_1uM_B05.jpg", "loose_0.5uM.png"]
    got = _run(
        origin_page,
        _PLAN,
        [*paths, thumb, ambiguous, copy, *plain],
        {"channelNames": {2: "DAPI", 1: "TL 10x"}},
    )
    assert got["channel"] == "TL 10x" and got["choice"] is None and got["formats"] == ["imagexpress"]
    assert [c["label"] for c in got["channels"]] == ["TL 10x", "DAPI"]
    wells = [(i["plate"], i["well"], i["field"]) for i in got["images"][:4]]
    assert wells == [("plate1", "B02", 1), ("plate1", "B02", 2), ("plate1", "B03", 1), ("plate1", "B03", 2)]
    assert [(i["path"], i["well"], i["plate"]) for i in got["images"][4:]] == [
        ("loose_0.5uM.png", None, None),  # today's rules read these names
        ("plate1/A549_dox_1uM_B05.jpg", None, "plate1"),
    ]
    left = {item["path"]: (item["kind"], item["reason"]) for item in got["left"]}
    assert len(left) == 4 + 3
    for path in paths[1::2]:
        assert left[path] == ("channel", "channel DAPI, not the bright-field channel (TL 10x)")
    assert left[thumb][0] == "thumbnail"
    assert left[ambiguous][0] == "ambiguous" and "B07" in left[ambiguous][1] and "C03" in left[ambiguous][1]
    assert left[copy][0] == "duplicate" and "same image" in left[copy][1]


def test_unnamed_channels_wait_for_the_persons_choice_then_keep_it(origin_page: Any):
    paths = [_xpress("B02", s, c) for s in (1, 2) for c in (1, 2)]
    waiting = _run(origin_page, _PLAN, paths, {})
    assert waiting["images"] == [] and "none is named as bright field" in waiting["choice"]
    assert [c["value"] for c in waiting["channels"]] == [1, 2]
    assert {item["kind"] for item in waiting["left"]} == {"channel"} and len(waiting["left"]) == 4
    assert all("waiting for your choice" in item["reason"] for item in waiting["left"])
    chosen = _run(origin_page, _PLAN, paths, {"brightField": 2})
    assert chosen["channel"] == "channel 2" and chosen["choice"] is None
    assert [i["path"] for i in chosen["images"]] == [paths[1], paths[3]]


# ------------------------------------------------------------------------------ plate-curves.js

_LAYOUT = """
  const layouts = await import('/static/js/layouts.js');
  const plates = [];
  for (const [name, text] of a[1]) {
    const { sheets } = await layouts.readSheets(new File([text], name));
    const parsed = layouts.parseLayout(sheets, { source: name });
    if (parsed.problems.length) throw new Error(parsed.problems.join('; '));
    plates.push(...parsed.plates.map((p) => ({ ...p, source: name })));
  }
  const plan = m.plate_import.planImport(a[0].map((path) => ({ path, file: null })));
  const out = m.plate_curves.arrangeCurves(plan.images, plates);
  return { ...out, curves: out.curves.map((c) => ({ label: c.label, plate: c.plate, series: c.series,
    readTimeH: c.readTimeH, course: c.course,
    wells: c.images.map((i) => [i.well, i.layoutWell?.concentration_um ?? null,
                                i.layoutWell?.control ?? null]),
  })) };
"""


def _grid(title: str, cells: dict[str, str], rows: str = "ABCDEFGH", columns: int = 12) -> str:
    lines = [title, "," + ",".join(str(c) for c in range(1, columns + 1))]
    lines += [r + "," + ",".join(cells.get(f"{r}{c:02d}", "") for c in range(1, columns + 1)) for r in rows]
    return "\n".join(lines) + "\n\n"


def test_layout_series_make_one_curve_each_sharing_the_plates_controls(origin_page: Any):
    conc = {"B01": "DMSO", "B02": "1", "C01": "DMSO", "C02": "500 nM", "D01": "vehicle", "D02": "kill"}
    series = {"B01": "dox", "B02": "dox", "C01": "cis", "C02": "cis"}
    layout = _grid("Plate 1 - concentration (µM)", conc) + _grid("Plate 1 - series", series)
    paths = [_xpress(w, 1, 1) for w in ("B01", "B02", "C01", "C02", "D01", "D02", "E05")]
    got = _run(origin_page, _LAYOUT, paths, [["layout.csv", layout]])
    assert [c["label"] for c in got["curves"]] == ["plate1 · dox", "plate1 · cis"]
    dox, cis = got["curves"]
    vehicle, kill = ["D01", 0, "vehicle"], ["D02", None, "kill"]
    assert dox["wells"] == [["B01", 0, "vehicle"], ["B02", 1, None], vehicle, kill]
    assert cis["wells"] == [["C01", 0, "vehicle"], ["C02", 0.5, None], vehicle, kill]
    assert dox["course"] is None and dox["readTimeH"] is None
    (left,) = got["left"]
    assert left["kind"] == "no_concentration" and "gives well E05 no concentration" in left["reason"]
    assert got["notes"] == []


def test_several_plates_are_matched_to_their_layouts_by_name_384_wells_included(origin_page: Any):
    rows16 = "ABCDEFGHIJKLMNOP"
    layout = _grid("Plate 1 (µM)", {"P24": "3", "A01": "DMSO"}, rows16, 24) + _grid(
        "Plate 2 (µM)", {"P24": "7", "A01": "DMSO"}, rows16, 24
    )
    opera = [
        "r01c01f01p01-ch1sk1fk1fl1.tiff",
        "r16c24f01p01-ch1sk1fk1fl1.tiff",
        "r16c24f02p01-ch1sk1fk1fl1.tiff",
    ]
    paths = [f"{plate}/Images/{name}" for plate in ("Plate_1", "plate02") for name in opera] + [
        f"plate9/Images/{opera[0]}"
    ]
    got = _run(origin_page, _LAYOUT, paths, [["layouts.csv", layout]])
    by_plate = {c["plate"]: c["wells"] for c in got["curves"]}
    assert by_plate["Plate_1"] == [
        ["A01", 0, "vehicle"],
        ["P24", 3, None],
        ["P24", 3, None],
    ]  # two fields of P24
    assert by_plate["plate02"] == [["A01", 0, "vehicle"], ["P24", 7, None], ["P24", 7, None]]
    assert by_plate["plate9"] == [["A01", None, None]]  # no layout plate matches: no concentration from it
    (note,) = got["notes"]
    assert note.startswith("plate plate9: the layouts describe plates 1, 2 and none of them is this plate")


def test_reads_at_several_times_become_a_course_of_curves_with_read_times(origin_page: Any):
    paths = [f"VID7_B{c}_1_{t}.tif" for t in ("00d00h00m", "01d00h00m", "03d00h00m") for c in (1, 2)]
    got = _run(origin_page, _LAYOUT, paths, [["l.csv", _grid("Plate VID7 (µM)", {"B01": "0", "B02": "2"})]])
    assert [(c["label"], c["readTimeH"]) for c in got["curves"]] == [
        ("VID7 · 0 h", 0),
        ("VID7 · 24 h", 24),
        ("VID7 · 72 h", 72),
    ]
    assert len({c["course"] for c in got["curves"]}) == 1 and got["curves"][0]["course"] is not None
    assert all(c["wells"] == [["B01", 0, "vehicle"], ["B02", 2, None]] for c in got["curves"])


# ------------------------------------------------------------------------------ importer.js + imports.js

#: A session as main.js keeps it (one empty curve), a makeCurve as main.js's, and a[0]'s [path, text] pairs as
#: the {file, path} entries of a drop.
_SESSION = """
  const s = m.session;
  const state = { imports: [], curves: [s.newCurve({ id: 1, label: 'curve 1' })], nextImportId: 1,
    nextCurveId: 2, nextWellId: 1, layout: { sources: [], plates: [] } };
  const makeCurve = (spec) => {
    const c = s.newCurve({ id: state.nextCurveId++, label: spec.label });
    state.curves.push(c);
    return c;
  };
  const files = a[0].map(([path, text]) => ({ path, file: new File([text], path.split('/').at(-1)) }));
"""

_IMPORT = (
    _SESSION
    + """
  const record = await m.importer.readDrop(state, { files, unreadable: a[1] }, state.curves[0]);
  m.importer.placeImport(state, record, makeCurve);
  // Score: every image becomes 'done' (OD450 1), except those named "bad", which the decoder rejects.
  for (const c of state.curves) for (const w of c.wells) {
    if (w.name.includes('bad')) Object.assign(w, { status: 'problem', problem: { kind: 'corrupt',
      message: 'could not be decoded: the file is truncated' } });
    else Object.assign(w, { status: 'done', od450: 1 });
  }
  const summary = m.imports.importSummary(record, state.curves);
  return { summary, curves: state.curves.map((c) => [c.label, c.wells.length]), notes: record.notes };
"""
)


def test_every_file_of_a_drop_is_an_image_of_a_well_or_named_with_its_reason(origin_page: Any):
    layout = _grid("Plate 1 (µM)", {"B02": "DMSO", "B03": "1", "B04": "10"})
    files = [[_xpress(w, s, c), "tiff"] for w in ("B02", "B03", "B04") for s in (1, 2) for c in (1, 2)]
    files[0][0] = files[0][0].replace(GUID, f"{GUID}bad")  # a corrupt field: its well keeps the other one
    files += [
        ["plate1/plate1.HTD", '"WaveName1", "Bright Field"\n"WaveName2", "GFP"\n'],
        ["plate1/layout.csv", layout],
        ["plate1/broken.xlsx", "not a workbook"],
        ["plate1/thumbs.db", "?"],
        [_xpress("B09", 1, 1), "tiff"],  # a well the layout leaves empty
    ]
    got = _run(
        origin_page, _IMPORT, files, [{"path": "plate1/gone.tif", "reason": "could not be read (gone)"}]
    )
    s = got["summary"]
    assert (s["files"], s["images"], s["wells"], s["fitted"]) == (18, 5, 3, 3) and s["accounted"]
    assert s["fields"] == [1, 2]
    left = {g["kind"]: [i["name"] for i in g["items"]] for g in s["left"]}
    assert set(left) == {"corrupt", "not_image", "channel_names", "layout", "unreadable_layout", "channel",
                         "no_concentration"}  # fmt: skip
    assert sorted(left["corrupt"]) == sorted(["plate1/gone.tif", files[0][0]])
    assert left["channel"] == [f[0] for f in files[:12] if "_w2" in f[0]]
    assert left["no_concentration"] == [_xpress("B09", 1, 1)]
    assert left["not_image"] == ["plate1/thumbs.db"] and left["unreadable_layout"] == ["plate1/broken.xlsx"]
    assert got["curves"] == [["plate1", 6]]  # the corrupt field stays in its well, shown with its problem
    assert s["files"] == s["images"] + sum(len(g["items"]) for g in s["left"])


def test_wells_without_a_concentration_are_counted_as_not_fitted(origin_page: Any):
    files = [["A549_B02.tif", "x"], ["A549_0.5uM_B03.tif", "x"], ["A549_1uM_B04_bad.tif", "x"]]
    got = _run(origin_page, _IMPORT, files, [])
    s = got["summary"]
    assert (s["files"], s["images"], s["wells"], s["fitted"]) == (3, 2, 2, 1) and s["accounted"]
    (not_fitted,) = s["notFitted"]
    assert not_fitted["kind"] == "no_concentration" and not_fitted["items"][0]["name"] == "A549_B02.tif"
    assert got["curves"] == [["curve 1", 3]]  # plain names: the curve it was dropped on


def test_a_layout_without_units_says_which_cells_need_one(origin_page: Any):
    layout = (FILES / "layout_no_unit.csv").read_text(encoding="utf-8")
    files = [[f"A549_A0{c}.tif", "x"] for c in (1, 2)] + [["layout_no_unit.csv", layout]]
    got = _run(origin_page, _IMPORT, files, [])
    (note,) = got["notes"]
    assert "3 wells (A02…) hold bare numbers and the grid names no unit" in note
    s = got["summary"]
    assert (s["files"], s["wells"], s["fitted"]) == (3, 1, 1) and s["accounted"]  # A01: DMSO, 0 µM
    (left,) = [g for g in s["left"] if g["kind"] == "no_concentration"]
    assert [i["name"] for i in left["items"]] == ["A549_A02.tif"]
    assert (
        left["items"][0]["reason"]
        == "the layout (layout_no_unit.csv, plate 1) gives well A02 no concentration"
    )


# ------------------------------------------------------------------------------ dropped.js


def test_dropped_folders_are_walked_in_batches_and_unreadable_entries_named(origin_page: Any):
    got = _run(
        origin_page,
        """
        const file = (fullPath, fail = false) => ({ isFile: true, isDirectory: false, fullPath,
          name: fullPath.split('/').at(-1),
          file: (ok, ko) => (fail ? ko(new Error('NotFoundError')) : ok(new File(['x'], fullPath))) });
        const dir = (fullPath, children) => ({ isFile: false, isDirectory: true, fullPath,
          name: fullPath.split('/').at(-1),
          createReader: () => { let i = 0; return { readEntries: (ok) => {
            ok(children.slice(i, i + 100)); i += 100; } }; } });
        const many = Array.from({ length: 250 }, (_, k) => file(`/plate/B02/f${k}.tif`));
        const tree = dir('/plate', [dir('/plate/B02', many), file('/plate/layout.csv'),
                                    file('/plate/lost.tif', true)]);
        const got = await m.dropped.filesOfEntries([tree, file('/loose.jpg')]);
        return { paths: got.files.map((f) => f.path), unreadable: got.unreadable };
        """,
    )
    assert len(got["paths"]) == 250 + 2
    assert got["paths"][:2] == ["plate/B02/f0.tif", "plate/B02/f1.tif"]
    assert got["paths"][-2:] == ["plate/layout.csv", "loose.jpg"]
    assert got["unreadable"] == [{"path": "plate/lost.tif", "reason": "could not be read (NotFoundError)"}]


def test_a_plate_dropped_twice_is_scored_once_across_the_curves_it_filled(origin_page: Any):
    conc = {"B01": "DMSO", "B02": "1", "C01": "DMSO", "C02": "2"}
    series = {"B01": "dox", "B02": "dox", "C01": "cis", "C02": "cis"}
    layout = _grid("Plate 1 (µM)", conc) + _grid("Plate 1 - series", series)
    files = [[_xpress(w, 1, 1), "tiff"] for w in conc] + [["plate1/layout.csv", layout]]
    got = _run(
        origin_page,
        _SESSION
        + """
        const drop = async () => {
          const record = await m.importer.readDrop(state, { files, unreadable: [] }, state.curves[0]);
          state.imports.unshift(record);
          m.importer.placeImport(state, record, makeCurve);
          return record.left.filter((x) => x.kind === 'duplicate').map((x) => x.reason);
        };
        const first = await drop();
        const second = await drop();
        return { first, second, curves: state.curves.map((c) => [c.label, c.wells.length]) };
        """,
        files,
    )
    assert got["first"] == []
    assert sorted(got["second"]) == ["already in plate1 · cis"] * 2 + ["already in plate1 · dox"] * 2
    assert got["curves"] == [["plate1 · dox", 2], ["plate1 · cis", 2]]
