"""Field types shared by the API's schemas (:mod:`app.schemas`, :mod:`app.schemas_analysis`,
:mod:`app.schemas_growth`): numbers that refuse NaN and true/false, concentrations, labels, control kinds."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from app.config import MAX_LABEL_LENGTH, MAX_WELL_ID_LENGTH

__all__ = [
    "CONTROL_KINDS",
    "Concentration",
    "ControlKind",
    "Finite",
    "Label",
    "NumberOnly",
    "StrictModel",
    "WellId",
    "check_per_well",
]


def _not_a_boolean(value: Any) -> Any:
    """Refuse ``true``/``false`` where a number is expected (pydantic would read them as 1 and 0)."""
    if isinstance(value, bool):
        raise PydanticCustomError("float_type", "Input should be a number, not true or false")
    return value


#: Put in an ``Annotated`` number type: true and false are refused instead of read as 1 and 0.
NumberOnly = BeforeValidator(_not_a_boolean)
#: A finite number (JSON NaN/Infinity are rejected with a clear message; so are true and false).
Finite = Annotated[float, Field(allow_inf_nan=False), NumberOnly]
#: A concentration in µM: finite and ≥ 0 (0 = vehicle control).
Concentration = Annotated[float, Field(allow_inf_nan=False, ge=0), NumberOnly]
Label = Annotated[str, Field(max_length=MAX_LABEL_LENGTH)]
#: A well ID such as ``B07`` (``AF48`` on a 1536-well plate).
WellId = Annotated[str, Field(max_length=MAX_WELL_ID_LENGTH)]

#: What a control well is: vehicle (solvent only) and untreated wells are 100 % viability and must have
#: concentration 0; blank (medium without cells) and kill (cells killed by a reference toxin) wells are 0 %
#: and are not fitted (their concentration is not used). The page's plate layouts use the same words.
ControlKind = Literal["vehicle", "untreated", "blank", "kill"]
CONTROL_KINDS: tuple[str, ...] = ("vehicle", "untreated", "blank", "kill")


def check_per_well(model: BaseModel, names: tuple[str, ...], n_wells: int) -> None:
    """ValueError naming the first per-well list of ``model`` (of ``names``) without ``n_wells`` entries."""
    for name in names:
        values = getattr(model, name, None)
        if values is not None and len(values) != n_wells:
            raise ValueError(
                f"{name} has {len(values)} entries but there are {n_wells} wells: give one per well"
            )


class StrictModel(BaseModel):
    """A request schema that refuses fields it does not know (a typo is a 422, not silently ignored)."""

    model_config = ConfigDict(extra="forbid")
