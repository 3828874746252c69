"""Module: a container of Parameters and sub-Modules, with named parameters and state dicts.

A module's parameters are found by looking at its attributes, in the order they were first
assigned: an attribute holding a :class:`~minigrad.nn.Parameter` is one of its own parameters,
an attribute holding a :class:`Module` is a child whose parameters are listed under the child's
attribute name. ``named_parameters()`` lists a module's own parameters first, then each child's
(recursively), with dotted names: ``layers.0.weight``. This is PyTorch's order, so a state dict
converts to and from PyTorch by name alone.

Buffers are the other part of a module's state: arrays kept with :meth:`Module.register_buffer`
that are saved in the state dict and moved by :meth:`Module.to` but are no parameters (no
gradient, no optimizer step), such as BatchNorm's running statistics. The state dict lists each
module's parameters, then its buffers, then its children's, as PyTorch does.

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

    def register_buffer(self, name: str, array) -> None:
        """Keep ``array`` (a NumPy or CuPy array, or None for none) as the attribute ``name``,
        a buffer: part of the state dict, moved and cast by :meth:`to`, never a parameter."""
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"register_buffer: the name must be an identifier, got {name!r}")
        if array is not None and not (hasattr(array, "dtype") and hasattr(array, "shape")):
            raise TypeError(
                f"register_buffer: '{name}' must be a NumPy or CuPy array (or None), got "
                f"{type(array).__name__}"
            )
        names = self.__dict__.setdefault("_buffer_names", [])
        if name not in names:
            names.append(name)
        setattr(self, name, array)

    def _own_buffers(self):
        for name in self.__dict__.get("_buffer_names", ()):
            value = getattr(self, name)
            if value is not None:
                yield name, value

    def named_buffers(self, prefix: str = ""):
        """``(dotted name, array)`` for every buffer: own buffers first, then each child's."""
        for mod_name, module in self.named_modules(prefix):
            for name, b in module._own_buffers():
                yield (f"{mod_name}.{name}" if mod_name else name), b

    def buffers(self):
        """The buffers, in the order of :meth:`named_buffers` (a fresh list)."""
        return [b for _, b in self.named_buffers()]

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
        Gradients are dropped. Buffers move too; only float buffers are cast (a counter stays
        an integer, as in PyTorch)."""
        dt = None if dtype is None else backend.as_dtype(dtype)

        def convert(data):
            data = data if device is None else backend.to_device(data, device)
            if dt is not None and data.dtype.kind == "f" and data.dtype != dt:
                data = data.astype(dt)
            return data

        for p in self.parameters():
            p.data = convert(p.data)
            p.grad = None
        for module in self.modules():
            for name, b in list(module._own_buffers()):
                setattr(module, name, convert(b))
        return self

    def double(self):
        """Cast every parameter to float64 in place (for gradient checks)."""
        return self.to(dtype="float64")

    def float(self):
        """Cast every parameter to float32 in place."""
        return self.to(dtype="float32")

    # ----- state dicts -----------------------------------------------------------------------
    def _named_state(self):
        """``(dotted name, array)`` of every parameter's data and every buffer, in PyTorch's
        state-dict order: each module's parameters, then its buffers, then its children's."""
        seen = set()
        for mod_name, module in self.named_modules():
            prefix = f"{mod_name}." if mod_name else ""
            for name, p in module._own_parameters():
                if id(p) not in seen:  # a shared Parameter once, as in named_parameters
                    seen.add(id(p))
                    yield prefix + name, p.data
            for name, b in module._own_buffers():
                yield prefix + name, b

    def state_dict(self) -> dict:
        """``{dotted name: NumPy array}``: a COPY of every parameter and buffer (on the CPU)."""
        return {name: np.array(backend.to_device(a, "cpu"), copy=True)
                for name, a in self._named_state()}

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy the arrays of ``state_dict`` into the parameters and buffers of the same name,
        in place.

        Every shape is checked first, so nothing is changed when the dict does not fit. With
        ``strict=True`` (the default) a name missing from the dict, or a name in the dict that is
        no parameter or buffer here, is an error; with ``strict=False`` they are returned
        instead. A shape mismatch is always an error. Values are cast to each parameter's (and
        buffer's) dtype and device.
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError(
                f"load_state_dict: expected a dict name -> array, got {type(state_dict).__name__}"
            )
        own = dict(self._named_state())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems, arrays = [], {}
        for name, target in own.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            value = value.numpy() if isinstance(value, Tensor) else value
            arr = np.asarray(value) if backend.device_of(value) == "cpu" else value
            if arr.dtype.kind not in "biuf":
                problems.append(f"'{name}' has dtype {arr.dtype}, expected a number array")
            elif tuple(arr.shape) != tuple(target.shape):
                problems.append(
                    f"'{name}' has shape {tuple(arr.shape)}, expected {tuple(target.shape)}"
                )
            else:
                arrays[name] = arr
        if strict and missing:
            problems.append(f"missing: {missing}")
        if strict and unexpected:
            problems.append(f"unexpected (no such parameter or buffer in "
                            f"{type(self).__name__}): {unexpected}")
        if problems:
            raise StateDictError(
                f"load_state_dict into {type(self).__name__}: " + "; ".join(problems)
            )
        for name, arr in arrays.items():
            target = own[name]
            target[...] = backend.to_device(arr, backend.device_of(target)).astype(
                target.dtype, copy=False)
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
