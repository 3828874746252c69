"""Gradient preprocessing: what the learned optimizer sees of each gradient coordinate.

Gradients of different coordinates (and problems) span many orders of magnitude, which an
LSTM with bounded activations cannot read well. The paper's appendix A turns each coordinate
``g`` into TWO inputs with a fixed exponent ``p`` (p = 10 in the paper, k = 5 in the official
code)::

    (log|g| / p, sign(g))      if |g| >= e^-p
    (-1,         e^p * g)      otherwise

The first input is the (scaled) magnitude, the second the sign. Small gradients, whose log
would be huge and negative, are clamped to magnitude -1 and passed on linearly. At the
boundary ``|g| = e^-p`` both branches give ``(-1, sign(g))``, so the map is continuous; at
``g = 0`` it gives ``(-1, 0)``.

:class:`Identity` passes the raw gradient as a single input (the paper's quadratic
experiment uses no preprocessing).

Both classes accept a NumPy/CuPy array (the first-order case: the gradient is a constant,
no graph) or a :class:`~minigrad.Tensor` (the second-order case: the gradient carries a graph,
and the preprocessing is differentiated too: d/dg of the magnitude is 1/(p g) on the log branch
and 0 on the clamped branch; the sign is piecewise constant, derivative 0; e^p g has derivative
e^p). Input: shape (N,); output: shape (N, input_size).
"""

from __future__ import annotations

import math

from .. import ops
from ..backend import get_array_module
from ..tensor import Tensor
from .paper import PAPER

__all__ = ["Identity", "LogAndSign", "PREPROCESSORS", "make_preprocess"]


class LogAndSign:
    """The paper's log-and-sign preprocessing with exponent ``p`` (2 inputs per coordinate)."""

    input_size = 2
    name = "logsign"

    def __init__(self, p: float = PAPER.p):
        p = float(p)
        if not p > 0 or not math.isfinite(p):
            raise ValueError(f"LogAndSign: p must be a positive number, got {p!r}")
        self.p = p

    def __call__(self, g):
        if isinstance(g, Tensor):
            return self._tensor(g)
        return self._array(g)

    def _array(self, g):
        """Graph-free version for a constant gradient array (N,) -> (N, 2)."""
        xp = get_array_module(g)
        dt = g.dtype.type
        p = dt(self.p)
        mag = xp.abs(g)
        big = mag >= dt(math.exp(-self.p))
        out = xp.empty(g.shape + (2,), dtype=g.dtype)
        # log of the clamped magnitude: never log(0), and the small branch is overwritten below
        xp.log(xp.where(big, mag, dt(1.0)), out=out[..., 0])
        out[..., 0] /= p
        out[..., 0][~big] = dt(-1.0)
        out[..., 1] = xp.where(big, xp.sign(g), g * dt(math.exp(self.p)))
        return out

    def _tensor(self, g: Tensor) -> Tensor:
        """Differentiable version (second-order meta-gradients)."""
        mag = ops.abs(g)
        big = mag.data >= g.dtype.type(math.exp(-self.p))
        # where(big, |g|, 1) keeps log's backward away from 1/0 on the clamped branch
        log_mag = ops.log(ops.where(big, mag, 1.0)) * (1.0 / self.p)
        first = ops.where(big, log_mag, -1.0)
        second = ops.where(big, ops.sign(g), g * math.exp(self.p))
        n = g.shape[0]
        return ops.concatenate([ops.reshape(first, (n, 1)), ops.reshape(second, (n, 1))], axis=1)

    def config(self) -> dict:
        return {"name": self.name, "p": self.p}

    def __repr__(self):
        return f"LogAndSign(p={self.p:g})"


class Identity:
    """No preprocessing: the raw gradient as one input per coordinate, (N,) -> (N, 1)."""

    input_size = 1
    name = "identity"

    def __call__(self, g):
        if isinstance(g, Tensor):
            return ops.reshape(g, (g.shape[0], 1))
        return g.reshape(g.shape[0], 1)

    def config(self) -> dict:
        return {"name": self.name}

    def __repr__(self):
        return "Identity()"


PREPROCESSORS = ("logsign", "identity")


def make_preprocess(name: str, p: float | None = None):
    """``"logsign"`` -> :class:`LogAndSign` (p, the paper's when None), ``"identity"`` ->
    :class:`Identity` (no exponent)."""
    if name == "logsign":
        return LogAndSign(PAPER.p if p is None else p)
    if name == "identity":
        return Identity()
    raise ValueError(
        f"unknown gradient preprocessing {name!r}; expected one of {', '.join(PREPROCESSORS)}"
    )
