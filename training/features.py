"""Model inputs and cached backbone features for a list of images.

With a frozen backbone (the paper's set-up) the expensive part of training — decoding the images,
augmenting them and running MobileNetV2 — does not depend on the head, so it is done once: every image
gets ``n_views`` views (view 0 un-augmented, the rest random augmentations), the backbone turns each view
into its pooled feature vector, and the result is cached on disk, one ``.npz`` per image, keyed by the
image file's content hash, the backbone and its weights, the input size, the number of views, the seed,
the augmentation parameters and the version of the views rule. Re-running training, cross-validation or
a benchmark reuses the cache; the head then trains in seconds.

The views rule (:func:`decode_for_views`, :func:`training.dataset.make_views`): view 0 is exactly what
the page feeds the model, ``resize_area(load_rgb(path, reduce_for=S), S)`` (the decode rule of
:mod:`training.preprocess`); the augmented views are cut from a second decode at the reduced scale for
``A = augmentation_side(S, crop_fraction)`` px (``round(S / 0.7)``), so that a crop still holds ``S``
decoded pixels. A full-size 2560 × 2160 image is never decoded in full: a JPEG is decoded at 1/8 and
1/4 of its size (S = 224) or once at 1/8 (S = 160). Other formats are decoded in full, once.

Images are decoded and augmented in a thread pool (numpy and Pillow release the GIL) while TensorFlow
runs the backbone on the previous batch. Each image's views come from its own random stream,
seeded by ``(seed, content hash)`` (:func:`training.stream.image_stream`, the stream the page draws the same
image's views from), so the views do not depend on the order, the pool size or the rest of the data set.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from training import config
from training.dataset import Augmentation, augmentation_side, augmented_views
from training.preprocess import jpeg_reduction, load_rgb, resize_area
from training.stream import image_stream

__all__ = [
    "VIEWS_RULE",
    "ViewSpec",
    "backbone_fingerprint",
    "cached_features",
    "cached_features_for_specs",
    "decode_for_views",
    "file_digest",
    "image_views",
    "iter_views",
]


#: Version of the views rule, part of the cache key: 1 augmented the full-size decode; 2 is the rule above
#: with numpy's draws; 3 the rule above with the page's random stream (training/stream.py).
VIEWS_RULE = 3


@dataclass(frozen=True)
class ViewSpec:
    """How the views of an image are made: count, input size, seed and augmentation parameters."""

    n_views: int = config.N_VIEWS
    size: int = config.INPUT_SIZE
    seed: int = config.SEED
    augmentation: Augmentation = field(default_factory=Augmentation)

    def __post_init__(self) -> None:
        if self.n_views < 1:
            raise ValueError(f"n_views must be >= 1; got {self.n_views}")
        if self.size < 8:
            raise ValueError(f"size must be >= 8 px; got {self.size}")

    def key(self) -> str:
        """Stable text identifying the views (part of the cache key)."""
        aug = json.dumps(self.augmentation.to_dict(), sort_keys=True)
        return f"rule={VIEWS_RULE}|views={self.n_views}|size={self.size}|seed={self.seed}|aug={aug}"


def file_digest(path: str | Path) -> str:
    """sha256 of a file's content (hex): the images' identity in the cache."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _jpeg_scale(path: Path, size: int) -> int | None:
    """The decode rule's reduction factor for this file and input side, or None if it is decoded in full."""
    if path.suffix.lower() in (".tif", ".tiff"):
        return None
    try:
        with Image.open(path) as opened:
            return jpeg_reduction(*opened.size, size) if opened.format == "JPEG" else None
    except (UnidentifiedImageError, OSError):
        return None  # load_rgb raises the error that names the file


