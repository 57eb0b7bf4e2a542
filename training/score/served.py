"""The models the page serves, run in Python: ``models/<id>/`` (card/2) read as the server lists it, and its
two TF.js graph models (backbone: pixels → features; head: features → OD450) run by TensorFlow.

No second copy of the weights: the TF.js files themselves are loaded with the maintained
``tfjs-graph-converter`` package (pinned in the training extra), which turns a TF.js graph model back into
a TensorFlow graph, splitting TF.js' own fused depthwise convolutions into TensorFlow ops. Like the page
(``static/js/model.js``), :meth:`ServedModel.reference_check` runs the card's reference input and compares
its OD450 with the browser's, recorded at export (``verification.reference.od450``); a model that differs
by more than the card's tolerance is refused (:class:`ParityError`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.registry import ModelEntry, load_registry
from training.export import reference_input

__all__ = ["ParityError", "ReferenceCheck", "ServedModel", "find_model", "rival_cards"]

#: |Δ OD450| allowed against the browser's reference value when the card does not say (the export's).
DEFAULT_TOLERANCE_OD450 = 1e-3


class ParityError(RuntimeError):
    """The model gives another OD450 than the browser on the card's reference input."""


def find_model(model_dir: str | Path) -> ModelEntry:
    """The model folder as the server lists it (``app.registry``), or ValueError saying why it is not listed.

    Parameters
    ----------
    model_dir : str or Path
        ``models/<id>``: the folder holding ``card.json`` (card/2) next to ``models/backbones/``.
    """
    folder = Path(model_dir).expanduser().resolve()
    if not (folder / "card.json").is_file():
        raise ValueError(f"{folder}: no card.json (give a model folder such as models/a549-m)")
    registry = load_registry(folder.parent)
    entry = registry.get(folder.name)
    if entry is None:
        why = [p for p in registry.problems if str(folder) in p] or list(registry.problems)
        raise ValueError(f"{folder.name}: the server would not list this model: {'; '.join(why)}")
    if entry.backbone is None:
        raise ValueError(
            f"{folder.name}: an older single-file model (nostain.model-card/1); convert it with "
            "scripts/convert_card1_models.py"
        )
    if entry.card["head"].get("format", "tfjs_graph_model") != "tfjs_graph_model":
        raise ValueError(
            f"{folder.name}: its head is a {entry.card['head'].get('format')}; only graph heads run"
        )
    return entry


def rival_cards(entry: ModelEntry) -> list[dict[str, Any]]:
    """The other listed models on the same backbone (fingerprint and input size) that carry an ``ood`` block:
    the cards the page's wrong-model check compares a well with (``static/js/trust.js``)."""
    registry = load_registry(entry.folder.parent)
    fingerprint, size = entry.card["backbone"]["fingerprint"], entry.card["input"]["size"]
    return [
        m.card
        for m in registry.models
        if m.id != entry.id
        and m.card.get("ood")
        and m.card.get("backbone", {}).get("fingerprint") == fingerprint
        and m.card["input"].get("size") == size
    ]


@dataclass(frozen=True)
class ReferenceCheck:
    """The card's reference input run here against the browser's OD450 for it (recorded at export)."""

    od450: float
    browser_od450: float | None
    tolerance: float

    @property
    def difference(self) -> float | None:
        """|Δ OD450| between this engine and the browser (None when the card records no reference)."""
        return None if self.browser_od450 is None else abs(self.od450 - self.browser_od450)

    def to_dict(self) -> dict[str, Any]:
        return {
            "od450": self.od450,
            "browser_od450": self.browser_od450,
            "abs_difference": self.difference,
            "tolerance": self.tolerance,
        }


class ServedModel:
    """A served model (backbone + head graph models) loaded into TensorFlow in this process.

    Parameters
    ----------
    entry : ModelEntry
        From :func:`find_model`.
    threads : int, optional
        TensorFlow's intra-op threads (a Dask worker with one thread uses one core). Applied only when
        TensorFlow has not started yet in this process.
    """

    def __init__(self, entry: ModelEntry, *, threads: int | None = None):
        # TensorFlow's C++ log lines and TF-DF's banner (tensorflowjs imports it) say nothing to a user here.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")
        import tensorflow as tf  # lazy: TensorFlow takes seconds to import; only scoring needs it
        import tfjs_graph_converter.api as tfjs_graph  # lazy: it imports tensorflowjs and TensorFlow

        if threads is not None:
            try:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(threads)
            except RuntimeError:  # TensorFlow already started in this process: its threads stay as they are
                pass
        assert entry.backbone is not None  # find_model refuses card/1 folders
        self.entry = entry
        self.size = int(entry.card["input"]["size"])
        self._tf = tf
        backbone_dir = entry.backbone.folder
        head_file = entry.folder / entry.card["head"]["model_file"]
        self._backbone = tfjs_graph.graph_to_function_v2(tfjs_graph.load_graph_model(str(backbone_dir)))
        self._head = tfjs_graph.graph_to_function_v2(tfjs_graph.load_graph_model(str(head_file.parent)))

    def predict(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predicted OD450 ``(n,)`` and pooled backbone features ``(n, F)`` of model inputs.

        Parameters
        ----------
        inputs : ndarray, shape (n, S, S, 3)
            Raw 0–255 floats, as :func:`training.preprocess.preprocess` gives them (the page's input).
        """
        batch = self._tf.constant(np.asarray(inputs, dtype=np.float32))
        (features,) = self._backbone(batch)
        (od450,) = self._head(features)
        return od450.numpy()[:, 0].astype(np.float32), features.numpy().astype(np.float32)

    def reference_check(self) -> ReferenceCheck:
        """Run the card's reference input; ParityError when it differs from the browser's beyond tolerance."""
        verification = self.entry.card.get("verification") or {}
        reference = verification.get("reference") or {}
        od450, _ = self.predict(reference_input(self.size)[None])
        check = ReferenceCheck(
            od450=float(od450[0]),
            browser_od450=reference.get("od450"),
            tolerance=float(verification.get("tolerance_od450") or DEFAULT_TOLERANCE_OD450),
        )
        if check.difference is not None and check.difference > check.tolerance:
            raise ParityError(
                f"{self.entry.id}: OD450 {check.od450:.6f} on the reference input, the browser gave "
                f"{check.browser_od450:.6f} (|Δ| {check.difference:.2g} > {check.tolerance:g}): "
                "are the model files damaged?"
            )
        return check
