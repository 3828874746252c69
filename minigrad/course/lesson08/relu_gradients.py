"""Why ReLU is different: the gradients the LSTM reads."""

from __future__ import annotations

import math

import numpy as np

from minigrad.autograd import grad
from minigrad.backend import to_device
from minigrad.l2l import Flattener, LogAndSign, make_problem
from minigrad.l2l.paper import PAPER


def _array_names(n_arrays: int) -> list:
    return [f"{'W' if k % 2 == 0 else 'b'}{k // 2 + 1}" for k in range(n_arrays)]


def gradient_stats(optimizee: str = PAPER.mnist_optimizee, runs: int = 4, p: float = PAPER.p,
                   split: str = "train", seed: int = 0) -> dict:
    """The gradients at theta_0 of ``runs`` fresh MLPs (seeds ``(seed, 9, k)``, minibatch 0),
    per parameter array, and what LogAndSign(p) makes of them.

    Returns ``names`` (W1, b1, W2, ...), ``grads`` (name -> all entries, float64),
    ``zero_frac`` (exact zeros), ``median_log10`` (median of log10|g| over the non-zero
    entries), ``lstm_input`` (the first preprocessed input log|g|/p of every coordinate,
    clamped at -1) and ``clamped_frac`` (the share of coordinates with |g| < e^-p, which the
    LSTM sees only through the clamped branch)."""
    problem = make_problem("mnist", optimizee, split=split)
    parts = []
    for k in range(runs):
        inst = problem.sample((seed, 9, k))
        arrays = inst.init_params()
        flat = Flattener.like(arrays)
        leaves = flat.leaves(flat.flatten(arrays))
        loss = inst.loss(leaves, 0)
        parts.append([np.asarray(to_device(g.data, "cpu"), dtype=np.float64).ravel()
                      for g in grad(loss, leaves)])
    names = _array_names(len(parts[0]))
    grads = {n: np.concatenate([run[i] for run in parts]) for i, n in enumerate(names)}
    every = np.concatenate(list(grads.values()))
    pre = LogAndSign(p)(every.astype(np.float64))
    stats = {"optimizee": optimizee, "p": p, "names": names, "grads": grads,
             "zero_frac": {n: float((g == 0).mean()) for n, g in grads.items()},
             "median_log10": {n: float(np.median(np.log10(np.abs(g[g != 0]))))
                              for n, g in grads.items()},
             "lstm_input": pre[:, 0], "clamped_frac": float((np.abs(every) < math.exp(-p)).mean())}
    return stats


def plot_gradient_histograms(a: dict, b: dict):
    """Histograms of log10|g| per parameter array, and of the LSTM's first input, for two
    :func:`gradient_stats` results (same array names). Returns the figure."""
    import matplotlib.pyplot as plt

    names = a["names"]
    fig, axes = plt.subplots(1, len(names) + 1, figsize=(2.6 * (len(names) + 1), 2.9))
    colors = ("tab:blue", "tab:red")
    for ax, name in zip(axes, names):
        for stats, color in zip((a, b), colors):
            g = np.abs(stats["grads"][name])
            ax.hist(np.log10(g[g > 0]), bins=40, density=True, alpha=0.5, color=color,
                    label=stats["optimizee"])
        ax.axvline(-a["p"] / math.log(10), color="k", ls=":", lw=1)
        ax.set_title(f"{name}: log10 |g|", fontsize=9)
        ax.set_yticks([])
    ax = axes[-1]
    for stats, color in zip((a, b), colors):
        x = stats["lstm_input"]
        ax.hist(x[x > -1.0], bins=40, density=True, alpha=0.5, color=color,
                label=f"{stats['optimizee']}: {stats['clamped_frac']:.0%} clamped")
    ax.set_title(f"LSTM input log|g|/p (p = {a['p']:g}), unclamped", fontsize=9)
    ax.legend(fontsize=6, title="at -1 (|g| < e^-p):", title_fontsize=6)
    ax.set_yticks([])
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig
