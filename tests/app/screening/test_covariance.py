"""Parameter covariance of a Hill fit: drc's Hessian standard errors and the fit's Gauss–Newton ones."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from app.doseresponse import fit_hill
from app.screening.covariance import parameter_covariance

# R drc, summary(drm(rootl ~ conc, data = ryegrass, fct = LL.4())), as given in tests/data/README.md
DRC_HESSIAN_SE = {"top": 0.18857, "bottom": 0.21219, "hill": 0.46506, "ic50_um": 0.18573}


def test_hessian_covariance_reproduces_drcs_standard_errors(ryegrass, ryegrass_fit):
    se = parameter_covariance(ryegrass_fit, *ryegrass, method="hessian").standard_errors()
    assert se["top"] == pytest.approx(DRC_HESSIAN_SE["top"], abs=5e-6)
    assert se["bottom"] == pytest.approx(DRC_HESSIAN_SE["bottom"], abs=5e-6)
    assert se["log_ic50"] * ryegrass_fit.ic50_um == pytest.approx(DRC_HESSIAN_SE["ic50_um"], abs=5e-6)
    # exact Hessian 0.465068; drc differentiates numerically and prints 0.46506
    assert se["hill"] == pytest.approx(DRC_HESSIAN_SE["hill"], abs=1.5e-5)


def test_gauss_newton_covariance_gives_the_fits_own_standard_errors(ryegrass, ryegrass_fit):
    covariance = parameter_covariance(ryegrass_fit, *ryegrass)
    se = covariance.standard_errors()
    for name in ("top", "bottom", "hill"):
        assert se[name] == pytest.approx(ryegrass_fit.se[name], rel=1e-9)
    assert se["log_ic50"] * ryegrass_fit.ic50_um == pytest.approx(ryegrass_fit.se["ic50_um"], rel=1e-9)
    assert covariance.df == 20
    assert covariance.residual_variance == pytest.approx(0.5196256**2, rel=1e-6)
    matrix = covariance.as_array()
    assert np.allclose(matrix, matrix.T)
    assert np.all(np.linalg.eigvalsh(matrix) > 0)
    json.dumps(covariance.to_dict(), allow_nan=False)


def test_a_fixed_bottom_has_no_variance(ryegrass):
    conc, response = ryegrass
    fit = fit_hill(conc, response, fix_bottom=0.0)
    matrix = parameter_covariance(fit, conc, response).as_array()
    assert np.all(matrix[1] == 0) and np.all(matrix[:, 1] == 0)
    assert math.sqrt(matrix[3, 3]) * fit.ic50_um == pytest.approx(fit.se["ic50_um"], rel=1e-9)


def test_other_data_than_the_fits_are_refused(ryegrass, ryegrass_fit):
    conc, response = ryegrass
    with pytest.raises(ValueError, match="not the data this fit was made from"):
        parameter_covariance(ryegrass_fit, conc, response[::-1])
    with pytest.raises(ValueError, match="conc_um has 23 wells but the fit was made from 24"):
        parameter_covariance(ryegrass_fit, conc[1:], response[1:])
    with pytest.raises(ValueError, match="method must be one of"):
        parameter_covariance(ryegrass_fit, conc, response, method="sandwich")


def test_a_flat_fit_has_no_covariance():
    conc = np.repeat([0, 0.1, 1, 10], 4)
    response = 1.0 + np.tile([0.02, -0.02, 0.01, -0.01], 4)
    flat = fit_hill(conc, response)
    with pytest.raises(ValueError, match="status is 'no_effect'"):
        parameter_covariance(flat, conc, response)
