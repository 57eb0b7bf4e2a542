"""GR values and metrics of one curve from its end-point reads and a time-zero read (two time points).

Per plate (Hafner et al., Nat Methods 13:521, 2016; :mod:`app.screening.gr`):

* background B: the mean of the plate's blank/kill wells (0 without them), subtracted from every read —
  GR uses ratios, and predicted OD450 is **assumed proportional to the number of viable cells** above it;
* x0: the mean time-zero read of the plate's non-blank wells (every well is untreated at the time of
  treatment) minus the time-zero background (the blank/kill wells' time-zero mean, else B), or the curve's
  ``time_zero_level`` minus B;
* x_ctrl: the mean of the vehicle wells at the end point minus B;
* each non-blank well: ``GR = 2^(log2(x/x0) / log2(x_ctrl/x0)) − 1`` with x its read minus B. A well at or
  below the background has no viable cells detected: GR −1, the limit of the formula (counted per plate).

GR50, GRmax, GR_AOC, GEC50, GRinf and h_GR come from the treated wells (:func:`app.screening.gr_metrics`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.analysis.wells import CurveData
from app.screening import gr_metrics, gr_values

__all__ = ["GR_ASSUMPTION", "GrowthError", "gr_block"]

GR_ASSUMPTION = (
    "Predicted OD450 is assumed proportional to the number of viable cells (after the blank/kill wells' "
    "level is subtracted)."
)


class GrowthError(ValueError):
    """GR values cannot be computed for a curve; the message says why in plain words."""


def _mean(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(np.mean(finite)) if finite.size else None


def _plate_levels(curve: CurveData, on_plate: np.ndarray, label: str) -> tuple[float, float, float]:
    """(background, x0, x_ctrl) of one plate, response units; GrowthError when GR is undefined."""
    blank = on_plate & (curve.role == "blank")
    background = _mean(curve.response[blank]) or 0.0
    if curve.time_zero is not None:
        read = _mean(curve.time_zero[on_plate & ~blank])
        if read is None:
            raise GrowthError(f"plate {label!r} has no time-zero read of a well that is not blank or kill")
        blank_at_zero = _mean(curve.time_zero[blank])
        x0 = read - (background if blank_at_zero is None else blank_at_zero)
    else:
        assert curve.time_zero_level is not None
        x0 = curve.time_zero_level - background
    vehicle = _mean(curve.response[on_plate & (curve.role == "vehicle")])
    if vehicle is None:
        raise GrowthError(f"plate {label!r} has no vehicle wells: GR needs the untreated growth")
    x_ctrl = vehicle - background
    if not x0 > 0:
        raise GrowthError(
            f"plate {label!r}: the time-zero level ({x0:.4g} above background) is not positive, so growth "
            "cannot be measured from it"
        )
    if not x_ctrl > x0:
        raise GrowthError(
            f"plate {label!r}: the vehicle wells did not grow between time zero ({x0:.4g}) and the end point "
            f"({x_ctrl:.4g}, both above background); GR values are undefined"
        )
    return background, x0, x_ctrl


def gr_block(curve: CurveData) -> dict[str, Any]:
    """The ``gr`` block of a curve with time-zero values (:class:`app.schemas_analysis.GROut`).

    Raises
    ------
    GrowthError
        A plate without vehicle wells or time-zero reads, or whose vehicle wells did not grow.
    """
    values = np.full(curve.conc_um.size, np.nan)
    plates = []
    for label in curve.plates:
        on_plate = curve.plate == label
        background, x0, x_ctrl = _plate_levels(curve, on_plate, label)
        wells = on_plate & (curve.role != "blank")
        signal = curve.response[wells] - background
        alive = signal > 0
        plate_gr = np.full(signal.size, -1.0)
        plate_gr[alive] = gr_values(signal[alive], x_ctrl, x0)
        values[wells] = plate_gr
        plates.append({
            "plate": label, "time_zero_level": x0, "vehicle_level": x_ctrl, "background": background,
            "control_doublings": float(np.log2(x_ctrl / x0)),
            "n_at_background": int(np.sum(~alive & (curve.role[wells] == "sample"))),
        })  # fmt: skip
    treated = (curve.role == "sample") & (curve.conc_um > 0)
    metrics = None
    message = f"GR values from time zero to the end point. {GR_ASSUMPTION}"
    if treated.any():
        found = gr_metrics(curve.conc_um[treated], values[treated])
        metrics = found.to_dict()
        message = f"{found.message} {GR_ASSUMPTION}"
    else:
        message = f"No GR metrics: the curve has no treated well. {GR_ASSUMPTION}"
    return {
        "metrics": metrics,
        "values": [None if np.isnan(v) else float(v) for v in values],
        "plates": plates,
        "message": message,
    }
