"""Layers for convolutional networks: Conv2d, MaxPool2d, BatchNorm2d (PyTorch's names).

Their state-dict names are PyTorch's (``weight``, ``bias``; BatchNorm2d's ``running_mean``,
``running_var`` and ``num_batches_tracked`` buffers), so a state dict converts to and from
``torch.nn`` by name alone. The ops they call are in :mod:`minigrad.ops.conv` and
:mod:`minigrad.ops.norm`.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..ops.conv import _pair, conv2d, max_pool2d
from ..ops.norm import batch_norm
from . import init as _init
from .linear import _param
from .module import Module

__all__ = ["BatchNorm2d", "Conv2d", "MaxPool2d"]


class Conv2d(Module):
    """y = conv2d(x, weight, bias, stride, padding), weight (out_channels, in_channels, kh, kw),
    bias (out_channels,).

    ``init`` chooses the initial values as for :class:`~minigrad.nn.Linear`, with fan_in =
    in_channels*kh*kw (the inputs of one output unit) and fan_out = out_channels*kh*kw. The
    default ``"pytorch"`` draws weight and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as
    ``torch.nn.Conv2d`` does (``kaiming_uniform_(a=sqrt(5))`` has exactly this bound). Every draw
    comes from ``rng`` (a Generator or an int seed) or ``seed`` (default seed 0).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 bias: bool = True, init: str = "pytorch", rng=None, *, seed=None,
                 std: float = 0.01, dtype=None, device=None):
        super().__init__()
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size", "Conv2d", 1)
        self.stride = _pair(stride, "stride", "Conv2d", 1)
        self.padding = _pair(padding, "padding", "Conv2d", 0)
        self.init = init
        rng = _init.as_rng(rng, seed)
        kh, kw = self.kernel_size
        fan_in, fan_out = self.in_channels * kh * kw, self.out_channels * kh * kw
        shape = (self.out_channels, self.in_channels, kh, kw)
        self.weight = _param(_init.init_weight(init, rng, shape, fan_in, fan_out, std),
                             dtype, device)
        if bias:
            b = _init.init_bias(init, rng, (self.out_channels,), fan_in, std)
            self.bias = _param(b, dtype, device)
        else:
            self.bias = None

    def forward(self, x):
        return conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}")


class MaxPool2d(Module):
    """y = max_pool2d(x, kernel_size, stride); ``stride`` defaults to ``kernel_size``.
    No parameters. Ties go to the first maximal entry (see :class:`minigrad.ops.conv.MaxPool2d`).
    """

    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self.kernel_size = _pair(kernel_size, "kernel_size", "MaxPool2d", 1)
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride",
                                                                    "MaxPool2d", 1)

    def forward(self, x):
        return max_pool2d(x, self.kernel_size, self.stride)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class BatchNorm2d(Module):
    """Batch normalisation of (N, C, H, W) feature maps per channel, as ``torch.nn.BatchNorm2d``.

    In training mode (``model.train()``, the default) each batch is normalised by its own mean
    and biased variance, and the running statistics move towards them (``momentum``; None
    averages all batches so far, as in PyTorch); in evaluation mode (``model.eval()``) the
    running statistics normalise. ``weight`` (1) and ``bias`` (0) are the affine parameters
    (``affine=False``: none). Buffers: ``running_mean`` (0), ``running_var`` (1),
    ``num_batches_tracked`` (an int64 count), absent with ``track_running_stats=False`` (then
    batch statistics are used in both modes). See :func:`minigrad.ops.norm.batch_norm`.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype=None,
                 device=None):
        super().__init__()
        self.num_features = c = int(num_features)
        self.eps, self.momentum = float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        self.weight = _param(np.ones(c), dtype, device) if affine else None
        self.bias = _param(np.zeros(c), dtype, device) if affine else None
        if track_running_stats:
            dt = backend.as_dtype(dtype)
            dev = device or backend.default_device()
            self.register_buffer("running_mean", backend.to_device(np.zeros(c, dt), dev))
            self.register_buffer("running_var", backend.to_device(np.ones(c, dt), dev))
            self.register_buffer("num_batches_tracked",
                                 backend.to_device(np.zeros((), np.int64), dev))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm2d({self.num_features}): expected input of shape (N, "
                f"{self.num_features}, H, W), got shape {x.shape}"
            )
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            if self.momentum is None:  # a cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked)
        use_batch_stats = self.training or not self.track_running_stats
        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                          use_batch_stats, momentum, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")
