"""Four-parameter Hill (log-logistic) dose-response fit: the paper's Eq. 1, matching R drc's LL.4.

Model (Cho et al. 2022, Eq. 1; drc's LL.4 with b = hill, c = bottom, d = top, e = ic50_um)::

    y = bottom + (top - bottom) / (1 + (x / ic50_um) ** hill)

``x`` is the concentration in µM (x ≥ 0), ``y`` the response (OD450 or any unit). ``hill > 0`` is a falling
curve (y = top at x = 0), ``hill < 0`` a rising one (y = bottom at x = 0, top at high x). When top and
bottom are both free the result has top ≥ bottom, so the sign of hill gives the direction. Vehicle controls
(x = 0) take part in the fit as they are: they inform the x = 0 limit and are never dropped or put on a log
axis.

Fitting
-------
The parameters are ``(top, bottom, hill, ln ic50)``, fitted by least squares with an analytic Jacobian.

1. Self-starting values (:func:`guess`, as drc does): asymptotes from the data range, slope and midpoint
   from a straight line through the logit-transformed responses against ln x.
2. First attempt. :func:`fit_hill` runs SciPy's ``least_squares(method="lm")`` from there;
   :func:`fit_hill_many` runs the same Levenberg–Marquardt iteration vectorised over all curves (one 4 × 4
   system per curve and iteration). The optimum is taken when it is finite, lies in the plausibility box
   (``HILL_MIN`` ≤ |hill| ≤ ``HILL_LIMIT``, IC50 within ``DECADES_BEYOND_RANGE`` decades of the tested
   concentrations, top and bottom within 10 data ranges of the data) and shows a significant effect.
   Accepted optima get a few full Newton steps (exact Hessian), so that SciPy's and the batched iteration,
   which stop at slightly different points, end at the same optimum to rounding error.
3. Otherwise (flat or partial data, an optimum outside the box, no convergence) a bounded multi-start,
   vectorised over curves and starts and shared by both entry points: variable projection (top and
   bottom solved exactly for each slope and midpoint, Levenberg–Marquardt on those two) in the box, from
   the self-starting values with each sign of the slope; then, where that found no converged optimum, an
   optimum on the edge of the box, or no significant effect although the responses trend with
   concentration, 16 more starts (hill ±1, ±3 at four midpoints over the tested range). A converged run
   beats one that hit the iteration limit, then the lowest RSS wins.

So both entry points give the same estimates (every curve is padded the same way, whether fitted alone
or in a batch, so the arithmetic per curve is the same). They can differ only where a first attempt
converges in one and not the other and the fallback then finds another optimum: on 2,000 random curves
(flat and out-of-range ones included) that happened twice, both times on a partial curve whose IC50 CI
spanned tens of decades; the tests check agreement to 1e-6 on 200 such curves.

Uncertainty
-----------
Standard errors are Gauss–Newton, ``σ² (JᵀJ)⁻¹`` at the optimum with ``σ² = RSS / df`` (what SciPy's
``curve_fit`` reports; drc's ``summary`` uses the full Hessian and differs by a few %). The SE of the IC50
comes from the SE of ln IC50 by the delta method. The IC50 confidence interval is
``exp(ln IC50 ± t(df) · SE(ln IC50))`` (Wald on the log scale: asymmetric, never negative), or, with
``ci_method="profile"``, the profile-likelihood interval ``{e : RSS_profile(e) ≤ RSS (1 + t²/df)}``, which
reproduces drc's profile interval on the ryegrass data. "No effect" is an F-test of the Hill model against
a flat line at the mean response (numerator df = free parameters − 1; with top and bottom both fixed the
models are not nested and the test is approximate).

Status rules, first match wins
------------------------------
``insufficient_data``
    fewer than 4 distinct concentrations (0 counts as one) or fewer wells than free parameters + 1.
    Every estimate is None.
``not_converged``
    no attempt reached a finite optimum, or the best one shows an effect but did not converge. Every
    estimate is None.
``no_effect``
    a flat line fits as well as the Hill curve (F-test p ≥ 0.05), or the fitted curve changes by less than
    5 % of the control level across the tested concentrations. ``ic50_um``, its SE and CI and
    ``ic50_abs_um`` are None; top, bottom and hill are kept for inspection; ``eval``/``curve`` give the flat
    line at the mean response.
``ic50_above_range`` / ``ic50_below_range``
    the fitted IC50 is above the highest / below the lowest positive concentration tested. The estimate is
    still reported (an extrapolation, never clamped) and flagged.
``ambiguous``
    the IC50 is in range but poorly determined: a non-finite standard error of a free parameter, a CI
    bound that does not exist, a CI wider than 100-fold (upper / lower > 100), or a falling curve with a
    free bottom that levels off above 50 % of the control level (no absolute IC50: partial effect or an
    IC50 beyond the range, which the data cannot tell apart).
``ok``
    otherwise.

A message in plain words goes with every status; it also says when estimates sit at the edge of the
search box (read them as bounds).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, special, stats

__all__ = [
    "CI_METHODS",
    "STATUSES",
    "HillFit",
    "fit_hill",
    "fit_hill_many",
    "guess",
    "hill",
]

STATUSES = (
    "ok",
    "no_effect",
    "ic50_above_range",
    "ic50_below_range",
    "ambiguous",
    "not_converged",
    "insufficient_data",
)
CI_METHODS = ("wald", "profile")

PARAMS = ("top", "bottom", "hill", "ic50_um")
_TOP, _BOTTOM, _HILL, _LOGE = range(4)

SE_METHOD = (
    "Gauss–Newton σ²(JᵀJ)⁻¹ at the optimum, like scipy curve_fit (R drc's summary uses the full Hessian); "
    "SE of ic50_um by the delta method from ln ic50"
)
_CI_METHOD_TEXT = {
    "wald": "Wald on the log scale: exp(ln IC50 ± t(df)·SE(ln IC50))",
    "profile": "profile likelihood: RSS(IC50) ≤ RSS_min·(1 + t(df)²/df)",
}

MIN_CONCENTRATIONS = 4  # distinct concentrations, 0 included
P_NO_EFFECT = 0.05  # F-test level for "no effect"
NEGLIGIBLE_EFFECT = 0.05  # fitted change across the tested range below 5 % of the control level
MAX_CI_RATIO = 100.0  # CI upper / lower above this: "ambiguous"
HILL_LIMIT = 10.0  # |hill| of a plausible fit is at most this ...
HILL_MIN = 0.1  # ... and at least this (hill → 0 turns the controls into a step at x = 0: a degenerate fit)
DECADES_BEYOND_RANGE = 3.0  # IC50 searched up to 3 decades beyond the tested concentrations
_SPAN_BOX = 10.0  # top and bottom within 10 data ranges of the data

_LN10 = math.log(10.0)
_LM_TOL = 1e-12  # least_squares ftol/xtol/gtol: 1e-12 leaves ~1e-6 relative error in ill-conditioned hills
_BATCH_XTOL = 1e-5  # batched LM: relative Gauss–Newton step size that counts as converged
_BATCH_MAX_ITER = 100  # first attempt, batched LM iterations (SciPy's single fit: _SCIPY_MAX_NFEV)
_SCIPY_MAX_NFEV = 100  # first attempt of a single fit: SciPy's evaluation budget
_FALLBACK_MAX_ITER = 200  # bounded LM iterations per start
_BOUNDED_FTOL = 1e-6  # bounded LM: relative RSS decrease over _WINDOW iterations that counts as converged
_WINDOW = 10
_BOUNDED_XTOL = 1e-9  # bounded fit: relative undamped step that counts as converged
_BATCH_CHUNK = 2048  # curves per batch
_PAD = 8  # curves are padded to a multiple of this many wells (see _padded_width)


# ----------------------------------------------------------------------------------------------------
# The model
# ----------------------------------------------------------------------------------------------------


def hill(
    conc_um: ArrayLike, top: ArrayLike, bottom: ArrayLike, hill: ArrayLike, ic50_um: ArrayLike
) -> np.ndarray:
    """Evaluate the four-parameter Hill curve (the paper's Eq. 1), vectorised.

    Parameters
    ----------
    conc_um : array_like
        Concentrations in µM, ≥ 0. Any shape; broadcast against the parameters.
    top, bottom : array_like
        Response at x = 0 and at x → ∞ for a falling curve (``hill > 0``), in response units (e.g. OD450).
    hill : array_like
        Hill slope; positive for a falling curve (drc's b).
    ic50_um : array_like
        Midpoint (relative IC50) in µM, > 0.

    Returns
    -------
    numpy.ndarray
        Responses, the broadcast shape of the inputs. At x = 0 the value is ``top`` for ``hill > 0``,
        ``bottom`` for ``hill < 0`` and their mean for ``hill == 0``.
    """
    x = np.asarray(conc_um, dtype=float)
    e = np.asarray(ic50_um, dtype=float)
    if np.any(x < 0):
        raise ValueError(f"conc_um must be >= 0; got {x[x < 0].flat[0]!r}")
    if np.any(~(e > 0)):
        raise ValueError(f"ic50_um must be > 0; got {e[~(e > 0)].flat[0]!r}")
    t, b, h = (np.asarray(v, dtype=float) for v in (top, bottom, hill))
    zero = x == 0
    with np.errstate(divide="ignore"):
        lnx = np.where(zero, 0.0, np.log(np.where(zero, 1.0, x)))
    s = special.expit(-h * (lnx - np.log(e)))
    s = np.where(zero, np.where(h > 0, 1.0, np.where(h < 0, 0.0, 0.5)), s)
    return b + (t - b) * s


def _predict(theta: np.ndarray, lnx: np.ndarray, zero: np.ndarray, *, jac: bool = False):
    """Model (and Jacobian) for stacked curves.

    ``theta`` (n_curves, 4) = (top, bottom, hill, ln ic50); ``lnx``, ``zero`` (n_curves, n_points), where
    ``lnx`` holds any finite value at zero concentrations. Returns y (n_curves, n_points) and, with ``jac``,
    J (n_curves, n_points, 4).
    """
    top, bottom, h, le = (theta[:, i : i + 1] for i in range(4))
    d = lnx - le
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(np.clip(h * d, -700.0, 700.0))  # (x / ic50) ** hill, finite
    s = 1.0 / (1.0 + e)
    s = np.where(zero, np.where(h > 0, 1.0, np.where(h < 0, 0.0, 0.5)), s)
    span = top - bottom
    y = bottom + span * s
    if not jac:
        return y
    one_minus_s = np.where(zero, 1.0 - s, e * s)  # accurate where s is close to 1
    w = np.where(zero, 0.0, s * one_minus_s)  # -ds/du; 0 in the x = 0 limit
    J = np.empty((*y.shape, 4))
    J[..., _TOP] = s
    J[..., _BOTTOM] = one_minus_s
    J[..., _HILL] = -span * w * d
    J[..., _LOGE] = span * w * h
    return y, J


# ----------------------------------------------------------------------------------------------------
# Input validation and packing
# ----------------------------------------------------------------------------------------------------


def _as_vector(values: ArrayLike, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric; got {values!r:.80}") from exc
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"{name} must be finite; got {float(arr[bad[0]])!r} at index {int(bad[0])}")
    return arr


def _validate_curve(
    conc_um: ArrayLike, response: ArrayLike, prefix: str = ""
) -> tuple[np.ndarray, np.ndarray]:
    x = _as_vector(conc_um, f"{prefix}conc_um")
    y = _as_vector(response, f"{prefix}response")
    neg = np.flatnonzero(x < 0)
    if neg.size:
        raise ValueError(f"{prefix}conc_um must be >= 0; got {float(x[neg[0]])!r} at index {int(neg[0])}")
    if x.size != y.size:
        raise ValueError(
            f"{prefix}conc_um and {prefix}response must have the same length; got {x.size} and {y.size}"
        )
    return x, y


def _validate_fixed(value: Any, name: str) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number or None; got {value!r}") from exc
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite; got {value!r}")
    return v


def _validate_level(ci_level: Any) -> float:
    try:
        level = float(ci_level)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"ci_level must be a number in (0, 1); got {ci_level!r}") from exc
    if not 0.0 < level < 1.0:
        raise ValueError(f"ci_level must be in (0, 1); got {ci_level!r}")
    return level


def _validate_ci_method(ci_method: Any) -> str:
    if ci_method not in CI_METHODS:
        raise ValueError(f"ci_method must be one of {CI_METHODS}; got {ci_method!r}")
    return ci_method


@dataclass(frozen=True)
class _Pack:
    """Curves stacked and padded to one width; padding has ``mask`` False."""

    x: np.ndarray  # (N, m) µM
    y: np.ndarray  # (N, m)
    mask: np.ndarray  # (N, m) bool, real wells
    lnx: np.ndarray  # (N, m), 0 at zero concentrations and padding
    zero: np.ndarray  # (N, m) bool, vehicle controls
    fixed: np.ndarray  # (N, 4), NaN where the parameter is free
    free: np.ndarray  # (N, 4) bool


def _padded_width(n_wells: int) -> int:
    """Columns a curve of ``n_wells`` is padded to: the next multiple of ``_PAD``.

    Every pack, single or batched, pads this way, so a curve meets the same arithmetic (the same summation
    order) whichever way it is fitted, and curves of similar length can share a batch.
    """
    return -(-n_wells // _PAD) * _PAD


def _pack(curves: Sequence[tuple[np.ndarray, np.ndarray]], fix_top: Sequence, fix_bottom: Sequence) -> _Pack:
    n = len(curves)
    m = _padded_width(max(len(c[0]) for c in curves))
    x = np.ones((n, m))
    y = np.zeros((n, m))
    mask = np.zeros((n, m), dtype=bool)
    for i, (xi, yi) in enumerate(curves):
        x[i, : xi.size] = xi
        y[i, : yi.size] = yi
        mask[i, : xi.size] = True
    zero = mask & (x == 0)
    lnx = np.log(np.where(zero | ~mask, 1.0, x))
    fixed = np.full((n, 4), np.nan)
    fixed[:, _TOP] = [np.nan if v is None else v for v in fix_top]
    fixed[:, _BOTTOM] = [np.nan if v is None else v for v in fix_bottom]
    return _Pack(x, y, mask, lnx, zero, fixed, np.isnan(fixed))


# ----------------------------------------------------------------------------------------------------
# Self-starting values and the plausibility box
# ----------------------------------------------------------------------------------------------------


def _data_range(p: _Pack) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    ymin = np.where(p.mask, p.y, np.inf).min(axis=1)
    ymax = np.where(p.mask, p.y, -np.inf).max(axis=1)
    pos = p.mask & ~p.zero
    lnlo = np.where(pos, p.lnx, np.inf).min(axis=1)
    lnhi = np.where(pos, p.lnx, -np.inf).max(axis=1)
    return ymin, ymax, lnlo, lnhi


def _box(p: _Pack) -> tuple[np.ndarray, np.ndarray]:
    """Plausibility box (n_curves, 4) lower and upper bounds for (top, bottom, hill, ln ic50)."""
    ymin, ymax, lnlo, lnhi = _data_range(p)
    spread = ymax - ymin
    scale = np.where(spread > 0, spread, np.maximum(np.abs(ymax), 1.0))
    beyond = DECADES_BEYOND_RANGE * _LN10
    lo = np.column_stack(
        [ymin - _SPAN_BOX * scale, ymin - _SPAN_BOX * scale, np.full_like(ymin, -HILL_LIMIT), lnlo - beyond]
    )
    hi = np.column_stack(
        [ymax + _SPAN_BOX * scale, ymax + _SPAN_BOX * scale, np.full_like(ymin, HILL_LIMIT), lnhi + beyond]
    )
    # a fixed value may lie outside the data-based box; widen the box to hold it
    fixed = ~p.free
    lo = np.where(fixed, np.fmin(lo, p.fixed), lo)
    hi = np.where(fixed, np.fmax(hi, p.fixed), hi)
    return lo, hi


def _guess_pack(p: _Pack) -> np.ndarray:
    """drc-like self-starting values (n_curves, 4) = (top, bottom, hill, ln ic50).

    Asymptotes: the data range widened by 5 % (top on the high side; a fixed value is kept and the free one
    goes to the data extreme farther from it). Slope and midpoint: least-squares line through the logit
    ``ln((top - y) / (y - bottom)) = hill · ln x - hill · ln ic50`` over the positive concentrations.
    """
    ymin, ymax, _, _ = _data_range(p)
    spread = ymax - ymin
    pad = 0.05 * np.where(spread > 0, spread, np.maximum(np.abs(ymax), 1.0))
    ft, fb = p.fixed[:, _TOP], p.fixed[:, _BOTTOM]
    top0 = np.where(np.isnan(ft), ymax + pad, ft)
    bottom0 = np.where(np.isnan(fb), ymin - pad, fb)
    # one asymptote fixed: the free one goes to the data extreme farther from it
    with np.errstate(invalid="ignore"):
        far_from_ft = np.where(np.abs(ymin - ft) >= np.abs(ymax - ft), ymin - pad, ymax + pad)
        far_from_fb = np.where(np.abs(ymin - fb) >= np.abs(ymax - fb), ymin - pad, ymax + pad)
    top0 = np.where(np.isnan(ft) & ~np.isnan(fb), far_from_fb, top0)
    bottom0 = np.where(np.isnan(fb) & ~np.isnan(ft), far_from_ft, bottom0)
    span = top0 - bottom0
    span = np.where(span == 0, pad, span)  # both fixed and equal is rejected at the boundary

    frac = np.clip((p.y - bottom0[:, None]) / span[:, None], 0.02, 0.98)
    z = np.log1p(-frac) - np.log(frac)  # ln(1/frac - 1) = hill (ln x - ln ic50)
    pos = p.mask & ~p.zero
    n = pos.sum(axis=1)
    nn = np.maximum(n, 1)
    mx = np.where(pos, p.lnx, 0.0).sum(axis=1) / nn
    mz = np.where(pos, z, 0.0).sum(axis=1) / nn
    dx = np.where(pos, p.lnx - mx[:, None], 0.0)
    sxx = (dx * dx).sum(axis=1)
    sxz = (dx * np.where(pos, z, 0.0)).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        h0 = sxz / sxx
        le0 = mx - mz / h0
    weak = ~np.isfinite(h0) | (np.abs(h0) < 1e-3) | ~np.isfinite(le0)
    # no usable slope (flat logits, e.g. every treated well on one plateau): hill 1, midpoint from the logits
    h0 = np.where(weak, 1.0, h0)
    le0 = np.where(weak, mx - mz, le0)
    lo, hi = _box(p)
    theta = np.column_stack([top0, bottom0, h0, le0])
    theta[:, _HILL:] = np.clip(theta[:, _HILL:], lo[:, _HILL:], hi[:, _HILL:])
    return theta


def guess(
    conc_um: ArrayLike, response: ArrayLike, *, fix_top: float | None = None, fix_bottom: float | None = None
) -> dict:
    """Self-starting values for the Hill fit, as R drc computes them: data range plus a logit regression.

    Parameters
    ----------
    conc_um : array_like, shape (n_wells,)
        Concentrations in µM, ≥ 0 (0 = vehicle control).
    response : array_like, shape (n_wells,)
        Responses (e.g. OD450).
    fix_top, fix_bottom : float, optional
        Values held fixed in the fit; returned unchanged.

    Returns
    -------
    dict
        ``{"top", "bottom", "hill", "ic50_um"}`` as floats.
    """
    x, y = _validate_curve(conc_um, response)
    ft = _validate_fixed(fix_top, "fix_top")
    fb = _validate_fixed(fix_bottom, "fix_bottom")
    _check_fixed_pair(ft, fb, "")
    if not np.any(x > 0):
        raise ValueError("conc_um must contain at least one positive concentration to guess a midpoint")
    theta = _guess_pack(_pack([(x, y)], [ft], [fb]))[0]
    return {
        "top": float(theta[0]),
        "bottom": float(theta[1]),
        "hill": float(theta[2]),
        "ic50_um": float(np.exp(theta[3])),
    }


def _check_fixed_pair(ft: float | None, fb: float | None, prefix: str) -> None:
    if ft is not None and fb is not None and ft == fb:
        raise ValueError(f"{prefix}fix_top and {prefix}fix_bottom must differ; both are {ft!r}")


# ----------------------------------------------------------------------------------------------------
# Optimisation
# ----------------------------------------------------------------------------------------------------


def _rss(p: _Pack, theta: np.ndarray) -> np.ndarray:
    r = np.where(p.mask, _predict(theta, p.lnx, p.zero) - p.y, 0.0)
    return (r * r).sum(axis=1)


def _tss(p: _Pack) -> tuple[np.ndarray, np.ndarray]:
    """Total sum of squares about the mean, and the mean (n_curves,); 0 for responses equal to rounding."""
    n = p.mask.sum(axis=1)
    mean = np.where(p.mask, p.y, 0.0).sum(axis=1) / n
    d = np.where(p.mask, p.y - mean[:, None], 0.0)
    tss = (d * d).sum(axis=1)
    rounding = n * (1e-12 * np.where(p.mask, np.abs(p.y), 0.0).max(axis=1)) ** 2
    return np.where(tss <= rounding, 0.0, tss), mean


def _f_test(rss: np.ndarray, tss: np.ndarray, k: np.ndarray, df: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """F-test of the Hill model (k free parameters) against a flat line at the mean (1 parameter)."""
    df1 = np.maximum(k - 1, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        f_stat = np.maximum(tss - rss, 0.0) / df1 / (rss / df)
        f_stat = np.where((rss == 0) & (tss > 0), np.inf, f_stat)
        p_value = np.where(np.isinf(f_stat), 0.0, stats.f.sf(f_stat, df1, df))
    p_value = np.where(tss == 0, 1.0, p_value)  # identical responses: nothing to explain
    f_stat = np.where(tss == 0, np.nan, f_stat)
    return f_stat, p_value


def _take(p: _Pack, rows: np.ndarray) -> _Pack:
    return _Pack(*(getattr(p, f.name)[rows] for f in fields(_Pack)))


def _acceptable(p: _Pack, theta: np.ndarray, rss: np.ndarray) -> np.ndarray:
    """Whether a first-attempt optimum is taken as it is, without the fallback.

    It must be finite, inside the plausibility box with |hill| ≥ HILL_MIN, and a significant effect
    (F-test p < P_NO_EFFECT). Everything else, flat data included, goes to the bounded multi-start, whose
    result does not depend on which first attempt (single or batched) was made.
    """
    lo, hi = _box(p)
    tss, _ = _tss(p)
    k = p.free.sum(axis=1)
    df = p.mask.sum(axis=1) - k
    finite = np.all(np.isfinite(theta), axis=1) & np.isfinite(rss)
    inside = np.all((theta >= lo) & (theta <= hi), axis=1) & (np.abs(theta[:, _HILL]) >= HILL_MIN)
    _, p_flat = _f_test(rss, tss, k, df)
    return finite & inside & (p_flat < P_NO_EFFECT)


def _damped_steps(
    A: np.ndarray, g: np.ndarray, lam: np.ndarray, free: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Undamped and damped steps ``(A + lam · diag(A)) δ = -g`` for stacked k × k systems.

    One eigen-decomposition of the Jacobi-scaled ``A`` serves both steps. Parameters not in ``free`` get
    δ = 0. Where the undamped system is singular the step is NaN instead of an exception, so one degenerate
    curve cannot stop the others.
    """
    k = A.shape[-1]
    diag = np.einsum("nii->ni", A)
    use = free & (diag > 0)
    d = np.where(use, np.sqrt(np.where(use, diag, 1.0)), 1.0)
    both = use[:, :, None] & use[:, None, :]
    As = np.where(both, A / (d[:, :, None] * d[:, None, :]), 0.0) + (~use)[:, :, None] * np.eye(k)
    w, V = np.linalg.eigh(np.where(np.isfinite(As), As, 0.0))
    w = np.maximum(w, 0.0)
    proj = np.einsum("nji,nj->ni", V, np.where(use, g / d, 0.0))
    degenerate = np.any(free & ~(diag > 0), axis=1) | ~np.all(np.isfinite(As), axis=(1, 2))
    steps = []
    for damping in (np.zeros_like(lam), lam):
        with np.errstate(divide="ignore", invalid="ignore"):
            delta = -np.einsum("nij,nj->ni", V, proj / (w + damping[:, None])) / d
        delta = np.where(use, delta, 0.0)
        delta[degenerate | (w[:, 0] + damping <= 1e-14 * w[:, -1])] = np.nan
        steps.append(delta)
    return steps[0], steps[1]


def _lm_batch(
    p: _Pack, theta0: np.ndarray, *, max_iter: int = _BATCH_MAX_ITER
) -> tuple[np.ndarray, np.ndarray]:
    """The first attempt of :func:`fit_hill_many`: Levenberg–Marquardt on all curves at once.

    The same iteration as SciPy's ``least_squares(method="lm")`` in :func:`fit_hill`, vectorised: a
    Gauss–Newton model ``JᵀJ`` per curve (4 × 4), Marquardt's scaling and Nielsen's gain-ratio damping.
    Returns ``theta`` (n_curves, 4) and ``converged`` (n_curves,). A curve has converged when its undamped
    step is below ``_BATCH_XTOL`` relative to the parameters (that step is then taken; the Newton polish
    finishes the job), or when no step, however damped, lowers its RSS any more. A curve that leaves the
    plausibility box is given up (not converged): it would not be accepted, and the fallback takes over.
    """
    box_lo, box_hi = _box(p)
    margin = 0.05 * (box_hi - box_lo)
    n = theta0.shape[0]
    theta = theta0.copy()
    theta[~p.free] = p.fixed[~p.free]
    cost = _rss(p, theta)
    lam = np.full(n, 1e-3)
    nu = np.full(n, 2.0)
    done = ~np.isfinite(cost)
    converged = np.zeros(n, dtype=bool)
    for _ in range(max_iter):
        act = np.flatnonzero(~done)
        if act.size == 0:
            break
        th = theta[act]
        lnx, zero, mask, y, free = p.lnx[act], p.zero[act], p.mask[act], p.y[act], p.free[act]
        with np.errstate(all="ignore"):
            yhat, J = _predict(th, lnx, zero, jac=True)
            r = np.where(mask, yhat - y, 0.0)
            J *= mask[:, :, None] & free[:, None, :]
            Jt = J.transpose(0, 2, 1)
            A = Jt @ J
            g = (Jt @ r[..., None])[..., 0]
            full, damped = _damped_steps(A, g, lam[act], free)
            step_rel = np.max(np.abs(full) / (np.abs(th) + 1.0), axis=1)
            at_min = np.isfinite(step_rel) & (step_rel <= _BATCH_XTOL)
            new = th + np.where(at_min[:, None], full, damped)
            r_new = np.where(mask, _predict(new, lnx, zero) - y, 0.0)
            cost_new = (r_new * r_new).sum(axis=1)
            old = cost[act]
            better = np.isfinite(cost_new) & (cost_new < old)
            # gain ratio: actual over predicted decrease of ½‖r‖²
            step = new - th
            predicted = -np.einsum("ni,ni->n", step, g) - 0.5 * np.einsum("ni,nij,nj->n", step, A, step)
            rho = 0.5 * (old - cost_new) / predicted
            shrink = np.where(
                np.isfinite(rho), np.maximum(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3), 1.0 / 3.0
            )
        # the final undamped step is taken unless it makes things (more than rounding) worse
        take = better | (at_min & np.isfinite(cost_new) & (cost_new <= old * (1.0 + 1e-12)))
        theta[act[take]] = new[take]
        cost[act[take]] = cost_new[take]
        # Nielsen's damping update: shrink by up to 3× after a good step, grow ever faster after bad ones
        lam[act] = np.where(better, np.maximum(lam[act] * shrink, 1e-15), lam[act] * nu[act])
        nu[act] = np.where(better, 2.0, nu[act] * 2.0)
        stalled = lam[act] > 1e12  # no damped step lowers the RSS: a minimum to rounding error
        finished = at_min | stalled | (cost[act] == 0.0)
        converged[act[finished]] = True
        th_now = theta[act]
        lost = np.any((th_now < box_lo[act] - margin[act]) | (th_now > box_hi[act] + margin[act]), axis=1)
        done[act[finished | lost]] = True
    return theta, converged


def _linear_part(p: _Pack, s: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Best (top, bottom) (n_curves, 2) for given shapes ``s`` (n_curves, n_points), inside the box.

    For fixed hill and IC50 the model ``bottom (1 - s) + top s`` is linear in top and bottom; fixed values
    stay fixed. A value that falls outside the box is clipped and the other re-solved with it held.
    """
    m = p.mask
    a = np.where(m, s, 0.0)  # column of top
    b = np.where(m, 1.0 - s, 0.0)  # column of bottom
    y = np.where(m, p.y, 0.0)
    saa, sbb, sab = (a * a).sum(1), (b * b).sum(1), (a * b).sum(1)
    say, sby = (a * y).sum(1), (b * y).sum(1)
    ft, fb = p.fixed[:, _TOP], p.fixed[:, _BOTTOM]
    t_free, b_free = p.free[:, _TOP], p.free[:, _BOTTOM]
    with np.errstate(divide="ignore", invalid="ignore"):
        det = saa * sbb - sab * sab
        ok2 = det > 1e-12 * saa * sbb
        top = np.where(ok2, (sbb * say - sab * sby) / det, np.nan)
        bottom = np.where(ok2, (saa * sby - sab * say) / det, np.nan)
        # one asymptote fixed (or the pair not separable): solve for the other alone
        top = np.where(~t_free, ft, top)
        bottom = np.where(~b_free, fb, bottom)
        only_b = b_free & (~t_free | ~ok2)
        top = np.where(
            only_b & t_free, np.where(saa > 0, say / np.where(saa > 0, saa, 1.0), y.sum(1) / m.sum(1)), top
        )
        bottom = np.where(only_b, (sby - sab * top) / sbb, bottom)
        only_t = t_free & ~b_free
        top = np.where(only_t, (say - sab * bottom) / saa, top)
    lo_t, hi_t, lo_b, hi_b = lo[:, _TOP], hi[:, _TOP], lo[:, _BOTTOM], hi[:, _BOTTOM]
    clipped_t = t_free & ((top < lo_t) | (top > hi_t))
    top = np.where(t_free, np.clip(top, lo_t, hi_t), top)
    with np.errstate(divide="ignore", invalid="ignore"):
        bottom = np.where(clipped_t & b_free, (sby - sab * top) / sbb, bottom)
    clipped_b = b_free & ((bottom < lo_b) | (bottom > hi_b))
    bottom = np.where(b_free, np.clip(bottom, lo_b, hi_b), bottom)
    with np.errstate(divide="ignore", invalid="ignore"):
        top = np.where(clipped_b & t_free & ~clipped_t, np.clip((say - sab * bottom) / saa, lo_t, hi_t), top)
    return np.column_stack([top, bottom])


def _shape(theta: np.ndarray, lnx: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """s = 1 / (1 + (x / ic50)^hill) (n_curves, n_points), the x = 0 limit included."""
    h, le = theta[:, _HILL : _HILL + 1], theta[:, _LOGE : _LOGE + 1]
    with np.errstate(over="ignore", invalid="ignore"):
        s = 1.0 / (1.0 + np.exp(np.clip(h * (lnx - le), -700.0, 700.0)))
    return np.where(zero, np.where(h > 0, 1.0, np.where(h < 0, 0.0, 0.5)), s)


def _varpro_batch(
    p: _Pack, theta0: np.ndarray, lo: np.ndarray, hi: np.ndarray, *, max_iter: int = _FALLBACK_MAX_ITER
) -> tuple[np.ndarray, np.ndarray]:
    """Bounded fit by variable projection, vectorised over curves: the fallback's workhorse.

    Top and bottom enter the model linearly, so for each (hill, ln IC50) they are solved exactly
    (:func:`_linear_part`) and Levenberg–Marquardt runs on hill and ln IC50 alone, with Kaufman's
    projected Jacobian (Golub & Pereyra's variable projection). This removes the long curved valley along
    which a four-parameter Gauss–Newton crawls when a plateau is not observed (only
    ``(top - bottom) · ic50^hill`` identified). Bounds: ``lo``/``hi`` (n_curves, 4); parameters at a bound
    with the gradient pointing outwards are held (active set) and steps are clipped; a top or bottom that
    reaches the box stays there for the rest of the run (letting it go again makes the iteration
    oscillate; other starts explore the rest). Converged: the undamped step is below ``_BOUNDED_XTOL``
    relative, no damped step lowers the RSS, or the RSS fell by less than ``_BOUNDED_FTOL`` (relative)
    over ``_WINDOW`` iterations.

    Returns ``theta`` (n_curves, 4) and ``converged`` (n_curves,).
    """
    n = theta0.shape[0]
    theta = np.clip(theta0, lo, hi)
    theta[~p.free] = p.fixed[~p.free]
    held = np.zeros((n, 2), dtype=bool)  # top / bottom that reached the box: held there for the run

    def evaluate(th: np.ndarray, rows: np.ndarray, q: _Pack) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        fixed, free = q.fixed.copy(), q.free.copy()
        fixed[:, :2] = np.where(held[rows], th[:, :2], fixed[:, :2])
        free[:, :2] &= ~held[rows]
        s = _shape(th, q.lnx, q.zero)
        th = th.copy()
        th[:, :2] = _linear_part(_Pack(q.x, q.y, q.mask, q.lnx, q.zero, fixed, free), s, lo[rows], hi[rows])
        r = np.where(
            q.mask,
            th[:, _BOTTOM : _BOTTOM + 1] + (th[:, _TOP : _TOP + 1] - th[:, _BOTTOM : _BOTTOM + 1]) * s - q.y,
            0.0,
        )
        return th, s, (r * r).sum(axis=1)

    all_rows = np.arange(n)
    theta, _, cost = evaluate(theta, all_rows, p)
    lam = np.full(n, 1e-3)
    nu = np.full(n, 2.0)
    done = ~np.isfinite(cost)
    converged = np.zeros(n, dtype=bool)
    window_start = cost.copy()
    lin_free = p.free[:, :2]
    q, q_rows = p, -1
    for iteration in range(1, max_iter + 1):
        act = np.flatnonzero(~done)
        if act.size == 0:
            break
        th = theta[act]
        if act.size != q_rows:  # the active set only shrinks: re-index when it does
            q, q_rows = _take(p, act), act.size
        yhat, J = _predict(th, q.lnx, q.zero, jac=True)
        r = np.where(q.mask, yhat - q.y, 0.0)
        J = J * q.mask[:, :, None]
        # columns of the linear parameters still free (not fixed, not held at the box)
        inside = ~held[act]
        Phi = J[..., :2] * (lin_free[act] & inside)[:, None, :]
        Ja = J[..., 2:]
        with np.errstate(all="ignore"):
            PtP = Phi.transpose(0, 2, 1) @ Phi + (~(lin_free[act] & inside))[:, :, None] * np.eye(2)
            coef = np.linalg.solve(
                np.where(np.isfinite(PtP), PtP, np.eye(2)) + 1e-300 * np.eye(2), Phi.transpose(0, 2, 1) @ Ja
            )
            Jk = Ja - Phi @ coef  # Kaufman: Jacobian of the projected residual
        Jt = Jk.transpose(0, 2, 1)
        A = Jt @ Jk
        g = (Jt @ r[..., None])[..., 0]
        a_lo, a_hi = lo[act, 2:], hi[act, 2:]
        alpha = th[:, 2:]
        free = ~(((alpha <= a_lo) & (g > 0)) | ((alpha >= a_hi) & (g < 0)))
        with np.errstate(all="ignore"):
            full, damped = _damped_steps(A, g, lam[act], free)
            step_rel = np.max(np.abs(full) / (np.abs(alpha) + 1.0), axis=1)
            at_min = np.isfinite(step_rel) & (step_rel <= _BOUNDED_XTOL)
            new_alpha = np.clip(alpha + np.where(at_min[:, None], full, damped), a_lo, a_hi)
            cand = th.copy()
            cand[:, 2:] = new_alpha
            cand, _, cost_new = evaluate(cand, act, q)
            old = cost[act]
            better = np.isfinite(cost_new) & (cost_new < old)
            step = new_alpha - alpha
            predicted = -np.einsum("ni,ni->n", step, g) - 0.5 * np.einsum("ni,nij,nj->n", step, A, step)
            rho = 0.5 * (old - cost_new) / predicted
            take = better | (at_min & np.isfinite(cost_new) & (cost_new <= old * (1.0 + 1e-12)))
            tiny_step = np.max(np.abs(step) / (np.abs(alpha) + 1.0), axis=1) <= 1e-12
            shrink = np.where(
                np.isfinite(rho), np.maximum(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3), 1.0 / 3.0
            )
        theta[act[take]] = cand[take]
        cost[act[take]] = cost_new[take]
        at_box = lin_free[act] & ((theta[act, :2] <= lo[act, :2]) | (theta[act, :2] >= hi[act, :2]))
        held[act] |= at_box
        lam[act] = np.where(better, np.maximum(lam[act] * shrink, 1e-15), lam[act] * nu[act])
        nu[act] = np.where(better, 2.0, nu[act] * 2.0)
        stalled = lam[act] > 1e12
        flat_valley = np.zeros(act.size, dtype=bool)
        if iteration % _WINDOW == 0:
            flat_valley = window_start[act] - cost[act] <= _BOUNDED_FTOL * cost[act]
            window_start[act] = cost[act]
        finished = at_min | stalled | flat_valley | (tiny_step & ~better) | (cost[act] == 0.0)
        converged[act[finished]] = True
        done[act[finished]] = True
    return theta, converged


def _trend_p(p: _Pack) -> np.ndarray:
    """p-value of a linear trend of the response in log concentration (controls a decade below the lowest).

    Only a trigger for more starting points in :func:`_fallback`; never reported.
    """
    _, _, lnlo, _ = _data_range(p)
    t = np.where(p.zero, (lnlo - _LN10)[:, None], p.lnx)
    n = p.mask.sum(axis=1)
    mt = np.where(p.mask, t, 0.0).sum(axis=1) / n
    my = np.where(p.mask, p.y, 0.0).sum(axis=1) / n
    dt = np.where(p.mask, t - mt[:, None], 0.0)
    dy = np.where(p.mask, p.y - my[:, None], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (dt * dy).sum(axis=1) / np.sqrt((dt * dt).sum(axis=1) * (dy * dy).sum(axis=1))
        tstat = r * np.sqrt((n - 2) / np.maximum(1.0 - r * r, 1e-300))
    return np.where(np.isfinite(tstat), 2.0 * stats.t.sf(np.abs(tstat), n - 2), 1.0)


def _fallback(p: _Pack) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bounded multi-start on stacked curves.

    Each run is a :func:`_varpro_batch` fit in the plausibility box, with hill in [HILL_MIN, HILL_LIMIT]
    or [-HILL_LIMIT, -HILL_MIN]. Stage 1 starts from the self-starting values twice, with each sign of the
    slope. Stage 2, for curves whose stage 1 found nothing finite, a significant effect that did not
    converge or sits on the edge of the box, or no significant effect although the responses trend with
    log concentration, starts from hill ±1 and ±3 at four midpoints spread over the tested range. A
    converged run beats one that hit the iteration limit; then the lowest RSS wins.

    Returns
    -------
    theta : numpy.ndarray, shape (n_curves, 4)
        Best (top, bottom, hill, ln ic50); NaN where no run gave a finite result.
    found, settled : numpy.ndarray of bool, shape (n_curves,)
        Whether a finite result exists, and whether it converged.
    """
    n = p.x.shape[0]
    theta0 = _guess_pack(p)
    lo, hi = _box(p)
    _, _, lnlo, lnhi = _data_range(p)
    best = np.full((n, 4), np.nan)
    best_rss = np.full(n, np.inf)
    best_conv = np.zeros(n, dtype=bool)

    def run(rows: np.ndarray, starts: np.ndarray) -> None:
        q = _take(p, rows)
        lo_q, hi_q = lo[rows].copy(), hi[rows].copy()
        positive = starts[:, _HILL] > 0
        lo_q[:, _HILL] = np.where(positive, HILL_MIN, -HILL_LIMIT)
        hi_q[:, _HILL] = np.where(positive, HILL_LIMIT, -HILL_MIN)
        theta, conv = _varpro_batch(q, starts, lo_q, hi_q)
        rss = _rss(q, theta)
        rss = np.where(np.isfinite(rss) & np.all(np.isfinite(theta), axis=1), rss, np.inf)
        for j, i in enumerate(rows):  # in start order: ties keep the earlier start
            if (conv[j], -rss[j]) > (best_conv[i], -best_rss[i]):
                best[i], best_rss[i], best_conv[i] = theta[j], rss[j], conv[j]

    rows = np.repeat(np.arange(n), 2)
    starts = theta0[rows].copy()
    sign = np.tile([1.0, -1.0], n)
    starts[:, _HILL] = sign * np.clip(np.abs(starts[:, _HILL]), HILL_MIN, HILL_LIMIT)
    run(rows, starts)

    tss, _ = _tss(p)
    k = p.free.sum(axis=1)
    df = p.mask.sum(axis=1) - k
    _, p_flat = _f_test(best_rss, tss, k, df)
    significant = p_flat < P_NO_EFFECT
    # an optimum on the edge of the box (hill or IC50 at a limit) is often a poor local one
    tight = 1e-9 * (np.abs(best) + 1.0)
    on_edge = (np.abs(best[:, _HILL]) <= HILL_MIN + tight[:, _HILL]) | np.any(
        (best[:, _HILL:] <= lo[:, _HILL:] + tight[:, _HILL:])
        | (best[:, _HILL:] >= hi[:, _HILL:] - tight[:, _HILL:]),
        axis=1,
    )
    again = np.flatnonzero(
        ~np.isfinite(best_rss)
        | (significant & (~best_conv | on_edge))
        | (~significant & (_trend_p(p) < P_NO_EFFECT))
    )
    if again.size:
        h0s = np.array([1.0, -1.0, 3.0, -3.0]).repeat(4)
        fs = np.tile([0.0, 1 / 3, 2 / 3, 1.0], 4)
        rows = np.repeat(again, h0s.size)
        starts = theta0[rows].copy()
        starts[:, _HILL] = np.tile(h0s, again.size)
        starts[:, _LOGE] = lnlo[rows] + np.tile(fs, again.size) * (lnhi[rows] - lnlo[rows])
        run(rows, starts)
    return best, np.isfinite(best_rss), best_conv


def _scipy_fit(
    p: _Pack, theta0: np.ndarray, *, bounds: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, float, bool]:
    """least_squares on one packed curve from ``theta0`` (4,). Returns (theta, rss, success)."""
    free = p.free[0]
    idx = np.flatnonzero(free)
    base = theta0.copy()
    base[~free] = p.fixed[0, ~free]
    lnx, zero, mask, y = p.lnx, p.zero, p.mask, p.y

    def full(q: np.ndarray) -> np.ndarray:
        th = base.copy()
        th[idx] = q
        return th[None, :]

    def residuals(q: np.ndarray) -> np.ndarray:
        return (_predict(full(q), lnx, zero) - y)[mask]

    def jacobian(q: np.ndarray) -> np.ndarray:
        _, J = _predict(full(q), lnx, zero, jac=True)
        return J[mask][:, idx]

    q0 = base[idx]
    tol = {"ftol": _LM_TOL, "xtol": _LM_TOL, "gtol": _LM_TOL}
    with np.errstate(all="ignore"):
        if bounds is None:
            res = optimize.least_squares(
                residuals, q0, jac=jacobian, method="lm", max_nfev=_SCIPY_MAX_NFEV, **tol
            )
        else:
            lo, hi = bounds[0][idx], bounds[1][idx]
            res = optimize.least_squares(
                residuals, np.clip(q0, lo, hi), jac=jacobian, bounds=(lo, hi), method="trf", **tol
            )
    theta = full(res.x)[0]
    rss = float(np.sum(res.fun**2))
    ok = bool(res.status > 0) and bool(np.all(np.isfinite(theta))) and math.isfinite(rss)
    return theta, rss, ok


def _newton_polish(p: _Pack, theta: np.ndarray, *, max_iter: int = 8) -> np.ndarray:
    """A few full Newton steps (exact Hessian of the RSS) from first-attempt optima, vectorised.

    Gauss–Newton and Levenberg–Marquardt converge only linearly on curves with large residuals, so SciPy's
    and the batched iteration stop at slightly different points (1e-6 apart on ill-conditioned curves).
    Newton's method converges quadratically: both end at the same optimum to rounding error. A curve whose
    Hessian is not positive definite, or whose Newton step would raise the RSS or leave the plausibility
    box, keeps its estimate.
    """
    lo, hi = _box(p)
    theta = theta.copy()
    free = p.free
    both = free[:, :, None] & free[:, None, :]
    cost = _rss(p, theta)
    active = np.all(np.isfinite(theta), axis=1) & np.isfinite(cost)
    for _ in range(max_iter):
        act = np.flatnonzero(active)
        if act.size == 0:
            break
        th = theta[act]
        lnx, zero, mask, y = p.lnx[act], p.zero[act], p.mask[act], p.y[act]
        yhat, J = _predict(th, lnx, zero, jac=True)
        r = np.where(mask, yhat - y, 0.0)
        J *= mask[:, :, None] & free[act][:, None, :]
        Jt = J.transpose(0, 2, 1)
        g = (Jt @ r[..., None])[..., 0]
        H = Jt @ J + _residual_curvature(th, lnx, zero, r)
        H = np.where(both[act], H, 0.0) + (~free[act])[:, :, None] * np.eye(4)
        with np.errstate(all="ignore"):
            w = np.linalg.eigvalsh(H)
            definite = w[:, 0] > 1e-12 * np.abs(w[:, -1])
            step = -np.linalg.solve(np.where(definite[:, None, None], H, np.eye(4)), g[..., None])[..., 0]
            step = np.where(free[act], step, 0.0)
            new = th + step
            cost_new = _rss(_take(p, act), new)
        inside = np.all((new >= lo[act]) & (new <= hi[act]), axis=1) & (np.abs(new[:, _HILL]) >= HILL_MIN)
        ok = definite & inside & np.isfinite(cost_new) & (cost_new <= cost[act] * (1.0 + 1e-12))
        theta[act[ok]] = new[ok]
        cost[act[ok]] = cost_new[ok]
        small = np.max(np.abs(step) / (np.abs(th) + 1.0), axis=1) <= 1e-14
        active[act[~ok | small]] = False
    return theta


def _residual_curvature(theta: np.ndarray, lnx: np.ndarray, zero: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Σᵢ rᵢ ∇²yᵢ (n_curves, 4, 4): the part of the RSS Hessian that Gauss–Newton leaves out.

    ``r`` (n_curves, n_points) must be 0 on padding and fixed-parameter rows are masked by the caller.
    """
    top, bottom, h, le = (theta[:, i : i + 1] for i in range(4))
    d = lnx - le
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(np.clip(h * d, -700.0, 700.0))
    s = 1.0 / (1.0 + e)
    w = np.where(zero, 0.0, s * e * s)  # s(1 - s)
    span = top - bottom
    c = (1.0 - 2.0 * s) * w  # d²s/du²
    S = np.zeros((theta.shape[0], 4, 4))
    th_ = -(r * w * d).sum(axis=1)  # ∂²y/∂top∂hill = -w d
    tl = (r * w * h).sum(axis=1)  # ∂²y/∂top∂ln ic50 = w h
    S[:, _TOP, _HILL] = S[:, _HILL, _TOP] = th_
    S[:, _TOP, _LOGE] = S[:, _LOGE, _TOP] = tl
    S[:, _BOTTOM, _HILL] = S[:, _HILL, _BOTTOM] = -th_
    S[:, _BOTTOM, _LOGE] = S[:, _LOGE, _BOTTOM] = -tl
    S[:, _HILL, _HILL] = (r * span * c * d * d).sum(axis=1)
    S[:, _HILL, _LOGE] = S[:, _LOGE, _HILL] = (r * span * (w - c * h * d)).sum(axis=1)
    S[:, _LOGE, _LOGE] = (r * span * c * h * h).sum(axis=1)
    return S


def _fit_single(p: _Pack) -> tuple[np.ndarray | None, bool]:
    """SciPy's Levenberg–Marquardt from the self-starting values, else the bounded multi-start.

    Returns (theta or None when nothing finite was found, converged).
    """
    theta, rss, ok = _scipy_fit(p, _guess_pack(p)[0])
    if ok and _acceptable(p, theta[None, :], np.array([rss]))[0]:
        return _newton_polish(p, theta[None, :])[0], True
    best, found, settled = _fallback(p)
    if not found[0]:
        return None, False
    return _newton_polish(p, best)[0], bool(settled[0])


# ----------------------------------------------------------------------------------------------------
# The result
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HillFit:
    """One fitted dose-response curve. Concentrations in µM, responses in the input's unit (e.g. OD450).

    ``ic50_um`` is the relative IC50 (the curve's midpoint); ``ic50_abs_um`` the concentration where the
    response is 50 % of the control level (``top`` for a falling curve, ``bottom`` for a rising one),
    None where the curve never reaches it. ``se`` maps top, bottom, hill, ic50_um and log10_ic50 to standard
    errors (None for fixed or undetermined parameters). See the module docstring for the status rules.
    """

    status: str
    message: str
    top: float | None
    bottom: float | None
    hill: float | None
    ic50_um: float | None
    ic50_abs_um: float | None
    se: dict[str, float | None]
    se_method: str
    ic50_ci_um: tuple[float | None, float | None] | None
    ci_method: str
    ci_level: float
    r2: float | None
    rss: float | None
    residual_se: float | None
    df: int
    n_wells: int
    n_concentrations: int
    f_statistic: float | None
    p_no_effect: float | None
    converged: bool
    fixed_top: float | None
    fixed_bottom: float | None
    tested_range_um: tuple[float, float]
    mean_response: float | None  # the flat line's level (used as the curve when status is "no_effect")

    @property
    def has_curve(self) -> bool:
        """Whether a fitted curve exists (False for insufficient_data and not_converged)."""
        return self.status not in ("insufficient_data", "not_converged")

    def eval(self, conc_um: ArrayLike) -> np.ndarray:
        """Fitted response at ``conc_um`` (µM, any shape); the flat line for no_effect, NaN without a fit."""
        x = np.asarray(conc_um, dtype=float)
        if not self.has_curve:
            return np.full(x.shape, np.nan)
        if self.status == "no_effect" or self.ic50_um is None:
            return np.full(x.shape, self.mean_response, dtype=float)
        assert self.top is not None and self.bottom is not None and self.hill is not None
        return hill(x, self.top, self.bottom, self.hill, self.ic50_um)

    def curve(self, n: int = 100) -> tuple[np.ndarray, np.ndarray]:
        """The fitted curve on ``n`` log-spaced concentrations spanning ``tested_range_um``.

        Returns
        -------
        conc_um, response : numpy.ndarray, shape (n,)
            Empty arrays where no curve exists.
        """
        if n < 2:
            raise ValueError(f"n must be >= 2; got {n!r}")
        lo, hi = self.tested_range_um
        if not self.has_curve or not (np.isfinite(lo) and np.isfinite(hi) and lo > 0):
            return np.empty(0), np.empty(0)
        grid = np.geomspace(lo, hi, n)
        return grid, self.eval(grid)

    def to_dict(self, curve_points: int = 100) -> dict:
        """JSON-safe dict of every field (NaN/inf → None, tuples → lists) plus ``"curve"``."""
        out = {f.name: _json_safe(getattr(self, f.name)) for f in fields(self)}
        xs, ys = self.curve(curve_points)
        out["curve"] = {"concentrations_um": _json_safe(xs), "responses": _json_safe(ys)}
        return out

    def report(self) -> str:
        """A human-readable summary of the fit."""
        lines = [f"status: {self.status}: {self.message}"]
        lo, hi = self.tested_range_um
        lines.append(
            f"data: {self.n_wells} wells at {self.n_concentrations} concentrations, "
            f"tested {_fmt(lo)}–{_fmt(hi)} µM"
        )
        if self.has_curve:
            for name in PARAMS:
                value = getattr(self, name)
                fixed = (name == "top" and self.fixed_top is not None) or (
                    name == "bottom" and self.fixed_bottom is not None
                )
                se = self.se.get(name)
                tail = " (fixed)" if fixed else (f" ± {_fmt(se)} (SE)" if se is not None else "")
                unit = " µM" if name == "ic50_um" else ""
                lines.append(f"{name}: {_fmt(value)}{unit}{tail}")
            if self.ic50_ci_um is not None:
                clo, chi = self.ic50_ci_um
                lines.append(f"IC50 {_pct(self.ci_level)} CI: {_fmt(clo)}–{_fmt(chi)} µM ({self.ci_method})")
            if self.ic50_abs_um is not None:
                lines.append(f"absolute IC50 (50 % of control): {_fmt(self.ic50_abs_um)} µM")
            lines.append(
                f"R² {_fmt(self.r2)}, RSS {_fmt(self.rss)}, "
                f"residual SE {_fmt(self.residual_se)} on {self.df} df"
            )
            lines.append(
                f"F-test against a flat line: F = {_fmt(self.f_statistic)}, p = {_fmt(self.p_no_effect)}"
            )
            lines.append(f"standard errors: {self.se_method}")
        return "\n".join(lines)


def _pct(level: float) -> str:
    return f"{level * 100:g} %"


def _fmt(v: float | None) -> str:
    if v is None or not np.isfinite(v):
        return "—"
    return f"{v:.4g}"


def _json_safe(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _json_safe(w) for k, w in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(w) for w in v]
    if isinstance(v, np.ndarray):
        return [_json_safe(w) for w in v.tolist()]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else None
    return v


def _opt(v: float) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _tested_range(x: np.ndarray) -> tuple[float, float]:
    pos = x[x > 0]
    if pos.size == 0:
        return (math.nan, math.nan)
    return (float(pos.min()), float(x.max()))


def _n_free(ft: float | None, fb: float | None) -> int:
    return 4 - (ft is not None) - (fb is not None)


def _insufficient(
    x: np.ndarray, ft: float | None, fb: float | None, level: float, ci_method: str
) -> HillFit | None:
    """The insufficient_data result, or None when the data suffice."""
    n_conc = int(np.unique(x).size)
    k = _n_free(ft, fb)
    if n_conc >= MIN_CONCENTRATIONS and x.size >= k + 1:
        return None
    needs = []
    if n_conc < MIN_CONCENTRATIONS:
        needs.append(f"at least {MIN_CONCENTRATIONS} distinct concentrations (0 counts as one); got {n_conc}")
    if x.size < k + 1:
        needs.append(f"at least {k + 1} wells for {k} free parameters; got {x.size}")
    message = "Too few data for a Hill fit: need " + " and ".join(needs) + "."
    return _empty(
        "insufficient_data", message, x, ft, fb, level, ci_method, df=max(x.size - k, 0), n_conc=n_conc
    )


def _empty(status, message, x, ft, fb, level, ci_method, *, df, n_conc) -> HillFit:
    return HillFit(
        status=status, message=message, top=None, bottom=None, hill=None, ic50_um=None, ic50_abs_um=None,
        se={name: None for name in (*PARAMS, "log10_ic50")}, se_method=SE_METHOD, ic50_ci_um=None,
        ci_method=_CI_METHOD_TEXT[ci_method], ci_level=level, r2=None, rss=None, residual_se=None, df=df,
        n_wells=int(x.size), n_concentrations=n_conc, f_statistic=None, p_no_effect=None, converged=False,
        fixed_top=ft, fixed_bottom=fb, tested_range_um=_tested_range(x), mean_response=None,
    )  # fmt: skip


def _covariance_scaled_inverse(A: np.ndarray, free: np.ndarray) -> np.ndarray:
    """(JᵀJ)⁻¹ over the free parameters (n_curves, 4, 4); NaN for fixed ones, all NaN where singular."""
    diag = np.einsum("nii->ni", A)
    d = np.where(free & (diag > 0), np.sqrt(np.where(diag > 0, diag, 1.0)), 1.0)
    outer = d[:, :, None] * d[:, None, :]
    both = free[:, :, None] & free[:, None, :]
    As = np.where(both, A / outer, 0.0) + (~free)[:, :, None] * np.eye(4)
    w, V = np.linalg.eigh(As)
    singular = (w[:, 0] <= 1e-13 * w[:, -1]) | np.any(free & ~(diag > 0), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.einsum("nij,nj,nkj->nik", V, 1.0 / w, V) / outer
    inv[singular] = np.nan
    return np.where(both, inv, np.nan)


def _status(
    *, no_effect: bool, p_flat: float, effect_frac: float, ic50: float, lo_um: float, hi_um: float,
    finite_se: bool, ci: tuple[float | None, float | None] | None, level: float, plateau_frac: float | None,
) -> tuple[str, str]:  # fmt: skip
    """Status and a message a biologist can act on (rules in the module docstring)."""
    if no_effect:
        if not p_flat < P_NO_EFFECT:
            return "no_effect", (
                "No concentration-dependent effect: a flat line fits as well as the Hill curve "
                f"(F-test p = {_fmt(p_flat)}), so there is no IC50."
            )
        return "no_effect", (
            f"The fitted response changes by only {effect_frac:.1%} of the control level across the tested "
            f"range ({_fmt(lo_um)}–{_fmt(hi_um)} µM), so there is no IC50."
        )
    if ic50 > hi_um:
        return "ic50_above_range", (
            f"IC50 lies above the highest concentration tested ({_fmt(hi_um)} µM): "
            f"the estimate {_fmt(ic50)} µM is an extrapolation. Test higher concentrations."
        )
    if ic50 < lo_um:
        return "ic50_below_range", (
            f"IC50 lies below the lowest concentration tested ({_fmt(lo_um)} µM): "
            f"the estimate {_fmt(ic50)} µM is an extrapolation. Test lower concentrations."
        )
    if not finite_se:
        return "ambiguous", (
            f"IC50 {_fmt(ic50)} µM is poorly determined: these data cannot pin down all four parameters "
            "(standard errors undefined). Add concentrations around the IC50, or fix top or bottom."
        )
    if ci is None or ci[0] is None or ci[1] is None or ci[0] <= 0:
        return "ambiguous", (
            f"IC50 {_fmt(ic50)} µM is poorly determined: its {_pct(level)} confidence interval is "
            "unbounded. Add concentrations around the IC50 or replicates."
        )
    if ci[1] / ci[0] > MAX_CI_RATIO:
        return "ambiguous", (
            f"IC50 {_fmt(ic50)} µM is poorly determined: its {_pct(level)} CI "
            f"({_fmt(ci[0])}–{_fmt(ci[1])} µM) spans more than {MAX_CI_RATIO:.0f}-fold. "
            "Add concentrations around the IC50 or replicates."
        )
    if plateau_frac is not None:
        return "ambiguous", (
            f"The curve levels off at {plateau_frac:.0%} of the control level and never reaches 50 % "
            f"inhibition: its midpoint (relative IC50) is {_fmt(ic50)} µM, but the absolute IC50 is not "
            "reached. Either the drug is only partly effective or the real IC50 lies above the tested range. "
            "If full inhibition is expected, fix bottom (e.g. 0) or test higher concentrations."
        )
    return "ok", f"IC50 {_fmt(ic50)} µM ({_pct(level)} CI {_fmt(ci[0])}–{_fmt(ci[1])} µM)."


def _canonical(theta: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Report top ≥ bottom when both are free, so that the sign of hill gives the direction.

    ``(top, bottom, hill)`` and ``(bottom, top, -hill)`` are the same curve, at x = 0 too.
    """
    swap = free[:, _TOP] & free[:, _BOTTOM] & (theta[:, _TOP] < theta[:, _BOTTOM])
    out = theta.copy()
    out[swap, _TOP], out[swap, _BOTTOM] = theta[swap, _BOTTOM], theta[swap, _TOP]
    out[swap, _HILL] = -theta[swap, _HILL]
    return out


def _summaries(
    p: _Pack,
    theta: np.ndarray,
    settled: np.ndarray,
    xs: Sequence[np.ndarray],
    fixed_pairs: Sequence[tuple[float | None, float | None]],
    level: float,
    ci_method: str,
) -> list[HillFit]:
    """Statistics, status and message of fitted curves, vectorised over curves."""
    theta = _canonical(theta, p.free)
    yhat, J = _predict(theta, p.lnx, p.zero, jac=True)
    r = np.where(p.mask, yhat - p.y, 0.0)
    J = J * (p.mask[:, :, None] & p.free[:, None, :])
    rss = (r * r).sum(axis=1)
    tss, mean = _tss(p)
    n = p.mask.sum(axis=1)
    k = p.free.sum(axis=1)
    df = n - k
    f_stat, p_flat = _f_test(rss, tss, k, df)
    top, bottom, h, le = theta.T
    with np.errstate(all="ignore"):
        s2 = rss / df
        cov = s2[:, None, None] * _covariance_scaled_inverse(J.transpose(0, 2, 1) @ J, p.free)
        se_theta = np.sqrt(np.einsum("nii->ni", cov))
        r2 = np.where(tss > 0, 1.0 - rss / tss, np.nan)
        tq = stats.t.ppf(0.5 + level / 2.0, df)
        ic50 = np.exp(le)
        se_le = se_theta[:, _LOGE]
        ci_lo = np.exp(le - tq * se_le)
        ci_hi = np.exp(le + tq * se_le)
        # absolute IC50: response = 50 % of the control level (the x = 0 limit of the curve)
        control = np.where(h > 0, top, np.where(h < 0, bottom, np.nan))
        s_target = (0.5 * control - bottom) / (top - bottom)
        abs_ic50 = ic50 * (1.0 / s_target - 1.0) ** (1.0 / h)
        abs_ic50 = np.where((s_target > 0) & (s_target < 1), abs_ic50, np.nan)
    # fitted change across the tested range (controls included), relative to the control level
    _, _, lnlo, lnhi = _data_range(p)
    has_zero = p.zero.any(axis=1)
    y_ends = _predict(
        theta, np.column_stack([lnlo, lnhi]), np.column_stack([has_zero, np.zeros_like(has_zero)])
    )
    effect = np.abs(y_ends[:, 1] - y_ends[:, 0])
    level0 = np.abs(y_ends[:, 0])
    negligible = effect < NEGLIGIBLE_EFFECT * level0
    # a falling curve with a free bottom that levels off above 50 % of the control level: partial effect
    partial = p.free[:, _BOTTOM] & (h > 0) & (top > 0) & (bottom > 0.5 * top)
    lo_box, hi_box = _box(p)
    tight = 1e-9 * (np.abs(theta) + 1.0)
    at_edge = np.any(p.free & ((theta <= lo_box + tight) | (theta >= hi_box - tight)), axis=1)
    at_edge |= np.abs(h) <= HILL_MIN * (1 + 1e-9)

    results = []
    for i, x in enumerate(xs):
        ft, fb = fixed_pairs[i]
        lo_um, hi_um = _tested_range(x)
        free_i = p.free[i]
        se_i: dict[str, float | None] = {
            name: (_opt(se_theta[i, j]) if free_i[j] else None) for j, name in enumerate(PARAMS[:3])
        }
        no_effect = not (p_flat[i] < P_NO_EFFECT) or bool(negligible[i])
        if not settled[i] and not no_effect:
            results.append(_not_converged(x, ft, fb, level, ci_method))
            continue
        ci: tuple[float | None, float | None] | None = None
        if not no_effect:
            se_i["ic50_um"] = _opt(ic50[i] * se_le[i])
            se_i["log10_ic50"] = _opt(se_le[i] / _LN10)
            if ci_method == "profile":
                ci = _profile_ci(
                    _take(p, np.array([i])), theta[i], float(tq[i]), float(rss[i]), int(df[i]), se_le[i]
                )
            elif np.isfinite(se_le[i]):
                ci = (_opt(ci_lo[i]), _opt(ci_hi[i]))
        else:
            se_i["ic50_um"] = se_i["log10_ic50"] = None
        status, message = _status(
            no_effect=no_effect, p_flat=float(p_flat[i]),
            effect_frac=float(effect[i] / level0[i]) if level0[i] else 0.0,
            ic50=float(ic50[i]), lo_um=lo_um, hi_um=hi_um,
            finite_se=bool(np.all(np.isfinite(se_theta[i][free_i]))),
            ci=ci, level=level, plateau_frac=float(bottom[i] / top[i]) if partial[i] else None,
        )  # fmt: skip
        if not settled[i]:
            message += (
                " (The Hill fit did not settle within the iteration limit, but its best point is no better "
                "than a flat line.)"
            )
        if at_edge[i] and not no_effect:
            message += (
                " The fit stopped at the edge of the search region (|hill| between "
                f"{HILL_MIN:g} and {HILL_LIMIT:g}, IC50 within {DECADES_BEYOND_RANGE:g} decades of the "
                "tested range): read the estimates as bounds, not values."
            )
        results.append(
            HillFit(
                status=status, message=message, top=_opt(top[i]), bottom=_opt(bottom[i]), hill=_opt(h[i]),
                ic50_um=None if no_effect else _opt(ic50[i]),
                ic50_abs_um=None if no_effect else _opt(abs_ic50[i]),
                se=se_i, se_method=SE_METHOD, ic50_ci_um=ci, ci_method=_CI_METHOD_TEXT[ci_method],
                ci_level=level, r2=_opt(r2[i]), rss=_opt(rss[i]), residual_se=_opt(math.sqrt(s2[i])),
                df=int(df[i]), n_wells=int(n[i]), n_concentrations=int(np.unique(x).size),
                f_statistic=_opt(f_stat[i]), p_no_effect=_opt(p_flat[i]), converged=bool(settled[i]),
                fixed_top=ft, fixed_bottom=fb, tested_range_um=(lo_um, hi_um), mean_response=_opt(mean[i]),
            )
        )  # fmt: skip
    return results


def _profile_ci(
    q: _Pack, theta: np.ndarray, tq: float, rss_min: float, df: int, se_le: float
) -> tuple[float | None, float | None] | None:
    """Profile-likelihood CI of the IC50 (µM) for one packed curve.

    The bounds are where the RSS, minimised over the other free parameters with ln IC50 held, reaches
    ``RSS_min (1 + t²/df)``; a bound that is not reached within the search region is None.
    """
    if not (np.isfinite(tq) and df > 0):
        return None
    cut = rss_min * (1.0 + tq * tq / df)
    lo, hi = (b[0].copy() for b in _box(q))
    if theta[_HILL] > 0:
        lo[_HILL] = HILL_MIN
    else:
        hi[_HILL] = -HILL_MIN
    held = _Pack(q.x, q.y, q.mask, q.lnx, q.zero, q.fixed.copy(), q.free.copy())
    held.free[0, _LOGE] = False

    def profile(le: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        held.fixed[0, _LOGE] = le
        th, r, ok = _scipy_fit(held, start, bounds=(lo, hi))
        return (r if ok else math.inf), th

    step0 = float(se_le) if np.isfinite(se_le) and se_le > 0 else 0.1
    ends: list[float | None] = []
    for direction in (-1.0, 1.0):
        limit = float(lo[_LOGE] if direction < 0 else hi[_LOGE])
        prev, start, step = float(theta[_LOGE]), theta, step0
        found = None
        while (limit - prev) * direction > 0:
            le = prev + direction * step
            le = min(le, limit) if direction > 0 else max(le, limit)
            r, th = profile(le, start)
            if r >= cut:
                warm = start
                a, b = sorted((prev, le))
                found = optimize.brentq(lambda v, warm=warm: profile(v, warm)[0] - cut, a, b, xtol=1e-10)
                break
            prev, start, step = le, th, step * 1.5
        ends.append(None if found is None else float(np.exp(found)))
    return (ends[0], ends[1])


# ----------------------------------------------------------------------------------------------------
# Public fitting functions
# ----------------------------------------------------------------------------------------------------


def fit_hill(
    conc_um: ArrayLike,
    response: ArrayLike,
    *,
    fix_top: float | None = None,
    fix_bottom: float | None = None,
    ci_level: float = 0.95,
    ci_method: str = "wald",
) -> HillFit:
    """Fit the four-parameter Hill curve to one dose-response series.

    Parameters
    ----------
    conc_um : array_like, shape (n_wells,)
        Concentration of each well in µM, ≥ 0; 0 marks a vehicle control. Replicates repeat a value.
    response : array_like, shape (n_wells,)
        Response of each well (e.g. OD450).
    fix_top, fix_bottom : float, optional
        Hold top and/or bottom at this value (e.g. ``fix_bottom=0``, ``fix_top=`` the mean of the controls);
        each fixed parameter leaves one more residual degree of freedom.
    ci_level : float
        Confidence level of the IC50 interval, in (0, 1).
    ci_method : {"wald", "profile"}
        Log-scale Wald interval (default, fast) or profile likelihood (slower).

    Returns
    -------
    HillFit

    Raises
    ------
    ValueError
        Non-numeric, NaN or infinite values, negative concentrations, mismatched lengths, empty input, a bad
        ``ci_level`` or ``ci_method``, or equal fixed top and bottom. Too few data is not an error: the
        result has status ``insufficient_data``.
    """
    x, y = _validate_curve(conc_um, response)
    ft = _validate_fixed(fix_top, "fix_top")
    fb = _validate_fixed(fix_bottom, "fix_bottom")
    _check_fixed_pair(ft, fb, "")
    level = _validate_level(ci_level)
    method = _validate_ci_method(ci_method)
    short = _insufficient(x, ft, fb, level, method)
    if short is not None:
        return short
    p = _pack([(x, y)], [ft], [fb])
    theta, settled = _fit_single(p)
    if theta is None:
        return _not_converged(x, ft, fb, level, method)
    return _summaries(p, theta[None, :], np.array([settled]), [x], [(ft, fb)], level, method)[0]


def _not_converged(x: np.ndarray, ft: float | None, fb: float | None, level: float, method: str) -> HillFit:
    return _empty(
        "not_converged",
        "The fit did not converge from any starting point. Check the data for outliers, a mislabelled "
        "concentration or a shape that is not sigmoidal.",
        x, ft, fb, level, method, df=x.size - _n_free(ft, fb), n_conc=int(np.unique(x).size),
    )  # fmt: skip


def _per_curve(value: Any, n: int, name: str) -> list[float | None]:
    if value is None or np.isscalar(value):
        v = _validate_fixed(value, name)
        return [v] * n
    values = list(value)
    if len(values) != n:
        raise ValueError(f"{name} must be a scalar or have one entry per curve ({n}); got {len(values)}")
    return [_validate_fixed(v, f"{name}[{i}]") for i, v in enumerate(values)]


def fit_hill_many(
    curves: Sequence[tuple[ArrayLike, ArrayLike]],
    *,
    fix_top: Any = None,
    fix_bottom: Any = None,
    ci_level: float = 0.95,
    ci_method: str = "wald",
) -> list[HillFit]:
    """Fit many dose-response series at once (vectorised); the same estimates as :func:`fit_hill` on each.

    Parameters
    ----------
    curves : sequence of (conc_um, response) pairs
        Each pair as for :func:`fit_hill`: two 1-D arrays of equal length (µM, response units).
    fix_top, fix_bottom : float or sequence of (float or None), optional
        One value for all curves, or one per curve (None: free).
    ci_level, ci_method
        As for :func:`fit_hill`.

    Returns
    -------
    list of HillFit
        In the order of ``curves``.

    Raises
    ------
    ValueError
        As :func:`fit_hill`, naming the curve (``curves[3].conc_um ...``).
    """
    curves = list(curves)
    n = len(curves)
    tops = _per_curve(fix_top, n, "fix_top")
    bottoms = _per_curve(fix_bottom, n, "fix_bottom")
    level = _validate_level(ci_level)
    method = _validate_ci_method(ci_method)
    data = []
    for i, item in enumerate(curves):
        try:
            conc, resp = item
        except (TypeError, ValueError) as exc:
            raise ValueError(f"curves[{i}] must be a (conc_um, response) pair; got {item!r:.80}") from exc
        data.append(_validate_curve(conc, resp, prefix=f"curves[{i}]."))
        _check_fixed_pair(tops[i], bottoms[i], f"curves[{i}].")

    results: list[HillFit | None] = [None] * n
    todo = []
    for i, (x, _) in enumerate(data):
        short = _insufficient(x, tops[i], bottoms[i], level, method)
        if short is None:
            todo.append(i)
        else:
            results[i] = short

    # Curves of one padded width are fitted together: other padding would change the rounding, and on
    # flat, ill-conditioned curves that can change the end point; this way the arithmetic per curve is the
    # same as in fit_hill.
    by_length: dict[int, list[int]] = {}
    for i in todo:
        by_length.setdefault(_padded_width(data[i][0].size), []).append(i)
    chunks = [
        group[start : start + _BATCH_CHUNK]
        for group in by_length.values()
        for start in range(0, len(group), _BATCH_CHUNK)
    ]
    for chunk_list in chunks:
        chunk = np.array(chunk_list)
        p = _pack([data[i] for i in chunk], [tops[i] for i in chunk], [bottoms[i] for i in chunk])
        theta, converged = _lm_batch(p, _guess_pack(p))
        good = converged & _acceptable(p, theta, _rss(p, theta))
        if good.any():
            theta[good] = _newton_polish(_take(p, good), theta[good])
        rest = np.flatnonzero(~good)
        if rest.size:
            sub = _take(p, rest)
            best, found, settled = _fallback(sub)
            if found.any():
                best[found] = _newton_polish(_take(sub, found), best[found])
            theta[rest] = best
            good[rest] = found
            converged[rest] = settled
        for j in np.flatnonzero(~good):
            i = chunk[j]
            results[i] = _not_converged(data[i][0], tops[i], bottoms[i], level, method)
        idx = np.flatnonzero(good)
        if idx.size:
            fits = _summaries(
                _take(p, idx), theta[idx], converged[idx], [data[i][0] for i in chunk[idx]],
                [(tops[i], bottoms[i]) for i in chunk[idx]], level, method,
            )  # fmt: skip
            for i, fit in zip(chunk[idx], fits, strict=True):
                results[i] = fit
    return results  # type: ignore[return-value]
