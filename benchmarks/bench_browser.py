"""How long does the page take to score a 96-well plate of full-size images? The real page, headless Chromium.

    .venv/bin/python benchmarks/bench_browser.py [--models DIR] [--model ID] [--repeat 3]

Simulates a 96-image plate of 2560×2160 JPEGs once (``training.simulate``, 12 concentrations × 8 rows,
cached in ``.cache/bench/``), starts the app on a free loopback port, loads the page in Debian's Chromium,
waits until the model is loaded in the page's workers, then drops the 96 files on the page and times it
until every image is scored and the curve is fitted. Prints the end-to-end seconds (model already loaded),
the page's own timing (first image sent to a worker → last result), ms per image and the per-stage times
the workers report (decode, area resize, inference). Without ``--models`` it uses the repository's
``models/`` when a model there takes 224 px images, else a stand-in MobileNetV2 (alpha 1.0, 224 px, random
weights: the speed does not depend on the weights) exported once with ``training.export.export_tfjs``.
Figures, not pass/fail. The issue's target: about 10 s on a 2-core laptop-class CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CACHE = ROOT / ".cache" / "bench"
STAND_IN = "bench-mobilenetv2-224"


def plate_files(folder: Path) -> list[Path]:
    """96 simulated 2560×2160 JPEGs named ``<well>_<conc>uM.jpg`` (made once, then reused)."""
    named = folder / "named"
    files = sorted(named.glob("*.jpg"))
    if len(files) == 96:
        return files
    from training.simulate import simulate_dataset
    from training.simulate.presets import PAPER_CONCENTRATIONS_UM

    shutil.rmtree(folder, ignore_errors=True)
    print("simulating 96 images of 2560×2160 px (once; cached in .cache/bench/) …", flush=True)
    manifest = simulate_dataset(
        folder / "sim",
        plates=1,
        replicates=8,
        concentrations_um=(0.0, *PAPER_CONCENTRATIONS_UM),
        workers=2,
        progress=True,
    )
    named.mkdir(parents=True)
    for _, row in manifest.iterrows():
        conc = "DMSO" if row["concentration_um"] == 0 else f"{row['concentration_um']:g}uM"
        os.link(row["path"], named / f"A549_{row['well']}_{conc}.jpg")
    return sorted(named.glob("*.jpg"))


def stand_in_model(models: Path) -> Path:
    """A MobileNetV2 (alpha 1.0, 224 px) + head exported as a TF.js graph model, made once."""
    folder = models / STAND_IN
    if (folder / "card.json").is_file():
        return models
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")
    from training.export import export_tfjs
    from training.model import build_backbone, build_model

    print("exporting a stand-in MobileNetV2 224 px model (once) …", flush=True)
    backbone, origin = build_backbone("MobileNetV2", input_size=224, weights="none")
    card = {
        "id": STAND_IN,
        "name": "Benchmark stand-in (random weights)",
        "version": "0.0.0",
        "cell_line": "none",
        "drug": "none",
        "synthetic": True,
        "summary": "Speed benchmark only: random weights, predicts nothing.",
        "training_data": {
            "synthetic": True,
            "n_images": 0,
            "n_series": 0,
            "cell_lines": [],
            "description": "",
        },
        "backbone": "MobileNetV2",
        "backbone_frozen": True,
        "weights_origin": origin,
        "evaluation": None,
        "imaging": "any",
    }
    export_tfjs(build_model(backbone), folder, card, verify=False)
    return models


def choose_models(args: argparse.Namespace) -> tuple[Path, str]:
    """The models folder and model id to benchmark."""
    if args.models:
        cards = [json.loads(p.read_text()) for p in sorted(args.models.glob("*/card.json"))]
        if not cards:
            raise SystemExit(f"no model cards in {args.models}")
        return args.models, args.model or cards[0]["id"]
    for card_path in sorted((ROOT / "models").glob("*/card.json")):
        card = json.loads(card_path.read_text())
        if card.get("input", {}).get("size") == 224 and (args.model in (None, card["id"])):
            return ROOT / "models", card["id"]
    return stand_in_model(CACHE / "models"), STAND_IN


def start_server(models_dir: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env={**os.environ, "NOSTAIN_MODELS_DIR": str(models_dir)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):
                return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the app did not start")


def chromium_cpu_seconds() -> float:
    """CPU time (user + system, s) used so far by the Chromium processes this script started (Linux /proc).

    The wall time depends on what else the machine is doing; the CPU time does not, so CPU seconds divided
    by the cores in use estimates the wall time on an otherwise idle machine.
    """
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    names: dict[int, str] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        pid = int(text[: text.index(" ")])
        names[pid] = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        parent[pid] = int(fields[1])
        ticks[pid] = int(fields[11]) + int(fields[12])  # utime + stime

    def ours(pid: int) -> bool:
        while pid > 1:
            if pid == os.getpid():
                return True
            pid = parent.get(pid, 1)
        return False

    hz = os.sysconf("SC_CLK_TCK")
    return sum(t for pid, t in ticks.items() if "chrom" in names[pid].lower() and ours(pid)) / hz


def run_once(page, url: str, model_id: str, files: list[Path]) -> dict:
    """Load the page and the model (not timed), then time the plate: files in → all scored and fitted."""
    page.goto(url + "/")
    page.wait_for_function(
        "window.nostainDebug && (window.nostainDebug.ready || window.nostainDebug.modelError)"
    )
    if page.input_value("#model-select") != model_id:
        page.select_option("#model-select", model_id)
        page.wait_for_function("window.nostainDebug.ready || window.nostainDebug.modelError")
    error = page.evaluate("window.nostainDebug.modelError")
    if error:
        raise SystemExit(f"the page could not load the model: {error}")
    cpu_start = chromium_cpu_seconds()
    start = time.perf_counter()
    page.set_input_files("#file-input", [str(p) for p in files])
    page.wait_for_function(
        "window.nostainDebug.runs.length > 0 && window.nostainDebug.fits > 0", timeout=600_000, polling=50
    )
    wall = time.perf_counter() - start
    cpu = chromium_cpu_seconds() - cpu_start
    debug = page.evaluate(
        "({runs: nostainDebug.runs, timings: nostainDebug.timings,"
        " tensors: nostainDebug.numTensors.map(x => x.n)})"
    )
    badge = page.inner_text("#backend-badge")
    return {
        "wall": wall,
        "cpu": cpu,
        "page": debug["runs"][0]["seconds"],
        "timings": debug["timings"],
        "badge": badge,
        "tensors": debug["tensors"],
    }


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    from training.tfjs_check import CHROMIUM_FLAGS, chromium_path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, help="models folder (default: models/ or a stand-in)")
    parser.add_argument("--model", help="model id (default: the first with 224 px input)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs (default 3)")
    parser.add_argument("--screenshot", type=Path, help="also save a screenshot of the fitted page (PNG)")
    args = parser.parse_args(argv)

    files = plate_files(CACHE / "plate-2560x2160")
    size_mb = sum(p.stat().st_size for p in files) / 1e6
    models_dir, model_id = choose_models(args)
    process, url = start_server(models_dir)
    load = os.getloadavg()[0]  # before our own runs add to it
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_path(), args=[*CHROMIUM_FLAGS, "--disable-quic"]
            )
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.on("pageerror", lambda exc: print("page error:", exc, file=sys.stderr))
            runs = [run_once(page, url, model_id, files) for _ in range(args.repeat)]
            if args.screenshot:
                page.evaluate("window.scrollTo(0, 0)")
                page.screenshot(path=str(args.screenshot))
                print(f"screenshot: {args.screenshot}")
            version = browser.version
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
    n = len(files)
    print(
        f"plate: {n} JPEGs of 2560×2160 px, {size_mb:.0f} MB; model {model_id}; Chromium {version}; "
        f"{os.cpu_count()} CPUs; {runs[0]['badge']}"
    )
    cores = min(2, os.cpu_count() or 1)
    for i, r in enumerate(runs, 1):
        print(
            f"run {i}: end to end {r['wall']:.2f} s (files in → all scored and fitted), "
            f"page's own timing {r['page']:.2f} s, {1000 * r['wall'] / n:.0f} ms per image; "
            f"Chromium CPU time {r['cpu']:.1f} s → {r['cpu'] / cores:.1f} s on {cores} idle cores"
        )
    print(
        f"load average before the runs: {load:.1f} on {os.cpu_count()} CPUs (other work slows the wall time)"
    )
    walls = [r["wall"] for r in runs]
    wall = statistics.median(walls)
    cpu = statistics.median(r["cpu"] for r in runs)
    print(
        f"median end to end: {wall:.2f} s for {n} images ({1000 * wall / n:.0f} ms per image, model already "
        f"loaded); median Chromium CPU time {cpu:.1f} s, i.e. about {cpu / cores:.1f} s on {cores} idle cores"
    )
    timings = [t for r in runs for t in r["timings"]]
    for key in ("decode_ms", "resize_ms", "predict_ms", "total_ms"):
        median = statistics.median(t[key] for t in timings)
        print(f"  per image in a worker, {key[:-3]:>7}: median {median:6.1f} ms")
    tensors = {n for r in runs for n in r["tensors"]}
    print(f"TF.js tensors in each worker after every image: {sorted(tensors)} (must not grow)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