def decode_for_views(path: str | Path, spec: ViewSpec) -> tuple[np.ndarray, np.ndarray]:
    """The two decodes of the views rule: ``(for view 0, for the augmented views)``, uint8 ``(H, W, 3)``.

    View 0's is ``load_rgb(path, reduce_for=spec.size)``; the augmented views' is
    ``load_rgb(path, reduce_for=augmentation_side(spec.size, crop_fraction))``. Where both come to the same
    scale (one view only, a format decoded in full, or the same JPEG reduction) the file is decoded once.
    """
    path = Path(path)
    plain = load_rgb(path, reduce_for=spec.size)
    side = augmentation_side(spec.size, spec.augmentation.crop_fraction)
    if spec.n_views == 1 or _jpeg_scale(path, side) == _jpeg_scale(path, spec.size):
        return plain, plain
    return plain, load_rgb(path, reduce_for=side)


def _views_for(path: str | Path, specs: Sequence[ViewSpec], digest: str) -> np.ndarray:
    """View 0 once, then each spec's augmented views: ``(1 + Σ (n_views − 1), S, S, 3)`` float32 0–255.

    The specs must share the input size and the augmentation (they differ in seed or number of views);
    the file is decoded once for all of them.
    """
    first = specs[0]
    if any(sp.size != first.size or sp.augmentation != first.augmentation for sp in specs):
        raise ValueError("specs computed together must share size and augmentation")
    plain, source = decode_for_views(path, replace(first, n_views=max(sp.n_views for sp in specs)))
    views = [resize_area(plain, first.size)[None]]
    for spec in specs:
        rng = image_stream(spec.seed, digest)
        views.append(
            augmented_views(
                source, n=spec.n_views - 1, rng=rng, augmentation=spec.augmentation, size=spec.size
            )
        )
    return np.concatenate(views)


def image_views(path: str | Path, spec: ViewSpec, *, digest: str | None = None) -> np.ndarray:
    """Decode one image file and make its views: ``(n_views, size, size, 3)`` float32 0–255.

    View 0 is exactly ``resize_area(load_rgb(path, reduce_for=size), size)``, what the page computes. The
    random generator is seeded by ``(spec.seed, content hash)``: the same file gives the same views.
    """
    return _views_for(path, [spec], digest or file_digest(path))


