"""The concentration a file name states: the twin of the page's ``parseNameConcentration``.

``static/js/concentrations.js`` reads ``A549_dox_0.5uM_B07.jpg`` as 0.5 µM and ``plate1_DMSO_A01.jpg`` as a
vehicle control (0 µM); the batch command reads archive file names with the same rule, so a folder scored
here gets the concentrations the page would give it. Both run one list of cases, ``NAME_CASES`` of
``tests/training/score/test_names.py`` (the page's in ``tests/e2e/test_page_modules.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["NameConcentration", "name_concentration"]

_NUMBER = r"(\d+(?:[.,p]\d+)?(?:[eE][-+]?\d+)?|[.]\d+)"
# µ (micro sign), μ (Greek mu) or u; lower-case "um" is µM too; "nm" is not (a wavelength: "450nm").
_UNIT = r"(µM|μM|uM|UM|um|µm|μm|nM|NM|mM|pM)"
_CONCENTRATION_RE = re.compile(rf"(?<![\d.,]){_NUMBER}[\s_]?{_UNIT}(?![A-Za-z])")
_CONTROL_RE = re.compile(r"(?<![A-Za-z])(DMSO|vehicle|veh|control|ctrl|ctl|untreated|mock)(?![A-Za-z])", re.I)
_EXTENSION_RE = re.compile(r"\.[A-Za-z0-9]{2,5}$")


@dataclass(frozen=True)
class NameConcentration:
    """What a file name says about its well's concentration.

    Attributes
    ----------
    um : float or None
        Concentration in µM (0 = vehicle control); None when the name says nothing or is ambiguous.
    text : str or None
        The part of the name it was read from (``"0.5uM"``, ``"DMSO"``).
    error : str or None
        Why a name holding concentrations gives none (two different values), in plain words.
    """

    um: float | None
    text: str | None = None
    error: str | None = None


def _to_um(number: str, unit: str) -> float:
    value = float(re.sub(r"[,p]", ".", number, count=1))
    if unit[0] in "µμuU":
        factor = 1.0
    elif unit[0] in "nN":
        factor = 1e-3
    elif unit == "mM":
        factor = 1e3
    else:  # pM
        factor = 1e-6
    return float(f"{value * factor:.12g}")  # 500 nM → 0.5 µM, not 0.5000000001 (the page's toPrecision(12))


def name_concentration(name: str) -> NameConcentration:
    """The concentration a file name states, as the page reads it.

    Recognised: ``0.5uM``, ``0.5 µM``, ``0,5µM``, ``0p5uM``, ``500nM``, ``1e-3uM``, ``10mM``; ``DMSO``,
    ``vehicle``, ``control``, ``ctrl``, ``untreated``, ``mock`` or ``0uM`` → 0 µM (vehicle control). The same
    value written twice is one value; two different values are an error, never a guess.

    Parameters
    ----------
    name : str
        A file name (its extension is ignored).
    """
    stem = _EXTENSION_RE.sub("", name)
    found = [(_to_um(m[1], m[2]), m[0]) for m in _CONCENTRATION_RE.finditer(stem)]
    values = list(dict.fromkeys(um for um, _ in found))
    if len(values) > 1:
        texts = ", ".join(text for _, text in found)
        return NameConcentration(
            None, error=f"the name holds {len(values)} different concentrations ({texts})"
        )
    if found:
        return NameConcentration(found[0][0], found[0][1])
    control = _CONTROL_RE.search(stem)
    if control:
        return NameConcentration(0.0, control[0])
    return NameConcentration(None)
