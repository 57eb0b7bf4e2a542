"""The report's curves analysed exactly as ``POST /api/fit`` would analyse them (same options, same fits)."""

from __future__ import annotations

from dataclasses import dataclass

from app import fitting
from app.analysis.service import CurveAnalysis, analyse
from app.analysis.wells import CurveData, curve_data
from app.config import Settings
from app.schemas import ReportCurve, ReportRequest

__all__ = ["ReportedCurve", "analyse_report"]


@dataclass(frozen=True)
class ReportedCurve:
    """A curve of the report request with its analysis.

    Attributes
    ----------
    request : ReportCurve
        The curve as sent (every well, excluded ones too).
    analysis : CurveAnalysis
        The analysis of its included wells.
    included : tuple of int
        Positions in ``request.wells`` (or the arrays) of the wells in ``analysis`` (its well k is
        ``included[k]``).
    """

    request: ReportCurve
    analysis: CurveAnalysis
    included: tuple[int, ...]


def _curve_data(curve: ReportCurve, position: int) -> tuple[CurveData, tuple[int, ...]]:
    if curve.wells is None:
        conc, resp = curve.included()
        data = curve_data(
            curve.label, conc, resp, position=position, time_zero_level=curve.time_zero_level,
            fix_top=curve.fix_top, fix_bottom=curve.fix_bottom,
        )  # fmt: skip
        return data, tuple(range(len(conc)))
    included = tuple(k for k, w in enumerate(curve.wells) if not w.excluded)
    wells = [curve.wells[k] for k in included]
    time_zero = [w.time_zero_od450 for w in wells]
    data = curve_data(
        curve.label, [w.concentration_um for w in wells], [w.od450 for w in wells], position=position,
        well_ids=[w.well for w in wells], plates=[w.plate for w in wells],
        controls=[w.control for w in wells],
        time_zero=time_zero if any(v is not None for v in time_zero) else None,
        time_zero_level=curve.time_zero_level, outlier_exempt=[w.outlier_exempt for w in wells],
        fix_top=curve.fix_top, fix_bottom=curve.fix_bottom,
    )  # fmt: skip
    return data, included


def analyse_report(request: ReportRequest, settings: Settings) -> list[ReportedCurve]:
    """Check the report's limits, then analyse its curves' included wells with the request's options.

    Raises
    ------
    RequestTooLarge, UnfittableRequest
        As :func:`app.fitting.check_report` and :func:`app.analysis.service.analyse`.
    """
    fitting.check_report(request, settings)
    prepared = [_curve_data(c, i) for i, c in enumerate(request.curves, start=1)]
    analyses = analyse([data for data, _ in prepared], request, settings)
    return [
        ReportedCurve(curve, analysis, included)
        for curve, analysis, (_, included) in zip(request.curves, analyses, prepared, strict=True)
    ]
