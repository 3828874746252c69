"""Linear layers and multi-layer perceptrons."""

from __future__ import annotations

from .. import backend
from . import init as _init
from .functional import activation as _activation
from .functional import linear
from .module import Module, ModuleList
from .parameter import Parameter

__all__ = ["MLP", "Linear"]


def _param(array, dtype, device) -> Parameter:
    """A Parameter holding the float64 NumPy ``array`` cast to ``dtype`` on ``device``."""
    dt = backend.as_dtype(dtype)
    data = backend.to_device(array.astype(dt), device or backend.default_device())
    return Parameter(data)


class Linear(Module):
    """y = x W^T + b with W of shape (out_features, in_features) and b of shape (out_features,).

    ``init`` chooses the initial values (see :mod:`minigrad.nn.init`); the default ``"pytorch"``
    draws W and b from U(-1/sqrt(in), 1/sqrt(in)), as ``torch.nn.Linear`` does. ``"normal"``
    uses N(0, std^2) with ``std`` (0.01 by default). Every draw comes from ``rng`` (a
    Generator or an int seed) or ``seed`` (default seed 0).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init: str = "pytorch", rng=None, *, seed=None, std: float = 0.01,
                 dtype=None, device=None):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.init = init
        rng = _init.as_rng(rng, seed)
        shape = (self.out_features, self.in_features)
        w = _init.init_weight(init, rng, shape, self.in_features, self.out_features, std)
        self.weight = _param(w, dtype, device)
        if bias:
            b = _init.init_bias(init, rng, (self.out_features,), self.in_features, std)
            self.bias = _param(b, dtype, device)
        else:
            self.bias = None

    def forward(self, x):
        return linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, init={self.init!r}")


class MLP(Module):
    """A multi-layer perceptron: Linear, activation, Linear, activation, ..., Linear.

    ``hidden_sizes`` lists the widths of the hidden layers (``[]`` gives a single Linear). The
    activation (``"sigmoid"``, ``"tanh"`` or ``"relu"``) follows every layer except the last,
    whose output is returned as is (logits for :func:`minigrad.cross_entropy`). Parameters are
    named ``layers.0.weight``, ``layers.0.bias``, ``layers.1.weight``, ... All layers draw from
    one Generator (``rng`` or ``seed``), so they get different values.
    """

    def __init__(self, in_features: int, hidden_sizes, out_features: int,
                 activation: str = "sigmoid", bias: bool = True, init: str = "pytorch",
                 rng=None, *, seed=None, std: float = 0.01, dtype=None, device=None):
        super().__init__()
        self.activation = activation
        self._act = _activation(activation)
        rng = _init.as_rng(rng, seed)
        sizes = [int(in_features), *[int(s) for s in hidden_sizes], int(out_features)]
        self.sizes = sizes
        self.layers = ModuleList(
            Linear(a, b, bias=bias, init=init, rng=rng, std=std, dtype=dtype, device=device)
            for a, b in zip(sizes[:-1], sizes[1:])
        )

    def forward(self, x):
        n = len(self.layers)
        for k, layer in enumerate(self.layers):
            x = layer(x)
            if k < n - 1:
                x = self._act(x)
        return x

    def extra_repr(self):
        return f"sizes={self.sizes}, activation={self.activation!r}"
