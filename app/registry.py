"""The model registry: the models folder → model cards for the page and ``/api/models``.

Two folder formats, both documented in ``docs/model-card.md``:

- ``nostain.model-card/2``: ``models/<id>/card.json`` + ``head/`` (features → OD450), on a backbone shared
  with other models, ``models/backbones/<backbone-id>/`` (``backbone.json`` + a TF.js graph model: pixels →
  features). Listed only when that backbone folder exists and its fingerprint and input size equal the
  card's, so that the page never pairs a head with features it was not trained on.
- ``nostain.model-card/1`` (older exports, still served): one TF.js model with both outputs,
  ``models/<id>/<model_file>``.

A broken folder is skipped and reported in :attr:`Registry.problems`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BACKBONES_FOLDER", "Backbone", "ModelEntry", "Registry", "load_registry"]

#: The folder of shared backbones inside the models folder (training/export.py writes it).
BACKBONES_FOLDER = "backbones"
_REQUIRED = {
    1: ("id", "name", "cell_line", "format", "model_file", "input"),
    2: ("id", "name", "cell_line", "input", "backbone", "head"),
}
#: Keys whose values must be JSON objects.
_OBJECTS = {1: ("input",), 2: ("input", "backbone", "head")}
_BACKBONE_REQUIRED = ("id", "fingerprint", "input", "model_file")
_HEAVY_KEYS = frozenset({"ood"})


@dataclass(frozen=True)
class Backbone:
    """One servable backbone: its folder and its ``backbone.json`` (as a dict)."""

    id: str
    folder: Path
    description: dict[str, Any]

    @property
    def url(self) -> str:
        """URL of its ``model.json``, versioned by its fingerprint (TF.js adds the query to every shard URL),
        so that the files can be cached for good."""
        d = self.description
        return f"/models/{BACKBONES_FOLDER}/{self.id}/{d['model_file']}?v={d['fingerprint'][:16]}"


@dataclass(frozen=True)
class ModelEntry:
    """One servable model: its folder, its card (the card's JSON as a dict) and its backbone (card/2)."""

    id: str
    folder: Path
    card: dict[str, Any]
    backbone: Backbone | None = None

    def summary(self) -> dict[str, Any]:
        """The card as the page and ``/api/models`` get it: with its files' URLs, without the bulky keys.

        The out-of-distribution block (``ood``: PCA components, ~0.25 MB) stays in ``card.json``, which the
        page fetches (cached) when it needs it. A card/2 model gets ``backbone_url`` and ``head_url``, a
        card/1 model ``model_url``.
        """
        light = {k: v for k, v in self.card.items() if k not in _HEAVY_KEYS}
        urls = {"card_url": f"/models/{self.id}/card.json"}
        if self.backbone is None:
            urls["model_url"] = f"/models/{self.id}/{self.card['model_file']}"
        else:
            urls["backbone_url"] = self.backbone.url
            urls["head_url"] = f"/models/{self.id}/{self.card['head']['model_file']}"
        return {**light, **urls}


@dataclass(frozen=True)
class Registry:
    """All servable models, by id, in a stable order (by name), their backbones, and what was skipped."""

    models: tuple[ModelEntry, ...]
    problems: tuple[str, ...] = field(default=())
    backbones: tuple[Backbone, ...] = field(default=())

    def get(self, model_id: str) -> ModelEntry | None:
        """The model with this id, or None."""
        return next((m for m in self.models if m.id == model_id), None)

    def backbone(self, backbone_id: str) -> Backbone | None:
        """The backbone with this id (used by at least one listed model), or None."""
        return next((b for b in self.backbones if b.id == backbone_id), None)


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: unreadable {what} ({exc})") from exc
    if not isinstance(value, dict):
        raise ValueError(f"{path}: the {what} must be a JSON object")
    return value


def _file_in(folder: Path, name: object, path: Path) -> None:
    """Raise unless ``folder/name`` is a file inside ``folder`` (``name`` may hold sub-folders)."""
    target = (folder / str(name)).resolve()
    if not target.is_file() or not target.is_relative_to(folder.resolve()):
        raise ValueError(f"{path}: model file {name!r} not found in {folder}")


def _read_backbone(folder: Path) -> Backbone:
    path = folder / "backbone.json"
    description = _read_json(path, "backbone description")
    missing = [k for k in _BACKBONE_REQUIRED if k not in description]
    if missing:
        raise ValueError(f"{path}: missing keys {missing}")
    if description["id"] != folder.name:
        raise ValueError(f"{path}: backbone id {description['id']!r} differs from its folder {folder.name!r}")
    _file_in(folder, description["model_file"], path)
    return Backbone(id=folder.name, folder=folder, description=description)


def _schema_version(card: dict[str, Any]) -> int:
    return 2 if card.get("schema") == "nostain.model-card/2" else 1


def _read_entry(folder: Path, backbones: dict[str, Backbone]) -> ModelEntry:
    card_path = folder / "card.json"
    card = _read_json(card_path, "model card")
    version = _schema_version(card)
    missing = [k for k in _REQUIRED[version] if k not in card]
    if missing:
        raise ValueError(f"{card_path}: missing keys {missing}")
    not_objects = [k for k in _OBJECTS[version] if not isinstance(card[k], dict)]
    if not_objects:
        raise ValueError(f"{card_path}: {not_objects} must be JSON objects")
    if card["id"] != folder.name:
        raise ValueError(f"{card_path}: card id {card['id']!r} differs from its folder name {folder.name!r}")
    if version == 1:
        _file_in(folder, card["model_file"], card_path)
        return ModelEntry(id=folder.name, folder=folder, card=card)
    _file_in(folder, card["head"].get("model_file"), card_path)
    wanted = card["backbone"]
    backbone = backbones.get(str(wanted.get("id")))
    if backbone is None:
        raise ValueError(
            f"{card_path}: its backbone {wanted.get('id')!r} is not in {folder.parent / BACKBONES_FOLDER}"
        )
    found = backbone.description
    expected = str(wanted.get("fingerprint"))
    if found["fingerprint"] != expected:
        raise ValueError(
            f"{card_path}: backbone {backbone.id!r} has other weights than the model was trained on "
            f"(fingerprint {found['fingerprint'][:12]}…, the card says {expected[:12]}…)"
        )
    if found["input"].get("size") != card["input"].get("size"):
        raise ValueError(
            f"{card_path}: backbone {backbone.id!r} takes {found['input'].get('size')} px images, "
            f"the card {card['input'].get('size')} px"
        )
    return ModelEntry(id=folder.name, folder=folder, card=card, backbone=backbone)


def _scan_backbones(models_dir: Path, problems: list[str]) -> dict[str, Backbone]:
    found: dict[str, Backbone] = {}
    root = models_dir / BACKBONES_FOLDER
    if root.is_dir():
        for folder in sorted(p for p in root.iterdir() if (p / "backbone.json").is_file()):
            try:
                found[folder.name] = _read_backbone(folder)
            except ValueError as exc:
                problems.append(str(exc))
    return found


def load_registry(models_dir: Path) -> Registry:
    """Scan ``models_dir`` for model folders (each with ``card.json``); missing dir → empty registry."""
    entries: list[ModelEntry] = []
    problems: list[str] = []
    backbones = _scan_backbones(models_dir, problems) if models_dir.is_dir() else {}
    if models_dir.is_dir():
        for folder in sorted(p for p in models_dir.iterdir() if (p / "card.json").is_file()):
            try:
                entries.append(_read_entry(folder, backbones))
            except ValueError as exc:
                problems.append(str(exc))
    entries.sort(key=lambda e: str(e.card.get("name", e.id)))
    used = {e.backbone.id for e in entries if e.backbone is not None}
    return Registry(
        models=tuple(entries),
        problems=tuple(problems),
        backbones=tuple(b for b in backbones.values() if b.id in used),
    )
