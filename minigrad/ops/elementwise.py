"""Elementwise functions. Each backward multiplies the upstream gradient by the derivative."""

from __future__ import annotations

from ..backend import get_array_module
from ..function import Function
from ..tensor import Tensor
from ._util import lift, lift_pair
from .reduce import sum_to


def _const(array) -> Tensor:
    return Tensor._make(array)


class Exp(Function):
    """y = e^x.  dy/dx = e^x = y."""

    save_inputs = False
    save_output = True

    @staticmethod
    def forward(ctx, x):
        return get_array_module(x).exp(x)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.output


class Log(Function):
    """y = ln x.  dy/dx = 1/x."""

    @staticmethod
    def forward(ctx, x):
        xp = get_array_module(x)
        with _errstate(xp):
            return xp.log(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.inputs
        return g / x


class Sqrt(Function):
    """y = sqrt(x).  dy/dx = 1 / (2 y)."""

    save_inputs = False
    save_output = True

    @staticmethod
    def forward(ctx, x):
        xp = get_array_module(x)
        with _errstate(xp):
            return xp.sqrt(x)

    @staticmethod
    def backward(ctx, g):
        return g / (ctx.output * 2.0)


class Abs(Function):
    """y = |x|.  dy/dx = sign(x) (0 at x = 0, the subgradient NumPy's sign gives)."""

    @staticmethod
    def forward(ctx, x):
        return get_array_module(x).abs(x)

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0].data
        return g * _const(get_array_module(x).sign(x))


class Sign(Function):
    """y = sign(x).  dy/dx = 0 almost everywhere."""

    save_inputs = False

    @staticmethod
    def forward(ctx, x):
        return get_array_module(x).sign(x)

    @staticmethod
    def backward(ctx, g):
        return g * 0.0


class Tanh(Function):
    """y = tanh x.  dy/dx = 1 - y^2."""

    save_inputs = False
    save_output = True

    @staticmethod
    def forward(ctx, x):
        return get_array_module(x).tanh(x)

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return g * (1.0 - y * y)


class Sigmoid(Function):
    """y = 1 / (1 + e^-x).  dy/dx = y (1 - y).

    For very negative x, e^-x overflows to inf and y = 1/inf = 0, the right limit; the overflow
    warning is silenced.
    """

    save_inputs = False
    save_output = True

    @staticmethod
    def forward(ctx, x):
        xp = get_array_module(x)
        with _errstate(xp):
            y = xp.exp(-x)
        if x.ndim == 0:  # NumPy gives a scalar here, which reciprocal cannot write into
            y = xp.asarray(y)
        y += 1
        return xp.reciprocal(y, out=y)

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return g * (y * (1.0 - y))


class Relu(Function):
    """y = max(x, 0).  dy/dx = 1 where x > 0, else 0 (read off the output: y > 0 exactly
    where x > 0, so nothing but y is kept)."""

    save_inputs = False
    save_output = True

    @staticmethod
    def forward(ctx, x):
        return get_array_module(x).maximum(x, 0)

    @staticmethod
    def backward(ctx, g):
        y = ctx.output.data
        return g * _const((y > 0).astype(g.dtype))


class Clip(Function):
    """y = min(max(x, lo), hi).  dy/dx = 1 where lo <= x <= hi, else 0."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.lo, ctx.hi = lo, hi
        return get_array_module(x).clip(x, lo, hi)

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0].data
        inside = get_array_module(x).ones(x.shape, bool)
        if ctx.lo is not None:
            inside &= x >= ctx.lo
        if ctx.hi is not None:
            inside &= x <= ctx.hi
        return g * _const(inside.astype(g.dtype))


class Where(Function):
    """y = a where cond else b.  dL/da = dL/dy where cond, dL/db = dL/dy elsewhere."""

    save_inputs = False

    @staticmethod
    def forward(ctx, a, b, cond):
        xp = get_array_module(a, b)
        ctx.cond = xp.broadcast_to(cond, xp.broadcast_shapes(cond.shape, a.shape, b.shape))
        return xp.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.input_shapes
        take = _const(ctx.cond.astype(g.dtype))
        return sum_to(g * take, sa), sum_to(g * (1.0 - take), sb)


def _errstate(xp):
    """Silence NumPy's warnings for log(0), sqrt(-1) and exp overflow (the results are exact
    limits or NaN, which the caller sees); CuPy has no errstate."""
    import contextlib

    if not hasattr(xp, "errstate"):
        return contextlib.nullcontext()
    return xp.errstate(divide="ignore", invalid="ignore", over="ignore")


def exp(x):
    return Exp.apply(x)


def log(x):
    return Log.apply(x)


def sqrt(x):
    return Sqrt.apply(x)


def abs(x):  # noqa: A001 - mirrors numpy
    return Abs.apply(x)


def sign(x):
    return Sign.apply(x)


def tanh(x):
    return Tanh.apply(x)


def sigmoid(x):
    return Sigmoid.apply(x)


def relu(x):
    return Relu.apply(x)


def clip(x, lo=None, hi=None):
    """Clamp to [lo, hi]; either bound may be None."""
    if lo is None and hi is None:
        raise ValueError("clip: give at least one of lo and hi")
    return Clip.apply(x, lo=lo, hi=hi)


def where(cond, a, b):
    """Pick from ``a`` where the boolean array ``cond`` is true, else from ``b``."""
    a, b = lift_pair(a, b)
    if isinstance(cond, Tensor):
        cond = cond.data != 0
    cond = a.xp.asarray(cond)
    if cond.dtype != bool:
        raise TypeError(f"where: cond must be a boolean array, got dtype {cond.dtype}")
    return Where.apply(a, b, cond=cond)


def maximum(a, b):
    """Elementwise max; the gradient goes to ``a`` where a >= b, else to ``b``.

    Ties differ from PyTorch by choice: where a == b the whole gradient goes to ``a``
    (``torch.maximum`` gives half to each). Either is a valid subgradient; this one is a plain
    ``where``.
    """
    a, b = lift_pair(a, b)
    return where(a.data >= b.data, a, b)


def minimum(a, b):
    """Elementwise min; the gradient goes to ``a`` where a <= b, else to ``b``.

    Ties differ from PyTorch by choice: where a == b the whole gradient goes to ``a``
    (``torch.minimum`` gives half to each).
    """
    a, b = lift_pair(a, b)
    return where(a.data <= b.data, a, b)


__all__ = [
    "abs", "clip", "exp", "log", "maximum", "minimum", "relu", "sigmoid", "sign", "sqrt",
    "tanh", "where", "lift",
]
