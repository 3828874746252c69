"""Layers as plain functions of tensors: ``linear``, activations, ``lstm_cell``.

``lstm_cell`` is the readable LSTM step a lesson derives, composed from primitive ops (so it
supports second derivatives); ``fused_lstm_cell`` computes the same thing as one graph node with
a hand-written backward (the fast path, first derivatives only).
"""

from __future__ import annotations

from ..ops import matmul, relu, sigmoid, split, tanh
from ..tensor import Tensor
from .fused_lstm import _check_shapes, fused_lstm_cell

__all__ = ["ACTIVATIONS", "activation", "fused_lstm_cell", "linear", "lstm_cell"]

#: Activation functions by name (for MLP and friends).
ACTIVATIONS = {"sigmoid": sigmoid, "tanh": tanh, "relu": relu}


def activation(name: str):
    """The activation function called ``name`` ("sigmoid", "tanh" or "relu")."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; expected one of {', '.join(ACTIVATIONS)}"
        ) from None


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b, for x (..., in), W (out, in), b (out,) (``torch.nn.functional.linear``)."""
    y = matmul(x, weight.T)
    return y if bias is None else y + bias


def lstm_cell(x, h, c, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One LSTM step from primitive ops; returns ``(h', c')``.

    With gates in PyTorch's order i, f, g, o::

        a = x W_ih^T + b_ih + h W_hh^T + b_hh        split into a_i, a_f, a_g, a_o
        i = sigmoid(a_i)   f = sigmoid(a_f)   g = tanh(a_g)   o = sigmoid(a_o)
        c' = f * c + i * g
        h' = o * tanh(c')

    Shapes: x (B, I), h and c (B, H) (None means zeros), weight_ih (4H, I), weight_hh (4H, H),
    bias_ih and bias_hh (4H,) or None.
    """
    _check_shapes("lstm_cell", x, h, c, weight_ih, weight_hh, bias_ih, bias_hh)
    gates = linear(x, weight_ih, bias_ih)
    if h is not None:
        gates = gates + linear(h, weight_hh, bias_hh)
    elif bias_hh is not None:
        gates = gates + bias_hh
    a_i, a_f, a_g, a_o = split(gates, 4, axis=1)
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), tanh(a_g), sigmoid(a_o)
    c_new = i * g if c is None else f * c + i * g
    h_new = o * tanh(c_new)
    return h_new, c_new
