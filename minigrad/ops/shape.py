"""Ops that move entries around without changing them: reshape, transpose, indexing,
concatenate, stack, split. Their gradients move the upstream gradient back."""

from __future__ import annotations

from ..backend import get_array_module
from ..function import Function
from ..tensor import Tensor
from ._util import check_axis


class Reshape(Function):
    """y = x viewed with a new shape.  dL/dx = dL/dy reshaped back."""

    save_inputs = False

    @staticmethod
    def forward(ctx, x, shape):
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} entries) "
                f"into shape {shape}"
            ) from None

    @staticmethod
    def backward(ctx, g):
        return reshape(g, ctx.input_shapes[0])


class Transpose(Function):
    """y = x with its axes permuted.  dL/dx = dL/dy permuted by the inverse permutation."""

    save_inputs = False

    @staticmethod
    def forward(ctx, x, axes):
        if sorted(axes) != list(range(x.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of {x.ndim} dims")
        ctx.axes = axes
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        inverse = [0] * len(ctx.axes)
        for i, a in enumerate(ctx.axes):
            inverse[a] = i
        return transpose(g, tuple(inverse))


def _is_basic(index):
    """True when the index uses only ints, slices, None and Ellipsis (no index arrays)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, slice, type(None), type(Ellipsis))) for i in items)


def _normalize_index(index, xp):
    if isinstance(index, Tensor):
        raise TypeError(
            "indexing with a Tensor: minigrad tensors hold floats; index with an integer or "
            "boolean array (e.g. labels as a NumPy int array) instead"
        )
    items = index if isinstance(index, tuple) else (index,)
    out = tuple(xp.asarray(i) if isinstance(i, list) else i for i in items)
    return out if isinstance(index, tuple) else out[0]


class GetItem(Function):
    """y = x[index] (basic and integer/boolean-array indexing).

    dL/dx is zero except at the selected places, where the upstream gradient is added (added,
    not assigned: an integer index may select the same entry twice).
    """

    save_inputs = False

    @staticmethod
    def forward(ctx, x, index):
        ctx.index = index
        try:
            return x[index]
        except IndexError as exc:
            raise IndexError(f"getitem: index {index!r} on shape {x.shape}: {exc}") from None

    @staticmethod
    def backward(ctx, g):
        return ScatterAdd.apply(g, index=ctx.index, shape=ctx.input_shapes[0])


class ScatterAdd(Function):
    """y = zeros(shape) with x added at ``index`` (the adjoint of indexing)."""

    save_inputs = False

    @staticmethod
    def forward(ctx, x, index, shape):
        xp = get_array_module(x)
        ctx.index = index
        y = xp.zeros(shape, x.dtype)
        if _is_basic(index):
            y[index] = x
        elif hasattr(xp, "add") and hasattr(xp.add, "at"):
            xp.add.at(y, index, x)
        else:  # pragma: no cover - older CuPy
            import cupyx

            cupyx.scatter_add(y, index, x)
        return y

    @staticmethod
    def backward(ctx, g):
        return GetItem.apply(g, index=ctx.index)


class Concatenate(Function):
    """y = [x1, x2, ...] joined along ``axis``.  dL/dxi = the slice of dL/dy where xi went."""

    save_inputs = False

    @staticmethod
    def forward(ctx, *xs, axis=0):
        xp = get_array_module(*xs)
        ctx.axis = axis
        try:
            return xp.concatenate(xs, axis=axis)
        except ValueError:
            shapes = ", ".join(str(x.shape) for x in xs)
            raise ValueError(f"concatenate: shapes {shapes} do not fit along axis {axis}") from None

    @staticmethod
    def backward(ctx, g):
        axis = ctx.axis % g.ndim
        grads, start = [], 0
        for shape in ctx.input_shapes:
            index = [slice(None)] * g.ndim
            index[axis] = slice(start, start + shape[axis])
            grads.append(g[tuple(index)])
            start += shape[axis]
        return tuple(grads)


def reshape(x: Tensor, *shape) -> Tensor:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    shape = tuple(int(s) for s in shape)
    return x if x.shape == shape else Reshape.apply(x, shape=shape)


def transpose(x: Tensor, axes=None, _op="transpose") -> Tensor:
    """Permute axes (default: reverse them, as NumPy's ``.T``); negative axes count from the end."""
    if axes is None:
        axes = tuple(reversed(range(x.ndim)))
    else:
        given, axes = tuple(axes), tuple([check_axis(a, x.ndim, _op) for a in axes])
        if sorted(axes) != list(range(x.ndim)):
            raise ValueError(f"{_op}: axes {given} are not a permutation of {x.ndim} dims")
    return Transpose.apply(x, axes=axes)


def permute(x: Tensor, *axes) -> Tensor:
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = axes[0]
    return transpose(x, axes, _op="permute")


def getitem(x: Tensor, index) -> Tensor:
    return GetItem.apply(x, index=_normalize_index(index, x.xp))


def concatenate(tensors, axis=0) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate: need at least one tensor")
    axis = check_axis(axis, tensors[0].ndim, "concatenate")
    return Concatenate.apply(*tensors, axis=axis)


def stack(tensors, axis=0) -> Tensor:
    """Join tensors of one shape along a new ``axis``."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: need at least one tensor")
    shape = tensors[0].shape
    for t in tensors[1:]:
        if t.shape != shape:
            raise ValueError(f"stack: all tensors must have one shape; got {shape} and {t.shape}")
    axis = check_axis(axis, len(shape), "stack", n_axes=len(shape) + 1)
    new_shape = shape[:axis] + (1,) + shape[axis:]
    return concatenate([reshape(t, new_shape) for t in tensors], axis=axis)


def split(x: Tensor, sections, axis=0) -> list:
    """Split along ``axis`` into ``sections`` equal parts (an int) or at the given sizes (list)."""
    axis = check_axis(axis, x.ndim, "split")
    n = x.shape[axis]
    if isinstance(sections, int):
        if sections <= 0 or n % sections:
            raise ValueError(f"split: axis {axis} of size {n} does not split into {sections}")
        sizes = [n // sections] * sections
    else:
        sizes = [int(s) for s in sections]
        if sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} do not add up to the axis size {n}")
    parts, start = [], 0
    for s in sizes:
        index = [slice(None)] * x.ndim
        index[axis] = slice(start, start + s)
        parts.append(getitem(x, tuple(index)))
        start += s
    return parts
