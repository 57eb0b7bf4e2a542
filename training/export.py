"""Convert a trained model to TF.js for the app, write its model card, and check it in a browser.

    python -m training export runs/a549 --id a549-m --name A549-M --evaluation runs/eval/evaluation.json

writes models/a549-m/ (model.json + weight shards + card.json), which the app lists in its model
dropdown on its next start. The converted model has two outputs, in this order: the predicted OD450
(N, 1) and the pooled backbone features (N, F) (the page uses them to warn about images unlike the
training images). After conversion the model is run in headless Chromium with the app's own TF.js (wasm
backend) and compared with Keras: the export fails if the predicted OD450 differs by more than 1e-3
(float32 weights) or the declared float16 tolerance (--quantize float16).
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

from training.model import export_model, quiet_tensorflow
from training.preprocess import INPUT_SIZE, preprocess
from training.runs import load_run, package_versions
from training.tfjs_check import run_in_browser
from training.trust.card_block import ood_block_for_run

__all__ = [
    "CARD_SCHEMA",
    "FLOAT16_TOLERANCE",
    "FLOAT32_TOLERANCE",
    "FORMATS",
    "ExportOptions",
    "ExportVerificationError",
    "card_evaluation",
    "card_from_run",
    "check_inputs",
    "export_run",
    "export_tfjs",
]

CARD_SCHEMA = "nostain.model-card/1"
#: Largest allowed |Δ OD450| between Keras and the browser with float32 weights.
FLOAT32_TOLERANCE = 1e-3
#: Declared tolerance with float16 weights (shared/FACTS.md measured max |Δ| 0.011 on a MobileNetV2 head).
FLOAT16_TOLERANCE = 0.05
#: ``--format`` choices → the card's ``format``.
FORMATS = {"graph": "tfjs_graph_model", "layers": "tfjs_layers_model"}
_OUTPUTS = ["od450", "features"]
_PREPROCESSING = (
    "whole image, area-average downscale to size×size (training/preprocess.py), raw 0–255 floats; "
    "the model rescales internally"
)


class ExportVerificationError(RuntimeError):
    """The browser's predictions differ from Keras' by more than the tolerance."""


def check_inputs(size: int, *, n: int = 3, rng: np.random.Generator | None = None) -> np.ndarray:
    """Inputs for the browser check: ``(n, size, size, 3)`` float32 0–255 (noise, a gradient, grey)."""
    rng = rng or np.random.default_rng(0)
    ramp = np.linspace(0.0, 255.0, size, dtype=np.float32)
    images = [
        rng.uniform(0.0, 255.0, (size, size, 3)).astype(np.float32),
        np.broadcast_to(ramp[None, :, None], (size, size, 3)).astype(np.float32),
        np.full((size, size, 3), 128.0, np.float32)
        + rng.normal(0.0, 8.0, (size, size, 3)).astype(np.float32),
    ]
    return np.clip(np.stack([images[i % len(images)] for i in range(n)]), 0.0, 255.0)


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


def _order_outputs(outputs: tuple[np.ndarray, ...], n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """The browser's outputs as (od450 (N,), features (N, F)), whatever order TF.js listed them in."""
    by_width = {int(o.shape[-1]): o for o in outputs}
    if len(outputs) != 2 or set(by_width) != {1, n_features}:
        raise ExportVerificationError(
            f"expected outputs of widths 1 and {n_features}; got {[o.shape for o in outputs]}"
        )
    return by_width[1][:, 0], by_width[n_features]


def _verify(
    export: Any,
    out_dir: Path,
    *,
    format: str,
    images: np.ndarray | None,
    synthetic: np.ndarray,
    quantize: str | None,
) -> dict[str, Any]:
    """Run Keras and TF.js-in-Chromium on the same inputs; raise if OD450 differs beyond the tolerance.

    float32: every input must agree within :data:`FLOAT32_TOLERANCE`. float16: the realistic ``images``
    (when given) must agree within :data:`FLOAT16_TOLERANCE`; the synthetic inputs (noise, a gradient: far
    from any training image, where float16 rounding is amplified most) are measured and recorded only.
    """
    parts = ([images] if images is not None else []) + [synthetic]
    inputs = np.concatenate(parts).astype(np.float32)
    n_images = 0 if images is None else len(images)
    od_keras, feat_keras = export.predict(inputs, verbose=0)
    run = run_in_browser(out_dir, inputs, format=format)
    widths = [int(o.shape[-1]) for o in run.outputs]
    od_js, feat_js = _order_outputs(run.outputs, int(feat_keras.shape[-1]))
    diff = np.abs(od_js - od_keras[:, 0])
    tolerance = FLOAT16_TOLERANCE if quantize == "float16" else FLOAT32_TOLERANCE
    judged = diff[:n_images] if quantize == "float16" and n_images else diff
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
        "output_order_in_browser": ["od450" if w == 1 else "features" for w in widths],
    }
    if not np.all(np.isfinite(diff)) or judged.max() > tolerance:
        raise ExportVerificationError(
            f"TF.js in Chromium ({run.backend}) differs from Keras by max |Δ OD450| = {judged.max():.3g} "
            f"> tolerance {tolerance:g} ({report['judged_on']}); the converted model in {out_dir} is wrong"
        )
    if widths != [1, int(feat_keras.shape[-1])]:
        raise ExportVerificationError(
            f"TF.js lists the outputs as {report['output_order_in_browser']}, not {_OUTPUTS}"
        )
    return report


