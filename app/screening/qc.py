"""Plate quality control: control separation (Z′, robust Z′, SSMD) and edge effects.

Control separation, from the vehicle (100 %) and blank/kill (0 %) wells of one plate:

Z′ (Zhang, Chung & Oldenburg, J Biomol Screen 4:67, 1999)
    ``Z′ = 1 − 3 (σ_v + σ_b) / |μ_v − μ_b|`` (means, sample SDs). Their reading: Z′ ≥ 0.5 an excellent
    assay; 0 < Z′ < 0.5 usable but marginal; Z′ ≤ 0 the controls overlap and the plate cannot separate
    live from dead cells. Thresholds used here: **Z′ < 0.5 → warning, Z′ ≤ 0 → failure.**
robust Z′
    the same with medians and scaled MADs (1.4826 · MAD, the SD of a normal sample), which one aberrant
    control well cannot move. A robust Z′ much better than Z′ points at outlying control wells.
SSMD (Zhang, Genomics 89:552, 2007)
    ``β = (μ_v − μ_b) / √(σ_v² + σ_b²)`` (independent groups). Zhang's effect classes: |β| ≥ 5 extremely
    strong, 3–5 very strong, 2–3 strong, below 2 fairly strong or weaker. Vehicle against killed cells is
    expected to be extremely strong; **|β| < 3 → warning** (our threshold: weaker than "very strong").

Edge effect (evaporation and temperature gradients make the outer ring of a plate read differently):
wells of the outer ring (first and last row and column) against the inner wells, among wells that should
read alike (e.g. the vehicle wells, or a uniform test plate): ratio of means, Welch's t-test and the
Mann–Whitney U test. **A warning when the ratio differs from 1 by ≥ 10 % and Welch's p < 0.05** (our
thresholds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from app.screening._common import JsonResult, as_vector, optional_float

__all__ = [
    "EDGE_RATIO_TOLERANCE",
    "PLATE_SHAPES",
    "SSMD_WARNING",
    "Z_PRIME_WARNING",
    "ControlSeparation",
    "EdgeEffect",
    "control_separation",
    "edge_effect",
    "plate_array",
]

Z_PRIME_WARNING = 0.5  # Zhang et al. 1999: below 0.5 the assay is no longer "excellent"
SSMD_WARNING = 3.0  # Zhang 2007: below 3 the separation is weaker than "very strong"
EDGE_RATIO_TOLERANCE = 0.10  # outer / inner differing by 10 % or more is flagged (with p < 0.05)
EDGE_P_VALUE = 0.05
PLATE_SHAPES = {96: (8, 12), 384: (16, 24)}
_MAD_TO_SD = 1.4826  # 1 / Φ⁻¹(3/4): MAD of a normal sample × 1.4826 = its SD


@dataclass(frozen=True)
class ControlSeparation(JsonResult):
    """How well the plate's controls separate (see the module docstring).

    Attributes
    ----------
    z_prime, z_prime_robust, ssmd : float or None
        None where undefined (equal control levels).
    quality : str
        ``"excellent"`` (Z′ ≥ 0.5), ``"marginal"`` (0 < Z′ < 0.5) or ``"failed"`` (Z′ ≤ 0).
    vehicle_mean, blank_mean, vehicle_sd, blank_sd : float
        Response units.
    n_vehicle, n_blank : int
    warnings : tuple of str
        Plain-words warnings for the biologist; empty when the plate is fine.
    """

    z_prime: float | None
    z_prime_robust: float | None
    ssmd: float | None
    quality: str
    vehicle_mean: float
    blank_mean: float
    vehicle_sd: float
    blank_sd: float
    n_vehicle: int
    n_blank: int
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class EdgeEffect(JsonResult):
    """Outer ring against inner wells of one plate (see the module docstring).

    Attributes
    ----------
    ratio : float or None
        Mean of the outer wells / mean of the inner wells.
    outer_mean, inner_mean : float
    n_outer, n_inner : int
        Wells compared (finite values, within the mask).
    p_welch, p_mann_whitney : float or None
        Two-sided p-values.
    flagged : bool
        Ratio off by ≥ 10 % and Welch p < 0.05.
    warnings : tuple of str
    """

    ratio: float | None
    outer_mean: float
    inner_mean: float
    n_outer: int
    n_inner: int
    p_welch: float | None
    p_mann_whitney: float | None
    flagged: bool
    warnings: tuple[str, ...]


def _controls(values: ArrayLike, name: str) -> np.ndarray:
    arr = as_vector(values, name)
    if arr.size < 2:
        raise ValueError(f"{name} needs at least 2 wells to estimate a spread; got {arr.size}")
    return arr


def _robust_sd(values: np.ndarray) -> float:
    return _MAD_TO_SD * float(np.median(np.abs(values - np.median(values))))


def control_separation(vehicle: ArrayLike, blank: ArrayLike) -> ControlSeparation:
    """Z′, robust Z′ and SSMD of a plate's vehicle (100 %) and blank/kill (0 %) wells.

    Parameters
    ----------
    vehicle : array_like, shape (n_vehicle,)
        Responses of the vehicle wells (e.g. OD450), at least 2.
    blank : array_like, shape (n_blank,)
        Responses of the blank or kill wells, at least 2.

    Returns
    -------
    ControlSeparation

    Raises
    ------
    ValueError
        Non-finite values or fewer than 2 wells in a group.
    """
    v = _controls(vehicle, "vehicle")
    b = _controls(blank, "blank")
    mean_v, mean_b = float(np.mean(v)), float(np.mean(b))
    sd_v, sd_b = float(np.std(v, ddof=1)), float(np.std(b, ddof=1))
    gap = abs(mean_v - mean_b)
    z_prime = 1.0 - 3.0 * (sd_v + sd_b) / gap if gap > 0 else None
    robust_gap = abs(float(np.median(v) - np.median(b)))
    z_robust = 1.0 - 3.0 * (_robust_sd(v) + _robust_sd(b)) / robust_gap if robust_gap > 0 else None
    spread = math.hypot(sd_v, sd_b)
    ssmd = (
        (mean_v - mean_b) / spread
        if spread > 0
        else (None if gap == 0 else math.copysign(math.inf, mean_v - mean_b))
    )
    warnings = []
    if mean_v <= mean_b:
        warnings.append(
            f"The vehicle wells ({mean_v:.4g}) do not read above the blank/kill wells ({mean_b:.4g}): "
            "check the plate map — the controls may be swapped."
        )
    if z_prime is None or z_prime <= 0:
        quality = "failed"
        warnings.append(
            f"Z′ = {_show(z_prime)}: the vehicle and blank wells overlap, so this plate cannot tell live "
            "from dead cells. Do not use its IC50s."
        )
    elif z_prime < Z_PRIME_WARNING:
        quality = "marginal"
        warnings.append(
            f"Z′ = {z_prime:.2f} (below {Z_PRIME_WARNING}): the controls are noisy relative to their "
            "difference; IC50s from this plate are less reliable than from an excellent plate (Z′ ≥ 0.5)."
        )
    else:
        quality = "excellent"
    if z_prime is not None and z_robust is not None and z_robust - z_prime > 0.2:
        warnings.append(
            f"Robust Z′ ({z_robust:.2f}) is much better than Z′ ({z_prime:.2f}): one or a few control wells "
            "are far from the others — look for a failed well or a pipetting error."
        )
    if ssmd is not None and abs(ssmd) < SSMD_WARNING:
        warnings.append(
            f"SSMD = {ssmd:.2f}: the difference between vehicle and blank wells is weak for a viability "
            f"assay (expected |SSMD| ≥ {SSMD_WARNING:g})."
        )
    return ControlSeparation(
        optional_float(z_prime) if z_prime is not None else None,
        optional_float(z_robust) if z_robust is not None else None,
        optional_float(ssmd) if ssmd is not None else None,
        quality, mean_v, mean_b, sd_v, sd_b, int(v.size), int(b.size), tuple(warnings),
    )  # fmt: skip


def _show(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.2f}"


_ROW_LETTERS = "ABCDEFGHIJKLMNOP"


def plate_array(wells: list[str], values: ArrayLike, *, plate_size: int = 96) -> np.ndarray:
    """Arrange per-well values on the plate grid.

    Parameters
    ----------
    wells : list of str, length n
        Well names such as ``"A1"``, ``"H12"`` (``"P24"`` on a 384-well plate); case-insensitive.
    values : array_like, shape (n,)
        One value per well.
    plate_size : {96, 384}

    Returns
    -------
    numpy.ndarray, shape (8, 12) or (16, 24)
        NaN where no well was given.

    Raises
    ------
    ValueError
        An unknown plate size, a malformed or out-of-plate well name, a well given twice, or a length
        mismatch.
    """
    if plate_size not in PLATE_SHAPES:
        raise ValueError(f"plate_size must be 96 or 384; got {plate_size!r}")
    rows, cols = PLATE_SHAPES[plate_size]
    x = as_vector(values, "values", allow_nan=True)
    if len(wells) != x.size:
        raise ValueError(f"wells and values must have the same length; got {len(wells)} and {x.size}")
    grid = np.full((rows, cols), np.nan)
    seen: set[tuple[int, int]] = set()
    for i, name in enumerate(wells):
        text = str(name).strip().upper()
        row = _ROW_LETTERS.find(text[:1]) if text else -1
        col = int(text[1:]) - 1 if text[1:].isdigit() else -1
        if not (0 <= row < rows and 0 <= col < cols):
            raise ValueError(f"wells[{i}] is not a well of a {plate_size}-well plate; got {name!r:.40}")
        if (row, col) in seen:
            raise ValueError(f"wells[{i}] ({text}) is given twice")
        seen.add((row, col))
        grid[row, col] = x[i]
    return grid


def edge_effect(plate: ArrayLike, *, mask: ArrayLike | None = None) -> EdgeEffect:
    """Compare the outer ring of a plate with its inner wells.

    Parameters
    ----------
    plate : array_like, shape (8, 12) or (16, 24)
        One value per well (e.g. from :func:`plate_array`); NaN for empty wells, which are ignored.
    mask : array_like of bool, same shape, optional
        Wells to compare — those expected to read alike, e.g. the vehicle wells. Default: every well.

    Returns
    -------
    EdgeEffect

    Raises
    ------
    ValueError
        Not a 96- or 384-well layout, a mask of another shape, infinite values, or fewer than 2 usable wells
        in the outer ring or inside.
    """
    from scipy import stats  # lazy: see the package docstring

    grid = np.asarray(plate, dtype=float)
    if grid.shape not in PLATE_SHAPES.values():
        raise ValueError(f"plate must have shape (8, 12) or (16, 24); got {grid.shape}")
    if np.isinf(grid).any():
        raise ValueError("plate must not contain infinite values (use NaN for empty wells)")
    chosen = np.ones(grid.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if chosen.shape != grid.shape:
        raise ValueError(f"mask must have the plate's shape {grid.shape}; got {chosen.shape}")
    ring = np.zeros(grid.shape, dtype=bool)
    ring[[0, -1], :] = True
    ring[:, [0, -1]] = True
    usable = chosen & np.isfinite(grid)
    outer, inner = grid[usable & ring], grid[usable & ~ring]
    if outer.size < 2 or inner.size < 2:
        raise ValueError(
            f"edge_effect needs at least 2 wells in the outer ring and 2 inside; got {outer.size} and "
            f"{inner.size}"
        )
    outer_mean, inner_mean = float(np.mean(outer)), float(np.mean(inner))
    ratio = outer_mean / inner_mean if inner_mean != 0 else None
    p_welch = optional_float(stats.ttest_ind(outer, inner, equal_var=False).pvalue)
    p_mw = optional_float(stats.mannwhitneyu(outer, inner, alternative="two-sided").pvalue)
    flagged = bool(
        ratio is not None
        and abs(ratio - 1.0) >= EDGE_RATIO_TOLERANCE
        and p_welch is not None
        and p_welch < EDGE_P_VALUE
    )
    warnings: tuple[str, ...] = ()
    if flagged:
        assert ratio is not None
        warnings = (
            f"Edge effect: the outer ring reads {abs(ratio - 1.0):.0%} {'lower' if ratio < 1 else 'higher'} "
            f"than the inner wells (Welch p = {p_welch:.2g}). Evaporation or temperature gradients may bias "
            "wells on the plate edge; avoid the outer ring for samples or fill it with medium.",
        )
    return EdgeEffect(
        ratio, outer_mean, inner_mean, int(outer.size), int(inner.size), p_welch, p_mw, flagged, warnings
    )
