"""Lesson 06 (gradient preprocessing): why the learned optimizer reads log|g| and sign(g).

Everything the notebook ``06_gradient_preprocessing`` computes lives here, so it can be tested
headless (``tests/test_lesson06.py``):

* the gradients of the paper's MNIST MLP at initialisation and after some Adam steps
  (:func:`mnist_gradient_snapshots`), their magnitudes (:func:`magnitude_table`) and
  histograms of log10|g| (:func:`plot_gradient_histograms`);
* exercise 06.1, the paper's LogAndSign preprocessing (appendix A): the reference
  :func:`log_and_sign` and its check against :class:`minigrad.l2l.LogAndSign`;
* the map and its effect for any p: :func:`preprocessing_view`, :func:`plot_preprocessing`
  and the explorer :func:`make_preprocessing_explorer`;
* with vs without preprocessing on MNIST, measured on the untrained LSTM optimizer's inputs:
  :func:`lstm_input_statistics`, :func:`statistics_table`, :func:`plot_lstm_inputs`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

import minigrad as mg
from minigrad.course.checks import Case, Exercise, compare_values, register
from minigrad.course.widgets import Explorer
from minigrad.l2l import (
    BaselineRule,
    Flattener,
    LogAndSign,
    LSTMOptimizer,
    MnistProblem,
    net_defaults,
)
from minigrad.l2l.paper import PAPER
from minigrad.threads import blas_threads

__all__ = [
    "ARRAY_NAMES",
    "GradientSnapshot",
    "library_log_and_sign",
    "lstm_input_statistics",
    "log_and_sign",
    "magnitude_table",
    "make_preprocessing_explorer",
    "mnist_gradient_snapshots",
    "plot_gradient_histograms",
    "plot_lstm_inputs",
    "plot_preprocessing",
    "preprocessing_view",
    "statistics_table",
]

#: The MLP 784-20-10's arrays, in the order the optimizee lists them.
ARRAY_NAMES = ("W1 (784x20)", "b1 (20)", "W2 (20x10)", "b2 (10)")

# ============================================================================================
# 1. The gradients of the MNIST MLP


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


# ============================================================================================
# 2. Exercise 06.1: LogAndSign


def log_and_sign(g, p: float = PAPER.p):
    """The paper's preprocessing (appendix A) of a gradient array ``g`` of shape (N,).

    Returns an array of shape (N, 2), one row per coordinate::

        (log|g| / p, sign(g))    if |g| >= e^-p
        (-1,         e^p * g)    otherwise

    (Reference of exercise 06.1; equals :class:`minigrad.l2l.LogAndSign` on float64 arrays.)
    """
    g = np.asarray(g, dtype=np.float64)
    mag = np.abs(g)
    big = mag >= math.exp(-p)
    first = np.where(big, np.log(np.where(big, mag, 1.0)) / p, -1.0)
    second = np.where(big, np.sign(g), math.exp(p) * g)
    return np.stack([first, second], axis=-1)


def library_log_and_sign(g, p: float = PAPER.p):
    """:class:`minigrad.l2l.LogAndSign` (what the learned optimizer uses) on ``g`` as float64:
    what exercise 06.1 is checked against, and the notebook's fallback."""
    return LogAndSign(p)(np.asarray(g, dtype=np.float64))


def _cases():
    rng = np.random.default_rng(6)
    boundary = [math.exp(-10.0), -math.exp(-10.0)]
    mixed = np.array([1e-30, -1e-8, 4.5e-5, -1e-3, 0.5, -3.0, 1e10, -1e30])
    spread = rng.choice([-1.0, 1.0], 200) * 10.0 ** rng.uniform(-12, 3, 200)
    return [
        ((mixed,), {"p": 10.0}),
        ((np.array(boundary + [math.exp(-10.0) * (1 + 1e-12), math.exp(-10.0) * (1 - 1e-12)]),),
         {"p": 10.0}),
        ((np.array([0.0, -0.0, 1e-300, -1e-300]),), {"p": 10.0}),
        ((spread,), {"p": 10.0}),
        ((spread,), {"p": 5.0}),
        ((np.array([math.exp(-1.0), -math.exp(-1.0), 0.1, -2.0, 1e-5]),), {"p": 1.0}),
    ]


