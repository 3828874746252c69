"""Section 5: the explorers."""

from __future__ import annotations

from minigrad.course.widgets import Explorer

from .gradient_checking import FD_FUNCTIONS, fd_errors, plot_fd_errors
from .graphs_and_broadcasting import _LOCAL_GRADS, BROADCAST_OPS, broadcast_report

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
                                         description="log10 h", continuous_update=False,
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
        print(f"h = {res['eps']:.1e}:  float32 error {res['float32']:.1e} "
              f"({verdict['float32']} rtol 1e-4),  float64 error {res['float64']:.1e} "
              f"({verdict['float64']})")
        title = f"Central differences of {res['function']}"
        return plot_fd_errors(res["curves"], res["eps"], title)

    return Explorer(controls, compute, render, title="The finite-difference step, two precisions")
