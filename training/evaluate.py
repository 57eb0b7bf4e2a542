"""Score trained models on held-out dose series, in the paper's terms (Tables 1 and 2, the 3×3 matrix).

    python -m training evaluate --model runs/a549 runs/hek293 runs/h1975 \\
        --data data/a549 data/hek293 data/h1975 --out runs/eval [--cv runs/cv-a549/cv.json ...]

For every model × cell line: the test series of that cell line (the series held out when the model of
that cell line was trained; never a series the evaluated model trained on) are predicted from their
un-augmented images — exactly what the browser does — and compared with the measured OD450:

* Table 1: r² and regression line (slope, intercept) of predicted on measured OD450, and the mean ± SD
  of the difference predicted − measured.
* Table 2: per series, the IC50 of a 4-parameter Hill fit (app.doseresponse.fit_hill) to the measured
  and to the predicted OD450; their means ± SD, paired and unpaired t-tests (on the IC50s in µM, like the
  paper), the median |log10(predicted / measured IC50)|, and, for synthetic data, the errors against the
  true IC50.
* With several models and cell lines: the allogenic matrix (r² of every model on every cell line).
* Plots: measured vs predicted scatter, Hill curves per test series, t-SNE of the backbone features
  coloured by concentration, and the r² matrix.

Writes evaluation.json (machine-readable, used by export --evaluation), evaluation.md (for
people), predictions.csv (one row per image) and plots/*.png. Nothing in them is typed by hand.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from training.dataset import split_series
from training.features import backbone_fingerprint
from training.model import feature_extractor, head_of
from training.predict import load_inputs, predict_inputs
from training.runs import load_datasets, load_run, package_versions
from training.tables import allogenic_matrix, score_predictions

__all__ = [
    "SCHEMA",
    "Evaluation",
    "PairResult",
    "TestImageCache",
    "evaluate_runs",
    "held_out_series",
    "inputs_and_features",
]

SCHEMA = "nostain.evaluation/1"


@dataclass
class TestImageCache:
    """Test images already decoded, and their backbone features, shared by every model evaluated with it.

    ``inputs``: ``(image paths, input size) → (n, S, S, 3)`` model inputs; ``features``: ``(image paths,
    input size, backbone fingerprint) → (n, F)`` pooled features. Models on the same frozen backbone
    (every head trained here) differ only in their head, so the backbone runs once per test set.
    """

    inputs: dict[tuple[tuple[str, ...], int], np.ndarray] = field(default_factory=dict)
    features: dict[tuple[tuple[str, ...], int, str], np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class PairResult:
    """One model on one cell line's test series.

    Attributes
    ----------
    entry : dict
        The JSON entry of ``evaluation.json``: model, cell line, test series, Tables 1 and 2.
    frame : DataFrame
        The test images' manifest rows with ``predicted`` (OD450).
    features : ndarray, shape (n_images, F)
        Pooled backbone features of the test images (for the t-SNE plot).
    curves : list of dict
        The per-series Hill fits behind Table 2 (:attr:`training.tables.Scores.curves`).
    """

    entry: dict[str, Any]
    frame: pd.DataFrame
    features: np.ndarray
    curves: list[dict[str, Any]]


@dataclass(frozen=True)
class Evaluation:
    """Everything :func:`evaluate_runs` measured; :mod:`training.report` writes it to files."""

    pairs: list[PairResult]
    allogenic: dict[str, Any]
    cv: list[dict[str, Any]]
    versions: dict[str, str]
    created: str
    seeds: dict[str, Any] | None = None  # figures over training seeds (training.seeds), when repeated

    @property
    def evaluations(self) -> list[dict[str, Any]]:
        """The JSON entries, one per model × cell line."""
        return [pair.entry for pair in self.pairs]

    def to_json(self, plots: Sequence[str] = ()) -> dict[str, Any]:
        """The content of ``evaluation.json``, listing the written ``plots`` (paths relative to it)."""
        return {
            "schema": SCHEMA,
            "created": self.created,
            "versions": self.versions,
            "evaluations": self.evaluations,
            "allogenic": self.allogenic,
            "cv": self.cv,
            **({"seeds": self.seeds} if self.seeds is not None else {}),
            "plots": list(plots),
        }


def held_out_series(
    cell_line_rows: pd.DataFrame, run_config: dict[str, Any], other_configs: Sequence[dict[str, Any]]
) -> list[str]:
    """The test series of one cell line for one model.

    The series held out by the run that trained on them (this model, or another given model of that
    cell line); if no given run used them, the paper's split with this model's seed and test count.
    Raises ValueError if the result includes a series the model trained or validated on.
    """
    present = set(cell_line_rows["series"])
    seen = set(run_config["split"]["train"]) | set(run_config["split"]["val"])
    test: list[str] = []
    for cfg in [run_config, *other_configs]:
        candidates = present & set(cfg["split"]["test"])
        if candidates:
            test = sorted(candidates)
            break
    if not test:
        options = run_config["options"]
        seed = options["seed"] if options.get("split_seed") is None else options["split_seed"]
        test = list(split_series(cell_line_rows, n_test=options["n_test"], n_val=0, seed=seed).test)
    leaked = sorted(set(test) & seen)
    if leaked:
        raise ValueError(f"series {leaked[:3]} were used to train this model; they cannot test it")
    return test


def inputs_and_features(
    model: Any, paths: Sequence[str | Path], cache: TestImageCache, *, workers: int
) -> tuple[np.ndarray, np.ndarray]:
    """Model inputs ``(n, S, S, 3)`` (0–255) and pooled backbone features ``(n, F)`` of the images at
    ``paths``: decoded once per input size and run through the backbone once per backbone (kept in
    ``cache`` for every later model on the same backbone)."""
    key = (tuple(str(p) for p in paths), int(model.input_shape[1]))
    if key not in cache.inputs:
        cache.inputs[key] = load_inputs(list(paths), key[1], workers=workers)
    feature_key = (*key, backbone_fingerprint(feature_extractor(model)))
    if feature_key not in cache.features:
        cache.features[feature_key] = predict_inputs(model, cache.inputs[key])[1]
    return cache.inputs[key], cache.features[feature_key]


def _predict_test_images(
    model: Any, frame: pd.DataFrame, cache: TestImageCache, *, workers: int
) -> tuple[np.ndarray, np.ndarray]:
    """OD450 ``(n,)`` and features ``(n, F)`` of the frame's images (:func:`inputs_and_features`), the
    OD450 from this model's head."""
    _, features = inputs_and_features(model, list(frame["path"]), cache, workers=workers)
    od = np.asarray(head_of(model).predict_on_batch(features), dtype=np.float32)[:, 0]
    return od, features


