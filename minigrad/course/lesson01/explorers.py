"""Sections 4 and 5: the expressions of the explorers, their evaluation and gradient descent, and
the explorers themselves.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from minigrad.course.widgets import Explorer

from .drawing import draw_graph
from .numerical_derivatives import _fig_ax
from .value import Value, backward, topo_order


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
