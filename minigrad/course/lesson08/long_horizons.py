"""Long horizons and the width/depth sweep."""

from __future__ import annotations

import numpy as np

from minigrad.l2l.baselines import DISPLAY_NAMES
from minigrad.l2l.evaluate import best_baseline, compare_final
from minigrad.l2l.verdicts import fmt_number as _fmt
from minigrad.l2l.verdicts import horizon_analysis

from ._shared import SWEEP, TRAIN_STEPS
from .final_loss_ratio import final_loss_ratio


def _typical(values: np.ndarray) -> float:
    """The geometric mean (the typical level of a curve that swings by factors), or inf when a
    value is not finite or not positive."""
    if not np.all(np.isfinite(values) & (values > 0)):
        return float("inf")
    return float(np.exp(np.mean(np.log(values))))


def horizon_report(result: dict, train_steps: int = TRAIN_STEPS) -> dict:
    """Where the learned optimizer's mean loss goes over a long run, against the best tuned
    baseline (the one with the lowest mean final loss): the library's analysis
    (:func:`minigrad.l2l.verdicts.horizon_analysis`), the same ``reproduce`` reports.
    ``diverged_at`` is the first step at or beyond the training horizon whose mean loss is not
    finite or above twice the initial one.

    Added here: ``rise``, the final mean loss over the lowest; and ``windows``, one dict per
    stretch of ``train_steps`` steps after the training horizon (the last one may be shorter):
    ``first`` and ``last`` step, the learned optimizer's ``typical`` (geometric mean), ``low``
    and ``high`` mean loss there, and the best baseline's ``best_typical``;
    ``best_window`` (the index of the learned optimizer's lowest typical level) and
    ``behind_from_window`` (the first window from which its typical level stays above the best
    baseline's; None if it ends at or below it)."""
    rep = horizon_analysis(result, best_baseline(result), train_steps)
    curve = np.array([np.inf if v is None else float(v) for v in result["lstm"]["curve"]])
    bcurve = np.array([np.inf if v is None else float(v)
                       for v in result[rep["best"]]["curve"]])
    windows = []
    for first in range(train_steps + 1, rep["steps"] + 1, train_steps):
        last = min(first + train_steps - 1, rep["steps"])
        part = curve[first:last + 1]
        finite = part[np.isfinite(part)]
        windows.append({"first": first, "last": last, "typical": _typical(part),
                        "low": float(finite.min()) if finite.size else float("inf"),
                        "high": float(part.max()),
                        "best_typical": _typical(bcurve[first:last + 1])})
    behind = None
    if windows and windows[-1]["typical"] > windows[-1]["best_typical"]:
        behind = len(windows) - 1
        while behind > 0 and windows[behind - 1]["typical"] > windows[behind - 1]["best_typical"]:
            behind -= 1
    rise = rep["final"] / rep["lowest"] if rep["lowest"] > 0 else float("inf")
    return {**rep, "rise": float(rise), "windows": windows,
            "best_window": (int(np.argmin([w["typical"] for w in windows]))
                            if windows else None),
            "behind_from_window": behind}


def describe_horizon(rep: dict) -> str:
    """The long-horizon report in words (whatever it says)."""
    div = (f"no divergence in {rep['steps']:,} steps (beyond the training horizon the mean loss "
           f"never rose above twice its initial {rep['initial']:.3g})"
           if rep["diverged_at"] is None else
           f"the mean loss first rises above twice its initial value (or stops being finite) at "
           f"step {rep['diverged_at']}")
    at_train = "" if rep["at_train"] is None else f"{rep['at_train']:.3g} at step {TRAIN_STEPS}, "
    lines = [f"Learned optimizer over {rep['steps']:,} steps: {div}.",
             f"Mean loss: {at_train}lowest {rep['lowest']:.3g} at step {rep['lowest_step']}, "
             f"{_fmt(rep['final'], '.3g')} at step {rep['steps']:,}"
             + (f": {rep['rise']:.1f} times its lowest." if rep["rise"] > 1.5 else ".")]
    windows = rep.get("windows") or []
    if windows:
        best = DISPLAY_NAMES[rep["best"]]
        w0, wb, wl = windows[0], windows[rep["best_window"]], windows[-1]
        swing = [w["high"] / w["low"] for w in windows
                 if w["low"] > 0 and np.isfinite(w["high"])]

        def span(w):
            return f"steps {w['first']:,}-{w['last']:,}"

        if swing:
            swings = (f"{min(swing):.0f}" if round(min(swing)) == round(max(swing)) else
                      f"{min(swing):.0f} to {max(swing):.0f}")
            lines.append(
                f"Within each stretch of {w0['last'] - w0['first'] + 1} steps after step "
                f"{w0['first'] - 1} its mean loss swings by a factor of {swings} between its "
                f"lowest and highest step, so compare stretches, not steps.")
        if len(windows) == 1:
            lines.append(f"Typical level (geometric mean) over {span(w0)}: {w0['typical']:.3g}; "
                         f"{best}'s {w0['best_typical']:.3g}.")
        else:
            lines.append(
                f"Typical level (geometric mean of a stretch): {w0['typical']:.3g} "
                f"({span(w0)}), lowest {wb['typical']:.3g} ({span(wb)}), {wl['typical']:.3g} "
                f"at the end ({span(wl)}): {wl['typical'] / wb['typical']:.1f} times its best "
                f"stretch. {best}, the best tuned baseline at the end, went from "
                f"{w0['best_typical']:.3g} to {wl['best_typical']:.3g} over the same stretches.")
        k = rep["behind_from_window"]
        lines.append("The learned optimizer's typical level ends below the best baseline's."
                     if k is None else
                     f"The learned optimizer's typical level is above {best}'s from "
                     f"{span(windows[k])} on.")
    else:
        behind = ("it ends below the best tuned baseline" if rep["behind_from"] is None else
                  f"it stays behind the best tuned baseline ({DISPLAY_NAMES[rep['best']]}) "
                  f"from step {rep['behind_from']} on")
        lines.append(behind[0].upper() + behind[1:] + ".")
    return "\n".join(lines)


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
