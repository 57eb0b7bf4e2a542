"""A whole training run in the page's trainer (static/js/train/trainer.js) on features training computed:
cross-validation by series, the model on a held-out split, /api/evaluate, the trust block and the card; then
the model kept in IndexedDB, exported as a zip of the models/<id>/ folder, imported again (identical OD450s),
and served by the app's registry from that folder."""

from __future__ import annotations

import base64
import io
import json
import shutil
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.registry import load_registry
from tests.e2e.conftest import MODEL_A, Fixture, Server
from tests.e2e.test_train_head import FLOATS_JS, _floats, call
from tests.e2e.train_data import bundled_input_size, training_set
from training.preprocess import preprocess
from training.trust.ood import image_stats

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BACKBONE = next((ROOT / "models" / "backbones").glob("*/backbone.json")).parent.name  # the bundled one

_RUN = """
const features = floats(a[0]);
const shape = { nViews: a[2], nFeatures: a[3] };
const backbone = a[4];
const stages = new Set();
const result = await m.trainModel(
  { computed: { features, ...shape, stats: a[1] }, images: a[5],
    about: { name: 'A549 · doxorubicin (lab)', cellLine: 'A549', drug: 'doxorubicin', backbone } },
  {}, { onProgress: (p) => stages.add(p.stage + (p.fold ? ' ' + p.fold : '')) });
const store = await import('/static/js/train/store.js');
const bundle = await import('/static/js/train/bundle.js');
const head = await import('/static/js/train/head.js');
await store.saveModel({ card: result.card, head: result.head });
const listed = (await store.listModels()).map((c) => c.id);
const kept = await store.loadModel(result.card.id);
const zip = bundle.zipFiles(bundle.exportFiles(kept));
const imported = bundle.importFiles(bundle.unzipFiles(zip));
const again = await tf.loadLayersModel(tf.io.fromMemory(imported.head));
const x = features.slice(0, 20 * shape.nViews * shape.nFeatures).filter((_, i) =>
  Math.floor(i / shape.nFeatures) % shape.nViews === 0);
const before = head.predictHead(result.model, x, shape.nFeatures);
const after = head.predictHead(again, x, shape.nFeatures);
result.model.dispose(); again.dispose();
await store.deleteModel(result.card.id);
let b64 = '';
for (let i = 0; i < zip.length; i += 0x8000) b64 += String.fromCharCode(...zip.subarray(i, i + 0x8000));
return { card: result.card, plan: result.plan.kind, warnings: result.warnings, stages: [...stages],
         listed, afterDelete: (await store.listModels()).map((c) => c.id),
         before: Array.from(before), after: Array.from(after), zip: btoa(b64),
         files: bundle.unzipFiles(zip).map((f) => f.path), sameCard: JSON.stringify(imported.card) ===
           JSON.stringify(result.card) };
"""


def test_a_model_trained_in_the_page_is_evaluated_kept_exported_and_served(origin_page: Any, tmp_path: Path):
    data, folder = training_set()
    stats = [image_stats(preprocess(folder / r["path"], bundled_input_size())) for r in data.rows]
    images = [
        {"series": r["series"], "plate": r["plate"], "cellLine": r["cell_line"],
         "concentrationUm": r["concentration_um"], "od450": float(y)}
        for r, y in zip(data.rows, data.od450, strict=True)
    ]  # fmt: skip
    backbone = json.loads((ROOT / "models" / "backbones" / BACKBONE / "backbone.json").read_text())
    n_views, n_features = data.features.shape[1:]
    got = call(
        origin_page,
        "trainer.js",
        FLOATS_JS + _RUN,
        _floats(data.features),
        stats,
        int(n_views),
        int(n_features),
        backbone,
        images,
    )
    card = got["card"]
    assert got["plan"] == "cv" and not got["warnings"]
    assert got["stages"] == [*(f"cross-validation {f}" for f in range(1, 5)), "model", "evaluation", "trust"]
    # the card: the lab's images, never synthetic; what they were; what the model achieved
    assert card["schema"] == "nostain.model-card/2" and card["synthetic"] is False
    data_ = card["training_data"]
    assert data_["synthetic"] is False and data_["n_plates"] == 3 and data_["n_series"] == 9
    assert data_["n_images"] == 99 and len(data_["series"]["test"]) == 3
    assert card["backbone"] == {
        "id": BACKBONE,
        "fingerprint": backbone["fingerprint"],
        "architecture": "MobileNetV2",
    }
    ev = card["evaluation"]
    assert ev["n_test_images"] == 33 and ev["n_test_series"] == 3 and len(ev["per_series"]) == 3
    assert ev["test_r2"] > 0.8 and ev["cross_validation"]["r2_pooled"] > 0.8
    assert ev["cross_validation"]["k"] == 4 and len(ev["cross_validation"]["folds"]) == 4
    assert card["ood"]["features"]["n_components"] == 16 and card["ood"]["image_stats"]["n_images"] == 77
    assert card["ood"]["backbone_fingerprint"] == backbone["fingerprint"]
    # kept, listed, deleted; export → import gives the same card and identical OD450s
    assert card["id"] in got["listed"] and card["id"] not in got["afterDelete"]
    assert got["sameCard"] and got["before"] == got["after"] and len(set(got["before"])) > 10
    # the zip is the models/<id>/ folder, which the app serves beside the backbone
    assert sorted(got["files"]) == sorted(
        [
            f"{card['id']}/card.json",
            f"{card['id']}/head/model.json",
            f"{card['id']}/head/group1-shard1of1.bin",
        ]
    )
    models = tmp_path / "models"
    shutil.copytree(ROOT / "models" / "backbones" / BACKBONE, models / "backbones" / BACKBONE)
    zipfile.ZipFile(io.BytesIO(base64.b64decode(got["zip"]))).extractall(models)
    registry = load_registry(models)
    assert not registry.problems, registry.problems
    entry = registry.get(card["id"])
    assert entry is not None and entry.card["synthetic"] is False
    assert len(registry.models) == 1


