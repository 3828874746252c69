"""Lesson 01 (autograd from scratch): a scalar reverse-mode engine, its exercises and explorers.

The engine is micrograd-shaped, with one twist that prepares lesson 02: the backward rule of
each operation lives in a table, ``RULES[op](out)``, instead of a closure on every node. A
rule reads the node's output ``out`` (its ``data`` and upstream gradient ``grad``) and adds
``local derivative * out.grad`` to the ``grad`` of each input in ``out._prev``. Reverse-mode
differentiation is then: order the graph topologically, seed ``root.grad = 1``, and apply the
rules from the root back to the leaves.

Contents:

* numerical derivatives (forward and central differences) and their error versus the step h;
* :class:`Value`, the backward rules (:data:`RULES`), :func:`topo_order` (iterative),
  :func:`topo_order_recursive` (the one that overflows), :func:`backward`;
* :func:`draw_graph`: a layered drawing of a graph with matplotlib (no graphviz);
* the expressions the explorers use, :func:`evaluate`, :func:`gradient_descent`;
* the explorers :func:`make_graph_explorer` and :func:`make_tangent_explorer`, and the small
  :class:`Explorer` container lesson 02 reuses;
* the registrations of exercises 01.1 to 01.4.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Callable, Iterable

import numpy as np

from minigrad.course.checks import Exercise, register
from minigrad.course.graphs import draw_dag, layered_layout
from minigrad.course.widgets import Explorer

__all__ = [
    "EXPRESSIONS",
    "Explorer",
    "RULES",
    "Value",
    "add_backward",
    "backward",
    "central_difference",
    "deep_chain",
    "difference_errors",
    "draw_dag",
    "draw_graph",
    "evaluate",
    "forward_difference",
    "gradient_descent",
    "layered_layout",
    "loglog_slope",
    "make_graph_explorer",
    "make_tangent_explorer",
    "mul_backward",
    "numeric_grads",
    "plot_difference_errors",
    "plot_gradient_descent",
    "plot_tangent",
    "recursion_demo",
    "tangent",
    "tanh_backward",
    "topo_order",
    "topo_order_recursive",
]

# ============================================================================================
# 1. Derivatives, numerically


def forward_difference(f: Callable[[float], float], x: float, h: float) -> float:
    """(f(x + h) - f(x)) / h: error O(h) (the first neglected Taylor term is f''(x) h / 2)."""
    return (f(x + h) - f(x)) / h


def central_difference(f: Callable[[float], float], x: float, h: float) -> float:
    """(f(x + h) - f(x - h)) / (2h): error O(h^2) (the even Taylor terms cancel)."""
    return (f(x + h) - f(x - h)) / (2 * h)


def _demo_f(x):
    return np.sin(x) * np.exp(x)


def _demo_df(x):
    return np.exp(x) * (np.sin(x) + np.cos(x))


def difference_errors(
    f: Callable = _demo_f, df: Callable = _demo_df, x: float = 1.0, hs: Iterable | None = None
) -> dict:
    """Absolute errors of the forward and central differences of ``f`` at ``x`` for each h.

    Returns ``{"h": array, "forward": array, "central": array}`` (float64 throughout). By
    default f(x) = sin(x) e^x, whose derivative e^x (sin x + cos x) we know exactly.
    """
    hs = np.logspace(-13, -1, 49) if hs is None else np.asarray(list(hs), dtype=np.float64)
    exact = df(x)
    fwd = np.array([abs(forward_difference(f, x, h) - exact) for h in hs])
    cen = np.array([abs(central_difference(f, x, h) - exact) for h in hs])
    return {"h": hs, "forward": fwd, "central": cen}


def loglog_slope(h, err, lo: float, hi: float) -> float:
    """Least-squares slope of log(err) against log(h) for lo <= h <= hi (the error's order)."""
    h, err = np.asarray(h), np.asarray(err)
    keep = (h >= lo) & (h <= hi) & (err > 0)
    return float(np.polyfit(np.log10(h[keep]), np.log10(err[keep]), 1)[0])


def plot_difference_errors(res: dict, ax=None):
    """Log-log plot of the two errors against h, with reference slopes h and h^2."""
    import matplotlib.pyplot as plt

    fig, ax = _fig_ax(ax, (6.5, 4))
    h = res["h"]
    ax.loglog(h, np.maximum(res["forward"], 1e-17), "o-", ms=3, label="forward difference")
    ax.loglog(h, np.maximum(res["central"], 1e-17), "s-", ms=3, label="central difference")
    ax.loglog(h, h, "k:", lw=1, label="slope 1: error ∝ h")
    ax.loglog(h, h**2, "k--", lw=1, label="slope 2: error ∝ h²")
    ax.set_ylim(1e-14, 1)
    ax.set_xlabel("step h")
    ax.set_ylabel("|numeric − exact derivative|")
    ax.set_title("Truncation error (right) vs round-off error (left)")
    ax.legend(fontsize=8)
    ax.grid(True, which="major", alpha=0.3)
    plt.tight_layout()
    return fig


def _fig_ax(ax, size):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=size)
    else:
        fig = ax.figure
    return fig, ax


