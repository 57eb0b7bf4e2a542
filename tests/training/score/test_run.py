"""training.score.run: whole runs on a Dask cluster of 2 worker processes (tests/training/score/conftest.py).

- The IC50s of ``ic50.csv`` are the page's report for the same plates: the server's report code
  (``POST /api/report.csv``) given the page's request for the same OD450s and concentrations.
- A run killed with SIGKILL after its first plate is written, then started again, ends with every plate
  exactly once and no half plate.
- A file that cannot be read is named in ``wells.csv``; the rest of its plate is scored and fitted.
- A worker that dies while it scores a plate is replaced and the plate is redone (a worker plugin makes the
  worker's process exit the first time it starts one of that plate's batches: deterministic).
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from distributed import Client, WorkerPlugin
from fastapi.testclient import TestClient

from app.main import app
from tests.e2e.conftest import ROOT, Fixture, parse_report
from tests.training.score.conftest import MODEL_A, Archive, TrustedModels
from training.score import RunSummary, ScoreOptions, score_archive
from training.score.output import PLATES_FOLDER, RUN_FILE
from training.score.run import check_cluster

pytestmark = pytest.mark.slow

PAGE_TOLERANCE_OD450 = 1e-3  # the page's promise (docs/model-card.md)
#: Columns of a fit compared with the page's report (the report prints 6 significant digits).
FIT_COLUMNS = ("ic50_um", "ic50_ci_low_um", "ic50_ci_high_um", "hill", "top", "bottom", "r2", "n_wells")


def _table(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _score(model: Path, images: Path, out: Path, cluster: Any, **options: Any) -> RunSummary:
    run = ScoreOptions(
        model=model, images=images, out=out, scheduler=cluster.scheduler_address, progress=False, **options
    )
    return score_archive(run, log=lambda _: None)


@pytest.fixture(scope="module")
def scored(
    archive: Archive, trusted: TrustedModels, cluster: Any, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, RunSummary]:
    """The three-plate archive (with a corrupt file and a dark frame) scored with a layout."""
    out = tmp_path_factory.mktemp("scored") / "out"
    return out, _score(trusted.folder / MODEL_A, archive.root, out, cluster, layout=archive.layout, batch=5)


def _page_report(plate: str, expected: dict[str, dict[str, Any]], od450: dict[str, float]) -> dict[str, str]:
    """The page's report of one plate (``static/js/session.js`` ``reportCurve``: every scored well with a
    concentration) from the server's report code, for these OD450s."""
    wells = [
        {"image": image, "well": info["well"], "concentration_um": info["concentration_um"],
         "od450": od450[image], "plate": plate}
        for image, info in sorted(expected.items()) if image in od450
    ]  # fmt: skip
    request = {"curves": [{"label": plate, "cell_line": "A549", "drug": "doxorubicin", "wells": wells}]}
    response = TestClient(app).post("/api/report.csv", json=request)
    assert response.status_code == 200, response.text
    (curve,), _ = parse_report(response.text)
    return curve


def test_ic50s_equal_the_pages_report_for_the_same_plates(scored, archive: Archive, fixture: Fixture):
    out, summary = scored
    assert summary.scored == 3 and summary.failed == [] and summary.skipped == 0
    wells, curves = _table(out / "wells.csv"), _table(out / "ic50.csv")
    assert [c["plate"] for c in curves] == ["plate1", "plate2", "plate3"]
    for curve in curves:
        plate = curve["plate"]
        od450 = {w["image"]: float(w["predicted_od450"]) for w in wells if w["plate"] == plate
                 and w["predicted_od450"] and w["image"] in archive.expected[plate]}  # fmt: skip
        # The OD450 the page gives the same files (Keras', which the browser tests hold the page to).
        keras = [archive.expected[plate][image]["keras_od450"] for image in od450]
        assert max(abs(o - k) for o, k in zip(od450.values(), keras, strict=True)) < PAGE_TOLERANCE_OD450
        page = _page_report(plate, archive.expected[plate], od450)
        assert curve["status"] == page["status"] == "ok", (curve, page)
        for column in FIT_COLUMNS:
            assert f"{float(curve[column]):.6g}" == page[column], (plate, column, curve[column], page[column])
    print("IC50 (µM) per plate:", {c["plate"]: float(c["ic50_um"]) for c in curves})


