"""The result of a fit: :class:`HillFit`, its statuses, and how its numbers are shown to people."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Literal, get_args

import numpy as np
from numpy.typing import ArrayLike

from app.doseresponse.model import PARAMS, hill

__all__ = [
    "CI_METHODS",
    "STATUSES",
    "CiMethod",
    "HillFit",
    "Status",
    "finite_or_none",
    "format_number",
    "percent",
]

#: What a fit came to; the rules are in the package docstring (first match wins, in this order).
Status = Literal[
    "ok",
    "no_effect",
    "ic50_above_range",
    "ic50_below_range",
    "ambiguous",
    "not_converged",
    "insufficient_data",
]
STATUSES: tuple[Status, ...] = get_args(Status)

#: How the IC50 confidence interval is computed: log-scale Wald (fast) or profile likelihood.
CiMethod = Literal["wald", "profile"]
CI_METHODS: tuple[CiMethod, ...] = get_args(CiMethod)


@dataclass(frozen=True)
class HillFit:
    """One fitted dose-response curve. Concentrations in µM, responses in the input's unit (e.g. OD450).

    ``ic50_um`` is the relative IC50 (the curve's midpoint); ``ic50_abs_um`` the concentration where the
    response is 50 % of the control level (``top`` for a falling curve, ``bottom`` for a rising one),
    None where the curve never reaches it. ``se`` maps top, bottom, hill, ic50_um and log10_ic50 to standard
    errors (None for fixed or undetermined parameters). See the package docstring for the status rules.
    """

    status: Status
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

    def to_dict(self, curve_points: int = 100, *, methods: bool = True) -> dict:
        """JSON-safe dict of every field (NaN/inf → None, tuples → lists) plus ``"curve"``.

        Parameters
        ----------
        curve_points : int
            Points of ``"curve"`` (:meth:`curve`); 0 leaves the curve out.
        methods : bool
            Whether to include ``se_method`` and ``ci_method`` (texts that are the same for every fit).
        """
        out = {name: _json_safe(getattr(self, name)) for name in (_FIELDS if methods else _RESULT_FIELDS)}
        if curve_points:
            xs, ys = self.curve(curve_points)
            out["curve"] = {"concentrations_um": _json_safe(xs), "responses": _json_safe(ys)}
        return out

    def report(self) -> str:
        """A human-readable summary of the fit."""
        lo, hi = self.tested_range_um
        lines = [
            f"status: {self.status}: {self.message}",
            f"data: {self.n_wells} wells at {self.n_concentrations} concentrations, "
            f"tested {format_number(lo)}–{format_number(hi)} µM",
        ]
        if self.has_curve:
            lines += self._estimate_lines()
        return "\n".join(lines)

    def _estimate_lines(self) -> list[str]:
        """The lines of :meth:`report` that exist only when a curve was fitted."""
        lines = []
        for name in PARAMS:
            value = getattr(self, name)
            fixed = (name == "top" and self.fixed_top is not None) or (
                name == "bottom" and self.fixed_bottom is not None
            )
            se = self.se.get(name)
            tail = " (fixed)" if fixed else (f" ± {format_number(se)} (SE)" if se is not None else "")
            unit = " µM" if name == "ic50_um" else ""
            lines.append(f"{name}: {format_number(value)}{unit}{tail}")
        if self.ic50_ci_um is not None:
            ci_lo, ci_hi = self.ic50_ci_um
            lines.append(
                f"IC50 {percent(self.ci_level)} CI: {format_number(ci_lo)}–{format_number(ci_hi)} µM "
                f"({self.ci_method})"
            )
        if self.ic50_abs_um is not None:
            lines.append(f"absolute IC50 (50 % of control): {format_number(self.ic50_abs_um)} µM")
        lines.append(
            f"R² {format_number(self.r2)}, RSS {format_number(self.rss)}, "
            f"residual SE {format_number(self.residual_se)} on {self.df} df"
        )
        lines.append(
            f"F-test against a flat line: F = {format_number(self.f_statistic)}, "
            f"p = {format_number(self.p_no_effect)}"
        )
        lines.append(f"standard errors: {self.se_method}")
        return lines


def percent(level: float) -> str:
    """A confidence level as people write it: 0.95 → ``95 %``."""
    return f"{level * 100:g} %"


def format_number(v: float | None) -> str:
    """A number for a message: four significant digits, ``—`` for None, NaN or infinity."""
    if v is None or not math.isfinite(v):
        return "—"
    return f"{v:.4g}"


def finite_or_none(v: float | np.floating) -> float | None:
    """``float(v)``, or None where it is NaN or infinite."""
    f = float(v)
    return f if math.isfinite(f) else None


#: The fields of a HillFit, and those without the method texts.
_FIELDS = tuple(f.name for f in fields(HillFit))
_RESULT_FIELDS = tuple(name for name in _FIELDS if name not in ("se_method", "ci_method"))


def _json_safe(v: Any) -> Any:
    if isinstance(v, float):
        return float(v) if math.isfinite(v) else None
    if v is None or isinstance(v, (str, bool, int)):
        return v
    if isinstance(v, np.ndarray) and v.dtype.kind == "f" and np.isfinite(v).all():
        return v.tolist()
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
        return finite_or_none(v)
    return v
