"""The outlier test as the API runs it: flagged wells left out, exempt wells kept in the refit."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.outlier_review import review_outliers
from app.doseresponse import fit_hill
from tests.app.analysis.conftest import DOSES_UM, hill

CONC = np.repeat([0.0, *DOSES_UM], 3)


def _data() -> tuple[np.ndarray, np.ndarray]:
    y = hill(CONC) + np.random.default_rng(4).normal(0, 0.02, CONC.size)
    y[7] += 0.9  # a bubble in a well at 3.3 µM
    return CONC, y


def _review(exempt: np.ndarray) -> object:
    x, y = _data()
    return review_outliers(
        x, y, exempt=exempt, well_ids=[f"W{k}" for k in range(x.size)], indices=np.arange(x.size) + 100,
        q_percent=1.0, fix_top=None, fix_bottom=None,
    )  # fmt: skip


def test_a_planted_outlier_is_left_out_and_named() -> None:
    x, y = _data()
    review = _review(np.zeros(x.size, bool))
    assert np.flatnonzero(review.flagged).tolist() == [7]
    assert review.removed.tolist() == review.flagged.tolist()
    (well,) = review.block["wells"]
    assert (well["index"], well["well"], well["removed"]) == (107, "W7", True)
    assert "above the robust curve" in well["reason"]
    assert review.block["message"] == "1 outlier well(s) left out at Q = 1 %; refitted on the 32 others."
    kept = np.arange(x.size) != 7
    assert review.fit.ic50_um == pytest.approx(fit_hill(x[kept], y[kept]).ic50_um, rel=1e-9)


def test_an_exempt_well_stays_in_the_fit_and_stays_listed() -> None:
    x, y = _data()
    exempt = np.zeros(x.size, bool)
    exempt[7] = True
    review = _review(exempt)
    assert review.flagged[7] and not review.removed.any()
    assert review.block["wells"][0]["removed"] is False
    assert "1 flagged well(s) kept in the fit, as the request asks" in review.block["message"]
    assert review.fit.ic50_um == pytest.approx(fit_hill(x, y).ic50_um, rel=1e-9)


def test_a_clean_curve_has_no_outliers() -> None:
    y = hill(CONC) + np.random.default_rng(5).normal(0, 0.02, CONC.size)
    review = review_outliers(
        CONC, y, exempt=np.zeros(CONC.size, bool), well_ids=[""] * CONC.size, indices=np.arange(CONC.size),
        q_percent=1.0, fix_top=None, fix_bottom=None,
    )  # fmt: skip
    assert review.block["wells"] == [] and review.block["message"] == "No outliers at Q = 1 %."
    assert not review.flagged.any() and review.fit.ic50_um == fit_hill(CONC, y).ic50_um