def test_a_corrupt_file_is_named_and_the_rest_of_its_plate_is_scored(scored, archive: Archive):
    out, summary = scored
    wells = _table(out / "wells.csv")
    (bad,) = [w for w in wells if w["image"] == archive.corrupt]
    assert bad["predicted_od450"] == "" and bad["used_in_fit"] == "no"
    assert Path(archive.corrupt).name in bad["problem"]
    assert summary.unreadable == 1
    plate1 = [w for w in wells if w["plate"] == "plate1"]
    assert len(plate1) == 25 and sum(w["used_in_fit"] == "yes" for w in plate1) == 24  # the 24 others
    (curve,) = [c for c in _table(out / "ic50.csv") if c["plate"] == "plate1"]
    assert curve["status"] == "ok" and curve["n_wells"] == "24"
    assert f"{archive.corrupt} (" in curve["notes"]


def test_wells_carry_the_pages_trust_flags(scored, archive: Archive):
    out, _ = scored
    flags = {w["image"]: w["trust_flags"] for w in _table(out / "wells.csv")}
    assert "not a bright-field well like the training images" in flags[archive.not_brightfield]
    assert flags["plate3/B05/field1.jpg"] == ""  # a well like those the card was fitted on


def test_the_run_records_its_model_app_version_and_time(scored, trusted: TrustedModels):
    out, summary = scored
    run = json.loads((out / RUN_FILE).read_text(encoding="utf-8"))
    card = json.loads((trusted.folder / MODEL_A / "card.json").read_text(encoding="utf-8"))
    assert run["model"]["id"] == MODEL_A and run["model"]["version"] == card["version"]
    assert run["app_version"] and run["started_utc"] <= run["finished_utc"]
    assert run["rows"] == {"wells.csv": 3 * 24 + 2, "ic50.csv": 3}  # + the corrupt file and the dark frame
    assert run["summary"]["reference"] == summary.reference  # the workers' check of the card's reference
    assert summary.reference is not None and summary.reference["abs_difference"] < PAGE_TOLERANCE_OD450


def test_a_second_run_skips_the_plates_done(scored, archive: Archive, trusted: TrustedModels, cluster: Any):
    out, _ = scored
    before = (out / "wells.csv").read_bytes()
    again = _score(trusted.folder / MODEL_A, archive.root, out, cluster, layout=archive.layout)
    assert (again.plates, again.skipped, again.scored) == (3, 3, 0)
    assert (out / "wells.csv").read_bytes() == before


def _plate_folders(out: Path) -> list[Path]:
    return sorted((out / PLATES_FOLDER).glob("*")) if (out / PLATES_FOLDER).is_dir() else []


def _finished_plates(out: Path) -> list[str]:
    """The plate folders a run has completed (renamed into place), not the ones still being written."""
    return [
        f.name
        for f in _plate_folders(out)
        if not f.name.startswith(".partial-") and (f / "plate.json").is_file()
    ]


def _assert_every_plate_once(out: Path, plates: int, images_per_plate: int) -> None:
    folders = _plate_folders(out)
    assert len(folders) == plates and all((f / "plate.json").is_file() for f in folders), folders
    wells = _table(out / "wells.csv")
    assert len(wells) == plates * images_per_plate
    assert max(Counter(w["image"] for w in wells).values()) == 1
    curves = _table(out / "ic50.csv")
    assert sorted(c["plate"] for c in curves) == sorted({w["plate"] for w in wells})
    assert len(curves) == plates and all(c["status"] == "ok" for c in curves)


