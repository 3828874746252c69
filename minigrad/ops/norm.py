"""Batch normalisation (Ioffe and Szegedy, 2015), per channel, as PyTorch computes it.

For x of shape (N, C, H, W) (or (N, C)) and each channel c, over its m = N*H*W entries:

    training:  mu = mean(x_c),  var = mean((x_c - mu)^2)  (biased: divided by m)
    evaluation: mu = running_mean[c],  var = running_var[c]
    y_c = (x_c - mu) / sqrt(var + eps) * weight[c] + bias[c]

In training the running statistics move towards the batch's, in place and outside the graph:
running = (1 - momentum) * running + momentum * batch, with the UNBIASED variance
var * m / (m - 1) (PyTorch's rule; the normalisation itself uses the biased one).

The function is composed from ops whose derivatives are known, so its gradient, which flows
through mu and var too in training, and its second derivatives come from them.
"""

from __future__ import annotations

from ..backend import device_of
from ..function import _check_inputs
from ..tensor import Tensor
from .reduce import mean
from .shape import reshape


def batch_norm(x: Tensor, running_mean=None, running_var=None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Batch normalisation (``torch.nn.functional.batch_norm``; see the module docstring).

    ``running_mean`` and ``running_var`` are arrays of shape (C,) (NumPy or CuPy, x's device
    and dtype), or None (then training must be True, and nothing is tracked). In training they
    are updated in place; in evaluation they normalise. ``weight`` and ``bias`` are (C,)
    Tensors, or None for 1 and 0.
    """
    op = "batch_norm"
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim not in (2, 4):
        raise ValueError(
            f"{op}: input must have shape (N, C, H, W) or (N, C), got shape {x.shape}"
        )
    c = x.shape[1]
    _check_inputs(op, (x,) + tuple(t for t in (weight, bias) if t is not None))
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"{op}: {name} has shape {tuple(t.shape)}, expected ({c},)")
    for name, a in (("running_mean", running_mean), ("running_var", running_var)):
        if a is not None and (a.dtype != x.dtype or device_of(a) != x.device):
            raise TypeError(
                f"{op}: {name} is a {device_of(a)}/{a.dtype} array, expected {x.device}/"
                f"{x.dtype} like the input (minigrad never casts or copies implicitly)"
            )
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: give both running_mean and running_var, or neither")
    if not training and running_mean is None:
        raise ValueError(f"{op}: evaluation (training=False) needs running_mean and running_var")
    axes = (0,) + tuple(range(2, x.ndim))
    stat_shape = (1, c) + (1,) * (x.ndim - 2)
    if training:
        m = x.size // c
        if m < 2:
            raise ValueError(
                f"{op}: training needs more than 1 value per channel, got input shape {x.shape}"
            )
        mu = mean(x, axis=axes, keepdims=True)
        xc = x - mu
        var = mean(xc * xc, axis=axes, keepdims=True)
        inv_std = (var + eps) ** -0.5
        if running_mean is not None:
            running_mean *= 1.0 - momentum
            running_mean += momentum * mu.data.reshape(c)
            running_var *= 1.0 - momentum
            running_var += (momentum * m / (m - 1)) * var.data.reshape(c)
    else:
        xp = x.xp
        xc = x - Tensor._make(running_mean.reshape(stat_shape))
        inv_std = Tensor._make(1.0 / xp.sqrt(running_var.reshape(stat_shape) + eps))
    scale = inv_std if weight is None else inv_std * reshape(weight, stat_shape)
    y = xc * scale
    return y if bias is None else y + reshape(bias, stat_shape)
