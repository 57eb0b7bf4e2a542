"""The outlier test of one curve as the API offers it: ROUT-like detection, wells the user re-included kept.

:func:`app.screening.fit_without_outliers` flags wells and refits without them. A well the request exempts
(``outlier_exempt``: the user looked at it and undid the flag) is still listed, with ``removed`` false, and
stays in the fit; the refit then leaves out only the other flagged wells.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.doseresponse import HillFit, fit_hill
from app.screening import fit_without_outliers

__all__ = ["OutlierReview", "review_outliers"]


@dataclass(frozen=True)
class OutlierReview:
    """The test's outcome for one curve.

    Attributes
    ----------
    fit : HillFit
        The fit without the removed wells (the input fit when none was removed).
    removed : numpy.ndarray of bool, shape (n_fitted,)
        Wells left out of the fit, over the fitted wells.
    flagged : numpy.ndarray of bool, shape (n_fitted,)
        Wells the test flagged (removed, or kept because exempt).
    block : dict
        The ``outliers`` block of the result (:class:`app.schemas_analysis.OutlierReviewOut`).
    """

    fit: HillFit
    removed: np.ndarray
    flagged: np.ndarray
    block: dict[str, Any]


def review_outliers(
    conc_um: np.ndarray,
    response: np.ndarray,
    *,
    exempt: np.ndarray,
    well_ids: list[str],
    indices: np.ndarray,
    q_percent: float,
    fix_top: float | None,
    fix_bottom: float | None,
) -> OutlierReview:
    """Run the ROUT-like test on a curve's fitted wells and refit without the flagged, non-exempt ones.

    Parameters
    ----------
    conc_um, response : numpy.ndarray, shape (n_fitted,)
        The fitted wells (µM; unit of the fit).
    exempt : numpy.ndarray of bool, shape (n_fitted,)
        Wells that must stay in the fit.
    well_ids : list of str, length n_fitted
        Their well IDs ('' where none).
    indices : numpy.ndarray of int, shape (n_fitted,)
        Their positions in the curve as sent (what the block reports as ``index``).
    q_percent : float
        False discovery rate Q, %.
    fix_top, fix_bottom : float or None
        As for the fit.
    """
    rout = fit_without_outliers(
        conc_um, response, q=q_percent / 100.0, fix_top=fix_top, fix_bottom=fix_bottom
    )
    flagged = np.zeros(conc_um.size, bool)
    removed = np.zeros(conc_um.size, bool)
    wells = []
    for outlier in rout.outliers:
        k = outlier.index
        flagged[k] = True
        removed[k] = not exempt[k]
        wells.append(
            {**outlier.to_dict(), "index": int(indices[k]), "well": well_ids[k], "removed": bool(removed[k])}
        )
    fit = rout.fit
    if flagged.any() and not np.array_equal(flagged, removed):  # some flagged wells are exempt: refit
        fit = fit_hill(conc_um[~removed], response[~removed], fix_top=fix_top, fix_bottom=fix_bottom)
    q_text = f"Q = {q_percent:g} %"
    if not flagged.any():
        message = f"No outliers at {q_text}." if rout.rsdr is not None else rout.message
    else:
        kept_flagged = int((flagged & ~removed).sum())
        message = (
            f"{int(removed.sum())} outlier well(s) left out at {q_text}; refitted on the "
            f"{int((~removed).sum())} others."
        )
        if kept_flagged:
            message += f" {kept_flagged} flagged well(s) kept in the fit, as the request asks."
    block = {"q_percent": q_percent, "rsdr": rout.rsdr, "wells": wells, "message": message}
    return OutlierReview(fit=fit, removed=removed, flagged=flagged, block=block)
