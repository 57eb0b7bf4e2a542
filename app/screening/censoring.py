"""Censoring of concentrations estimated from a fitted curve (IC_x, GR50, ...).

A concentration read off a fitted curve is a measurement only inside the tested range. Outside it, the
number is an extrapolation of the model, and what the data say is an inequality: "more than the highest
concentration tested" or "less than the lowest". :func:`censor_concentration` turns an estimate into a
:class:`CensoredConcentration` that says so in words (``"> 30 µM"``) and in a CSV cell (``">30"``), keeps
the in-range value in ``value_um`` and the out-of-range model estimate only in ``extrapolated_um``, so an
extrapolated number can never be mistaken for a measurement.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.screening._common import JsonResult, as_choice, as_number, format_number

__all__ = ["CENSOR_KINDS", "CensoredConcentration", "censor_concentration"]

CENSOR_KINDS = ("none", "above_range", "below_range", "not_reached", "no_effect", "not_estimated")


@dataclass(frozen=True)
class CensoredConcentration(JsonResult):
    """A concentration (µM) estimated from a curve, with its censoring.

    Attributes
    ----------
    value_um : float or None
        The estimate when it lies inside the tested range (a measurement); None otherwise.
    extrapolated_um : float or None
        The model's estimate when it lies outside the tested range (an extrapolation, not a measurement);
        None when inside the range or when there is no estimate.
    censor : str
        ``"none"`` (inside the range), ``"above_range"``, ``"below_range"``, ``"not_reached"`` (the curve
        never reaches the level: the concentration is above any tested one), ``"no_effect"`` (flat curve)
        or ``"not_estimated"`` (no curve).
    text : str
        For people: ``"1.464 µM"``, ``"> 30 µM"``, ``"< 0.0001 µM"``, ``"not reached (> 30 µM)"``.
    csv : str
        For a CSV cell: ``"1.464"``, ``">30"``, ``"<0.0001"``; empty when not estimated.
    tested_range_um : tuple of float
        Lowest and highest positive concentration tested, µM.
    """

    value_um: float | None
    extrapolated_um: float | None
    censor: str
    text: str
    csv: str
    tested_range_um: tuple[float, float]


def _bound(value: float) -> str:
    return f"{value:.6g}"


def censor_concentration(
    estimate_um: float | None,
    tested_range_um: tuple[float, float],
    *,
    reason: str = "none",
) -> CensoredConcentration:
    """Classify a concentration estimate against the tested range.

    Parameters
    ----------
    estimate_um : float or None
        The model's concentration in µM (> 0), or None when there is none (see ``reason``).
    tested_range_um : (float, float)
        Lowest and highest positive concentration tested, µM, low ≤ high.
    reason : {"none", "not_reached", "no_effect", "below_range", "not_estimated"}
        Why ``estimate_um`` is None: the curve does not reach the level (reported as above the range), the
        curve is flat without effect (likewise above the range), the level is passed already at the lowest
        concentration with no model estimate (below the range), or there is no curve at all. Ignored when an
        estimate is given.

    Returns
    -------
    CensoredConcentration

    Raises
    ------
    ValueError
        A non-positive or non-finite estimate, a bad range, an unknown ``reason``, or ``reason="none"``
        without an estimate.
    """
    low = as_number(tested_range_um[0], "tested_range_um[0]", low=0.0)
    high = as_number(tested_range_um[1], "tested_range_um[1]", low=0.0)
    if high < low:
        raise ValueError(f"tested_range_um must be (low, high) with low <= high; got {tested_range_um!r}")
    kind = as_choice(reason, "reason", ("none", "not_reached", "no_effect", "below_range", "not_estimated"))
    span = (low, high)
    if estimate_um is None:
        if kind == "none":
            raise ValueError(f"estimate_um is None: give the reason, one of {CENSOR_KINDS[2:]}")
        if kind == "not_estimated":
            return CensoredConcentration(None, None, kind, "not estimated", "", span)
        if kind == "below_range":
            return CensoredConcentration(None, None, kind, f"< {_bound(low)} µM", f"<{_bound(low)}", span)
        words = "not reached" if kind == "not_reached" else "no effect in the tested range"
        return CensoredConcentration(
            None, None, kind, f"{words} (> {_bound(high)} µM)", f">{_bound(high)}", span
        )
    value = as_number(estimate_um, "estimate_um", low=0.0)
    if value > high:
        return CensoredConcentration(
            None, value, "above_range", f"> {_bound(high)} µM", f">{_bound(high)}", span
        )
    if value < low:
        return CensoredConcentration(
            None, value, "below_range", f"< {_bound(low)} µM", f"<{_bound(low)}", span
        )
    return CensoredConcentration(value, None, "none", f"{format_number(value)} µM", f"{value:.6g}", span)
