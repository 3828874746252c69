"""Long horizons and the width/depth sweep."""

from __future__ import annotations

import numpy as np

from minigrad.l2l.baselines import DISPLAY_NAMES
from minigrad.l2l.evaluate import best_baseline, compare_final
from minigrad.l2l.verdicts import fmt_number as _fmt
from minigrad.l2l.verdicts import horizon_analysis

from ._shared import SWEEP, TRAIN_STEPS
from .final_loss_ratio import final_loss_ratio


def horizon_report(result: dict, train_steps: int = TRAIN_STEPS) -> dict:
    """Where the learned optimizer's mean loss goes over a long run, against the best tuned
    baseline (the one with the lowest mean final loss): the library's analysis
    (:func:`minigrad.l2l.verdicts.horizon_analysis`), the same ``reproduce`` reports.
    ``diverged_at`` is the first step at or beyond the training horizon whose mean loss is not
    finite or above twice the initial one."""
    return horizon_analysis(result, best_baseline(result), train_steps)


def describe_horizon(rep: dict) -> str:
    """The long-horizon report in words (whatever it says)."""
    div = (f"no divergence in {rep['steps']:,} steps (beyond the training horizon the mean loss "
           "never rose above twice its initial value)" if rep["diverged_at"] is None else
           f"the mean loss first rises above twice its initial value (or stops being finite) at "
           f"step {rep['diverged_at']}")
    behind = ("it ends below the best tuned baseline" if rep["behind_from"] is None else
              f"it stays behind the best tuned baseline ({DISPLAY_NAMES[rep['best']]}) from step "
              f"{rep['behind_from']} on")
    at_train = "" if rep["at_train"] is None else f"{rep['at_train']:.3g} at step {TRAIN_STEPS}, "
    return (f"Learned optimizer over {rep['steps']:,} steps: {div}; lowest mean loss "
            f"{rep['lowest']:.3g} at step {rep['lowest_step']}; {at_train}"
            f"{_fmt(rep['final'], '.3g')} at step {rep['steps']:,}; {behind}.")


def sweep_grid(results: dict, ratio=final_loss_ratio) -> dict:
    """The width/depth sweep as arrays: ``widths``, ``layers``, ``ratio`` (learned / best tuned
    baseline, mean final loss; NaN where a cell is missing) and ``verdict`` (paired, from
    :func:`~minigrad.course.lesson07.compare_final`)."""
    widths = sorted({w for w, _ in SWEEP})
    layers = sorted({d for _, d in SWEEP})
    r = np.full((len(layers), len(widths)), np.nan)
    verdict = [["" for _ in widths] for _ in layers]
    for (w, d), key in SWEEP.items():
        if key in results:
            i, j = layers.index(d), widths.index(w)
            r[i, j] = ratio(results[key])[1]
            verdict[i][j] = compare_final(results[key])["verdict"]
    return {"widths": widths, "layers": layers, "ratio": r, "verdict": verdict}


def plot_sweep(grid: dict, ax=None):
    """A heat map of the ratio (log color scale centred on 1: blue = learned better)."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    if ax is None:
        fig, ax = plt.subplots(figsize=(5.6, 3.2))
    else:
        fig = ax.figure
    r = grid["ratio"]
    finite = r[np.isfinite(r) & (r > 0)]
    span = max(2.0, float(np.max(np.maximum(finite, 1 / finite)))) if finite.size else 2.0
    im = ax.imshow(np.where(np.isfinite(r) & (r > 0), r, np.nan), cmap="coolwarm",
                   norm=LogNorm(vmin=1 / span, vmax=span))
    for i, d in enumerate(grid["layers"]):
        for j, w in enumerate(grid["widths"]):
            short = {"lower": "lower", "higher": "higher", "indistinguishable": "n.s."}
            text = ("n/a" if not np.isfinite(r[i, j]) else
                    f"{r[i, j]:.2f}\n{short.get(grid['verdict'][i][j], '')}")
            weight = "bold" if (w, d) == (20, 1) else "normal"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, fontweight=weight)
    ax.set_xticks(range(len(grid["widths"])), [str(w) for w in grid["widths"]])
    ax.set_yticks(range(len(grid["layers"])), [str(d) for d in grid["layers"]])
    ax.set_xlabel("hidden units per layer")
    ax.set_ylabel("hidden layers")
    ax.set_title("final loss, learned / best tuned baseline\n(bold: the training architecture; "
                 "n.s.: paired 95% CI contains 0)", fontsize=8)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig
