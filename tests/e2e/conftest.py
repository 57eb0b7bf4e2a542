"""Fixtures of the browser tests: a small fixture model, a plate of images, the app server and Chromium.

The fixture model is a MobileNetV2 (alpha 0.35, input 96 px) with random, seeded backbone weights whose
batch-norm statistics are calibrated on the fixture images, and a head solved by ridge regression so that
its predicted OD450 follows a known Hill curve of the images' concentrations. It is exported with
:func:`training.export.export_tfjs` exactly as real models are (``models/backbones/<id>/`` + the model's
head and card, verified in Chromium); the second fixture model is another card on the same backbone.
Building it takes ~30 s, so it is cached in ``.cache/e2e/`` under a key that changes with this file and the
training code it uses; the Keras predictions of every fixture image (``training.preprocess.preprocess`` +
``model.predict``) are cached with it, so a cached run needs no TensorFlow at all.
``NOSTAIN_E2E_REBUILD=1`` forces a rebuild.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "e2e"
ARTIFACTS = ROOT / "test-artifacts"
INPUT_SIZE = 96
#: The page's own path from files to model outputs (decode.js → preprocess.js → model.js; wasm, one thread)
#: on a card's backbone + head: ``[card, [base64 file, …]]`` → ``[{od450, features}, …]``.
PAGE_PREDICT_JS = """async ([card, files]) => {
  await import('/static/vendor/tf.min.js');
  await import('/static/vendor/tf-backend-wasm.min.js');
  const model = await import('/static/js/model.js');
  const { decodeImage } = await import('/static/js/decode.js');
  const { toModelInput } = await import('/static/js/preprocess.js');
  await model.initBackend({ backend: 'wasm', wasmPath: '/static/vendor/', threads: 1 });
  const size = card.input.size;
  const net = await model.loadNetwork({
    backboneUrl: card.backbone_url, headUrl: card.head_url, headFormat: card.head.format, size });
  const out = [];
  for (const b64 of files) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const d = await decodeImage(new Blob([bytes]), { reduceFor: size });
    const input = toModelInput(d.pixels, d.height, d.width, size, d.order);
    const { od450, features } = await model.predict(net, input);
    out.push({ od450, features: Array.from(features) });
  }
  model.disposeNetwork(net);
  return out;
}"""
#: Concentrations of the fixture plate (µM), one column each; 0 = vehicle control (DMSO).
CONCENTRATIONS_UM = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
REPLICATE_ROWS = "ABC"
#: The Hill curve the fixture model is taught (OD450): Top, Bottom, IC50 (µM), Hill slope.
TRUE_CURVE = {"top": 1.45, "bottom": 0.15, "ic50_um": 0.4, "hill": 1.3}
IMAGE_SIZE = (320, 270)  # (width, height) px: small, so the suite stays fast
MODEL_A = "fixture-a"
MODEL_B = "fixture-b"
#: Wells whose occlusion maps training.attribution computes at build time (a control, the IC50, the top dose).
ATTRIBUTED_WELLS = ("A549_dox_DMSO_A01.jpg", "A549_dox_0.3uM_B05.jpg", "A549_dox_10uM_C08.jpg")
#: The page's occlusion maps: cells per side, occluded copies per batch (static/js/scoring.js ATTRIBUTION).
ATTRIBUTION_GRID, ATTRIBUTION_BATCH = 8, 8


# ------------------------------------------------------------------------------------------ images


def well_image(n_cells: int, *, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A bright-field-like well: grey background with ``n_cells`` dark round cells and bright halos.

    Returns
    -------
    ndarray, shape (height, width, 3), uint8
    """
    img = np.full((height, width), 190.0) + rng.normal(0.0, 3.0, (height, width))
    r = 0.012 * width
    yy, xx = np.mgrid[0:height, 0:width]
    for cx, cy in zip(rng.uniform(0, width, n_cells), rng.uniform(0, height, n_cells), strict=True):
        x0, x1 = int(max(cx - 3 * r, 0)), int(min(cx + 3 * r, width))
        y0, y1 = int(max(cy - 3 * r, 0)), int(min(cy + 3 * r, height))
        d2 = ((xx[y0:y1, x0:x1] - cx) ** 2 + (yy[y0:y1, x0:x1] - cy) ** 2) / r**2
        img[y0:y1, x0:x1] += -70.0 * np.exp(-d2) + 25.0 * np.exp(-d2 / 4) * (d2 > 1)
    grey = img.clip(0, 255)
    return np.stack([grey * 0.98, grey, grey * 0.95], -1).clip(0, 255).astype(np.uint8)


