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
The least-squares optimum depends on the wells only through the mean response and the number of wells at
each concentration (``RSS = Σ_wells (y − ȳ_j)² + Σ_j n_j (ȳ_j − f(x_j))²``), so the iterations run on
one weighted column per concentration (11 instead of 88 for 11 concentrations × 8 replicates) and every
reported RSS, R², F-test and standard error is still that of the wells.

1. Self-starting values (:func:`guess`, as drc does, from the wells): asymptotes from the data range,
   slope and midpoint from a straight line through the logit-transformed responses against ln x.
2. First attempt: Levenberg–Marquardt from there (SciPy's ``least_squares(method="lm")`` iteration,
   vectorised over curves: one 4 × 4 system per curve and iteration; at most 40). The optimum is taken
   when it is finite, lies in the plausibility box (``HILL_MIN`` ≤ |hill| ≤ ``HILL_LIMIT``, IC50 within
   ``DECADES_BEYOND_RANGE`` decades of the tested concentrations, top and bottom within 10 data ranges of
   the data) and shows a significant effect. Accepted optima get a few full Newton steps (exact Hessian),
   which end at the optimum to rounding error.
3. Otherwise (flat or partial data, an optimum outside the box, no convergence) a bounded multi-start,
   vectorised over curves and starts: variable projection (top and bottom solved exactly for each slope
   and midpoint, Levenberg–Marquardt on those two) in the box, from the self-starting values, or from
   where the first attempt got to when it ran out of iterations inside the box (it was crawling towards
   an optimum, often a steep drop between two concentrations; restarted from the self-starting values the
   bounded fit can end in a worse one at the edge of the box); then, where that found no converged
   optimum, an IC50 on the edge of the box or a slope at ``HILL_MIN``, or no significant effect although
   the responses trend with concentration, 8 more starts (hill 1 and 3 at four midpoints over the tested
   range). Each start runs with a negative slope too where top or bottom is fixed; with both free,
   ``(top, bottom, hill)`` and ``(bottom, top, -hill)`` are the same curve and the mirrored run would find
   the mirrored optimum. A converged run beats one that hit the iteration limit, then the lowest RSS wins.

:func:`fit_hill` is :func:`fit_hill_many` on one curve, and every curve is padded the same way whether
fitted alone or in a batch, so both give the same estimates to the last digit.

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

Modules
-------
``model`` the Hill function and its derivatives; ``validate`` input checks; ``stack`` curves stacked
(replicates collapsed) and their designs; ``start`` the plausibility box and starting values;
``objective`` the least-squares pieces every iteration shares; ``levenberg`` the first attempt;
``varpro`` and ``multistart`` the fallback; ``optimize`` the whole optimisation and the Newton polish;
``inference`` the F-test, standard errors and status rules; ``profile`` the profile-likelihood interval;
``summarize`` fitted parameters → results; ``result`` :class:`HillFit`; ``fit`` the public entry points.
"""

from app.doseresponse.fit import fit_hill, fit_hill_many
from app.doseresponse.model import hill
from app.doseresponse.result import CI_METHODS, STATUSES, CiMethod, HillFit, Status
from app.doseresponse.start import guess
from app.doseresponse.validate import as_vector

__all__ = [
    "CI_METHODS",
    "STATUSES",
    "CiMethod",
    "HillFit",
    "Status",
    "as_vector",
    "fit_hill",
    "fit_hill_many",
    "guess",
    "hill",
]
