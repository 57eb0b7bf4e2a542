"""The training views of the page's trainer: the paper's augmentation applied as training applies it
(static/js/train/augment.js vs training/dataset.py apply_draw), the same draws from the same stream
(random.js vs training/stream.py), the same views of a file (views.js vs training/features.py image_views),
and the workers' 'features' message."""

from __future__ import annotations

import base64
import json
import urllib.request
from dataclasses import asdict
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.e2e.conftest import MODEL_A, Fixture, Server
from tests.e2e.test_train_head import call
from tests.e2e.train_data import bundled_input_size, training_set
from training.dataset import Augmentation, Draw, apply_draw, augmentation_side
from training.features import ViewSpec, image_views
from training.preprocess import jpeg_reduction, load_rgb, resize_area
from training.stream import RandomStream, batch_order, glorot_uniform, head_stream, image_stream

pytestmark = pytest.mark.e2e

SIZE = bundled_input_size()

DRAWS = [
    Draw(0, False, False, 0.5, 0.5, 0.7, 0.0, 1.0, 1.0, 0.0),  # the crop alone
    Draw(1, True, False, 0.2, 0.9, 0.7, 0.13, 1.0, 1.21, 0.0),  # turn, flip, brightness, contrast
    Draw(2, False, True, 1.0, 0.0, 0.7, -0.17, 1.45, 0.8, 0.0),  # saturation
    Draw(3, True, True, 0.37, 0.61, 0.7, 0.05, 0.7, 1.1, 0.06),  # everything, hue included
    Draw(1, False, False, 0.5, 0.5, 1.0, -0.2, 1.6, 1.3, -0.08),  # no crop, the extremes
]


def _js_draw(draw: Draw) -> dict[str, Any]:
    """training's Draw with the page's names (camelCase)."""
    names = {"flip_horizontal": "flipHorizontal", "flip_vertical": "flipVertical", "crop_top": "cropTop",
             "crop_left": "cropLeft", "crop_fraction": "cropFraction"}  # fmt: skip
    return {names.get(k, k): v for k, v in asdict(draw).items()}


@pytest.mark.parametrize("draw", DRAWS, ids=[f"draw{i}" for i in range(len(DRAWS))])
def test_an_augmented_view_equals_trainings_for_the_same_draw(origin_page: Any, draw: Draw):
    data, folder = training_set()
    pixels = load_rgb(folder / data.rows[7]["path"])  # full size, as both sides augment
    height, width = pixels.shape[:2]
    want = resize_area(apply_draw(pixels, draw), SIZE)
    got = call(
        origin_page,
        "augment.js",
        "const s = atob(a[0]); const px = new Uint8Array(s.length);"
        "for (let i = 0; i < s.length; i++) px[i] = s.charCodeAt(i);"
        "const palette = m.imagePalette(px, a[1], a[2], {channels: 3, order: 'RGB'});"
        "const view = m.augmentedView(palette, a[3], a[4]);"
        "return Array.from(view);",
        base64.b64encode(pixels.tobytes()).decode(),
        height,
        width,
        _js_draw(draw),
        SIZE,
    )
    got = np.asarray(got, np.float32).reshape(want.shape)
    assert np.abs(got - want).max() < 1e-3, np.abs(got - want).max()


def test_draws_are_seeded_and_within_the_papers_ranges(origin_page: Any):
    got = call(
        origin_page,
        "augment.js",
        "const r = await import('/static/js/train/random.js');"
        "const draws = (seed) => { const g = r.randomGenerator(seed); return Array.from({length: 400}, () =>"
        " m.drawAugmentation(g)); };"
        "return {a: draws(3), b: draws(3), c: draws(4)};",
    )
    assert got["a"] == got["b"] and got["a"] != got["c"]
    draws = got["a"]
    assert {d["rotations"] for d in draws} == {0, 1, 2, 3}
    assert 0.4 < np.mean([d["flipHorizontal"] for d in draws]) < 0.6
    for key, low, high in [("brightness", -0.2, 0.2), ("saturation", 0.6, 1.6), ("contrast", 0.7, 1.3),
                           ("hue", -0.08, 0.08), ("cropTop", 0, 1)]:  # fmt: skip
        values = [d[key] for d in draws]
        assert (
            low <= min(values) < low + 0.1 * (high - low) and high - 0.1 * (high - low) < max(values) < high
        )


def test_the_page_draws_from_trainings_stream(origin_page: Any):
    seeds = [[0], [7, 4000000000, 123], [-5, 2**31]]
    got = call(
        origin_page,
        "random.js",
        "return { draws: a[0].map((seed) => { const g = m.randomGenerator(...seed);"
        "  return Array.from({length: 50}, () => g()); }),"
        " head: (() => { const g = m.headRandom([2, 3]);"
        "  const kernel = Array.from(m.glorotUniform(g, 40, 10));"
        "  return { kernel, order: Array.from(m.batchOrder(g, 300)) };"
        " })() };",
        seeds,
    )
    for seed, draws in zip(seeds, got["draws"], strict=True):
        assert draws == RandomStream(*seed).uniforms(50).tolist()
    stream = head_stream(2, 3)
    np.testing.assert_array_equal(
        np.asarray(got["head"]["kernel"], np.float32), glorot_uniform(stream, 40, 10).ravel()
    )
    assert got["head"]["order"] == batch_order(stream, 300).tolist()


