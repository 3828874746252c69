"""Sections 1, 2.1 and 2.2: the shipped optimizer; LogAndSign with p = 10 (paper) or k = 5
(official code); the output scale 0.1 or 0.01.
"""

from __future__ import annotations

import math

import numpy as np

from minigrad.autograd import grad
from minigrad.backend import to_device
from minigrad.l2l import (
    LogAndSign,
    LSTMOptimizer,
    make_problem,
)
from minigrad.l2l.flat import Flattener
from minigrad.l2l.paper import OFFICIAL, PAPER


def describe_pretrained(info: dict) -> str:
    """One line: what the shipped optimizer is and how long it was trained."""
    net, prob = info["net"], info["problem"]
    return (f"{prob['name']} optimizer ({prob.get('variant', '')} family): "
            f"{net['num_layers']} x {net['hidden_size']} LSTM, preprocess={net['preprocess']}, "
            f"output scale {net['output_scale']:g}; {info['iteration']} meta-iterations "
            f"({info['weights']} weights)")


# ============================================================================================
# 2. The switches between the paper and the official code
# --------------------------------------------------------------------------------------------
# 2.1 LogAndSign: p = 10 (paper) or k = 5 (official code)


def official_log_and_sign(g, k: float = 5.0):
    """The official code's LogAndSign, written with two clamps::

        first  = max(log|g| / k, -1)              (log 0 = -inf gives -1)
        second = clip(e^k g, -1, 1)

    returned as an array of shape ``g.shape + (2,)`` with ``g``'s dtype. (The official code
    adds float32's machine epsilon inside the log, which only matters for |g| < 1e-6, where
    the clamp wins anyway.) This is the paper's piecewise map with p = k: for
    |g| >= e^-k the log term is >= -1 and e^k |g| >= 1 is clipped to sign(g); below, the log
    term is clamped to -1 and e^k g stays in (-1, 1).
    """
    g = np.asarray(g)
    with np.errstate(divide="ignore"):
        first = np.maximum(np.log(np.abs(g)) / k, -1.0)
    second = np.clip(g * np.exp(k), -1.0, 1.0)
    return np.stack([first, second], axis=-1).astype(g.dtype, copy=False)


def mnist_gradient(seed: int = 0) -> np.ndarray:
    """The gradient (15,910,) of the paper's MNIST MLP at its initial weights (instance
    ``seed`` of the training family, minibatch 0): what a learned optimizer sees first."""
    inst = make_problem("mnist").sample(seed)
    arrays = inst.init_params()
    flat = Flattener.like(arrays)
    leaves = flat.leaves(flat.flatten(arrays))
    loss = inst.loss(leaves, 0)
    g = flat.flatten([d.data for d in grad(loss, leaves)])
    return np.asarray(to_device(g, "cpu"))


def preprocessing_report(g, ps=(PAPER.p, OFFICIAL["p"])) -> dict:
    """For each exponent p: the fraction of coordinates on the clamped branch
    (|g| < e^-p, including the exact zeros), the fraction that are exactly zero, and the
    preprocessed inputs (N, 2) from minigrad's :class:`~minigrad.l2l.LogAndSign`."""
    g = np.asarray(g)
    out = {}
    for p in ps:
        out[float(p)] = {"clamped": float(np.mean(np.abs(g) < math.exp(-p))),
                         "zero": float(np.mean(g == 0)),
                         "inputs": LogAndSign(p)(g)}
    return out


def plot_preprocessing(g, report: dict):
    """Three panels: the gradient magnitudes with each e^-p threshold, and the histograms of
    the two preprocessed inputs for each p."""
    import matplotlib.pyplot as plt

    g = np.asarray(g)
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    nz = np.abs(g[g != 0]).astype(np.float64)
    axes[0].hist(np.log10(nz), bins=60, color="0.6")
    for (p, r), c in zip(report.items(), colors):
        axes[0].axvline(-p / math.log(10), color=c, lw=2,
                        label=f"e^-{p:g}: {r['clamped']:.0%} below")
    axes[0].set(xlabel="log10 |g|   (exact zeros left out)", ylabel="coordinates",
                title=f"MNIST MLP gradient at init ({(g == 0).mean():.0%} exactly 0)")
    axes[0].legend(fontsize=8)
    for j, (name, rng) in enumerate([("first input: log|g|/p or -1", (-1.05, 0.05)),
                                     ("second input: sign(g) or e^p g", (-1.05, 1.05))]):
        ax = axes[j + 1]
        for (p, r), c in zip(report.items(), colors):
            ax.hist(r["inputs"][:, j], bins=60, range=rng, histtype="step", lw=1.8, color=c,
                    label=f"p = {p:g}")
        ax.set_yscale("log")
        ax.set(xlabel=name, title=name.split(":")[0])
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# 2.2 Output scale: 0.1 (paper) or 0.01 (official code)


def untrained_first_steps(g, ps=(PAPER.p, OFFICIAL["p"]),
                          scales=(PAPER.mnist_output_scale, OFFICIAL["mnist_output_scale"]),
                          seed: int = 0) -> dict:
    """The first update an UNTRAINED MNIST optimizer (LogAndSign(p), output scale s, the
    official initialisation, weights seed ``seed``) proposes for gradient ``g``.

    For each (p, s): ``median`` |step|, ``p10``/``p90`` of |step|, ``downhill`` (the fraction
    of the nonzero-gradient coordinates whose step has the sign of -g: 0.5 for a rule that
    ignores the gradient's sign) and ``mean`` step (a common drift shows as a mean of the
    median's size). The network runs once per p at scale 1; the scale multiplies its output
    (``delta = s (w.h + b)``), which the tests check against a network built with scale s.
    """
    g = np.asarray(g, dtype=np.float32)
    nz = g != 0
    out = {}
    for p in ps:
        net = LSTMOptimizer(preprocess="logsign", p=p, output_scale=1.0, seed=seed)
        raw, _ = net.update_array(g, None)
        raw = np.asarray(to_device(raw, "cpu"), dtype=np.float64)
        for s in scales:
            step = s * raw
            mag = np.abs(step)
            out[(float(p), float(s))] = {
                "median": float(np.median(mag)), "p10": float(np.percentile(mag, 10)),
                "p90": float(np.percentile(mag, 90)), "mean": float(step.mean()),
                "downhill": float(np.mean(np.sign(step[nz]) == -np.sign(g[nz]))),
            }
    return out
