"""What the server loads when it starts: SciPy's statistics and optimisers wait until a fit needs them.

The idle server's memory and start-up time (benchmarks/bench_server.py) depend on it: ``scipy.stats`` and
``scipy.optimize`` (with ``scipy.sparse`` and ``scipy.linalg`` behind them) add about 50 MB and half a
second. The Hill fit needs only ``scipy.special``; the profile-likelihood interval imports the optimisers
when it is first asked for.
"""

from __future__ import annotations

import subprocess
import sys

from app.config import ROOT

HEAVY = ("scipy.stats", "scipy.optimize", "scipy.sparse", "scipy.linalg")


def _modules_after(code: str) -> set[str]:
    """The heavy modules loaded after running ``code`` in a fresh interpreter of this checkout."""
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_starting_the_app_and_a_wald_fit_load_no_scipy_stats_or_optimize() -> None:
    fit = "from app.doseresponse import fit_hill\nfit_hill([0, 0.1, 1, 10, 100], [1.0, 0.9, 0.5, 0.2, 0.1])"
    assert _modules_after(f"import app.main\n{fit}") == set()


def test_a_profile_interval_loads_the_optimisers_when_asked() -> None:
    fit = (
        "from app.doseresponse import fit_hill\n"
        "fit_hill([0, 0.1, 1, 10, 100] * 2, [1.0, 0.9, 0.5, 0.2, 0.1, 1.1, 0.8, 0.6, 0.2, 0.0], "
        "ci_method='profile')"
    )
    assert "scipy.optimize" in _modules_after(fit)
