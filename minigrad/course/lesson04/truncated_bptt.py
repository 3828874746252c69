"""Section 4: truncated backpropagation through time."""

from __future__ import annotations

import functools
import math

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.course.widgets import Explorer

from ._shared import DTYPE, _t


def truncated_losses(lstm, xs, k: int, loss_fn):
    """Truncated BPTT's forward (reference of exercise 04.2): run ``lstm`` over the inputs
    ``xs`` (a list of T Tensors (B, I)) in chunks of ``k`` steps; the state carries its values
    from chunk to chunk, but its graph is cut (``nn.detach_state``) where each chunk starts.
    Returns the T losses ``loss_fn(h_s)``, one per step, so a backward from any of them stops
    at the start of its chunk."""
    losses, state = [], None
    for start in range(0, len(xs), k):
        state = nn.detach_state(state)  # keep the values, cut the graph
        for x in xs[start:start + k]:
            h, state = lstm.step(x, state)
            losses.append(loss_fn(h))
    return losses


def reach_matrix(losses, xs) -> np.ndarray:
    """``M[s, t] = ||dL_s / dx_t||`` for every loss step s and input step t (zero where no
    gradient arrives; one backward pass per loss)."""
    T = len(xs)
    M = np.zeros((len(losses), T))
    for s, loss in enumerate(losses):
        grads = mg.grad(loss, xs, retain_graph=True, allow_unused=True)
        M[s] = [0.0 if g is None else np.linalg.norm(g.numpy()) for g in grads]
    return M


def truncation_setup(T: int = 24, hidden: int = 8, batch: int = 4, seed: int = 0):
    """The experiment's LSTM, inputs and per-step loss: ``(lstm, xs, loss_fn)``, with
    L_s = mean over the batch of u . h_s for a fixed random u."""
    rng = np.random.default_rng(seed)
    lstm = nn.LSTM(2, hidden, seed=seed + 1, dtype=DTYPE)
    xs = [_t(rng.standard_normal((batch, 2)), True) for _ in range(int(T))]
    u = _t(rng.standard_normal((1, hidden)) / math.sqrt(hidden))

    def loss_fn(h):
        return (h * u).sum() * (1.0 / batch)

    return lstm, xs, loss_fn


def truncated_bptt(k: int, T: int = 24, hidden: int = 8, batch: int = 4, seed: int = 0,
                   matrix: bool = True, loop=None) -> dict:
    """Run an LSTM over T steps in chunks of ``k``, detaching the state between chunks, with
    ``loop`` (exercise 04.2's signature; default :func:`truncated_losses`).

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
    lstm, xs, loss_fn = truncation_setup(T, hidden, batch, seed)
    losses = (loop or truncated_losses)(lstm, xs, k, loss_fn)
    M = reach_matrix(losses, xs) if matrix else None
    total = losses[0]
    for loss in losses[1:]:
        total = total + loss
    params = lstm.parameters()
    grads = mg.grad(total, params)
    flat = np.concatenate([g.numpy().ravel() for g in grads])
    return {"k": k, "T": T, "M": M, "grad": flat}


def reach_summary(res: dict) -> str:
    """In words: how far back the last loss's gradient reaches, from the matrix M."""
    T, k = res["T"], res["k"]
    reached = np.flatnonzero(res["M"][T - 1] > 0)
    first = int(reached[0]) + 1
    return (f"the loss at step {T} gets a gradient from inputs {first} to {T} only: "
            f"{T - first + 1} steps back (k = {k})")


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


def make_truncation_explorer(k: int = 8, T: int = 24, loop=None) -> Explorer:
    """A slider for the truncation length k: which (loss, input) pairs still exchange a
    gradient, and how far the truncated weight gradient is from the full one.

    Controls: ``"k"``. ``result`` is :func:`truncated_bptt`'s dict plus ``"rel_error"``.
    ``loop`` (exercise 04.2's) computes the left panel; the error curve is the reference's.
    """
    import ipywidgets as widgets

    curve = truncation_curve(T)
    controls = {"k": widgets.IntSlider(value=k, min=1, max=T, step=1,
                                       description="truncation k", continuous_update=False,
                                       style={"description_width": "100px"},
                                       layout=widgets.Layout(width="420px"))}

    def compute(k):
        res = truncated_bptt(k, T, loop=loop)
        res["rel_error"] = float(curve["rel_error"][k - 1])
        return res

    return Explorer(controls, compute, lambda res: plot_truncation(res, curve),
                    title=f"Truncated backpropagation through time (T = {T})")
