"""Module: a container of Parameters and sub-Modules, with named parameters and state dicts.

A module's parameters are found by looking at its attributes, in the order they were first
assigned: an attribute holding a :class:`~minigrad.nn.Parameter` is one of its own parameters,
an attribute holding a :class:`Module` is a child whose parameters are listed under the child's
attribute name. ``named_parameters()`` lists a module's own parameters first, then each child's
(recursively), with dotted names: ``layers.0.weight``. This is PyTorch's order, so a state dict
converts to and from PyTorch by name alone.

    >>> class Affine(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.weight = Parameter([[1.0, 2.0]])
    ...         self.bias = Parameter([0.5])
    ...     def forward(self, x):
    ...         return x @ self.weight.T + self.bias
    >>> [name for name, _ in Affine().named_parameters()]
    ['weight', 'bias']
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .. import backend
from ..tensor import Tensor
from .parameter import Parameter

__all__ = ["IncompatibleKeys", "Module", "ModuleList", "StateDictError"]

#: What ``load_state_dict(strict=False)`` returns: the names it did not find / did not use.
IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class StateDictError(ValueError):
    """A state dict does not fit a module (the message names the arrays concerned)."""


class Module:
    """Base class of every layer and model. Subclasses implement ``forward``."""

    def __init__(self):
        self.training = True

    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ----- walking the tree ------------------------------------------------------------------
    def named_children(self):
        """``(attribute name, module)`` for each direct sub-module, in assignment order."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = ""):
        """This module (name ``prefix``) and every sub-module below it, depth first."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def _own_parameters(self):
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield name, value

    def named_parameters(self, prefix: str = ""):
        """``(dotted name, Parameter)`` pairs: own parameters first, then each child's.

        A Parameter shared by two modules is listed once (under its first name).
        """
        seen = set()
        for mod_name, module in self.named_modules(prefix):
            for name, p in module._own_parameters():
                if id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self):
        """The parameters, in the order of :meth:`named_parameters` (a fresh list)."""
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        """Total number of scalar entries over all parameters."""
        return sum(p.size for p in self.parameters())

    # ----- gradients, modes, devices ---------------------------------------------------------
    def zero_grad(self) -> None:
        """Set ``.grad`` of every parameter to None."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True):
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self):
        return self.train(False)

    def to(self, device: str | None = None, dtype=None):
        """Move (``"cpu"``/``"cuda"``) and/or cast (``"float32"``/``"float64"``) every
        parameter IN PLACE (the Parameter objects stay the same); returns ``self``.
        Gradients are dropped."""
        dt = None if dtype is None else backend.as_dtype(dtype)
        for p in self.parameters():
            data = p.data if device is None else backend.to_device(p.data, device)
            if dt is not None and data.dtype != dt:
                data = data.astype(dt)
            p.data = data
            p.grad = None
        return self

    def double(self):
        """Cast every parameter to float64 in place (for gradient checks)."""
        return self.to(dtype="float64")

    def float(self):
        """Cast every parameter to float32 in place."""
        return self.to(dtype="float32")

    # ----- state dicts -----------------------------------------------------------------------
    def state_dict(self) -> dict:
        """``{dotted name: NumPy array}``: a COPY of every parameter (on the CPU)."""
        return {name: np.array(p.numpy(), copy=True) for name, p in self.named_parameters()}

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy the arrays of ``state_dict`` into the parameters of the same name, in place.

        Every shape is checked first, so nothing is changed when the dict does not fit. With
        ``strict=True`` (the default) a name missing from the dict, or a name in the dict that is
        no parameter here, is an error; with ``strict=False`` they are returned instead. A shape
        mismatch is always an error. Values are cast to each parameter's dtype and device.
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError(
                f"load_state_dict: expected a dict name -> array, got {type(state_dict).__name__}"
            )
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems, arrays = [], {}
        for name, p in own.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            value = value.numpy() if isinstance(value, Tensor) else value
            arr = np.asarray(value) if backend.device_of(value) == "cpu" else value
            if arr.dtype.kind not in "biuf":
                problems.append(f"'{name}' has dtype {arr.dtype}, expected a number array")
            elif tuple(arr.shape) != tuple(p.shape):
                problems.append(
                    f"'{name}' has shape {tuple(arr.shape)}, expected {tuple(p.shape)}"
                )
            else:
                arrays[name] = arr
        if strict and missing:
            problems.append(f"missing: {missing}")
        if strict and unexpected:
            problems.append(f"unexpected (no such parameter in {type(self).__name__}): "
                            f"{unexpected}")
        if problems:
            raise StateDictError(
                f"load_state_dict into {type(self).__name__}: " + "; ".join(problems)
            )
        for name, arr in arrays.items():
            p = own[name]
            p.data[...] = backend.to_device(arr, p.device).astype(p.dtype, copy=False)
        return IncompatibleKeys(missing, unexpected)

    # ----- printing ------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        children = list(self.named_children())
        if not children:
            return lines[0] + ")"
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines) + "\n)"


class ModuleList(Module):
    """A list of modules whose parameters are named ``0.weight``, ``1.weight``, ..."""

    def __init__(self, modules=()):
        super().__init__()
        self._items = []
        for m in modules:
            self.append(m)

    def append(self, module: Module) -> ModuleList:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList.append: expected a Module, got {type(module).__name__}")
        self._items.append(module)
        return self

    def named_children(self):
        for i, m in enumerate(self._items):
            yield str(i), m

    def __getitem__(self, i):
        if isinstance(i, slice):
            return ModuleList(self._items[i])
        return self._items[i]

    def __len__(self):
        return len(self._items)

    def __iter__(self):
        return iter(self._items)
