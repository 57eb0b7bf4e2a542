"""The page's engine: which TF.js backend it picks, how many workers, the check of every engine against the
export check, and a model switch that keeps the shared backbone (static/js/model.js, pool.js, worker.js)."""

from __future__ import annotations

import itertools
import json
import urllib.request
from typing import Any

import pytest

from tests.e2e.conftest import MODEL_A, MODEL_B, Fixture, Server, open_app, wait_model, wait_scored
from training.preprocess import jpeg_reduction

pytestmark = pytest.mark.e2e

_LOAD_IN_WORKER = """async ([card, backend, shift]) => {
  const worker = new Worker('/static/js/worker.js', { type: 'module' });
  const reference = card.verification?.reference;
  const model = { backboneUrl: card.backbone_url, headUrl: card.head_url, headFormat: card.head.format,
                  size: card.input.size, reference: { ...reference, od450: reference.od450 + shift } };
  const { PARITY_TOLERANCE } = await import('/static/js/model.js');
  const reply = await new Promise((resolve) => {
    worker.onmessage = (e) => resolve(e.data);
    worker.postMessage({ type: 'load', id: 1, backend, wasmPath: '/static/vendor/', model });
  });
  worker.terminate();
  return { reply, tolerance: PARITY_TOLERANCE };
}"""


def _card(server: Server, model_id: str) -> dict[str, Any]:
    with urllib.request.urlopen(server.url + "/api/models", timeout=10) as response:
        return next(c for c in json.loads(response.read())["models"] if c["id"] == model_id)


def test_headless_chromium_runs_on_wasm_never_on_an_emulated_gpu(origin_page: Any):
    chosen = origin_page.evaluate("async () => (await import('/static/js/model.js')).chooseBackend()")
    assert chosen["backend"] == "wasm"
    assert "emulated" in chosen["reason"] or "no GPU" in chosen["reason"], chosen


def test_worker_count_follows_the_machine(origin_page: Any):
    sizes = origin_page.evaluate(
        """async () => {
          const { defaultPoolSize } = await import('/static/js/pool.js');
          const out = {};
          for (const cores of [1, 2, 6, 32]) {
            Object.defineProperty(navigator, 'hardwareConcurrency', { value: cores, configurable: true });
            out[cores] = [defaultPoolSize('wasm'), defaultPoolSize('webgl')];
          }
          return out;
        }"""
    )
    assert sizes == {"1": [1, 2], "2": [2, 2], "6": [6, 2], "32": [8, 2]}


@pytest.mark.parametrize("backend", ["wasm", "cpu", "webgl"])
def test_every_engine_reproduces_the_export_check_within_its_tolerance(
    origin_page: Any, server: Server, backend: str
):
    card = _card(server, MODEL_A)
    got = origin_page.evaluate(_LOAD_IN_WORKER, [card, backend, 0.0])
    reply = got["reply"]
    assert reply["type"] == "loaded", reply
    if reply["backend"] != backend:
        pytest.skip(f"{backend} is not available in this Chromium (ran on {reply['backend']})")
    check = reply["check"]
    print(f"{backend}: reference OD450 |Δ| vs the export check {check['diff']:.1e}")
    assert check["ok"] and check["expected"] == card["verification"]["reference"]["od450"]
    assert check["diff"] <= got["tolerance"][backend] == check["tolerance"]


def test_a_model_whose_files_do_not_reproduce_the_export_check_is_refused(origin_page: Any, server: Server):
    got = origin_page.evaluate(_LOAD_IN_WORKER, [_card(server, MODEL_A), "wasm", 0.01])
    assert got["reply"]["type"] == "error"
    assert "reference input" in got["reply"]["message"] and "damaged" in got["reply"]["message"]


def test_switching_models_loads_only_the_new_head_and_keeps_the_workers(
    page: Any, server: Server, fixture: Fixture
):
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    open_app(page, server, model=MODEL_A)
    assert any("/models/backbones/" in url for url in requests)  # the first load downloads the backbone
    page.set_input_files("#file-input", [str(p) for p in fixture.files[:4]])
    wait_scored(page)
    requests.clear()
    fits = page.evaluate("window.nostainDebug.fits")
    page.select_option("#model-select", MODEL_B)
    wait_model(page)
    wait_scored(page, fits_before=fits)
    assert any(f"/models/{MODEL_B}/head/model.json" in url for url in requests), requests
    # neither the backbone nor new workers (which would load TF.js again)
    assert not any("/models/backbones/" in url or "tf.min.js" in url for url in requests), requests
    assert "engine: wasm" in page.inner_text("#backend-badge")
    assert "export check" in page.get_attribute("#backend-badge", "title")


@pytest.mark.parametrize(("width", "height"), [(2560, 2160), (1283, 1077), (320, 270), (645, 516), (97, 95)])
def test_the_page_picks_the_same_jpeg_reduction_as_training(origin_page: Any, width: int, height: int):
    sizes = [96, 128, 160, 224, 299, 320]
    got = origin_page.evaluate(
        "async ([w, h, sizes]) => { const { jpegReduction } = await import('/static/js/jpeg.js');"
        " return sizes.map((s) => jpegReduction(w, h, s)); }",
        [width, height, sizes],
    )
    assert got == [jpeg_reduction(width, height, s) for s in sizes]


def test_exif_orientation_is_rotated_then_mirrored_like_pillow(origin_page: Any):
    """orientPixels on a 3 × 2 image of distinct pixels, against numpy's rot90/fliplr (Pillow's order)."""
    import numpy as np

    src = np.arange(6, dtype=np.uint32).reshape(2, 3)
    for rotation, flip in itertools.product((0, 90, 180, 270), (False, True)):
        got = origin_page.evaluate(
            """async ([rotation, flip]) => {
              const { orientPixels } = await import('/static/js/jpeg.js');
              const px = new Uint8Array(new Uint32Array([0, 1, 2, 3, 4, 5]).buffer);
              const o = orientPixels(px, 3, 2, rotation, flip);
              const values = Array.from(new Uint32Array(o.pixels.buffer));
              return { width: o.width, height: o.height, values };
            }""",
            [rotation, flip],
        )
        expected = np.rot90(src, k=-rotation // 90)
        expected = expected[:, ::-1] if flip else expected
        assert (got["height"], got["width"]) == expected.shape
        assert got["values"] == expected.ravel().tolist(), (rotation, flip)