def test_a_run_killed_after_its_first_plate_finishes_every_plate_once_when_restarted(
    many_plates: Path, fixture: Fixture, cluster: Any, tmp_path: Path
):
    out = tmp_path / "out"
    command = [
        sys.executable, "-m", "training", "score", "--model", str(fixture.models_dir / MODEL_A),
        "--images", str(many_plates), "--out", str(out), "--scheduler", cluster.scheduler_address,
        "--batch", "2", "--quiet",
    ]  # fmt: skip
    log = tmp_path / "first-run.log"
    with log.open("wb") as sink:
        first = subprocess.Popen(command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while not _finished_plates(out):
        assert first.poll() is None, f"the run ended before its first plate:\n{log.read_text()}"
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait()
    done = _finished_plates(out)
    assert 1 <= len(done) < 10, done  # killed halfway
    # What a writer killed inside write_plate leaves: a half plate folder under its temporary name.
    half = out / PLATES_FOLDER / f".partial-{first.pid}-{done[0]}"
    half.mkdir()
    (half / "wells.csv").write_text("plate,label\nhalf", encoding="utf-8")

    again = _score(fixture.models_dir / MODEL_A, many_plates, out, cluster)
    assert (again.plates, again.skipped, again.scored, again.failed) == (10, len(done), 10 - len(done), [])
    assert not half.exists()
    _assert_every_plate_once(out, 10, len(fixture.files))
    for name in done:  # the first run's plates were kept, not redone
        record = json.loads((out / PLATES_FOLDER / name / "plate.json").read_text(encoding="utf-8"))
        assert record["written_utc"] <= json.loads((out / RUN_FILE).read_text())["started_utc"]


class _ExitOnce(WorkerPlugin):
    """Ends the worker's process (as a crash or the OOM killer would) when it first starts a task whose key
    holds ``key_part``; a marker file makes it happen once in the whole cluster."""

    def __init__(self, key_part: str, marker: str):
        self.key_part, self.marker = key_part, marker

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if finish == "executing" and self.key_part in str(key):
            try:
                Path(self.marker).open("x").close()
            except FileExistsError:
                return
            os._exit(1)


def test_a_worker_that_dies_is_replaced_and_its_plate_redone(
    many_plates: Path, fixture: Fixture, cluster: Any, tmp_path: Path
):
    marker = tmp_path / "worker-exited"
    with Client(cluster) as client:
        client.register_plugin(_ExitOnce("score-plate03-", str(marker)), name="exit-once")
        try:
            summary = _score(fixture.models_dir / MODEL_A, many_plates, tmp_path / "out", cluster)
            assert marker.exists()  # a worker did die, on plate03
            client.wait_for_workers(2, timeout=120)
        finally:
            client.unregister_worker_plugin("exit-once")
    assert summary.scored == 10 and summary.failed == []
    _assert_every_plate_once(tmp_path / "out", 10, len(fixture.files))
    od450 = {}
    for row in _table(tmp_path / "out" / "wells.csv"):
        od450.setdefault(row["plate"], []).append(float(row["predicted_od450"]))
    assert od450["plate03"] == od450["plate01"]  # the redone plate: the same files, the same OD450s


class _ClusterElsewhere:
    """A client of a cluster started in another Python environment (its scheduler or workers lack nostain)."""

    scheduler = SimpleNamespace(address="tcp://10.0.0.5:8786")

    def __init__(self, scheduler_has_it: bool, workers_have_it: bool):
        self.scheduler_has_it, self.workers_have_it = scheduler_has_it, workers_have_it

    def run_on_scheduler(self, function: Any, name: str) -> Any:
        if not self.scheduler_has_it:
            raise ModuleNotFoundError("No module named 'training'")
        return function(name)

    def run(self, function: Any, name: str) -> dict[str, Any]:
        return {"tcp://10.0.0.6:40000": function(name) if self.workers_have_it else None}


@pytest.mark.parametrize(("scheduler_has_it", "workers_have_it"), [(False, True), (True, False)])
def test_a_cluster_that_cannot_import_nostain_is_refused_in_plain_words(scheduler_has_it, workers_have_it):
    with pytest.raises(ValueError, match=r"tcp://10\.0\.0\.5:8786 cannot import .*pip install -e"):
        check_cluster(_ClusterElsewhere(scheduler_has_it, workers_have_it))  # type: ignore[arg-type]
    check_cluster(_ClusterElsewhere(True, True))  # type: ignore[arg-type]


def test_the_test_cluster_can_import_nostain(cluster: Any):
    with Client(cluster) as client:
        check_cluster(client)
