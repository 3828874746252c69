"""Paper-style figures: mean loss per step on a log scale, one line per optimizer, with the
95% confidence band shaded (matplotlib's Agg backend, written atomically as PNG)."""

from __future__ import annotations

import numpy as np

from ..files import atomic_writer
from .baselines import DISPLAY_NAMES, OPTIMIZERS

__all__ = ["COLORS", "LABELS", "plot_curves", "plot_result"]

#: The optimizers' names in legends (one spelling everywhere).
LABELS = DISPLAY_NAMES
COLORS = {"lstm": "tab:orange", "sgd": "tab:blue", "nag": "tab:purple", "rmsprop": "tab:green",
          "adam": "tab:red"}


def plot_curves(result: dict, path, title: str | None = None) -> str:
    """Draw ``result`` (as returned by :func:`~minigrad.l2l.evaluate.run_protocol`) to ``path``.

    Returns the path written. Non-finite points (diverged runs) are left out of the lines.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.0), dpi=120)
    for name in result.get("optimizers", [k for k in LABELS if k in result]):
        entry = result[name]
        curve = np.array([np.nan if v is None else v for v in entry["curve"]], dtype=float)
        ci = np.array([np.nan if v is None else v for v in entry["ci95"]], dtype=float)
        steps = np.arange(curve.shape[0])
        label = LABELS.get(name, name)
        if "lr" in entry:
            label += f" (lr {entry['lr']:g})"
        style = {"color": COLORS.get(name), "lw": 2.2 if name == "lstm" else 1.4}
        ax.plot(steps, np.where(curve > 0, curve, np.nan), label=label, **style)
        lo, hi = curve - ci, curve + ci
        ok = np.isfinite(lo) & np.isfinite(hi)
        if ok.any():
            floor = np.nanmin(np.where(curve > 0, curve, np.nan)) * 1e-3
            ax.fill_between(steps[ok], np.maximum(lo[ok], floor), hi[ok], alpha=0.18,
                            color=style["color"], lw=0)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if title is None:
        title = f"{result.get('problem', '')} {result.get('optimizee') or ''}".strip()
    ax.set_title(title + f"  ({result.get('runs', '?')} test runs, 95% CI)", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.25)
    fig.tight_layout()
    try:
        with atomic_writer(path) as f:
            fig.savefig(f, format="png")
    finally:
        plt.close(fig)
    return path


def plot_result(result: dict, ax=None, title: str | None = None, max_step: int | None = None,
                mark_step: int | None = None, legend: bool = True,
                ylabel: str = "mean loss (held-out digits)"):
    """The paper-style figure: mean loss per step (log scale) for each optimizer, with its 95%
    band; ``mark_step`` draws a vertical line (e.g. the training horizon). Returns the figure."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6.0, 4.0))
    else:
        fig = ax.figure
    for name in OPTIMIZERS:
        e = result[name]
        curve = np.array([np.nan if v is None else v for v in e["curve"]], dtype=float)
        ci = np.array([np.nan if v is None else v for v in e["ci95"]], dtype=float)
        n = curve.size if max_step is None else min(curve.size, max_step + 1)
        steps, curve, ci = np.arange(n), curve[:n], ci[:n]
        label = DISPLAY_NAMES[name] + (f" (lr {e['lr']:g})" if "lr" in e else "")
        style = {"color": COLORS[name], "lw": 2.2 if name == "lstm" else 1.3}
        ax.plot(steps, np.where(curve > 0, curve, np.nan), label=label, **style)
        lo, hi = curve - ci, curve + ci
        ok = np.isfinite(lo) & np.isfinite(hi) & (curve > 0)
        if ok.any():
            ax.fill_between(steps[ok], np.maximum(lo[ok], 0.5 * curve[ok]), hi[ok], alpha=0.18,
                            color=style["color"], lw=0)
    if mark_step is not None:
        ax.axvline(mark_step, color="gray", ls="--", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("optimizee step")
    ax.set_ylabel(ylabel)
    ax.set_title((title or result["title"]) + f"  ({result['runs']} test runs, 95% CI)",
                 fontsize=9)
    if legend:
        ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.25)
    fig.tight_layout()
    return fig
