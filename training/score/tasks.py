"""What runs inside the Dask workers: the model, loaded once per worker by a worker plugin, and two tasks.

- :class:`ModelPlugin` loads the served model when a worker starts (and again in a worker that replaces a
  lost one), with TensorFlow on as many threads as the worker has (one, by default), and runs the page's
  reference check on it. It also lets the worker reuse the memory it frees
  (:func:`training.score.heap.reuse_freed_memory`: decoding costs 40 % less CPU).
- :func:`score_batch` decodes a batch of a plate's images with the page's rule and the run's image options
  (:func:`training.score.decode.decode_well`) and runs the model on them; a file that cannot be read is
  named with the reason, and the batch goes on.
- With ``--window plate``, :func:`batch_windows` first collects a batch's own windows (small objects, never
  pixels) and :func:`training.score.decode.plate_window_of` makes the plate's window of them, in a worker;
  the plate's :func:`score_batch` tasks wait for it.
- :func:`finish_plate` gets a plate's batches once they are all done, and judges and fits it there
  (:func:`training.score.plate.plate_tables`): only the plate's tables and timings go back to the client
  (:class:`PlateResult`), never the batches' features.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from distributed import Worker, WorkerPlugin, get_worker
from PIL import Image

from training.preprocess import Window
from training.score.archive import PlateJob
from training.score.decode import ImageOptions, data_windows, decode_well
from training.score.heap import reuse_freed_memory
from training.score.judge import with_arrays
from training.score.plate import PlateTables, Scored, plate_tables
from training.score.served import ReferenceCheck, ServedModel, find_model, rival_cards
from training.trust.ood import image_stats

__all__ = [
    "BatchResult",
    "ModelPlugin",
    "PlateResult",
    "batch_windows",
    "finish_plate",
    "plugin_name",
    "reference_check",
    "score_batch",
]

#: What a file that cannot be decoded raises in :func:`training.score.decode.decode_well`, besides ValueError
#: (a bug raises others, and stops the plate).
_UNREADABLE = (OSError, Image.DecompressionBombError)


def plugin_name(model_dir: str | Path) -> str:
    """The plugin's name on a cluster: one per model folder (several runs may share a cluster)."""
    folder = str(Path(model_dir).expanduser().resolve())
    return f"nostain-score-{hashlib.sha256(folder.encode()).hexdigest()[:12]}"


class ModelPlugin(WorkerPlugin):
    """Loads a served model in each worker (:class:`training.score.served.ServedModel`).

    Parameters
    ----------
    model_dir : str
        ``models/<id>``, at the same path on every worker (a shared file system).
    """

    def __init__(self, model_dir: str):
        self.model_dir = str(Path(model_dir).expanduser().resolve())
        self.name = plugin_name(self.model_dir)
        self.model: ServedModel | None = None
        self.card: dict[str, Any] = {}
        self.rivals: list[dict[str, Any]] = []
        self.check: ReferenceCheck | None = None

    def setup(self, worker: Worker) -> None:
        reuse_freed_memory()
        entry = find_model(self.model_dir)
        self.model = ServedModel(entry, threads=worker.state.nthreads)
        self.card = with_arrays(entry.card)  # the trust check's matrices, read once
        self.rivals = [with_arrays(card) for card in rival_cards(entry)]
        self.check = self.model.reference_check()  # also the warm-up, as on the page

    def teardown(self, worker: Worker) -> None:
        self.model = None


def _plugin(name: str) -> ModelPlugin:
    plugin = get_worker().plugins[name]
    assert isinstance(plugin, ModelPlugin) and plugin.model is not None
    return plugin


def reference_check(name: str) -> dict[str, Any]:
    """The worker's reference check (a task: the client records it in the run's settings)."""
    check = _plugin(name).check
    assert check is not None
    return check.to_dict()


@dataclass(frozen=True)
class BatchResult:
    """A batch's scored images and how long decoding and inference took (s)."""

    scored: list[Scored]
    decode_s: float
    infer_s: float


def score_batch(
    name: str,
    root: str,
    images: Sequence[str],
    options: ImageOptions | None = None,
    plate_window: Window | None = None,
) -> BatchResult:
    """Decode and score images of one plate.

    Parameters
    ----------
    name : str
        The model plugin's name (:func:`plugin_name`).
    root : str
        The archive folder, as the workers see it.
    images : sequence of str
        Paths below ``root``.
    options : ImageOptions, optional
        The run's plane, channel and window choices (default: the page's rules).
    plate_window : Window, optional
        The plate's window, for ``options.window == "plate"``.
    """
    model = _plugin(name).model
    assert model is not None
    options = options or ImageOptions()
    start = time.perf_counter()
    inputs, readable, used, problems = [], [], [], {}
    for image in images:
        try:
            pixels, what = decode_well(Path(root) / image, model.size, options, plate_window)
        except ValueError as exc:  # decode_well names the file and says why
            problems[image] = str(exc)
        except _UNREADABLE as exc:
            problems[image] = f"{Path(image).name}: cannot be read ({type(exc).__name__}: {exc})"
        else:
            inputs.append(pixels)
            readable.append(image)
            used.append(what)
    decoded = time.perf_counter()
    scored = {image: Scored(image, None, problem=problem) for image, problem in problems.items()}
    if inputs:
        od450, features = model.predict(np.stack(inputs))
        for k, image in enumerate(readable):
            scored[image] = Scored(image, float(od450[k]), features[k], image_stats(inputs[k]), used=used[k])
    return BatchResult([scored[i] for i in images], decoded - start, time.perf_counter() - decoded)


def batch_windows(name: str, root: str, images: Sequence[str], options: ImageOptions) -> list[Window]:
    """The own windows of a batch's images (:func:`training.score.decode.data_windows`), for the plate's."""
    model = _plugin(name).model
    assert model is not None
    return data_windows([Path(root) / image for image in images], model.size, options)


@dataclass(frozen=True)
class PlateResult:
    """What a finished plate sends back to the client: its tables and its batches' decoding and inference
    times (s)."""

    tables: PlateTables
    decode_s: float
    infer_s: float


def finish_plate(name: str, plate: PlateJob, *batches: BatchResult) -> PlateResult:
    """A plate's tables once all its batches are scored (judged and fitted in the worker)."""
    plugin = _plugin(name)
    assert plugin.model is not None
    scored = [s for batch in batches for s in batch.scored]
    tables = plate_tables(plate, scored, plugin.card, plugin.rivals)
    return PlateResult(tables, sum(b.decode_s for b in batches), sum(b.infer_s for b in batches))
