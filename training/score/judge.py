"""The page's wrong-model check on scored wells: the flags of ``static/js/ood.js`` ``judgeWell`` and the
curve warning of ``curveWarning``, word for word, computed with :mod:`training.trust.ood` (its twin).

A well is flagged when its features lie beyond the 99th percentile of the card's held-out images (feature
distance or PCA residual), when another model on the same backbone describes it better, or when its image
statistics are outside the card's ranges. A curve gets a warning when more than half of its checked wells
are flagged; the warning names a model on the same backbone that flags fewer of them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from training.trust.ood import is_brightfield, ood_scores

__all__ = ["CURVE_SHARE", "CurveWarning", "Judgement", "curve_warning", "judge_well", "with_arrays"]

#: A curve is called unlike the model's training images when more than this share of its wells is flagged.
CURVE_SHARE = 0.5
_Q99 = 0.99
#: The matrices of a card's ``ood.features`` block that :func:`training.trust.ood.ood_scores` multiplies.
_MATRICES = ("mean", "components", "precision")


def _js_number(x: float) -> str:
    """``String(Number(x.toPrecision(3)))``: how the page prints the distances in its flags."""
    value = float(f"{x:.3g}")
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}e{int(exponent):+d}"
    return text


def with_arrays(card: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a card whose ``ood.features`` matrices are float64 arrays instead of JSON lists.

    The same numbers, converted once per worker instead of for every well judged
    (:func:`training.trust.ood.ood_scores` converts the lists it is given: 1.4 CPU-ms per image, more than
    the judging itself).
    """
    ood = card.get("ood")
    if not ood or not ood.get("features"):
        return dict(card)
    block = {k: np.asarray(v, dtype=np.float64) if k in _MATRICES else v for k, v in ood["features"].items()}
    return {**card, "ood": {**ood, "features": block}}


@dataclass(frozen=True)
class Judgement:
    """One well judged against a card: as the page's ``judgeWell`` result."""

    checked: bool = False
    unlike: bool = False
    not_brightfield: bool = False
    distance: float | None = None
    residual: float | None = None
    flags: tuple[str, ...] = field(default=())

    @property
    def flagged(self) -> bool:
        return self.unlike or self.not_brightfield


def _q99(block: Mapping[str, Any], key: str) -> float | None:
    quantiles = list(block.get("quantiles") or [])
    return float(block[key][quantiles.index(_Q99)]) if _Q99 in quantiles else None


def _relative(block: Mapping[str, Any], distance: float, residual: float) -> float:
    """max(distance / q99, residual / q99): the page's ``relativeDistance``."""
    return max(distance / float(_q99(block, "distance_quantiles") or 0.0),
               residual / float(_q99(block, "residual_quantiles") or 0.0))  # fmt: skip


def judge_well(
    ood: Mapping[str, Any] | None,
    features: np.ndarray | None,
    stats: Mapping[str, float] | None,
    rivals: Sequence[Mapping[str, Any]] = (),
) -> Judgement:
    """Judge one well against a model card's ``ood`` block, as the page does.

    Parameters
    ----------
    ood : mapping or None
        The card's ``ood`` block (``features``, ``image_stats``); None: nothing is checked.
    features : ndarray, shape (F,), or None
        The well's pooled backbone features.
    stats : mapping or None
        :func:`training.trust.ood.image_stats` of the well's model input.
    rivals : sequence of cards
        Other cards on the same backbone with an ``ood`` block (``name``, ``cell_line``, ``ood``).
    """
    if not ood:
        return Judgement()
    checked, unlike, not_bf = False, False, False
    distance = residual = None
    flags: list[str] = []
    block = ood.get("features")
    if block and features is not None and len(features) == len(block["mean"]):
        d, r = (float(v[0]) for v in ood_scores(block, features))
        checked, distance, residual = True, d, r
        beyond = []
        d_max, r_max = _q99(block, "distance_quantiles"), _q99(block, "residual_quantiles")
        if d_max is not None and d > d_max:
            beyond.append(f"feature distance {_js_number(d)} > {_js_number(d_max)}")
        if r_max is not None and r > r_max:
            beyond.append(f"residual {_js_number(r)} > {_js_number(r_max)}")
        if beyond:
            unlike = True
            flags.append(
                f"unlike the model's training images (beyond their 99th percentile: {', '.join(beyond)})"
            )
        else:
            own = _relative(block, d, r)
            for rival in rivals:
                rd, rr = (float(v[0]) for v in ood_scores(rival["ood"]["features"], features))
                if _relative(rival["ood"]["features"], rd, rr) < own:
                    unlike = True
                    flags.append(
                        f"looks more like the training images of {rival['name']} ({rival['cell_line']}) "
                        "than this model's"
                    )
                    break
    if ood.get("image_stats") and stats is not None:
        checked = True
        ok, reasons = is_brightfield(stats, ood["image_stats"])
        if not ok:
            not_bf = True
            flags.append(f"not a bright-field well like the training images: {'; '.join(reasons[:2])}")
    return Judgement(checked, unlike, not_bf, distance, residual, tuple(flags))


