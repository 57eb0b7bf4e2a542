"""The fitting service between the routes and the engine: request limits, the batched fit, result dicts.

``POST /api/fit`` and ``POST /api/report.csv`` both fit through here, so a report's IC50 is the IC50 the
page showed. Nothing here knows HTTP: a request the fit cannot serve raises :class:`RequestTooLarge` or
:class:`UnfittableRequest`, which :mod:`app.errors` turns into 413 and 422.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.config import Settings
from app.doseresponse import HillFit, fit_hill_many
from app.schemas import FitRequest, ReportRequest
from app.text import quote

__all__ = [
    "FittingError",
    "RequestTooLarge",
    "UnfittableRequest",
    "check_limits",
    "check_report",
    "fit_curves",
    "fit_report",
    "fit_response",
    "result_dict",
]


class FittingError(Exception):
    """A request the fit cannot serve; the message says why in plain words."""


class RequestTooLarge(FittingError):
    """More curves, points or wells than the configured limits (HTTP 413)."""


class UnfittableRequest(FittingError):
    """Data the engine refuses, e.g. equal fixed top and bottom or no included well (HTTP 422)."""


def check_limits(n_points: Sequence[int], settings: Settings) -> None:
    """Refuse more curves than ``max_curves`` or a curve longer than ``max_points_per_curve``.

    Parameters
    ----------
    n_points : sequence of int
        Wells of each curve of the request.
    settings : Settings
        Where the limits come from.
    """
    if len(n_points) > settings.max_curves:
        raise RequestTooLarge(
            f"Too many curves in one request ({len(n_points)}); the limit is {settings.max_curves}. "
            "Split the request."
        )
    for i, n in enumerate(n_points):
        if n > settings.max_points_per_curve:
            raise RequestTooLarge(
                f"Curve {i + 1} has {n} points; the limit is {settings.max_points_per_curve} per curve."
            )


def fit_curves(
    curves: Sequence[tuple[Sequence[float], Sequence[float]]],
    fix_top: Sequence[float | None],
    fix_bottom: Sequence[float | None],
) -> list[HillFit]:
    """Fit (concentrations µM, responses) pairs in one batch; engine refusals raise UnfittableRequest."""
    try:
        return fit_hill_many(curves, fix_top=fix_top, fix_bottom=fix_bottom)
    except ValueError as exc:
        raise UnfittableRequest(str(exc)) from exc


def result_dict(label: str, fit: HillFit, curve_points: int = 0) -> dict[str, Any]:
    """The JSON result of one fit: the label, then the engine's fields and, with ``curve_points`` > 0, the
    curve for plotting. The method texts, the same for every fit, are left to the response (``methods``)."""
    return {"label": label, **fit.to_dict(curve_points=curve_points, methods=False)}


def fit_response(request: FitRequest, settings: Settings) -> dict[str, Any]:
    """The body of ``POST /api/fit``: ``results`` (one dict per curve, in request order) and ``methods``."""
    curves = request.curves
    check_limits([len(c.concentrations_um) for c in curves], settings)
    fits = fit_curves(
        [(c.concentrations_um, c.responses) for c in curves],
        fix_top=[c.fix_top for c in curves],
        fix_bottom=[c.fix_bottom for c in curves],
    )
    points = settings.curve_points if request.curve_points is None else request.curve_points
    return {
        "results": [result_dict(c.label, fit, points) for c, fit in zip(curves, fits, strict=True)],
        "methods": {"se_method": fits[0].se_method, "ci_method": fits[0].ci_method},
    }


def check_report(request: ReportRequest, settings: Settings) -> None:
    """Refuse a report over the limits (curves, wells per curve, wells in all) or with a curve whose every
    well is excluded."""
    included = [c.included() for c in request.curves]
    check_limits([len(conc) for conc, _ in included], settings)
    n_wells = sum(len(c.wells or []) for c in request.curves)
    if n_wells > settings.max_wells_per_report:
        raise RequestTooLarge(
            f"Too many wells in one report ({n_wells}); the limit is {settings.max_wells_per_report}."
        )
    for i, (c, (conc, _)) in enumerate(zip(request.curves, included, strict=True)):
        if not conc:
            raise UnfittableRequest(
                f"curve {i + 1} ({quote(c.label)}): every well is excluded; include some wells to fit a curve"
            )


def fit_report(request: ReportRequest, settings: Settings) -> list[HillFit]:
    """Fit the report's curves on their included wells, exactly as ``POST /api/fit`` would."""
    check_report(request, settings)
    return fit_curves(
        [c.included() for c in request.curves],
        fix_top=[c.fix_top for c in request.curves],
        fix_bottom=[c.fix_bottom for c in request.curves],
    )
