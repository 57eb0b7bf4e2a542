"""Curves per second: nostain's batched Hill fit against a careful ``scipy.optimize.curve_fit`` loop.

Simulated screen (the paper's design): each curve has the 11 doxorubicin concentrations of Cho et al. 2022
(0.0001–100 µM) × 8 replicate wells, no vehicle controls; top ~ U(0.8, 1.6) OD450, bottom ~ U(0, 0.3),
hill ~ U(0.5, 3), IC50 log-uniform over ``--ic50-range`` (default: the whole tested range, so about a
sixth of the curves show only part of their sigmoid and go through the engine's slower bounded
multi-start), Gaussian noise with SD 5 % of top. The data are synthetic; only the timing is the point.

The baseline is the loop a careful user writes (log-IC50 parameter, a start from the data)::

    def model(lnx, top, bottom, hill, log_ic50):
        return bottom + (top - bottom) / (1 + np.exp(hill * (lnx - log_ic50)))

    # per curve: lnx = log(x) (x > 0 here); top, bottom = y.max(), y.min(); le0 = log of the
    # concentration whose replicate mean is closest to (top + bottom) / 2
    popt, _ = curve_fit(model, lnx, y, p0=[top, bottom, 1, le0])

Both run in this process, in turn (engine, loop, engine, loop, …; the fastest run of each counts); the ratio
of their times is the figure (on a machine shared with other jobs, the CPU-time ratio is the steadier one).
IC50 agreement is printed where both converged, and for every status which of the two fits has the lower
RSS (the engine searches a box: |hill| ≤ 10, the IC50 within 3 decades of the tested range, top and bottom
within 10 data ranges; the loop is unbounded).

Usage::

    .venv/bin/python benchmarks/bench_fit.py [--curves 1000] [--repeats 5] [--seed 0] [--ic50-range 1e-3 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's app, not an installed one

from app.doseresponse import HillFit, fit_hill_many, hill
from app.doseresponse.stack import pack_curves
from app.doseresponse.start import plausibility_box

T = TypeVar("T")
PAPER_CONC_UM = np.array([0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 100])


def simulate(
    n_curves: int,
    rng: np.random.Generator,
    *,
    replicates: int = 8,
    ic50_range_um: tuple[float, float] = (0.0001, 100.0),
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Synthetic dose-response curves, (conc_um, od450) pairs of shape (11 × replicates,)."""
    conc = np.repeat(PAPER_CONC_UM, replicates)
    lo, hi = np.log10(ic50_range_um[0]), np.log10(ic50_range_um[1])
    curves = []
    for _ in range(n_curves):
        top = rng.uniform(0.8, 1.6)
        y = hill(conc, top, rng.uniform(0.0, 0.3), rng.uniform(0.5, 3.0), 10 ** rng.uniform(lo, hi))
        curves.append((conc, y + rng.normal(0.0, 0.05 * top, conc.size)))
    return curves


def _log_logistic(lnx: np.ndarray, top: float, bottom: float, slope: float, log_ic50: float) -> np.ndarray:
    return bottom + (top - bottom) / (1 + np.exp(slope * (lnx - log_ic50)))


def careful_curve_fit_loop(curves: list[tuple[np.ndarray, np.ndarray]], **options: float) -> np.ndarray:
    """The baseline (module docstring): one curve_fit per curve (``options``: curve_fit's tolerances).

    Returns (top, bottom, hill, ln IC50) per curve (n_curves, 4), NaN where curve_fit failed.
    """
    params = np.full((len(curves), 4), np.nan)
    for i, (x, y) in enumerate(curves):
        lnx = np.log(x)
        top, bottom = y.max(), y.min()
        levels = np.unique(x)
        means = np.array([y[x == level].mean() for level in levels])
        le0 = np.log(levels[np.argmin(np.abs(means - (top + bottom) / 2))])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", (OptimizeWarning, RuntimeWarning))
                params[i], _ = curve_fit(_log_logistic, lnx, y, p0=[top, bottom, 1.0, le0], **options)
        except RuntimeError:  # curve_fit's "Optimal parameters not found"
            continue
    return params


def loop_comparison(curves: list[tuple[np.ndarray, np.ndarray]], fits: list[HillFit]) -> list[str]:
    """IC50 agreement with the loop run to tight tolerances (not timed), and who has the lower RSS where
    they differ by more than 1e-6."""
    tight = careful_curve_fit_loop(curves, ftol=1e-14, xtol=1e-14, gtol=1e-14, maxfev=20_000)
    ic50_loop, ic50_engine = np.exp(tight[:, 3]), engine_ic50(fits)
    ok = np.array([f.status == "ok" for f in fits])
    differ = np.flatnonzero(
        ok & np.isfinite(ic50_loop) & ~(np.abs(ic50_engine - ic50_loop) <= 1e-6 * np.abs(ic50_engine))
    )
    lower = 0
    for i in differ:
        x, y = curves[i]
        rss_loop = float(((y - _log_logistic(np.log(x), *tight[i])) ** 2).sum())
        lower += int(fits[i].rss is not None and fits[i].rss <= rss_loop)
    only_ok = np.where(ok, ic50_engine, np.nan)
    return [
        f"IC50    engine vs tight loop  : all converged: {agreement(ic50_engine, ic50_loop)}",
        f"                                status ok: {agreement(only_ok, ic50_loop)}",
        f"                                where they differ (status ok, > 1e-6): the engine's RSS is the "
        f"lower in {lower} of {differ.size}",
        rss_comparison(curves, fits, tight),
    ]


