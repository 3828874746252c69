"""Section 2: the scalar engine, Value, and the backward rules and topological order the exercises
build.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Callable


class Value:
    """A scalar that remembers how it was computed.

    Attributes:
        data: the number (a Python float).
        grad: d(root)/d(this value) after :func:`backward` (0.0 before).
        _prev: the Values this one was computed from (empty for a leaf).
        _op: the operation that made it (``""`` for a leaf), the key into :data:`RULES`.
        _aux: a constant the rule needs (the exponent of ``**``), else None.
        label: a name for drawings (``"x"``, ``"w1"``); optional.
    """

    __slots__ = ("data", "grad", "_prev", "_op", "_aux", "label")

    def __init__(self, data, _prev: tuple = (), _op: str = "", label: str = "", _aux=None):
        if isinstance(data, Value):
            raise TypeError("Value(data): data is already a Value")
        self.data = float(data)
        self.grad = 0.0
        self._prev = tuple(_prev)
        self._op = _op
        self._aux = _aux
        self.label = label

    def __repr__(self):
        name = f"{self.label}=" if self.label else ""
        return f"Value({name}{self.data:.4g}, grad={self.grad:.4g})"

    @property
    def is_leaf(self) -> bool:
        return not self._prev

    def _backward(self) -> None:
        """Apply this node's rule: add its contribution to the grads of ``self._prev``."""
        if self._prev:
            RULES[self._op](self)

    # ---- operations: each computes the forward value and records (inputs, op) ----------------
    def __add__(self, other):
        other = _lift(other)
        return Value(self.data + other.data, (self, other), "+")

    def __mul__(self, other):
        other = _lift(other)
        return Value(self.data * other.data, (self, other), "*")

    def __pow__(self, k):
        if not isinstance(k, numbers.Real) or isinstance(k, Value):
            raise TypeError("Value ** k: k must be a constant number (int or float)")
        return Value(self.data**k, (self,), "**", _aux=float(k))

    def tanh(self):
        return Value(math.tanh(self.data), (self,), "tanh")

    def exp(self):
        return Value(math.exp(self.data), (self,), "exp")

    def log(self):
        if self.data <= 0:
            raise ValueError(f"log: needs a positive number, got {self.data}")
        return Value(math.log(self.data), (self,), "log")

    def relu(self):
        return Value(max(self.data, 0.0), (self,), "relu")

    # ---- derived operations (built from the ones above, so they need no rule of their own) --
    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-_lift(other))

    def __truediv__(self, other):
        return self * _lift(other) ** -1

    def __radd__(self, other):
        return _lift(other) + self

    def __rmul__(self, other):
        return _lift(other) * self

    def __rsub__(self, other):
        return _lift(other) - self

    def __rtruediv__(self, other):
        return _lift(other) / self


def _lift(x) -> Value:
    if isinstance(x, Value):
        return x
    if isinstance(x, numbers.Real):
        return Value(x, label=f"{float(x):g}")
    raise TypeError(f"cannot combine a Value with a {type(x).__name__}")


# ---- the backward rules: out is the node, out._prev its inputs ------------------------------


def _leaf_backward(out: Value) -> None:
    pass


def add_backward(out: Value) -> None:
    """out = a + b:  d out/da = 1, d out/db = 1."""
    a, b = out._prev
    a.grad += out.grad
    b.grad += out.grad


def mul_backward(out: Value) -> None:
    """out = a * b:  d out/da = b, d out/db = a (reference solution of exercise 01.1)."""
    a, b = out._prev
    a.grad += b.data * out.grad
    b.grad += a.data * out.grad


def pow_backward(out: Value) -> None:
    """out = a ** k:  d out/da = k a^(k-1)."""
    (a,) = out._prev
    k = out._aux
    a.grad += k * a.data ** (k - 1) * out.grad


def tanh_backward(out: Value) -> None:
    """out = tanh(a):  d out/da = 1 - tanh(a)^2 = 1 - out^2 (reference of exercise 01.2)."""
    (a,) = out._prev
    a.grad += (1.0 - out.data**2) * out.grad


