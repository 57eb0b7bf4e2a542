"""Splits by dose series, the paper's augmentation parameters, and the model-input views."""

from __future__ import annotations

import colorsys

import numpy as np
import pandas as pd
import pytest

from training.dataset import (
    Augmentation,
    Draw,
    SeriesSplit,
    adjust_contrast,
    adjust_hue,
    adjust_saturation,
    apply_draw,
    augment,
    augmentation_side,
    cv_folds,
    fold_split,
    make_views,
    split_series,
)
from training.dataset import _draw as draw_parameters
from training.preprocess import resize_area
from training.stream import RandomStream

CONCENTRATIONS = [0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 100]


def paper_manifest(lines=("A549", "HEK293", "NCI-H1975"), plates=3, replicates=8) -> pd.DataFrame:
    """The paper's design: per cell line 3 plates × 8 replicate series × 11 concentrations (264 images)."""
    rows = []
    for line in lines:
        for plate in range(1, plates + 1):
            for rep in "ABCDEFGH"[:replicates]:
                for conc in CONCENTRATIONS:
                    rows.append(
                        {
                            "cell_line": line,
                            "plate": f"{line}-p{plate}",
                            "series": f"{line}-P{plate}-{rep}",
                            "concentration_um": conc,
                            "od450": 1.0,
                        }
                    )
    return pd.DataFrame(rows)


def test_paper_split_is_18_plus_6_series_per_cell_line_and_never_cuts_a_series():
    manifest = paper_manifest()
    split = split_series(manifest, n_val=4, seed=0)
    line_of = manifest.groupby("series")["cell_line"].first()
    for line in ("A549", "HEK293", "NCI-H1975"):
        test = [s for s in split.test if line_of[s] == line]
        trainval = [s for s in split.train + split.val if line_of[s] == line]
        assert len(test) == 6
        assert len(trainval) == 18
        assert len([s for s in split.val if line_of[s] == line]) == 4
        assert len(manifest[manifest["series"].isin(trainval)]) == 198  # the paper's 198 / 66 images
    assert not set(split.train) & set(split.test)
    assert not set(split.val) & set(split.test)
    assert not set(split.train) & set(split.val)
    assert set(split.train) | set(split.val) | set(split.test) == set(manifest["series"])


def test_test_series_are_spread_over_plates():
    manifest = paper_manifest(lines=("A549",))
    split = split_series(manifest, seed=3)
    plates = manifest.drop_duplicates("series").set_index("series").loc[list(split.test), "plate"]
    assert plates.value_counts().tolist() == [2, 2, 2]


def test_split_is_a_function_of_the_seed():
    manifest = paper_manifest()
    assert split_series(manifest, seed=1) == split_series(manifest.sample(frac=1, random_state=5), seed=1)
    assert split_series(manifest, seed=1).test != split_series(manifest, seed=2).test


def test_split_refuses_too_few_series():
    with pytest.raises(ValueError, match="A549"):
        split_series(paper_manifest(lines=("A549",), plates=1, replicates=3), n_test=2, n_val=1)


def test_series_split_rejects_overlap():
    with pytest.raises(ValueError, match="two of"):
        SeriesSplit(("a", "b"), ("c",), ("b",))


def test_four_folds_cover_every_series_once_stratified_by_cell_line():
    manifest = paper_manifest()
    folds = cv_folds(manifest, k=4, seed=0)
    assert len(folds) == 4
    flat = [s for fold in folds for s in fold]
    assert sorted(flat) == sorted(manifest["series"].unique())
    line_of = manifest.groupby("series")["cell_line"].first()
    for fold in folds:
        assert line_of[list(fold)].value_counts().tolist() == [6, 6, 6]


def test_fold_split_tests_on_the_fold_and_trains_on_the_rest():
    manifest = paper_manifest(lines=("A549",))
    folds = cv_folds(manifest, k=4, seed=0)
    for i, fold in enumerate(folds):
        split = fold_split(manifest, folds, i, n_val=2)
        assert set(split.test) == set(fold)
        assert len(split.val) == 2 and len(split.train) == 16


