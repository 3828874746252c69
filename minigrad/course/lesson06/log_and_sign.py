"""Sections 2 and 3: exercise 06.1, LogAndSign, then the map for any p and what it does to the
MNIST gradients.
"""

from __future__ import annotations

import math

import numpy as np

from minigrad.course.checks import Case, Exercise, compare_values, register
from minigrad.course.widgets import Explorer
from minigrad.l2l import (
    LogAndSign,
)
from minigrad.l2l.paper import PAPER

from .mlp_gradients import GradientSnapshot


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
    hint="Compute both branches for every coordinate and pick one by comparing |g| with "
         "e^-p: above it, the magnitude's natural log over p and the sign; below it, -1 and "
         "g scaled by e^p. Both branches are evaluated everywhere, so the log must only ever "
         "see safe values (0 has no log). One row per coordinate, two columns. Still stuck: "
         "the collapsed 'Hint 2' below the exercise.",
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
