"""All differentiable ops, and the Tensor operators and methods that call them.

Each file holds one family of ops; every op is a :class:`~minigrad.function.Function`
(forward on arrays, backward with Tensor ops) plus a small function that applies it.
"""

from __future__ import annotations

from ..tensor import Tensor
from .arithmetic import add, div, matmul, mul, neg, pow, sub
from .conv import conv2d, max_pool2d
from .elementwise import (
    abs,
    clip,
    exp,
    log,
    maximum,
    minimum,
    relu,
    sigmoid,
    sign,
    sqrt,
    tanh,
    where,
)
from .losses import cross_entropy, log_softmax, mse_loss, softmax
from .norm import batch_norm
from .reduce import broadcast_to, max, mean, sum, sum_to
from .shape import concatenate, getitem, permute, reshape, split, stack, transpose

__all__ = [
    "abs", "add", "batch_norm", "broadcast_to", "clip", "concatenate", "conv2d",
    "cross_entropy", "div", "exp", "getitem", "log", "log_softmax", "matmul", "max",
    "max_pool2d", "maximum", "mean", "minimum", "mse_loss", "mul", "neg", "permute", "pow",
    "relu", "reshape", "sigmoid", "sign", "softmax", "split", "sqrt", "stack", "sub", "sum",
    "sum_to", "tanh", "transpose", "where",
]


def _install_tensor_methods():
    T = Tensor
    T.__add__ = lambda a, b: add(a, b)
    T.__radd__ = lambda a, b: add(b, a)
    T.__sub__ = lambda a, b: sub(a, b)
    T.__rsub__ = lambda a, b: sub(b, a)
    T.__mul__ = lambda a, b: mul(a, b)
    T.__rmul__ = lambda a, b: mul(b, a)
    T.__truediv__ = lambda a, b: div(a, b)
    T.__rtruediv__ = lambda a, b: div(b, a)
    T.__pow__ = lambda a, p: pow(a, p)
    T.__rpow__ = lambda a, b: pow(b, a)
    T.__matmul__ = lambda a, b: matmul(a, b)
    T.__rmatmul__ = lambda a, b: matmul(b, a)
    T.__neg__ = lambda a: neg(a)
    T.__getitem__ = lambda a, index: getitem(a, index)
    # Comparisons give boolean arrays (no gradient), handy for masks and `where`.
    T.__lt__ = lambda a, b: a.data < getattr(b, "data", b)
    T.__le__ = lambda a, b: a.data <= getattr(b, "data", b)
    T.__gt__ = lambda a, b: a.data > getattr(b, "data", b)
    T.__ge__ = lambda a, b: a.data >= getattr(b, "data", b)
    T.sum = lambda a, axis=None, keepdims=False: sum(a, axis, keepdims)
    T.mean = lambda a, axis=None, keepdims=False: mean(a, axis, keepdims)
    T.max = lambda a, axis=None, keepdims=False: max(a, axis, keepdims)
    T.reshape = reshape
    T.transpose = transpose
    T.permute = permute
    T.T = property(lambda a: transpose(a))
    for fn in (exp, log, sqrt, abs, sign, tanh, sigmoid, relu, clip, log_softmax, softmax):
        setattr(T, fn.__name__, fn)


_install_tensor_methods()
