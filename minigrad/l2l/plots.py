"""Paper-style figures: mean loss per step on a log scale, one line per optimizer, with the
95% confidence band shaded (matplotlib's Agg backend, written atomically as PNG)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..files import atomic_writer
from .baselines import DISPLAY_NAMES, OPTIMIZERS

__all__ = ["COLORS", "HEADLINE", "LABELS", "draw_experiment", "draw_figures", "draw_headline",
           "draw_mean_curves",
           "draw_training_curve", "figure_name", "plot_curves", "plot_result",
           "training_figure_name"]

#: The optimizers' names in legends (one spelling everywhere).
LABELS = DISPLAY_NAMES
COLORS = {"lstm": "tab:orange", "sgd": "tab:blue", "nag": "tab:purple", "rmsprop": "tab:green",
          "adam": "tab:red"}


def draw_mean_curves(ax, result: dict, optimizers=None, max_step: int | None = None,
                     widths=(2.2, 1.3)) -> None:
    """The heart of every loss figure: per optimizer its mean loss per step (log scale, the
    tuned rate in the label) and the 95% band, drawn on ``ax``. Non-finite and non-positive
    points (diverged runs) are left out; a band is cut at half its mean (a log axis cannot
    show zero)."""
    names = optimizers or result.get("optimizers") or [k for k in OPTIMIZERS if k in result]
    for name in names:
        e = result[name]
        curve = np.array([np.nan if v is None else v for v in e["curve"]], dtype=float)
        ci = np.array([np.nan if v is None else v for v in e["ci95"]], dtype=float)
        n = curve.size if max_step is None else min(curve.size, max_step + 1)
        steps, curve, ci = np.arange(n), curve[:n], ci[:n]
        label = DISPLAY_NAMES.get(name, name) + (f" (lr {e['lr']:g})" if "lr" in e else "")
        color = COLORS.get(name)
        ax.plot(steps, np.where(curve > 0, curve, np.nan), label=label, color=color,
                lw=widths[0] if name == "lstm" else widths[1])
        lo, hi = curve - ci, curve + ci
        ok = np.isfinite(lo) & np.isfinite(hi) & (curve > 0)
        if ok.any():
            ax.fill_between(steps[ok], np.maximum(lo[ok], 0.5 * curve[ok]), hi[ok], alpha=0.18,
                            color=color, lw=0)
    ax.set_yscale("log")


def plot_curves(result: dict, path, title: str | None = None) -> str:
    """Draw ``result`` (as returned by :func:`~minigrad.l2l.evaluate.run_protocol`) to ``path``.

    Returns the path written. Non-finite points (diverged runs) are left out of the lines.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.0), dpi=120)
    draw_mean_curves(ax, result, widths=(2.2, 1.4))
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
    draw_mean_curves(ax, result, OPTIMIZERS, max_step=max_step)
    if mark_step is not None:
        ax.axvline(mark_step, color="gray", ls="--", lw=1)
    ax.set_xlabel("optimizee step")
    ax.set_ylabel(ylabel)
    ax.set_title((title or result["title"]) + f"  ({result['runs']} test runs, 95% CI)",
                 fontsize=9)
    if legend:
        ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.25)
    fig.tight_layout()
    return fig


# ------------------------------------------ the figures of `python -m minigrad.l2l reproduce` ---
def figure_name(key: str) -> str:
    return f"l2l_{key}.png"


HEADLINE = "l2l_results.png"


