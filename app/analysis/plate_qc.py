"""Plate quality control of one curve, plate by plate: control separation and the edge effect.

* Control separation (:func:`app.screening.control_separation`): Z′, robust Z′ and SSMD of the plate's
  vehicle and blank/kill wells, on the responses as sent; needs at least 2 of each.
* Edge effect (:func:`app.screening.edge_effect`): the outer ring against the inner wells, on each well's
  response relative to the fitted curve (observed / fitted), which should read alike anywhere on the plate
  whatever its concentration. Wells where the fitted response is not positive or below
  :data:`EDGE_MIN_FITTED_FRACTION` of the curve's control level are left out (a ratio of small numbers is
  noise). Needs well IDs of a 96- or 384-well plate and at least 2 such wells in the ring and 2 inside.

What cannot be assessed is said in ``notes``; every warning of the plate is gathered in ``warnings``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.doseresponse import HillFit
from app.screening import control_separation, edge_effect, plate_array
from app.screening.qc import PLATE_SHAPES

__all__ = ["EDGE_MIN_FITTED_FRACTION", "plate_qc", "plate_size"]

#: Wells whose fitted response is below this fraction of the control level are left out of the edge check.
EDGE_MIN_FITTED_FRACTION = 0.2
_ROWS = "ABCDEFGHIJKLMNOP"


def plate_size(well_ids: list[str]) -> int | None:
    """96 or 384 from well IDs ('A1'–'H12' → 96; up to 'P24' → 384); None when any ID is on neither."""
    size = 96
    for well in well_ids:
        text = well.strip().upper()
        row = _ROWS.find(text[:1]) if text else -1
        column = int(text[1:]) if text[1:].isdigit() else 0
        if row < 0 or not 1 <= column <= 24:
            return None
        if row >= PLATE_SHAPES[96][0] or column > PLATE_SHAPES[96][1]:
            size = 384
    return size


def _separation(vehicle: np.ndarray, blank: np.ndarray, notes: list[str]) -> dict[str, Any] | None:
    if vehicle.size < 2 or blank.size < 2:
        notes.append(
            f"Z′ and SSMD not assessed: {vehicle.size} vehicle and {blank.size} blank/kill wells "
            "(at least 2 of each are needed)."
        )
        return None
    return control_separation(vehicle, blank).to_dict()


def _edge(ids: list[str], ratio: np.ndarray, size: int | None, notes: list[str]) -> dict[str, Any] | None:
    if size is None:
        notes.append("Edge effect not assessed: the well IDs are not those of a 96- or 384-well plate.")
        return None
    try:
        return edge_effect(plate_array(ids, ratio, plate_size=size)).to_dict()
    except ValueError as exc:
        notes.append(f"Edge effect not assessed: {exc}.")
        return None


def plate_qc(
    *,
    plate: np.ndarray,
    role: np.ndarray,
    response: np.ndarray,
    well_ids: tuple[str, ...],
    fitted: np.ndarray,
    fit: HillFit,
    fit_value: np.ndarray,
) -> list[dict[str, Any]]:
    """The ``qc`` block: one entry per plate (:class:`app.schemas_analysis.PlateQCOut`).

    Parameters
    ----------
    plate, role : numpy.ndarray of str, shape (n_wells,)
        Plate label and role (``sample``, ``vehicle``, ``blank``) of each well.
    response : numpy.ndarray, shape (n_wells,)
        Responses as sent (Z′ and SSMD use these).
    well_ids : tuple of str, length n_wells
        Well IDs ('' where none).
    fitted : numpy.ndarray, shape (n_wells,)
        The fitted curve at each well's concentration (NaN for blank wells or without a curve).
    fit : HillFit
        The curve's fit (its control level bounds the edge check).
    fit_value : numpy.ndarray, shape (n_wells,)
        Each well's response in the unit of the fit.
    """
    level = fit.eval(np.zeros(1))[0]
    usable = np.isfinite(fitted) & (fitted > 0) & (role != "blank")
    if np.isfinite(level) and level > 0:
        usable &= fitted >= EDGE_MIN_FITTED_FRACTION * level
    ratio = np.where(usable, fit_value / np.where(usable, fitted, 1.0), np.nan)
    entries = []
    for label in dict.fromkeys(plate.tolist()):
        on_plate = plate == label
        notes: list[str] = []
        separation = _separation(
            response[on_plate & (role == "vehicle")], response[on_plate & (role == "blank")], notes
        )
        ids = [well_ids[k] for k in np.flatnonzero(on_plate & usable)]
        named = [well_ids[k] for k in np.flatnonzero(on_plate) if well_ids[k]]
        size = plate_size(named) if named else None
        reason = None
        if not named:
            reason = "no well IDs were given"
        elif not all(ids):
            reason = "some wells have no well ID"
        elif not fit.has_curve:
            reason = "the curve could not be fitted"
        if reason:
            notes.append(f"Edge effect not assessed: {reason}.")
        edge = None if reason else _edge(ids, ratio[on_plate & usable], size, notes)
        warnings = [*(separation or {}).get("warnings", []), *(edge or {}).get("warnings", [])]
        entries.append(
            {"plate": label, "plate_size": size, "control_separation": separation, "edge_effect": edge,
             "warnings": warnings, "notes": notes}
        )  # fmt: skip
    return entries
