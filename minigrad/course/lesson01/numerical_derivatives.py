"""Section 1: derivatives, numerically: forward and central differences, their errors, the tangent
line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np


def forward_difference(f: Callable[[float], float], x: float, h: float) -> float:
    """(f(x + h) - f(x)) / h: error O(h) (the first neglected Taylor term is f''(x) h / 2)."""
    return (f(x + h) - f(x)) / h


def central_difference(f: Callable[[float], float], x: float, h: float) -> float:
    """(f(x + h) - f(x - h)) / (2h): error O(h^2) (the even Taylor terms cancel)."""
    return (f(x + h) - f(x - h)) / (2 * h)


def _demo_f(x):
    return np.sin(x) * np.exp(x)


def _demo_df(x):
    return np.exp(x) * (np.sin(x) + np.cos(x))


def difference_errors(
    f: Callable = _demo_f, df: Callable = _demo_df, x: float = 1.0, hs: Iterable | None = None
) -> dict:
    """Absolute errors of the forward and central differences of ``f`` at ``x`` for each h.

    Returns ``{"h": array, "forward": array, "central": array}`` (float64 throughout). By
    default f(x) = sin(x) e^x, whose derivative e^x (sin x + cos x) we know exactly.
    """
    hs = np.logspace(-13, -1, 49) if hs is None else np.asarray(list(hs), dtype=np.float64)
    exact = df(x)
    fwd = np.array([abs(forward_difference(f, x, h) - exact) for h in hs])
    cen = np.array([abs(central_difference(f, x, h) - exact) for h in hs])
    return {"h": hs, "forward": fwd, "central": cen}


def loglog_slope(h, err, lo: float, hi: float) -> float:
    """Least-squares slope of log(err) against log(h) for lo <= h <= hi (the error's order)."""
    h, err = np.asarray(h), np.asarray(err)
    keep = (h >= lo) & (h <= hi) & (err > 0)
    return float(np.polyfit(np.log10(h[keep]), np.log10(err[keep]), 1)[0])


def plot_difference_errors(res: dict, ax=None):
    """Log-log plot of the two errors against h, with reference slopes h and h^2."""
    import matplotlib.pyplot as plt

    fig, ax = _fig_ax(ax, (6.5, 4))
    h = res["h"]
    ax.loglog(h, np.maximum(res["forward"], 1e-17), "o-", ms=3, label="forward difference")
    ax.loglog(h, np.maximum(res["central"], 1e-17), "s-", ms=3, label="central difference")
    ax.loglog(h, h, "k:", lw=1, label="slope 1: error ∝ h")
    ax.loglog(h, h**2, "k--", lw=1, label="slope 2: error ∝ h²")
    ax.set_ylim(1e-14, 1)
    ax.set_xlabel("step h")
    ax.set_ylabel("|numeric − exact derivative|")
    ax.set_title("Truncation error (right) vs round-off error (left)")
    ax.legend(fontsize=8)
    ax.grid(True, which="major", alpha=0.3)
    plt.tight_layout()
    return fig


def _fig_ax(ax, size):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=size)
    else:
        fig = ax.figure
    return fig, ax
