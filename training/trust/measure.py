"""How often the page's trust check flags wells: every model's ``ood`` block against every cell line's test
series (the paper's 3×3) and against images that are not bright-field wells at all (issue 9's measurement).

A well is flagged exactly as ``static/js/ood.js`` flags it: feature distance or PCA residual beyond the
99th percentile of the card's held-out images; or another bundled card on the same backbone describes it
better (smaller distance relative to its own 99th percentiles); or image statistics outside the card's ranges.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from training.evaluate import TestImageCache, inputs_and_features
from training.features import backbone_fingerprint
from training.model import feature_extractor
from training.predict import predict_inputs
from training.runs import load_datasets, load_run
from training.trust.ood import image_stats, is_brightfield, ood_scores

__all__ = ["flag_table_markdown", "flag_wells", "measure_flags", "non_microscopy_images"]


def _relative(block: Mapping[str, Any], features: np.ndarray) -> np.ndarray:
    """Distance relative to the block's own 99th percentiles: max(distance / q99, residual / q99), (n,)."""
    distance, residual = ood_scores(block, features)
    q = list(block["quantiles"]).index(0.99)
    return np.maximum(distance / block["distance_quantiles"][q], residual / block["residual_quantiles"][q])


def flag_wells(
    ood: Mapping[str, Any],
    features: np.ndarray,
    inputs: np.ndarray,
    rivals: Sequence[Mapping[str, Any]] = (),
) -> np.ndarray:
    """Boolean ``(n,)``: which wells the page would flag.

    Parameters
    ----------
    ood : the card's ``ood`` block (``features``, ``image_stats``)
    features : ndarray, shape (n, F)
        Pooled backbone features (the exported model's second output).
    inputs : ndarray, shape (n, S, S, 3)
        The model inputs (0–255) the features came from.
    rivals : other bundled cards' ``ood`` blocks on the same backbone: a well that one of them describes
        better (smaller relative distance) looks more like its training images and is flagged too.
    """
    own = _relative(ood["features"], features)
    unlike = own > 1
    for rival in rivals:
        unlike |= _relative(rival["features"], features) < own
    not_bf = np.array([not is_brightfield(image_stats(x), ood["image_stats"])[0] for x in inputs])
    return unlike | not_bf


def non_microscopy_images(size: int, rng: np.random.Generator, *, n_each: int = 8) -> dict[str, np.ndarray]:
    """Model inputs that are not bright-field wells, ``(n_each, size, size, 3)`` each (all made up here).

    ``blank`` (an even grey frame), ``dark`` (a nearly black frame), ``fluorescence`` (bright spots on black),
    ``colour photo`` (smooth colourful shapes), ``noise`` (uniform random pixels).
    """
    yy, xx = np.mgrid[0:size, 0:size] / size
    out: dict[str, list[np.ndarray]] = {
        k: [] for k in ("blank", "dark", "fluorescence", "colour photo", "noise")
    }
    for _ in range(n_each):
        out["blank"].append(
            np.full((size, size, 3), rng.uniform(90, 200)) + rng.normal(0, 1, (size, size, 3))
        )
        out["dark"].append(rng.uniform(0, 12, (size, size, 3)))
        spots = np.zeros((size, size))
        for cy, cx in rng.uniform(0, 1, (rng.integers(20, 60), 2)):
            spots += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 0.01**2))
        green = np.clip(spots * rng.uniform(150, 255), 0, 255)
        out["fluorescence"].append(np.stack([green * 0.2, green, green * 0.2], axis=-1))
        phase = rng.uniform(0, 2 * np.pi, 3)
        photo = [
            127 + 120 * np.sin(2 * np.pi * (xx * rng.uniform(0.5, 2)) + phase[c] + yy * 3) for c in range(3)
        ]
        out["colour photo"].append(np.stack(photo, axis=-1))
        out["noise"].append(rng.uniform(0, 255, (size, size, 3)))
    return {k: np.clip(np.stack(v), 0, 255).astype(np.float32) for k, v in out.items()}


