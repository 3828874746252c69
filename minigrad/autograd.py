"""Reverse-mode differentiation: walk the graph backwards, applying the chain rule.

For a scalar loss L and a node y = f(x1, ..., xk), the chain rule gives

    dL/dxi = sum over uses of xi of  (dL/dy) * (dy/dxi),

so if every node is visited after all the nodes that use its output (reverse topological
order), each node's upstream gradient ``dL/dy`` is complete when it is visited.

The topological sort is ITERATIVE (an explicit stack): an LSTM unrolled inside an optimizer
unroll easily makes graphs tens of thousands of nodes deep, and a recursive sort would hit
Python's recursion limit (about 1,000 frames).

Two entry points, sharing the sort and the chain-rule step:

* :func:`backward` (``loss.backward()``): accumulate into ``leaf.grad``.
* :func:`grad` (``minigrad.grad(outputs, inputs)``): return the gradients with respect to any
  tensors (leaves or not) without touching ``.grad``; with ``create_graph=True`` the returned
  gradients are themselves differentiable.
"""

from __future__ import annotations

from . import tensor as _tensor
from .function import Function, _node_of
from .grad_mode import set_grad_enabled
from .tensor import Tensor

__all__ = ["backward", "grad"]


def backward(outputs, grad_outputs=None, retain_graph=False, create_graph=False) -> None:
    """Accumulate the gradients of ``outputs`` into ``.grad`` of every leaf requiring grad."""
    grads, order = _start(list(outputs), grad_outputs)
    leaf_grads = []
    with set_grad_enabled(create_graph):
        for node in reversed(order):  # every node after all the nodes that use it
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if isinstance(node, Function):
                _chain_rule(node, g, grads, retain_graph or create_graph)
            else:
                leaf_grads.append((node, g))
    for leaf, g in leaf_grads:
        if not create_graph:
            # An op may hand the same array (or a view) to several inputs: give each leaf
            # a gradient array of its own, so an in-place update of one .grad is safe.
            g = Tensor._make(g.data.copy())
        leaf.grad = g if leaf.grad is None else leaf.grad + g


# ``loss.backward()`` (Tensor.backward, in tensor.py) calls the function above through this
# name: tensor.py sits below this file, so it cannot import it.
_tensor._backward_pass = backward


