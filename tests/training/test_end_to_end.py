"""simulate → train → evaluate → cv → export → load the TF.js model in Chromium: the CLI on a tiny set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from training.cli import main as cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    """4 dose series × 11 concentrations of small synthetic images (one plate)."""
    from training.simulate import simulate_dataset

    folder = tmp_path_factory.mktemp("e2e") / "data"
    simulate_dataset(
        folder, cell_line="A549", seed=0, image_size=(128, 108), plates=1, replicates=4, progress=False
    )
    return folder


def test_train_evaluate_cv_export_and_load_in_the_browser(tiny_data, tmp_path, monkeypatch):
    monkeypatch.setenv("NOSTAIN_CACHE", str(tmp_path / "cache"))
    run = tmp_path / "runs" / "tiny"
    common = ["--weights", "none", "--size", "32", "--views", "2", "--val-series", "1", "--epochs", "5"]
    assert cli(["train", str(tiny_data), "--out", str(run), "--test-series", "1", *common]) == 0
    config = json.loads((run / "config.json").read_text())
    assert (run / "model.h5").is_file() and (run / "history.csv").is_file()
    split = config["split"]
    assert (len(split["train"]), len(split["val"]), len(split["test"])) == (2, 1, 1)
    assert config["data"]["synthetic"] is True and config["data"]["n_images"] == 33
    assert config["versions"]["tf_keras"].startswith("2.")
    assert len(list((tmp_path / "cache" / "features").rglob("*.npz"))) == 33  # features cached per image

    evaluation = tmp_path / "eval"
    assert cli(["evaluate", "--model", str(run), "--data", str(tiny_data), "--out", str(evaluation)]) == 0
    result = json.loads((evaluation / "evaluation.json").read_text())
    (entry,) = result["evaluations"]
    assert entry["test_series"] == split["test"] and entry["autologous"] is True
    assert entry["table1"]["n_images"] == 11 and entry["table2"]["n_series"] == 1
    assert (evaluation / "evaluation.md").read_text().count("synthetic") >= 1
    assert {Path(p).name.split("_")[0] for p in result["plots"]} == {"scatter", "hill", "tsne"}
    assert all((evaluation / p).stat().st_size > 1000 for p in result["plots"])

    cv_dir = tmp_path / "cv"
    assert cli(["cv", str(tiny_data), "--out", str(cv_dir), *common]) == 0
    cv = json.loads((cv_dir / "cv.json").read_text())
    assert cv["n_folds"] == 4 and sorted(s for f in cv["folds"] for s in f["test_series"]) == sorted(
        split["train"] + split["val"] + split["test"]
    )

    models = tmp_path / "models"
    args = ["export", str(run), "--id", "tiny-m", "--name", "Tiny-M", "--out", str(models)]
    assert cli([*args, "--evaluation", str(evaluation / "evaluation.json")]) == 0
    card = json.loads((models / "tiny-m" / "card.json").read_text())
    assert card["synthetic"] is True and "synthetic" in card["summary"]
    assert card["schema"] == "nostain.model-card/2" and card["head"]["format"] == "tfjs_graph_model"
    backbone = models / "backbones" / card["backbone"]["id"]
    described = json.loads((backbone / "backbone.json").read_text())
    assert described["fingerprint"] == card["backbone"]["fingerprint"]
    # trained on a float16-exact backbone, stored as float16 without loss (checked at the float32 tolerance)
    assert card["quantization"] == described["quantization"] == "float16"
    assert "float16_exact" in card["weights_origin"]
    assert card["evaluation"]["n_test_images"] == 11
    assert card["verification"]["max_abs_diff_od450"] <= 1e-3
    assert card["weights_origin"].startswith("random")
    assert "2 series" in card["ood"]["reference"]  # described from the run's own training series

    from app.registry import load_registry

    registry = load_registry(models)
    assert [m.id for m in registry.models] == ["tiny-m"] and not registry.problems

    # Load the exported backbone + head back (TF.js in Chromium) on a real image of the data set.
    from training.preprocess import preprocess
    from training.runs import load_run
    from training.tfjs_check import run_in_browser

    image = sorted(tiny_data.rglob("*.jpg"))[0]
    pixels = preprocess(image, 32)[None]
    browser = run_in_browser(backbone, pixels, head_dir=models / "tiny-m" / "head")
    model, _ = load_run(run)
    np.testing.assert_allclose(browser.outputs[0], model.predict(pixels, verbose=0), atol=1e-3)