_SCORE_KEPT = """async ([served, files]) => {
  const { WorkerPool } = await import('/static/js/pool.js');
  const { computeFeatures } = await import('/static/js/train/features.js');
  const head = await import('/static/js/train/head.js');
  const store = await import('/static/js/train/store.js');
  const bundle = await import('/static/js/train/bundle.js');
  const toFile = ([name, b64]) => {
    const s = atob(b64); const bytes = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
    return new File([bytes], name, { type: 'image/jpeg' });
  };
  const images = files.map((f) => toFile([f[0], f[1]]));
  const pool = new WorkerPool({ size: 1 });
  const spec = (card) => ({ backbone: 'wasm', wasmPath: '/static/vendor/', model: {
    backboneUrl: card.backbone_url, headUrl: card.head_url, headFormat: card.head.format,
    headArtifacts: card.head_artifacts ?? null, size: card.input.size,
    reference: card.verification?.reference ?? null } });
  await pool.load({ ...spec(served), backend: 'wasm' });
  const computed = await computeFeatures(pool, images, { nViews: 2, seed: 0 });
  const shape = { nViews: 2, nFeatures: computed.nFeatures };
  const rows = images.map((_, i) => i);
  const y = Float32Array.from(files, (f) => f[2]);
  const data = head.trainingRows(computed.features, y, rows, [], shape);
  const trained = await head.trainHead(data, { epochs: 40 });
  const { testX } = head.firstViews(computed.features, y, rows, shape, 'test');
  const expected = Array.from(head.predictHead(trained.model, testX, shape.nFeatures));
  const { verification } = await import('/static/js/train/card.js');
  const [reference] = head.predictHead(trained.model, computed.referenceFeatures, shape.nFeatures);
  const card = { schema: 'nostain.model-card/2', id: 'kept', name: 'Kept', version: '1.0.0',
    backbone: { id: 'fixture', fingerprint: served.backbone.fingerprint }, input: served.input,
    head: { format: 'tfjs_layers_model', model_file: 'head/model.json' }, synthetic: false,
    verification: verification(reference) };
  const artifacts = await store.headArtifacts(trained.model);
  const record = bundle.importFiles(bundle.exportFiles({ card, head: artifacts }));
  trained.model.dispose();
  const own = store.pageCard(record, [served]);
  const loaded = await pool.load({ ...spec(own), backend: 'wasm' });
  const scored = [];
  for (const file of images) scored.push((await pool.score(file)).od450);
  let refused = null;
  try { store.pageCard(record, [{ ...served, backbone: { fingerprint: 'other' } }]); }
  catch (err) { refused = err.message; }
  for (const w of pool.workers) w.terminate();
  return { expected, scored, refused, check: loaded.check, reference };
}"""


def test_a_kept_model_scores_through_the_scoring_path_like_a_served_one(
    origin_page: Any, server: Server, fixture: Fixture
):
    with urllib.request.urlopen(server.url + "/api/models", timeout=10) as response:
        served = next(c for c in json.loads(response.read())["models"] if c["id"] == MODEL_A)
    files = [
        [p.name, base64.b64encode(p.read_bytes()).decode(), fixture.plate[p.name]["target_od450"]]
        for p in fixture.files[:12]
    ]
    got = origin_page.evaluate(_SCORE_KEPT, [served, files])
    # the workers load the backbone from the server and the head from memory; OD450 = head(features view 0)
    np.testing.assert_allclose(got["scored"], got["expected"], atol=1e-5)
    assert np.std(got["scored"]) > 0.01  # a trained head, not a constant
    assert "needs the backbone fixture, which this server does not serve" in got["refused"]
    # the page checks the kept model on loading, as a served one: its reference OD450, computed at training
    assert got["check"]["ok"] and got["check"]["expected"] == got["reference"]
