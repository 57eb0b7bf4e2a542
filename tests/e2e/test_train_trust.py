"""The trust block of a model trained in the page (static/js/train/trust.js) equals the one training builds
(training/trust/ood.py fit_ood, fit_image_stats) from the same features and image statistics."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.e2e.test_train_head import FLOATS_JS, _floats, call
from tests.e2e.train_data import training_set
from training.trust.ood import fit_image_stats, fit_ood, ood_scores

pytestmark = pytest.mark.e2e


def test_the_feature_block_equals_trainings(origin_page: Any):
    data, _ = training_set()
    train = data.features[data.rows_of("train"), 0]
    held = data.features[data.rows_of("val"), 0]
    want = fit_ood(train, held)
    got = call(
        origin_page,
        "trust.js",
        FLOATS_JS + "return m.fitOod(floats(a[0]), floats(a[1]), a[2]);",
        _floats(train),
        _floats(held),
        train.shape[1],
    )
    assert got["n_components"] == want["n_components"] == 16
    assert (
        (got["n_train"], got["n_heldout"]) == (want["n_train"], want["n_heldout"]) == (len(train), len(held))
    )
    np.testing.assert_allclose(got["mean"], want["mean"], rtol=2e-4, atol=1e-6)
    # The leading components are well separated; the last ones of a 77-image PCA less so: compare what the
    # page computes from them, the distances and residuals of new images, and the quantiles.
    np.testing.assert_allclose(got["components"][:8], want["components"][:8], atol=2e-3)
    test = data.features[data.rows_of("test"), 0]
    for mine, theirs in zip(ood_scores(got, test), ood_scores(want, test), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-2)
    for key in ("distance_quantiles", "residual_quantiles"):
        np.testing.assert_allclose(got[key], want[key], rtol=1e-2)


def test_the_image_stat_ranges_equal_trainings(origin_page: Any):
    rng = np.random.default_rng(0)
    ranges = {"mean_grey": (150, 190), "contrast": (10, 30), "colourfulness": (0, 3), "focus": (50, 400),
              "dark_fraction": (0, 0.01)}  # fmt: skip
    stats = [{name: rng.uniform(*span) for name, span in ranges.items()} for _ in range(40)]
    got = call(origin_page, "trust.js", "return m.fitImageStats(a[0]);", stats)
    want = fit_image_stats(stats)
    assert got.pop("n_images") == want.pop("n_images") == 40
    assert got.keys() == want.keys()
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-9)
