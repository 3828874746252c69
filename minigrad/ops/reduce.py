"""Reductions and their adjoints: sum, mean, max, and broadcast_to / sum_to.

``broadcast_to`` and ``sum_to`` are each other's backward: broadcasting copies a value to many
places, so its gradient adds those places back up. ``sum_to`` is how every broadcasting op
"unbroadcasts" its gradient (HIPS autograd's ``unbroadcast``, Chainer's ``sum_to``).
"""

from __future__ import annotations

from ..backend import get_array_module
from ..function import Function
from ..tensor import Tensor
from ._util import check_axis


def _normalize_axis(axis, ndim, op):
    """The reduced axes as a sorted tuple (None: all of them), each checked to be in range.

    As in NumPy and PyTorch, a 0-d tensor accepts axis 0 or -1, and reducing it over that
    axis reduces nothing (the result is the tensor itself).
    """
    if axis is None:
        return None
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    if ndim == 0:
        for a in axes:
            check_axis(a, 0, op, n_axes=1)
        return ()
    out = [check_axis(a, ndim, op) for a in axes]
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: axis {axis} names an axis twice (tensor with {ndim} dims)")
    return tuple(sorted(out))


def _keepdims_shape(shape, axes):
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class Sum(Function):
    """y = sum of x over ``axis``.  dy/dx = 1, so dL/dx = dL/dy broadcast back to x's shape."""

    save_inputs = False

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.axes = _normalize_axis(axis, x.ndim, "sum")
        return x.sum(axis=ctx.axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        shape = ctx.input_shapes[0]
        return broadcast_to(reshape_(g, _keepdims_shape(shape, ctx.axes)), shape)


class Max(Function):
    """y = max of x over ``axis``. The gradient goes to the maximal entries (split on ties):
    dy/dx = mask / (number of maximal entries), mask = (x == max); a constant w.r.t. x."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.axes = _normalize_axis(axis, x.ndim, "max")
        if x.size == 0:
            raise ValueError(f"max: cannot reduce an empty tensor of shape {x.shape}")
        y = x.max(axis=ctx.axes, keepdims=True)
        return y if keepdims else y.reshape(
            tuple(s for i, s in enumerate(x.shape) if ctx.axes is not None and i not in ctx.axes)
        )

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0].data
        shape = ctx.input_shapes[0]
        mask = (x == x.max(axis=ctx.axes, keepdims=True)).astype(x.dtype)
        share = mask / mask.sum(axis=ctx.axes, keepdims=True)
        g = broadcast_to(reshape_(g, _keepdims_shape(shape, ctx.axes)), shape)
        return g * Tensor._make(share)


class BroadcastTo(Function):
    """y = x repeated along new or size-1 axes.  dL/dx = sum_to(dL/dy, x.shape)."""

    save_inputs = False

    @staticmethod
    def forward(ctx, x, shape):
        xp = get_array_module(x)
        try:
            return xp.broadcast_to(x, shape)
        except ValueError:
            raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}") from None

    @staticmethod
    def backward(ctx, g):
        return sum_to(g, ctx.input_shapes[0])


class SumTo(Function):
    """Sum ``x`` down to ``shape`` (the inverse of broadcasting).  dL/dx = broadcast(dL/dy)."""

    save_inputs = False

    @staticmethod
    def forward(ctx, x, shape):
        return _sum_to_array(x, shape)

    @staticmethod
    def backward(ctx, g):
        return broadcast_to(g, ctx.input_shapes[0])


def _sum_to_array(x, shape):
    lead = x.ndim - len(shape)
    if lead < 0:
        raise ValueError(f"sum_to: cannot sum shape {x.shape} to the larger shape {shape}")
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and x.shape[lead + i] != 1
    )
    y = x.sum(axis=axes, keepdims=True) if axes else x
    return y.reshape(shape) if lead or y.shape != tuple(shape) else y


def sum(x: Tensor, axis=None, keepdims=False) -> Tensor:  # noqa: A001 - mirrors numpy
    return Sum.apply(x, axis=axis, keepdims=keepdims)


def mean(x: Tensor, axis=None, keepdims=False) -> Tensor:
    """Mean over ``axis``: the sum divided by the number of entries reduced."""
    axes = _normalize_axis(axis, x.ndim, "mean")
    n = x.size if axes is None else int(_prod(x.shape[a] for a in axes))
    if n == 0:
        raise ValueError(f"mean: cannot average over an empty axis of shape {x.shape}")
    return Sum.apply(x, axis=axes, keepdims=keepdims) * (1.0 / n)


def max(x: Tensor, axis=None, keepdims=False) -> Tensor:  # noqa: A001 - mirrors numpy
    return Max.apply(x, axis=axis, keepdims=keepdims)


def broadcast_to(x: Tensor, shape) -> Tensor:
    shape = tuple(shape)
    return x if x.shape == shape else BroadcastTo.apply(x, shape=shape)


def sum_to(x: Tensor, shape) -> Tensor:
    shape = tuple(shape)
    return x if x.shape == shape else SumTo.apply(x, shape=shape)


def _prod(it):
    p = 1
    for v in it:
        p *= v
    return p


def reshape_(x, shape):
    from .shape import reshape

    return reshape(x, shape)
