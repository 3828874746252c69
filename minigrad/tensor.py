"""The Tensor: an array plus the information needed to differentiate through it.

A Tensor wraps a NumPy (or CuPy) array in ``.data``. When it was produced by an op while
gradients are being recorded, ``._ctx`` points at the :class:`~minigrad.function.Function`
node that made it; that node remembers its inputs, so the tensors form a graph that
:func:`minigrad.autograd.backward` walks in reverse.

Leaves (tensors created by the user) have ``_ctx = None``; a leaf with ``requires_grad=True``
receives its gradient in ``.grad`` after ``loss.backward()``.

Where each piece of ``loss.backward()`` lives (the reading path, in order):

1. :meth:`Tensor.backward`, below: hands the tensor to the backward pass.
2. ``minigrad/autograd.py``: :func:`~minigrad.autograd.backward`, the iterative topological
   sort and the chain-rule step.
3. ``minigrad/function.py``: :class:`~minigrad.function.Function`, the graph node;
   ``Function.apply`` records it in the forward pass (``ctx.next``: where gradients go).
4. ``minigrad/ops/*.py``: each op's ``backward`` beside its ``forward``; e.g. ``a * b`` is
   ``ops/arithmetic.py``'s ``Mul``.

Those files sit above this one (they need Tensor), so this file imports none of them:
``minigrad/ops/__init__.py`` attaches the operators (``+ - * / ** @`` to ``arithmetic.py``,
indexing, ``reshape``, ``transpose``, ``permute`` to ``shape.py``, ``.sum()``, ``.mean()``,
``.max()`` to ``reduce.py``, ``.exp()``, ``.tanh()``, ``.sigmoid()``, ... to
``elementwise.py``, ``.softmax()``, ``.log_softmax()`` to ``losses.py``), and
``minigrad/autograd.py`` gives :meth:`Tensor.backward` the pass it calls.
"""

from __future__ import annotations

import numpy as np

from . import backend

__all__ = ["Tensor", "ones", "tensor", "zeros"]

#: The backward pass, :func:`minigrad.autograd.backward`; autograd.py sets it when imported.
_backward_pass = None