def _in_background(jobs: Sequence[tuple[Any, ...]], make: Any, workers: int) -> Iterator[np.ndarray]:
    """``make(*job)`` for each job, in order, ``workers`` at a time in background threads.

    At most ``2 × workers`` jobs are in flight, so memory stays bounded however long the list.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1; got {workers}")
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nostain-views") as pool:
        pending: list[Future[np.ndarray]] = []
        queue = iter(jobs)
        for job in queue:
            pending.append(pool.submit(make, *job))
            if len(pending) >= 2 * workers:
                break
        while pending:
            result = pending.pop(0).result()
            for job in queue:  # at most one more
                pending.append(pool.submit(make, *job))
                break
            yield result


def iter_views(
    paths: Sequence[str | Path],
    spec: ViewSpec,
    *,
    workers: int = 2,
    digests: Sequence[str] | None = None,
) -> Iterator[np.ndarray]:
    """Views of each image (:func:`image_views`), in order, ``workers`` at a time in background threads."""
    digests = list(digests) if digests is not None else [file_digest(p) for p in paths]
    jobs = [(path, [spec], digest) for path, digest in zip(paths, digests, strict=True)]
    return _in_background(jobs, _views_for, workers)


def backbone_fingerprint(extractor: Any) -> str:
    """sha256 over the extractor's name and every weight array: identifies the backbone and its weights."""
    digest = hashlib.sha256(extractor.name.encode())
    for weight in extractor.weights:
        value = np.ascontiguousarray(weight.numpy())
        digest.update(weight.name.encode())
        digest.update(str(value.shape).encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def _cache_file(cache: Path, digest: str, model_key: str, spec: ViewSpec) -> Path:
    key = hashlib.sha256(f"{digest}|{model_key}|{spec.key()}".encode()).hexdigest()[:32]
    return cache / key[:2] / f"{key}.npz"


def _store(cache: Path, features: np.ndarray, digest: str, spec: ViewSpec, model_key: str) -> None:
    """Write one image's features for one spec into the cache (atomically: a partial file is never read)."""
    target = _cache_file(cache, digest, model_key, spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part.npz")
    np.savez(tmp, features=features, digest=digest, spec=spec.key(), model=model_key)
    tmp.replace(target)


def cached_features_for_specs(
    paths: Sequence[str | Path],
    extractor: Any,
    specs: Sequence[ViewSpec],
    *,
    cache: Path | None,
    batch_images: int = 4,
    workers: int = 2,
    progress: bool = False,
) -> list[np.ndarray]:
    """:func:`cached_features` for several view specs at once (e.g. the same views rule with several seeds).

    Each image is decoded once and its view 0 run through the backbone once for all the specs (view 0 does
    not depend on the seed); the specs must share the input size and the augmentation.

    Returns
    -------
    list of ndarray, one per spec, each of shape (n_images, spec.n_views, F), float32
    """
    if not specs:
        raise ValueError("specs must not be empty")
    for spec in specs:
        if int(extractor.input_shape[1]) != spec.size:
            raise ValueError(
                f"extractor input size {extractor.input_shape[1]} differs from spec.size {spec.size}"
            )
    digests = [file_digest(p) for p in paths]
    model_key = backbone_fingerprint(extractor)
    out: list[list[np.ndarray | None]] = [[None] * len(paths) for _ in specs]
    missing: list[tuple[int, list[int]]] = []  # (image, specs it lacks)
    for i, digest in enumerate(digests):
        lacking = []
        for j, spec in enumerate(specs):
            file = _cache_file(cache, digest, model_key, spec) if cache else None
            if file is not None and file.is_file():
                with np.load(file) as stored:
                    out[j][i] = stored["features"]
            else:
                lacking.append(j)
        if lacking:
            missing.append((i, lacking))
    jobs = [(paths[i], [specs[j] for j in lacking], digests[i]) for i, lacking in missing]
    bar = tqdm(total=len(jobs), desc="features", unit="image", disable=not progress or not jobs)
    batch: list[tuple[int, list[int], np.ndarray]] = []

    def flush() -> None:
        feats = np.asarray(extractor.predict_on_batch(np.concatenate([v for *_, v in batch])), np.float32)
        start = 0
        for index, lacking, views in batch:
            own, rest, start = feats[start], feats[start + 1 : start + len(views)], start + len(views)
            for j in lacking:
                n_aug = specs[j].n_views - 1
                value = np.concatenate([own[None], rest[:n_aug]])
                rest = rest[n_aug:]
                out[j][index] = value
                if cache is not None:
                    _store(cache, value, digests[index], specs[j], model_key)
        bar.update(len(batch))
        batch.clear()

    for (index, lacking), views in zip(missing, _in_background(jobs, _views_for, workers), strict=True):
        batch.append((index, lacking, views))
        if len(batch) >= batch_images:
            flush()
    if batch:
        flush()
    bar.close()
    return [np.stack(arrays) for arrays in out]  # type: ignore[arg-type]


def cached_features(
    paths: Sequence[str | Path],
    extractor: Any,
    spec: ViewSpec,
    *,
    cache: Path | None,
    batch_images: int = 4,
    workers: int = 2,
    progress: bool = False,
) -> np.ndarray:
    """Pooled backbone features of every view of every image, computed once and cached.

    Parameters
    ----------
    paths : sequence of path
        Image files.
    extractor : keras.Model
        ``image (N, S, S, 3) raw 0–255 → features (N, F)`` (:func:`training.model.feature_extractor`).
    spec : ViewSpec
    cache : Path or None
        Folder for the per-image ``.npz`` files (None: no cache).
    batch_images : int
        Images whose views go through the backbone together (batch of ``batch_images × n_views``).
    workers : int
        Decoding/augmenting threads.
    progress : bool
        Show a tqdm progress bar (CLI use).

    Returns
    -------
    ndarray, shape (n_images, n_views, F), float32
    """
    features = cached_features_for_specs(
        paths, extractor, [spec], cache=cache, batch_images=batch_images, workers=workers, progress=progress
    )
    return features[0]
