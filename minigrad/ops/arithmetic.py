"""Arithmetic: + - * / ** negation and matrix multiplication.

Binary ops broadcast their inputs like NumPy. In backward, a gradient computed at the
broadcast shape is summed back to each input's own shape with :func:`sum_to`.
"""

from __future__ import annotations

import numbers

from ..backend import get_array_module
from ..function import Function
from ..tensor import Tensor
from ._util import lift_pair
from .elementwise import _errstate, log, where
from .reduce import sum_to
from .shape import reshape


def _broadcast_error(op, a, b):
    raise ValueError(f"{op}: shapes {a.shape} and {b.shape} cannot be broadcast together")


class Add(Function):
    """y = a + b.  dL/da = dL/dy, dL/db = dL/dy (each summed to its input's shape)."""

    save_inputs = False

    @staticmethod
    def forward(ctx, a, b):
        try:
            return a + b
        except ValueError:
            _broadcast_error("add", a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.input_shapes
        return sum_to(g, sa), sum_to(g, sb)


class Sub(Function):
    """y = a - b.  dL/da = dL/dy, dL/db = -dL/dy."""

    save_inputs = False

    @staticmethod
    def forward(ctx, a, b):
        try:
            return a - b
        except ValueError:
            _broadcast_error("sub", a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.input_shapes
        return sum_to(g, sa), sum_to(-g, sb)


class Mul(Function):
    """y = a * b.  dL/da = dL/dy * b, dL/db = dL/dy * a."""

    @staticmethod
    def forward(ctx, a, b):
        try:
            return a * b
        except ValueError:
            _broadcast_error("mul", a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.inputs
        sa, sb = ctx.input_shapes
        return sum_to(g * b, sa), sum_to(g * a, sb)


class Div(Function):
    """y = a / b.  dL/da = dL/dy / b, dL/db = -dL/dy * a / b^2."""

    @staticmethod
    def forward(ctx, a, b):
        try:
            return a / b
        except ValueError:
            _broadcast_error("div", a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.inputs
        sa, sb = ctx.input_shapes
        gb = sum_to(-g * a / (b * b), sb) if ctx.next[1] is not None else None
        return sum_to(g / b, sa), gb


class Neg(Function):
    """y = -x.  dL/dx = -dL/dy."""

    save_inputs = False

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        return -g


class Pow(Function):
    """y = x ** p for a constant exponent p.  dL/dx = dL/dy * p * x^(p-1).

    For p = 0 (y = 1 everywhere) the gradient is 0, also at x = 0 where p * x^(p-1) would be
    0 * inf = NaN (PyTorch's convention).
    """

    @staticmethod
    def forward(ctx, x, p):
        ctx.p = p
        return x ** x.dtype.type(p)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.inputs
        p = ctx.p
        if p == 2:
            return g * (x * 2.0)
        if p == 0:
            return g * 0.0
        return g * (x ** (p - 1) * float(p))


class PowTensor(Function):
    """y = a ** b for a tensor exponent, with PyTorch's values and gradients at the edges.

    dL/da = dL/dy * b * a^(b-1), taken as 0 where b = 0 (y = 1 there, even at a = 0);
    dL/db = dL/dy * y * ln a, taken as 0 where a = 0 and b >= 0.
    A negative base has a real power only for an integer-valued exponent: then y is exact
    ((-2) ** 3 = -8) and so is dL/da, while dL/db = y * ln a is NaN, as in PyTorch; other
    exponents give NaN. 0 ** b is 1 for b = 0 and inf for b < 0 (dL/da = inf for 0 < b < 1).
    """

    save_output = True

    @staticmethod
    def forward(ctx, a, b):
        xp = get_array_module(a, b)
        try:
            with _errstate(xp):
                return xp.power(a, b)
        except ValueError:
            _broadcast_error("pow", a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.inputs
        sa, sb = ctx.input_shapes
        ga = gb = None
        with _errstate(a.xp):  # 0 * inf in the branch that `where` drops
            if ctx.next[0] is not None:
                ga = sum_to(where(b.data == 0, 0.0, g * b * a ** (b - 1.0)), sa)
            if ctx.next[1] is not None:
                at_zero = (a.data == 0) & (b.data >= 0)
                gb = sum_to(where(at_zero, 0.0, g * ctx.output * log(a)), sb)
        return ga, gb


class MatMul(Function):
    """y = a @ b (NumPy's matmul rules: vectors, matrices, batched stacks).

    For matrices, dL/da = dL/dy @ b^T and dL/db = a^T @ dL/dy. Vectors are treated as a row
    (left operand) or column (right operand) and the extra axis removed again; batch axes that
    were broadcast are summed back.
    """

    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(
                f"matmul: operands must have at least 1 dim; got shapes {a.shape} and {b.shape} "
                "(use * for scalars)"
            )
        k_a = a.shape[-1]
        k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if k_a != k_b:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} do not align (inner dims {k_a} != {k_b})"
            )
        try:
            return a @ b
        except ValueError:
            raise ValueError(
                f"matmul: batch dims of shapes {a.shape} and {b.shape} cannot be broadcast"
            ) from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.inputs
        sa, sb = ctx.input_shapes
        # Promote vectors to a row (left) / column (right) matrix, as matmul does.
        a2 = reshape(a, (1,) + sa) if len(sa) == 1 else a
        b2 = reshape(b, sb + (1,)) if len(sb) == 1 else b
        if len(sa) == 1 and len(sb) == 1:
            g2 = reshape(g, (1, 1))
        elif len(sa) == 1:
            g2 = reshape(g, g.shape[:-1] + (1, g.shape[-1]))
        elif len(sb) == 1:
            g2 = reshape(g, g.shape + (1,))
        else:
            g2 = g
        ga = gb = None
        if ctx.next[0] is not None:
            ga = reshape(sum_to(matmul(g2, swap_last(b2)), a2.shape), sa)
        if ctx.next[1] is not None:
            gb = reshape(sum_to(matmul(swap_last(a2), g2), b2.shape), sb)
        return ga, gb


def swap_last(x: Tensor) -> Tensor:
    """Swap the last two axes (the matrix transpose of a stack of matrices)."""
    from .shape import Transpose

    axes = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
    return Transpose.apply(x, axes=axes)  # valid by construction: no checks of user axes


def add(a, b) -> Tensor:
    return Add.apply(*lift_pair(a, b))


def sub(a, b) -> Tensor:
    return Sub.apply(*lift_pair(a, b))


def mul(a, b) -> Tensor:
    return Mul.apply(*lift_pair(a, b))


def div(a, b) -> Tensor:
    return Div.apply(*lift_pair(a, b))


def neg(x: Tensor) -> Tensor:
    return Neg.apply(x)


def pow(x, p) -> Tensor:  # noqa: A001 - mirrors the builtin
    """``x ** p``: Pow for a constant exponent, PowTensor for a tensor one (or ``2.0 ** x``)."""
    if isinstance(x, Tensor) and isinstance(p, numbers.Number):
        return Pow.apply(x, p=float(p))
    return PowTensor.apply(*lift_pair(x, p))


def matmul(a, b) -> Tensor:
    return MatMul.apply(*lift_pair(a, b))
