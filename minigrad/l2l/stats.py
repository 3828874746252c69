"""Means and 95% confidence intervals over independent runs.

For n runs with losses x_1..x_n at a step, the mean is xbar and the 95% confidence interval is
the Student-t interval

    xbar +- t_{0.975, n-1} * s / sqrt(n),     s^2 = sum (x_i - xbar)^2 / (n - 1),

exact for normally distributed losses and a good approximation for n >= ~20 otherwise (the
central limit theorem). The t quantile comes from a table for n - 1 <= 30 and from the
Cornish-Fisher expansion around the normal quantile 1.959964 beyond (error < 1e-5 there).

Paired comparison (:func:`paired_comparison`). When two optimizers ran on the SAME test
problems (same initial weights, same minibatches), run i gives a difference
d_i = a_i - b_i, and the question "is a lower than b?" is a question about the mean of d: its
95% t interval. A claim "a beats b" holds only when the whole interval lies below zero; an
interval that contains zero is a tie. Pairing removes the run-to-run variation both share
(some problems are simply harder), so it decides far more often than comparing two separate
intervals.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["CI_METHOD", "PAIRED_METHOD", "finite_or_none", "inf_if_none", "mean_ci95",
           "mean_or_inf", "paired_comparison", "t_quantile_975"]

CI_METHOD = "Student-t 95% interval over runs: mean +- t(0.975, n-1) * std(ddof=1) / sqrt(n)"

# t_{0.975, df} for df = 1..30 (standard tables)
_T975 = (12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
         2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
         2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423)
_Z975 = 1.959963984540054

PAIRED_METHOD = ("paired over runs on the same test problems: d_i = a_i - b_i, mean d +- "
                 "t(0.975, n-1) * std(d, ddof=1) / sqrt(n); a beats b when the interval lies "
                 "below 0, b beats a when above, a tie otherwise")


def t_quantile_975(df: int) -> float:
    """The 0.975 quantile of Student's t distribution with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError(f"t_quantile_975: need df >= 1, got {df}")
    if df <= len(_T975):
        return _T975[df - 1]
    z = _Z975
    return (z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3))


def mean_ci95(values, axis=0):
    """``(mean, half_width)`` of the 95% t interval along ``axis`` (half_width is NaN for one
    run). Non-finite runs make the mean non-finite: a diverged run is not silently dropped."""
    x = np.asarray(values, dtype=np.float64)
    n = x.shape[axis]
    mean = x.mean(axis=axis)
    if n < 2:
        return mean, np.full_like(mean, math.nan)
    with np.errstate(invalid="ignore"):
        sd = x.std(axis=axis, ddof=1)
    return mean, t_quantile_975(n - 1) * sd / math.sqrt(n)


def paired_comparison(a, b) -> dict:
    """Compare final losses ``a`` and ``b`` (one per run, the same runs in the same order).

    Returns JSON-ready numbers: ``runs``, the means and medians of both, ``mean_diff`` (a - b)
    with its 95% interval ``diff_ci95`` = [low, high], ``wins`` (the fraction of runs where
    a < b; ties count half) and ``verdict``: ``"a"`` (interval below 0), ``"b"`` (above 0) or
    ``"tie"``. A diverged run (non-finite loss) loses to any finite one; when any run
    diverged the interval is undefined (None) and the verdict is decided by the wins alone
    only if every run went one way, otherwise ``"tie"``.
    """
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"paired_comparison: need two equally long, non-empty lists of final "
                         f"losses (one per run), got {a.size} and {b.size}")
    aa = np.where(np.isfinite(a), a, np.inf)
    bb = np.where(np.isfinite(b), b, np.inf)
    wins = float(np.mean((aa < bb) + 0.5 * (aa == bb)))
    out = {"runs": int(a.size), "mean_a": finite_or_none(a.mean()),
           "mean_b": finite_or_none(b.mean()), "median_a": finite_or_none(np.median(aa)),
           "median_b": finite_or_none(np.median(bb)), "wins": wins,
           "mean_diff": None, "diff_ci95": None, "method": PAIRED_METHOD}
    if np.isfinite(a).all() and np.isfinite(b).all():
        d = a - b
        mean, half = mean_ci95(d)
        out["mean_diff"] = float(mean)
        if math.isfinite(half):
            low, high = float(mean - half), float(mean + half)
            out["diff_ci95"] = [low, high]
            out["verdict"] = "a" if high < 0 else "b" if low > 0 else "tie"
            return out
    out["verdict"] = "a" if wins == 1.0 else "b" if wins == 0.0 else "tie"
    return out


# ------------------------------------------------------- one score, and losses in JSON ---
def mean_or_inf(losses) -> float:
    """The mean of ``losses`` (one per run), or +inf when any run diverged (nan or inf): the
    score by which a learning rate is chosen and a run is judged (lower is better)."""
    x = np.asarray(losses, dtype=np.float64)
    return float(x.mean()) if np.isfinite(x).all() else math.inf


def finite_or_none(x):
    """``float(x)``, or None when it is None, NaN or infinite (JSON has neither NaN nor inf;
    a stored result writes a diverged loss as null)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def inf_if_none(x) -> float:
    """A stored loss back as a number: None (a diverged run, see :func:`finite_or_none`) is
    +inf, so it compares as worse than any finite loss."""
    return math.inf if x is None else float(x)