_CASE_LABELS = (
    "values from 1e-30 to 1e30, p = 10",
    "the boundary |g| = e^-10 (and just above/below), p = 10",
    "zeros and 1e-300, p = 10",
    "200 values with |g| between 1e-12 and 1e3, p = 10",
    "the same 200 values, p = 5",
    "the boundary |g| = e^-1, p = 1",
)


def _compare(got, expected):
    """compare_values plus hints for the usual slips (log10, no 1/p, a transposed result)."""
    problem = compare_values(got, expected, rtol=1e-6, atol=1e-12)
    if problem is None:
        return None
    got_a = np.asarray(got, dtype=np.float64) if not isinstance(got, (list, tuple)) else None
    exp_a = np.asarray(expected)
    if got_a is not None and got_a.shape == exp_a.shape[::-1] and got_a.shape != exp_a.shape:
        return problem + " (stack the two outputs along the LAST axis: shape (N, 2))"
    if got_a is not None and got_a.shape == exp_a.shape:
        big = exp_a[:, 0] > -1.0
        first, want = got_a[big, 0], exp_a[big, 0]
        if big.any() and np.allclose(first, want / math.log(10), rtol=1e-6, atol=1e-12):
            return problem + " (the first output uses log10; the paper's is the natural log)"
        if big.any() and not np.allclose(first, want, rtol=1e-6, atol=1e-12):
            return problem + " (first output on the |g| >= e^-p branch: log|g| / p)"
        small = ~big
        if small.any() and not np.allclose(got_a[small, 0], -1.0, rtol=0, atol=1e-12):
            return problem + " (first output on the small branch |g| < e^-p: the constant -1)"
        if small.any() and not np.allclose(got_a[small, 1], exp_a[small, 1], rtol=1e-6,
                                           atol=1e-12):
            return problem + " (second output on the small branch: e^p * g, not sign(g))"
    return problem


register(Exercise(
    id="06.1",
    title="LogAndSign preprocessing",
    reference=library_log_and_sign,
    cases=lambda: [Case(args, kwargs, label) for (args, kwargs), label in zip(_cases(),
                                                                            _CASE_LABELS)],
    compare=_compare,
    hint="Compute both branches for every coordinate and choose with np.where(|g| >= e^-p, ...). "
         "Use the natural log, and take the log of a safe value (np.where(big, |g|, 1)) so "
         "that g = 0 never reaches log. Return shape (N, 2).",
))

# ============================================================================================
# 3. The map for any p, and what it does to the MNIST gradients

#: |g| values where the map is drawn.
G_GRID = np.logspace(-14, 3, 400)


def preprocessing_view(p: float, snapshot: GradientSnapshot, fn=log_and_sign) -> dict:
    """Everything the explorer shows for exponent ``p``: the map on :data:`G_GRID` (positive
    g: both outputs; the second output is odd in g), the preprocessed MNIST gradients of
    ``snapshot`` (``inputs``, shape (N, 2)), the fraction of coordinates on the log branch
    (|g| >= e^-p), among all coordinates and among the non-zero ones, and the inputs' ranges.
    ``fn`` computes the preprocessing (the learner's checked function)."""
    p = float(p)
    curve = np.asarray(fn(G_GRID, p=p), dtype=np.float64)
    g = snapshot.flat
    inputs = np.asarray(fn(g, p=p), dtype=np.float64)
    on_log = np.abs(g) >= math.exp(-p)
    nonzero = g != 0
    return {
        "p": p,
        "threshold": math.exp(-p),
        "grid": G_GRID,
        "magnitude": curve[:, 0],
        "sign": curve[:, 1],
        "inputs": inputs,
        "step": snapshot.step,
        "log_branch": float(on_log.mean()),
        "log_branch_nonzero": float(on_log[nonzero].mean()),
        "ranges": [(float(inputs[:, k].min()), float(inputs[:, k].max())) for k in range(2)],
    }


