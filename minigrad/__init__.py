"""minigrad: a small reverse-mode autograd engine over NumPy (CuPy on a GPU).

    >>> import minigrad as mg
    >>> x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    Tensor([2., 4., 6.], dtype=float32)

Layers, from the bottom up: :mod:`~minigrad.backend` (NumPy/CuPy), :mod:`~minigrad.tensor`
(the data structure), :mod:`~minigrad.function` (graph nodes), :mod:`~minigrad.autograd`
(the backward pass), :mod:`~minigrad.ops` (every differentiable op); then ``nn``, ``optim``,
``data``, ``l2l`` and the course helpers.
"""

from . import backend
from .autograd import backward, grad
from .backend import (
    BackendError,
    cupy_status,
    get_array_module,
    get_default_dtype,
    set_backend,
    set_default_dtype,
)
from .function import Function, GraphFreedError
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .ops import *  # noqa: F403
from .ops import __all__ as _ops_all
from .tensor import Tensor, ones, tensor, zeros

__version__ = "0.1.0"

__all__ = [
    "BackendError", "Function", "GraphFreedError", "Tensor", "backend", "backward",
    "cupy_status", "enable_grad", "get_array_module", "get_default_dtype", "grad",
    "is_grad_enabled", "no_grad", "ones", "set_backend", "set_default_dtype", "set_grad_enabled",
    "tensor", "zeros",
    *_ops_all,
]
