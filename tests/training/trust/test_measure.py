"""The flag measurement flags as the page does: own-distribution wells rarely, other images nearly always."""

import numpy as np

from tests.e2e.conftest import well_image
from training.trust.measure import flag_table_markdown, flag_wells, non_microscopy_images
from training.trust.ood import fit_image_stats, fit_ood, image_stats


def _wells(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.stack([well_image(int(rng.integers(30, 200)), width=64, height=64, rng=rng) for _ in range(n)])


def test_right_distribution_is_rarely_flagged_and_other_images_always() -> None:
    rng = np.random.default_rng(0)
    centre = np.abs(rng.normal(size=32))
    feats = {
        k: centre + rng.normal(0, 0.1, (n, 32)) for k, n in [("train", 300), ("held", 200), ("new", 200)]
    }
    inputs = _wells(rng, 40).astype(np.float32)
    ood = {
        "features": fit_ood(feats["train"], feats["held"], n_components=8),
        "image_stats": fit_image_stats([image_stats(x) for x in inputs[:30]]),
    }
    same = flag_wells(ood, feats["new"][:10], inputs[30:40])
    assert same.mean() <= 0.2
    other = flag_wells(ood, centre + 1.0 + rng.normal(0, 0.1, (10, 32)), inputs[30:40])
    assert other.all()
    for kind, fake in non_microscopy_images(64, rng, n_each=3).items():
        assert flag_wells(ood, feats["new"][:3], fake).all(), kind


def test_flag_table_marks_the_right_model() -> None:
    text = flag_table_markdown({("A549", "A549-M"): 0.02, ("A549", "HEK293-M"): 1.0}, ["A549-M", "HEK293-M"],
                               ["A549"], {"A549-M": "A549", "HEK293-M": "HEK293"})  # fmt: skip
    assert "| A549 | 2 % (right model) | 100 % |" in text


def test_a_rival_card_that_describes_the_wells_better_flags_them() -> None:
    rng = np.random.default_rng(1)
    a, b = np.abs(rng.normal(size=32)), np.abs(rng.normal(size=32))
    b = a + 0.25 * (b - a)  # close enough that a's 99th percentile still covers many of b's wells
    block = {
        name: fit_ood(c + rng.normal(0, 0.1, (300, 32)), c + rng.normal(0, 0.1, (200, 32)), n_components=8)
        for name, c in [("a", a), ("b", b)]
    }
    inputs = _wells(rng, 20).astype(np.float32)
    ranges = fit_image_stats([image_stats(x) for x in inputs])
    wells_b = b + rng.normal(0, 0.1, (20, 32))
    alone = flag_wells({"features": block["a"], "image_stats": ranges}, wells_b, inputs)
    with_rival = flag_wells(
        {"features": block["a"], "image_stats": ranges}, wells_b, inputs, [{"features": block["b"]}]
    )
    assert with_rival.mean() >= 0.95 and with_rival.sum() >= alone.sum()
    wells_a = a + rng.normal(0, 0.1, (20, 32))
    right = flag_wells(
        {"features": block["a"], "image_stats": ranges}, wells_a, inputs, [{"features": block["b"]}]
    )
    assert right.mean() <= 0.1
