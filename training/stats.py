"""Statistics for comparing measured with predicted values (the paper's Tables 1 and 2).

The functions live in :mod:`app.stats` (the server's ``POST /api/evaluate`` reports the same numbers for a
model trained in the browser); training uses them from there, as it uses :mod:`app.doseresponse`.
"""

from __future__ import annotations

from app.stats import (
    MeanDifference,
    Regression,
    TTest,
    mean_difference,
    paired_t,
    regression,
    unpaired_t,
)

__all__ = [
    "MeanDifference",
    "Regression",
    "TTest",
    "mean_difference",
    "paired_t",
    "regression",
    "unpaired_t",
]
