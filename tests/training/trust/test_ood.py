"""training.trust.ood: feature-space OOD block and bright-field image statistics."""

from __future__ import annotations

import json

import numpy as np
import pytest

from training.trust.ood import (
    QUANTILES,
    fit_image_stats,
    fit_ood,
    image_stats,
    is_brightfield,
    ood_scores,
)


def _cluster(rng: np.random.Generator, n: int, centre: np.ndarray) -> np.ndarray:
    """Features on a low-dimensional manifold around ``centre`` (like pooled backbone features)."""
    basis = np.random.default_rng(7).normal(size=(6, centre.size))
    return centre + rng.normal(size=(n, 6)) @ basis * 0.3 + rng.normal(0, 0.02, (n, centre.size))


@pytest.fixture
def clusters() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    a = np.abs(np.random.default_rng(1).normal(size=64))
    b = a + np.random.default_rng(2).normal(0, 0.5, size=64)
    return {
        "train": _cluster(rng, 200, a),
        "heldout": _cluster(rng, 200, a),
        "same": _cluster(rng, 300, a),
        "other": _cluster(rng, 100, b),
    }


def test_block_is_json_ready_and_has_the_documented_shapes(clusters):
    block = fit_ood(clusters["train"], clusters["heldout"], n_components=8)
    again = json.loads(json.dumps(block))
    assert again == block
    assert block["n_components"] == 8
    assert np.shape(block["mean"]) == (64,)
    assert np.shape(block["components"]) == (8, 64)
    assert np.shape(block["precision"]) == (8, 8)
    assert block["quantiles"] == list(QUANTILES)
    assert np.all(np.diff(block["distance_quantiles"]) >= 0)
    assert np.all(np.diff(block["residual_quantiles"]) >= 0)


def test_images_of_the_training_kind_are_rarely_beyond_the_99th_percentile(clusters):
    block = fit_ood(clusters["train"], clusters["heldout"], n_components=8)
    d, r = ood_scores(block, clusters["same"])
    flagged = (d > block["distance_quantiles"][2]) | (r > block["residual_quantiles"][2])
    assert flagged.mean() <= 0.05


def test_images_of_another_kind_are_flagged(clusters):
    block = fit_ood(clusters["train"], clusters["heldout"], n_components=8)
    d, r = ood_scores(block, clusters["other"])
    flagged = (d > block["distance_quantiles"][2]) | (r > block["residual_quantiles"][2])
    assert flagged.mean() >= 0.95


def test_distance_equals_the_mahalanobis_formula_on_one_vector(clusters):
    block = fit_ood(clusters["train"], clusters["heldout"], n_components=4)
    x = clusters["other"][0]
    mean, comps, prec = (np.asarray(block[k]) for k in ("mean", "components", "precision"))
    s = comps @ (x - mean)
    d, r = ood_scores(block, x)
    assert d[0] == pytest.approx(np.sqrt(s @ prec @ s), rel=1e-12)
    assert r[0] == pytest.approx(np.linalg.norm((x - mean) - s @ comps), rel=1e-12)


def test_components_are_capped_by_the_number_of_training_images(clusters):
    block = fit_ood(clusters["train"][:5], clusters["heldout"], n_components=16)
    assert block["n_components"] == 4


@pytest.mark.parametrize(
    ("train", "heldout", "match"),
    [
        (np.zeros((5, 3)), np.zeros((2, 4)), "heldout_features must have 3"),
        (np.zeros(5), np.zeros((2, 5)), "train_features must have shape"),
        (np.zeros((2, 3)), np.zeros((2, 3)), "at least 3 rows"),
        (np.full((5, 3), np.nan), np.zeros((2, 3)), "finite"),
    ],
)
def test_bad_feature_arrays_are_refused(train, heldout, match):
    with pytest.raises(ValueError, match=match):
        fit_ood(train, heldout)


def _brightfield(rng: np.random.Generator) -> np.ndarray:
    from tests.e2e.conftest import well_image

    return well_image(int(rng.integers(30, 200)), width=96, height=96, rng=rng).astype(np.float32)


def test_image_stats_formulas_on_a_known_image():
    img = np.zeros((4, 5, 3))
    img[..., 0] = 100.0  # grey 29.9, chroma 100
    img[1, 2] = 255.0  # one white pixel: Laplacian −4·(255−29.9) there
    s = image_stats(img)
    grey = np.full((4, 5), 29.9)
    grey[1, 2] = 255.0
    assert s["mean_grey"] == pytest.approx(grey.mean())
    assert s["contrast"] == pytest.approx(grey.std())
    assert s["colourfulness"] == pytest.approx(19 * 100 / 20)
    assert s["dark_fraction"] == 0.0
    d = 255 - 29.9  # interior 2×3 (rows 1–2, columns 1–3): the white pixel at (0, 1), 3 of its neighbours
    interior = np.array([[d, -4 * d, d], [0.0, d, 0.0]])
    assert s["focus"] == pytest.approx(interior.var())


def test_brightfield_wells_pass_and_other_pictures_fail():
    rng = np.random.default_rng(3)
    ranges = fit_image_stats([image_stats(_brightfield(rng)) for _ in range(20)])
    ok, reasons = is_brightfield(image_stats(_brightfield(rng)), ranges)
    assert ok and reasons == []
    blank = np.full((96, 96, 3), 200.0)
    fluorescence = np.zeros((96, 96, 3))
    fluorescence[40:50, 40:50, 1] = 250.0
    photo = rng.uniform(0, 255, (96, 96, 3))
    for name, img in {"blank": blank, "fluorescence": fluorescence, "photo": photo}.items():
        ok, reasons = is_brightfield(image_stats(img), ranges)
        assert not ok, name
        assert all("training range" in r for r in reasons)
    _, reasons = is_brightfield(image_stats(fluorescence), ranges)
    assert any(r.startswith("fraction of near-black pixels") for r in reasons)


def test_image_stats_refuses_a_grey_2d_array():
    with pytest.raises(ValueError, match="pixels must have shape"):
        image_stats(np.zeros((10, 10)))
