"""Run a converted TF.js model in headless Chromium (the app's own TF.js, wasm backend); return its outputs.

Used by :mod:`training.export` to prove that the browser reproduces Keras. The model folder and the vendored
``static/vendor/tf.min.js`` + ``tf-backend-wasm.min.js`` + ``*.wasm`` are served from a throw-away
``http.server`` on 127.0.0.1 (a background thread); Playwright drives Debian's ``/usr/bin/chromium`` (or
``$NOSTAIN_CHROMIUM``) — no browser download, no network.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["BrowserRun", "chromium_path", "run_in_browser"]

_ROOT = Path(__file__).resolve().parent.parent
VENDOR_DIR = _ROOT / "static" / "vendor"
_VENDOR_FILES = (
    "tf.min.js",
    "tf-backend-wasm.min.js",
    "tfjs-backend-wasm.wasm",
    "tfjs-backend-wasm-simd.wasm",
    "tfjs-backend-wasm-threaded-simd.wasm",
)
#: Flags that work headless on these machines (shared/FACTS.md, "Chromium and Playwright").
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
)

_PAGE = """<!doctype html><meta charset="utf-8"><title>nostain tfjs check</title>
<script src="vendor/tf.min.js"></script><script src="vendor/tf-backend-wasm.min.js"></script>
<script>
const load = (format, url) => (format === 'graph' ? tf.loadGraphModel(url) : tf.loadLayersModel(url));
window.runCheck = async (format, shape, backend, headFormat) => {
  if (backend === 'wasm') tf.wasm.setWasmPaths(new URL('vendor/', location.href).href);
  if (!(await tf.setBackend(backend))) throw new Error(`TF.js backend ${backend} could not start`);
  await tf.ready();
  const model = await load(format, 'model/model.json');
  const head = headFormat ? await load(headFormat, 'head/model.json') : null;
  const buffer = await (await fetch('input.bin')).arrayBuffer();
  const x = tf.tensor(new Float32Array(buffer), shape, 'float32');
  let out = model.predict(x);
  if (!Array.isArray(out)) out = [out];
  if (head) out = [head.predict(out[0]), out[0]];
  const result = {backend: tf.getBackend(), tfjs: tf.version.tfjs, outputs: []};
  for (const t of out) result.outputs.push({shape: t.shape, values: Array.from(await t.data())});
  tf.dispose(out); x.dispose();
  return result;
};
</script>"""


@dataclass(frozen=True)
class BrowserRun:
    """What the browser returned: one array per model output (in the model's output order)."""

    outputs: tuple[np.ndarray, ...]
    backend: str
    tfjs_version: str
    browser_version: str


def chromium_path() -> str:
    """``$NOSTAIN_CHROMIUM`` or Debian's ``/usr/bin/chromium``; raises FileNotFoundError naming the fix."""
    path = os.environ.get("NOSTAIN_CHROMIUM") or "/usr/bin/chromium"
    if not Path(path).is_file():
        raise FileNotFoundError(
            f"Chromium not found at {path}: install it (apt-get install chromium, or ./run test does it) "
            "or set NOSTAIN_CHROMIUM"
        )
    return path


class _Handler(http.server.SimpleHTTPRequestHandler):
    def guess_type(self, path: str | os.PathLike[str]) -> str:
        """``application/wasm`` for ``.wasm`` files (TF.js streams them only with this type)."""
        return "application/wasm" if str(path).endswith(".wasm") else super().guess_type(path)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def _serve(root: Path) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 (free port) in a thread; yields the base URL."""
    handler = functools.partial(_Handler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def run_in_browser(
    model_dir: str | Path,
    inputs: np.ndarray,
    *,
    format: str = "graph",
    backend: str = "wasm",
    head_dir: str | Path | None = None,
    head_format: str = "graph",
    timeout_s: float = 120.0,
) -> BrowserRun:
    """Load ``model_dir/model.json`` with TF.js in headless Chromium and predict ``inputs``.

    Parameters
    ----------
    model_dir : path
        Folder holding ``model.json`` and its weight shards: a whole model, or a backbone when ``head_dir``
        is given.
    inputs : ndarray, shape (N, S, S, 3)
        Raw 0–255 float pixels, exactly what the page feeds the model.
    format : {"graph", "layers"}
        ``tf.loadGraphModel`` or ``tf.loadLayersModel``.
    backend : {"wasm", "cpu", "webgl"}
        TF.js backend (the app uses wasm on a CPU; webgl here runs on Chromium's software renderer).
    head_dir : path, optional
        A head model folder (``model.json``: features ``(N, F)`` → OD450 ``(N, 1)``) applied to the first
        output of ``model_dir``, as the page does with a shared backbone (``docs/model-card.md``).
    head_format : {"graph", "layers"}

    Returns
    -------
    BrowserRun
        ``outputs[k]`` has the shape TF.js reported for output ``k``; with a head: ``(od450, features)``.
    """
    for name, value in (("format", format), ("head_format", head_format)):
        if value not in ("graph", "layers"):
            raise ValueError(f"{name} must be 'graph' or 'layers'; got {value!r}")
    folders = {"model": Path(model_dir)}
    if head_dir is not None:
        folders["head"] = Path(head_dir)
    for role, folder in folders.items():
        if not (folder / "model.json").is_file():
            raise ValueError(f"{role} folder has no model.json: {folder}")
    inputs = np.ascontiguousarray(inputs, dtype="<f4")
    if inputs.ndim != 4 or inputs.shape[-1] != 3:
        raise ValueError(f"inputs must have shape (N, S, S, 3); got {inputs.shape}")
    page_args: list[object] = [format, list(inputs.shape), backend, head_format if head_dir else None]
    # Playwright's sync API refuses to start in a thread whose event loop is busy (e.g. inside another
    # sync_playwright session, as in a test run): run it in a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_run_in_browser, folders, inputs, page_args, timeout_s).result()


def _run_in_browser(
    folders: dict[str, Path], inputs: np.ndarray, page_args: list[object], timeout_s: float
) -> BrowserRun:
    from playwright.sync_api import sync_playwright  # lazy: optional, needed only for the browser check

    executable = chromium_path()
    with tempfile.TemporaryDirectory(prefix="nostain-tfjs-") as tmp:
        root = Path(tmp)
        (root / "index.html").write_text(_PAGE, encoding="utf-8")
        (root / "input.bin").write_bytes(inputs.tobytes())
        for role, folder in folders.items():
            (root / role).symlink_to(folder.resolve(), target_is_directory=True)
        (root / "vendor").mkdir()
        for name in _VENDOR_FILES:
            (root / "vendor" / name).symlink_to(VENDOR_DIR / name)
        with _serve(root) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=list(CHROMIUM_FLAGS))
            try:
                page = browser.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.goto(url + "index.html")
                page.set_default_timeout(timeout_s * 1000)
                try:
                    result = page.evaluate("(args) => window.runCheck(...args)", page_args)
                except Exception as exc:
                    raise RuntimeError(
                        f"TF.js could not run {folders['model']}: {exc}; page errors: {errors}"
                    ) from exc
                version = browser.version
            finally:
                browser.close()
    outputs = tuple(
        np.asarray(out["values"], dtype=np.float32).reshape(out["shape"]) for out in result["outputs"]
    )
    return BrowserRun(
        outputs=outputs,
        backend=str(result["backend"]),
        tfjs_version=str(result["tfjs"]),
        browser_version=version,
    )


def _main() -> None:  # pragma: no cover - manual smoke test: python -m training.tfjs_check MODEL_DIR
    folder = Path(sys.argv[1])
    size = json.loads((folder / "card.json").read_text())["input"]["size"]
    run = run_in_browser(folder, np.full((1, size, size, 3), 128.0, np.float32))
    print(run.backend, run.tfjs_version, run.browser_version, [o.shape for o in run.outputs])


if __name__ == "__main__":  # pragma: no cover
    _main()