@dataclass(frozen=True)
class CurveWarning:
    """The page's warning above a curve whose wells mostly do not look like the model's training images."""

    text: str
    note: str
    flagged: int
    total: int
    better: str | None


def _fit_of(ood: Mapping[str, Any], wells: Sequence[tuple[np.ndarray | None, Mapping[str, float] | None]]):
    """(share of wells flagged, upper median of distance / q99): the page's ``fitOf``."""
    flagged = 0
    ratios = []
    d_max = _q99(ood["features"], "distance_quantiles")
    for features, stats in wells:
        judged = judge_well(ood, features, stats)
        flagged += judged.flagged
        if judged.distance is not None and d_max:
            ratios.append(judged.distance / d_max)
    ratios.sort()
    share = flagged / len(wells) if wells else 0.0
    return share, (ratios[len(ratios) // 2] if ratios else float("inf"))


def curve_warning(
    wells: Sequence[tuple[np.ndarray | None, Mapping[str, float] | None, Judgement]],
    card: Mapping[str, Any],
    others: Sequence[Mapping[str, Any]] = (),
) -> CurveWarning | None:
    """The page's ``curveWarning``: None unless over :data:`CURVE_SHARE` of the checked wells are flagged.

    Parameters
    ----------
    wells : sequence of (features, stats, judgement)
        The curve's scored wells, judged with :func:`judge_well` against ``card``.
    card : mapping
        The curve's model card (with ``ood``).
    others : sequence of cards
        Other cards with an ``ood`` block (any backbone: those on another one are skipped).
    """
    checked = [w for w in wells if w[2].checked]
    if not checked or not card.get("ood"):
        return None
    flagged = sum(w[2].flagged for w in checked)
    if flagged / len(checked) <= CURVE_SHARE:
        return None
    not_bf = sum(w[2].not_brightfield for w in checked)
    who = f"model {card['name']}" + (f" ({card['cell_line']})" if card.get("cell_line") else "")
    text = (
        f"{flagged} of {len(checked)} images do not look like the images {who} was trained on"
        + (" (most do not look like bright-field wells at all)" if not_bf > len(checked) / 2 else "")
        + ": its OD450 predictions and this IC50 may be meaningless."
    )
    pairs = [(f, s) for f, s, _ in checked]
    own = card["ood"].get("backbone_fingerprint")
    better: tuple[Mapping[str, Any], float, float] | None = None
    if own:
        mine, _ = _fit_of(card["ood"], pairs)
        for other in others:
            ood = other.get("ood") or {}
            if (
                other.get("id") == card.get("id")
                or not ood.get("features")
                or ood.get("backbone_fingerprint") != own
            ):
                continue
            share, median = _fit_of(ood, pairs)
            if share > CURVE_SHARE or share >= mine:
                continue
            if better is None or share < better[1] or (share == better[1] and median < better[2]):
                better = (other, share, median)
    if better is not None:
        theirs = better[0].get("cell_line") or better[0]["name"]
        ours = card.get("cell_line") or card["name"]
        text += (
            f" These images look more like {theirs} than {ours}: check the model "
            f"({better[0]['name']} flags {math.floor(better[1] * 100 + 0.5)} % of them)."
        )
    else:
        text += " Check that the model matches the cell line and the imaging."
    note = f"model check: {flagged} of {len(checked)} images unlike the training images of {card['name']}" + (
        f"; they look more like {better[0].get('cell_line') or better[0]['name']} (model {better[0]['name']})"
        if better is not None
        else ""
    )
    return CurveWarning(text, note, flagged, len(checked), better[0]["name"] if better else None)
