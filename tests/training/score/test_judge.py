"""training.score.judge: the page's trust flags and curve warning (static/js/ood.js).

The same cases run in the page, word for word, in tests/e2e/test_score_parity.py.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from tests.e2e.conftest import well_image
from training.score.judge import Judgement, curve_warning, judge_well, with_arrays
from training.trust.measure import flag_wells
from training.trust.ood import fit_image_stats, fit_ood, image_stats

N_FEATURES = 32


def _cluster(rng: np.random.Generator, centre: np.ndarray, n: int) -> np.ndarray:
    basis = np.random.default_rng(7).normal(size=(4, N_FEATURES))
    return centre + rng.normal(size=(n, 4)) @ basis * 0.3 + rng.normal(0, 0.02, (n, N_FEATURES))


def judge_cases() -> tuple[dict[str, Any], dict[str, Any], dict[str, np.ndarray], list[dict[str, float]]]:
    """Two cards on one backbone (A549 around one centre, HEK293 around another), wells near each and far
    from both, and image statistics of bright-field-like wells and of dark frames."""
    rng = np.random.default_rng(0)
    centres = {"A549": np.abs(rng.normal(size=N_FEATURES)), "HEK293": np.abs(rng.normal(size=N_FEATURES))}
    images = [well_image(int(rng.integers(30, 200)), width=64, height=64, rng=rng) for _ in range(30)]
    ranges = fit_image_stats([image_stats(x.astype(np.float32)) for x in images])
    cards = {}
    for line, centre in centres.items():
        train, held = _cluster(rng, centre, 200), _cluster(rng, centre, 100)
        if line == "HEK293":  # a broad model: its images also spread widely around A549's
            train = np.concatenate([train, centres["A549"] + 3 * (_cluster(rng, centre, 200) - centre)])
            held = np.concatenate([held, centres["A549"] + 3 * (_cluster(rng, centre, 100) - centre)])
        block = fit_ood(train, held, n_components=6)
        ood = {"features": block, "image_stats": ranges, "backbone_fingerprint": "abc"}
        cards[line] = {"id": line.lower(), "name": f"{line}-M", "cell_line": line, "ood": ood}
    wells = {
        "A549": _cluster(rng, centres["A549"], 6),
        "HEK293": _cluster(rng, centres["HEK293"], 6),
        "far": centres["A549"] + 3.0 + rng.normal(0, 0.3, (3, N_FEATURES)),
    }
    dark = [image_stats(rng.uniform(0, 12, (64, 64, 3))) for _ in range(3)]
    return (
        cards["A549"],
        cards["HEK293"],
        wells,
        [image_stats(x.astype(np.float32)) for x in images[:15]] + dark,
    )


def test_a_well_is_flagged_as_the_trust_measurement_flags_it():
    own, rival, wells, _ = judge_cases()
    features = np.concatenate(list(wells.values()))  # 15 wells
    inputs = [
        well_image(80, width=64, height=64, rng=np.random.default_rng(k)).astype(np.float32)
        for k in range(15)
    ]
    counts = []
    for rivals in ([], [rival]):
        expected = flag_wells(own["ood"], features, np.stack(inputs), [r["ood"] for r in rivals])
        got = [
            judge_well(own["ood"], f, image_stats(x), rivals).flagged
            for f, x in zip(features, inputs, strict=True)
        ]
        assert got == expected.tolist()
        counts.append(sum(got))
    assert 0 < counts[0] < counts[1] == len(features)


def test_the_curve_warning_names_the_model_the_wells_look_like():
    own, rival, wells, stats = judge_cases()
    judged = [(f, stats[0], judge_well(own["ood"], f, stats[0], [rival])) for f in wells["HEK293"]]
    assert all(j.unlike and j.flags[0].startswith("unlike the model's training images") for _, _, j in judged)
    warning = curve_warning(judged, own, [rival])
    assert warning is not None and warning.better == "HEK293-M"
    assert warning.note == (
        "model check: 6 of 6 images unlike the training images of A549-M; "
        "they look more like HEK293 (model HEK293-M)"
    )
    closer = judge_well(own["ood"], wells["A549"][0], stats[0], [rival])
    assert closer.flags == ("looks more like the training images of HEK293-M (HEK293) than this model's",)
    alone = [(f, stats[0], judge_well(own["ood"], f, stats[0])) for f in wells["A549"]]
    assert not any(j.flagged for _, _, j in alone) and curve_warning(alone, own) is None
    dark = judge_well(own["ood"], wells["A549"][0], stats[-1])
    assert dark.not_brightfield and dark.flags[0].startswith(
        "not a bright-field well like the training images: "
    )
    assert judge_well(None, wells["A549"][0], stats[0]) == Judgement()


def test_a_card_with_arrays_judges_every_well_exactly_as_its_json_lists():
    own, rival, wells, stats = judge_cases()
    own, rival = json.loads(json.dumps(own)), json.loads(json.dumps(rival))  # as read from card.json
    fast_own, fast_rival = with_arrays(own), with_arrays(rival)
    assert isinstance(fast_own["ood"]["features"]["components"], np.ndarray)
    assert isinstance(own["ood"]["features"]["components"], list)  # the card itself is left as it was
    features = np.concatenate(list(wells.values()))
    pairs = list(zip(features, stats[: len(features)], strict=False))
    slow = [judge_well(own["ood"], f, s, [rival]) for f, s in pairs]
    fast = [judge_well(fast_own["ood"], f, s, [fast_rival]) for f, s in pairs]
    assert fast == slow and any(j.flags for j in slow) and all(j.distance is not None for j in slow)
    judged = [(f, s, j) for (f, s), j in zip(pairs, slow, strict=True)]
    assert curve_warning(judged, fast_own, [fast_rival]) == curve_warning(judged, own, [rival])
