"""Gradient-norm clipping."""

from __future__ import annotations

import math

from ..tensor import Tensor

__all__ = ["clip_grad_norm_", "grad_norm"]


def grad_norm(params, norm_type: float = 2.0) -> float:
    """The joint norm of the parameters' gradients, ``(sum over parameters of
    ||grad||^p)^(1/p)`` (p = ``norm_type``, 2 or inf); parameters without a gradient are
    skipped, and none at all gives 0."""
    if isinstance(params, Tensor):
        params = [params]
    grads = [p.grad.data for p in params if p.grad is not None]
    if not grads:
        return 0.0
    norm_type = float(norm_type)
    if norm_type == math.inf:
        return max(float(abs(g).max()) for g in grads)
    if norm_type <= 0:
        raise ValueError(f"grad_norm: norm_type must be > 0 or inf, got {norm_type}")
    # Accumulated in float64: a float32 sum of squares overflows for gradients ~1e19.
    total = sum(float((abs(g).astype("float64") ** norm_type).sum()) for g in grads)
    return total ** (1.0 / norm_type)


def clip_grad_norm_(params, max_norm: float, norm_type: float = 2.0, eps: float = 1e-6) -> float:
    """Rescale the gradients so that their joint norm is at most ``max_norm``.

    ``total`` = :func:`grad_norm` of the parameters; if ``total > max_norm`` each gradient is
    multiplied by ``max_norm / (total + eps)`` (PyTorch's rule). Returns ``total`` (before
    clipping).

    The gradients are REPLACED by new arrays rather than scaled in place: the engine may hand
    the same array to two parameters (e.g. both LSTM biases), which must not be scaled twice.
    """
    if isinstance(params, Tensor):
        params = [params]
    total = grad_norm(params, norm_type)
    coef = float(max_norm) / (total + eps)
    if coef < 1.0:
        for p in params:
            if p.grad is not None:
                p.grad = Tensor.from_array(p.grad.data * coef)
    return total
