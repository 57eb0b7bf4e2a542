"""A model uploaded as one zip (the page's export, ``static/js/train/bundle.js``) → its checked files.

The zip holds one ``models/<id>/`` folder of the ``nostain.model-card/2`` format (docs/model-card.md):
``<id>/card.json``, the head's ``model.json`` (the card's ``head.model_file``) and the weight files that
``model.json`` names — nothing else. :func:`read_bundle` checks, before anything is written: that the bytes
are a readable zip; that every path stays inside the one folder; the card (schema, a safe id that no served
model has, the head's files present, within :data:`MAX_FILE_BYTES`, and of the size their weight list
declares); and that the card's backbone is one this server serves, with the same fingerprint and input
size. Every refusal is an :class:`InvalidBundle` with a plain-words reason. No I/O, no FastAPI.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
import zlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from app.text import quote

__all__ = [
    "CARD_SCHEMA",
    "MAX_FILES",
    "MAX_FILE_BYTES",
    "MODEL_ID_PATTERN",
    "InvalidBundle",
    "ModelBundle",
    "ModelExists",
    "read_bundle",
]

CARD_SCHEMA = "nostain.model-card/2"
#: A model id that is a safe folder name and URL segment: lower-case letters, digits, ``.``, ``_``, ``-``.
MODEL_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")
#: Ids that name the models folder's own sub-folders.
_RESERVED_IDS = frozenset({"backbones"})
#: Files in one bundle (card, head model.json, weight shards).
MAX_FILES = 16
#: Bytes of each file once unpacked: the card (its trust block is ~0.2 MB), model.json (a few kB), the head's
#: weights (Dense(10) → Dense(1) on 1,280 features: 51 kB) with room for bigger heads.
MAX_FILE_BYTES = {"card": 4_000_000, "model": 1_000_000, "weights": 8_000_000}
#: Bytes per value of each TF.js weight dtype.
_DTYPE_BYTES = {"float32": 4, "int32": 4, "float16": 2, "uint16": 2, "uint8": 1, "bool": 1}


class InvalidBundle(ValueError):
    """The upload is not a model this server can serve; the message says why, in plain words."""


class ModelExists(InvalidBundle):
    """A model with the bundle's id is already in the models folder."""


@dataclass(frozen=True)
class ModelBundle:
    """A checked model: its id, its card and its files (path inside ``models/<id>/`` → bytes)."""

    id: str
    card: dict[str, Any]
    files: dict[str, bytes]


