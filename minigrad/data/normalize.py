"""Pixel scaling shared by every loader.

* ``"unit"``: ``x = p / 255`` for uint8 pixels ``p`` in 0..255, so ``x`` lies in [0, 1].
* ``"standard"``: ``z = (x - mu) / sigma`` with ONE scalar mean ``mu`` and standard deviation
  ``sigma`` over all pixels of a reference set (``x`` as above). For honest evaluation the
  reference set is the training split only (:func:`minigrad.data.mnist_splits` does that).
  For the MNIST training digits ``mu`` is about 0.13 and ``sigma`` about 0.31.
* ``None``: the raw uint8 pixels, unchanged.
"""

from __future__ import annotations

import numpy as np

from ..backend import as_dtype, get_default_dtype

__all__ = ["NORMALIZE", "float_dtype", "pixel_stats", "standardize", "to_unit"]

NORMALIZE = ("unit", "standard", None)


def float_dtype(dtype=None) -> np.dtype:
    """``dtype`` as a NumPy float dtype; ``None`` means minigrad's default (float32)."""
    return get_default_dtype() if dtype is None else as_dtype(dtype)


def check_normalize(normalize, allowed=NORMALIZE) -> None:
    if normalize not in allowed:
        raise ValueError(f"normalize={normalize!r}; expected one of {allowed}")


def to_unit(pixels, dtype=None) -> np.ndarray:
    """``pixels / 255`` as a float array (float32 by default), values in [0, 1]."""
    return np.asarray(pixels).astype(float_dtype(dtype)) / 255


def pixel_stats(x) -> tuple[float, float]:
    """Scalar ``(mu, sigma)`` over all entries of ``x`` (accumulated in float64)."""
    x = np.asarray(x)
    mu = float(x.mean(dtype=np.float64))
    sigma = float(x.std(dtype=np.float64))
    if not sigma > 0:
        raise ValueError(f"cannot standardise: the pixels have standard deviation {sigma}")
    return mu, sigma


def standardize(x, mu: float, sigma: float) -> np.ndarray:
    """``(x - mu) / sigma``, keeping the float dtype of ``x``."""
    x = np.asarray(x)
    return ((x - x.dtype.type(mu)) / x.dtype.type(sigma)).astype(x.dtype, copy=False)
