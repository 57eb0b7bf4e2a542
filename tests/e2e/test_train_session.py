"""The train view's orchestration (static/js/train-session.js), run in Chromium without the view: a drop
sorted and read with the page's import path and matched as training.labdata matches it; the refusals; the
stage progress; the training set; a whole run on the fixture plate (too few series: the engine's warning and
a plain split; an unreadable image left out and named); cancel."""

from __future__ import annotations

import base64
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import MODEL_A, Fixture, Server
from tests.training.test_labdata import CASES, _match_case

pytestmark = pytest.mark.e2e


def _session(pg: Any, body: str, *args: Any) -> Any:
    """Run ``body`` with train-session.js as ``m`` and ``args`` as ``a``."""
    return pg.evaluate(
        f"async (a) => {{ const m = await import('/static/js/train-session.js'); {body} }}", list(args)
    )


def _case(name: str) -> dict[str, Any]:
    return json.loads((CASES / f"{name}.json").read_text(encoding="utf-8"))


#: The files of a shared case as a drop: images (empty files named as the case names them) and its layout
#: files with their text; its reader files as picked with "choose reader files".
_DROP = """
const c = a[0];
const text = (f) => ({ path: f.name, file: new File([f.lines.join('\\n')], f.name) });
const entries = [...c.images.map((p) => ({ path: p, file: new File([], p) })), ...c.layouts.map(text)];
const drop = await m.readTrainingDrop(m.sortTrainingDrop(entries, c.readings.map(text)));
"""


@pytest.mark.parametrize("path", sorted(CASES.glob("*.json")), ids=lambda p: p.stem)
def test_a_drop_is_read_and_matched_as_training_labdata_matches_it(origin_page: Any, path: Path):
    case = _case(path.stem)
    got = _session(
        origin_page,
        _DROP + "return { lab: m.matchDrop(drop, { drug: c.options.drug }), others: drop.others };",
        case,
    )
    expected = _match_case({**case, "options": {"drug": case["options"].get("drug")}}).to_dict()
    assert got["lab"] == expected
    # a sheet that is no layout (plate1/notes.txt) is set aside with the reason, not matched
    assert [o["path"] for o in got["others"]] == [p for p in case["images"] if p.endswith(".txt")]
    assert all(o["reason"].startswith("not a layout: ") for o in got["others"])


@pytest.mark.parametrize(
    ("path", "readings"),
    [
        ("plate1/od450.csv", True),
        ("od.csv", True),
        ("plate1_OD.xlsx", True),
        ("OD_450 export.xlsx", True),
        ("absorbance.csv", True),
        ("Reader-plate1.csv", True),
        ("readings.txt", True),
        ("CCK8 plate 2.csv", True),
        ("MTT.xlsx", True),
        ("layout.csv", False),
        ("plate-map.xlsx", False),
        ("model.csv", False),
        ("period 2.csv", False),
        ("readings/layout.csv", False),
    ],
)
def test_a_sheet_is_readings_when_its_name_says_so_else_a_layout(origin_page: Any, path: str, readings: bool):
    got = _session(
        origin_page,
        "const s = m.sortTrainingDrop([{ path: a[0], file: null }, { path: 'p/A01.jpg', file: null }]);"
        "return { readings: s.readings.map((e) => e.path), layouts: s.layouts.map((e) => e.path),"
        " images: s.images.map((e) => e.path) };",
        path,
    )
    assert got["images"] == ["p/A01.jpg"]
    assert got["readings" if readings else "layouts"] == [path]
    assert got["layouts" if readings else "readings"] == []


def test_files_picked_as_readings_are_readings_whatever_their_name(origin_page: Any):
    got = _session(
        origin_page,
        "const s = m.sortTrainingDrop([{ path: 'plate.csv', file: null }],"
        " [{ path: 'exp1.csv', file: null }]);"
        "return [s.layouts.map((e) => e.path), s.readings.map((e) => e.path)];",
    )
    assert got == [["plate.csv"], ["exp1.csv"]]


@pytest.mark.parametrize(
    ("name", "form", "reason"),
    [
        ("refuse_single_concentration", {}, "all 2 matched wells are at one concentration (1 µM)"),
        ("refuse_constant_readings", {}, "the same (0.5 OD450)"),
        ("refuse_nothing_matched", {}, "nothing to train on"),
        ("grids_flags_fields", {"cellLine": " "}, "give the cell line the model is for"),
        ("grids_flags_fields", {"name": ""}, "give the model a name"),
        ("grids_flags_fields", {"nViews": 0}, "views per image must be a whole number from 1 to 8"),
        ("grids_flags_fields", {"nViews": 2.5}, "views per image must be a whole number from 1 to 8"),
        ("grids_flags_fields", {}, None),
    ],
)
def test_training_is_refused_with_the_reason(origin_page: Any, name: str, form: dict, reason: str | None):
    case = _case(name)
    fields = {"cellLine": "A549", "name": "A549 model", **form}
    got = _session(
        origin_page,
        _DROP + "return m.refusalOf(m.matchDrop(drop, { drug: c.options.drug ?? 'dox' }), a[1]);",
        case,
        fields,
    )
    assert (got is None) if reason is None else (reason in got), got


