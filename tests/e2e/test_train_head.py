"""The page's trainer (static/js/train/): splits by series, and the head trained with TF.js on features that
training computed, against training's own head on the same split."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pytest

from tests.e2e.train_data import HEAD_SEEDS, TrainingSet, training_set
from training.dataset import cv_folds, split_series
from training.tables import table1

pytestmark = pytest.mark.e2e

#: Load TF.js (wasm) into the page once; `a` is the argument list, `m` the imported module.
_TF = (
    "if (!globalThis.tf) { await import('/static/vendor/tf.min.js'); "
    "await import('/static/vendor/tf-backend-wasm.min.js'); }"
    "tf.wasm.setWasmPaths('/static/vendor/'); await tf.setBackend('wasm'); await tf.ready();"
)


def call(pg: Any, module: str, body: str, *args: Any) -> Any:
    """Run ``body`` (statements ending in a return) with TF.js loaded, ``m`` = the module, ``a`` = args."""
    script = f"async (a) => {{ {_TF} const m = await import('/static/js/train/{module}'); {body} }}"
    return pg.evaluate(script, list(args))


def _floats(values: np.ndarray) -> str:
    """float32 values as base64 (decoded in the page by ``floats``)."""
    return base64.b64encode(np.ascontiguousarray(values, np.float32).tobytes()).decode()


#: Page-side decoder of :func:`_floats`.
FLOATS_JS = (
    "const floats = (b64) => { const s = atob(b64); const u = new Uint8Array(s.length);"
    "for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i); return new Float32Array(u.buffer); };"
)


@pytest.fixture(scope="module")
def data() -> TrainingSet:
    return training_set()[0]


def _images(data: TrainingSet) -> list[dict[str, str]]:
    return [{"series": r["series"], "cellLine": r["cell_line"], "plate": r["plate"]} for r in data.rows]


def test_splits_keep_series_whole_and_follow_trainings_rule(origin_page: Any, data: TrainingSet):
    images = _images(data)
    got = call(
        origin_page,
        "split.js",
        "return {split: m.splitSeries(a[0], {nTest: 3, nVal: 2}), folds: m.cvFolds(a[0], {k: 4}),"
        " fold: m.foldSplit(a[0], m.cvFolds(a[0], {k: 4}), 1, {nVal: 2}),"
        " again: m.splitSeries(a[0], {nTest: 3, nVal: 2}), other: m.splitSeries(a[0], {nTest: 3, seed: 5})};",
        images,
    )
    split = got["split"]
    series = sorted({r["series"] for r in data.rows})
    assert sorted(split["train"] + split["val"] + split["test"]) == series  # each series in one set
    assert (len(split["test"]), len(split["val"]), len(split["train"])) == (3, 2, 7)
    plate_of = {r["series"]: r["plate"] for r in data.rows}
    assert len({plate_of[s] for s in split["test"]}) == 3  # interleaved: one test series per plate
    assert got["again"] == split and got["other"] != split  # a pure function of the images and the seed
    folds = got["folds"]
    assert sorted(s for f in folds for s in f) == series and [len(f) for f in folds] == [3, 3, 3, 3]
    assert got["fold"]["test"] == folds[1] and not set(got["fold"]["train"]) & set(folds[1])
    # training's rule gives the same shapes (the random order differs: numpy's generator is not ours)
    import pandas as pd

    manifest = pd.DataFrame(data.rows)
    theirs = split_series(manifest, n_test=3, n_val=2)
    assert (len(theirs.test), len(theirs.val), len(theirs.train)) == (3, 2, 7)
    assert [len(f) for f in cv_folds(manifest, k=4)] == [3, 3, 3, 3]


def test_too_few_series_for_cross_validation_gives_a_plain_split_and_says_so(origin_page: Any):
    images = [{"series": f"S{i}", "cellLine": "A549", "plate": "P1"} for i in range(4)]
    plan = call(origin_page, "split.js", "return m.validationPlan(a[0], {k: 4, nVal: 4});", images)
    assert plan["kind"] == "split" and "too few for 4-fold cross-validation" in plan["warning"]
    assert len(plan["split"]["test"]) == 1 and len(plan["split"]["train"]) >= 1
    enough = [{"series": f"S{i}", "cellLine": "A549", "plate": f"P{i % 3}"} for i in range(24)]
    assert call(origin_page, "split.js", "return m.validationPlan(a[0]);", enough)["kind"] == "cv"


def _with_training_rows(pg: Any, data: TrainingSet, body: str, *args: Any) -> Any:
    """Run ``body`` in head.js's page scope with ``features``, ``od450``, ``shape``, ``split`` (image rows
    of train, val, test) and ``data`` (head.js trainingRows) defined; ``args`` follow as ``a[4]``…"""
    n_views, n_features = data.features.shape[1:]
    return call(
        pg,
        "head.js",
        FLOATS_JS + "const features = floats(a[0]); const od450 = floats(a[1]); const shape = a[2];"
        "const split = a[3]; const data = m.trainingRows(features, od450, split.train, split.val, shape);"
        + body,
        _floats(data.features),
        _floats(data.od450),
        {"nViews": int(n_views), "nFeatures": int(n_features)},
        {role: data.rows_of(role) for role in ("train", "val", "test")},
        *args,
    )


def test_the_head_trained_in_the_page_matches_trainings_head(origin_page: Any, data: TrainingSet):
    got = _with_training_rows(
        origin_page,
        data,
        "const test = m.firstViews(features, od450, split.test, shape, 'test');"
        "const before = tf.memory().numTensors; const runs = [];"
        "for (const seed of a[4]) { let epochs = 0;"
        "  const result = await m.trainHead(data, {seed}, {onEpoch: () => { epochs++; }});"
        "  const predicted = m.predictHead(result.model, test.testX, shape.nFeatures);"
        "  result.model.dispose();"
        "  runs.push({predicted: Array.from(predicted), epochs, history: result.history.length,"
        "             bestEpoch: result.bestEpoch, stoppedEarly: result.stoppedEarly}); }"
        "return {runs, leaked: tf.memory().numTensors - before};",
        list(HEAD_SEEDS),
    )
    measured = data.od450[data.rows_of("test")]
    r2_page = [table1(measured, np.asarray(run["predicted"]))["r2"] for run in got["runs"]]
    for run in got["runs"]:  # early stopping: 30 epochs after the best one, whose weights are kept
        assert run["epochs"] == run["history"]
        # stopped 30 epochs after the best one, or ran to training's maximum (training.config.EPOCHS = 300)
        assert run["epochs"] == (run["bestEpoch"] + 31 if run["stoppedEarly"] else 300), run
    assert got["leaked"] == 0
    assert min(r2_page) > 0.8, r2_page  # real models, not constants
    # The same stream gives the same initial weights and batches: per seed, the same head as training's, up
    # to float rounding (TF.js and TensorFlow sum in other orders; Adam's ε enters a little differently).
    differences = [
        float(np.abs(np.asarray(run["predicted"]) - np.asarray(keras["predicted"])).max())
        for run, keras in zip(got["runs"], data.keras_heads, strict=True)
    ]
    print(f"test r² per seed: page {np.round(r2_page, 4)}, training {np.round(data.keras_r2, 4)}; "
          f"max |Δ OD450| per seed {np.round(differences, 5)}")  # fmt: skip
    assert max(differences) <= 0.005, differences  # measured ≤ 7.2e-4
    assert [run["epochs"] for run in got["runs"]] == [k["epochs"] for k in data.keras_heads]
    assert np.abs(np.subtract(r2_page, data.keras_r2)).max() <= 0.005, (r2_page, data.keras_r2)


def test_training_can_be_cancelled_and_leaves_no_tensors(origin_page: Any, data: TrainingSet):
    got = _with_training_rows(
        origin_page,
        data,
        "const before = tf.memory().numTensors; const stop = new AbortController(); const seen = [];"
        "try { await m.trainHead(data, {}, {signal: stop.signal, onEpoch: (e) => {"
        " seen.push(e.epoch); if (e.epoch === 2) stop.abort(); }}); return {error: null}; }"
        "catch (err) { return {error: err.name, seen, leaked: tf.memory().numTensors - before}; }",
    )
    assert got == {"error": "TrainingCancelled", "seen": [0, 1, 2], "leaked": 0}
