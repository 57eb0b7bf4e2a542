"""How fast does ``python -m training score`` go through an archive, and does its memory stay flat?

    .venv/bin/python benchmarks/bench_score.py [--model models/a549-m] [--plates 20] [--distinct 2]

Archive (made once, cached in ``.cache/bench-score/``): ``--plates`` plates of 88 simulated 1280×1080 px
JPEGs each (``training.simulate``, A549, the paper's 11 concentrations × 8 rows; synthetic), named as a lab
names them (``A549_<well>_<conc>.jpg``). Only ``--distinct`` plates are rendered (1 s or more per image on
this machine); the others are hard links to them in their own plate folders: every file is still read,
decoded and scored by the run, only the pixels repeat.

Runs, each on a fresh local cluster as ``--workers N`` starts it (:func:`training.score.run.local_cluster`),
with the model the page serves (``--model``; its input size read from its card):

1. the whole archive with 1 worker and with 2 workers: images/s from start to end (cluster start and model
   load included) and in the steady state (from the first plate written to the last), and their ratio
   (target: 2 workers ≥ 1.7× one);
2. **CPU per image of every process and thread** in the steady state (user + system seconds from
   ``/proc`` via psutil, read when each plate is written): the client's main thread, its event loop, the
   scheduler + nannies' event loop (``LocalCluster`` runs them in this process), each worker's task thread,
   TensorFlow's threads and event loop. Unlike wall time, these hardly depend on the other jobs of the
   shared machine; from them, the most images/s the run can reach on idle cores (:func:`rate_bound`) and
   the 2-worker/1-worker ratio that bound allows (``2·Y / (X + Y)``: ``Y`` the workers' decode +
   inference, ``X`` everything else);
3. the cost per image of the 1-worker run against decoding (:func:`training.preprocess.preprocess`) and
   inference (the same served model, batches of ``--batch``) alone in that worker, on one plate, in CPU
   time (target ≤ 1.5×);
4. peak memory, the summed peak RSS of this process and the workers (each process's ``VmHWM``, no
   sampler), for the first 5 plates and for all of them with 2 workers (target: flat).

Figures, not pass/fail. The machine is shared: the load average is printed before and after each run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CACHE = ROOT / ".cache" / "bench-score"
IMAGE_SIZE = (1280, 1080)  # (width, height) px
CORES = os.cpu_count() or 1
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

#: Roles of the threads of this process (the client; with a local cluster also its scheduler and nannies).
CLIENT_MAIN = "client: main thread (submits, collects, writes plates)"
CLIENT_LOOP = "client: its event loop and comms"
SCHEDULER = "scheduler + nannies: event loop"
PROBES = "benchmark probes"
OTHER = "other threads"
#: Roles of a worker's threads (:func:`_worker_threads`).
TASKS = "task thread (decode, inference, trust check, fits)"
WORKER_LOOP = "event loop (comms, heartbeats)"
WORKER_OTHER = "TensorFlow's threads (inference) and others"


def _thread_ids() -> set[int]:
    return {t.native_id for t in threading.enumerate() if t.native_id is not None}


def _worker_threads() -> dict[int, str]:
    """Inside a worker (``client.run``): its Python threads' ids → role; the rest (TensorFlow's) are
    :data:`WORKER_OTHER`."""
    roles = {}
    for thread in threading.enumerate():
        if thread.native_id is None:
            continue
        if thread is threading.main_thread():
            roles[thread.native_id] = WORKER_LOOP
        elif "Dask-Default-Threads" in thread.name:
            roles[thread.native_id] = TASKS
        else:
            roles[thread.native_id] = WORKER_OTHER
    return roles


def _thread_seconds(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of each thread of a process, by thread id (empty once it has ended)."""
    import psutil

    try:
        return {t.id: t.user_time + t.system_time for t in psutil.Process(pid).threads()}
    except psutil.Error:
        return {}


