"""Paper-style figures: mean loss per step on a log scale, one line per optimizer, with the
95% confidence band shaded (matplotlib's Agg backend, written atomically as PNG)."""

from __future__ import annotations

import numpy as np

from ..files import atomic_writer

__all__ = ["COLORS", "LABELS", "plot_curves"]

LABELS = {"lstm": "LSTM (learned)", "sgd": "SGD", "nag": "NAG", "rmsprop": "RMSprop",
          "adam": "ADAM"}
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