# ============================================================================================
# 2. The scalar engine


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


# ============================================================================================
# 3. Drawing a graph


_OP_SYMBOLS = {"+": "+", "*": "×", "**": "**", "tanh": "tanh", "exp": "exp", "log": "log",
               "relu": "relu"}


def draw_graph(root: Value, ax=None, show_grad: bool = True, title: str | None = None,
               max_nodes: int = 60):
    """Draw the graph that computed ``root``: each Value's label, data and (optionally) grad.

    Refuses graphs of more than ``max_nodes`` Values (a drawing that size is unreadable).
    """
    nodes = topo_order(root)
    if len(nodes) > max_nodes:
        raise ValueError(
            f"draw_graph: the graph has {len(nodes)} nodes; drawing more than {max_nodes} is "
            "unreadable (pass max_nodes=... to insist)"
        )

    def text(n):
        lines = [n.label] if n.label else []
        lines.append(f"data {n.data:.4f}")
        if show_grad:
            lines.append(f"grad {n.grad:.4f}")
        return "\n".join(lines)

    def op(n):
        if n.is_leaf:
            return ""
        if n._op == "**":
            return f"**{n._aux:g}"
        return _OP_SYMBOLS.get(n._op, n._op)

    return draw_dag(nodes, lambda n: n._prev, text, op, ax=ax, title=title)


# ============================================================================================
# 4. Expressions for the explorers, evaluation, gradient descent


def _neuron(x):
    x2, w1, w2 = Value(0.0, label="x2"), Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x * w1 + x2 * w2 + b
    n.label = "n"
    return n.tanh()


def _square_plus(x):
    return x * x + 3.0 * x


def _bell(x):
    return (-(x**2) / 2.0).exp()


def _silu(x):
    return x / (1.0 + (-x).exp())


def _log1p_square(x):
    return (1.0 + x * x).log()


#: name -> (build(x: Value) -> root Value, (x_min, x_max) for plots).
EXPRESSIONS: dict[str, tuple[Callable[[Value], Value], tuple[float, float]]] = {
    "tanh(w1·x + w2·x2 + b)  (a neuron)": (_neuron, (-1.0, 4.0)),
    "x·x + 3·x  (x used twice)": (_square_plus, (-4.0, 2.0)),
    "exp(−x²/2)  (a bell)": (_bell, (-3.0, 3.0)),
    "x / (1 + exp(−x))  (SiLU)": (_silu, (-4.0, 4.0)),
    "log(1 + x·x)": (_log1p_square, (-3.0, 3.0)),
}


def _expression(name: str):
    try:
        return EXPRESSIONS[name]
    except KeyError:
        raise KeyError(
            f"unknown expression {name!r}; choose one of {list(EXPRESSIONS)}"
        ) from None


def evaluate(name: str, x: float, h: float = 1e-6) -> dict:
    """Build expression ``name`` at ``x``, run :func:`backward`, and report.

    Returns ``{"x", "f", "dfdx", "numeric", "root", "grads"}``: the value, d f/d x from the
    engine, the central-difference estimate, the root Value (for drawing) and ``{label: grad}``
    for every labelled Value in the graph.
    """
    build, _ = _expression(name)
    xv = Value(x, label="x")
    root = build(xv)
    root.label = root.label or "f"
    backward(root)
    grads = {n.label: n.grad for n in topo_order(root) if n.label and not _is_const(n)}
    numeric = (build(Value(x + h)).data - build(Value(x - h)).data) / (2 * h)
    return {"x": float(x), "f": root.data, "dfdx": xv.grad, "numeric": numeric, "root": root,
            "grads": grads}


def _is_const(n: Value) -> bool:
    """Constants lifted from Python numbers are labelled with their value (``"3"``)."""
    try:
        float(n.label)
        return n.is_leaf
    except ValueError:
        return False


