"""reproduce's bookkeeping: stage times add up step by step, with this process's CPU time beside them."""

from __future__ import annotations

import itertools
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
