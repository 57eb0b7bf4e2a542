"""Per-curve potency and efficacy blocks of a fit result: the censored IC50, IC_x, Emax/Einf, AAC and DSS.

The science is :mod:`app.screening`; this module picks the reference level for the unit of the fit (100 for
% viability; the screening defaults — vehicle wells or the fitted control level — for responses as sent)
and turns a metric that does not exist for a curve (e.g. AAC of a fit without a positive control level)
into a plain-words note instead of an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from app.doseresponse import HillFit
from app.schemas_analysis import AnalysisOptions
from app.screening import (
    CensoredConcentration,
    ParameterCovariance,
    area_over_curve,
    drug_sensitivity_score,
    efficacy,
    ic_x,
    parameter_covariance,
)

__all__ = [
    "FULL_VIABILITY_PERCENT",
    "attempt",
    "censored_ic50",
    "censored_ic50_abs",
    "has_tested_range",
    "potency_blocks",
]

#: The 100 % level of a fit on % viability.
FULL_VIABILITY_PERCENT = 100.0

T = TypeVar("T")


def attempt(what: str, compute: Callable[[], T], notes: list[str]) -> T | None:
    """``compute()``, or None with a note "No <what>: <reason>" when the screening code refuses the data."""
    try:
        return compute()
    except ValueError as exc:
        notes.append(f"No {what}: {exc}")
        return None


def has_tested_range(fit: HillFit) -> bool:
    """Whether the fit saw a positive concentration (a range to read concentrations off and censor to)."""
    low, high = fit.tested_range_um
    return bool(np.isfinite(low) and np.isfinite(high) and low > 0)


def censored_ic50(fit: HillFit) -> CensoredConcentration | None:
    """The relative IC50 of ``fit`` censored to its tested range (IC_x with x = 50); None without a range."""
    return ic_x(fit, 50.0).concentration if has_tested_range(fit) else None


def censored_ic50_abs(fit: HillFit) -> CensoredConcentration | None:
    """The absolute IC50 (50 % of the fitted control level), censored; None without a range."""
    return ic_x(fit, 50.0, kind="absolute").concentration if has_tested_range(fit) else None


def _covariance(fit: HillFit, conc_um: np.ndarray, response: np.ndarray) -> ParameterCovariance | None:
    try:
        return parameter_covariance(fit, conc_um, response)
    except ValueError:  # no sigmoid curve: IC_x then says why it is missing
        return None


def potency_blocks(
    fit: HillFit,
    conc_um: np.ndarray,
    response: np.ndarray,
    options: AnalysisOptions,
    notes: list[str],
) -> dict[str, Any]:
    """The blocks ``ic50_censored``, ``ic_x``, ``efficacy``, ``aac`` and ``dss`` that ``options`` ask for.

    Parameters
    ----------
    fit : HillFit
        The fit of ``conc_um`` and ``response``.
    conc_um : numpy.ndarray, shape (n_wells,)
        Concentrations of the fitted wells, µM.
    response : numpy.ndarray, shape (n_wells,)
        Their responses in the unit of the fit.
    options : AnalysisOptions
    notes : list of str
        Receives a sentence for each block that cannot be computed.
    """
    reference = FULL_VIABILITY_PERCENT if options.fit_on == "viability" else None
    blocks: dict[str, Any] = {}
    if not has_tested_range(fit) and (options.metrics or options.ic_percents):
        notes.append("No IC50, IC_x, Emax, AAC or DSS: the curve has no positive concentration.")
        return {"ic50_censored": None, "ic_x": []} if options.metrics else {"ic_x": []}
    if options.metrics:
        censored = censored_ic50(fit)
        blocks["ic50_censored"] = censored.to_dict() if censored else None
    if options.ic_percents:
        covariance = _covariance(fit, conc_um, response)
        blocks["ic_x"] = [
            ic_x(fit, percent, kind=kind, covariance=covariance,
                 reference_level=reference if kind == "absolute" else None).to_dict()
            for percent in options.ic_percents
            for kind in ("relative", "absolute")
        ]  # fmt: skip
    if options.metrics:
        span = options.score_range_um
        effect = attempt(
            "Emax/Einf", lambda: efficacy(fit, conc_um, response, reference_level=reference), notes
        )
        blocks["efficacy"] = effect.to_dict() if effect else None
        aac = attempt("AAC", lambda: area_over_curve(fit, range_um=span, reference_level=reference), notes)
        blocks["aac"] = aac.to_dict() if aac else None
        dss = attempt(
            "DSS",
            lambda: drug_sensitivity_score(
                fit, threshold_percent=options.dss_threshold_percent, range_um=span, reference_level=reference
            ),
            notes,
        )
        blocks["dss"] = dss.to_dict() if dss else None
    return blocks
