"""Section 3: the LSTM cell (the reference of exercise 04.1) against the fused cell."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.threads import blas_threads

from ._shared import DTYPE, _t


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
