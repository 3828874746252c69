"""Lesson 02 (tensors and gradients): minigrad's engine seen from the inside.

Contents:

* :func:`graph_of` / :func:`draw_tensor_graph`: walk and draw the graph behind a Tensor (the
  Function nodes reached through ``ctx.next``);
* :func:`sum_to_array`, the reference of exercise 02.1, and :func:`broadcast_report`, which the
  broadcasting explorer shows;
* the references of exercises 02.2 to 02.4 (``div_backward``, ``sigmoid_backward``,
  ``sum_backward``) and :func:`make_function`, which turns a backward function into a
  :class:`~minigrad.function.Function` subclass;
* finite-difference errors in float32 and float64 (:func:`fd_errors`,
  :func:`float32_gradcheck`), :func:`derivatives_of_tanh` (second derivatives with
  ``create_graph``), and their plots;
* the explorers :func:`make_broadcast_explorer` and :func:`make_eps_explorer`;
* the registrations of exercises 02.1 to 02.4.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import minigrad as mg
from minigrad.course import checks
from minigrad.course.checks import Case, Exercise, register
from minigrad.course.graphs import _parents, draw_dag, graph_of
from minigrad.course.widgets import Explorer
from minigrad.function import Function
from minigrad.tensor import Tensor
from minigrad.testing import GradcheckError, gradcheck, gradgradcheck, numerical_grad

__all__ = [
    "BROADCAST_OPS",
    "FD_FUNCTIONS",
    "broadcast_report",
    "derivatives_of_tanh",
    "describe_broadcast",
    "div_backward",
    "draw_tensor_graph",
    "fd_errors",
    "float32_gradcheck",
    "graph_of",
    "make_broadcast_explorer",
    "make_eps_explorer",
    "make_function",
    "my_div",
    "my_sigmoid",
    "my_sum",
    "plot_derivatives",
    "plot_fd_errors",
    "sigmoid_backward",
    "sum_backward",
    "sum_to_array",
]

# ============================================================================================
# 1. The graph behind a tensor


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


# ============================================================================================
# 3. Backward functions (the exercises' references) and Function classes built from them


def div_backward(ctx, grad):
    """y = a / b: dL/da = grad / b, dL/db = -grad * a / b^2, each summed to its input's shape.

    Reference of exercise 02.2.
    """
    a, b = ctx.inputs
    shape_a, shape_b = ctx.input_shapes
    return mg.sum_to(grad / b, shape_a), mg.sum_to(-grad * a / (b * b), shape_b)


def sigmoid_backward(ctx, grad):
    """y = sigmoid(x): dy/dx = y (1 - y), with y the saved output (reference of 02.3)."""
    y = ctx.output
    return grad * (y * (1.0 - y))


def sum_backward(ctx, grad):
    """y = x.sum(axis, keepdims): every entry of x gets the gradient of the sum it went into.

    Put the reduced axes back as size 1 (unless keepdims kept them), then broadcast to x's
    shape. Reference of exercise 02.4.
    """
    shape = ctx.input_shapes[0]
    if not ctx.keepdims:
        axes = range(len(shape)) if ctx.axes is None else ctx.axes
        kept = tuple(1 if i in axes else s for i, s in enumerate(shape))
        grad = mg.reshape(grad, kept)
    return mg.broadcast_to(grad, shape)


def _div_forward(ctx, a, b):
    return a / b


def _sigmoid_forward(ctx, x):
    xp = mg.get_array_module(x)
    return (xp.tanh(x * x.dtype.type(0.5)) + 1) * x.dtype.type(0.5)


def _sum_forward(ctx, x, axis=None, keepdims=False):
    if axis is not None:
        axis = tuple(sorted(a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis)))
    ctx.axes, ctx.keepdims = axis, keepdims
    return x.sum(axis=axis, keepdims=keepdims)


def make_function(name: str, forward: Callable, backward: Callable, save_inputs: bool = True,
                  save_output: bool = False) -> type:
    """A :class:`~minigrad.function.Function` subclass from a forward and a backward function.

    ``forward(ctx, *arrays, **params)`` and ``backward(ctx, grad)`` are exactly the two static
    methods a Function defines; use ``MyOp.apply(x, ...)`` to run it.
    """
    return type(
        name,
        (Function,),
        {
            "forward": staticmethod(forward),
            "backward": staticmethod(backward),
            "save_inputs": save_inputs,
            "save_output": save_output,
            "__doc__": f"{name}, built by make_function from {getattr(backward, '__name__', '')}",
        },
    )


def my_div(backward: Callable = div_backward) -> type:
    """A Div Function (saves its inputs) with the given backward."""
    return make_function("MyDiv", _div_forward, backward)


def my_sigmoid(backward: Callable = sigmoid_backward) -> type:
    """A Sigmoid Function (saves its output, not its input) with the given backward."""
    return make_function("MySigmoid", _sigmoid_forward, backward, save_inputs=False,
                         save_output=True)


def my_sum(backward: Callable = sum_backward) -> type:
    """A Sum Function (saves nothing but ctx.axes and ctx.keepdims) with the given backward."""
    return make_function("MySum", _sum_forward, backward, save_inputs=False)


# ============================================================================================
# 4. Gradient checking: finite differences in float32 and float64

#: name -> (f on tensors, exact f' on float64 arrays), for the finite-difference study.
FD_FUNCTIONS: dict[str, tuple[Callable, Callable]] = {
    "tanh(x)": (lambda x: x.tanh(), lambda x: 1 - np.tanh(x) ** 2),
    "exp(x)": (lambda x: x.exp(), np.exp),
    "sigmoid(x)": (lambda x: x.sigmoid(),
                   lambda x: 0.25 * (1 - np.tanh(x / 2) ** 2)),
    "x³": (lambda x: x * x * x, lambda x: 3 * x**2),
}


def fd_errors(name: str = "tanh(x)", eps=None, dtype: str = "float64", n: int = 16,
              seed: int = 0) -> dict:
    """Relative error of central differences of ``name`` computed in ``dtype``, per step eps.

    For n points x ~ U(-1.5, 1.5), the function is evaluated by minigrad in ``dtype`` at
    x +- eps; the error is max |numeric - exact| / max(|exact|, 1e-3) against the exact
    derivative in float64. Returns ``{"eps", "error"}``.
    """
    f, df = FD_FUNCTIONS[name]
    eps = np.logspace(-12, -1, 45) if eps is None else np.atleast_1d(np.asarray(eps, float))
    x = np.random.default_rng(seed).uniform(-1.5, 1.5, n)
    exact = df(x)
    errs = []
    for e in eps:
        xs = mg.tensor(x, dtype=dtype)
        step = xs.data.dtype.type(e)
        with mg.no_grad():
            plus = f(mg.tensor(xs.data + step)).numpy().astype(np.float64)
            minus = f(mg.tensor(xs.data - step)).numpy().astype(np.float64)
        numeric = (plus - minus) / (2 * e)  # as gradcheck does: divide by the step asked for
        errs.append(float(np.max(np.abs(numeric - exact) / np.maximum(np.abs(exact), 1e-3))))
    return {"eps": eps, "error": np.array(errs)}


def plot_fd_errors(curves: dict, eps: float | None = None, title: str = "", ax=None):
    """Log-log plot of ``{label: fd_errors(...)}`` curves, with an optional marked eps."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 4))
    fig = ax.figure
    for k, (label, res) in enumerate(curves.items()):
        ax.loglog(res["eps"], np.maximum(res["error"], 1e-16), "o-", ms=3, color=f"C{k}",
                  label=label)
    ax.axhline(1e-4, color="0.3", ls=":", lw=1, label="gradcheck's rtol (1e-4)")
    if eps is not None:
        ax.axvline(eps, color="C3", lw=1, ls="--", label=f"eps = {eps:.1e}")
    ax.set_ylim(1e-12, 10)
    ax.set_xlabel("finite-difference step eps")
    ax.set_ylabel("relative error of the central difference")
    ax.set_title(title or "Central differences: float32 vs float64", fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def float32_gradcheck(fn: Callable = lambda x: (x * x).tanh(), shape=(2, 3), eps: float = 1e-6,
                      seed: int = 0) -> dict:
    """What :func:`gradcheck` would see in float32: the worst relative error, numeric vs exact.

    ``gradcheck`` refuses float32 inputs; this runs its steps by hand (the same
    :func:`~minigrad.testing.numerical_grad`) on float32 and float64 copies of the same input.
    Returns ``{"float32": err, "float64": err}``.
    """
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-1.0, 1.0, shape)
    w = rng.standard_normal(shape)
    out = {}
    for dtype in ("float32", "float64"):
        x = mg.tensor(x0, dtype=dtype, requires_grad=True)
        weights = mg.tensor(w, dtype=dtype)
        analytic = mg.grad((fn(x) * weights).sum(), x).numpy().astype(np.float64)
        (numeric,) = numerical_grad(fn, [x], weights, eps)
        err = np.abs(analytic - numeric) / np.maximum(np.maximum(np.abs(analytic),
                                                                 np.abs(numeric)), 1e-2)
        out[dtype] = float(err.max())
    return out


