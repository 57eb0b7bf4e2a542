"""A simulated 96-well plate (synthetic): vehicle wells in column 1, blank wells in column 12, a 3-fold
dilution in columns 2–11 (10 µM down), one drug in every row."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.analysis.wells import CurveData, curve_data

ROWS = "ABCDEFGH"
#: The Hill curve of the simulated drug (predicted OD450 against µM) and the blank wells' level.
TRUE = {"top": 1.5, "bottom": 0.1, "ic50_um": 0.5, "hill": 1.2, "blank": 0.08}
DOSES_UM = [10.0 / 3**k for k in range(10)]


def hill(conc_um: np.ndarray) -> np.ndarray:
    """The simulated drug's OD450 at ``conc_um`` (vehicle level at 0)."""
    x = np.asarray(conc_um, dtype=float)
    with np.errstate(divide="ignore"):
        return TRUE["bottom"] + (TRUE["top"] - TRUE["bottom"]) / (1 + (x / TRUE["ic50_um"]) ** TRUE["hill"])


def plate(*, noise: float = 0.02, seed: int = 0, blanks: bool = True) -> dict[str, Any]:
    """Wells of the plate as the API takes them: concentrations_um, responses, controls, well_ids."""
    rng = np.random.default_rng(seed)
    conc, controls, wells = [], [], []
    for row in ROWS:
        for column in range(1, 13):
            wells.append(f"{row}{column}")
            if column == 1:
                conc.append(0.0), controls.append("vehicle")
            elif column == 12:
                conc.append(0.0), controls.append("blank" if blanks else "vehicle")
            else:
                conc.append(DOSES_UM[column - 2]), controls.append(None)
    x = np.array(conc)
    response = np.where(np.array(controls) == "blank", TRUE["blank"], hill(x)) + rng.normal(0, noise, x.size)
    return {
        "concentrations_um": conc,
        "responses": response.tolist(),
        "controls": controls,
        "well_ids": wells,
    }


def as_curve(wells: dict[str, Any], **extra: Any) -> CurveData:
    """The plate as :class:`CurveData`, curve 1 labelled 'plate 1'."""
    return curve_data(
        "plate 1", wells["concentrations_um"], wells["responses"], position=1, controls=wells.get("controls"),
        well_ids=wells.get("well_ids"), **extra,
    )  # fmt: skip