def _draw_panel(ax, res: dict, train_steps: int | None, small: bool = False) -> None:
    """One experiment: mean loss per step (log scale) per optimizer with its 95% band."""
    draw_mean_curves(ax, res, widths=(2.0, 1.1))
    means = np.concatenate([np.array([np.nan if c is None else c for c in res[n]["curve"]],
                                     dtype=float) for n in res["optimizers"]])
    means = means[np.isfinite(means) & (means > 0)]
    if means.size:
        ax.set_ylim(means.min() / 2, means.max() * 2)
    if train_steps and train_steps < res["steps"]:
        ax.axvline(train_steps, color="0.4", ls="--", lw=0.8, label="training horizon")
    v = res["verdict"]
    mark = {True: "claim held", False: "claim NOT held", None: "report"}[v["held"]]
    if v["kind"] == "fails":
        mark = "failure reproduced" if v["held"] else "failure NOT reproduced"
    from matplotlib.ticker import NullFormatter

    ax.yaxis.set_minor_formatter(NullFormatter())  # decade labels only
    ax.set_title(f"{res['title']}\n({res['runs']} test runs, 95% CI; {mark})",
                 fontsize=8.5 if small else 9.5)
    ax.set_xlabel("step", fontsize=8)
    ax.set_ylabel("loss", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(True, which="major", alpha=0.25)
    ax.legend(fontsize=6 if small else 7.5, loc="upper right")


def draw_experiment(res: dict, path, train_steps: int | None, dpi: int = 110) -> None:
    """The paper-style figure of one experiment (PNG)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.0), dpi=dpi)
    _draw_panel(ax, res, train_steps)
    fig.subplots_adjust(left=0.13, right=0.97, bottom=0.12, top=0.88)  # tight_layout: 2x slower
    _save_fig(fig, path)
    plt.close(fig)


def draw_headline(results: list, path, train_steps: dict, dpi: int = 100) -> None:
    """Every experiment in one figure (the README's headline), one panel each."""
    plt = _pyplot()
    cols = 4
    rows = math.ceil(len(results) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.0 * cols, 3.2 * rows), dpi=dpi,
                             squeeze=False)
    for ax, res in zip(axes.flat, results):
        _draw_panel(ax, res, train_steps.get(res["problem"]), small=True)
    for ax in list(axes.flat)[len(results):]:
        ax.axis("off")
    fig.suptitle("Learned LSTM optimizer vs tuned baselines: mean test loss, 95% CI bands "
                 "(dashed: the training horizon)", fontsize=10)
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.08, top=0.86, wspace=0.3, hspace=0.5)
    _save_fig(fig, path)
    plt.close(fig)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save_fig(fig, path) -> None:
    with atomic_writer(path) as f:
        fig.savefig(f, format="png")




def draw_figures(payload: dict, img: Path) -> None:
    """One figure per experiment and the headline figure (every panel)."""
    results = payload["results"]
    train_steps = {p: c["meta"]["meta"]["steps"] for p, c in payload["checkpoints"].items()}
    dpi = 50 if payload["info"]["quick"] else 110
    for r in results:
        draw_experiment(r, img / figure_name(r["key"]), train_steps[r["problem"]], dpi=dpi)
    draw_headline(results, img / HEADLINE, train_steps, dpi=dpi)


def training_figure_name(problem: str) -> str:
    return f"l2l_training_{problem}.png"


def draw_training_curve(meta: dict, path, title: str | None = None, dpi: int = 100) -> None:
    """The meta-training curve of a checkpoint's metadata: the mean optimizee loss over the
    horizon per meta-iteration (and its running mean over 50), and the validation scores."""
    plt = _pyplot()
    curve = np.asarray(meta.get("curve") or [], float)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    x = np.arange(1, len(curve) + 1)
    ax.plot(x, curve, color="0.75", lw=0.6, label="training (per meta-iteration)")
    if len(curve) >= 50:
        running = np.convolve(curve, np.ones(50) / 50, mode="valid")
        ax.plot(x[49:], running, color="C0", lw=1.5, label="training (running mean of 50)")
    history = (meta.get("validation") or {}).get("history") or []
    if history:
        h = np.asarray(history, float)
        ax.plot(h[:, 0], h[:, 1], "o-", color="C3", ms=3, label="validation")
    ax.set_yscale("log")
    ax.set_xlabel("meta-iteration")
    ax.set_ylabel("mean optimizee loss over the horizon")
    if title:
        ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_writer(path) as f:
        fig.savefig(f, format="png", dpi=dpi)
    plt.close(fig)
