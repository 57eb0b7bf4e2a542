"""reproduce: stage times add up step by step, with this process's CPU time beside them; the whole command
on a tiny design."""

from __future__ import annotations

import itertools
import json
import time

import pytest

from training.reproduce import DEFAULT_MODELS, StageTimes


def test_steps_add_up_into_their_stage(monkeypatch: pytest.MonkeyPatch):
    # The process's CPU clock counts every thread of the test process (other tests' TensorFlow threads too):
    # a clock that advances 0.01 s per reading makes the CPU column deterministic.
    ticks = itertools.count(0.0, 0.01)
    monkeypatch.setattr("training.reproduce.time.process_time", lambda: next(ticks))
    times = StageTimes()
    assert times.step("features", "features A549", lambda x: x + 1, 1) == 2
    times.step("features", "features HEK293", time.sleep, 0.05)
    times.add("head", 1.25)
    assert set(times.steps) == {"features A549", "features HEK293"} == set(times.cpu)
    assert times.steps["features HEK293"] >= 0.05 and times.cpu["features HEK293"] == 0.01  # one tick apart
    both = times.steps["features A549"] + times.steps["features HEK293"]
    assert abs(times.stages["features"] - both) <= 0.011  # each rounded to 0.01 s
    assert times.stages["head"] == 1.25


def test_each_default_model_has_its_own_split_seed():
    assert len({m.seed for m in DEFAULT_MODELS}) == len(DEFAULT_MODELS) == 3


@pytest.mark.slow
def test_reproduce_on_a_tiny_design_reports_every_stage(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """The whole command on tiny plates: simulation overlapping the features, every other seed and the
    occlusion maps in a worker process (its model equal to one trained here), the trust flags from the
    evaluation's cached features equal to a fresh measurement, and a second run reusing every finished
    step."""
    from dataclasses import replace

    import numpy as np

    from training.reproduce import StageTimes, _train_and_cv, reproduce
    from training.runs import load_run
    from training.train import TrainOptions, seed_everything
    from training.trust.measure import measure_flags

    monkeypatch.setenv("NOSTAIN_CACHE", str(tmp_path / "cache"))
    chosen = DEFAULT_MODELS[:2]
    options = TrainOptions(weights="none", input_size=32, n_views=2, epochs=3, n_test=1, n_val=1)
    kwargs = {"options": options, "chosen": chosen, "seeds": 2, "plates": 1, "replicates": 4}
    work, models = tmp_path / "work", tmp_path / "models"
    timings = reproduce(work, models, image_size=(128, 108), verify=False, **kwargs)  # type: ignore[arg-type]

    assert {"simulate", "features", "head", "cv", "evaluate", "report", "export", "ood flags"} <= set(
        timings["stages_s"]
    )
    assert {f"simulate {m.cell_line}" for m in chosen} <= set(timings["steps_s"])
    maps = sorted(p.name for p in (work / "report" / "plots").glob("attribution_*.png"))
    assert [m.split("_")[1] for m in maps] == [m.name for m in chosen]
    assert all(timings["steps_s"][f"attribution {m.name} (alongside)"] > 0 for m in chosen)
    for m in chosen:
        card = json.loads((models / m.model_id / "card.json").read_text(encoding="utf-8"))
        assert card["synthetic"] is True and card["ood"]

    runs = [work / "runs" / f"seed-{timings['shipped_seeds'][m.cell_line]}" / m.name for m in chosen]
    datasets = [work / "data" / m.model_id for m in chosen]
    fresh = measure_flags(runs, datasets, models)  # its own decoding and backbone passes
    assert (work / "report" / "ood-flags.md").read_text(encoding="utf-8") == fresh

    # Seed 1 was trained in the worker process: the same model as training it here.
    item, data = chosen[0], work / "data" / chosen[0].model_id
    seed_everything(options.seed)
    backbone = options.build_backbone()
    here, _ = _train_and_cv(item, data, tmp_path / "here", replace(options, seed=1, split_seed=item.seed),
                            StageTimes(), backbone=backbone)  # fmt: skip
    apart = work / "runs" / "seed-1" / item.name
    assert {f"train {item.name} seed 1", f"cv {item.name} seed 1", "evaluate seed 1"} <= set(
        timings["steps_s"]
    )
    for a, b in zip(load_run(apart)[0].get_weights(), load_run(here)[0].get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)

    again = reproduce(work, models, image_size=(128, 108), verify=False, **kwargs)  # type: ignore[arg-type]
    assert not any(k.startswith(("simulate", "train ", "cv ")) for k in again["steps_s"])