def plot_preprocessing(view: dict):
    """Left: both outputs of the map against |g| (log axis), the switch at e^-p. Middle and
    right: histograms of the two inputs over the MNIST gradients."""
    import matplotlib.pyplot as plt

    fig, (ax, h1, h2) = plt.subplots(1, 3, figsize=(13, 3.6),
                                     gridspec_kw={"width_ratios": [1.3, 1, 1]})
    p, thr = view["p"], view["threshold"]
    ax.semilogx(view["grid"], view["magnitude"], color="tab:blue", lw=2,
                label=r"first: $\log|g|/p$, or $-1$")
    ax.semilogx(view["grid"], view["sign"], color="tab:orange", lw=2,
                label=r"second: $\mathrm{sign}\, g$, or $e^p g$")
    ax.axvline(thr, color="k", ls="--", lw=1)
    ax.text(thr, 1.55, rf" $e^{{-{p:g}}}$", fontsize=9, va="top")
    ax.set_ylim(-1.6, 1.7)
    ax.set_xlabel(r"$g > 0$  (for $g < 0$ the second output flips sign)")
    ax.set_title(f"LogAndSign with p = {p:g}", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    x = view["inputs"]
    for axis, k, color in ((h1, 0, "tab:blue"), (h2, 1, "tab:orange")):
        axis.hist(x[:, k], bins=np.linspace(-1.05, 1.05 if k else 0.35, 43), color=color,
                  histtype="stepfilled")
        axis.set_yscale("log")
        axis.grid(True, alpha=0.25)
        axis.set_xlabel("first input" if k == 0 else "second input")
    when = "at initialisation" if view["step"] == 0 else f"after {view['step']} Adam steps"
    h1.set_title(f"MNIST gradients {when}", fontsize=10)
    h2.set_title(f"{100 * view['log_branch_nonzero']:.0f}% of the non-zero ones on the log "
                 "branch", fontsize=10)
    h1.set_ylabel("coordinates")
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.16, top=0.88, wspace=0.25)
    return fig


def make_preprocessing_explorer(snapshots: dict, p: float = PAPER.p,
                                fn=log_and_sign) -> Explorer:
    """A slider for p and a choice of gradient snapshot; shows the map and the histograms of
    the preprocessed MNIST gradients. Controls ``"p"`` (FloatSlider) and ``"snapshot"``
    (Dropdown over the snapshots' steps); ``result`` is :func:`preprocessing_view`'s dict."""
    import ipywidgets as widgets

    options = [("at initialisation" if s == 0 else f"after {s} Adam steps", s)
               for s in snapshots]
    controls = {
        "p": widgets.FloatSlider(value=p, min=1.0, max=20.0, step=0.5, description="p",
                                 continuous_update=False, readout_format=".1f"),
        "snapshot": widgets.Dropdown(options=options, value=options[0][1],
                                     description="gradients"),
    }

    def compute(p, snapshot):
        return preprocessing_view(p, snapshots[snapshot], fn)

    def render(view):
        (lo0, hi0), (lo1, hi1) = view["ranges"]
        print(f"p = {view['p']:g}: switch at |g| = e^-p = {view['threshold']:.3g}; "
              f"{100 * view['log_branch']:.1f}% of all coordinates "
              f"({100 * view['log_branch_nonzero']:.1f}% of the non-zero ones) on the log "
              f"branch; inputs in [{lo0:.2f}, {hi0:.2f}] and [{lo1:.2f}, {hi1:.2f}]")
        return plot_preprocessing(view)

    return Explorer(controls, compute, render, title="LogAndSign: the map and its inputs")


# ============================================================================================
# 4. With vs without preprocessing: what the untrained LSTM optimizer sees


@dataclass
class InputStatistics:
    """What :func:`lstm_input_statistics` measures for one preprocessing and one snapshot."""

    preprocess: str
    step: int
    inputs: np.ndarray          # the LSTM's inputs, (N, 1) or (N, 2)
    gate_input_spread: float    # mean over gate units of std over coordinates of W_ih x
    gate_bias_scale: float      # std of the gate biases b_ih + b_hh (what W_ih x is added to)
    update: np.ndarray          # the first update of every coordinate, (N,)
    extra: dict = field(default_factory=dict)

    @property
    def median_input(self) -> float:
        """Median |x| over the non-zero inputs (both inputs with LogAndSign)."""
        x = np.abs(self.inputs)
        return float(np.median(x[x > 0]))

    @property
    def update_spread(self) -> float:
        """std over coordinates of the first update, relative to its mean size."""
        return float(self.update.std() / np.abs(self.update).mean())


