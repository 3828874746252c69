"""Layers as plain functions of tensors: ``linear``, activations, ``lstm_cell``, and the
convolutional network's ``conv2d``, ``max_pool2d`` and ``batch_norm`` (ops, re-exported here
where ``torch.nn.functional`` has them).

``lstm_cell`` is the readable LSTM step a lesson derives, composed from primitive ops (so it
supports second derivatives). The fast path, which computes the same step as one fused node with
a hand-written backward (first derivatives only), is
:func:`minigrad.nn.fused_lstm.fused_lstm_cell`; this file imports nothing from it.
"""

from __future__ import annotations

from ..ops import batch_norm, conv2d, matmul, max_pool2d, relu, sigmoid, split, tanh
from ..tensor import Tensor

__all__ = ["ACTIVATIONS", "activation", "batch_norm", "check_lstm_shapes", "conv2d", "linear",
           "lstm_cell", "max_pool2d"]

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
    check_lstm_shapes("lstm_cell", x, h, c, weight_ih, weight_hh, bias_ih, bias_hh)
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


def check_lstm_shapes(op, x, h, c, w_ih, w_hh, b_ih, b_hh):
    """Check the shapes of an LSTM step's arguments (``op`` names the step in the errors);
    raise naming the offending one. Shared by the composed and the fused cell."""
    for name, t in (("x", x), ("weight_ih", w_ih), ("weight_hh", w_hh)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if w_hh.ndim != 2 or w_hh.shape[0] != 4 * w_hh.shape[1]:
        raise ValueError(f"{op}: weight_hh must have shape (4H, H), got {w_hh.shape}")
    H = w_hh.shape[1]
    if x.ndim != 2:
        raise ValueError(f"{op}: x must have shape (batch, input_size), got {x.shape}")
    B, In = x.shape
    if w_ih.shape != (4 * H, In):
        raise ValueError(
            f"{op}: weight_ih has shape {w_ih.shape}, expected (4H, input_size) = {(4 * H, In)}"
        )
    for name, t in (("h", h), ("c", c)):
        if t is not None and tuple(t.shape) != (B, H):
            raise ValueError(f"{op}: {name} has shape {t.shape}, expected (batch, H) = {(B, H)}")
    for name, t in (("bias_ih", b_ih), ("bias_hh", b_hh)):
        if t is not None and tuple(t.shape) != (4 * H,):
            raise ValueError(f"{op}: {name} has shape {t.shape}, expected (4H,) = {(4 * H,)}")
