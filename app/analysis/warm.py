"""Load the fitter's heavy dependencies before a visitor's first plate needs them.

The server imports SciPy's statistics and the screening metrics lazily, on the first fit that asks for them
(about half a second: ``scipy.stats`` alone is ~0.35 s), so that a server nobody uses stays small
(``benchmarks/bench_server.py``: idle RSS). A visitor's first plate would wait for that import after its
images are scored; instead ``GET /`` schedules :func:`warm_fitter` as a background task, which runs while
the page loads its model (about a second). Pure CPU work on a made-up curve; nothing is stored.
"""

from __future__ import annotations

from app.analysis.service import fit_response
from app.config import Settings
from app.schemas import CurveIn, FitRequest

__all__ = ["warm_fitter"]

#: A made-up dose series (µM) and its responses (OD450): a Hill curve with IC50 1 µM, two replicates.
_CONCENTRATIONS_UM = [0.001, 0.01, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0] * 2
_RESPONSES = [1.5 / (1.0 + c) + 0.1 + (0.01 if i % 3 else -0.01) for i, c in enumerate(_CONCENTRATIONS_UM)]


def warm_fitter(settings: Settings) -> None:
    """Fit one small curve with every analysis the page asks for (metrics, IC_x, QC, outliers, per well)."""
    curve = CurveIn(label="warm-up", concentrations_um=_CONCENTRATIONS_UM, responses=_RESPONSES)
    request = FitRequest(
        curves=[curve],
        curve_points=100,
        ic_percents=[50],
        metrics=True,
        outliers=True,
        qc=True,
        per_well=True,
    )
    fit_response(request, settings)
