"""Section 4: with against without preprocessing, what the untrained LSTM optimizer sees."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from minigrad.l2l import (
    LSTMOptimizer,
    net_defaults,
)
from minigrad.l2l.paper import PAPER
from minigrad.threads import blas_threads

from .mlp_gradients import GradientSnapshot


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