def derivatives_of_tanh(xs=None) -> dict:
    """tanh and its first and second derivatives by minigrad (``create_graph=True``).

    Returns ``{"x", "f", "df", "d2f"}`` as float64 arrays.
    """
    xs = np.linspace(-3, 3, 121) if xs is None else np.asarray(xs, np.float64)
    x = mg.tensor(xs, dtype="float64", requires_grad=True)
    y = x.tanh()
    (dy,) = mg.grad(y.sum(), [x], create_graph=True)  # one entry per x: elementwise f'
    (d2y,) = mg.grad(dy.sum(), [x])
    return {"x": xs, "f": y.numpy(), "df": dy.numpy(), "d2f": d2y.numpy()}


def plot_derivatives(res: dict, ax=None):
    """Plot :func:`derivatives_of_tanh`'s three curves."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.6))
    fig = ax.figure
    ax.plot(res["x"], res["f"], lw=2, label="tanh x")
    ax.plot(res["x"], res["df"], lw=2, label="first derivative (grad)")
    ax.plot(res["x"], res["d2f"], lw=2, label="second derivative (grad of grad)")
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xlabel("x")
    ax.set_title("Differentiating the backward pass: create_graph=True", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# ============================================================================================
# 5. Explorers

_SHAPES = ["()", "(1,)", "(3,)", "(4,)", "(4, 1)", "(1, 3)", "(4, 3)", "(2, 1, 3)", "(2, 4, 1)"]


def _parse_shape(text: str) -> tuple:
    text = text.strip()
    if text in ("()", ""):
        return ()
    inner = text.strip("()")
    return tuple(int(v) for v in inner.split(",") if v.strip())


def describe_broadcast(res: dict, shape_a, shape_b) -> str:
    """The broadcast report as a few lines of text (what the explorer shows)."""
    if not res["ok"]:
        return f"✗ {res['message']}"
    lines = [f"y = {res['op']}: output shape {res['out_shape']}"]
    for name, shape, gshape, axes, local in zip("ab", (shape_a, shape_b), res["grad_shapes"],
                                                res["summed"], _LOCAL_GRADS[res["op"]]):
        how = f"summed over output axes {tuple(axes)}" if axes else "no summing needed"
        lines.append(f"dL/d{name} = sum_to({local}, {tuple(shape)}): shape {gshape} ({how})")
    lines.append("gradcheck (float64): " + ("passed ✓" if res["gradcheck"] else "FAILED ✗"))
    return "\n".join(lines)


def make_broadcast_explorer(op: str = "a * b", shape_a: str = "(4, 3)",
                            shape_b: str = "(3,)") -> Explorer:
    """Pick an op and two shapes: see the output shape, the gradient shapes, which axes
    ``sum_to`` summed, and whether gradcheck passes. ``result`` is :func:`broadcast_report`'s
    dict plus ``"text"``."""
    import ipywidgets as widgets

    controls = {
        "op": widgets.Dropdown(options=list(BROADCAST_OPS), value=op, description="op"),
        "shape_a": widgets.Dropdown(options=_SHAPES, value=shape_a, description="a.shape"),
        "shape_b": widgets.Dropdown(options=_SHAPES, value=shape_b, description="b.shape"),
    }

    def compute(op, shape_a, shape_b):
        sa, sb = _parse_shape(shape_a), _parse_shape(shape_b)
        res = broadcast_report(op, sa, sb)
        res["text"] = describe_broadcast(res, sa, sb)
        return res

    def render(res):
        print(res["text"])

    return Explorer(controls, compute, render, title="Broadcasting forward, summing backward")


def make_eps_explorer(function: str = "tanh(x)", log10_eps: float = -6.0) -> Explorer:
    """Slide the finite-difference step: the central-difference error in float32 and float64.

    Controls ``"function"`` (Dropdown) and ``"log10_eps"`` (FloatSlider). ``result``:
    ``{"eps", "float32", "float64", "curves"}`` with the two errors at eps.
    """
    import ipywidgets as widgets

    controls = {
        "function": widgets.Dropdown(options=list(FD_FUNCTIONS), value=function,
                                     description="f(x) ="),
        "log10_eps": widgets.FloatSlider(value=log10_eps, min=-12.0, max=-1.0, step=0.5,
                                         description="log10 eps", continuous_update=False,
                                         readout_format=".1f"),
    }

    cache: dict = {}  # the curves do not depend on eps: compute them once per function

    def compute(function, log10_eps):
        eps = 10.0**log10_eps
        if function not in cache:
            cache[function] = {dt: fd_errors(function, dtype=dt) for dt in ("float32", "float64")}
        curves = cache[function]
        at = {dt: float(fd_errors(function, eps=[eps], dtype=dt)["error"][0])
              for dt in ("float32", "float64")}
        return {"function": function, "eps": eps, **at, "curves": curves}

    def render(res):
        verdict = {dt: "passes" if res[dt] <= 1e-4 else "fails" for dt in ("float32", "float64")}
        print(f"eps = {res['eps']:.1e}:  float32 error {res['float32']:.1e} "
              f"({verdict['float32']} rtol 1e-4),  float64 error {res['float64']:.1e} "
              f"({verdict['float64']})")
        title = f"Central differences of {res['function']}"
        return plot_fd_errors(res["curves"], res["eps"], title)

    return Explorer(controls, compute, render, title="The finite-difference step, two precisions")


# ============================================================================================
# 6. Exercise checks


def _sum_to_cases():
    rng = np.random.default_rng(0)
    pairs = [((2, 3), (3,)), ((2, 3), (1, 3)), ((2, 3), (2, 1)), ((4, 2, 3), (2, 1)),
             ((4, 2, 3), (4, 1, 3)), ((4, 2, 3), (1, 1)), ((5,), ()), ((2, 3), (2, 3)),
             ((3, 1, 4), (1, 4))]
    return [
        Case((rng.standard_normal(g), s), label=f"sum_to_array(g of shape {g}, {s})")
        for g, s in pairs
    ]


register(
    Exercise(
        id="02.1",
        title="sum_to: undoing broadcasting",
        reference=sum_to_array,
        cases=_sum_to_cases,
        rtol=1e-10,
        atol=1e-12,
        hint=(
            "First sum over the g.ndim - len(shape) leading axes (axis=tuple(range(lead))), "
            "then sum with keepdims=True over every axis i where shape[i] == 1 but "
            "g.shape[i] != 1. The result must have exactly `shape`."
        ),
    )
)


class _NotATensor(Exception):
    """The learner's backward returned something that is not a Tensor (or None)."""


