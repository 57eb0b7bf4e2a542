"""Screening metrics beyond the IC50 (issue 16): pure functions, numpy in, frozen results out.

Modules, each with one job (definitions, formulas and references in their docstrings and in
``docs/metrics.md``):

* :mod:`~app.screening.metrics` — IC_x (relative, absolute) with delta-method SE/CI, Emax, Einf;
* :mod:`~app.screening.covariance` — parameter covariance of a Hill fit (Gauss–Newton or drc's Hessian);
* :mod:`~app.screening.censoring` — concentrations outside the tested range as "> 30 µM", never as numbers;
* :mod:`~app.screening.scores` — area over the curve (AAC) and the drug sensitivity score (DSS1–3);
* :mod:`~app.screening.controls` — percent viability from vehicle and blank wells, per plate;
* :mod:`~app.screening.gr` — growth-rate inhibition values and metrics (Hafner et al. 2016);
* :mod:`~app.screening.timecourse` — a plate read over time: viability, fits and GR over time;
* :mod:`~app.screening.outliers` — ROUT-like outlier removal (Motulsky & Brown 2006);
* :mod:`~app.screening.qc` — Z′, robust Z′, SSMD and the edge effect of a plate.

No FastAPI and no I/O here; every result has a JSON-safe ``to_dict()``. SciPy's statistics and optimisers
(``scipy.stats``, ``scipy.optimize``: about 50 MB and half a second) are imported inside the functions that
use them, so the server starts without them and a plain fit never loads them (``tests/app/test_startup.py``).
"""

from app.screening.censoring import CensoredConcentration, censor_concentration
from app.screening.controls import ControlNormalisation, PlateControls, percent_viability
from app.screening.covariance import ParameterCovariance, parameter_covariance
from app.screening.gr import GRMetrics, gr_metrics, gr_values
from app.screening.metrics import Efficacy, InhibitoryConcentration, efficacy, ic_x
from app.screening.outliers import OutlierWell, RoutResult, fit_without_outliers
from app.screening.qc import ControlSeparation, EdgeEffect, control_separation, edge_effect, plate_array
from app.screening.scores import AreaOverCurve, DrugSensitivityScore, area_over_curve, drug_sensitivity_score
from app.screening.timecourse import TimeCourse, time_course

__all__ = [
    "AreaOverCurve",
    "CensoredConcentration",
    "ControlNormalisation",
    "ControlSeparation",
    "DrugSensitivityScore",
    "EdgeEffect",
    "Efficacy",
    "GRMetrics",
    "InhibitoryConcentration",
    "OutlierWell",
    "ParameterCovariance",
    "PlateControls",
    "RoutResult",
    "TimeCourse",
    "area_over_curve",
    "censor_concentration",
    "control_separation",
    "drug_sensitivity_score",
    "edge_effect",
    "efficacy",
    "fit_without_outliers",
    "gr_metrics",
    "gr_values",
    "ic_x",
    "parameter_covariance",
    "percent_viability",
    "plate_array",
    "time_course",
]
