"""Sections 1-2: hand-designed optimizers written as the paper's m(grad, h; phi), and what the
coordinatewise LSTM saves.
"""

from __future__ import annotations

import numpy as np

from minigrad.l2l import (
    LSTMOptimizer,
)
from minigrad.threads import blas_threads


def sgd_m(grad, h, phi):
    """Gradient descent as an optimizer function: ``g = -lr * grad``; no state.

    ``phi = {"lr": ...}``. Returns ``(g, h)`` with ``h`` unchanged (None).
    """
    return -phi["lr"] * grad, h


def momentum_m(grad, h, phi):
    """Heavy-ball momentum: ``h' = beta h + grad``, ``g = -lr h'``; the state is the velocity.

    ``phi = {"lr": ..., "beta": ...}``; ``h`` is None before the first step.
    """
    h = grad if h is None else phi["beta"] * h + grad
    return -phi["lr"] * h, h


def run_m(m, phi, grad_fn, theta0, steps: int):
    """Iterate ``theta_{t+1} = theta_t + g_t`` with ``[g_t, h_{t+1}] = m(grad_t, h_t; phi)``.

    Returns the iterates, an array of shape (steps + 1,) + theta0.shape.
    """
    theta, h = np.array(theta0, dtype=np.float64), None
    out = [theta.copy()]
    for _ in range(steps):
        g, h = m(grad_fn(theta), h, phi)
        theta = theta + g
        out.append(theta.copy())
    return np.array(out)


# ============================================================================================
# 2. The coordinatewise LSTM


def full_lstm_parameter_count(n: int, hidden: int = 20, layers: int = 2) -> int:
    """Parameters of a NON-coordinatewise LSTM optimizer for ``n`` coordinates: it reads all n
    gradients at once (input size n), has ``layers`` LSTM layers of ``hidden`` units and a
    linear head hidden -> n (one update per coordinate). An LSTM layer with input size I and
    H units has 4H(I + H) weights and 2 * 4H biases (PyTorch's two bias vectors)."""
    count, size_in = 0, int(n)
    for _ in range(int(layers)):
        count += 4 * hidden * (size_in + hidden) + 2 * 4 * hidden
        size_in = hidden
    return count + size_in * n + n


def permutation_gap(net: LSTMOptimizer, g, seed: int = 0, steps: int = 3) -> float:
    """Largest |m(P g) - P m(g)| over ``steps`` steps (fresh states, permutation P drawn from
    ``seed``): zero when the optimizer treats every coordinate the same way."""
    g = np.asarray(g)
    perm = np.random.default_rng(seed).permutation(g.shape[0])
    s1 = s2 = None
    gap = 0.0
    with blas_threads(1):
        for k in range(steps):
            gk = g * (1.0 + 0.5 * k)  # a few different gradients, so the states matter
            d1, s1 = net.update_array(gk, s1)
            d2, s2 = net.update_array(gk[perm], s2)
            gap = max(gap, float(np.max(np.abs(d1[perm] - d2))))
    return gap