def test_nothing_dropped_is_refused(origin_page: Any):
    got = _session(origin_page, "return m.refusalOf(null, { cellLine: 'A549', name: 'x' });")
    assert "drop the training plates" in got


def test_the_training_set_is_one_image_per_well_with_its_series_and_reading(origin_page: Any):
    case = _case("grids_flags_fields")
    got = _session(
        origin_page,
        _DROP + "const lab = m.matchDrop(drop, { drug: 'cisplatin' });"
        "const set = m.trainingSet(lab, drop.images, ' A549 ');"
        "return { names: set.files.map((f) => f.name), images: set.images, extra: set.extraFields };",
        case,
    )
    assert got["names"] == [m["images"][0] for m in case["expect"]["matched"]]
    assert got["extra"] == 1  # A02's second site
    first = got["images"][0]
    assert first == {
        "path": "MyPlate_A02_s1_w1.tif",
        "well": "A02",
        "series": "1-s1",
        "plate": "1",
        "cellLine": "A549",
        "concentrationUm": 0.0,
        "od450": 1.2,
    }


def test_the_progress_bar_moves_forward_through_the_named_stages(origin_page: Any):
    reports = [
        {"stage": "features", "done": 0, "total": 10},
        {"stage": "features", "done": 10, "total": 10},
        *({"stage": "cross-validation", "fold": f, "folds": 4, "epoch": e, "epochs": 300} for f in (1, 4)
          for e in (0, 299)),
        {"stage": "model", "epoch": 0, "epochs": 300},
        {"stage": "model", "epoch": 299, "epochs": 300},
        {"stage": "evaluation"},
        {"stage": "trust"},
    ]  # fmt: skip
    got = _session(origin_page, "return a[0].map(m.stageProgress);", reports)
    fractions = [g["fraction"] for g in got]
    assert fractions == sorted(fractions) and fractions[0] == 0 and fractions[-1] < 1
    assert got[1]["label"] == "features: 10 of 10 images"
    assert got[2]["label"] == "cross-validation: fold 1 of 4, epoch 1"
    assert got[-1]["stage"] == "trust"
    with pytest.raises(Exception, match="unknown stage"):
        _session(origin_page, "return m.stageProgress({ stage: 'painting' });")


_RUN = """
const { WorkerPool } = await import('/static/js/pool.js');
const [served, files, rows, options, cancel] = a;
const toFile = ([name, b64]) => new File([Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0))], name);
const set = { files: files.map(toFile), images: rows, extraFields: 0 };
const pool = new WorkerPool({ size: 1 });
const { workerModel } = await import('/static/js/worker-model.js');
await pool.load({ backend: 'wasm', wasmPath: '/static/vendor/', model: workerModel(served) });
const about = { name: 'Fixture lab model', cellLine: 'A549', drug: 'doxorubicin',
  backbone: m.backboneOf(served) };
const controller = new AbortController();
const tensorsBefore = globalThis.tf ? tf.memory().numTensors : 0;
const stages = [];
let error = null;
let result = null;
try {
  result = await m.trainOnSet({ pool, set, about }, options, {
    signal: controller.signal,
    onProgress: (p) => { if (stages.at(-1) !== p.stage) stages.push(p.stage);
                         if (p.stage === cancel && (cancel === 'model' || p.label.startsWith('features: 2 ')))
                           controller.abort(); },
  });
} catch (err) { error = err.message; }
m.closePool(pool);
const numTensors = globalThis.tf ? tf.memory().numTensors : 0;
if (!result) return { error, stages, numTensors, tensorsBefore };
return { stages, warnings: result.warnings, problems: result.problems, card: result.card, test: result.test,
         curves: result.curves.map((c) => [c.series, c.measured.ic50_um, c.predicted.curve.responses.length]),
         timings: result.timings, numTensors };
"""


def _fixture_run(pg: Any, server: Server, fixture: Fixture, *, unreadable: bool, cancel: str | None) -> Any:
    with urllib.request.urlopen(server.url + "/api/models", timeout=10) as response:
        served = next(c for c in json.loads(response.read())["models"] if c["id"] == MODEL_A)
    paths = list(fixture.files)
    files = [[p.name, base64.b64encode(p.read_bytes()).decode()] for p in paths]
    rows = [
        {"path": p.name, "well": fixture.plate[p.name]["well"], "series": fixture.plate[p.name]["well"][0],
         "plate": "p1", "cellLine": "A549", "concentrationUm": fixture.plate[p.name]["concentration_um"],
         "od450": fixture.plate[p.name]["target_od450"]}
        for p in paths
    ]  # fmt: skip
    if unreadable:
        files.append(["broken.jpg", base64.b64encode(b"not an image at all").decode()])
        rows.append({**rows[0], "path": "broken.jpg", "well": "D01"})
    return _session(pg, _RUN, served, files, rows, {"nViews": 2}, cancel)