def test_augmentation_defaults_are_the_papers():
    aug = Augmentation()
    assert (aug.rotate90, aug.flip_horizontal, aug.flip_vertical) == (True, True, True)
    assert aug.crop_fraction == 0.7
    assert aug.brightness == 0.2
    assert aug.saturation == (0.6, 1.6)
    assert aug.contrast == (0.7, 1.3)
    assert aug.hue == 0.08


@pytest.mark.parametrize(
    "kwargs",
    [
        {"crop_fraction": 0},
        {"crop_fraction": 1.2},
        {"brightness": -0.1},
        {"hue": 0.6},
        {"saturation": (1.6, 0.6)},
    ],
)
def test_augmentation_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        Augmentation(**kwargs)


def test_random_draws_stay_in_the_papers_ranges():
    rng = RandomStream(0)
    draws = [draw_parameters(Augmentation(), rng) for _ in range(2000)]
    assert {d.rotations for d in draws} == {0, 1, 2, 3}
    assert 0.4 < np.mean([d.flip_horizontal for d in draws]) < 0.6
    for name, lo, hi in (
        ("brightness", -0.2, 0.2),
        ("saturation", 0.6, 1.6),
        ("contrast", 0.7, 1.3),
        ("hue", -0.08, 0.08),
    ):
        values = np.array([getattr(d, name) for d in draws])
        assert values.min() >= lo and values.max() <= hi
        assert values.min() < lo + 0.05 * (hi - lo) and values.max() > hi - 0.05 * (
            hi - lo
        )  # the whole range is used


def test_crop_is_70_percent_of_each_side_like_the_paper():
    image = np.zeros((2160, 2560, 3), np.uint8)
    neutral = Draw(0, False, False, 0.5, 0.5, 0.7, 0.0, 1.0, 1.0, 0.0)
    assert apply_draw(image, neutral).shape == (1512, 1792, 3)
    turned = Draw(1, False, False, 0.5, 0.5, 0.7, 0.0, 1.0, 1.0, 0.0)
    assert apply_draw(image, turned).shape == (1792, 1512, 3)


def test_geometry_crops_turns_and_flips_the_right_pixels():
    image = np.arange(10 * 20 * 3, dtype=np.uint8).reshape(10, 20, 3)
    draw = Draw(1, True, True, 1.0, 0.0, 0.5, 0.0, 1.0, 1.0, 0.0)
    expected = np.rot90(image[5:10, 0:10], 1)[::-1, ::-1]
    np.testing.assert_array_equal(apply_draw(image, draw), expected.astype(np.float32))


def _hsv_reference(pixels: np.ndarray, *, saturation: float = 1.0, hue: float = 0.0) -> np.ndarray:
    out = np.empty_like(pixels)
    for idx in np.ndindex(pixels.shape[:2]):
        h, s, v = colorsys.rgb_to_hsv(*(pixels[idx] / 255.0))
        out[idx] = np.array(colorsys.hsv_to_rgb((h + hue) % 1.0, min(s * saturation, 1.0), v)) * 255.0
    return out


@pytest.mark.parametrize("factor", [0.6, 1.0, 1.6, 3.0])
def test_saturation_matches_the_hsv_definition(factor):
    pixels = np.random.default_rng(1).uniform(0, 255, (12, 9, 3)).astype(np.float32)
    pixels[0] = 100.0  # grey pixels
    np.testing.assert_allclose(
        adjust_saturation(pixels, factor), _hsv_reference(pixels, saturation=factor), atol=2e-3
    )


@pytest.mark.parametrize("delta", [-0.08, 0.03, 0.08, 0.5])
def test_hue_matches_the_hsv_definition(delta):
    pixels = np.random.default_rng(2).uniform(0, 255, (12, 9, 3)).astype(np.float32)
    pixels[0] = 77.0
    np.testing.assert_allclose(adjust_hue(pixels, delta), _hsv_reference(pixels, hue=delta), atol=2e-3)


def test_contrast_scales_the_distance_from_each_channels_mean():
    pixels = np.random.default_rng(3).uniform(50, 200, (8, 8, 3)).astype(np.float32)
    mean = pixels.mean(axis=(0, 1))
    np.testing.assert_allclose(adjust_contrast(pixels, 1.3), (pixels - mean) * 1.3 + mean, rtol=1e-5)


