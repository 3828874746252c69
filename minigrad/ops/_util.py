"""Helpers shared by the op files: turning scalars into tensors, checking axes."""

from __future__ import annotations

import numbers
import operator

import numpy as np

from ..backend import device_of
from ..tensor import Tensor


def lift(x, like: Tensor) -> Tensor:
    """Return ``x`` as a Tensor on ``like``'s device and (for scalars) of ``like``'s dtype.

    Python and NumPy scalars and integer arrays adopt ``like``'s dtype; float arrays and
    Tensors must already match (checked by Function.apply), since minigrad never casts or
    copies between devices implicitly.
    """
    if x.__class__ is Tensor or isinstance(x, Tensor):
        return x
    if x.__class__ is float or x.__class__ is int:
        data = like.data
        xp = np if data.__class__ is np.ndarray else like.xp
        return Tensor._make(xp.asarray(x, dtype=data.dtype))
    if isinstance(x, numbers.Number) or getattr(x, "ndim", None) == 0 and device_of(x) == "cpu":
        return Tensor._make(like.xp.asarray(x, dtype=like.dtype))
    if hasattr(x, "dtype") and hasattr(x, "shape"):
        if device_of(x) != like.device:
            from ..backend import BackendError

            raise BackendError(
                f"cannot combine a {device_of(x)} array with a {like.device} tensor; move it "
                "explicitly with Tensor(array).to(device)"
            )
        if x.dtype.kind != "f":
            x = x.astype(like.dtype)
        return Tensor._make(x)
    if isinstance(x, (list, tuple)):
        return Tensor(x, dtype=like.dtype, device=like.device)
    raise TypeError(f"cannot use a {type(x).__name__} as a tensor operand")


def lift_pair(a, b):
    """Lift two operands, at least one of which is a Tensor."""
    if a.__class__ is Tensor and b.__class__ is Tensor:
        return a, b
    like = a if isinstance(a, Tensor) else b
    return lift(a, like), lift(b, like)


def check_axis(axis, ndim, op, n_axes=None):
    """``axis`` as an index in [0, n_axes), counting negative axes from the end.

    ``n_axes`` is the number of valid positions: ``ndim`` (the default), ``ndim + 1`` for an op
    that inserts a new axis (stack). Out of range raises, naming the op, the axis and ``ndim``
    (NumPy and PyTorch raise too; minigrad never wraps an axis around).
    """
    try:
        a = operator.index(axis)
    except TypeError:
        raise TypeError(f"{op}: axis must be an integer, got {axis!r}") from None
    n = ndim if n_axes is None else n_axes
    if not -n <= a < n:
        expected = f"expected {-n} <= axis < {n}" if n else "it has no axes"
        raise ValueError(
            f"{op}: axis {a} is out of range for a tensor with {ndim} dims ({expected})"
        )
    return a % n