def _to_array(data, dtype, device):
    """Turn ``data`` (array, list, scalar) into a backend array of a float dtype."""
    if isinstance(data, Tensor):
        raise TypeError(
            "Tensor(data): data is already a Tensor; use t.detach() for a graph-free copy "
            "or t.to(device)/t.astype(dtype) to convert it"
        )
    src_device = backend.device_of(data)
    if device is None:
        device = src_device if src_device == "cuda" else None
    device = backend.default_device() if device is None else device
    if src_device != device:
        if src_device == "cuda" or device == "cuda":
            raise backend.BackendError(
                f"Tensor(data): data lives on {src_device!r} but device={device!r} was asked; "
                f"move it explicitly with Tensor(data).to({device!r})"
            )
    xp = backend.get_xp(device)
    is_array = hasattr(data, "dtype") and hasattr(data, "shape")
    arr = xp.asarray(data)
    if dtype is None:
        keep = is_array and arr.dtype in (np.float32, np.float64)
        dt = arr.dtype if keep else backend.get_default_dtype()
    else:
        dt = backend.as_dtype(dtype)
    if arr.dtype != dt:
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"Tensor(data): cannot make a float tensor from dtype {arr.dtype}")
        arr = arr.astype(dt)
    return arr


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Parameters
    ----------
    data : array_like (NumPy or CuPy array, list, scalar)
    requires_grad : bool
        Whether gradients with respect to this tensor are wanted.
    dtype : "float32" | "float64" | numpy dtype, optional
        Float arrays keep their dtype; other data becomes the default dtype (float32).
    device : "cpu" | "cuda", optional
        Where the array lives; defaults to where ``data`` lives, else the default backend.

    ``==`` and ``!=`` compare identity, unlike NumPy and PyTorch (elementwise): ``a == b`` is
    True only when ``a`` and ``b`` are the same Tensor object, since the engine keeps tensors in
    dicts and sets. Compare values with ``a.data == b.data``; ``<``, ``<=``, ``>``, ``>=`` give
    boolean arrays.
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "name", "__weakref__")
    # Make ``numpy_scalar * tensor`` call Tensor.__rmul__ instead of NumPy broadcasting.
    __array_priority__ = 1000

    def __init__(self, data, requires_grad=False, dtype=None, device=None, name=None):
        self.data = _to_array(data, dtype, device)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self.name = name

    @classmethod
    def from_array(cls, array, requires_grad=False) -> Tensor:
        """A leaf around ``array`` itself: shared, not copied (like ``torch.from_numpy``).

        ``array`` must already be a float32 or float64 NumPy or CuPy array (what ops and
        optimizers produce); unlike ``Tensor(data)``, nothing is converted or copied, so
        this is the constructor for arrays in a hot loop.
        """
        if getattr(array, "dtype", None) is None or array.dtype.kind != "f":
            raise TypeError(
                f"Tensor.from_array: expected a float array, got {type(array).__name__}"
                f"{' of dtype ' + str(array.dtype) if hasattr(array, 'dtype') else ''}; "
                "use Tensor(data) to convert"
            )
        return cls._make(array, None, requires_grad)

    @classmethod
    def _make(cls, data, ctx=None, requires_grad=False):
        """The engine's constructor (ops, Function, autograd): no copies, no checks.
        Outside the engine use :meth:`from_array`."""
        t = object.__new__(cls)
        t.data = data
        t.grad = None
        t.requires_grad = requires_grad
        t._ctx = ctx
        t.name = None
        return t

    # ----- array-like properties -------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return int(self.data.size)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self) -> str:
        return backend.device_of(self.data)

    @property
    def xp(self):
        """The array module (numpy or cupy) of this tensor's data."""
        return backend.get_array_module(self.data)

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        dev = "" if self.device == "cpu" else f", device={self.device!r}"
        body = np.array2string(backend.to_device(self.data, "cpu"), precision=4, separator=", ")
        return f"Tensor({body}, dtype={self.dtype}{dev}{grad})"

    # == and != compare identity (tensors are dict keys in the engine); <, <=, >, >= give
    # boolean arrays (see ops).
    __hash__ = object.__hash__

    def __bool__(self):
        if self.size != 1:
            raise ValueError(
                f"the truth value of a Tensor with shape {self.shape} is ambiguous; "
                "use .item() on a one-element tensor or compare arrays explicitly"
            )
        return bool(self.data)

    # ----- conversion ------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (copied from the GPU if needed)."""
        return backend.to_device(self.data, "cpu")

    def item(self) -> float:
        if self.size != 1:
            raise ValueError(f"item(): tensor has {self.size} elements, expected exactly 1")
        return float(self.data.reshape(()))

    def tolist(self):
        return self.numpy().tolist()

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, cut off from the graph."""
        return Tensor._make(self.data)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        if not self.is_leaf:
            raise RuntimeError(
                "requires_grad_(): only leaf tensors can change requires_grad; "
                "use .detach().requires_grad_() for a new leaf"
            )
        self.requires_grad = bool(flag)
        return self

    def to(self, device: str) -> Tensor:
        """Copy to ``"cpu"`` or ``"cuda"`` (a new leaf; no graph edge across devices)."""
        return Tensor._make(backend.to_device(self.data, device), requires_grad=self.requires_grad)

    def astype(self, dtype) -> Tensor:
        """Copy with another float dtype (a new leaf)."""
        dt = backend.as_dtype(dtype)
        return Tensor._make(self.data.astype(dt), requires_grad=self.requires_grad)

    def zero_grad(self) -> None:
        self.grad = None

    def backward(self, grad=None, retain_graph=False, create_graph=False) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf requiring grad.

        ``grad`` is the upstream gradient; it may be omitted only for a one-element tensor.
        The graph's saved arrays are freed afterwards unless ``retain_graph=True``.
        ``create_graph=True`` records the backward pass too (for second derivatives).

        The pass itself is :func:`minigrad.autograd.backward` (``minigrad/autograd.py``),
        next on the reading path (see the module docstring).
        """
        _backward_pass([self], None if grad is None else [grad], retain_graph, create_graph)

    # The operators are attached by minigrad/ops/__init__.py (the module docstring lists them).


def tensor(data, requires_grad=False, dtype=None, device=None) -> Tensor:
    """Create a Tensor (same arguments as :class:`Tensor`)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def zeros(shape, dtype=None, device=None, requires_grad=False) -> Tensor:
    xp = backend.get_xp(device)
    return Tensor._make(xp.zeros(shape, backend.as_dtype(dtype)), requires_grad=requires_grad)


def ones(shape, dtype=None, device=None, requires_grad=False) -> Tensor:
    xp = backend.get_xp(device)
    return Tensor._make(xp.ones(shape, backend.as_dtype(dtype)), requires_grad=requires_grad)
