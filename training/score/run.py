"""The batch run: plates of an archive scored on a Dask cluster, each plate written as soon as it is done.

The client (this process) finds the plates, skips those already in the output folder, and keeps a bounded
number of plates in flight on the cluster: each plate is a few :func:`~training.score.tasks.score_batch`
tasks (decode + inference, in the workers) and one :func:`~training.score.tasks.finish_plate` task that
depends on them (trust check and fits, in a worker, once the plate's data are complete). A finished plate's
tables come back and are written at once (:func:`training.score.output.write_plate`), so memory does not
grow with the archive. Dask replaces a worker that dies (its nanny starts a new one, which loads the model
again) and recomputes what the dead worker held; a plate whose tasks keep killing workers is reported as
failed and the run goes on.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import dask
from distributed import Client, Future, LocalCluster, as_completed
from tqdm import tqdm

from app import __version__ as app_version
from training import __version__ as training_version
from training.layouts import Parsed, read_layout
from training.score.archive import PlateJob, find_plates
from training.score.decode import ImageOptions, plate_window_of
from training.score.output import RUN_FILE, clean_partial, combine_tables, is_done, write_json, write_plate
from training.score.plate import PlateTables
from training.score.served import find_model
from training.score.tasks import (
    ModelPlugin,
    PlateResult,
    batch_windows,
    finish_plate,
    plugin_name,
    reference_check,
    score_batch,
)

__all__ = [
    "DEFAULT_BATCH",
    "LOCAL_DASK_CONFIG",
    "RunSummary",
    "ScoreOptions",
    "check_cluster",
    "local_cluster",
    "score_archive",
]

#: Images per inference batch (MobileNetV2 on one CPU thread gains nothing from larger ones).
DEFAULT_BATCH = 16
#: Local workers' environment: TensorFlow's C++ start-up lines (no GPU here, …) would bury the progress bars.
_QUIET_TENSORFLOW = {"TF_CPP_MIN_LOG_LEVEL": "3", "TFDF_DISABLE_WELCOME_MESSAGE": "1"}
#: Dask settings of the local cluster (``--workers``). Its workers' statistical profiler (a stack sample of
#: every thread each 10 ms, shown only on a dashboard, which the local cluster does not start) and the
#: event loops' health check every 20 ms cost the worker processes about 4 CPU-ms per image on this
#: machine, a fifth of decoding and inference; the scheduler's loop 1.5 more. (A cluster given with
#: ``--scheduler`` keeps its own settings; docs/batch.md says how to set the same.)
LOCAL_DASK_CONFIG = {"distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "1s"}
_PACKAGES = ("tensorflow", "tensorflowjs", "tfjs-graph-converter", "dask", "distributed", "pillow")


@dataclass(frozen=True)
class ScoreOptions:
    """What ``python -m training score`` was asked to do.

    Attributes
    ----------
    model : Path
        ``models/<id>``.
    images : Path
        The archive folder.
    out : Path
        The output folder (created; a second run with the same folder resumes).
    layout : Path, optional
        Plate layout file (CSV/TSV/TXT, XLSX, wellmap TOML).
    workers : int
        Local worker processes (one thread each) when no scheduler is given.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``): the job runs on its workers instead.
    batch : int
        Images per inference batch.
    bright_field : int or str, optional
        The channel to score when names do not say which one is bright field: among file-name channels,
        and inside multi-channel files whose channels do not say (a number counted from 1, or a name).
    plane : int, optional
        The plane of z-stacks and multi-page TIFFs to score, counted from 1 (default: the page's rule).
    window : {"file", "plate", "percentile"}
        How images of more than 8 bits are mapped to 8 bit (:mod:`training.score.decode`).
    progress : bool
        Show progress bars (plates and images).
    """

    model: Path
    images: Path
    out: Path
    layout: Path | None = None
    workers: int = 1
    scheduler: str | None = None
    batch: int = DEFAULT_BATCH
    bright_field: int | str | None = None
    plane: int | None = None
    window: str = "file"
    progress: bool = True

    @property
    def image_options(self) -> ImageOptions:
        """The options the workers decode with (ValueError, in plain words, for a bad one)."""
        return ImageOptions(plane=self.plane, bright_field=self.bright_field, window=self.window)


@dataclass
class RunSummary:
    """What a run did: plates found, skipped (already done), scored and failed; images; time (s)."""

    plates: int = 0
    skipped: int = 0
    scored: int = 0
    failed: list[str] = field(default_factory=list)
    images: int = 0
    unreadable: int = 0
    seconds: float = 0.0
    decode_s: float = 0.0
    infer_s: float = 0.0
    layout_problems: list[str] = field(default_factory=list)
    reference: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        with contextlib.suppress(PackageNotFoundError):
            found[name] = version(name)
    return found


def _batches(plate: PlateJob, size: int) -> list[list[str]]:
    images = [e.image for e in plate.to_score()]
    return [images[k : k + size] for k in range(0, len(images), size)]


def check_cluster(client: Client) -> None:
    """ValueError, in plain words, unless the scheduler and every worker can import this package (they
    unpickle its tasks: a cluster started in another environment fails there with a long traceback)."""
    try:
        found = [
            client.run_on_scheduler(importlib.util.find_spec, __name__),
            *client.run(importlib.util.find_spec, __name__).values(),
        ]
    except ImportError:
        found = [None]
    if any(spec is None for spec in found):
        raise ValueError(
            f"the Dask cluster at {client.scheduler.address} cannot import nostain's {__name__}: start "
            "`dask scheduler` and `dask worker` in a Python environment with nostain's training extra "
            "installed (pip install -e '.[training]' in this repository, or PYTHONPATH set to it); see "
            "docs/batch.md"
        )


@contextlib.contextmanager
def local_cluster(workers: int) -> Iterator[LocalCluster]:
    """The cluster ``--workers N`` starts on this machine: N worker processes of one thread each, quiet
    TensorFlow, :data:`LOCAL_DASK_CONFIG`, no dashboard. Its scheduler (and the workers' nannies) run in
    this process."""
    with dask.config.set(LOCAL_DASK_CONFIG), LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=logging.ERROR, env=_QUIET_TENSORFLOW,
    ) as cluster:  # fmt: skip
        yield cluster


@contextlib.contextmanager
def _client(options: ScoreOptions) -> Iterator[Client]:
    """A client of the scheduler given, or of a new local cluster (:func:`local_cluster`)."""
    if options.scheduler:
        with Client(options.scheduler) as client:
            check_cluster(client)
            yield client
        return
    with local_cluster(options.workers) as cluster, Client(cluster) as client:
        yield client


def _model_record(card: dict[str, Any]) -> dict[str, Any]:
    """What a plate's results rest on: the model's id, version and weights (backbone fingerprint)."""
    return {
        "id": card.get("id"),
        "name": card.get("name"),
        "version": card.get("version"),
        "synthetic": card.get("synthetic"),
        "backbone": card.get("backbone", {}).get("id"),
        "fingerprint": card.get("backbone", {}).get("fingerprint"),
        "created": card.get("created"),
    }


class _Bars:
    """Two progress bars, plates and images (silent when ``enabled`` is False)."""

    def __init__(self, plates: int, images: int, *, done_plates: int, enabled: bool):
        self.plates = tqdm(
            total=plates, initial=done_plates, unit="plate", desc="plates", disable=not enabled
        )
        self.images = tqdm(total=images, unit="img", desc="images", disable=not enabled, position=1)

    def close(self) -> None:
        self.images.close()
        self.plates.close()


def _run_plates(
    client: Client,
    name: str,
    options: ScoreOptions,
    todo: Sequence[PlateJob],
    write: Callable[[PlateJob, PlateTables], None],
    bars: _Bars,
    summary: RunSummary,
) -> None:
    """Submit plates (a bounded number in flight) and write each as it finishes.

    Only a plate's tables come back to this process (:class:`~training.score.tasks.PlateResult`); a batch's
    features stay in the workers (a finished batch only moves the images bar).
    """
    root = str(options.images.expanduser().resolve())
    in_flight = max(2, 2 * len(client.scheduler_info(n_workers=-1)["workers"]))
    pending = iter(todo)
    jobs: dict[Future, tuple[str, Any]] = {}  # future → ("batch", n images) or ("plate", PlateJob)
    stream = as_completed()

    def submit_next() -> bool:
        plate = next(pending, None)
        if plate is None:
            return False
        images = _batches(plate, options.batch)
        choice = options.image_options
        window: Future | None = None
        if choice.window == "plate":  # the plate's window first, from its images' own (in the workers)
            owns = [
                client.submit(batch_windows, name, root, batch, choice, pure=False,
                              key=f"windows-{plate.key}-{k}-{time.time_ns()}")
                for k, batch in enumerate(images)
            ]  # fmt: skip
            window = client.submit(
                plate_window_of, *owns, pure=False, key=f"window-{plate.key}-{time.time_ns()}"
            )
        batches = [
            client.submit(score_batch, name, root, batch, choice, window, pure=False,
                          key=f"score-{plate.key}-{k}-{time.time_ns()}")
            for k, batch in enumerate(images)
        ]  # fmt: skip
        finish = client.submit(
            finish_plate, name, plate, *batches, pure=False, key=f"finish-{plate.key}-{time.time_ns()}"
        )
        for future, batch in zip(batches, images, strict=True):
            jobs[future] = ("batch", len(batch))
            stream.add(future)
        jobs[finish] = ("plate", plate)
        stream.add(finish)
        return True

    for _ in range(in_flight):
        if not submit_next():
            break
    for future in stream:
        kind, what = jobs.pop(future)
        if kind == "batch":
            if future.status == "finished":
                bars.images.update(what)
            continue
        if future.status == "finished":
            result: PlateResult = future.result()
            tables = result.tables
            write(what, tables)
            summary.scored += 1
            summary.images += tables.n_scored + tables.n_unreadable
            summary.unreadable += tables.n_unreadable
            summary.decode_s += result.decode_s
            summary.infer_s += result.infer_s
        else:
            summary.failed.append(f"{what.label}: {future.exception()}")
        bars.plates.update(1)
        future.release()
        submit_next()


def score_archive(options: ScoreOptions, *, log: Callable[[str], None] = print) -> RunSummary:
    """Score every plate of an archive folder into ``options.out``; see :mod:`training.score`.

    Returns
    -------
    RunSummary
        Also written into ``OUT/run.json`` with the run's settings.

    Raises
    ------
    ValueError
        A model folder the server would not list, a missing archive folder, a layout without plates, a
        cluster that cannot import this package (:func:`check_cluster`).
    KeyboardInterrupt
        When stopped: the plates written so far stay, the next run skips them.
    """
    start = time.perf_counter()
    choice = options.image_options
    entry = find_model(options.model)
    images = options.images.expanduser().resolve()
    if not images.is_dir():
        raise ValueError(f"{images}: no such folder")
    out = options.out.expanduser().resolve()
    layout: Parsed | None = None
    summary = RunSummary()
    if options.layout is not None:
        layout = read_layout(options.layout)
        summary.layout_problems = list(layout.problems)
        if not layout.plates:
            raise ValueError(f"{options.layout}: no plate layout read ({'; '.join(layout.problems)})")
    plates = find_plates(images, layout=layout, bright_field=options.bright_field, skip=out)
    out.mkdir(parents=True, exist_ok=True)
    clean_partial(out)
    model = _model_record(entry.card)
    todo = [p for p in plates if not is_done(out, p, model, choice.to_dict())]
    summary.plates, summary.skipped = len(plates), len(plates) - len(todo)
    settings: dict[str, Any] = {
        "command": "python -m training score",
        "model": model,
        "app_version": app_version,
        "training_version": training_version,
        "versions": _versions(),
        "images": str(images),
        "layout": str(Path(options.layout).resolve()) if options.layout else None,
        "cluster": {"scheduler": options.scheduler}
        if options.scheduler
        else {"local_workers": options.workers},
        "batch": options.batch,
        "image_options": choice.to_dict(),
        "started_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    write_json(out / RUN_FILE, {**settings, "finished_utc": None})
    for problem in summary.layout_problems:
        log(f"layout: {problem}")
    log(f"{len(plates)} plate(s) in {images}; {summary.skipped} already done in {out}")
    if todo:
        n_images = sum(len(p.to_score()) for p in todo)
        bars = _Bars(len(plates), n_images, done_plates=summary.skipped, enabled=options.progress)
        try:
            with _client(options) as client:
                name = plugin_name(entry.folder)
                client.register_plugin(ModelPlugin(str(entry.folder)), name=name)
                summary.reference = client.submit(reference_check, name, pure=False).result()

                def write(plate: PlateJob, tables: PlateTables) -> None:
                    written = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                    record = {"model": model, "image_options": choice.to_dict(), "app_version": app_version}
                    write_plate(out, plate, tables, {**record, "written_utc": written})

                _run_plates(client, name, options, todo, write, bars, summary)
        finally:
            bars.close()
    summary.seconds = time.perf_counter() - start
    tables = combine_tables(out, plates)
    write_json(
        out / RUN_FILE,
        {**settings, "finished_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "rows": tables,
         "summary": summary.to_dict()},
    )  # fmt: skip
    return summary
