"""training.attribution: occlusion maps (numpy predictors, no TensorFlow)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from training.attribution import attribution_figure, cell_edges, occlusion_map


def _top_left_darkness(x: np.ndarray) -> np.ndarray:
    """A 'model' whose OD450 is the darkness of the top-left quarter only: (N, S, S, 3) → (N, 1)."""
    s = x.shape[1] // 2
    return (255.0 - x[:, :s, :s].mean(axis=(1, 2, 3)))[:, None] / 255.0


def test_only_cells_the_model_looks_at_change_the_prediction():
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (32, 32, 3)).astype(np.float32)
    image[:16, :16] = 20.0  # dark (high OD) where the model looks
    m = occlusion_map(_top_left_darkness, image, grid=4, batch=3)
    assert m.shape == (4, 4)
    assert np.all(m[:2, :2] > 0.01)  # covering dark cells with the (brighter) mean lowers the OD450
    outside = np.ones((4, 4), bool)
    outside[:2, :2] = False
    assert np.allclose(m[outside], 0.0, atol=1e-6)


def test_map_does_not_depend_on_the_batch_size():
    image = np.random.default_rng(1).uniform(0, 255, (24, 24, 3))
    a = occlusion_map(_top_left_darkness, image, grid=6, batch=1)
    b = occlusion_map(_top_left_darkness, image, grid=6, batch=64)
    np.testing.assert_allclose(a, b)


def test_cell_edges_cover_the_input_without_gaps():
    e = cell_edges(224, 8)
    assert e[0] == 0 and e[-1] == 224 and np.all(np.diff(e) == 28)
    assert list(cell_edges(10, 3)) == [0, 3, 6, 10]
    with pytest.raises(ValueError, match="grid must be"):
        cell_edges(10, 11)


def test_figure_renders_a_png_for_several_wells():
    rng = np.random.default_rng(2)
    images = [rng.uniform(0, 255, (32, 32, 3)) for _ in range(5)]
    fig = attribution_figure(_top_left_darkness, images, [f"well {i}" for i in range(5)], grid=4, columns=3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=50)
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(fig.axes) == 7  # 2 × 3 panels + the colour bar


def test_series_figure_writes_a_png_for_a_dose_series(tmp_path):
    import pandas as pd
    from PIL import Image

    from training.attribution import series_figure

    class Brightness:  # a stand-in model: OD450 = mean brightness / 100
        input_shape = (None, 32, 32, 3)

        def predict(self, x, verbose=0):
            return np.asarray(x).mean(axis=(1, 2, 3))[:, None] / 100

    paths = []
    for i, level in enumerate([200, 120, 40]):
        path = tmp_path / f"w{i}.png"
        Image.fromarray(np.full((40, 48, 3), level, np.uint8)).save(path)
        paths.append(path)
    rows = pd.DataFrame({"path": paths, "concentration_um": [0.0, 1.0, 0.1], "od450": [2.0, 0.4, 1.2]})
    out = series_figure(Brightness(), rows, tmp_path / "maps.png", grid=4, columns=3)
    with Image.open(out) as img:
        assert img.width > 300 and img.height > 100