def _peak_rss(pid: int) -> int:
    """A process's peak resident set size (bytes; Linux ``VmHWM``), 0 when it cannot be read."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


class RunProbe:
    """What a run costs, read without slowing it down: when each plate's ``plate.json`` appears in the
    output folder (polled every 50 ms), the CPU seconds of every thread of every process of the run.

    Processes: this one (the client, and the local cluster's scheduler and nannies, which
    ``LocalCluster`` runs in the process that starts it, on its own event-loop thread), each worker (found
    with ``client.run``), and any other child process. Threads are given roles (:data:`CLIENT_MAIN`, …) by
    when they started (before the cluster, with it, after it) and, in workers, by their names.
    """

    def __init__(self, out: Path):
        self._out = out
        self._cluster: Any = None
        self._before = _thread_ids()  # this process before the run (probe threads are added below)
        self._cluster_threads: set[int] = set()
        self._workers: dict[int, dict[int, str]] = {}  # worker pid → its threads' roles
        self._seen: dict[tuple[int, int], tuple[str, float]] = {}  # (pid or 0 here, thread id) → role, CPU s
        self.times: dict[str, float] = {}
        self.samples: list[tuple[float, dict[str, float]]] = []  # (time, role → CPU s) at each plate
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True, name="bench-run-probe")

    def cluster_started(self, cluster: Any) -> None:
        """Call right after the cluster started: its new threads are the scheduler's and nannies'."""
        self._cluster = cluster
        self._cluster_threads = _thread_ids() - self._before

    def _roles_here(self) -> dict[int, str]:
        roles = {tid: CLIENT_LOOP for tid in _thread_ids() - self._before - self._cluster_threads}
        roles |= dict.fromkeys(self._cluster_threads, SCHEDULER)
        roles[threading.main_thread().native_id or 0] = CLIENT_MAIN
        roles[self._thread.native_id or 0] = PROBES
        return roles

    def _find_workers(self) -> None:
        from distributed import Client

        with Client(self._cluster) as client:
            for pid, roles in client.run(lambda: (os.getpid(), _worker_threads())).values():
                self._workers[pid] = roles

    def cpu_seconds(self) -> dict[str, float]:
        """Role → CPU seconds so far (``"worker k: <role>"`` for the k-th worker, ``other processes``).

        A thread that has ended keeps the CPU time it was last seen with, so that every role only grows.
        """
        import psutil

        roles = self._roles_here()
        for tid, used in _thread_seconds(os.getpid()).items():
            self._seen[0, tid] = (roles.get(tid, OTHER), used)
        for k, (pid, worker_roles) in enumerate(sorted(self._workers.items()), start=1):
            for tid, used in _thread_seconds(pid).items():
                self._seen[pid, tid] = (f"worker {k}: {worker_roles.get(tid, WORKER_OTHER)}", used)
        for process in psutil.Process().children(recursive=True):
            if process.pid not in self._workers:
                try:
                    times = process.cpu_times()
                except psutil.Error:
                    continue
                self._seen[process.pid, 0] = ("other processes", times.user + times.system)
        seconds: dict[str, float] = {}
        for role, used in self._seen.values():
            seconds[role] = seconds.get(role, 0.0) + used
        return seconds

    def peak_rss(self) -> int:
        """The summed peak RSS (bytes) of this process and the workers (each process's own peak: an upper
        bound of the peak of the sum). Call before the cluster closes."""
        return _peak_rss(os.getpid()) + sum(_peak_rss(pid) for pid in self._workers)

    def _poll(self) -> None:
        while not self._stop.is_set():
            plates = self._out / "plates"
            for done in plates.glob("*/plate.json") if plates.is_dir() else ():
                if done.parent.name not in self.times:
                    if not self._workers:
                        self._find_workers()  # now their task threads exist
                    self.times[done.parent.name] = time.perf_counter()
                    self.samples.append((time.perf_counter(), self.cpu_seconds()))
            time.sleep(0.05)

    def __enter__(self) -> RunProbe:
        _reset_peak_rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _reset_peak_rss() -> None:
    """Reset this process's peak RSS (Linux: ``echo 5 > /proc/self/clear_refs``), so that each run reports
    its own; ignored where it cannot be done."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


# ------------------------------------------------------------------------------------------------ runs