def _guard_backward(fn):
    """Wrap a learner's backward so a wrong return type is reported, not crashed on."""

    def backward(ctx, grad):
        out = fn(ctx, grad)
        for g in out if isinstance(out, tuple) else (out,):
            if g is not None and not isinstance(g, Tensor):
                raise _NotATensor(
                    f"backward returned a {type(g).__name__}; return Tensors built with Tensor "
                    "ops (grad * b, mg.sum_to(...)), not NumPy arrays, so the engine can "
                    "differentiate through them"
                )
        return out

    return backward


def _gradcheck_checker(make_class: Callable, cases: Callable, second_order: set):
    """Checker: gradcheck ``make_class(learner_backward)`` on each case (float64).

    ``cases()`` yields ``(label, apply, arrays)``: ``apply(cls, *tensors)`` runs the op.
    Cases whose label is in ``second_order`` are also gradgradchecked.
    """

    def checker(fn):
        cls = make_class(_guard_backward(fn))
        for label, apply, arrays in cases():
            inputs = [mg.tensor(a, dtype="float64", requires_grad=True) for a in arrays]

            def f(*xs, apply=apply):
                return apply(cls, *xs)

            problem = None
            try:
                gradcheck(f, inputs)
                if label in second_order:
                    problem = _detached_gradient(f, inputs)
                    if problem is None:
                        gradgradcheck(f, inputs)
            except checks._LearnerError:
                raise
            except GradcheckError as err:
                problem = str(err).replace("gradcheck: ", "")
                if label in second_order:
                    problem = "the second derivatives disagree: " + problem
            except _NotATensor as err:
                problem = str(err)
            except Exception as err:  # the engine refused what backward returned
                first = str(err).strip().splitlines()[0] if str(err).strip() else ""
                problem = f"{type(err).__name__}: {first}"
            yield label, problem

    return checker