def _entries(data: bytes) -> dict[str, tuple[zipfile.ZipFile, zipfile.ZipInfo]]:
    """The zip's files by path (folders skipped); refuses an unreadable zip and paths leaving the folder."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, OSError) as exc:
        raise InvalidBundle(
            f"the upload is not a readable zip ({exc}); send the zip the page's model export writes"
        ) from exc
    files = {}
    for info in infos:
        name = info.filename
        parts = PurePosixPath(name).parts
        if name.startswith("/") or "\\" in name or ".." in parts or ":" in name:
            raise InvalidBundle(f"the zip holds a path outside the model's folder: {quote(name)}")
        if not info.is_dir():
            files[name] = (archive, info)
    if not files:
        raise InvalidBundle("the zip is empty: send the zip of a models/<id>/ folder")
    if len(files) > MAX_FILES:
        raise InvalidBundle(f"the zip holds {len(files)} files; a model has at most {MAX_FILES}")
    return files


def _read(entry: tuple[zipfile.ZipFile, zipfile.ZipInfo], limit: int) -> bytes:
    """One file's bytes, refused beyond ``limit`` bytes (whatever its header claims) or if damaged."""
    archive, info = entry
    if info.file_size > limit:
        raise InvalidBundle(f"{info.filename} is {info.file_size:,} bytes; the limit is {limit:,}")
    try:
        with archive.open(info) as stream:
            data = stream.read(limit + 1)
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
        raise InvalidBundle(f"{info.filename} cannot be read from the zip ({exc})") from exc
    except zlib.error as exc:
        raise InvalidBundle(f"{info.filename} is damaged in the zip ({exc})") from exc
    if len(data) > limit:
        raise InvalidBundle(f"{info.filename} is over the limit of {limit:,} bytes")
    return data


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidBundle(f"{what} is not valid JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise InvalidBundle(f"{what} must be a JSON object")
    return value


def _model_id(files: Collection[str]) -> str:
    """The one top folder of the zip, as a safe model id."""
    tops = sorted({PurePosixPath(name).parts[0] for name in files if len(PurePosixPath(name).parts) > 1})
    loose = sorted(name for name in files if len(PurePosixPath(name).parts) == 1)
    if loose or len(tops) != 1:
        raise InvalidBundle(
            "the zip must hold exactly one model folder (<id>/card.json, <id>/head/…); "
            f"found folders {tops[:5]} and loose files {loose[:5]}"
        )
    model_id = tops[0]
    if not MODEL_ID_PATTERN.fullmatch(model_id) or model_id in _RESERVED_IDS:
        raise InvalidBundle(
            f"the model id {quote(model_id)} is not allowed: up to 80 lower-case letters, digits, '.', '_' "
            "or '-', starting with a letter or digit, and not 'backbones'"
        )
    return model_id


def _weight_bytes(spec: Mapping[str, Any]) -> int:
    """Bytes a TF.js weight entry takes in its shard (quantized weights: their stored dtype)."""
    dtype = (spec.get("quantization") or {}).get("dtype", spec.get("dtype"))
    shape = spec.get("shape")
    if dtype not in _DTYPE_BYTES or not isinstance(shape, list) or not all(isinstance(n, int) for n in shape):
        raise InvalidBundle(f"the head's weight {quote(spec.get('name'))} has no readable dtype and shape")
    return _DTYPE_BYTES[dtype] * math.prod(shape)


def _head_files(
    model_id: str, card: dict[str, Any], files: dict[str, tuple[zipfile.ZipFile, zipfile.ZipInfo]]
) -> dict[str, bytes]:
    """The head's model.json and weight files, checked against the weight list model.json declares."""
    head = card.get("head")
    model_file = head.get("model_file") if isinstance(head, dict) else None
    if not isinstance(model_file, str) or f"{model_id}/{model_file}" not in files:
        raise InvalidBundle(f"the card's head.model_file ({quote(model_file)}) is not in the zip")
    model_bytes = _read(files[f"{model_id}/{model_file}"], MAX_FILE_BYTES["model"])
    manifest = _json_object(model_bytes, model_file).get("weightsManifest")
    if not isinstance(manifest, list) or not all(isinstance(g, dict) for g in manifest):
        raise InvalidBundle(f"{model_file} has no weightsManifest list: it is not a TF.js model")
    folder = PurePosixPath(model_file).parent
    out = {model_file: model_bytes}
    declared = 0
    stored = 0
    for group in manifest:
        paths, weights = group.get("paths"), group.get("weights")
        if not isinstance(paths, list) or not isinstance(weights, list):
            raise InvalidBundle(f"{model_file}: every weightsManifest group needs paths and weights lists")
        declared += sum(_weight_bytes(w) for w in weights if isinstance(w, dict))
        for name in paths:
            path = str(folder / str(name))
            if f"{model_id}/{path}" not in files:
                raise InvalidBundle(f"the head's weights {path} are not in the zip")
            out[path] = _read(files[f"{model_id}/{path}"], MAX_FILE_BYTES["weights"] - stored)
            stored += len(out[path])
    if declared != stored:
        raise InvalidBundle(
            f"the head's weight files hold {stored:,} bytes; {model_file} declares {declared:,}: "
            "the zip is damaged or incomplete"
        )
    return out


def _check_backbone(card: dict[str, Any], backbones: Mapping[str, Mapping[str, Any]]) -> None:
    wanted = card.get("backbone")
    if not isinstance(wanted, dict):
        raise InvalidBundle("the card names no backbone (an object with id and fingerprint)")
    found = backbones.get(str(wanted.get("id")))
    if found is None:
        raise InvalidBundle(
            f"the model runs on backbone {quote(wanted.get('id'))}, which this server does not serve "
            f"(it serves {sorted(backbones)}); install that backbone in models/backbones/ first"
        )
    if found.get("fingerprint") != wanted.get("fingerprint"):
        raise InvalidBundle(
            f"backbone {wanted['id']!r} here has other weights than the model was trained on "
            f"(fingerprint {str(found.get('fingerprint'))[:12]}…, "
            f"the card says {str(wanted.get('fingerprint'))[:12]}…)"
        )
    size = card.get("input", {}).get("size") if isinstance(card.get("input"), dict) else None
    if found.get("input", {}).get("size") != size:
        raise InvalidBundle(
            f"backbone {wanted['id']!r} takes {found.get('input', {}).get('size')} px images, "
            f"the card {quote(size)} px"
        )


def read_bundle(
    data: bytes, *, taken_ids: Collection[str], backbones: Mapping[str, Mapping[str, Any]]
) -> ModelBundle:
    """Check an uploaded model zip; return its files, or raise with the reason.

    Parameters
    ----------
    data : bytes
        The zip (stored or deflated), as ``bundle.js`` ``zipFiles`` writes it.
    taken_ids : collection of str
        Ids (folder names) already in the models folder, served or not.
    backbones : mapping
        The backbones this server serves: id → their ``backbone.json`` (``fingerprint``, ``input.size``).

    Returns
    -------
    ModelBundle

    Raises
    ------
    ModelExists
        A model folder with the bundle's id exists.
    InvalidBundle
        Anything else that stops the model from being served, in plain words.
    """
    files = _entries(data)
    model_id = _model_id(files)
    if f"{model_id}/card.json" not in files:
        raise InvalidBundle(f"the zip has no {model_id}/card.json")
    card_bytes = _read(files[f"{model_id}/card.json"], MAX_FILE_BYTES["card"])
    card = _json_object(card_bytes, "card.json")
    if card.get("schema") != CARD_SCHEMA:
        raise InvalidBundle(
            f"card.json is {quote(card.get('schema', 'not a model card'))}; this server takes {CARD_SCHEMA}"
        )
    if card.get("id") != model_id:
        raise InvalidBundle(f"the card's id {quote(card.get('id'))} differs from its folder {model_id!r}")
    missing = [k for k in ("name", "cell_line", "input", "backbone", "head") if k not in card]
    if missing:
        raise InvalidBundle(f"card.json lacks {missing}")
    if model_id in taken_ids:
        raise ModelExists(
            f"this server already has a model {model_id!r}; export it again under another name to add it"
        )
    _check_backbone(card, backbones)
    head = _head_files(model_id, card, files)
    extra = sorted(set(files) - {f"{model_id}/{p}" for p in (*head, "card.json")})
    if extra:
        raise InvalidBundle(f"the zip holds files a model does not have: {extra[:5]}")
    return ModelBundle(id=model_id, card=card, files={"card.json": card_bytes, **head})
