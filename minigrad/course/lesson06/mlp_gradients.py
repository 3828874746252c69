"""Section 1: the gradients of the MNIST MLP, across orders of magnitude."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

import minigrad as mg
from minigrad.l2l import (
    BaselineRule,
    Flattener,
    MnistProblem,
)
from minigrad.l2l.paper import PAPER
from minigrad.threads import blas_threads

from ._shared import ARRAY_NAMES


@dataclass
class GradientSnapshot:
    """The gradient of the MLP's minibatch loss at optimizee step ``step``: one array per
    parameter array (``arrays``, named :data:`ARRAY_NAMES`), and the loss there."""

    step: int
    arrays: list
    loss: float
    names: tuple = ARRAY_NAMES

    @property
    def flat(self) -> np.ndarray:
        """All coordinates in one vector (the order the learned optimizer sees them)."""
        return np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in self.arrays])

    def log10_magnitudes(self) -> np.ndarray:
        """log10|g| of the non-zero coordinates."""
        g = self.flat
        return np.log10(np.abs(g[g != 0]))


def mnist_gradient_snapshots(steps=(0, 100), lr: float = 0.03, seed: int = 0,
                             optimizee: str = "sigmoid-20") -> dict:
    """Train the paper's MNIST MLP (784-20-10, sigmoid, minibatches of 128) with Adam at
    learning rate ``lr`` from the initialisation drawn from ``seed``, and keep the gradient at
    each optimizee step in ``steps``. Returns ``{step: GradientSnapshot}``.

    Adam at 0.03 is the tuned rate of the paper's baselines on this problem (lesson 03).
    """
    steps = sorted({int(s) for s in steps})
    instance = MnistProblem(optimizee).sample(seed)
    arrays = instance.init_params()
    flat = Flattener.like(arrays)
    rule = BaselineRule("adam", lr)
    theta = rule.start(flat.flatten(arrays))
    out = {}
    with blas_threads(1):
        for t in range(steps[-1] + 1):
            leaves = flat.leaves(theta)
            loss = instance.loss(leaves, t)
            grads = [g.data for g in mg.grad(loss, leaves)]
            if t in steps:
                out[t] = GradientSnapshot(t, [np.array(g, copy=True) for g in grads], loss.item())
            if t < steps[-1]:
                theta = rule.step(theta, flat.flatten(grads))
    return out


def magnitude_table(snapshot: GradientSnapshot) -> str:
    """Per array: entries, exact zeros, and percentiles 1/50/99 of log10|g| (non-zero ones)."""
    lines = [f"{'array':<13}{'entries':>8}{'zeros':>7}   log10|g|:{'1%':>7}{'median':>8}"
             f"{'99%':>7}"]
    for name, a in zip(snapshot.names, snapshot.arrays):
        a = np.asarray(a, dtype=np.float64).ravel()
        lg = np.log10(np.abs(a[a != 0]))
        p1, p50, p99 = np.percentile(lg, [1, 50, 99])
        lines.append(f"{name:<13}{a.size:>8,}{int((a == 0).sum()):>7,}   {'':9}{p1:>7.1f}"
                     f"{p50:>8.1f}{p99:>7.1f}")
    lg = snapshot.log10_magnitudes()
    p1, p50, p99 = np.percentile(lg, [1, 50, 99])
    g = snapshot.flat
    lines.append(f"{'all':<13}{g.size:>8,}{int((g == 0).sum()):>7,}   {'':9}{p1:>7.1f}"
                 f"{p50:>8.1f}{p99:>7.1f}")
    return "\n".join(lines)


def plot_gradient_histograms(snapshots: dict, bins=None, p: float | None = PAPER.p):
    """One panel per snapshot: histogram of log10|g|, stacked by array. A dashed line marks
    |g| = e^-p (LogAndSign's switch between its two branches) when ``p`` is given."""
    import matplotlib.pyplot as plt

    snaps = list(snapshots.values())
    lo = min(np.floor(s.log10_magnitudes().min()) for s in snaps)
    bins = np.arange(max(lo, -20), 1.01, 0.25) if bins is None else bins
    fig, axes = plt.subplots(1, len(snaps), figsize=(5.2 * len(snaps), 3.6), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, snap in zip(axes, snaps):
        data = []
        for a in snap.arrays:
            a = np.asarray(a, dtype=np.float64).ravel()
            data.append(np.log10(np.abs(a[a != 0])))
        ax.hist(data, bins=bins, stacked=True, histtype="stepfilled", label=list(snap.names),
                color=["tab:blue", "tab:cyan", "tab:orange", "tab:red"][: len(data)])
        if p is not None:
            ax.axvline(-p / math.log(10), color="k", ls="--", lw=1,
                       label=rf"$|g| = e^{{-{p:g}}}$")
        ax.set_yscale("log")
        ax.set_xlabel(r"$\log_{10} |g|$ (non-zero coordinates)")
        what = "at initialisation" if snap.step == 0 else f"after {snap.step} Adam steps"
        ax.set_title(f"MNIST MLP gradients {what}\n(minibatch loss {snap.loss:.3g})",
                     fontsize=10)
        ax.grid(True, alpha=0.25)
    axes[0].set_ylabel("coordinates")
    axes[-1].legend(fontsize=8, loc="upper left")
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.15, top=0.85, wspace=0.06)
    return fig