def viability(conc_um: float) -> float:
    """Fraction of control of :data:`TRUE_CURVE` at ``conc_um``."""
    if conc_um <= 0:
        return 1.0
    return 1.0 / (1.0 + (conc_um / TRUE_CURVE["ic50_um"]) ** TRUE_CURVE["hill"])


def file_name(conc_um: float, well: str) -> str:
    """``A549_dox_0.3uM_B05.jpg``; vehicle controls are named ``…_DMSO_…``."""
    return f"A549_dox_{'DMSO' if conc_um == 0 else f'{conc_um:g}uM'}_{well}.jpg"


def _write_plate(folder: Path, rng: np.random.Generator) -> dict[str, dict[str, Any]]:
    """Write the fixture plate's JPEGs; returns name → {concentration_um, well, target_od450}."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    width, height = IMAGE_SIZE
    plate: dict[str, dict[str, Any]] = {}
    for column, conc in enumerate(CONCENTRATIONS_UM, start=1):
        v = viability(conc)
        for row in REPLICATE_ROWS:
            well = f"{row}{column:02d}"
            pixels = well_image(int(20 + 250 * v), width=width, height=height, rng=rng)
            name = file_name(conc, well)
            Image.fromarray(pixels).save(folder / name, quality=90)
            target = TRUE_CURVE["bottom"] + (TRUE_CURVE["top"] - TRUE_CURVE["bottom"]) * v
            plate[name] = {
                "concentration_um": conc,
                "well": well,
                "target_od450": target + rng.normal(0, 0.04),
            }
    return plate


# ------------------------------------------------------------------------------------------ model


def _calibrate_batchnorm(backbone: Any, images: np.ndarray) -> None:
    """Set every batch norm's moving statistics to those of ``images`` (one forward pass, momentum 0).

    A random MobileNetV2 with the default statistics (mean 0, variance 1) pools to constant features
    (shared/FACTS.md); calibrated, its features differ between images, so a head can be fitted.
    """
    import tf_keras as keras

    norms = [layer for layer in backbone.layers if isinstance(layer, keras.layers.BatchNormalization)]
    backbone.trainable = True  # frozen batch norms ignore training=True
    for layer in norms:
        layer.momentum = 0.0
    backbone(images / 127.5 - 1.0, training=True)
    for layer in norms:
        layer.momentum = 0.999
    backbone.trainable = False


def _fit_head(model: Any, features: np.ndarray, targets: np.ndarray, *, ridge: float = 1e-2) -> None:
    """Solve the Dense(10, relu) → Dense(1) head so that OD450 = w·features + b (ridge regression)."""
    centred = features - features.mean(0)
    gram = centred.T @ centred
    lam = ridge * np.trace(gram) / gram.shape[0]
    w = np.linalg.solve(gram + lam * np.eye(gram.shape[0]), centred.T @ (targets - targets.mean()))
    b = float(targets.mean() - features.mean(0) @ w)
    hidden = model.get_layer("head_hidden")
    k1, b1 = (np.zeros_like(x) for x in hidden.get_weights())
    offset = 10.0  # keeps the one used hidden unit in the linear part of its relu
    k1[:, 0], b1[0] = w, offset
    hidden.set_weights([k1, b1])
    k2, b2 = (np.zeros_like(x) for x in model.get_layer("od450").get_weights())
    k2[0, 0], b2[0] = 1.0, b - offset
    model.get_layer("od450").set_weights([k2, b2])


def _card(model_id: str, name: str, *, evaluation: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": model_id,
        "name": name,
        "version": "0.0.1",
        "cell_line": "A549",
        "drug": "doxorubicin",
        "synthetic": True,
        "summary": "Test fixture: random MobileNetV2 (alpha 0.35) with a head fitted to 24 generated images; "
        "trained on synthetic images.",
        "training_data": {
            "synthetic": True,
            "n_images": 24,
            "n_series": 3,
            "cell_lines": ["A549"],
            "description": "generated test images (tests/e2e/conftest.py)",
        },
        "backbone": "MobileNetV2",
        "backbone_frozen": True,
        "weights_origin": "random (seed 0), batch norms calibrated on the fixture images",
        "od450_training_range": [TRUE_CURVE["bottom"], TRUE_CURVE["top"]],
        "imaging": "generated bright-field-like images, 320×270 px",
        "evaluation": evaluation,
    }


def _build(out: Path) -> None:
    """Write the plate, the two fixture model folders and the Keras predictions into ``out``."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # tensorflow_decision_forests (imported by tensorflowjs) imports IPython when stdout is not a terminal.
    os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")
    import tf_keras as keras

    from training.attribution import keras_predictor, occlusion_map
    from training.export import export_tfjs
    from training.model import build_model, feature_extractor
    from training.preprocess import preprocess

    rng = np.random.default_rng(20261125)
    plate = _write_plate(out / "plate", rng)
    names = sorted(plate)
    inputs = np.stack([preprocess(out / "plate" / n, INPUT_SIZE) for n in names])
    keras.utils.set_random_seed(0)
    backbone = keras.applications.MobileNetV2(
        input_shape=(INPUT_SIZE, INPUT_SIZE, 3), alpha=0.35, include_top=False, weights=None
    )
    model = build_model(backbone)
    _calibrate_batchnorm(backbone, inputs)
    features = feature_extractor(model).predict(inputs, verbose=0)
    targets = np.array([plate[n]["target_od450"] for n in names])
    _fit_head(model, features.astype(np.float64), targets)
    predicted = model.predict(inputs, verbose=0)[:, 0]
    r2 = 1.0 - float(np.sum((predicted - targets) ** 2) / np.sum((targets - targets.mean()) ** 2))
    models = out / "models"
    # Verified like a real export: the card then carries the reference OD450 the page checks its engine with.
    export_tfjs(model, models / MODEL_A, _card(MODEL_A, "Fixture-A", evaluation=None), inputs=inputs[:4])
    evaluation = {
        "test_r2": r2,
        "n_test_images": len(names),
        "n_test_series": 3,
        "ic50_log10_error_median": None,
    }
    shutil.copytree(models / MODEL_A, models / MODEL_B)  # a second head on the same backbone
    card_b = json.loads((models / MODEL_B / "card.json").read_text(encoding="utf-8"))
    card_b.update(_card(MODEL_B, "Fixture-B", evaluation=evaluation), backbone=card_b["backbone"])
    (models / MODEL_B / "card.json").write_text(json.dumps(card_b, ensure_ascii=False), encoding="utf-8")
    for name, od in zip(names, predicted, strict=True):
        plate[name]["keras_od450"] = float(od)
    predict = keras_predictor(model)
    for name in ATTRIBUTED_WELLS:
        image = inputs[names.index(name)]
        drops = occlusion_map(predict, image, grid=ATTRIBUTION_GRID, batch=ATTRIBUTION_BATCH)
        plate[name]["keras_occlusion_map"] = drops.tolist()
    (out / "plate.json").write_text(json.dumps(plate, indent=1), encoding="utf-8")


def _cache_key() -> str:
    """A key that changes with the code building the fixture (not the rest of this file) and training's."""
    digest = hashlib.sha256()
    for part in (
        well_image,
        viability,
        file_name,
        _write_plate,
        _calibrate_batchnorm,
        _fit_head,
        _card,
        _build,
    ):
        digest.update(inspect.getsource(part).encode())
    digest.update(
        repr(
            (INPUT_SIZE, CONCENTRATIONS_UM, REPLICATE_ROWS, TRUE_CURVE, IMAGE_SIZE, MODEL_A, MODEL_B)
        ).encode()
    )
    digest.update(repr((ATTRIBUTED_WELLS, ATTRIBUTION_GRID, ATTRIBUTION_BATCH)).encode())
    for path in (
        ROOT / "training" / "model.py",
        ROOT / "training" / "export.py",
        ROOT / "training" / "preprocess.py",
        ROOT / "training" / "attribution.py",
        ROOT / "training" / "tfjs_check.py",
    ):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_once(folder: Path, marker: str, build: Callable[[Path], None]) -> None:
    """Build a cached folder unless ``folder/marker`` exists: the other folders of its cache (older code's)
    are removed, ``build`` writes into a temporary sibling, which is then renamed into place."""
    if (folder / marker).is_file():
        return
    for old in folder.parent.glob("*"):
        shutil.rmtree(old, ignore_errors=True)
    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    try:
        build(tmp)
        tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass(frozen=True)
