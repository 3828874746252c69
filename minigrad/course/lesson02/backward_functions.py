"""Section 3: the backward functions of the exercises (the references) and the Function classes
built from them.
"""

from __future__ import annotations

from collections.abc import Callable

import minigrad as mg
from minigrad.function import Function


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