def tangent(name: str, x: float, n_points: int = 121) -> dict:
    """The curve of expression ``name`` over its plot range and its tangent line at ``x``.

    Returns ``{"xs", "fs", "x", "f", "slope", "numeric", "tangent"}``; the slope is the
    engine's gradient, the tangent is f(x) + slope (xs - x).
    """
    build, (lo, hi) = _expression(name)
    xs = np.linspace(lo, hi, n_points)
    fs = np.array([build(Value(v)).data for v in xs])
    ev = evaluate(name, x)
    return {"xs": xs, "fs": fs, "x": ev["x"], "f": ev["f"], "slope": ev["dfdx"],
            "numeric": ev["numeric"], "tangent": ev["f"] + ev["dfdx"] * (xs - ev["x"])}


def plot_tangent(res: dict, name: str = "", ax=None):
    """Plot a :func:`tangent` result: the curve, the point, the tangent line."""
    fig, ax = _fig_ax(ax, (6, 3.6))
    ax.plot(res["xs"], res["fs"], lw=2, label="f(x)")
    ax.plot(res["xs"], res["tangent"], "--", color="C3",
            label=f"tangent, slope f'(x) = {res['slope']:.4f}")
    ax.plot([res["x"]], [res["f"]], "o", color="C3")
    span = res["fs"].max() - res["fs"].min()
    ax.set_ylim(res["fs"].min() - 0.25 * span - 0.1, res["fs"].max() + 0.25 * span + 0.1)
    ax.set_xlabel("x")
    ax.set_title(name or "f and its tangent line", fontsize=10)
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def gradient_descent(name: str, x0: float, lr: float, steps: int,
                     backward_fn: Callable | None = None) -> dict:
    """Minimise expression ``name`` by x <- x - lr * df/dx, the gradient from the engine.

    ``backward_fn`` defaults to :func:`backward`. Returns ``{"xs", "fs"}`` (steps + 1 each).
    """
    build, _ = _expression(name)
    run = backward if backward_fn is None else backward_fn
    xs, fs = [float(x0)], []
    for _ in range(steps + 1):
        x = Value(xs[-1], label="x")
        f = build(x)
        fs.append(f.data)
        if len(fs) == steps + 1:
            break
        run(f)
        xs.append(xs[-1] - lr * x.grad)
    return {"xs": np.array(xs), "fs": np.array(fs)}


