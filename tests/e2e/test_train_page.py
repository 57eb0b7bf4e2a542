"""Issue 15's end-to-end test: a lab trains its own model in the page's "Train a model" view and uses it.

A cell line the app ships no model for (the simulator's MCF7-like preset, its own IC50) is simulated as a
lab would have it: two training plates and one held-out plate of 640×540 px JPEGs (4 replicate rows × 11
concentrations per plate, to keep the run short), each plate with the reader-style od450.csv and the
layout.csv the simulator writes beside its images. In Chromium, on the bundled models' server: the training
plates are dropped into the view, matched, trained on (features, cross-validation folds, final head,
evaluation, trust block) and kept; the new model scores the held-out plate with its IC50 within 0.15 log10
of the simulator's truth and without a wrong-model warning, while a bundled model on the same plate gets
one; the model survives a reload; exported as a zip and imported in a fresh browser context it gives
identical OD450s. Synthetic throughout, and labelled so.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, Server, parse_report, start_server, stop_server, wait_model
from tests.e2e.test_plates import download_report, wait_all_fitted

pytestmark = pytest.mark.e2e

IMAGE_SIZE = (640, 540)  # px (width, height): small JPEGs keep the features stage short
REPLICATES = 4  # replicate rows (dose series) per plate
CELL_LINE = "MCF7-like"
BUNDLED = "a549-m"
TRAIN_TIMEOUT_MS = 180_000


@dataclass(frozen=True)
class LabPlates:
    """The simulated lab's folders: training plates (plate1, plate2 with od450.csv and layout.csv) and the
    held-out plate (plate3: images and layout.csv only, as a plate to score), and plate 3's true IC50."""

    train: Path
    heldout: Path
    truth_ic50_um: float
    n_wells: int


