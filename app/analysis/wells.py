"""A curve's wells as arrays, with each well's role and plate resolved, and their % viability.

Roles: ``"blank"`` for blank and kill wells (0 % viability; not fitted), ``"vehicle"`` for vehicle and
untreated wells and for wells at 0 µM without a control kind (100 %), ``"sample"`` for treated wells.
A vehicle or untreated well must be at 0 µM: a vehicle well at 1 µM is a layout mistake, refused in words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.fitting import UnfittableRequest
from app.schemas import CurveWells
from app.screening import ControlNormalisation, percent_viability
from app.text import quote

__all__ = ["DEFAULT_PLATE", "CurveData", "curve_data", "request_curve_data", "viability"]

#: The plate of wells sent without a plate label.
DEFAULT_PLATE = "plate"
_ROLE_OF = {"vehicle": "vehicle", "untreated": "vehicle", "blank": "blank", "kill": "blank"}


@dataclass(frozen=True)
class CurveData:
    """One curve's wells, in request order.

    Attributes
    ----------
    label : str
    position : int
        1-based position of the curve in the request (for messages).
    conc_um : numpy.ndarray, shape (n_wells,)
        Concentrations, µM.
    response : numpy.ndarray, shape (n_wells,)
        Responses as sent (e.g. predicted OD450).
    role : numpy.ndarray of str, shape (n_wells,)
        ``"sample"``, ``"vehicle"`` or ``"blank"``.
    plate : numpy.ndarray of str, shape (n_wells,)
        Plate label of each well.
    well_ids : tuple of str, length n_wells
        Well IDs ('' where none was given).
    time_zero : numpy.ndarray or None, shape (n_wells,)
        The wells read at the time of treatment (NaN where not read), response units.
    time_zero_level : float or None
        One time-zero response for the whole curve, response units.
    outlier_exempt : numpy.ndarray of bool, shape (n_wells,)
        Wells the outlier test must keep.
    fix_top, fix_bottom : float or None
        Fixed asymptotes, in the unit of the fit.
    """

    label: str
    position: int
    conc_um: np.ndarray
    response: np.ndarray
    role: np.ndarray
    plate: np.ndarray
    well_ids: tuple[str, ...]
    time_zero: np.ndarray | None
    time_zero_level: float | None
    outlier_exempt: np.ndarray
    fix_top: float | None
    fix_bottom: float | None

    @property
    def name(self) -> str:
        """``curve 2 ('A549 DOX')``: how messages name the curve."""
        return f"curve {self.position} ({quote(self.label)})"

    @property
    def fitted(self) -> np.ndarray:
        """Wells that take part in the fit (every well but blank and kill wells), shape (n_wells,)."""
        return self.role != "blank"

    @property
    def plates(self) -> list[str]:
        """Plate labels in order of first appearance."""
        return list(dict.fromkeys(self.plate.tolist()))


def curve_data(
    label: str,
    conc_um: Sequence[float],
    response: Sequence[float],
    *,
    position: int,
    well_ids: Sequence[str] | None = None,
    plates: Sequence[str] | None = None,
    controls: Sequence[str | None] | None = None,
    time_zero: Sequence[float | None] | None = None,
    time_zero_level: float | None = None,
    outlier_exempt: Sequence[bool] | None = None,
    fix_top: float | None = None,
    fix_bottom: float | None = None,
) -> CurveData:
    """The wells of a validated request curve as :class:`CurveData` (lists of one entry per well).

    Raises
    ------
    UnfittableRequest
        A vehicle or untreated well at a concentration above 0, or no well left to fit.
    """
    conc = np.asarray(conc_um, dtype=float)
    n = conc.size
    kinds = list(controls) if controls is not None else [None] * n
    role = np.array(
        [_ROLE_OF.get(k or "", "vehicle" if c == 0 else "sample") for k, c in zip(kinds, conc, strict=True)]
    )
    ids = tuple(well_ids) if well_ids is not None else ("",) * n
    for k, kind in enumerate(kinds):
        if kind in ("vehicle", "untreated") and conc[k] > 0:
            where = f"well {k + 1}" + (f" ({quote(ids[k])})" if ids[k] else "")
            raise UnfittableRequest(
                f"curve {position} ({quote(label)}), {where}: a {kind} control must be at 0 µM, not "
                f"{conc[k]:g} µM; mark it as a treated well or set its concentration to 0"
            )
    if not np.any(role != "blank"):
        raise UnfittableRequest(
            f"curve {position} ({quote(label)}): every well is a blank or kill control; there is no curve "
            "to fit"
        )
    plate = np.array([p or DEFAULT_PLATE for p in plates] if plates is not None else [DEFAULT_PLATE] * n)
    zero = None if time_zero is None else np.array([np.nan if v is None else v for v in time_zero], float)
    return CurveData(
        label=label,
        position=position,
        conc_um=conc,
        response=np.asarray(response, dtype=float),
        role=role,
        plate=plate,
        well_ids=ids,
        time_zero=zero,
        time_zero_level=time_zero_level,
        outlier_exempt=np.zeros(n, bool) if outlier_exempt is None else np.asarray(outlier_exempt, bool),
        fix_top=fix_top,
        fix_bottom=fix_bottom,
    )


def request_curve_data(curve: CurveWells, position: int) -> CurveData:
    """:func:`curve_data` of a request's curve (``/api/fit``'s ``CurveIn`` or ``/api/gr``'s ``GRCurveIn``)."""
    return curve_data(
        curve.label, curve.concentrations_um, curve.responses, position=position, well_ids=curve.well_ids,
        plates=curve.plates, controls=curve.controls, time_zero=curve.time_zero,
        time_zero_level=curve.time_zero_level, outlier_exempt=getattr(curve, "outlier_exempt", None),
        fix_top=getattr(curve, "fix_top", None), fix_bottom=getattr(curve, "fix_bottom", None),
    )  # fmt: skip


def viability(curve: CurveData) -> tuple[ControlNormalisation | None, str | None]:
    """% viability of every well from the vehicle (100 %) and blank/kill (0 %) wells of its plate.

    Returns
    -------
    normalisation : ControlNormalisation or None
        None when a plate lacks vehicle or blank/kill wells, or its vehicle level is not above its blank.
    problem : str or None
        Why there is none, in plain words naming the curve and the plate.
    """
    for plate in curve.plates:
        roles = set(curve.role[curve.plate == plate].tolist())
        missing = [
            words
            for role, words in (
                ("vehicle", "vehicle wells (at 0 µM, or marked 'vehicle' in controls)"),
                ("blank", "blank or kill wells (marked in controls)"),
            )
            if role not in roles
        ]
        if missing:
            return None, f"{curve.name}: plate {quote(plate)} has no {' and no '.join(missing)}"
    try:
        return percent_viability(curve.response, curve.role.tolist(), plates=curve.plate.tolist()), None
    except ValueError as exc:
        return None, f"{curve.name}: {exc}"
