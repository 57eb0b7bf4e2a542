"""The fitting service: limits, engine refusals as domain errors, and the same fit for the API and report."""

from __future__ import annotations

import pytest

from app.config import Settings
from app.doseresponse import fit_hill, fit_hill_many
from app.fitting import (
    RequestTooLarge,
    UnfittableRequest,
    check_limits,
    fit_curves,
    fit_report,
    fit_response,
)
from app.schemas import FitRequest, ReportRequest

SETTINGS = Settings(max_curves=3, max_points_per_curve=8, max_wells_per_report=10, curve_points=7)
CONC = [0.0, 0.01, 0.1, 1.0, 10.0, 100.0]
RESP = [1.5, 1.45, 1.2, 0.6, 0.2, 0.12]


def test_limits_name_the_limit() -> None:
    check_limits([8, 8, 8], SETTINGS)
    with pytest.raises(RequestTooLarge, match=r"Too many curves in one request \(4\); the limit is 3"):
        check_limits([1, 1, 1, 1], SETTINGS)
    with pytest.raises(RequestTooLarge, match=r"Curve 2 has 9 points; the limit is 8 per curve"):
        check_limits([1, 9], SETTINGS)


def test_engine_value_errors_become_unfittable_requests() -> None:
    with pytest.raises(
        UnfittableRequest, match=r"curves\[1\]\.fix_top and curves\[1\]\.fix_bottom must differ"
    ):
        fit_curves([(CONC, RESP), (CONC, RESP)], fix_top=[None, 1.0], fix_bottom=[None, 1.0])


def test_fit_results_are_the_engines_with_the_label_first() -> None:
    request = FitRequest.model_validate(
        {"curves": [{"label": "A549", "concentrations_um": CONC, "responses": RESP}]}
    )
    response = fit_response(request, SETTINGS)
    (result,) = response["results"]
    engine = fit_hill_many([(CONC, RESP)])[0]
    assert next(iter(result)) == "label" and result["label"] == "A549"
    assert result == {"label": "A549", **engine.to_dict(curve_points=7, methods=False)}
    assert len(result["curve"]["concentrations_um"]) == 7  # the server's default (NOSTAIN_CURVE_POINTS)
    assert result["ic50_um"] == pytest.approx(fit_hill(CONC, RESP).ic50_um, rel=1e-6)
    # the method texts, the same for every curve, come once per response
    assert response["methods"] == {"se_method": engine.se_method, "ci_method": engine.ci_method}
    assert "se_method" not in result and "ci_method" not in result


@pytest.mark.parametrize(("asked", "points"), [(None, 0), (2, 2), (100, 100)])
def test_the_curve_comes_only_when_asked(asked: int | None, points: int) -> None:
    curves = [{"label": "A549", "concentrations_um": CONC, "responses": RESP}]
    request = FitRequest.model_validate({"curves": curves, "curve_points": asked})
    (result,) = fit_response(request, Settings())["results"]
    if points:
        grid, fitted = result["curve"]["concentrations_um"], result["curve"]["responses"]
        assert len(grid) == len(fitted) == points
        assert grid[0] == pytest.approx(0.01) and grid[-1] == pytest.approx(100.0)
        assert fitted == pytest.approx(fit_hill(CONC, RESP).eval(grid).tolist(), rel=1e-12)
    else:
        assert "curve" not in result


def test_a_curve_of_one_point_is_refused() -> None:
    with pytest.raises(ValueError, match="curve_points must be 0"):
        Settings(curve_points=1)


def test_report_fits_its_included_wells_only() -> None:
    wells = [{"concentration_um": x, "od450": y} for x, y in zip(CONC, RESP, strict=True)]
    wells.append({"concentration_um": 1.0, "od450": 9.0, "excluded": True})
    request = ReportRequest.model_validate({"curves": [{"label": "A549", "wells": wells}]})
    (fit,) = fit_report(request, SETTINGS)
    assert fit.ic50_um == fit_hill(CONC, RESP).ic50_um


@pytest.mark.parametrize(
    ("wells", "error", "match"),
    [
        (11, RequestTooLarge, r"Too many wells in one report \(11\); the limit is 10"),
        (0, UnfittableRequest, r"curve 1 \('A549'\): every well is excluded"),
    ],
)
def test_report_refusals(wells: int, error: type[Exception], match: str) -> None:
    listed = [{"concentration_um": 1.0, "od450": 1.0, "excluded": True}] * max(wells, 1)
    listed[0] = {**listed[0], "excluded": wells == 0}
    request = ReportRequest.model_validate({"curves": [{"label": "A549", "wells": listed}]})
    with pytest.raises(error, match=match):
        fit_report(request, SETTINGS)
