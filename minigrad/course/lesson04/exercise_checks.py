"""Section 6: the check of exercise 04.1, the LSTM cell forward from primitive ops."""

from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.course.checks import Exercise, compare_values, register
from minigrad.tensor import Tensor

from .lstm_cell import CELL_INPUT_NAMES, cell_gradients, lstm_cell, random_cell_inputs


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
        hint="a is x and h through their weight matrices (on batch rows, so transposed), "
             "plus both biases, cut into four H-wide blocks in PyTorch's order i, f, g, o; the "
             "three gates squash to (0, 1), the candidate g to (-1, 1); the new cell keeps f "
             "of the old one and adds i of g, and h' shows o of tanh(c'). Still stuck: the "
             "collapsed 'Hint 2' below the exercise.",
    )
)