def plot_gradient_descent(name: str, res: dict, ax=None):
    """The iterates of :func:`gradient_descent` on the curve of expression ``name``."""
    fig, ax = _fig_ax(ax, (6, 3.6))
    build, (lo, hi) = _expression(name)
    grid = np.linspace(lo, hi, 121)
    ax.plot(grid, [build(Value(v)).data for v in grid], lw=2, label="f(x)")
    ax.plot(res["xs"], res["fs"], "o-", color="C3", ms=4, lw=1,
            label=f"{len(res['xs']) - 1} gradient steps")
    ax.plot(res["xs"][:1], res["fs"][:1], "s", color="k", ms=6, label="start")
    ax.set_xlabel("x")
    ax.set_title(f"Gradient descent on {name.split('  ')[0]}", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# ============================================================================================
# 5. Explorers


def make_graph_explorer(expression: str | None = None, x: float = 2.0) -> Explorer:
    """Pick an expression and x; see the graph with every forward value and gradient.

    Controls: ``"expression"`` (Dropdown) and ``"x"`` (FloatSlider). ``result`` is the dict of
    :func:`evaluate`.
    """
    import ipywidgets as widgets

    names = list(EXPRESSIONS)
    expression = names[0] if expression is None else expression
    _expression(expression)
    controls = {
        "expression": widgets.Dropdown(options=names, value=expression, description="f(x) =",
                                       layout=widgets.Layout(width="420px")),
        "x": widgets.FloatSlider(value=x, min=-3.0, max=3.0, step=0.1, description="x",
                                 continuous_update=False, readout_format=".1f"),
    }

    def render(res):
        fig = draw_graph(res["root"], title=f"f = {res['f']:.4f},  df/dx = {res['dfdx']:.4f} "
                         f"(central difference: {res['numeric']:.4f})")
        return fig

    return Explorer(controls, lambda expression, x: evaluate(expression, x), render,
                    title="Forward values and gradients on the graph")


def make_tangent_explorer(expression: str | None = None, x: float = 0.5) -> Explorer:
    """Slide x along a curve and see the tangent line whose slope the engine computed.

    Controls: ``"expression"`` and ``"x"``; ``result`` is the dict of :func:`tangent`.
    """
    import ipywidgets as widgets

    names = list(EXPRESSIONS)
    expression = names[2] if expression is None else expression
    _expression(expression)
    controls = {
        "expression": widgets.Dropdown(options=names, value=expression, description="f(x) =",
                                       layout=widgets.Layout(width="420px")),
        "x": widgets.FloatSlider(value=x, min=-3.0, max=3.0, step=0.05, description="x",
                                 readout_format=".2f"),
    }
    return Explorer(
        controls,
        lambda expression, x: tangent(expression, x),
        lambda res: plot_tangent(res, controls["expression"].value),
        title="The gradient is the slope of the tangent",
    )


# ============================================================================================
# 6. Exercise checks


def _fmt(v):
    return f"{v:.6g}"


def _rule_checker(op: str, reference: Callable, graphs: Callable):
    """A checker for a backward rule: run it on fresh nodes, compare the inputs' grads.

    ``graphs()`` lists ``(label, build, note)``: ``build()`` returns a fresh output node with
    its ``grad`` set; ``note`` is added to the verdict when that case fails.
    """

    def checker(fn):
        for label, build, note in graphs():
            mine, ref = build(), build()
            for out, rule in ((mine, fn), (ref, reference)):
                if out._op != op:  # pragma: no cover - a bug in the graphs list
                    raise AssertionError(f"check graph {label} does not end in {op}")
                rule(out)
            problem = None
            for i, (a, b) in enumerate(zip(mine._prev, ref._prev)):
                if not math.isclose(a.grad, b.grad, rel_tol=1e-9, abs_tol=1e-12):
                    name = a.label or f"input {i}"
                    problem = f"{name}.grad is {_fmt(a.grad)}, expected {_fmt(b.grad)}{note}"
                    break
            if problem is None and mine.grad != ref.grad:
                problem = f"out.grad changed to {_fmt(mine.grad)}; a rule only updates inputs"
            yield label, problem

    return checker


def _mul_graphs():
    def simple():
        a, b = Value(2.0, label="a"), Value(-3.0, label="b")
        out = a * b
        out.grad = 1.0
        return out

    def upstream():
        a, b = Value(0.5, label="a"), Value(4.0, label="b")
        out = a * b
        out.grad = -2.5
        return out

    def accumulate():
        a, b = Value(1.5, label="a"), Value(-2.0, label="b")
        a.grad, b.grad = 0.25, 1.0  # a and b are also used elsewhere in the graph
        out = a * b
        out.grad = 3.0
        return out

    def square():
        x = Value(-1.5, label="x")
        out = x * x
        out.grad = 2.0
        return out

    return [
        ("a*b with out.grad = 1", simple, ""),
        ("a*b with out.grad = -2.5", upstream, " (chain rule: multiply by out.grad)"),
        ("a*b where a.grad, b.grad already hold 0.25, 1.0", accumulate, _ACCUMULATE),
        ("x*x (the same input twice)", square, _ACCUMULATE),
    ]


def _tanh_graphs():
    def make(v, g, pre=0.0):
        def build():
            a = Value(v, label="a")
            a.grad = pre
            out = a.tanh()
            out.grad = g
            return out

        return build

    return [
        ("tanh(0.5) with out.grad = 1", make(0.5, 1.0), ""),
        ("tanh(-2) with out.grad = 0.3", make(-2.0, 0.3), " (chain rule: multiply by out.grad)"),
        ("tanh(1) where a.grad already holds 0.7", make(1.0, -1.2, 0.7), _ACCUMULATE),
    ]


_ACCUMULATE = (
    ". Add to the input's grad (+=) instead of overwriting it: an input used twice, or "
    "elsewhere in the graph, receives one contribution per use"
)


register(
    Exercise(
        id="01.1",
        title="the backward of multiplication",
        reference=mul_backward,
        checker=_rule_checker("*", mul_backward, _mul_graphs),
        hint=(
            "a, b = out._prev; the local derivatives are d(ab)/da = b and d(ab)/db = a; "
            "multiply each by out.grad (the chain rule) and add it with +=."
        ),
    )
)

register(
    Exercise(
        id="01.2",
        title="the backward of tanh",
        reference=tanh_backward,
        checker=_rule_checker("tanh", tanh_backward, _tanh_graphs),
        hint=(
            "(a,) = out._prev; d tanh(a)/da = 1 - tanh(a)**2, and tanh(a) is already computed: "
            "it is out.data. Then a.grad += local derivative * out.grad."
        ),
    )
)


def _topo_graphs():
    def leaf():
        return Value(1.0, label="x")

    def neuron():
        return _neuron(Value(2.0, label="x1"))

    def diamond():
        x = Value(0.3, label="x")
        a = x.tanh()
        b = x.exp()
        return (a * b + a) * x

    def wide():
        xs = [Value(0.1 * i, label=f"x{i}") for i in range(30)]
        total = xs[0]
        for v in xs[1:]:
            total = total + v * xs[0]
        return total

    def deep():
        return deep_chain(3 * sys.getrecursionlimit())[1]

    return [
        ("a single leaf", leaf),
        ("the neuron tanh(w1*x1 + w2*x2 + b)", neuron),
        ("x feeding three paths (a diamond)", diamond),
        ("a wide sum that reuses x0 29 times", wide),
        (f"a chain {3 * sys.getrecursionlimit()} deep (deeper than the recursion limit)", deep),
    ]


def _check_order(order, root) -> str | None:
    try:
        order = list(order)
    except TypeError:
        return f"returned a {type(order).__name__}, expected a list of Values"
    expected = topo_order(root)
    ids = [id(n) for n in order]
    if any(not isinstance(n, Value) for n in order):
        return "the list holds something that is not a Value"
    if len(set(ids)) != len(ids):
        return f"some nodes appear more than once ({len(ids)} entries, {len(set(ids))} distinct)"
    if set(ids) != {id(n) for n in expected}:
        return (
            f"returned {len(ids)} nodes but {len(expected)} are reachable from the root "
            "(every node must appear exactly once)"
        )
    where = {i: k for k, i in enumerate(ids)}
    for n in order:
        for p in n._prev:
            if where[id(p)] > where[id(n)]:
                name = n.label or n._op
                return f"node {name!r} comes before its input {p.label or p._op!r}"
    return None


def _topo_checker(fn):
    for label, build in _topo_graphs():
        root = build()
        yield label, _check_order(fn(root), root)


register(
    Exercise(
        id="01.3",
        title="topological order, iteratively",
        reference=topo_order,
        checker=_topo_checker,
        hint=(
            "Keep an explicit stack of (node, expanded) pairs, starting with [(root, False)]. "
            "Pop; if expanded, append the node to the order; else, unless already seen, mark "
            "it seen, push (node, True) and then (p, False) for each input p in node._prev. "
            "No recursion: the chain check is deeper than Python's recursion limit."
        ),
    )
)


def _backward_graphs():
    def neuron(x1, x2, w1, w2, b):
        n = Value(x1, label="x1") * Value(w1, label="w1") + Value(x2, label="x2") * Value(
            w2, label="w2") + Value(b, label="b")
        return n.tanh()

    def shared(x):
        x = Value(x, label="x")
        a = x.tanh()
        return a * x + a * a + x.exp() / (1.0 + x * x)

    def chain(x):
        return deep_chain(2000, x)[1]

    return [
        ("the neuron", neuron, dict(x1=2.0, x2=0.0, w1=-3.0, w2=1.0, b=6.8813735870195432)),
        ("tanh(x)*x + tanh(x)**2 + exp(x)/(1+x*x) (x and tanh(x) used several times)", shared,
         dict(x=0.7)),
        ("a chain of 2000 tanh", chain, dict(x=0.9)),
    ]


def _leaves(root):
    return {n.label: n for n in topo_order(root) if n.is_leaf and n.label in _LEAF_NAMES}


_LEAF_NAMES = {"x", "x1", "x2", "w1", "w2", "b"}


def _backward_checker(fn):
    for label, build, values in _backward_graphs():
        expected = numeric_grads(build, values)
        root = build(**values)
        fn(root)
        leaves = _leaves(root)
        problem = None
        for name, want in expected.items():
            got = leaves[name].grad
            if not math.isclose(got, want, rel_tol=1e-5, abs_tol=1e-7):
                problem = (
                    f"d root/d {name} is {_fmt(got)}, expected {_fmt(want)} (central difference)"
                )
                if root.grad != 1.0:
                    problem += f"; root.grad is {_fmt(root.grad)}: seed it with 1.0"
                break
        if problem is None and label == "the neuron":
            first = {k: v.grad for k, v in leaves.items()}
            fn(root)
            for name, g in first.items():
                if not math.isclose(leaves[name].grad, 2 * g, rel_tol=1e-9, abs_tol=1e-12):
                    problem = (
                        f"after a second backward(root), {name}.grad is "
                        f"{_fmt(leaves[name].grad)}, expected twice the first, {_fmt(2 * g)}: "
                        "leaves accumulate, but reset every non-leaf node's grad to 0 before "
                        "each pass"
                    )
                    break
            label += ", then backward a second time"
        yield label, problem


register(
    Exercise(
        id="01.4",
        title="the backward pass",
        reference=backward,
        checker=_backward_checker,
        hint=(
            "order = topo_order(root); set node.grad = 0.0 for every node with inputs "
            "(node._prev); root.grad = 1.0; then for node in reversed(order): node._backward()."
        ),
    )
)