def _conversion_fields(*, format: str, quantize: str | None, size: int, n_features: int) -> dict[str, Any]:
    """The card fields that describe the converted model: format, outputs, input, versions, time."""
    return {
        "schema": CARD_SCHEMA,
        "format": FORMATS[format],
        "model_file": "model.json",
        "outputs": list(_OUTPUTS),
        "n_features": n_features,
        "input": {
            "size": size,
            "channels": 3,
            "resize": "area",
            "pixel_range": [0, 255],
            "preprocessing": _PREPROCESSING,
        },
        "quantization": quantize,
        "versions": package_versions(),
        "created": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
    }


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
    """Convert ``keras_model`` to a TF.js model folder with its ``card.json``, and check it in Chromium.

    Parameters
    ----------
    keras_model : keras.Model
        A model from :func:`training.model.build_model` (one output) or its two-output export model.
    out_dir : path
        The model folder, ``models/<id>/``; replaced if it exists. Its name must equal ``card["id"]``
        (filled in from the folder name when the card has no id).
    card : dict
        The model card (see ``docs/model-card.md``). Filled in here, in place: ``schema``, ``id``,
        ``format``, ``model_file``, ``outputs``, ``input``, ``n_features``, ``quantization``, ``versions``,
        ``created`` and, when verified, ``verification``.
    format : {"graph", "layers"}
        ``tfjs_graph_model`` (default: folded batch norms, about twice as fast in the browser) or
        ``tfjs_layers_model``.
    quantize : {None, "float16"}
        float16 weights halve the download; the check then uses :data:`FLOAT16_TOLERANCE`.
    verify : bool
        Run the converted model in headless Chromium and compare with Keras (recommended).
    inputs : ndarray, shape (N, S, S, 3), optional
        Realistic raw 0–255 images for the check (e.g. a few training images, preprocessed); two synthetic
        inputs (:func:`check_inputs`) are always added.

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
    export = export_model(keras_model)
    size = int(export.input_shape[1])
    n_features = int(export.outputs[1].shape[-1])
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    _convert(export, out_dir, format=format, quantize=quantize)
    card.update(_conversion_fields(format=format, quantize=quantize, size=size, n_features=n_features))
    if verify:
        images = None if inputs is None else np.asarray(inputs, np.float32)
        synthetic = check_inputs(size, n=2 if images is not None else 3)
        card["verification"] = _verify(
            export, out_dir, format=format, images=images, synthetic=synthetic, quantize=quantize
        )
    else:
        warnings.warn(f"{out_dir}: TF.js output NOT verified against Keras (--no-verify)", stacklevel=2)
        card["verification"] = None
    (out_dir / "card.json").write_text(
        json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
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
        "imaging": data.get(
            "imaging",
            "bright-field, ×100, one centred field per well, RGB 2560×2160 (what the model expects)",
        ),
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
        TF.js format (:data:`FORMATS`).
    quantize : {None, "float16"}
        float16 weights halve the download.
    verify : bool
        Check the converted model in headless Chromium against Keras.
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


def _sample_inputs(run_config: dict[str, Any], size: int, n: int = 4) -> np.ndarray | None:
    """A few real training images, preprocessed like the page does, for the browser check."""
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
    """Export a training run as ``models_dir/model_id/`` (TF.js model + ``card.json``) for the app.

    Parameters
    ----------
    run_dir : path
        A training run folder (:func:`training.train.train_run`).
    models_dir : path
        The app's models folder.
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
        The card as written. Its ``ood`` is None when the run's training images are no longer where
        training found them, and absent when ``options.describe_images`` is False.
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
        inputs=_sample_inputs(run_config, size),
    )
    return card