def flag_table_markdown(
    flagged: Mapping[tuple[str, str], float],
    models: Sequence[str],
    rows: Sequence[str],
    model_line: Mapping[str, str],
) -> str:
    """Markdown table of flagged fractions: rows = data, columns = models; right model marked ✓."""
    lines = ["| data ↓ / model → | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
    for row in rows:
        cells = []
        for m in models:
            frac = flagged.get((row, m))
            mark = " (right model)" if model_line.get(m) == row else ""
            cells.append("—" if frac is None else f"{100 * frac:.0f} %{mark}")
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cards_with_ood(models_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Exported cards that carry an ``ood`` block, by the card's ``name``."""
    cards = {}
    for card_path in sorted(Path(models_dir).glob("*/card.json")):
        card = json.loads(card_path.read_text(encoding="utf-8"))
        if card.get("ood"):
            cards[card["name"]] = card
    return cards


def _rivals(cards: Mapping[str, dict[str, Any]], models: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """For each model, the ``ood`` blocks of the other cards on the same backbone (same fingerprint)."""
    fingerprint = {m: cards[m]["ood"].get("backbone_fingerprint") for m in cards}
    return {
        m: [cards[o]["ood"] for o in cards if o != m and fingerprint[o] and fingerprint[o] == fingerprint[m]]
        for m in models
    }


def measure_flags(
    runs: Sequence[str | Path],
    datasets: Sequence[str | Path],
    models_dir: str | Path,
    *,
    seed: int = 0,
    workers: int = 2,
    cache: TestImageCache | None = None,
) -> str:
    """Score every run's test series of every cell line, and non-microscopy images, with every exported card.

    Parameters
    ----------
    runs : run folders (``model.h5`` + ``config.json``), one per model, named like the card's ``name``
    datasets : dataset folders (manifest.csv), one per cell line
    models_dir : folder of exported models (``<id>/card.json`` with an ``ood`` block)
    cache : the test images and backbone features an evaluation of the same runs already computed
        (:class:`training.evaluate.TestImageCache`; default: computed here, the backbone once per backbone)

    Returns
    -------
    str
        Markdown: the 3×3 table of flagged fractions and the non-microscopy table.
    """
    cards = _cards_with_ood(models_dir)
    manifest, _ = load_datasets([Path(d) for d in datasets])
    loaded = {Path(r).name: load_run(r) for r in runs}
    test_series = {s for _, cfg in loaded.values() for s in cfg["split"]["test"]}
    models = [m for m in loaded if m in cards]
    model_line = {m: cards[m]["cell_line"] for m in models}
    rivals = _rivals(cards, models)
    size = int(next(iter(loaded.values()))[0].input_shape[1])
    lines = sorted(manifest["cell_line"].unique())
    is_test = {line: (manifest["cell_line"] == line) & manifest["series"].isin(test_series) for line in lines}
    cache = cache if cache is not None else TestImageCache()
    test_paths = {line: list(manifest[is_test[line]]["path"]) for line in lines}
    fakes = non_microscopy_images(size, np.random.default_rng(seed))
    flagged: dict[tuple[str, str], float] = {}
    for row, paths in test_paths.items():
        for m in models:  # decoded once; the backbone runs once per backbone (the cache's key)
            inputs, feats = inputs_and_features(loaded[m][0], paths, cache, workers=workers)
            flagged[(row, m)] = float(flag_wells(cards[m]["ood"], feats, inputs, rivals[m]).mean())
    # The made-up images: all kinds in one pass per backbone (their features do not depend on the head).
    made_up = np.concatenate(list(fakes.values()))
    by_backbone: dict[str, np.ndarray] = {}
    for m in models:
        fingerprint = backbone_fingerprint(feature_extractor(loaded[m][0]))
        if fingerprint not in by_backbone:
            by_backbone[fingerprint] = predict_inputs(loaded[m][0], made_up)[1]
        start = 0
        for row, inputs in fakes.items():
            feats = by_backbone[fingerprint][start : start + len(inputs)]
            start += len(inputs)
            flagged[(row, m)] = float(flag_wells(cards[m]["ood"], feats, inputs, rivals[m]).mean())
    n_test = {line: int(is_test[line].sum()) for line in lines}
    return (
        "### Wells flagged by the trust check (share of test wells; target ≤ 5 % on the right model, "
        "≥ 95 % on the wrong ones)\n\n"
        + f"Test wells per cell line: {', '.join(f'{k} {v}' for k, v in n_test.items())}.\n\n"
        + flag_table_markdown(flagged, models, lines, model_line)
        + f"\n### Non-microscopy images ({len(next(iter(fakes.values())))} of each kind, made up in "
        "`training/ood_eval.py`)\n\n" + flag_table_markdown(flagged, models, list(fakes), model_line)
    )
