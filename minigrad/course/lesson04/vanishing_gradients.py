"""Sections 1 and 2: a vanilla RNN, and its vanishing and exploding gradients."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.course.widgets import Explorer
from minigrad.nn.fused_lstm import fused_lstm_cell
from minigrad.tensor import Tensor

from ._shared import DTYPE, _t


def rnn_params(input_size: int, hidden_size: int, gain: float = 1.0, seed=0,
               dtype=DTYPE) -> dict:
    """Weights of a tanh RNN: ``W_xh`` (H, I) ~ N(0, 1/I), ``W_hh`` (H, H) ~ N(0, gain^2/H),
    ``b`` (H,) = 0, as Tensors requiring grad.

    With this scaling the eigenvalues of W_hh fill a disc of radius about ``gain``: below 1 the
    state forgets its past, above 1 the dynamics become chaotic.
    """
    rng = np.random.default_rng(seed)
    H, In = int(hidden_size), int(input_size)
    return {
        "W_xh": _t(rng.standard_normal((H, In)) / math.sqrt(In), True, dtype),
        "W_hh": _t(rng.standard_normal((H, H)) * gain / math.sqrt(H), True, dtype),
        "b": _t(np.zeros(H), True, dtype),
    }


def rnn_step(x: Tensor, h: Tensor, W_xh: Tensor, W_hh: Tensor, b: Tensor) -> Tensor:
    """h' = tanh(x W_xh^T + h W_hh^T + b) for x (B, I) and h (B, H)."""
    return mg.tanh(x @ W_xh.T + h @ W_hh.T + b)


def rnn_forward(xs, params: dict, h0: Tensor | None = None) -> list:
    """Run the RNN over the inputs ``xs`` (a list of (B, I) Tensors, or a (T, B, I) Tensor);
    returns the list of states [h_1, ..., h_T]. ``h0`` defaults to zeros."""
    T = len(xs)
    B = xs[0].shape[0]
    H = params["W_hh"].shape[0]
    h = mg.zeros((B, H), dtype=params["W_hh"].dtype) if h0 is None else h0
    hs = []
    for t in range(T):
        h = rnn_step(xs[t], h, params["W_xh"], params["W_hh"], params["b"])
        hs.append(h)
    return hs


# ============================================================================================
# 2. Vanishing and exploding gradients


def gradient_flow(kind: str = "rnn", T: int = 60, hidden: int = 32, gain: float = 1.0,
                  forget_bias: float = 0.0, seed: int = 0, cell: Callable | None = None) -> dict:
    """How much a loss at the LAST step depends on the input of each step.

    A tanh RNN (``kind="rnn"``, recurrent gain ``gain``) or an LSTM (``kind="lstm"``, PyTorch's
    initialisation plus ``forget_bias`` on the forget gate) reads T random inputs x_1..x_T
    (2 features each); the loss is L = u . h_T for a fixed random u. Returns ``{"lag": T-1..0,
    "norm": ||dL/dx_t|| for t = 1..T, "kind", "gain", "forget_bias", "T"}`` where ``lag[t]``
    is the number of steps between input t and the loss. ``cell`` replaces the LSTM step
    (a function like :func:`lstm_cell`, e.g. the learner's). Computed in float64.
    """
    if kind not in ("rnn", "lstm"):
        raise ValueError(f"gradient_flow: kind must be 'rnn' or 'lstm', got {kind!r}")
    rng = np.random.default_rng(seed)
    xs = [_t(rng.standard_normal((1, 2)), True) for _ in range(int(T))]
    u = _t(rng.standard_normal((1, hidden)) / math.sqrt(hidden))
    if kind == "rnn":
        hs = rnn_forward(xs, rnn_params(2, hidden, gain, seed=seed + 1))
        h = hs[-1]
    else:
        lstm = nn.LSTMCell(2, hidden, forget_bias=forget_bias, seed=seed + 1, dtype=DTYPE)
        params = (lstm.weight_ih, lstm.weight_hh, lstm.bias_ih, lstm.bias_hh)
        step = cell or fused_lstm_cell
        h = c = mg.zeros((1, hidden), dtype=DTYPE)
        for x in xs:
            h, c = step(x, h, c, *params)
    loss = (h * u).sum()
    grads = mg.grad(loss, xs)
    norms = np.array([float(np.linalg.norm(g.numpy())) for g in grads])
    return {"lag": np.arange(T - 1, -1, -1), "norm": norms, "kind": kind, "gain": gain,
            "forget_bias": forget_bias, "T": int(T)}


def _flow_label(res: dict) -> str:
    if res["kind"] == "rnn":
        return f"tanh RNN, gain {res['gain']:g}"
    return f"LSTM, forget bias {res['forget_bias']:g}"


def plot_gradient_flow(results, ax=None, title: str | None = None):
    """``||dL/dx_t||`` against the number of steps back from the loss, log scale."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 4))
    else:
        fig = ax.figure
    styles = {"rnn": "-", "lstm": "--"}
    for res in results:
        ax.semilogy(res["lag"], np.maximum(res["norm"], 1e-300), styles[res["kind"]], lw=2,
                    label=_flow_label(res))
    ax.set_xlabel("steps between the input x_t and the loss (T − t)")
    ax.set_ylabel("‖∂L/∂x_t‖ (log scale)")
    ax.set_title(title or "How far back does the gradient reach?")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.13, top=0.91)
    return fig


def make_gradient_flow_explorer(gain: float = 1.0, forget_bias: float = 0.0,
                                T: int = 60) -> Explorer:
    """Sliders for the RNN's recurrent gain, the LSTM's forget bias and the length T.

    Controls: ``"gain"``, ``"forget_bias"``, ``"T"``. ``result`` is ``{"rnn": gradient_flow
    (RNN), "lstm": gradient_flow(LSTM)}``.
    """
    import ipywidgets as widgets

    style = {"description_width": "120px"}
    wide = widgets.Layout(width="420px")
    controls = {
        "gain": widgets.FloatSlider(value=gain, min=0.25, max=4.0, step=0.25,
                                    description="RNN gain", continuous_update=False,
                                    style=style, layout=wide),
        "forget_bias": widgets.FloatSlider(value=forget_bias, min=-2.0, max=6.0, step=0.5,
                                           description="LSTM forget bias",
                                           continuous_update=False, style=style, layout=wide),
        "T": widgets.IntSlider(value=T, min=10, max=120, step=10, description="length T",
                               continuous_update=False, style=style, layout=wide),
    }

    def compute(gain, forget_bias, T):
        return {"rnn": gradient_flow("rnn", T, gain=gain),
                "lstm": gradient_flow("lstm", T, forget_bias=forget_bias)}

    def render(result):
        return plot_gradient_flow([result["rnn"], result["lstm"]])

    return Explorer(controls, compute, render, title="Vanishing and exploding gradients")
