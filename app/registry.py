"""The model registry: ``models/<id>/`` folders (TF.js files + ``card.json``) → model cards.

The card format is documented in ``docs/model-card.md``. A folder is listed only when its card parses and the
TF.js model file it names exists; a broken folder is skipped and reported in :attr:`Registry.problems`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ModelEntry", "Registry", "load_registry"]

_REQUIRED = ("id", "name", "cell_line", "format", "model_file", "input")
_HEAVY_KEYS = frozenset({"ood"})


@dataclass(frozen=True)
class ModelEntry:
    """One servable model: its folder and its card (the card's JSON as a dict)."""

    id: str
    folder: Path
    card: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        """The card as the page and ``/api/models`` get it: with ``model_url``, without the bulky keys.

        The out-of-distribution block (``ood``: PCA components, ~150 kB) stays in ``card.json``, which the
        page fetches (cached) when it needs it.
        """
        light = {k: v for k, v in self.card.items() if k not in _HEAVY_KEYS}
        return {**light, "model_url": f"/models/{self.id}/{self.card['model_file']}",
                "card_url": f"/models/{self.id}/card.json"}  # fmt: skip


@dataclass(frozen=True)
class Registry:
    """All servable models, by id, in a stable order (by name), and the folders that were skipped."""

    models: tuple[ModelEntry, ...]
    problems: tuple[str, ...] = field(default=())

    def get(self, model_id: str) -> ModelEntry | None:
        """The model with this id, or None."""
        return next((m for m in self.models if m.id == model_id), None)


def _read_entry(folder: Path) -> ModelEntry:
    card_path = folder / "card.json"
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{card_path}: unreadable model card ({exc})") from exc
    if not isinstance(card, dict):
        raise ValueError(f"{card_path}: the card must be a JSON object")
    missing = [k for k in _REQUIRED if k not in card]
    if missing:
        raise ValueError(f"{card_path}: missing keys {missing}")
    if card["id"] != folder.name:
        raise ValueError(f"{card_path}: card id {card['id']!r} differs from its folder name {folder.name!r}")
    model_file = folder / str(card["model_file"])
    if not model_file.is_file() or model_file.resolve().parent != folder.resolve():
        raise ValueError(f"{card_path}: model file {card['model_file']!r} not found in {folder}")
    return ModelEntry(id=folder.name, folder=folder, card=card)


def load_registry(models_dir: Path) -> Registry:
    """Scan ``models_dir`` for model folders (each with ``card.json``); missing dir → empty registry."""
    entries: list[ModelEntry] = []
    problems: list[str] = []
    if models_dir.is_dir():
        for folder in sorted(p for p in models_dir.iterdir() if (p / "card.json").is_file()):
            try:
                entries.append(_read_entry(folder))
            except ValueError as exc:
                problems.append(str(exc))
    entries.sort(key=lambda e: str(e.card.get("name", e.id)))
    return Registry(models=tuple(entries), problems=tuple(problems))
