"""Weight initialisation schemes, drawn from an explicit NumPy random Generator.

Every function takes ``rng`` (a ``numpy.random.Generator``) and returns a float64 NumPy array;
layers cast it to their dtype and device afterwards, so a float32 and a float64 model built
from the same seed hold the same numbers (up to rounding).

Schemes (``fan_in`` = number of inputs of a unit, ``fan_out`` = number of outputs):

* ``"pytorch"`` (default): weight and bias ~ U(-k, k) with k = 1/sqrt(fan_in). This is
  ``torch.nn.Linear``'s default (``kaiming_uniform_(a=sqrt(5))`` gives exactly this bound) and
  ``torch.nn.LSTM``'s (there k = 1/sqrt(hidden_size) for every weight and bias).
* ``"xavier"`` (Glorot uniform): weight ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out)); bias 0.
* ``"kaiming"`` (He normal, for ReLU): weight ~ N(0, 2/fan_in); bias 0.
* ``"normal"``: weight and bias ~ N(0, std^2), std = 0.01 by default (the official L2L code's
  MNIST optimizee).
* ``"l2l"``: weight and bias ~ truncated normal, std 1/sqrt(fan_in), values beyond two standard
  deviations redrawn (TensorFlow's ``truncated_normal``; Sonnet 1's default for Linear and LSTM,
  used by the official L2L code).
* ``"zeros"``: everything 0 (the official code's sanity check "learned optimizer, zero init").
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = [
    "INIT_SCHEMES", "as_rng", "init_bias", "init_weight", "kaiming_normal", "normal",
    "truncated_normal", "uniform", "xavier_uniform", "zeros",
]

INIT_SCHEMES = ("pytorch", "xavier", "kaiming", "normal", "l2l", "zeros")


def as_rng(rng=None, seed=None) -> np.random.Generator:
    """The Generator to draw from: ``rng`` if given (a Generator, or an int used as a seed),
    else ``np.random.default_rng(seed)`` with ``seed`` defaulting to 0.

    Nothing is ever drawn from NumPy's global random state, so the same code gives the same
    weights on every run. To give several layers different weights, pass them ONE Generator.
    """
    if rng is not None and seed is not None:
        raise ValueError("give either rng= or seed=, not both")
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng(0 if seed is None else seed)
    if isinstance(rng, numbers.Integral):
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"rng must be a numpy.random.Generator or an int seed, got {type(rng).__name__}"
    )


def uniform(rng, shape, bound: float) -> np.ndarray:
    """U(-bound, bound)."""
    return rng.uniform(-bound, bound, size=shape)


def normal(rng, shape, std: float) -> np.ndarray:
    """N(0, std^2)."""
    return rng.normal(0.0, std, size=shape)


def truncated_normal(rng, shape, std: float) -> np.ndarray:
    """N(0, std^2) with every draw outside [-2 std, 2 std] drawn again (TensorFlow's rule)."""
    out = rng.standard_normal(size=shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.standard_normal(size=int(bad.sum()))
        bad = np.abs(out) > 2.0
    return out * std


def xavier_uniform(rng, shape, fan_in: int, fan_out: int) -> np.ndarray:
    """Glorot uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out))."""
    return uniform(rng, shape, math.sqrt(6.0 / (fan_in + fan_out)))


def kaiming_normal(rng, shape, fan_in: int) -> np.ndarray:
    """He normal: N(0, 2 / fan_in)."""
    return normal(rng, shape, math.sqrt(2.0 / fan_in))


def zeros(shape) -> np.ndarray:
    return np.zeros(shape)


def _check_scheme(scheme):
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"unknown init {scheme!r}; expected one of {', '.join(INIT_SCHEMES)}")


def init_weight(scheme: str, rng, shape, fan_in: int, fan_out: int, std: float = 0.01):
    """A weight array of ``shape`` drawn by ``scheme`` (see the module docstring)."""
    _check_scheme(scheme)
    if scheme == "pytorch":
        return uniform(rng, shape, 1.0 / math.sqrt(fan_in))
    if scheme == "xavier":
        return xavier_uniform(rng, shape, fan_in, fan_out)
    if scheme == "kaiming":
        return kaiming_normal(rng, shape, fan_in)
    if scheme == "normal":
        return normal(rng, shape, std)
    if scheme == "l2l":
        return truncated_normal(rng, shape, 1.0 / math.sqrt(fan_in))
    return zeros(shape)


def init_bias(scheme: str, rng, shape, fan_in: int, std: float = 0.01):
    """A bias array of ``shape`` drawn by ``scheme`` (zero for xavier, kaiming, zeros)."""
    _check_scheme(scheme)
    if scheme == "pytorch":
        return uniform(rng, shape, 1.0 / math.sqrt(fan_in))
    if scheme == "normal":
        return normal(rng, shape, std)
    if scheme == "l2l":
        return truncated_normal(rng, shape, 1.0 / math.sqrt(fan_in))
    return zeros(shape)
