"""How fast does ``python -m training score`` go through an archive, and does its memory stay flat?

    .venv/bin/python benchmarks/bench_score.py [--model models/a549-m] [--plates 20] [--distinct 2]

Archive (made once, cached in ``.cache/bench-score/``): ``--plates`` plates of 88 simulated 1280×1080 px
JPEGs each (``training.simulate``, A549, the paper's 11 concentrations × 8 rows; synthetic), named as a lab
names them (``A549_<well>_<conc>.jpg``). Only ``--distinct`` plates are rendered (1 s or more per image on
this machine); the others are hard links to them in their own plate folders: every file is still read,
decoded and scored by the run, only the pixels repeat.

Runs, each on a fresh local cluster (``distributed.LocalCluster``, processes of one thread, as ``--workers N``
starts), with the model the page serves (``--model``; its input size read from its card):

1. the whole archive with 1 worker and with 2 workers: images/s from start to end (cluster start and model
   load included) and in the steady state (from the first plate written to the last), and their ratio
   (target: 2 workers ≥ 1.7× one);
2. the cost per image of the 1-worker run against decoding (:func:`training.preprocess.preprocess`) and
   inference (the same served model, batches of ``--batch``) alone in that worker, on one plate
   (target ≤ 1.5×);
3. peak memory, RSS of the scheduler (this process) and workers summed, sampled every 0.1 s, for the first 5
   plates and for all of them with 2 workers (target: flat).

Figures, not pass/fail. The machine is shared: the load average is printed before and after each run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CACHE = ROOT / ".cache" / "bench-score"
IMAGE_SIZE = (1280, 1080)  # (width, height) px
QUIET = {"TF_CPP_MIN_LOG_LEVEL": "3", "TFDF_DISABLE_WELCOME_MESSAGE": "1"}


def load_average() -> str:
    """The 1-minute load average, to say how busy the shared machine was."""
    return f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"


# ------------------------------------------------------------------------------------------------ archive


def distinct_plates(count: int) -> list[Path]:
    """``count`` simulated plates (88 JPEGs each, 1280×1080 px), rendered once into the cache."""
    folder = CACHE / f"distinct-{count}"
    plates = [folder / "named" / f"plate{k:02d}" for k in range(1, count + 1)]
    if all(len(list(p.glob("*.jpg"))) == 88 for p in plates):
        return plates
    from training.simulate import simulate_dataset

    shutil.rmtree(folder, ignore_errors=True)
    print(f"simulating {count} plates × 88 images of 1280×1080 px (once; cached in {folder}) …", flush=True)
    manifest = simulate_dataset(
        folder / "sim", plates=count, replicates=8, image_size=IMAGE_SIZE, workers=2, progress=True
    )
    for _, row in manifest.iterrows():
        plate = folder / "named" / f"plate{int(row['plate'].rsplit('P', 1)[1]):02d}"
        plate.mkdir(parents=True, exist_ok=True)
        conc = "DMSO" if row["concentration_um"] == 0 else f"{row['concentration_um']:g}uM"
        os.link(row["path"], plate / f"A549_{row['well']}_{conc}.jpg")
    return plates


def archive(plates: int, distinct: int) -> Path:
    """An archive folder of ``plates`` plate folders (hard links to the distinct plates, in turn)."""
    sources = distinct_plates(distinct)
    folder = CACHE / f"archive-{plates}-of-{distinct}"
    if not (folder / ".complete").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        for k in range(plates):
            target = folder / f"plate{k + 1:02d}"
            target.mkdir(parents=True)
            for image in sorted(sources[k % distinct].glob("*.jpg")):
                os.link(image, target / image.name)
        (folder / ".complete").touch()
    return folder


# ------------------------------------------------------------------------------------------------ probes


class PeakMemory:
    """The peak of the summed RSS (bytes) of this process and all its descendants, sampled in a thread."""

    def __init__(self, interval_s: float = 0.1):
        import psutil

        self._process = psutil.Process()
        self._interval = interval_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _rss(self) -> int:
        import psutil

        total = 0
        for process in [self._process, *self._process.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except psutil.Error:  # a process that just ended
                pass
        return total

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(self._interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class PlateClock:
    """When each plate's ``plate.json`` appeared in the output folder (polled in a thread)."""

    def __init__(self, out: Path):
        self._out = out
        self.times: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            for done in self._out.glob("plates/*/plate.json"):
                self.times.setdefault(done.parent.name, time.perf_counter())
            time.sleep(0.05)

    def __enter__(self) -> PlateClock:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def local_cluster(workers: int) -> Iterator[Any]:
    """A local cluster as ``--workers N`` starts it (processes of one thread, quiet TensorFlow)."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=logging.ERROR, env=QUIET,
    ) as cluster:  # fmt: skip
        yield cluster


# ------------------------------------------------------------------------------------------------ runs


@dataclass(frozen=True)
class Run:
    """One run: images, wall time (s, cluster start and model load included), steady rate, peak RSS."""

    workers: int
    plates: int
    images: int
    seconds: float
    steady_images_per_s: float | None
    peak_rss_bytes: int
    decode_s: float
    infer_s: float

    @property
    def images_per_s(self) -> float:
        return self.images / self.seconds


def score_run(
    model: Path, images: Path, workers: int, batch: int, out: Path, *, alone: bool
) -> tuple[Run, dict[str, float] | None]:
    """Score ``images`` on a fresh cluster of ``workers``; the run, and with ``alone`` the cost of decoding
    and inference alone of the first plate's files in a worker of the same cluster, after the run."""
    from training.score import ScoreOptions, score_archive

    start = time.perf_counter()
    with PeakMemory() as memory, local_cluster(workers) as cluster, PlateClock(out) as clock:
        options = ScoreOptions(
            model=model, images=images, out=out, scheduler=cluster.scheduler_address, batch=batch,
            progress=False,
        )  # fmt: skip
        summary = score_archive(options, log=lambda _: None)
        seconds = time.perf_counter() - start
        first = next(p for p in sorted(images.iterdir()) if p.is_dir())
        cost = decode_and_infer_alone(cluster, model, first, batch) if alone else None
    assert not summary.failed, summary.failed
    stamps = sorted(clock.times.values())
    per_plate = summary.images / max(1, summary.scored)
    steady = (len(stamps) - 1) * per_plate / (stamps[-1] - stamps[0]) if len(stamps) > 2 else None
    run = Run(
        workers,
        summary.scored,
        summary.images,
        seconds,
        steady,
        memory.peak,
        summary.decode_s,
        summary.infer_s,
    )
    return run, cost


