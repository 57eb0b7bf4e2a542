"""GR values and metrics against the published outputs of datarail/gr_metrics (R, Python and MATLAB).

Reference files: tests/data/gr_metrics/ (toy example 1, synthetic; source and commit in tests/data/README.md).
The toy example has 112 curves (cell line × agent × perturbation × replicate × time), 9 concentrations each.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from app.screening.gr import gr_curve, gr_metrics, gr_values

GR_DATA = Path(__file__).resolve().parents[2] / "data" / "gr_metrics"
KEYS = ("cell_line", "agent", "perturbation", "replicate", "time")


def _read(name: str) -> list[dict[str, str]]:
    with open(GR_DATA / name, newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def _key(row: dict[str, str]) -> tuple:
    return tuple(row[k] for k in KEYS)


def _well_key(row: dict[str, str]) -> tuple:
    return (*_key(row), float(row["concentration"]))


@pytest.fixture(scope="module")
def toy_input() -> list[dict[str, str]]:
    return _read("toy_example_input1.tsv")


@pytest.fixture(scope="module")
def our_gr(toy_input) -> dict[tuple, float]:
    values = gr_values(
        [float(r["cell_count"]) for r in toy_input],
        [float(r["cell_count__ctrl"]) for r in toy_input],
        [float(r["cell_count__time0"]) for r in toy_input],
    )
    return {_well_key(r): float(v) for r, v in zip(toy_input, values, strict=True)}


@pytest.fixture(scope="module")
def our_metrics(toy_input, our_gr):
    curves: dict[tuple, list[tuple[float, float]]] = defaultdict(list)
    for row in toy_input:
        curves[_key(row)].append((float(row["concentration"]), our_gr[_well_key(row)]))
    return {key: gr_metrics([c for c, _ in wells], [g for _, g in wells]) for key, wells in curves.items()}


def _reference_metrics(name: str) -> dict[tuple, dict[str, str]]:
    return {_key(row): row for row in _read(name)}


# --------------------------------------------------------------------------------------------------------
# GR values: to the digits each implementation prints
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "column", "tolerance"),
    [
        ("R_input1_GRvalues.tsv", "GR", {"abs": 1e-14}),  # 15 significant digits printed
        ("matlab_input1_GRvalues.tsv", "GRvalue", {"abs": 1e-14}),  # 15 significant digits
        ("python_input1_GRvalues.tsv", "GRvalue", {"rel": 1e-11}),  # 12 significant digits
    ],
)
def test_gr_values_match_the_reference_outputs(our_gr, name, column, tolerance):
    rows = _read(name)
    assert len(rows) == len(our_gr) == 1008
    for row in rows:
        assert our_gr[_well_key(row)] == pytest.approx(float(row[column]), **tolerance)


def test_gr_value_by_hand():
    # x0 = 100, x_ctrl = 400 (two doublings), x = 200 (one doubling): GR = 2^(1/2) − 1 = 0.41421
    assert gr_values([200.0], 400.0, 100.0)[0] == pytest.approx(math.sqrt(2) - 1)
    assert gr_values([100.0], 400.0, 100.0)[0] == pytest.approx(0.0)  # cytostatic: no growth
    assert gr_values([50.0], 400.0, 100.0)[0] == pytest.approx(2**-0.5 - 1)  # half the cells died
    assert gr_values([400.0], 400.0, 100.0)[0] == pytest.approx(1.0)  # no effect


# --------------------------------------------------------------------------------------------------------
# GR metrics against the R package's output (drc LL.3u with the bounds, the F-test at 0.05)
# --------------------------------------------------------------------------------------------------------


def test_flat_or_sigmoid_choice_matches_r_on_all_112_curves(our_metrics):
    reference = _reference_metrics("R_input1_GRmetrics.tsv")
    assert len(reference) == len(our_metrics) == 112
    assert {k: m.fit for k, m in our_metrics.items()} == {k: r["fit"] for k, r in reference.items()}
    assert sum(m.fit == "flat" for m in our_metrics.values()) == 12


@pytest.mark.parametrize(
    ("name", "columns", "tolerance"),
    [
        ("R_input1_GRmetrics.tsv", ("GRmax", "GR_AOC"), 1e-13),
        ("matlab_input1_GRmetrics.tsv", ("GRmax", "GR_AOC"), 1e-13),
        ("python_input1_GRmetrics.tsv", ("GRmax", "GR_AUC"), 1e-11),  # its GR_AUC column is the AOC
    ],
)
def test_grmax_and_gr_aoc_match_every_implementation(our_metrics, name, columns, tolerance):
    reference = _reference_metrics(name)
    for key, ours in our_metrics.items():
        assert ours.gr_max == pytest.approx(float(reference[key][columns[0]]), abs=tolerance)
        assert ours.gr_aoc == pytest.approx(float(reference[key][columns[1]]), abs=tolerance)


# Sigmoid parameters agree with R to about 4 significant digits, not 15: R's drc stops at relTol 1e-6 while
# ours runs to the optimum (our residual sum of squares is never larger than R's, checked below). Python's
# scipy.minimize (L-BFGS-B, default tolerances) agrees as closely; MATLAB's fit() (default TolFun 1e-6, and
# its own GR50 extrapolation rule) to about 1 %.
SIGMOID_TOLERANCE = {
    "R_input1_GRmetrics.tsv": {"gec50": 5e-4, "gr_inf": 2e-4, "h": 1e-4, "gr50": 2e-4},
    "python_input1_GRmetrics.tsv": {"gec50": 3e-4, "gr_inf": 1e-4, "h": 3e-4, "gr50": 3e-3},
    "matlab_input1_GRmetrics.tsv": {"gec50": 1e-2, "gr_inf": 5e-3, "h": 2e-2, "gr50": 1e-2},
}
COLUMNS = {
    "R_input1_GRmetrics.tsv": ("GEC50", "GRinf", "Hill", "GR50"),
    "python_input1_GRmetrics.tsv": ("EC50", "GRinf", "Hill", "GR50"),
    "matlab_input1_GRmetrics.tsv": ("GEC50", "GRinf", "h_GR", "GR50"),
}


@pytest.mark.parametrize("name", sorted(SIGMOID_TOLERANCE))
def test_sigmoid_parameters_match_the_reference_fits(our_metrics, name):
    reference = _reference_metrics(name)
    tol = SIGMOID_TOLERANCE[name]
    gec50, gr_inf, h, gr50 = COLUMNS[name]
    compared = 0
    for key, ours in our_metrics.items():
        if ours.fit != "sigmoid":
            continue
        row = reference[key]
        assert ours.gec50_um == pytest.approx(float(row[gec50]), rel=tol["gec50"])
        assert ours.gr_inf == pytest.approx(float(row[gr_inf]), abs=tol["gr_inf"])
        assert ours.h_gr == pytest.approx(float(row[h]), rel=tol["h"])
        their_gr50 = float(row[gr50])
        if math.isinf(their_gr50):  # the reference writes Inf where the curve never reaches GR = 0.5
            assert ours.gr50.censor == "not_reached"
        elif ours.gr50.censor == "none":
            assert ours.gr50.value_um == pytest.approx(their_gr50, rel=tol["gr50"])
        else:  # outside the tested range: compared as the extrapolation it is (MATLAB's differs by 5 %)
            assert ours.gr50.censor == "above_range" and ours.gr50.text == "> 10 µM"
            if name != "matlab_input1_GRmetrics.tsv":
                assert ours.gr50.extrapolated_um == pytest.approx(their_gr50, rel=tol["gr50"])
        compared += 1
    assert compared == 100


def test_our_sigmoid_fits_are_at_least_as_good_as_rs(our_metrics):
    reference = _reference_metrics("R_input1_GRmetrics.tsv")
    for key, ours in our_metrics.items():
        if ours.fit == "sigmoid":
            their_r2 = float(reference[key]["r2"])
            assert ours.r2 >= their_r2 - 1e-12  # the same data: higher R² = lower residual sum of squares
            assert ours.r2 == pytest.approx(their_r2, abs=1e-9)
            assert ours.p_value == pytest.approx(float(reference[key]["pval"]), rel=1e-6)


def test_flat_curves_take_the_mean_gr_as_r_does(our_metrics):
    # On the 12 flat curves (drugB on BT20) the sigmoid is not determined: R's drc run from its start point
    # stops where the sigmoid fits worse than the flat line (R² < 0), ours finds lower minima, so p-values and
    # R² differ there; the conclusion (flat, GRinf = mean GR, GR50 not reached) is the same.
    reference = _reference_metrics("R_input1_GRmetrics.tsv")
    for key, ours in our_metrics.items():
        if ours.fit == "flat":
            row = reference[key]
            assert ours.gr_inf == pytest.approx(float(row["GRinf"]), abs=1e-13)
            assert ours.gr_inf == pytest.approx(float(row["flat_fit"]), abs=1e-13)
            assert ours.p_value >= 0.05
            assert ours.gec50_um is None and ours.h_gr is None  # R writes placeholders 0 and 0.01
            assert ours.gr50.censor == "not_reached" and math.isinf(float(row["GR50"]))


# --------------------------------------------------------------------------------------------------------
# Behaviour
# --------------------------------------------------------------------------------------------------------


def test_sigmoid_recovers_a_noise_free_curve_and_its_gr50():
    conc = np.geomspace(0.001, 10, 9)
    gr = gr_curve(conc, -0.3, 0.1, 1.5)
    result = gr_metrics(conc, gr)
    assert result.fit == "sigmoid"
    assert (result.gr_inf, result.gec50_um, result.h_gr) == pytest.approx((-0.3, 0.1, 1.5), rel=1e-7)
    # GR50 = GEC50 · ((1 − GRinf)/(0.5 − GRinf) − 1)^(1/h) = 0.1 · (1.3/0.8 − 1)^(1/1.5) = 0.1 · 0.625^(2/3)
    assert result.gr50.value_um == pytest.approx(0.1 * 0.625 ** (2 / 3), rel=1e-7)
    assert gr_curve(result.gr50.value_um, -0.3, 0.1, 1.5) == pytest.approx(0.5)


def test_parameters_on_a_bound_are_reported():
    conc = np.geomspace(0.001, 10, 9)
    result = gr_metrics(conc, gr_curve(conc, 0.0, 0.05, 12.0))  # steeper than the reference's h_GR ≤ 5
    assert result.h_gr == pytest.approx(5.0)
    assert "h_gr" in result.at_bound
    assert "bound" in result.message


def test_too_few_wells_give_data_metrics_only():
    result = gr_metrics([0.1, 1.0, 10.0], [0.9, 0.5, 0.1])
    assert result.fit == "insufficient_data"
    assert result.gr50.censor == "not_estimated"
    assert result.gr_max == pytest.approx(0.1)
    # AOC: trapezoids (1 − (0.9 + 0.5)/2) · 1 + (1 − (0.5 + 0.1)/2) · 1 = 0.3 + 0.7, over 2 decades
    assert result.gr_aoc == pytest.approx(0.5)
    json.dumps(result.to_dict(), allow_nan=False)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([100.0], 100.0, 100.0), "control wells did not grow"),
        (([0.0], 400.0, 100.0), r"cell_count must be > 0; got 0.0 at index 0"),
        (([1.0, 2.0], [400.0, 400.0, 400.0], 100.0), "control_count must have 1 or 2 values"),
        (([float("nan")], 400.0, 100.0), "cell_count must be finite; got nan at index 0"),
    ],
)
def test_gr_values_refuse_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        gr_values(*args)


def test_gr_curve_refuses_bad_parameters():
    with pytest.raises(ValueError, match=r"gec50_um must be in \(0, inf\); got 0"):
        gr_curve([0.1, 1.0], 0.0, 0, 1.0)
    with pytest.raises(ValueError, match="conc_um must be >= 0"):
        gr_curve([-0.1], 0.0, 1.0, 1.0)


def test_gr_metrics_refuse_controls_and_bad_cutoffs():
    with pytest.raises(ValueError, match="treated wells only"):
        gr_metrics([0.0, 0.1, 1.0, 10.0], [1.0, 0.9, 0.5, 0.1])
    with pytest.raises(ValueError, match=r"p_cutoff must be in \(0, 1\]"):
        gr_metrics([0.01, 0.1, 1.0, 10.0], [1.0, 0.9, 0.5, 0.1], p_cutoff=2)