def lstm_input_statistics(snapshot: GradientSnapshot, p: float = PAPER.p,
                          seed: int = 0) -> dict:
    """Feed the gradient of ``snapshot`` to the paper's MNIST optimizer (2 layers of 20,
    output scale 0.1, the official initialisation drawn from ``seed``, UNTRAINED, zero state)
    with and without LogAndSign. Returns ``{"identity": InputStatistics, "logsign": ...}``.

    Measured for each: the inputs x; how much the first layer's gate pre-activations vary with
    the gradient (std over coordinates of W_ih x, averaged over the 80 gate units) next to the
    size of the gate biases they are added to (the hidden-state term is zero at the first
    step); and the first update of every coordinate.
    """
    g = snapshot.flat.astype(np.float32)
    out = {}
    with blas_threads(1):
        for pre in ("identity", "logsign"):
            net = LSTMOptimizer(**{**net_defaults("mnist"), "preprocess": pre, "p": p},
                                seed=seed)
            x = np.asarray(net.pre(g), dtype=np.float64)
            w = net.lstm.weight_ih_l0.data.astype(np.float64)
            bias = (net.lstm.bias_ih_l0.data + net.lstm.bias_hh_l0.data).astype(np.float64)
            u = x @ w.T
            delta, _ = net.update_array(g)
            out[pre] = InputStatistics(pre, snapshot.step, x, float(u.std(axis=0).mean()),
                                       float(bias.std()), np.asarray(delta, dtype=np.float64))
    return out


def statistics_table(stats_by_step: dict) -> str:
    """One line per (snapshot, preprocessing): the median input size, the gate spread
    (:attr:`InputStatistics.gate_input_spread`) next to the bias size, and the update spread
    (:attr:`InputStatistics.update_spread`).

    ``stats_by_step``: ``{step: lstm_input_statistics(...)}``."""
    lines = [f"{'gradients':<16}{'inputs':<10}{'median |x|':>11}{'gate spread':>13}"
             f"{'bias size':>11}{'update spread':>15}"]
    for step, stats in stats_by_step.items():
        when = "initialisation" if step == 0 else f"{step} Adam steps"
        for pre, s in stats.items():
            lines.append(f"{when:<16}{pre:<10}{s.median_input:>11.1e}"
                         f"{s.gate_input_spread:>13.1e}{s.gate_bias_scale:>11.2f}"
                         f"{s.update_spread:>15.1e}")
    return "\n".join(lines)


def plot_lstm_inputs(stats: dict):
    """Left: the LSTM's inputs without (raw g) and with preprocessing; right: how far each
    coordinate's first update is from the mean update (log scale), for both."""
    import matplotlib.pyplot as plt

    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(13, 3.5))
    ident, logs = stats["identity"], stats["logsign"]
    a1.hist(ident.inputs[:, 0], bins=80, color="tab:gray", histtype="stepfilled")
    a1.set_title("without preprocessing: the input is g", fontsize=10)
    a1.set_xlabel("LSTM input")
    a2.hist(logs.inputs[:, 0], bins=np.linspace(-1.02, 0.2, 62), alpha=0.7, color="tab:blue",
            histtype="stepfilled", label=r"$\log|g|/p$ or $-1$")
    a2.hist(logs.inputs[:, 1], bins=np.linspace(-1.02, 1.02, 103), alpha=0.6,
            color="tab:orange", histtype="stepfilled", label=r"sign $g$ or $e^p g$")
    a2.set_title("with LogAndSign: two inputs", fontsize=10)
    a2.set_xlabel("LSTM inputs")
    a2.legend(fontsize=8)
    bins = np.linspace(-12, -1, 67)
    for s, color, name in ((ident, "tab:gray", "without"), (logs, "tab:blue", "with")):
        d = np.abs(s.update - s.update.mean())
        a3.hist(np.log10(np.maximum(d, 1e-12)), bins=bins, alpha=0.6, color=color,
                histtype="stepfilled", label=f"{name} (std {s.update.std():.1e})")
    a3.set_title("first update: distance from the mean update", fontsize=10)
    a3.set_xlabel(r"$\log_{10}$ |update - mean update|")
    a3.legend(fontsize=8)
    for ax in (a1, a2, a3):
        ax.set_yscale("log")
        ax.grid(True, alpha=0.25)
    a1.set_ylabel("coordinates")
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.15, top=0.9, wspace=0.22)
    return fig
