"""Statistics for comparing measured with predicted values (the paper's Tables 1 and 2).

Table 1 compares measured and predicted OD450 per well: a linear regression of predicted on measured
(r², slope, intercept, as in the paper's "y = 1.138x − 0.09") and the mean difference ± SD. Table 2
compares IC50s (µM) from measured and from predicted OD450 with paired and unpaired t-tests. Every
function is a thin, validated wrapper around SciPy that returns a frozen result with ``to_dict()``.
``scipy.stats`` is imported when a function first needs it: the server imports this module at start-up
(``POST /api/evaluate``) and must not load it until then (tests/app/test_startup.py).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from app.doseresponse import as_vector

__all__ = [
    "MeanDifference",
    "Regression",
    "TTest",
    "mean_difference",
    "paired_t",
    "regression",
    "unpaired_t",
]


def _json_float(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


class _ToDict:
    def to_dict(self) -> dict:
        """JSON-safe dict of the fields (NaN and inf → None)."""
        return {k: _json_float(v) for k, v in asdict(self).items()}  # type: ignore[call-overload]


@dataclass(frozen=True)
class Regression(_ToDict):
    """Least-squares line ``predicted = slope · measured + intercept``.

    ``r2`` is the squared Pearson correlation; ``p_value`` tests slope = 0 (two-sided).
    """

    r2: float
    slope: float
    intercept: float
    r: float
    p_value: float
    slope_se: float
    intercept_se: float
    n: int


@dataclass(frozen=True)
class MeanDifference(_ToDict):
    """Mean ± SD (ddof = 1) of ``predicted − measured`` (or of its absolute value)."""

    mean: float
    sd: float
    n: int
    absolute: bool

    def __str__(self) -> str:
        return f"{self.mean:.4g} ± {self.sd:.4g}"


@dataclass(frozen=True)
class TTest(_ToDict):
    """Student's or Welch's t-test of ``a`` against ``b``; ``t > 0`` when ``a`` is larger on average."""

    test: str  # "paired", "unpaired (Student)" or "unpaired (Welch)"
    t: float
    p_value: float  # two-sided
    df: float
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float


def _vector(values: ArrayLike, name: str, *, min_size: int) -> np.ndarray:
    """The engine's vector check (numeric, finite), plus: 1-D and at least ``min_size`` values."""
    if np.ndim(values) != 1:
        raise ValueError(f"{name} must be 1-D; got shape {np.shape(values)}")
    if np.size(values) < min_size:
        raise ValueError(f"{name} needs at least {min_size} values; got {np.size(values)}")
    return as_vector(values, name)


def _pair(
    a: ArrayLike, b: ArrayLike, names: tuple[str, str], *, min_size: int
) -> tuple[np.ndarray, np.ndarray]:
    x = _vector(a, names[0], min_size=min_size)
    y = _vector(b, names[1], min_size=min_size)
    if x.size != y.size:
        raise ValueError(f"{names[0]} and {names[1]} must have the same length; got {x.size} and {y.size}")
    return x, y


def regression(measured: ArrayLike, predicted: ArrayLike) -> Regression:
    """Regress predicted on measured values (``scipy.stats.linregress``), as in the paper's Table 1.

    Parameters
    ----------
    measured, predicted : array_like, shape (n,)
        Paired values, e.g. OD450 read on the plate reader and predicted from the image; n ≥ 3.

    Returns
    -------
    Regression
        r², slope and intercept of ``predicted = slope · measured + intercept``, with their SEs.
    """
    x, y = _pair(measured, predicted, ("measured", "predicted"), min_size=3)
    if np.ptp(x) == 0:
        raise ValueError(f"measured must not be constant; all values are {x[0]!r}")
    from scipy import stats  # lazy: see the module docstring

    res = stats.linregress(x, y)
    return Regression(
        r2=float(res.rvalue**2),
        slope=float(res.slope),
        intercept=float(res.intercept),
        r=float(res.rvalue),
        p_value=float(res.pvalue),
        slope_se=float(res.stderr),
        intercept_se=float(res.intercept_stderr),
        n=int(x.size),
    )


def mean_difference(measured: ArrayLike, predicted: ArrayLike, *, absolute: bool = False) -> MeanDifference:
    """Mean ± SD of ``predicted − measured``, as in the paper's Table 1 ("diff ± SD").

    Parameters
    ----------
    measured, predicted : array_like, shape (n,)
        Paired values; n ≥ 2.
    absolute : bool
        Summarise ``|predicted − measured|`` instead of the signed difference (the paper does not say
        which it reports).

    Returns
    -------
    MeanDifference
    """
    x, y = _pair(measured, predicted, ("measured", "predicted"), min_size=2)
    d = y - x
    if absolute:
        d = np.abs(d)
    return MeanDifference(mean=float(d.mean()), sd=float(d.std(ddof=1)), n=int(d.size), absolute=absolute)


def paired_t(a: ArrayLike, b: ArrayLike) -> TTest:
    """Paired t-test (``scipy.stats.ttest_rel``), e.g. IC50 from measured vs predicted OD450 per series.

    Parameters
    ----------
    a, b : array_like, shape (n,)
        Paired values; n ≥ 2.

    Returns
    -------
    TTest
        Two-sided; df = n − 1. NaN t and p when all differences are equal.
    """
    x, y = _pair(a, b, ("a", "b"), min_size=2)
    from scipy import stats  # lazy: see the module docstring

    with np.errstate(divide="ignore", invalid="ignore"):
        res = stats.ttest_rel(x, y)
    return _ttest("paired", res, x, y)


def unpaired_t(a: ArrayLike, b: ArrayLike, *, equal_var: bool = True) -> TTest:
    """Unpaired t-test (``scipy.stats.ttest_ind``): Student's with ``equal_var``, else Welch's.

    Parameters
    ----------
    a, b : array_like
        The two groups (1-D, ≥ 2 values each; lengths may differ).
    equal_var : bool
        Pooled variance (Student, the default) or separate variances (Welch).

    Returns
    -------
    TTest
        Two-sided; df = n_a + n_b − 2 (Student) or the Welch–Satterthwaite df.
    """
    x = _vector(a, "a", min_size=2)
    y = _vector(b, "b", min_size=2)
    from scipy import stats  # lazy: see the module docstring

    with np.errstate(divide="ignore", invalid="ignore"):
        res = stats.ttest_ind(x, y, equal_var=equal_var)
    return _ttest("unpaired (Student)" if equal_var else "unpaired (Welch)", res, x, y)


def _ttest(test: str, res: Any, x: np.ndarray, y: np.ndarray) -> TTest:
    """A :class:`TTest` from SciPy's result and the two samples."""
    return TTest(
        test=test,
        t=float(res.statistic),
        p_value=float(res.pvalue),
        df=float(res.df),
        n_a=int(x.size),
        n_b=int(y.size),
        mean_a=float(x.mean()),
        mean_b=float(y.mean()),
    )
