"""Softmax, log-softmax and the losses built on them."""

from __future__ import annotations

from ..backend import device_of, get_array_module
from ..function import Function
from ..tensor import Tensor
from ._util import check_axis, lift_pair
from .elementwise import exp
from .reduce import _normalize_axis, mean, sum


class LogSoftmax(Function):
    """y_i = x_i - log sum_j e^{x_j} along ``axis`` (computed after subtracting the max).

    dL/dx = dL/dy - softmax(x) * sum_j dL/dy_j, with softmax(x) = e^y.
    """

    save_inputs = False
    save_output = True

    @staticmethod
    def forward(ctx, x, axis=-1):
        xp = get_array_module(x)
        ctx.axis = axis
        shifted = x - x.max(axis=axis, keepdims=True)
        return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return g - exp(y) * sum(g, axis=ctx.axis, keepdims=True)


def _softmax_axis(x: Tensor, axis, op):
    """The checked axis; () for a 0-d tensor, which (as in PyTorch) is its own single entry."""
    return _normalize_axis(axis, x.ndim, op) if x.ndim == 0 else check_axis(axis, x.ndim, op)


def log_softmax(x: Tensor, axis=-1) -> Tensor:
    return LogSoftmax.apply(x, axis=_softmax_axis(x, axis, "log_softmax"))


def softmax(x: Tensor, axis=-1) -> Tensor:
    """softmax(x)_i = e^{x_i} / sum_j e^{x_j} = exp(log_softmax(x))."""
    return exp(LogSoftmax.apply(x, axis=_softmax_axis(x, axis, "softmax")))


def cross_entropy(logits: Tensor, labels) -> Tensor:
    """Mean negative log-likelihood of integer ``labels`` under softmax(``logits``).

    L = -(1/N) sum_n log softmax(logits_n)[labels_n], for logits of shape (N, C) and labels an
    integer array of shape (N,) with values in [0, C).
    """
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: logits must have shape (N, C), got {logits.shape}")
    if isinstance(labels, Tensor):
        raise TypeError(
            "cross_entropy: labels must be an integer array (NumPy/CuPy), not a float Tensor"
        )
    xp = logits.xp
    if device_of(labels) != logits.device and hasattr(labels, "shape"):
        raise ValueError(
            f"cross_entropy: labels live on {device_of(labels)!r} but logits on "
            f"{logits.device!r}; move them to the same device"
        )
    labels = xp.asarray(labels)
    n, c = logits.shape
    if labels.shape != (n,):
        raise ValueError(
            f"cross_entropy: labels have shape {labels.shape}, expected ({n},) for logits {n}x{c}"
        )
    if labels.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: labels must be integers, got dtype {labels.dtype}")
    if n and (int(labels.min()) < 0 or int(labels.max()) >= c):
        raise ValueError(
            f"cross_entropy: labels must lie in [0, {c}), got values in "
            f"[{int(labels.min())}, {int(labels.max())}]"
        )
    picked = log_softmax(logits, axis=1)[xp.arange(n), labels]
    return -mean(picked)


def mse_loss(prediction, target) -> Tensor:
    """Mean squared error: (1/n) sum_i (prediction_i - target_i)^2."""
    prediction, target = lift_pair(prediction, target)
    if prediction.shape != target.shape:
        raise ValueError(
            f"mse_loss: prediction shape {prediction.shape} != target shape {target.shape}"
        )
    diff = prediction - target
    return mean(diff * diff)