def exp_backward(out: Value) -> None:
    """out = e^a:  d out/da = e^a = out."""
    (a,) = out._prev
    a.grad += out.data * out.grad


def log_backward(out: Value) -> None:
    """out = ln a:  d out/da = 1/a."""
    (a,) = out._prev
    a.grad += out.grad / a.data


def relu_backward(out: Value) -> None:
    """out = max(a, 0):  d out/da = 1 if a > 0 else 0."""
    (a,) = out._prev
    a.grad += (a.data > 0) * out.grad


_REFERENCE_RULES = {
    "": _leaf_backward,
    "+": add_backward,
    "*": mul_backward,
    "**": pow_backward,
    "tanh": tanh_backward,
    "exp": exp_backward,
    "log": log_backward,
    "relu": relu_backward,
}

#: op -> rule(out). The notebook replaces "*" and "tanh" with the learner's checked rules.
RULES: dict[str, Callable[[Value], None]] = dict(_REFERENCE_RULES)


# ---- ordering and the backward pass ---------------------------------------------------------


def topo_order(root: Value) -> list[Value]:
    """Every Value reachable from ``root``, each after all of its inputs (reference of 01.3).

    Iterative depth-first post-order with an explicit stack of ``(node, expanded)`` pairs: a
    node is appended the second time it is popped, when all of its inputs are already in.
    """
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for parent in node._prev:
            if id(parent) not in seen:
                stack.append((parent, False))
    return order


def topo_order_recursive(root: Value) -> list[Value]:
    """The textbook recursive version (micrograd's): one Python frame per level of depth."""
    order, seen = [], set()

    def visit(node):
        if id(node) in seen:
            return
        seen.add(id(node))
        for parent in node._prev:
            visit(parent)
        order.append(node)

    visit(root)
    return order


def backward(root: Value) -> None:
    """Fill ``.grad`` of every Value ``root`` depends on with d root / d value (ref. of 01.4).

    Intermediate results restart from 0 on each call; leaves accumulate (as minigrad's
    ``Tensor.backward`` does), so a second call adds the gradient to the leaves once more.
    """
    order = topo_order(root)
    for node in order:
        if node._prev:
            node.grad = 0.0
    root.grad = 1.0
    for node in reversed(order):
        node._backward()


def deep_chain(n: int, x0: float = 0.5) -> tuple[Value, Value]:
    """``(x, y)`` with y = tanh(tanh(...tanh(x))) nested ``n`` times: a graph n + 1 deep."""
    x = Value(x0, label="x")
    y = x
    for _ in range(n):
        y = y.tanh()
    return x, y


def recursion_demo(n_recursive: int | None = None, n_iterative: int = 100_000) -> dict:
    """Sort a chain deeper than the recursion limit both ways; say what each did.

    Returns ``{"limit", "n_recursive", "recursive": "RecursionError" | "ok",
    "n_iterative", "iterative_nodes"}``.
    """
    limit = sys.getrecursionlimit()
    n_recursive = 3 * limit if n_recursive is None else n_recursive
    _, y = deep_chain(n_recursive)
    try:
        topo_order_recursive(y)
        outcome = "ok"
    except RecursionError:
        outcome = "RecursionError"
    _, y = deep_chain(n_iterative)
    nodes = len(topo_order(y))
    return {
        "limit": limit,
        "n_recursive": n_recursive,
        "recursive": outcome,
        "n_iterative": n_iterative,
        "iterative_nodes": nodes,
    }


def numeric_grads(build: Callable, values: dict, h: float = 1e-6) -> dict:
    """Central-difference d root/d leaf for each leaf value in ``values`` (a dict name->float).

    ``build(**values)`` returns the root Value; it is rebuilt twice per leaf.
    """
    out = {}
    for name in values:
        plus = dict(values, **{name: values[name] + h})
        minus = dict(values, **{name: values[name] - h})
        out[name] = (build(**plus).data - build(**minus).data) / (2 * h)
    return out
