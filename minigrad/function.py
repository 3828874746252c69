"""Function: one node of the computational graph.

An op is a subclass of :class:`Function` with two static methods:

* ``forward(ctx, *arrays, **params) -> array`` computes the result on raw arrays (NumPy or
  CuPy, via ``xp = get_array_module(...)``). It may stash small things on ``ctx``
  (shapes, axes, constant masks).
* ``backward(ctx, grad) -> tuple`` receives the upstream gradient as a :class:`Tensor` and
  returns one gradient (Tensor or None) per input, written with Tensor ops. Because backward is
  itself made of differentiable ops, the engine can differentiate through it
  (``create_graph=True``) to get second derivatives.

Inside backward, ``ctx.inputs`` and ``ctx.output`` give the forward inputs and output as
Tensors (only if the class sets ``save_inputs`` / ``save_output``), and ``ctx.input_shapes``
always holds the input shapes. After a backward pass without ``retain_graph`` the node releases
what it saved, so memory does not grow across iterations; a second backward through it raises.
"""

from __future__ import annotations

import numpy as np

from . import backend
from .grad_mode import is_grad_enabled
from .tensor import Tensor

__all__ = ["Function", "GraphFreedError"]


class GraphFreedError(RuntimeError):
    """Backward was asked through a graph whose saved arrays were already released."""


def _pack(t: Tensor, owner):
    """Remember a tensor for backward without keeping a reference cycle to ``owner``.

    A leaf is kept as is. A non-leaf is remembered as (its data, the node that made it): that is
    all a tensor is in the graph, and backward rebuilds an equivalent tensor from it.
    """
    if t._ctx is None:
        return t
    return (t.data, None if t._ctx is owner else t._ctx, t.requires_grad)


def _unpack(saved, owner):
    if isinstance(saved, Tensor):
        return saved
    data, ctx, requires_grad = saved
    return Tensor._make(data, owner if ctx is None else ctx, requires_grad)


class Function:
    """Base class of every differentiable op (see the module docstring)."""

    #: Keep the forward inputs for backward (ops whose derivative does not need them say no).
    save_inputs = True
    #: Keep the forward output for backward (tanh, sigmoid, exp, softmax ...).
    save_output = False

    # Subclasses implement these two (as @staticmethod).
    def forward(ctx, *arrays, **params):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(ctx, grad):  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def name(self) -> str:
        return type(self).__name__

    @classmethod
    def apply(cls, *inputs: Tensor, **params) -> Tensor:
        """Run forward on the inputs' arrays and, if needed, record a graph node.

        This runs for every op, so it is written for speed (list comprehensions, identity
        tests before equality tests); what it does is simply: check that all inputs share one
        dtype and device, run ``forward``, and record ``next``, ``input_shapes`` and (if the op
        wants them) the inputs when any input requires grad and grad mode is on.
        """
        for i, t in enumerate(inputs):
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"{cls.__name__}: input {i} is a {type(t).__name__}, expected a Tensor; "
                    "wrap arrays with minigrad.tensor(...)"
                )
        arrays = [t.data for t in inputs]
        first = arrays[0]
        dtype, cls_ = first.dtype, first.__class__
        track = False
        for t, a in zip(inputs, arrays):
            # Same array class and dtype object: the common case, decided without
            # comparing dtypes (NumPy reuses one dtype object per builtin type).
            if a.__class__ is not cls_ or (a.dtype is not dtype and a.dtype != dtype):
                _check_mismatch(cls.__name__, inputs)
            if t.requires_grad:
                track = True
        ctx = cls()
        out = cls.forward(ctx, *arrays, **params)
        if out.__class__ is not np.ndarray and isinstance(out, np.generic):
            out = np.asarray(out)  # NumPy returns scalars for 0-d results
        if not (track and is_grad_enabled()):
            return Tensor._make(out)
        ctx.next = tuple([(t if t._ctx is None else t._ctx) if t.requires_grad else None
                          for t in inputs])
        ctx.input_shapes = tuple([a.shape for a in arrays])
        if cls.save_inputs:
            ctx._saved_inputs = tuple([_pack(t, ctx) for t in inputs])
        if cls.save_output:
            ctx._saved_output = out
        return Tensor._make(out, ctx, True)

    @property
    def inputs(self) -> tuple:
        """The forward inputs as Tensors (connected to the graph)."""
        try:
            saved = self._saved_inputs
        except AttributeError:
            self._check_alive()
            raise AttributeError(
                f"{self.name} does not save its inputs (save_inputs=False)"
            ) from None
        return tuple([_unpack(s, self) for s in saved])

    @property
    def output(self) -> Tensor:
        """The forward output as a Tensor (connected to the graph through this node)."""
        try:
            data = self._saved_output
        except AttributeError:
            self._check_alive()
            raise AttributeError(
                f"{self.name} does not save its output (save_output=False)"
            ) from None
        return Tensor._make(data, self, True)

    def _check_alive(self):
        if getattr(self, "_released", False):
            raise GraphFreedError(
                f"backward through {self.name} a second time: its saved arrays were freed after "
                "the first backward. Pass retain_graph=True to the first backward/grad call if "
                "you need to differentiate through the same graph again."
            )

    def release(self) -> None:
        """Drop everything saved for backward (the node becomes unusable)."""
        self.__dict__.clear()
        self._released = True

    def __repr__(self):
        return f"<{self.name} node>"


def _check_mismatch(op, inputs):
    """Raise if the inputs' arrays differ in dtype or device (array classes that differ only
    as subclasses of one library's array, e.g. a NumPy memmap, are accepted)."""
    first = inputs[0].data
    dtype, kind = first.dtype, type(first).__module__
    for t in inputs:
        if t.data.dtype != dtype or type(t.data).__module__ != kind:
            _raise_mismatch(op, inputs)


def _raise_mismatch(op, inputs):
    desc = ", ".join(f"{backend.device_of(t.data)}/{t.dtype}" for t in inputs)
    devices = {backend.device_of(t.data) for t in inputs}
    if len(devices) > 1:
        raise backend.BackendError(
            f"{op}: inputs live on different devices ({desc}); move them to one device with "
            ".to('cpu') or .to('cuda') first (minigrad never copies implicitly)"
        )
    raise TypeError(
        f"{op}: inputs have different dtypes ({desc}); convert explicitly with "
        ".astype('float32') or .astype('float64') (minigrad never casts implicitly)"
    )
