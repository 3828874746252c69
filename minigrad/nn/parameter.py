"""Parameter: a Tensor that a Module owns and an optimizer updates.

A Parameter is an ordinary leaf :class:`~minigrad.tensor.Tensor` with ``requires_grad=True``.
Being a separate class lets :class:`~minigrad.nn.Module` find its parameters by looking at its
attributes: every attribute that is a Parameter is a parameter of the module.
"""

from __future__ import annotations

from ..tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A leaf tensor that requires grad (``requires_grad=True`` unless said otherwise).

    ``data`` may be an array, a list, or a Tensor (its values are used, without a graph edge).
    The values are always COPIED: optimizers update parameters in place, which must never
    change the caller's array.
    """

    __slots__ = ()

    def __init__(self, data, requires_grad=True, dtype=None, device=None, name=None):
        if isinstance(data, Tensor):
            data = data.data
        super().__init__(data, requires_grad=requires_grad, dtype=dtype, device=device, name=name)
        if self.data is data or getattr(self.data, "base", None) is not None:
            self.data = self.data.copy()

    def __repr__(self):
        return "Parameter" + super().__repr__()[len("Tensor"):]