def _detached_gradient(f: Callable, inputs: list) -> str | None:
    """A problem when the gradients of ``f`` come back cut from the graph under create_graph.

    (``gradgradcheck`` alone does not notice: it treats a disconnected first derivative as a
    constant.)
    """
    out = f(*inputs)
    # The upstream gradient itself requires grad, so even a linear op's gradient (which does
    # not depend on the inputs) must come back connected to it.
    v = mg.tensor(np.random.default_rng(5).standard_normal(out.shape), dtype=out.dtype,
                  requires_grad=True)
    grads = mg.grad([out], inputs, grad_outputs=[v], create_graph=True, allow_unused=True)
    for k, g in enumerate(grads):
        if g is not None and not g.requires_grad:
            return (
                f"with create_graph=True the gradient of input {k} is not "
                "connected to the graph; compute it with Tensor ops on ctx.inputs/ctx.output "
                "and grad, never through .data or new tensors"
            )
    return None


_TWICE = "{}, differentiated twice (create_graph=True)"


def _div_cases():
    rng = np.random.default_rng(2)

    def div(cls, a, b):
        return cls.apply(a, b)

    shapes = [((3,), (3,)), ((2, 3), (3,)), ((2, 3), (2, 1)), ((), (2, 2)), ((4, 1, 3), (2, 1))]
    out = []
    for sa, sb in shapes:
        a = rng.uniform(-2, 2, sa)
        b = rng.uniform(0.5, 2, sb) * rng.choice([-1, 1], sb)
        out.append((f"a{sa} / b{sb}", div, (a, b)))
    out.append((_TWICE.format("a(2, 3) / b(3,)"), div,
                (rng.uniform(-2, 2, (2, 3)), rng.uniform(0.5, 2, (3,)))))
    return out


