"""Lesson 04 (RNNs, LSTMs, backpropagation through time): experiments, explorers, exercise.

Everything the notebook ``04_rnn_lstm_bptt`` computes lives here, so it can be tested headless
(``tests/test_lesson04.py``):

* a vanilla tanh RNN (:func:`rnn_params`, :func:`rnn_step`, :func:`rnn_forward`);
* :func:`gradient_flow`: how strongly a loss at the last step depends on the input of each
  earlier step, ``||dL/dx_t||``, for a tanh RNN of a given recurrent gain or an LSTM of a given
  forget-gate bias; :func:`plot_gradient_flow` and :func:`make_gradient_flow_explorer`;
* the reference of exercise 04.1 (:func:`lstm_cell`, the LSTM step from primitive ops) and its
  check against :func:`minigrad.nn.functional.lstm_cell` (values and gradients);
* :func:`count_graph_nodes`, :func:`compare_cells` and :func:`time_cells`: the fused cell
  against the composed one;
* truncated backpropagation through time: :func:`truncated_bptt` (which inputs each loss can
  reach, and the resulting weight gradient), :func:`truncation_curve`,
  :func:`plot_truncation` and :func:`make_truncation_explorer`;
* the adding problem (:func:`adding_problem`, :func:`train_adding`, :func:`plot_adding`).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable

import numpy as np

import minigrad as mg
from minigrad import nn, optim
from minigrad.course.checks import Exercise, compare_values, register
from minigrad.course.graphs import count_graph_nodes
from minigrad.course.widgets import Explorer
from minigrad.tensor import Tensor
from minigrad.threads import blas_threads

__all__ = [
    "adding_problem",
    "compare_cells",
    "count_graph_nodes",
    "gradient_flow",
    "lstm_cell",
    "make_gradient_flow_explorer",
    "make_truncation_explorer",
    "plot_adding",
    "plot_gradient_flow",
    "plot_truncation",
    "rnn_forward",
    "rnn_params",
    "rnn_step",
    "time_cells",
    "train_adding",
    "truncated_bptt",
    "truncation_curve",
]

DTYPE = "float64"  # the gradient experiments run in float64: their numbers span 30 decades


def _t(array, requires_grad=False, dtype=DTYPE) -> Tensor:
    return mg.tensor(np.asarray(array), requires_grad=requires_grad, dtype=dtype)


# ============================================================================================
# 1. A vanilla RNN


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
        step = cell or nn.functional.fused_lstm_cell
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


# ============================================================================================
# 3. The LSTM cell (reference of exercise 04.1) and the fused cell


def lstm_cell(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    """One LSTM step from primitive ops; returns ``(h', c')`` (reference of exercise 04.1).

    Gates in PyTorch's order i, f, g, o, each H wide::

        a = x W_ih^T + b_ih + h W_hh^T + b_hh
        i = sigmoid(a[:, :H])      f = sigmoid(a[:, H:2H])
        g = tanh(a[:, 2H:3H])      o = sigmoid(a[:, 3H:])
        c' = f * c + i * g         h' = o * tanh(c')
    """
    H = h.shape[1]
    a = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    i = mg.sigmoid(a[:, :H])
    f = mg.sigmoid(a[:, H:2 * H])
    g = mg.tanh(a[:, 2 * H:3 * H])
    o = mg.sigmoid(a[:, 3 * H:])
    c_new = f * c + i * g
    h_new = o * mg.tanh(c_new)
    return h_new, c_new


def random_cell_inputs(batch: int, input_size: int, hidden: int, seed: int = 0,
                       dtype=DTYPE) -> list:
    """``[x, h, c, W_ih, W_hh, b_ih, b_hh]`` as random Tensors requiring grad."""
    rng = np.random.default_rng(seed)
    B, In, H = int(batch), int(input_size), int(hidden)
    shapes = [(B, In), (B, H), (B, H), (4 * H, In), (4 * H, H), (4 * H,), (4 * H,)]
    scales = [1.0, 0.5, 1.0, 1 / math.sqrt(In), 1 / math.sqrt(H), 0.3, 0.3]
    return [_t(rng.standard_normal(s) * k, True, dtype) for s, k in zip(shapes, scales)]


CELL_INPUT_NAMES = ("x", "h", "c", "weight_ih", "weight_hh", "bias_ih", "bias_hh")


def cell_gradients(cell: Callable, inputs: list, seed: int = 0) -> tuple[list, list]:
    """``(outputs (h', c') as arrays, gradients of L = u.h' + v.c' w.r.t. every input)``."""
    h_new, c_new = cell(*inputs)
    rng = np.random.default_rng(seed + 1000)
    u = _t(rng.standard_normal(h_new.shape), dtype=h_new.dtype)
    v = _t(rng.standard_normal(c_new.shape), dtype=c_new.dtype)
    loss = (h_new * u).sum() + (c_new * v).sum()
    grads = mg.grad(loss, inputs)
    return [h_new.numpy(), c_new.numpy()], [g.numpy() for g in grads]


def compare_cells(cell_a: Callable, cell_b: Callable, batch: int = 5, input_size: int = 3,
                  hidden: int = 4, seed: int = 0, dtype=DTYPE) -> dict:
    """Largest absolute differences between two LSTM cells on the same random inputs:
    ``{"h": ..., "c": ..., "d x": ..., "d weight_ih": ..., ...}`` (outputs, then gradients)."""
    out = {}
    results = []
    for cell in (cell_a, cell_b):
        inputs = random_cell_inputs(batch, input_size, hidden, seed, dtype)
        results.append(cell_gradients(cell, inputs, seed))
    (ya, ga), (yb, gb) = results
    for name, a, b in zip(("h", "c"), ya, yb):
        out[name] = float(np.abs(a - b).max())
    for name, a, b in zip(CELL_INPUT_NAMES, ga, gb):
        out[f"d {name}"] = float(np.abs(a - b).max())
    return out


def time_cells(batch: int = 2000, hidden: int = 20, input_size: int = 2, steps: int = 5,
               repeats: int = 2, dtype="float32", threads: int | None = 1) -> dict:
    """Seconds for ``steps`` LSTM steps forward + backward, composed and fused cells (best of
    ``repeats``). The learned optimizer's LSTM has 2 inputs, 20 hidden units and one row per
    optimizee parameter (about 16,000 for the MNIST MLP). BLAS runs on ``threads`` threads
    (:func:`minigrad.threads.blas_threads`). For reading, never for asserting."""
    rng = np.random.default_rng(0)
    cell = nn.LSTMCell(input_size, hidden, seed=0, dtype=dtype)
    xs = [mg.tensor(rng.standard_normal((batch, input_size)), dtype=dtype)
          for _ in range(steps)]
    out = {}
    with blas_threads(threads):
        for name, fused in (("composed", False), ("fused", True)):
            cell.fused = fused
            best = math.inf
            for _ in range(repeats):
                cell.zero_grad()
                start = time.perf_counter()
                state = None
                total = 0
                for x in xs:
                    state = cell(x, state)
                    total = total + state[0].sum()
                total.backward()
                best = min(best, time.perf_counter() - start)
            out[name] = best
    return out


# ============================================================================================
# 4. Truncated backpropagation through time


def truncated_bptt(k: int, T: int = 24, hidden: int = 8, batch: int = 4, seed: int = 0,
                   matrix: bool = True) -> dict:
    """Run an LSTM over T steps in chunks of ``k``, detaching the state between chunks.

    A loss is taken at EVERY step, L_s = mean over the batch of u . h_s (the paper's meta-loss
    also sums a loss over every step of an unroll). Returns ``{"k", "T", "M", "grad"}``:

    * ``M[s, t] = ||dL_s / dx_t||``: zero unless t <= s lies in the same chunk as s (only if
      ``matrix``; it costs one backward pass per step);
    * ``grad``: the gradient of sum_s L_s with respect to all LSTM weights, flattened, as
      truncated BPTT computes it (``k >= T`` gives full backpropagation through time).
    """
    k, T = int(k), int(T)
    if k < 1:
        raise ValueError(f"truncated_bptt: the truncation length k must be >= 1, got {k}")
    rng = np.random.default_rng(seed)
    lstm = nn.LSTM(2, hidden, seed=seed + 1, dtype=DTYPE)
    xs = [_t(rng.standard_normal((batch, 2)), True) for _ in range(T)]
    u = _t(rng.standard_normal((1, hidden)) / math.sqrt(hidden))
    losses, state = [], None
    for t in range(T):
        if t > 0 and t % k == 0:
            state = nn.detach_state(state)
        h, state = lstm.step(xs[t], state)
        losses.append((h * u).sum() * (1.0 / batch))
    M = None
    if matrix:
        M = np.zeros((T, T))
        for s in range(T):
            start = (s // k) * k
            grads = mg.grad(losses[s], xs[start:s + 1], retain_graph=True)
            M[s, start:s + 1] = [np.linalg.norm(g.numpy()) for g in grads]
    total = losses[0]
    for loss in losses[1:]:
        total = total + loss
    params = lstm.parameters()
    grads = mg.grad(total, params)
    flat = np.concatenate([g.numpy().ravel() for g in grads])
    return {"k": k, "T": T, "M": M, "grad": flat}


@functools.lru_cache(maxsize=8)
def _truncation_curve_cached(T, hidden, batch, seed):
    full = truncated_bptt(T, T, hidden, batch, seed, matrix=False)["grad"]
    ks = np.arange(1, T + 1)
    cos, err = [], []
    for k in ks:
        g = truncated_bptt(int(k), T, hidden, batch, seed, matrix=False)["grad"]
        cos.append(float(g @ full / (np.linalg.norm(g) * np.linalg.norm(full))))
        err.append(float(np.linalg.norm(g - full) / np.linalg.norm(full)))
    return ks, np.array(cos), np.array(err)


def truncation_curve(T: int = 24, hidden: int = 8, batch: int = 4, seed: int = 0) -> dict:
    """For every k in 1..T, how close the truncated weight gradient is to the full one:
    ``{"k", "cosine", "rel_error"}`` (cosine similarity and ||g_k - g|| / ||g||). Cached."""
    ks, cos, err = _truncation_curve_cached(int(T), int(hidden), int(batch), int(seed))
    return {"k": ks.copy(), "cosine": cos.copy(), "rel_error": err.copy()}


def plot_truncation(res: dict, curve: dict | None = None):
    """Left: log10 ||dL_s/dx_t|| for every loss step s and input step t, chunk borders drawn.
    Right (if ``curve``): relative error of the truncated weight gradient against k."""
    import matplotlib.pyplot as plt

    k, T, M = res["k"], res["T"], res["M"]
    ncols = 2 if curve is not None else 1
    fig, axes = plt.subplots(1, ncols, figsize=(5.6 * ncols, 4.6), squeeze=False)
    ax = axes[0, 0]
    shown = np.ma.masked_where(M <= 0, np.log10(np.where(M > 0, M, 1.0)))
    im = ax.imshow(shown, origin="upper", cmap="viridis", vmin=-5, vmax=-1,
                   extent=(0.5, T + 0.5, T + 0.5, 0.5))
    for b in range(k, T, k):
        ax.axhline(b + 0.5, color="w", lw=0.8)
        ax.axvline(b + 0.5, color="w", lw=0.8)
    ax.set_facecolor("0.85")
    ax.set_xlabel("input step t")
    ax.set_ylabel("loss step s")
    ax.set_title(f"log10 ‖∂L_s/∂x_t‖ with k = {k} (grey: no gradient)", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    if curve is not None:
        ax2 = axes[0, 1]
        ax2.plot(curve["k"], curve["rel_error"], "o-", ms=3, color="tab:blue")
        i = int(np.searchsorted(curve["k"], k))
        if i < len(curve["k"]):
            ax2.plot([k], [curve["rel_error"][i]], "o", ms=10, mfc="none", mec="tab:red",
                     mew=2, label=f"k = {k}")
            ax2.legend(fontsize=8)
        ax2.set_ylim(bottom=0)
        ax2.set_xlabel("truncation length k")
        ax2.set_ylabel("‖g_k − g‖ / ‖g‖")
        ax2.set_title("error of the truncated weight gradient", fontsize=10)
        ax2.grid(True, alpha=0.3)
    fig.subplots_adjust(left=0.08, right=0.97, bottom=0.12, top=0.92, wspace=0.35)
    return fig


def make_truncation_explorer(k: int = 8, T: int = 24) -> Explorer:
    """A slider for the truncation length k: which (loss, input) pairs still exchange a
    gradient, and how far the truncated weight gradient is from the full one.

    Controls: ``"k"``. ``result`` is :func:`truncated_bptt`'s dict plus ``"rel_error"``.
    """
    import ipywidgets as widgets

    curve = truncation_curve(T)
    controls = {"k": widgets.IntSlider(value=k, min=1, max=T, step=1,
                                       description="truncation k", continuous_update=False,
                                       style={"description_width": "100px"},
                                       layout=widgets.Layout(width="420px"))}

    def compute(k):
        res = truncated_bptt(k, T)
        res["rel_error"] = float(curve["rel_error"][k - 1])
        return res

    return Explorer(controls, compute, lambda res: plot_truncation(res, curve),
                    title=f"Truncated backpropagation through time (T = {T})")


# ============================================================================================
# 5. A sequence task: the adding problem


def adding_problem(rng, batch: int, steps: int):
    """Inputs (T, B, 2): a value ~ U[0, 1) and a marker (1 at two random steps, else 0); the
    target (B, 1) is the sum of the two marked values. Predicting the mean, 1, gives MSE 1/6.
    """
    values = rng.random((steps, batch))
    markers = (rng.random((steps, batch)).argsort(axis=0) < 2).astype(np.float64)
    x = np.stack([values, markers], axis=-1).astype(np.float32)
    y = (values * markers).sum(axis=0)[:, None].astype(np.float32)
    return x, y


class AddingModel(nn.Module):
    """An LSTM reading the sequence and a linear read-out of its last hidden state."""

    def __init__(self, hidden: int = 16, forget_bias: float = 1.0, seed: int = 0):
        super().__init__()
        self.lstm = nn.LSTM(2, hidden, forget_bias=forget_bias, seed=seed)
        self.head = nn.Linear(hidden, 1, seed=seed + 100)

    def forward(self, xs: Tensor, truncate: int | None = None):
        """Prediction (B, 1) for inputs (T, B, 2); with ``truncate=k`` the gradient flows
        back through the last k steps only (the state is detached k steps before the end)."""
        T = xs.shape[0]
        state = None
        for t in range(T):
            if truncate is not None and t == T - truncate:
                state = nn.detach_state(state)
            h, state = self.lstm.step(xs[t], state)
        return self.head(h)


def train_adding(steps: int = 10, hidden: int = 16, batches: int = 200, lr: float = 0.05,
                 batch_size: int = 64, seed: int = 0, forget_bias: float = 1.0,
                 truncate: int | None = None, callback: Callable | None = None,
                 progress: bool = False, test_size: int = 1000,
                 threads: int | None = 1) -> dict:
    """Train :class:`AddingModel` with Adam on fresh batches of the adding problem.

    ``truncate=k`` backpropagates through the last k steps only; BLAS runs on ``threads``
    threads (:func:`minigrad.threads.blas_threads`). Returns ``{"model",
    "losses" (per batch), "test_mse" (on ``test_size`` fresh sequences), "baseline_mse"
    (predicting the mean 1 on them)}``.
    """
    rng = np.random.default_rng(seed)
    model = AddingModel(hidden, forget_bias, seed)
    opt = optim.Adam(model.parameters(), lr=lr)
    x_test, y_test = adding_problem(np.random.default_rng(10_000 + seed), test_size, steps)
    it = range(int(batches))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(it, desc="adding problem" + (f", k = {truncate}" if truncate else ""))
        it = bar
    losses = []
    with blas_threads(threads):
        for b in it:
            x, y = adding_problem(rng, batch_size, steps)
            loss = mg.mse_loss(model(mg.tensor(x), truncate), mg.tensor(y))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if callback is not None:
                callback(b + 1, losses[-1])
            if bar is not None and b % 10 == 0:
                bar.set_postfix(mse=f"{losses[-1]:.4f}")
        if bar is not None:
            bar.close()
        with mg.no_grad():
            test_mse = mg.mse_loss(model(mg.tensor(x_test)), mg.tensor(y_test)).item()
    return {"model": model, "losses": np.array(losses), "test_mse": test_mse,
            "baseline_mse": float(((y_test - 1.0) ** 2).mean()), "truncate": truncate}


def plot_adding(runs: dict, smooth: int = 10):
    """Training MSE (moving average) of one or more runs, with the predict-the-mean level."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    for label, run in runs.items():
        v = run["losses"]
        k = min(smooth, len(v))
        avg = np.convolve(v, np.ones(k) / k, mode="valid")
        ax.semilogy(np.arange(k, len(v) + 1), avg, lw=2,
                    label=f"{label}: test MSE {run['test_mse']:.4f}")
    ax.axhline(1 / 6, color="k", ls=":", lw=1, label="predict the mean: 1/6")
    ax.set_xlabel("batch")
    ax.set_ylabel(f"training MSE (mean of {smooth})")
    ax.set_title("The adding problem")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    fig.subplots_adjust(left=0.11, right=0.97, bottom=0.13, top=0.91)
    return fig


# ============================================================================================
# 6. Exercise 04.1: the LSTM cell forward from primitive ops


def _lstm_variants(inputs):
    """What common mistakes compute, to name them in the verdict."""
    x, h, c, w_ih, w_hh, b_ih, b_hh = inputs
    H = h.shape[1]
    a = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    parts = [a[:, j * H:(j + 1) * H] for j in range(4)]

    def cell(order, out_tanh=True, swap=False):
        gates = dict(zip(order, parts))
        i, f = mg.sigmoid(gates["i"]), mg.sigmoid(gates["f"])
        g, o = mg.tanh(gates["g"]), mg.sigmoid(gates["o"])
        c_new = f * c + i * g
        h_new = o * (mg.tanh(c_new) if out_tanh else c_new)
        return (c_new, h_new) if swap else (h_new, c_new)

    return {
        "the gates are not in PyTorch's order i, f, g, o (this looks like i, f, o, g)":
            cell("ifog"),
        "the gates are not in PyTorch's order i, f, g, o (this looks like f, i, g, o)":
            cell("figo"),
        "h' must be o * tanh(c'), not o * c'": cell("ifgo", out_tanh=False),
        "return (h', c') in this order, not (c', h')": cell("ifgo", swap=True),
    }


def _lstm_checker(fn):
    cases = [(1, 1, 1, 41), (3, 2, 4, 42), (6, 5, 3, 43)]
    for B, In, H, seed in cases:
        label = f"batch {B}, input size {In}, hidden size {H}"
        inputs = random_cell_inputs(B, In, H, seed)
        out = fn(*inputs)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            yield label, f"expected a pair (h_new, c_new), got {type(out).__name__}"
            return
        if not all(isinstance(o, Tensor) for o in out):
            yield label, ("expected minigrad Tensors (use mg.sigmoid, mg.tanh, @ and * on the "
                          f"Tensors given), got {type(out[0]).__name__}")
            return
        ref = nn.functional.lstm_cell(*inputs)
        for name, got, exp in zip(("h_new", "c_new"), out, ref):
            problem = compare_values(got, exp, rtol=1e-9, atol=1e-12)
            if problem:
                note = ""
                for text, (vh, vc) in _lstm_variants(inputs).items():
                    if (tuple(out[0].shape) == tuple(vh.shape)
                            and np.allclose(out[0].numpy(), vh.numpy(), atol=1e-12)
                            and np.allclose(out[1].numpy(), vc.numpy(), atol=1e-12)):
                        note = f" ({text})"
                        break
                yield label, f"{name}: {problem}{note}"
                return
        try:
            _, mine = cell_gradients(lambda *a: fn(*a), inputs, seed)
        except RuntimeError as exc:
            yield f"{label}, gradients", (
                f"backward failed ({str(exc).splitlines()[0]}); build h' and c' from the "
                "given Tensors with minigrad ops so the graph reaches every input")
            return
        _, expected = cell_gradients(nn.functional.lstm_cell,
                                     random_cell_inputs(B, In, H, seed), seed)
        problem = None
        for name, g, e in zip(CELL_INPUT_NAMES, mine, expected):
            problem = compare_values(g, e, rtol=1e-9, atol=1e-12)
            if problem:
                problem = f"the gradient with respect to {name}: {problem}"
                break
        yield f"{label}, values and gradients", problem


register(
    Exercise(
        id="04.1",
        title="LSTM cell forward",
        reference=lstm_cell,
        checker=_lstm_checker,
        hint="a = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh; slice it into four "
             "H-wide blocks i, f, g, o (in that order: a[:, :H], a[:, H:2*H], ...); sigmoid "
             "for i, f, o and tanh for g; c' = f * c + i * g and h' = o * mg.tanh(c').",
    )
)
