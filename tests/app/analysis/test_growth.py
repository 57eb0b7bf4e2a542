"""GR values of a curve from an end-point and a time-zero read: background, x0 and x_ctrl per plate."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.growth import GrowthError, gr_block
from app.analysis.wells import curve_data
from app.screening import gr_metrics

#: Wells: 2 vehicle, 2 blank, 8 treated at 4 concentrations (µM).
CONC = [0, 0, 0, 0, 0.1, 0.1, 1, 1, 10, 10, 100, 100]
CONTROLS = [None, None, "blank", "blank", *[None] * 8]


def _gr_by_hand(x: float, x0: float, x_ctrl: float) -> float:
    return 2 ** (np.log2(x / x0) / np.log2(x_ctrl / x0)) - 1


def test_gr_values_subtract_the_background_and_use_the_time_zero_mean() -> None:
    end = [1.7, 1.5, 0.1, 0.1, 1.5, 1.3, 0.9, 0.8, 0.3, 0.25, 0.12, 0.05]
    zero = [0.5, 0.5, 0.08, 0.12, 0.4, 0.6, 0.5, 0.5, 0.45, 0.55, 0.5, 0.5]
    block = gr_block(curve_data("x", CONC, end, position=1, controls=CONTROLS, time_zero=zero))
    (levels,) = block["plates"]
    # background 0.1; x0 = mean of the 10 non-blank time-zero reads (0.5) − blanks' time-zero mean (0.1)
    assert levels["background"] == pytest.approx(0.1) and levels["time_zero_level"] == pytest.approx(0.4)
    assert levels["vehicle_level"] == pytest.approx(1.5)  # mean(1.7, 1.5) − 0.1
    assert levels["control_doublings"] == pytest.approx(np.log2(1.5 / 0.4))
    assert block["values"][2] is None and block["values"][3] is None
    for k in (0, 1, 4, 5, 6, 7, 8, 9, 10):
        assert block["values"][k] == pytest.approx(_gr_by_hand(end[k] - 0.1, 0.4, 1.5)), k
    # 0.05 is below the background: no viable cells detected, GR −1 (the formula's limit)
    assert block["values"][11] == -1.0 and levels["n_at_background"] == 1
    treated = slice(4, 12)
    expected = gr_metrics(CONC[treated], block["values"][treated]).to_dict()
    assert block["metrics"] == expected
    assert "proportional to the number of viable cells" in block["message"]


def test_a_time_zero_level_stands_for_a_time_zero_plate() -> None:
    end = [1.6, 1.6, 0.1, 0.1, 1.5, 1.3, 0.9, 0.8, 0.3, 0.25, 0.15, 0.12]
    block = gr_block(curve_data("x", CONC, end, position=1, controls=CONTROLS, time_zero_level=0.5))
    assert block["plates"][0]["time_zero_level"] == pytest.approx(0.4)  # 0.5 − background 0.1
    assert block["values"][4] == pytest.approx(_gr_by_hand(1.4, 0.4, 1.5))


@pytest.mark.parametrize(
    ("time_zero_level", "controls", "message"),
    [
        (2.0, CONTROLS, "the vehicle wells did not grow between time zero"),
        (0.05, CONTROLS, "the time-zero level (-0.05 above background) is not positive"),
        (0.5, ["blank", "blank", "blank", "blank", *[None] * 8], "has no vehicle wells"),
    ],
)
def test_undefined_gr_is_refused_in_words(time_zero_level: float, controls: list, message: str) -> None:
    end = [1.6, 1.6, 0.1, 0.1, 1.5, 1.3, 0.9, 0.8, 0.3, 0.25, 0.15, 0.12]
    curve = curve_data("x", CONC, end, position=1, controls=controls, time_zero_level=time_zero_level)
    with pytest.raises(GrowthError, match=message.replace("(", r"\(").replace(")", r"\)")):
        gr_block(curve)