def _topological_order(roots):
    """Nodes reachable from ``roots``, each after every node that feeds into it.

    A node is a Function (non-leaf) or a leaf Tensor. Iterative depth-first post-order.
    """
    order, seen = [], set()
    stack = [(r, False) for r in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        if isinstance(node, Function):
            node._check_alive()
            for parent in node.next:
                if parent is not None and id(parent) not in seen:
                    stack.append((parent, False))
    return order


def _chain_rule(node, g, grads, retain_graph):
    """Run ``node``'s backward on its upstream gradient ``g`` and add each input's share to
    ``grads`` (keyed by the id of the node or leaf it goes to); free the node's saved arrays
    unless ``retain_graph``."""
    input_grads = type(node).backward(node, g)
    if not isinstance(input_grads, tuple):
        input_grads = (input_grads,)
    for parent, pg, shape in zip(node.next, input_grads, node.input_shapes):
        if parent is None or pg is None:
            continue
        if pg.shape != shape:
            raise RuntimeError(
                f"{node.name}.backward returned a gradient of shape {pg.shape} for an "
                f"input of shape {shape} (a bug in that op's backward)"
            )
        prev = grads.get(id(parent))
        grads[id(parent)] = pg if prev is None else prev + pg
    if not retain_graph:
        node.release()


def _start(outputs, grad_outputs):
    """The seed gradients ``{id(node): dL/d(output)}`` and the topological order from them."""
    grads, roots = {}, []
    for node, g in _seed_gradients(outputs, grad_outputs):
        grads[id(node)] = grads[id(node)] + g if id(node) in grads else g
        roots.append(node)
    return grads, _topological_order(roots)


def _seed_gradients(outputs, grad_outputs):
    """``(node, gradient)`` per output: ones for a one-element output, else ``grad_outputs``."""
    seeds = []
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(
            f"grad: got {len(outputs)} outputs but {len(grad_outputs)} grad_outputs"
        )
    for out, g in zip(outputs, grad_outputs):
        if not isinstance(out, Tensor):
            raise TypeError(f"backward: expected a Tensor output, got {type(out).__name__}")
        if not out.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad and has no graph; did you create "
                "its inputs with requires_grad=True, and compute it outside no_grad()?"
            )
        if g is None:
            if out.size != 1:
                raise RuntimeError(
                    f"backward: output has shape {out.shape}; gradients can be implicitly "
                    "created only for one-element outputs. Pass grad=... (an array of the "
                    "output's shape), or reduce the output with .sum() first"
                )
            g = Tensor._make(out.xp.ones(out.shape, out.dtype))
        else:
            if not isinstance(g, Tensor):
                g = Tensor(g, dtype=out.dtype, device=out.device)
            if g.shape != out.shape:
                raise ValueError(
                    f"backward: grad has shape {g.shape} but the output has shape {out.shape}"
                )
            if g.dtype != out.dtype:
                raise TypeError(f"backward: grad dtype {g.dtype} != output dtype {out.dtype}")
        seeds.append((_node_of(out), g))
    return seeds


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned, ``.grad`` untouched.

    Parameters
    ----------
    outputs : Tensor or list of Tensor
        What to differentiate (one-element tensors, or give ``grad_outputs``).
    inputs : Tensor or list of Tensor
        Any tensors in the graph, leaves or intermediate results.
    grad_outputs : list, optional
        Upstream gradients v for non-scalar outputs (computes the vector-Jacobian product).
    retain_graph : bool, optional
        Keep the saved arrays for another backward through the same graph (default:
        ``create_graph``).
    create_graph : bool
        Record the backward pass itself, so the returned gradients can be differentiated again.
    allow_unused : bool
        Return None for an input the outputs do not depend on instead of raising.

    Returns
    -------
    A list of Tensors (one per input) if ``inputs`` is a list, else one Tensor.

    Unlike :func:`backward`, only the nodes from which some input can be reached run their
    backward (the rest of the graph is skipped and keeps its saved arrays).
    """
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    if grad_outputs is not None and not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    _check_grad_inputs(inputs)
    if retain_graph is None:
        retain_graph = create_graph
    wanted = {id(_node_of(x)) for x in inputs}
    grads, order = _start(outputs, grad_outputs)
    needed = _leading_to(wanted, order)
    found = {}
    with set_grad_enabled(create_graph):
        for node in reversed(order):
            g = grads.pop(id(node), None)
            if id(node) in wanted:
                found[id(node)] = g
            if g is not None and id(node) in needed and isinstance(node, Function):
                _chain_rule(node, g, grads, retain_graph)
    out = []
    for i, x in enumerate(inputs):
        g = found.get(id(_node_of(x)))
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: inputs[{i}] (shape {x.shape}) is not used to compute the outputs; "
                    "pass allow_unused=True to get None for it"
                )
        elif not create_graph:
            g = g.detach()
        out.append(g)
    return out[0] if single else out


def _leading_to(wanted, order):
    """The ids of the nodes in ``order`` from which a node in ``wanted`` can be reached."""
    needed = set()
    for node in order:  # inputs come first
        if id(node) in wanted or (
            isinstance(node, Function)
            and any(p is not None and id(p) in needed for p in node.next)
        ):
            needed.add(id(node))
    return needed


def _check_grad_inputs(inputs):
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"grad: inputs[{i}] is a {type(x).__name__}, expected a Tensor")
        if not x.requires_grad:
            raise RuntimeError(
                f"grad: inputs[{i}] (shape {x.shape}) does not require grad, so no gradient "
                "can flow to it; create it with requires_grad=True"
            )