def _evaluate_pair(
    name: str,
    path: Path,
    model: Any,
    run_config: dict[str, Any],
    others: list[dict[str, Any]],
    line: str,
    line_rows: pd.DataFrame,
    *,
    cache: TestImageCache,
    workers: int,
    say: Callable[..., Any],
) -> PairResult:
    """Predict and score one model on one cell line's test series."""
    test = held_out_series(line_rows, run_config, others)
    frame = line_rows[line_rows["series"].isin(test)].reset_index(drop=True)
    start = time.perf_counter()
    od, features = _predict_test_images(model, frame, cache, workers=workers)
    say(
        f"{name} on {line}: {len(frame)} test images of {len(test)} series "
        f"({time.perf_counter() - start:.1f} s)"
    )
    frame["predicted"] = od
    scores = score_predictions(frame)
    synthetic = bool("synthetic" in frame and frame["synthetic"].fillna(False).astype(bool).all())
    entry = {
        "model": name,
        "model_path": str(path),
        "model_cell_lines": run_config["data"]["cell_lines"],
        "cell_line": line,
        "data": sorted(set(frame["dataset"])),
        "autologous": line in run_config["data"]["cell_lines"],
        "synthetic": synthetic,
        "test_series": test,
        **scores.to_dict(),
    }
    return PairResult(entry=entry, frame=frame, features=features, curves=scores.curves)


def evaluate_runs(
    run_dirs: Sequence[str | Path],
    data_dirs: Sequence[str | Path],
    *,
    cv_files: Sequence[str | Path] = (),
    workers: int = 2,
    log: Callable[..., Any] | None = None,
    cache: TestImageCache | None = None,
) -> Evaluation:
    """Evaluate every run on every cell line of the data (nothing is written; see :mod:`training.report`).

    Parameters
    ----------
    run_dirs : paths
        Training run folders (:func:`training.train.train_run`); the folder name is the model's name.
    data_dirs : paths
        Dataset folders (their manifests are concatenated).
    cv_files : paths
        ``cv.json`` files to include (:mod:`training.cv`).
    workers : int
        Image decoding threads.
    log : callable, optional
        Called with progress lines (e.g. ``print``).
    cache : TestImageCache, optional
        Decoded test images and backbone features to reuse (and fill), e.g. across several calls on the
        same data; default: a new one for this call.

    Returns
    -------
    Evaluation
        One :class:`PairResult` per model × cell line (in run order, cell lines sorted), the allogenic
        matrix, the CV results, package versions and the time of the evaluation.
    """
    say = log or (lambda *a: None)
    manifest, _ = load_datasets([Path(d) for d in data_dirs])
    runs = [(Path(r).name, Path(r).resolve(), *load_run(r)) for r in run_dirs]
    cache = cache if cache is not None else TestImageCache()
    pairs = []
    for name, path, model, run_config in runs:
        others = [c for n, _, _, c in runs if n != name]
        for line, line_rows in sorted(manifest.groupby("cell_line")):
            pairs.append(
                _evaluate_pair(
                    name,
                    path,
                    model,
                    run_config,
                    others,
                    str(line),
                    line_rows,
                    cache=cache,
                    workers=workers,
                    say=say,
                )
            )
    return Evaluation(
        pairs=pairs,
        allogenic=allogenic_matrix([p.entry for p in pairs]),
        cv=[json.loads(Path(p).read_text(encoding="utf-8")) for p in cv_files],
        versions=package_versions(),
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