def test_a_run_with_too_few_series_warns_splits_plainly_and_names_the_unreadable_image(
    origin_page: Any, server: Server, fixture: Fixture
):
    got = _fixture_run(origin_page, server, fixture, unreadable=True, cancel=None)
    assert got.get("error") is None, got.get("error")
    assert got["stages"] == ["features", "model", "evaluation", "trust"]  # no cross-validation folds
    assert len(got["warnings"]) == 1 and "too few for 4-fold cross-validation" in got["warnings"][0]
    assert [p["path"] for p in got["problems"]] == ["broken.jpg"]
    card = got["card"]
    assert card["evaluation"]["cross_validation"] is None
    assert card["training_data"]["n_images"] == 16  # 2 of the 3 series (8 wells each): train + early stopping
    assert card["synthetic"] is False and card["training"]["n_views"] == 2
    # JPEGs record no pixel size: the card says so, and which image (training.imaging's rule)
    assert card["imaging"]["pixel_size_um"] is None and card["imaging"]["image_width_px"] == 320
    assert card["imaging"]["pixel_size_source"].startswith(
        "unknown: 16 of 16 training images record no pixel size (e.g. A549_dox_"
    )
    assert card["imaging"]["description"] == (
        "bright-field images, one field per well, RGB 320×270 px (as the training images)"
    )
    test_series = card["training_data"]["series"]["test"]
    assert len(test_series) == 1 and len(got["test"]) == 8
    assert {t["series"] for t in got["test"]} == set(test_series)
    assert [c[0] for c in got["curves"]] == test_series and got["curves"][0][2] > 10
    assert all(set(t) == {"series", "concentrationUm", "measured", "predicted", "path"} for t in got["test"])
    assert got["numTensors"] == 0  # the trained head is disposed once its predictions are taken


@pytest.mark.parametrize(
    ("stage", "error"),
    [("features", "feature extraction was cancelled"), ("model", "training was cancelled")],
)
def test_cancel_stops_the_run_and_leaves_no_tensors(
    origin_page: Any, server: Server, fixture: Fixture, stage: str, error: str
):
    got = _fixture_run(origin_page, server, fixture, unreadable=False, cancel=stage)
    assert got["error"] == error
    assert got["stages"][-1] == stage and "evaluation" not in got["stages"]
    assert got["numTensors"] == got["tensorsBefore"]


def test_a_drop_of_the_simulators_files_is_synthetic(origin_page: Any):
    """The simulator's files carry its mark (the card of a model trained on them then says synthetic:
    test_train_page.py)."""
    case = _case("grids_flags_fields")
    got = _session(origin_page, _DROP + "return drop.synthetic;", case)
    assert got is True
    plain = {**case, "readings": [{**r, "lines": r["lines"][1:]} for r in case["readings"]]}
    assert _session(origin_page, _DROP + "return drop.synthetic;", plain) is False


_MODEL_FILES = """
const bundle = await import('/static/js/train/bundle.js');
const { CARD_SCHEMA, HEAD_FILE } = await import('/static/js/train/card.js');
const card = { schema: CARD_SCHEMA, id: 'lab-m1', name: 'Lab model',
  head: { format: 'tfjs_layers_model', model_file: HEAD_FILE } };
const head = { modelTopology: { class_name: 'Sequential' },
  weightSpecs: [{ name: 'w', shape: [2], dtype: 'float32' }],
  weightData: new Float32Array([1.5, -2]).buffer };
const files = bundle.exportFiles({ card, head });
const asEntries = (list) =>
  list.map((f) => ({ path: `models/${f.path}`, file: new File([f.bytes], f.path) }));
const zip = { path: 'lab-m1.zip', file: new File([bundle.zipFiles(files)], 'lab-m1.zip') };
const read = async (entries) => {
  try { const r = await m.readModelFiles(entries);
        return { card: r.card, weights: Array.from(new Float32Array(r.head.weightData)) }; }
  catch (err) { return { error: err.message }; }
};
return { folder: await read(asEntries(files)), zip: await read([zip]), twoZips: await read([zip, zip]),
         noCard: await read(asEntries(files.slice(1))) };
"""


def test_a_model_is_imported_from_its_zip_or_its_folder_and_refused_with_the_reason(origin_page: Any):
    got = _session(origin_page, _MODEL_FILES)
    for way in ("folder", "zip"):
        assert got[way]["card"]["id"] == "lab-m1" and got[way]["weights"] == [1.5, -2], got[way]
    assert "one model at a time" in got["twoZips"]["error"]
    assert "no card.json among the files" in got["noCard"]["error"]