def rss_comparison(curves: list[tuple[np.ndarray, np.ndarray]], fits: list[HillFit], loop: np.ndarray) -> str:
    """Who fits better, every status: the engine's RSS against the tight loop's ``loop`` (n_curves, 4)
    where both have one, and how many of the loop's better fits lie outside the engine's search box
    (``app.doseresponse.start.plausibility_box``)."""
    lo, hi = plausibility_box(pack_curves(curves, [None] * len(curves), [None] * len(curves)))
    lower = same = higher = outside = 0
    for (x, y), fit, p, p_lo, p_hi in zip(curves, fits, loop, lo, hi, strict=True):
        if fit.rss is None or not np.all(np.isfinite(p)):
            continue
        rss_loop = float(((y - _log_logistic(np.log(x), *p)) ** 2).sum())
        if fit.rss > rss_loop * (1 + 1e-6):
            higher += 1
            outside += int(np.any((p < p_lo) | (p > p_hi)))
        elif fit.rss < rss_loop * (1 - 1e-6):
            lower += 1
        else:
            same += 1
    return (
        f"RSS     engine vs tight loop  : every status, {lower + same + higher} curves: the same (1e-6) in "
        f"{same}, the engine's lower in {lower}, higher in {higher} (of these, the loop's optimum lies "
        f"outside the engine's search box in {outside})"
    )


def engine_ic50(fits: list[HillFit]) -> np.ndarray:
    """IC50s (µM) of converged fits that report one; NaN elsewhere."""
    return np.array([f.ic50_um if f.converged and f.ic50_um is not None else np.nan for f in fits])


def best_time(fn: Callable[[], T], repeats: int) -> tuple[float, float, T]:
    """Fastest wall-clock and CPU time (s) of ``repeats`` runs after a warm-up, and the last result.

    CPU time (this process) is the steadier figure on a machine shared with other jobs.
    """
    ((wall, cpu, out),) = best_times([fn], repeats)
    return wall, cpu, out


def best_times(fns: list[Callable[[], Any]], repeats: int) -> list[tuple[float, float, Any]]:
    """:func:`best_time` of several functions, their runs taken in turn (a, b, a, b, …), so that a change
    in what else the machine is doing affects them alike."""
    outs = [fn() for fn in fns]  # warm-up runs (imports, first-call overheads); not timed
    best = [[np.inf, np.inf] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            wall, cpu = time.perf_counter(), time.process_time()
            outs[i] = fn()
            best[i][0] = min(best[i][0], time.perf_counter() - wall)
            best[i][1] = min(best[i][1], time.process_time() - cpu)
    return [(wall, cpu, out) for (wall, cpu), out in zip(best, outs, strict=True)]


def agreement(a: np.ndarray, b: np.ndarray) -> str:
    """How closely two IC50 vectors agree where both are finite: count, share within 1e-6, percentiles."""
    both = np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0)
    if not both.any():
        return "no curve where both converged"
    rel = np.abs(a[both] - b[both]) / np.maximum(np.abs(a[both]), np.abs(b[both]))
    return (
        f"{both.sum()} curves where both converged: {np.mean(rel <= 1e-6):.1%} within 1e-6 relative; "
        f"median {np.median(rel):.1e}, 99th percentile {np.percentile(rel, 99):.1e}, max {rel.max():.1e}"
    )


def load_average() -> str:
    """The 1-minute load average, to say how busy the machine was."""
    return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--curves", type=int, default=1000, help="number of curves (default 1000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs after a warm-up (fastest counts)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the simulated screen")
    parser.add_argument(
        "--ic50-range",
        type=float,
        nargs=2,
        default=(0.0001, 100.0),
        metavar=("LO", "HI"),
        help="IC50s are drawn log-uniform between LO and HI µM (default: the tested range, 0.0001 100)",
    )
    args = parser.parse_args()

    lo, hi = args.ic50_range
    curves = simulate(args.curves, np.random.default_rng(args.seed), ic50_range_um=(lo, hi))
    n = args.curves
    wells = curves[0][0].size
    print(f"{n} simulated curves × {wells} wells (11 concentrations × 8 replicates), seed {args.seed}")
    print(f"IC50 log-uniform in {lo:g}–{hi:g} µM; {load_average()} at the start")

    engine, loop = best_times(
        [lambda: fit_hill_many(curves), lambda: careful_curve_fit_loop(curves)], args.repeats
    )
    t_engine, cpu_engine, fits = engine
    t_loop, cpu_loop, loop_params = loop

    statuses: dict[str, int] = {}
    for f in fits:
        statuses[f.status] = statuses.get(f.status, 0) + 1
    print(
        f"engine  fit_hill_many         : {t_engine:7.3f} s wall {n / t_engine:7.0f} curves/s | "
        f"{cpu_engine:7.3f} s CPU | statuses {statuses}"
    )
    print(
        f"loop    careful curve_fit     : {t_loop:7.3f} s wall {n / t_loop:7.0f} curves/s | "
        f"{cpu_loop:7.3f} s CPU | failed {np.isnan(loop_params[:, 0]).sum()}"
    )
    print(f"ratio   loop / engine         : {t_loop / t_engine:7.2f}× wall, {cpu_loop / cpu_engine:.2f}× CPU")
    print(f"IC50    engine vs timed loop  : {agreement(engine_ic50(fits), np.exp(loop_params[:, 3]))}")
    print("\n".join(loop_comparison(curves, fits)))
    print(f"        {load_average()} at the end")


if __name__ == "__main__":
    main()
