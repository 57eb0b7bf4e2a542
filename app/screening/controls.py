"""Normalisation of well responses to the plate's controls: percent viability.

Each well has a role:

``"vehicle"``
    untreated (solvent only) cells: 100 % viability.
``"blank"`` (alias ``"kill"``)
    the 0 % reference: medium without cells, or cells killed by a reference toxin.
``"sample"``
    drug-treated wells, to be normalised.

Per plate, with V the vehicle level and B the blank level (the mean of the wells, or the median with
``method="median"``, which one aberrant control well cannot move)::

    viability % = 100 · (x − B) / (V − B)

Controls are normalised too (vehicle wells scatter around 100 %). A plate without vehicle wells, without
blank wells (unless ``blank_level`` is given, e.g. 0 for background-corrected reads) or whose vehicle level
is not above its blank level is an error, never a silent number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from app.screening._common import JsonResult, as_choice, as_optional_number, as_vector, shorten

__all__ = ["CONTROL_METHODS", "WELL_ROLES", "ControlNormalisation", "PlateControls", "percent_viability"]

WELL_ROLES = ("vehicle", "blank", "sample")
_ALIASES = {"kill": "blank"}
CONTROL_METHODS = ("mean", "median")


@dataclass(frozen=True)
class PlateControls(JsonResult):
    """Control levels of one plate.

    Attributes
    ----------
    plate : str
        Plate label.
    vehicle_level : float
        100 % level V (response units, e.g. OD450).
    blank_level : float
        0 % level B.
    blank_source : str
        ``"blank wells"`` or ``"given"``.
    n_vehicle, n_blank : int
        Number of control wells used (n_blank is 0 when the level was given).
    vehicle_cv_percent : float or None
        Coefficient of variation of the vehicle wells, % (None with fewer than 2 wells).
    method : str
        ``"mean"`` or ``"median"``.
    """

    plate: str
    vehicle_level: float
    blank_level: float
    blank_source: str
    n_vehicle: int
    n_blank: int
    vehicle_cv_percent: float | None
    method: str


@dataclass(frozen=True)
class ControlNormalisation(JsonResult):
    """Percent viability of every well and the control levels used, per plate.

    Attributes
    ----------
    viability_percent : tuple of float, length n_wells
        ``100 · (x − B) / (V − B)`` with the levels of the well's plate, in input order.
    plates : tuple of PlateControls
        One entry per plate, in order of first appearance.
    """

    viability_percent: tuple[float, ...]
    plates: tuple[PlateControls, ...]

    def as_array(self) -> np.ndarray:
        """``viability_percent`` as a numpy array, shape (n_wells,)."""
        return np.array(self.viability_percent, dtype=float)


def _roles(roles: Sequence[Any], n: int) -> np.ndarray:
    labels = np.array(
        [_ALIASES.get(str(r).strip().lower(), str(r).strip().lower()) for r in roles], dtype=object
    )
    if labels.size != n:
        raise ValueError(f"roles must have one entry per well ({n}); got {labels.size}")
    for i, label in enumerate(labels):
        if label not in WELL_ROLES:
            raise ValueError(
                f"roles[{i}] must be one of {WELL_ROLES} (or 'kill' for blank); got {shorten(roles[i])}"
            )
    return labels


def _level(values: np.ndarray, method: str) -> float:
    return float(np.median(values) if method == "median" else np.mean(values))


def percent_viability(
    values: ArrayLike,
    roles: Sequence[Any],
    *,
    plates: Sequence[Any] | None = None,
    method: str = "mean",
    blank_level: float | None = None,
) -> ControlNormalisation:
    """Percent viability of each well from the vehicle (100 %) and blank (0 %) wells of its plate.

    Parameters
    ----------
    values : array_like, shape (n_wells,)
        Response of each well (e.g. OD450), finite.
    roles : sequence of str, length n_wells
        ``"vehicle"``, ``"blank"`` (or ``"kill"``) or ``"sample"`` per well (case-insensitive).
    plates : sequence, length n_wells, optional
        Plate label of each well; each plate is normalised to its own controls. Default: one plate.
    method : {"mean", "median"}
        How control wells are summarised; the median is robust to a single aberrant well.
    blank_level : float, optional
        The 0 % level to use instead of blank wells (e.g. 0 for background-subtracted reads); when given,
        blank wells are not required (and not used).

    Returns
    -------
    ControlNormalisation

    Raises
    ------
    ValueError
        Non-finite values, roles or plates of the wrong length, an unknown role or method, a plate
        without vehicle wells, a plate without blank wells when ``blank_level`` is None, or a vehicle
        level not above the blank level.
    """
    x = as_vector(values, "values")
    role = _roles(roles, x.size)
    how = as_choice(method, "method", CONTROL_METHODS)
    given_blank = as_optional_number(blank_level, "blank_level")
    plate_labels = np.array(["plate"] * x.size if plates is None else [str(p) for p in plates], dtype=object)
    if plate_labels.size != x.size:
        raise ValueError(f"plates must have one entry per well ({x.size}); got {plate_labels.size}")
    viability = np.empty(x.size)
    summaries = []
    for plate in dict.fromkeys(plate_labels.tolist()):
        on_plate = plate_labels == plate
        vehicle = x[on_plate & (role == "vehicle")]
        if vehicle.size == 0:
            raise ValueError(f"plate {plate!r} has no vehicle wells: there is no 100 % viability reference")
        if given_blank is None:
            blanks = x[on_plate & (role == "blank")]
            if blanks.size == 0:
                raise ValueError(
                    f"plate {plate!r} has no blank (or kill) wells: there is no 0 % reference. Add blank "
                    "wells or give blank_level (e.g. 0 if the reads are background-corrected)"
                )
            zero, source, n_blank = _level(blanks, how), "blank wells", int(blanks.size)
        else:
            zero, source, n_blank = given_blank, "given", 0
        hundred = _level(vehicle, how)
        if not hundred > zero:
            raise ValueError(
                f"plate {plate!r}: the vehicle level ({hundred:.4g}) is not above the blank level "
                f"({zero:.4g}); the controls are swapped or carry no signal"
            )
        viability[on_plate] = 100.0 * (x[on_plate] - zero) / (hundred - zero)
        mean_vehicle = float(np.mean(vehicle))
        cv = (
            float(100.0 * np.std(vehicle, ddof=1) / mean_vehicle)
            if vehicle.size > 1 and mean_vehicle > 0
            else None
        )
        summaries.append(
            PlateControls(str(plate), hundred, zero, source, int(vehicle.size), n_blank, cv, how)
        )
    return ControlNormalisation(tuple(float(v) for v in viability), tuple(summaries))
