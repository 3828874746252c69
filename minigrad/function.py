"""Function: one node of the computational graph.

An op is a subclass of :class:`Function` with two static methods:

* ``forward(ctx, *arrays, **params) -> array`` computes the result on raw arrays (NumPy or
  CuPy, via ``xp = get_array_module(...)``). It may stash small things on ``ctx``
  (shapes, axes, constant masks).
* ``backward(ctx, grad) -> tuple`` receives the upstream gradient as a :class:`Tensor` and
  returns one gradient (Tensor or None) per input, written with Tensor ops. Because backward is
  itself made of differentiable ops, the engine can differentiate through it
  (``create_graph=True``) to get second derivatives.

:meth:`Function.apply` runs ``forward`` and, when some input requires grad and grad mode is on,
makes the node: ``ctx.next`` says where each input's gradient goes (the node that made the
input, the leaf itself, or None), and :func:`minigrad.autograd.backward` follows these edges.

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
        """Run forward on the inputs' arrays and, if needed, record a graph node."""
        _check_inputs(cls.__name__, inputs)
        ctx = cls()
        out = cls.forward(ctx, *[t.data for t in inputs], **params)
        if isinstance(out, np.generic):
            out = np.asarray(out)  # NumPy returns scalars for 0-d results
        if not (is_grad_enabled() and any([t.requires_grad for t in inputs])):
            return Tensor._make(out)  # a constant: no node
        ctx.next = tuple([_node_of(t) if t.requires_grad else None for t in inputs])
        ctx.input_shapes = tuple([t.shape for t in inputs])
        if cls.save_inputs:
            ctx._saved_inputs = inputs
        if cls.save_output:
            # The array, not the output Tensor: that Tensor points at ctx, and ctx pointing back
            # would make a reference cycle, which only the garbage collector frees.
            ctx._saved_output = out
        return Tensor._make(out, ctx, True)

    @property
    def inputs(self) -> tuple:
        """The forward inputs as Tensors (connected to the graph)."""
        try:
            return self._saved_inputs
        except AttributeError:
            self._check_alive()
            raise AttributeError(
                f"{self.name} does not save its inputs (save_inputs=False)"
            ) from None

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
        """Drop everything forward saved on this node (it becomes unusable for backward)."""
        self.__dict__.clear()
        self._released = True

    def __repr__(self):
        return f"<{self.name} node>"


def _node_of(t: Tensor):
    """Where a gradient for ``t`` goes: the node that made it, or ``t`` itself for a leaf."""
    return t if t._ctx is None else t._ctx


def _check_inputs(op, inputs):
    """Every input is a Tensor, and all share one dtype and one device (array library)."""
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"{op}: input {i} is a {type(t).__name__}, expected a Tensor; "
                "wrap arrays with minigrad.tensor(...)"
            )
    first = inputs[0].data
    for t in inputs[1:]:
        # The library, not the exact class: a NumPy memmap is a NumPy array.
        if t.data.dtype != first.dtype or type(t.data).__module__ != type(first).__module__:
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
