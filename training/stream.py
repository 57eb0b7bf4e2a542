"""The random stream that training shares with the page, so that both draw the same numbers.

``python -m training`` and the page's trainer (``static/js/train/random.js``) draw every random number that
decides a trained head from this one generator: the augmentation draws of each image, the head's initial
weights and each epoch's mini-batch order. With the same seed, features and recipe, the two then train the
same head up to float rounding — which is what lets a model trained in the page be reproduced by the CLI
(issue 15: r² within 0.02 and every test series' IC50 within 0.05 log10; on the agreement test's plates
another seed moves a series' IC50 by up to 0.08–0.22 log10, while noise of up to 3 % of the features' SD
moves it by at most 0.024: benchmarks/head_sensitivity.py). numpy's generators are not used for these
draws because a browser cannot reproduce them; the series splits, which the page can be given, still use
numpy.

The generator is mulberry32 (32-bit state, period 2³²; plenty for a few thousand draws per image or head):
the state advances by 0x6D2B79F5 per draw and each output is a 32-bit hash of the state, so a block of
draws is computed at once here. Seeding folds any number of 32-bit parts into the state. Three rules use
it, identical in ``random.js``:

* :func:`image_stream`: an image's augmentation draws, seeded by ``(seed, w0, w1)`` where ``w0``, ``w1``
  are the first two 32-bit little-endian words of the file's SHA-256 (what ``Uint32Array`` reads).
* :func:`glorot_uniform`: a kernel of shape ``(fan_in, fan_out)``, row-major, each value
  ``limit · (2u − 1)`` with ``limit = √(6 / (fan_in + fan_out))`` rounded to float32 (Keras' Glorot
  uniform limit; biases start at zero).
* :func:`batch_order`: an epoch's order of ``n`` rows, the indices sorted by one draw each (ties by index).

Pure and local: a :class:`RandomStream` is an object passed to whoever draws, never a global.
"""

from __future__ import annotations

import math
import re

import numpy as np

__all__ = ["HEAD_STREAM", "RandomStream", "batch_order", "glorot_uniform", "head_stream", "image_stream"]

_MASK = 0xFFFFFFFF
_STEP = 0x6D2B79F5
#: Last seed part of a head's stream (random.js HEAD_STREAM), so that it differs from an image's stream.
HEAD_STREAM = 1


def _imul(a: int, b: int) -> int:
    """The low 32 bits of a · b (JavaScript's ``Math.imul``, as an unsigned number)."""
    return (a * b) & _MASK


class RandomStream:
    """Uniform numbers in [0, 1) from mulberry32, seeded by any number of integers (each taken mod 2³²).

    Examples
    --------
    >>> RandomStream(0).uniforms(2).round(6).tolist()
    [0.580823, 0.989836]
    """

    def __init__(self, *seed: int) -> None:
        state = 0x9E3779B9
        for part in seed:
            state = (_imul(state ^ (int(part) & _MASK), 0x85EBCA6B) + 0x6B43A9B5) & _MASK
        self._state = state

    def words(self, n: int) -> np.ndarray:
        """The next ``n`` draws as 32-bit integers: shape ``(n,)``, uint64 holding values < 2³²."""
        if n < 0:
            raise ValueError(f"n must be >= 0; got {n}")
        states = (self._state + np.arange(1, n + 1, dtype=np.uint64) * np.uint64(_STEP)) & np.uint64(_MASK)
        self._state = (self._state + n * _STEP) & _MASK
        mask = np.uint64(_MASK)
        t: np.ndarray = states
        t = ((t ^ (t >> np.uint64(15))) * (t | np.uint64(1))) & mask
        t = t ^ ((t + (((t ^ (t >> np.uint64(7))) * (t | np.uint64(61))) & mask)) & mask)
        return (t ^ (t >> np.uint64(14))) & mask

    def uniforms(self, n: int) -> np.ndarray:
        """The next ``n`` draws in [0, 1): shape ``(n,)``, float64 (each a 32-bit integer / 2³²)."""
        return self.words(n) / 4294967296.0

    def random(self) -> float:
        """The next draw in [0, 1)."""
        return float(self.uniforms(1)[0])

    def integer(self, n: int) -> int:
        """A whole number in 0 … n − 1 (``floor(u · n)``)."""
        return math.floor(self.random() * n)

    def uniform(self, low: float, high: float) -> float:
        """A float in [low, high): ``low + (high − low) · u``."""
        return low + (high - low) * self.random()


def image_stream(seed: int, digest: str) -> RandomStream:
    """The stream of one image's augmentation draws: ``(seed, w0, w1)`` of its SHA-256 (hex ``digest``)."""
    if re.fullmatch(r"[0-9a-fA-F]{16,}", digest) is None:
        raise ValueError(f"digest must be a hex SHA-256 (>= 16 hex digits); got {digest!r}")
    raw = bytes.fromhex(digest[:16])
    return RandomStream(seed, int.from_bytes(raw[:4], "little"), int.from_bytes(raw[4:], "little"))


def head_stream(*seed: int) -> RandomStream:
    """The stream of one head's initial weights and batch orders: ``(*seed, HEAD_STREAM)``.

    The final model's head uses ``(seed,)``, cross-validation fold ``i`` (from 0) ``(seed, i)``.
    """
    return RandomStream(*seed, HEAD_STREAM)


def glorot_uniform(stream: RandomStream, fan_in: int, fan_out: int) -> np.ndarray:
    """A Glorot-uniform kernel from ``stream``: shape ``(fan_in, fan_out)``, float32, drawn row-major."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    values = limit * (2.0 * stream.uniforms(fan_in * fan_out) - 1.0)
    return values.astype(np.float32).reshape(fan_in, fan_out)


def batch_order(stream: RandomStream, n: int) -> np.ndarray:
    """An epoch's order of ``n`` rows: ``argsort`` of ``n`` draws, ties in index order. Shape ``(n,)``."""
    return np.argsort(stream.words(n), kind="stable")
