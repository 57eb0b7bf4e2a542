"""Time courses: the same plate read at several times → viability, Hill fits and GR over time.

Input: ``values`` of shape (n_times, n_wells) — the same wells read at ``times_h`` — with one concentration
per well (0 = vehicle) and the 0 % level given by blank wells or ``blank_level``. Output: tidy records
(one dict per well × time, per concentration × time, per time, per interval × concentration) ready for
plotting, plus the Hill fits themselves.

* Viability per well and time: percent of the vehicle wells at the same time point
  (:func:`app.screening.controls.percent_viability`, one "plate" per time point).
* A Hill fit per time point of viability (%) against concentration (:func:`app.doseresponse.fit_hill_many`).
* Time-dependent GR values (Hafner et al., Nat Methods 13:521, 2016; the GR calculator's time-dependent
  definition, based on cell counts before and after an interval, x(c, t ± Δt)): for consecutive reads
  t_a < t_b, with x̄ the blank-subtracted mean of the wells at concentration c (or of the vehicle wells)::

      GR(c, t_a → t_b) = 2^( log2(x̄(c, t_b) / x̄(c, t_a)) / log2(x̄_ctrl(t_b) / x̄_ctrl(t_a)) ) − 1

  reported at the interval's midpoint. The same formula from the first read to each later one
  (``"from_start"``) is the ordinary GR value with x0 read on the plate itself (when the first read is at
  the time of treatment). GR is None where a mean is ≤ 0 or the controls did not grow in the interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from app.doseresponse import HillFit, fit_hill_many
from app.screening._common import JsonResult, as_optional_number, as_vector, json_safe, shorten
from app.screening.controls import percent_viability

__all__ = ["TimeCourse", "interval_gr", "time_course"]


@dataclass(frozen=True)
class TimeCourse(JsonResult):
    """Tidy records of a plate read over time (see the module docstring).

    Attributes
    ----------
    wells : tuple of dict
        One per well and time: ``time_h, well, conc_um, value, viability_percent``.
    concentrations : tuple of dict
        One per concentration (0 = vehicle) and time: ``time_h, conc_um, n, mean_value,
        mean_viability_percent, sd_viability_percent``.
    fits : tuple of dict
        One per time: ``time_h, status, ic50_um, ic50_ci_um, hill, top, bottom, r2, message`` (viability %).
    gr : tuple of dict
        One per interval and positive concentration: ``kind`` (``"interval"`` or ``"from_start"``),
        ``t_start_h, t_end_h, t_mid_h, conc_um, gr``.
    hill_fits : tuple of HillFit
        The fits, one per time point, in time order.
    times_h : tuple of float
    """

    wells: tuple[dict, ...]
    concentrations: tuple[dict, ...]
    fits: tuple[dict, ...]
    gr: tuple[dict, ...]
    hill_fits: tuple[HillFit, ...]
    times_h: tuple[float, ...]


def interval_gr(start: float, end: float, control_start: float, control_end: float) -> float | None:
    """GR over one interval from (blank-subtracted) means; None where undefined.

    Parameters
    ----------
    start, end : float
        Treated value at the start and end of the interval (> 0 for a defined GR).
    control_start, control_end : float
        Vehicle value at the start and end (the controls must grow: end > start > 0).

    Returns
    -------
    float or None
        ``2^(log2(end/start) / log2(control_end/control_start)) − 1``; None when a value is NaN or ≤ 0 or the
        controls did not grow.

    Raises
    ------
    ValueError
        A value that is not a number.
    """
    values = []
    for name, value in zip(
        ("start", "end", "control_start", "control_end"),
        (start, end, control_start, control_end),
        strict=True,
    ):
        try:
            values.append(float(value))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be a number; got {shorten(value)}") from exc
    if not all(math.isfinite(v) and v > 0 for v in values) or not values[3] > values[2]:
        return None
    start, end, control_start, control_end = values
    return 2.0 ** (math.log2(end / start) / math.log2(control_end / control_start)) - 1.0


def time_course(
    times_h: ArrayLike,
    values: ArrayLike,
    conc_um: ArrayLike,
    *,
    blank_wells: ArrayLike | None = None,
    blank_level: float | None = None,
    well_names: list[str] | None = None,
) -> TimeCourse:
    """Viability, Hill fits and GR over time for one plate read several times.

    Parameters
    ----------
    times_h : array_like, shape (n_times,)
        Read times in hours, strictly increasing, at least 2.
    values : array_like, shape (n_times, n_wells)
        Response of every well at every time (e.g. OD450, assumed proportional to viable cells).
    conc_um : array_like, shape (n_wells,)
        Concentration of each well, µM (0 = vehicle; blank wells' entries are ignored).
    blank_wells : array_like of bool, shape (n_wells,), optional
        Wells that define 0 % (medium only, or killed cells).
    blank_level : float, optional
        The 0 % level instead of blank wells (e.g. 0 for background-corrected reads). One of
        ``blank_wells`` and ``blank_level`` is required.
    well_names : list of str, optional
        Names for the records (default ``"w0"``, ``"w1"``, …).

    Returns
    -------
    TimeCourse

    Raises
    ------
    ValueError
        Bad shapes, non-finite values, times not strictly increasing, no vehicle wells, no 0 % reference,
        or a time point where the vehicle does not read above the blank.
    """
    times = as_vector(times_h, "times_h", min_size=2)
    if np.any(np.diff(times) <= 0):
        raise ValueError(f"times_h must be strictly increasing; got {times.tolist()!r:.40}")
    grid = np.asarray(values, dtype=float)
    conc = as_vector(conc_um, "conc_um")
    if grid.shape != (times.size, conc.size):
        raise ValueError(
            f"values must have shape (n_times, n_wells) = {(times.size, conc.size)}; got {grid.shape}"
        )
    if not np.isfinite(grid).all():
        raise ValueError("values must be finite")
    if np.any(conc < 0):
        raise ValueError(f"conc_um must be >= 0; got {float(conc[conc < 0][0])!r}")
    blank = np.zeros(conc.size, dtype=bool) if blank_wells is None else np.asarray(blank_wells, dtype=bool)
    if blank.shape != conc.shape:
        raise ValueError(f"blank_wells must have one entry per well ({conc.size}); got shape {blank.shape}")
    level = as_optional_number(blank_level, "blank_level")
    names = [f"w{i}" for i in range(conc.size)] if well_names is None else [str(n) for n in well_names]
    if len(names) != conc.size:
        raise ValueError(f"well_names must have one entry per well ({conc.size}); got {len(names)}")
    roles = np.where(blank, "blank", np.where(conc == 0, "vehicle", "sample")).tolist()
    plates = np.repeat([f"t={t:g} h" for t in times], conc.size).tolist()
    normalised = percent_viability(
        grid.ravel(), roles * times.size, plates=plates, blank_level=level
    )  # one "plate" per time point
    viability = normalised.as_array().reshape(grid.shape)
    zero = np.array([p.blank_level for p in normalised.plates])
    signal = grid - zero[:, None]  # blank-subtracted, for GR
    assay = ~blank
    levels = np.unique(conc[assay])

    well_records, conc_records, gr_records = [], [], []
    for k, t in enumerate(times):
        for i in np.flatnonzero(assay):
            well_records.append(
                {
                    "time_h": t,
                    "well": names[i],
                    "conc_um": conc[i],
                    "value": grid[k, i],
                    "viability_percent": viability[k, i],
                }
            )
        for c in levels:
            at = assay & (conc == c)
            conc_records.append({
                "time_h": t, "conc_um": c, "n": int(at.sum()), "mean_value": float(np.mean(grid[k, at])),
                "mean_viability_percent": float(np.mean(viability[k, at])),
                "sd_viability_percent": float(np.std(viability[k, at], ddof=1)) if at.sum() > 1 else None,
            })  # fmt: skip
    fits = fit_hill_many([(conc[assay], viability[k, assay]) for k in range(times.size)])
    fit_records = [
        {
            "time_h": t, "status": f.status, "ic50_um": f.ic50_um, "ic50_ci_um": f.ic50_ci_um, "hill": f.hill,
            "top": f.top, "bottom": f.bottom, "r2": f.r2, "message": f.message,
        }
        for t, f in zip(times, fits, strict=True)
    ]  # fmt: skip
    mean_signal = np.array(
        [[np.mean(signal[k, assay & (conc == c)]) for c in levels] for k in range(times.size)]
    )
    control = mean_signal[:, 0] if levels.size and levels[0] == 0 else np.full(times.size, np.nan)
    for kind, pairs in (
        ("interval", [(k, k + 1) for k in range(times.size - 1)]),
        ("from_start", [(0, k) for k in range(1, times.size)]),
    ):
        for a, b in pairs:
            for j, c in enumerate(levels):
                if c == 0:
                    continue
                gr_records.append({
                    "kind": kind, "t_start_h": times[a], "t_end_h": times[b],
                    "t_mid_h": (times[a] + times[b]) / 2, "conc_um": c,
                    "gr": interval_gr(mean_signal[a, j], mean_signal[b, j], control[a], control[b]),
                })  # fmt: skip
    return TimeCourse(
        wells=tuple(json_safe(r) for r in well_records),
        concentrations=tuple(json_safe(r) for r in conc_records),
        fits=tuple(json_safe(r) for r in fit_records),
        gr=tuple(json_safe(r) for r in gr_records),
        hill_fits=tuple(fits),
        times_h=tuple(float(t) for t in times),
    )