@dataclass(frozen=True)
class Run:
    """One run: images, wall time (s, cluster start and model load included), steady rate, peak RSS, and
    the CPU milliseconds per image of each role in the steady state (from the first plate written to the
    last)."""

    workers: int
    plates: int
    images: int
    seconds: float
    steady_images_per_s: float | None
    peak_rss_bytes: int
    decode_s: float
    infer_s: float
    cpu_ms_per_image: dict[str, float]
    load: str

    @property
    def images_per_s(self) -> float:
        return self.images / self.seconds


def steady_cpu(samples: list[tuple[float, dict[str, float]]], per_plate: float) -> dict[str, float]:
    """CPU ms per image of each role between the first and the last plate written ({} for < 3 plates)."""
    if len(samples) < 3:
        return {}
    (_, first), (_, last) = samples[0], samples[-1]
    images = (len(samples) - 1) * per_plate
    return {role: 1e3 * (last[role] - first.get(role, 0.0)) / images for role in sorted(last)}


def score_run(
    model: Path, images: Path, workers: int, batch: int, out: Path, *, alone: bool
) -> tuple[Run, dict[str, float] | None]:
    """Score ``images`` on a fresh cluster of ``workers``; the run, and with ``alone`` the cost of decoding
    and inference alone of the first plate's files in a worker of the same cluster, after the run."""
    from training.score import ScoreOptions, score_archive
    from training.score.run import local_cluster

    start = time.perf_counter()
    with RunProbe(out) as probe, local_cluster(workers) as cluster:
        probe.cluster_started(cluster)
        options = ScoreOptions(
            model=model, images=images, out=out, scheduler=cluster.scheduler_address, batch=batch,
            progress=False,
        )  # fmt: skip
        summary = score_archive(options, log=lambda _: None)
        seconds = time.perf_counter() - start
        load = load_average()
        peak = probe.peak_rss()
        first = next(p for p in sorted(images.iterdir()) if p.is_dir())
        cost = decode_and_infer_alone(cluster, model, first, batch) if alone else None
    assert not summary.failed, summary.failed
    stamps = sorted(probe.times.values())
    per_plate = summary.images / max(1, summary.scored)
    steady = (len(stamps) - 1) * per_plate / (stamps[-1] - stamps[0]) if len(stamps) > 2 else None
    run = Run(
        workers,
        summary.scored,
        summary.images,
        seconds,
        steady,
        peak,
        summary.decode_s,
        summary.infer_s,
        steady_cpu(probe.samples, per_plate),
        load,
    )
    return run, cost


def _alone_in_worker(name: str, files: list[str], batch: int) -> dict[str, float]:
    """Decode and infer ``files`` in batches with the worker's loaded model; CPU seconds of each (a task; the
    worker's process time, which, unlike wall time, does not depend on how busy the machine is)."""
    import numpy as np
    from distributed import get_worker

    from training.preprocess import preprocess

    model = get_worker().plugins[name].model
    decode = infer = 0.0
    for k in range(0, len(files), batch):
        t0 = time.process_time()
        inputs = np.stack([preprocess(f, model.size) for f in files[k : k + batch]])
        t1 = time.process_time()
        model.predict(inputs)
        infer += time.process_time() - t1
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


def _worker_serial_ms(cpu_ms: dict[str, float]) -> dict[str, float]:
    """CPU ms per run image of each worker's serial work: its task thread and TensorFlow's threads, which the
    task thread waits for (everything but the worker's event loop)."""
    serial: dict[str, float] = {}
    for role, ms in cpu_ms.items():
        if role.startswith("worker ") and not role.endswith(WORKER_LOOP):
            worker = role.split(":")[0]
            serial[worker] = serial.get(worker, 0.0) + ms
    return serial