def _alone_in_worker(name: str, files: list[str], batch: int) -> dict[str, float]:
    """Decode and infer ``files`` in batches with the worker's loaded model; seconds of each (a task)."""
    import numpy as np
    from distributed import get_worker

    from training.preprocess import preprocess

    model = get_worker().plugins[name].model
    decode = infer = 0.0
    for k in range(0, len(files), batch):
        t0 = time.perf_counter()
        inputs = np.stack([preprocess(f, model.size) for f in files[k : k + batch]])
        t1 = time.perf_counter()
        model.predict(inputs)
        infer += time.perf_counter() - t1
        decode += t1 - t0
    return {"images": len(files), "decode_s": decode, "infer_s": infer}


def decode_and_infer_alone(cluster: Any, model: Path, plate: Path, batch: int) -> dict[str, float]:
    """Decode + inference of one plate's files in a worker of ``cluster`` (its model already loaded)."""
    from distributed import Client

    from training.score.tasks import plugin_name

    files = [str(p) for p in sorted(plate.glob("*.jpg"))]
    with Client(cluster) as client:
        name = plugin_name(model)
        client.submit(_alone_in_worker, name, files[:batch], batch, pure=False).result()  # warm-up
        return client.submit(_alone_in_worker, name, files, batch, pure=False).result()


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"


def main(argv: list[str] | None = None) -> int:
    for key, value in QUIET.items():
        os.environ.setdefault(key, value)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "a549-m", help="model folder")
    parser.add_argument("--plates", type=int, default=20, help="plates in the archive (default 20)")
    parser.add_argument(
        "--small", type=int, default=5, help="plates of the memory comparison run (default 5)"
    )
    parser.add_argument(
        "--distinct", type=int, default=2, help="plates rendered (default 2; the rest linked)"
    )
    parser.add_argument("--batch", type=int, default=16, help="images per inference batch (default 16)")
    args = parser.parse_args(argv)

    from training.score.served import find_model

    card = find_model(args.model).card
    big = archive(args.plates, args.distinct)
    small = archive(args.small, args.distinct)
    print(
        f"model {card['id']} {card['version']} (input {card['input']['size']} px); archive: {args.plates} "
        f"plates × 88 synthetic 1280×1080 JPEGs ({args.distinct} rendered, the others hard links)"
    )
    runs: dict[tuple[int, int], tuple[Run, dict[str, float] | None]] = {}
    with tempfile.TemporaryDirectory(prefix="nostain-bench-score-") as tmp:
        for workers, folder, plates in ((1, big, args.plates), (2, big, args.plates), (2, small, args.small)):
            before = load_average()
            out = Path(tmp) / f"{workers}-{plates}"
            runs[workers, plates] = score_run(
                args.model, folder, workers, args.batch, out, alone=workers == 1
            )
            run = runs[workers, plates][0]
            steady = f"{run.steady_images_per_s:.2f}" if run.steady_images_per_s else "n/a"
            print(
                f"{workers} worker(s), {run.plates} plates, {run.images} images: {run.seconds:.1f} s, "
                f"{run.images_per_s:.2f} images/s overall, {steady} images/s steady; peak RSS "
                f"{_gib(run.peak_rss_bytes)} ({before} before, {load_average()} after)",
                flush=True,
            )
    one, _ = runs[1, args.plates]
    two, _ = runs[2, args.plates]
    five, _ = runs[2, args.small]
    alone = runs[1, args.plates][1]
    assert alone is not None
    print(f"2 workers / 1 worker: {two.images_per_s / one.images_per_s:.2f}× overall", end="")
    if one.steady_images_per_s and two.steady_images_per_s:
        print(f", {two.steady_images_per_s / one.steady_images_per_s:.2f}× steady (target ≥ 1.7×)")
    else:
        print(" (too few plates for a steady rate)")
    decode_ms, infer_ms = (1e3 * alone[k] / alone["images"] for k in ("decode_s", "infer_s"))
    run_ms = 1e3 / (one.steady_images_per_s or one.images_per_s)
    print(
        f"per image, 1 worker: {run_ms:.1f} ms in the run (steady) vs {decode_ms + infer_ms:.1f} ms "
        f"decode + inference alone ({decode_ms:.1f} + {infer_ms:.1f} ms): "
        f"{run_ms / (decode_ms + infer_ms):.2f}× (target ≤ 1.5×)"
    )
    five_gib, twenty_gib = _gib(five.peak_rss_bytes), _gib(two.peak_rss_bytes)
    print(
        f"peak RSS, 2 workers: {five_gib} for {args.small} plates, {twenty_gib} for {args.plates} "
        f"({two.peak_rss_bytes / five.peak_rss_bytes:.2f}×; target flat)"
    )
    print(json.dumps({f"{w}w-{p}p": vars(r) for (w, p), (r, _) in runs.items()} | {"alone": alone}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