@pytest.fixture(scope="session")
def lab_plates(tmp_path_factory: pytest.TempPathFactory) -> LabPlates:
    from training.simulate import simulate_dataset

    root = tmp_path_factory.mktemp("lab15")
    manifest = simulate_dataset(
        root / "sim",
        cell_line=CELL_LINE,
        seed=15,
        image_size=IMAGE_SIZE,
        plates=3,
        replicates=REPLICATES,
        workers=2,
        progress=False,
    )
    plates = root / "sim" / CELL_LINE
    train = root / "train"
    for name in ("plate1", "plate2"):
        shutil.copytree(plates / name, train / name)
    heldout = root / "heldout" / "plate3"
    shutil.copytree(plates / "plate3", heldout, ignore=shutil.ignore_patterns("od450.csv"))
    third = manifest[manifest["plate"] == manifest["plate"].unique()[2]]
    return LabPlates(
        train=train,
        heldout=heldout,
        truth_ic50_um=float(third["ic50_true_um"].iloc[0]),
        n_wells=len(third),
    )


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app serving the bundled models (and their shared backbone, which training needs)."""
    running = start_server(ROOT / "models", tmp_path_factory.mktemp("bundled15") / "uvicorn.log")
    yield running
    stop_server(running)


def _new_page(browser: Any, server: Server) -> Any:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    pg.errors = []
    pg.on("pageerror", lambda exc: pg.errors.append(f"page error: {exc}"))
    pg.set_default_timeout(60_000)
    pg.goto(server.url + "/")
    wait_model(pg)
    return pg


def _own_models(pg: Any) -> list[str]:
    return pg.eval_on_selector_all("#model-select optgroup.own-models option", "os => os.map(o => o.value)")


def _score_plate(pg: Any, model: str, folder: Path, n_curves: int) -> tuple[list[dict], list[dict]]:
    """Choose a model, drop a plate folder (images + layout) in the scoring import; the report's curves and
    wells once every curve is fitted."""
    if pg.input_value("#model-select") != model:
        pg.select_option("#model-select", model)
        wait_model(pg)
    pg.set_input_files("#folder-input", str(folder))
    wait_all_fitted(pg, n_curves=n_curves)
    return parse_report(download_report(pg))


def _od450s(wells: list[dict]) -> dict[str, float]:
    return {w["image"]: float(w["predicted_od450"]) for w in wells}


def test_a_model_trained_in_the_view_scores_a_held_out_plate_survives_reload_and_export(
    browser: Any, bundled: Server, lab_plates: LabPlates
):
    pg = _new_page(browser, bundled)
    pg.click("#train-view > summary")
    pg.set_input_files("#train-folder-input", str(lab_plates.train))
    counts = pg.locator("#train-match .counts")
    counts.wait_for()
    n_train = 2 * lab_plates.n_wells
    found = {k: int(counts.get_attribute(f"data-{k}")) for k in ("images", "readings", "matched", "series")}
    assert found == {"images": n_train, "readings": n_train, "matched": n_train, "series": 2 * REPLICATES}
    assert "synthetic" in counts.inner_text()  # the simulator's files say so
    pg.fill("#train-cell-line", CELL_LINE)
    pg.dispatch_event("#train-cell-line", "input")
    # the name is suggested from the cell line and the drug the layout names
    assert pg.input_value("#train-name") == f"{CELL_LINE} · doxorubicin (your images)"
    # the stages the progress bar goes through, as the page shows them
    pg.evaluate(
        """() => { window.stagesSeen = [];
          new MutationObserver(() => { const s = document.querySelector('#train-progress').dataset.stage;
            if (s && window.stagesSeen.at(-1) !== s) window.stagesSeen.push(s); })
          .observe(document.querySelector('#train-progress'), { attributes: true }); }"""
    )
    pg.click("#train-start")
    assert pg.locator("#train-cancel").is_visible()
    pg.wait_for_selector(
        "#train-status[data-kind='ok'], #train-status[data-kind='error']", timeout=TRAIN_TIMEOUT_MS
    )
    status = pg.inner_text("#train-status")
    assert "Kept in this browser" in status, status
    assert pg.evaluate("window.stagesSeen") == [
        "features",
        "cross-validation",
        "model",
        "evaluation",
        "trust",
    ]
    run = pg.evaluate("window.nostainDebug.training")
    card = run["card"]
    print("timings", run["timings"], "r2", card["evaluation"]["test_r2"])
    assert card["synthetic"] is True and card["training_data"]["n_plates"] == 2
    assert card["cell_line"] == CELL_LINE and card["drug"] == "doxorubicin"
    assert card["evaluation"]["cross_validation"]["k"] == 4
    assert card["evaluation"]["test_r2"] > 0.7
    r2_shown = pg.inner_text("#train-metrics tr[data-metric='test-r2'] td")
    assert r2_shown == f"{card['evaluation']['test_r2']:.3f}"
    # the simulator's JPEGs record no pixel size: the card says so, and the results say it in words
    scale = pg.inner_text("#train-metrics tr[data-metric='scale'] td")
    assert card["imaging"]["pixel_size_um"] is None
    assert scale.startswith(f"pixel size not known: {card['training_data']['n_images']} of ")
    assert scale.endswith("the page cannot warn when a plate is imaged at another scale")
    assert pg.locator("#train-series tbody tr").count() == card["evaluation"]["n_test_series"]
    assert pg.evaluate("document.querySelector('#train-scatter').data.length") >= 2
    assert pg.evaluate("document.querySelector('#train-curves').data.length") >= 4
    assert _own_models(pg) == [card["id"]]

    # the new model on the held-out plate: its IC50s near the truth, no wrong-model warning
    n_curves = REPLICATES
    curves, wells = _score_plate(pg, card["id"], lab_plates.heldout, n_curves)
    ic50s = [float(c["ic50_um"]) for c in curves]
    print("own", ic50s, "truth", lab_plates.truth_ic50_um, [c["notes"] for c in curves])
    errors = [abs(math.log10(x / lab_plates.truth_ic50_um)) for x in ic50s]
    assert sorted(errors)[len(errors) // 2] < 0.15, (ic50s, lab_plates.truth_ic50_um)
    assert not any("model check:" in c["notes"] for c in curves), [c["notes"] for c in curves]
    own_od450 = _od450s(wells)
    assert len(own_od450) == lab_plates.n_wells
    status, body = bundled.post_json(
        "/api/fit",
        {"curves": [{"label": "plate 3", "concentrations_um": [float(w["concentration_um"]) for w in wells],
                     "responses": [float(w["predicted_od450"]) for w in wells]}]},
    )  # fmt: skip
    pooled = json.loads(body)["results"][0]["ic50_um"]
    print("pooled", pooled)
    assert status == 200 and abs(math.log10(pooled / lab_plates.truth_ic50_um)) < 0.15

    # the model survives a reload; a bundled model (another cell line) on the same plate is warned about
    pg.reload()
    wait_model(pg)
    assert _own_models(pg) == [card["id"]]
    curves, _ = _score_plate(pg, BUNDLED, lab_plates.heldout, n_curves)
    print("bundled", [c["notes"] for c in curves])
    assert all("model check:" in c["notes"] for c in curves), [c["notes"] for c in curves]
    pg.select_option("#model-select", card["id"])
    wait_model(pg)
    assert "Your model: trained on your images" in pg.inner_text("#model-card")

    # export → import in a fresh browser context (its own IndexedDB): identical OD450s
    with pg.expect_download() as info:
        pg.click("#model-export")
    exported = Path(info.value.path())
    zip_path = exported.with_name(info.value.suggested_filename)
    shutil.copy(exported, zip_path)
    fresh = _new_page(browser, bundled)
    assert _own_models(fresh) == []
    fresh.set_input_files("#model-import-zip", str(zip_path))
    fresh.wait_for_function(f"document.querySelector('#model-select').value === {card['id']!r}")
    wait_model(fresh)
    _, wells = _score_plate(fresh, card["id"], lab_plates.heldout, n_curves)
    assert _od450s(wells) == own_od450
    assert not pg.errors and not fresh.errors, (pg.errors, fresh.errors)
    pg.context.close()
    fresh.context.close()


def _train_drop(pg: Any, folder: Path) -> Any:
    pg.click("#train-view > summary")
    pg.set_input_files("#train-folder-input", str(folder))
    counts = pg.locator("#train-match .counts")
    counts.wait_for()
    return counts


def test_cancel_keeps_nothing(browser: Any, bundled: Server, lab_plates: LabPlates):
    pg = _new_page(browser, bundled)
    _train_drop(pg, lab_plates.train)
    pg.fill("#train-cell-line", CELL_LINE)
    pg.dispatch_event("#train-cell-line", "input")
    pg.click("#train-start")
    pg.wait_for_function("document.querySelector('#train-progress').value > 0.02", timeout=60_000)
    assert pg.get_attribute("#train-progress", "data-stage") == "features"
    pg.click("#train-cancel")
    pg.wait_for_function("document.querySelector('#train-status').textContent.includes('cancelled')")
    assert pg.inner_text("#train-status") == "Training cancelled: nothing was kept."
    assert pg.locator("#train-start").is_visible() and not pg.locator("#train-cancel").is_visible()
    assert _own_models(pg) == [] and pg.locator("#train-results").is_hidden()
    assert not pg.errors, pg.errors
    pg.context.close()


def test_a_single_concentration_is_refused_with_the_reason(
    browser: Any, bundled: Server, lab_plates: LabPlates, tmp_path: Path
):
    plate = tmp_path / "one-dose" / "plate1"
    plate.mkdir(parents=True)
    wells = ["B02", "C02", "D02"]
    for well in wells:
        shutil.copy(lab_plates.train / "plate1" / f"{well}.jpg", plate / f"{well}.jpg")
    (plate / "layout.csv").write_text(
        "well,concentration (uM),drug\n" + "".join(f"{w},1,dox\n" for w in wells)
    )
    (plate / "od450.csv").write_text("plate,well,od450\n1,B02,1.1\n1,C02,0.9\n1,D02,OVER\n1,E02,0.5\n")
    pg = _new_page(browser, bundled)
    counts = _train_drop(pg, plate.parent)
    assert (counts.get_attribute("data-readings"), counts.get_attribute("data-matched")) == ("4", "2")
    pg.fill("#train-cell-line", CELL_LINE)
    pg.dispatch_event("#train-cell-line", "input")
    refusal = pg.inner_text("#train-match .train-refusal")
    assert "all 2 matched wells are at one concentration (1 µM)" in refusal
    assert pg.locator("#train-start").is_disabled()
    text = pg.inner_text("#train-match")
    assert "readings with no image (1)" in text and "wells left out (1)" in text
    pg.click("#train-match li[data-kind='left_out'] summary")
    assert "plate 1, well D02: the reading is saturated ('OVER')" in pg.inner_text("#train-match")
    assert not pg.errors, pg.errors
    pg.context.close()