def test_the_pages_views_of_a_file_are_trainings_views(origin_page: Any, fixture: Fixture):
    """views.js imageViews and training's image_views: the same draws from the same image stream, the same
    rule (a second reduced decode area-resized to the augmentation square, crops of it). Chromium's and
    Pillow's JPEG decoders at 1/8 scale are bit-identical here (measured: max |Δ| 0), so only float rounding
    is allowed."""
    image = fixture.files[3]
    side = augmentation_side(SIZE, Augmentation().crop_fraction)
    assert jpeg_reduction(*Image.open(image).size, SIZE) == jpeg_reduction(*Image.open(image).size, side)
    n_views, seed = 5, 3  # one JPEG scale for both sides: the page reuses view 0's decode (as training)
    want = image_views(image, ViewSpec(n_views=n_views, size=SIZE, seed=seed))
    got = call(
        origin_page,
        "views.js",
        "const s = atob(a[0]); const bytes = new Uint8Array(s.length);"
        "for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);"
        "const file = new File([bytes], a[1], { type: 'image/jpeg' });"
        "const view0 = new Float32Array(a[2] * a[2] * 3);"
        "const views = await m.imageViews(file, view0, a[2], {nViews: a[3], seed: a[4]});"
        "const d = await import('/static/js/decode.js');"  # view 0's decode, as worker.js hands it on
        "const decoded = await d.decodeImage(file, {reduceFor: a[2], grey: true});"
        "const reused = await m.imageViews(file, view0, a[2], {nViews: a[3], seed: a[4], decoded});"
        "if (reused.some((x, i) => x !== views[i])) throw new Error('views from the reused decode differ');"
        "return Array.from(views.subarray(a[2] * a[2] * 3));",
        base64.b64encode(image.read_bytes()).decode(),
        image.name,
        SIZE,
        n_views,
        seed,
    )
    got = np.asarray(got, np.float32).reshape(want[1:].shape)
    difference = np.abs(got - want[1:])
    print(f"page vs training views: mean |Δ| {difference.mean():.4f}, max {difference.max():.3f} grey levels")
    assert difference.max() < 1e-3, (difference.mean(), difference.max())
    other = image_views(image, ViewSpec(n_views=n_views, size=SIZE, seed=seed + 1))[1:]
    assert np.abs(got - other).mean() > 1.0  # another seed draws other views
    assert image_stream(seed, "00" * 32).random() != image_stream(seed + 1, "00" * 32).random()


def test_the_workers_give_view_0_as_scoring_and_seeded_augmented_views(
    origin_page: Any, server: Server, fixture: Fixture
):
    with urllib.request.urlopen(server.url + "/api/models", timeout=10) as response:
        card = next(c for c in json.loads(response.read())["models"] if c["id"] == MODEL_A)
    image = fixture.files[3]
    got = origin_page.evaluate(
        """async ([card, b64, name]) => {
          const { WorkerPool } = await import('/static/js/pool.js');
          const { computeFeatures } = await import('/static/js/train/features.js');
          const s = atob(b64); const bytes = new Uint8Array(s.length);
          for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
          const file = new File([bytes], name, { type: 'image/jpeg' });
          const pool = new WorkerPool({ size: 1 });
          await pool.load({ backend: 'wasm', wasmPath: '/static/vendor/', model: {
            backboneUrl: card.backbone_url, headUrl: card.head_url, headFormat: card.head.format,
            size: card.input.size, reference: card.verification.reference } });
          const scored = await pool.score(file);
          const progress = [];
          const once = await computeFeatures(pool, [file, file], { nViews: 3, seed: 0 },
            { onProgress: (p) => progress.push(p.done) });
          const other = await computeFeatures(pool, [file], { nViews: 3, seed: 1 });
          const reply = await pool.features(file, { nViews: 1, seed: 0 });
          for (const w of pool.workers) w.terminate();
          return { scored: Array.from(scored.features), views: Array.from(once.features),
                   other: Array.from(other.features), nFeatures: once.nFeatures, progress,
                   stats: once.stats[0], scoredStats: scored.stats, image: reply.image,
                   scoredImage: scored.image, scales: once.scales };
        }""",
        [card, base64.b64encode(image.read_bytes()).decode(), image.name],
    )
    f = got["nFeatures"]
    views = np.asarray(got["views"]).reshape(2, 3, f)
    other = np.asarray(got["other"]).reshape(3, f)
    np.testing.assert_array_equal(views[0, 0], np.asarray(got["scored"], np.float32))  # view 0 = scoring
    np.testing.assert_array_equal(views[0], views[1])  # seeded by the content: the same file, the same views
    np.testing.assert_array_equal(other[0], views[0, 0])
    assert np.abs(other[1:] - views[0, 1:]).max() > 1e-3  # another seed, other draws
    assert all(np.abs(views[0, v] - views[0, 0]).max() > 1e-3 for v in (1, 2))  # augmented
    assert got["progress"] == [1, 2] and got["stats"] == got["scoredStats"]
    # what the file says about itself, as scoring reads it: a JPEG records no pixel size
    assert got["image"] == got["scoredImage"] and got["image"]["pixel_size"] is None
    jpeg = {"widthPx": 320, "heightPx": 270, "pixelSizeUm": None, "pixelSizeSource": None, "objective": None}
    assert got["scales"] == [jpeg, jpeg]
