"""Shared fixtures of the screening tests: drc's ryegrass data and its LL.4 fit."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from app.doseresponse import HillFit, fit_hill

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="session")
def ryegrass() -> tuple[np.ndarray, np.ndarray]:
    """drc's ryegrass data (tests/data/ryegrass.csv): ferulic acid (mM, read as µM) and root length (cm)."""
    with open(DATA / "ryegrass.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return np.array([float(r["conc"]) for r in rows]), np.array([float(r["rootl"]) for r in rows])


@pytest.fixture(scope="session")
def ryegrass_fit(ryegrass) -> HillFit:
    return fit_hill(*ryegrass)