class Fixture:
    """The cached fixture: a models dir (two models), the plate images and what Keras predicts for them."""

    models_dir: Path
    plate_dir: Path
    # name → {concentration_um, well, target_od450, keras_od450}, and keras_occlusion_map (grid × grid
    # OD450 drops, training.attribution.occlusion_map) for ATTRIBUTED_WELLS
    plate: dict[str, dict[str, Any]]

    @property
    def files(self) -> list[Path]:
        return [self.plate_dir / name for name in sorted(self.plate)]


@pytest.fixture(scope="session")
def fixture() -> Fixture:
    """The fixture model and plate, built once and cached in ``.cache/e2e/<key>/``."""
    folder = CACHE / _cache_key()
    if os.environ.get("NOSTAIN_E2E_REBUILD") and folder.exists():
        shutil.rmtree(folder)
    build_once(folder, "plate.json", _build)
    plate = json.loads((folder / "plate.json").read_text(encoding="utf-8"))
    return Fixture(models_dir=folder / "models", plate_dir=folder / "plate", plate=plate)


# ------------------------------------------------------------------------------------------ server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running app: its base URL and the process serving it."""

    url: str
    process: subprocess.Popen

    def post_json(self, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


def start_server(models_dir: Path, log: Path) -> Server:
    """Start uvicorn on a free loopback port with ``NOSTAIN_MODELS_DIR=models_dir``; waits for /healthz."""
    port = _free_port()
    env = {**os.environ, "NOSTAIN_MODELS_DIR": str(models_dir)}
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return Server(url=url, process=process)
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the app did not start; its log:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def server(fixture: Fixture, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app serving the two fixture models."""
    running = start_server(fixture.models_dir, tmp_path_factory.mktemp("server") / "uvicorn.log")
    yield running
    stop_server(running)


# ------------------------------------------------------------------------------------------ limits


def api_limits() -> dict[str, int]:
    """The request limits the page obeys (``limits`` of the page config), as the server defines them."""
    from app.config import Settings

    return Settings().limits().model_dump()


# ------------------------------------------------------------------------------------------ browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    from training.tfjs_check import CHROMIUM_FLAGS, chromium_path

    try:
        executable = chromium_path()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, args=[*CHROMIUM_FLAGS, "--disable-quic"]
        )
        yield launched
        launched.close()


class PageErrors(list):
    """Uncaught page errors and console errors collected during a test (the test fails on any)."""


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page (1440×900, downloads allowed) that fails the test on any uncaught error."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    errors = PageErrors()
    pg.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    pg.on(
        "console",
        lambda msg: errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None,
    )
    pg.errors = errors
    pg.set_default_timeout(30_000)
    yield pg
    context.close()
    expected = getattr(pg, "expected_errors", ())
    unexpected = [e for e in errors if not any(x in e for x in expected)]
    assert not unexpected, f"errors in the page: {unexpected}"


@pytest.fixture(scope="module")
def origin_page(browser: Any, server: Server) -> Iterator[Any]:
    """A page on the app's origin with no model loaded, to import the page's ES modules into."""
    context = browser.new_context()
    pg = context.new_page()
    pg.goto(server.url + "/healthz")
    yield pg
    context.close()


# ------------------------------------------------------------------------------------------ helpers


def open_app(pg: Any, server: Server, *, model: str | None = MODEL_A) -> None:
    """Load the page and wait until the chosen model is loaded in the workers."""
    pg.goto(server.url + "/")
    wait_model(pg)
    if model is not None and pg.input_value("#model-select") != model:
        pg.select_option("#model-select", model)
        wait_model(pg)


def wait_model(pg: Any) -> None:
    """Wait until the workers have loaded the selected model; fail with the page's reason if they cannot."""
    pg.wait_for_function(
        "window.nostainDebug && (window.nostainDebug.ready || window.nostainDebug.modelError)"
    )
    error = pg.evaluate("window.nostainDebug.modelError")
    assert error is None, f"the page could not load the model: {error}"


def wait_scored(pg: Any, *, fits_before: int = 0) -> None:
    """Wait until no well is queued or being scored, and a fit newer than ``fits_before`` came back."""
    pg.wait_for_function(
        """(n) => {
          const rows = [...document.querySelectorAll('#wells tbody tr')];
          return rows.length > 0 && rows.every(r => !['queued', 'scoring'].includes(r.dataset.status))
            && window.nostainDebug.fits > n && !document.querySelector('#fit-status.fit-busy');
        }""",
        arg=fits_before,
    )


def rows(pg: Any) -> list[dict[str, Any]]:
    """The wells table as dicts: name, status, od450 (full precision), concentration text, notes, classes."""
    return pg.eval_on_selector_all(
        "#wells tbody tr",
        """trs => trs.map(tr => ({
            name: tr.dataset.name, status: tr.dataset.status,
            od450: tr.dataset.od450 === '' ? null : Number(tr.dataset.od450),
            concentration: tr.querySelector('input.conc').value,
            source: tr.querySelector('.c-source').textContent,
            notes: tr.querySelector('.c-notes').innerText,
            excluded: !tr.querySelector('input.use').checked,
            classes: tr.className}))""",
    )


def scored_od450(pg: Any, server: Server, paths: list[Path]) -> dict[str, float | None]:
    """Score ``paths`` on the page with the default model: file name → the page's OD450."""
    open_app(pg, server)
    pg.set_input_files("#file-input", [str(p) for p in paths])
    wait_scored(pg)
    return {r["name"]: r["od450"] for r in rows(pg)}


def parse_report(text: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The [curves] and [wells] sections of the CSV report as lists of dicts."""
    import csv
    import io

    sections: dict[str, list[dict[str, str]]] = {}
    header: list[str] | None = None
    current: list[dict[str, str]] | None = None
    for line in csv.reader(io.StringIO(text)):
        if line and line[0] in ("[curves]", "[wells]"):
            current = sections.setdefault(line[0], [])
            header = None
        elif not line:
            current = None
        elif current is not None and header is None:
            header = line
        elif current is not None and header is not None:
            current.append(dict(zip(header, line, strict=True)))
    return sections["[curves]"], sections["[wells]"]


def screenshot(pg: Any, name: str) -> Path:
    """Save a full-page screenshot to ``test-artifacts/<name>.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    return path
