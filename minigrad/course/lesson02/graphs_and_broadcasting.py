"""Sections 1 and 2: the graph behind a tensor, and broadcasting with its adjoint, sum_to."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import minigrad as mg
from minigrad.course.graphs import _parents, draw_dag, graph_of
from minigrad.function import Function
from minigrad.tensor import Tensor
from minigrad.testing import GradcheckError, gradcheck


def draw_tensor_graph(t: Tensor, names: dict | None = None, title: str | None = None):
    """Draw the graph behind ``t``: an operation (Function) box per node, a box per tensor.

    Each tensor box gives its shape (and, for leaves, its name from ``names``, a dict
    ``{name: tensor}``); each operation says what it saved for backward. Only inputs that
    require grad are edges of the graph, so constants do not appear. Draw before ``backward``:
    a backward pass frees the nodes.
    """
    nodes = graph_of(t)
    label = {id(v): k for k, v in (names or {}).items()}
    out_shape = {id(t._ctx if t._ctx is not None else t): t.shape}
    for n in nodes:
        if isinstance(n, Function):
            for p, shape in zip(n.next, n.input_shapes):
                if p is not None:
                    out_shape[id(p)] = shape

    def text(n):
        shape = out_shape.get(id(n))
        if isinstance(n, Tensor):
            head = label.get(id(n), "leaf")
            return f"{head}\nshape {shape}\nrequires_grad"
        saved = [w for w, flag in (("inputs", n.save_inputs), ("output", n.save_output)) if flag]
        return f"shape {shape}\nsaved: {', '.join(saved) or 'shapes only'}"

    def op(n):
        return "" if isinstance(n, Tensor) else n.name

    return draw_dag(nodes, _parents, text, op, title=title, x_gap=3.2, op_style="round,pad=0.3")


# ============================================================================================
# 2. Broadcasting and its adjoint, sum_to


def sum_to_array(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``g`` down to ``shape``, undoing NumPy broadcasting (reference of exercise 02.1).

    Broadcasting ``shape`` to ``g.shape`` (1) prepends axes and (2) stretches axes of size 1.
    So: sum over the ``g.ndim - len(shape)`` leading axes, then, keeping dims, over every axis
    where ``shape`` has a 1 and ``g`` does not.
    """
    shape = tuple(shape)
    lead = g.ndim - len(shape)
    if lead < 0:
        raise ValueError(f"sum_to_array: cannot sum shape {g.shape} to the larger {shape}")
    if lead:
        g = g.sum(axis=tuple(range(lead)))
    stretched = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True)
    return g


#: name -> forward on tensors, for the broadcasting explorer.
BROADCAST_OPS: dict[str, Callable] = {
    "a + b": lambda a, b: a + b,
    "a * b": lambda a, b: a * b,
    "a / b": lambda a, b: a / b,
}

#: name -> the gradients at the output's shape, before sum_to (g is dL/dy).
_LOCAL_GRADS = {
    "a + b": ("g", "g"),
    "a * b": ("g * b", "g * a"),
    "a / b": ("g / b", "-g * a / b**2"),
}


def broadcast_report(op: str, shape_a: tuple, shape_b: tuple, seed: int = 0) -> dict:
    """What broadcasting ``shape_a`` with ``shape_b`` does, forward and backward.

    Returns ``{"ok", "op", "out_shape", "grad_shapes", "summed", "gradcheck", "message"}``:
    ``summed[k]`` lists the axes of the output summed to get input k's gradient (leading
    axes first); ``gradcheck`` is True when minigrad's gradients pass :func:`gradcheck` in
    float64. When the shapes do not broadcast, ``ok`` is False and ``message`` says why.
    """
    shape_a, shape_b = tuple(shape_a), tuple(shape_b)
    fn = BROADCAST_OPS[op]
    try:
        out_shape = np.broadcast_shapes(shape_a, shape_b)
    except ValueError:
        return {"ok": False, "op": op, "out_shape": None, "grad_shapes": None, "summed": None,
                "gradcheck": None,
                "message": f"shapes {shape_a} and {shape_b} cannot be broadcast together: "
                           "aligned from the right, each pair of sizes must be equal or 1"}
    rng = np.random.default_rng(seed)
    a = mg.tensor(rng.uniform(0.5, 1.5, shape_a), dtype="float64", requires_grad=True)
    b = mg.tensor(rng.uniform(0.5, 1.5, shape_b), dtype="float64", requires_grad=True)
    out = fn(a, b)
    ga, gb = mg.grad(out.sum(), [a, b])
    try:
        passed = gradcheck(fn, [a, b])
    except GradcheckError:
        passed = False
    summed = [_summed_axes(s, out_shape) for s in (shape_a, shape_b)]
    return {"ok": True, "op": op, "out_shape": tuple(out.shape),
            "grad_shapes": (ga.shape, gb.shape), "summed": summed, "gradcheck": passed,
            "message": ""}


def _summed_axes(shape, out_shape):
    lead = len(out_shape) - len(shape)
    return list(range(lead)) + [
        lead + i for i, s in enumerate(shape) if s == 1 and out_shape[lead + i] != 1
    ]