def _sigmoid_cases():
    rng = np.random.default_rng(3)

    def sig(cls, x):
        return cls.apply(x)

    return [
        ("sigmoid of x(5,)", sig, (rng.uniform(-4, 4, 5),)),
        ("sigmoid of x(2, 3)", sig, (rng.uniform(-4, 4, (2, 3)),)),
        (_TWICE.format("sigmoid of x(4,)"), sig, (rng.uniform(-3, 3, 4),)),
    ]


def _sum_cases():
    rng = np.random.default_rng(4)

    def summer(axis, keepdims):
        def run(cls, x):
            return cls.apply(x, axis=axis, keepdims=keepdims)

        return run

    specs = [(None, False), (0, False), (1, True), ((0, 2), False), (-1, False), (None, True)]
    out = [
        (f"x(2, 3, 4).sum(axis={axis}, keepdims={kd})", summer(axis, kd),
         (rng.standard_normal((2, 3, 4)),))
        for axis, kd in specs
    ]
    out.append((_TWICE.format("x(3, 2).sum(axis=0)"), summer(0, False),
                (rng.standard_normal((3, 2)),)))
    return out


register(
    Exercise(
        id="02.2",
        title="the backward of division, with broadcasting",
        reference=div_backward,
        checker=_gradcheck_checker(my_div, _div_cases,
                                   {_TWICE.format("a(2, 3) / b(3,)")}),
        hint=(
            "a, b = ctx.inputs; sa, sb = ctx.input_shapes. d(a/b)/da = 1/b and "
            "d(a/b)/db = -a/b**2: return mg.sum_to(grad / b, sa), "
            "mg.sum_to(-grad * a / (b * b), sb)."
        ),
    )
)

register(
    Exercise(
        id="02.3",
        title="the backward of sigmoid",
        reference=sigmoid_backward,
        checker=_gradcheck_checker(my_sigmoid, _sigmoid_cases,
                                   {_TWICE.format("sigmoid of x(4,)")}),
        hint=(
            "The forward saved its output, not its input: y = ctx.output, and "
            "d sigmoid(x)/dx = y * (1 - y). Return grad * (y * (1.0 - y))."
        ),
    )
)

register(
    Exercise(
        id="02.4",
        title="the backward of sum",
        reference=sum_backward,
        checker=_gradcheck_checker(my_sum, _sum_cases,
                                   {_TWICE.format("x(3, 2).sum(axis=0)")}),
        hint=(
            "shape = ctx.input_shapes[0]. Unless ctx.keepdims, reshape grad so that every "
            "summed axis (all of them if ctx.axes is None) has size 1, then return "
            "mg.broadcast_to(grad, shape)."
        ),
    )
)