def rate_bound(cpu_ms: dict[str, float], cores: int) -> tuple[float, str]:
    """The most images/s a run's CPU costs allow on ``cores`` idle cores, and what sets that limit.

    With ``c_r`` the CPU seconds that role ``r`` spends per image of the run (steady state):

    - all processes share the cores: ``rate ≤ cores / Σ_r c_r``;
    - work that runs one step after another runs on one core at a time: ``rate ≤ 1 / c`` for each
      worker's serial work (its task thread + TensorFlow's, :func:`_worker_serial_ms`), the client's main
      thread and the scheduler's event loop.

    For one worker whose serial work costs ``Y`` ms per image while everything else costs ``X``, the
    bound is ``min(1 / Y, cores / (X + Y))``; for two workers sharing the images, each costs ``Y / 2`` per
    run image, so the bound is ``min(2 / Y, cores / (X + Y))``. On 2 cores with ``X < Y`` the ratio of the
    two is therefore at most ``2·Y / (X + Y)``: every CPU-ms spent outside decoding and inference comes out
    of the second worker's core.
    """
    limits = {"all CPU work on the cores": cores / (1e-3 * sum(cpu_ms.values()))}
    for worker, ms in _worker_serial_ms(cpu_ms).items():
        limits[f"{worker}'s decode + inference (serial)"] = 1 / (1e-3 * ms)
    for role in (CLIENT_MAIN, SCHEDULER):
        if cpu_ms.get(role):
            limits[role] = 1 / (1e-3 * cpu_ms[role])
    binding = min(limits, key=lambda k: limits[k])
    return limits[binding], binding


def _print_cpu(run: Run) -> None:
    """The CPU table of a run: ms per image of each role, and the bound they imply."""
    if not run.cpu_ms_per_image:
        print("  (too few plates for a steady CPU cost)")
        return
    total = sum(run.cpu_ms_per_image.values())
    for role, ms in run.cpu_ms_per_image.items():
        print(f"  {ms:7.2f} CPU-ms/image  {role}")
    workers = sum(_worker_serial_ms(run.cpu_ms_per_image).values())
    print(f"  {total:7.2f} CPU-ms/image  in all ({workers:.2f} in the workers' decode + inference)")
    bound, binding = rate_bound(run.cpu_ms_per_image, CORES)
    steady = run.steady_images_per_s or 0.0
    print(f"  bound on {CORES} idle cores: {bound:.1f} images/s (set by {binding}); measured {steady:.1f}")


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
                f"{_gib(run.peak_rss_bytes)} ({before} before, {run.load} at the end)",
                flush=True,
            )
            _print_cpu(run)
    one, alone = runs[1, args.plates]
    two, _ = runs[2, args.plates]
    five, _ = runs[2, args.small]
    assert alone is not None
    print(f"2 workers / 1 worker: {two.images_per_s / one.images_per_s:.2f}× overall", end="")
    if one.steady_images_per_s and two.steady_images_per_s:
        print(f", {two.steady_images_per_s / one.steady_images_per_s:.2f}× steady (target ≥ 1.7×)")
    else:
        print(" (too few plates for a steady rate)")
    if one.cpu_ms_per_image and two.cpu_ms_per_image:
        bound_one, _ = rate_bound(one.cpu_ms_per_image, CORES)
        bound_two, _ = rate_bound(two.cpu_ms_per_image, CORES)
        serial = sum(_worker_serial_ms(two.cpu_ms_per_image).values())
        rest = sum(two.cpu_ms_per_image.values()) - serial
        print(
            f"bound from CPU alone: {bound_two / bound_one:.2f}× (2-worker run: Y = {serial:.2f} CPU-ms/img "
            f"of decode + inference, X = {rest:.2f} of everything else; 2·Y/(X+Y) = "
            f"{2 * serial / (serial + rest):.2f})"
        )
    decode_ms, infer_ms = (1e3 * alone[k] / alone["images"] for k in ("decode_s", "infer_s"))
    run_ms = 1e3 / (one.steady_images_per_s or one.images_per_s)
    print(
        f"per image, 1 worker: {run_ms:.1f} ms in the run (steady) vs {decode_ms + infer_ms:.1f} CPU-ms "
        f"decode + inference alone ({decode_ms:.1f} + {infer_ms:.1f}): {run_ms / (decode_ms + infer_ms):.2f}×"
        " (target ≤ 1.5×)"
    )
    if one.cpu_ms_per_image:
        worker_ms = sum(_worker_serial_ms(one.cpu_ms_per_image).values())
        all_ms = sum(one.cpu_ms_per_image.values())
        print(
            f"  in CPU: the worker's decode + inference {worker_ms:.1f} CPU-ms/image in the run "
            f"({worker_ms / (decode_ms + infer_ms):.2f}× alone), all processes {all_ms:.1f} "
            f"({all_ms / (decode_ms + infer_ms):.2f}×)"
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