def test_colour_steps_of_a_draw_compose_like_the_single_functions():
    pixels = np.random.default_rng(4).integers(0, 256, (30, 40, 3)).astype(np.uint8)
    draw = Draw(0, False, False, 0.0, 0.0, 1.0, 0.1, 1.4, 1.2, 0.05)
    bright = np.clip(pixels.astype(np.float32) + 0.1 * 255, 0, 255)
    expected = adjust_hue(adjust_saturation(adjust_contrast(bright, 1.2), 1.4), 0.05)
    np.testing.assert_allclose(apply_draw(pixels, draw), expected, atol=1e-3)


def test_view_zero_is_the_plain_image_and_the_rest_are_augmented():
    image = np.random.default_rng(5).integers(0, 256, (90, 120, 3)).astype(np.uint8)
    views = make_views(image, n_views=4, rng=RandomStream(0), size=32)
    assert views.shape == (4, 32, 32, 3) and views.dtype == np.float32
    np.testing.assert_array_equal(views[0], resize_area(image, 32))
    for view in views[1:]:
        assert np.abs(view - views[0]).mean() > 1.0
    again = make_views(image, n_views=4, rng=RandomStream(0), size=32)
    np.testing.assert_array_equal(views, again)


def test_augmented_values_stay_in_0_255():
    image = np.random.default_rng(6).integers(0, 256, (40, 50, 3)).astype(np.uint8)
    rng = RandomStream(7)
    for _ in range(20):
        out = augment(
            image, Augmentation(brightness=0.5, contrast=(0.2, 3.0), saturation=(0.0, 4.0), hue=0.5), rng
        )
        assert out.min() >= 0.0 and out.max() <= 255.0


def test_no_augmentation_gives_identical_views():
    image = np.random.default_rng(8).integers(0, 256, (40, 50, 3)).astype(np.uint8)
    views = make_views(image, n_views=3, rng=RandomStream(0), augmentation=Augmentation.none(), size=16)
    np.testing.assert_allclose(views[1], views[0], atol=1e-3)
    np.testing.assert_allclose(views[2], views[0], atol=1e-3)


@pytest.mark.parametrize(("size", "crop", "side"), [(224, 0.7, 320), (160, 0.7, 229), (64, 1.0, 64)])
def test_augmentation_side_is_the_input_over_the_crop_fraction(size, crop, side):
    assert augmentation_side(size, crop) == side


@pytest.mark.parametrize("size", [16, 37, 160, 224, 299])
@pytest.mark.parametrize("crop", [0.3, 0.55, 0.7, 0.93, 1.0])
def test_a_crop_of_the_square_is_exactly_the_input_size(size, crop):
    side = augmentation_side(size, crop)
    square = np.zeros((side, side, 3), np.float32)
    for corner in (0.0, 0.37, 1.0):
        draw = Draw(1, True, False, corner, 1.0 - corner, crop, 0.0, 1.0, 1.0, 0.0)
        assert apply_draw(square, draw).shape == (size, size, 3)


def test_cropping_the_area_resized_square_gives_the_area_resized_crop():
    """Each pixel of a view averages the same footprint of the image as if the crop had been resized."""
    size, side = 14, augmentation_side(14, 0.7)  # 20 px: the image below is 3 × 2 times as large
    image = np.random.default_rng(10).integers(0, 256, (3 * side, 2 * side, 3)).astype(np.uint8)
    square = resize_area(image, side)
    for top, left in [(0, 0), (6, 2), (3, 6)]:
        crop = image[3 * top : 3 * (top + size), 2 * left : 2 * (left + size)]
        np.testing.assert_allclose(
            square[top : top + size, left : left + size], resize_area(crop, size), atol=1e-3
        )


def test_augmented_views_come_from_the_source_and_view_zero_from_the_plain_decode():
    rng = np.random.default_rng(11)
    plain = rng.integers(0, 256, (27, 32, 3)).astype(np.uint8)
    source = rng.integers(0, 256, (54, 64, 3)).astype(np.uint8)
    none = Augmentation.none()
    views = make_views(plain, n_views=3, rng=RandomStream(11), augmentation=none, size=16, source=source)
    np.testing.assert_array_equal(views[0], resize_area(plain, 16))
    np.testing.assert_allclose(views[1], resize_area(source, 16), atol=1e-3)
    np.testing.assert_allclose(views[2], resize_area(source, 16), atol=1e-3)
