"""The update rules as pure functions on arrays (NumPy or CuPy), one source of truth.

Each rule takes ``(param, grad, state, **hyperparameters)`` and returns ``(new_param,
new_state)`` without modifying its arguments; ``state`` is a dict (``{}`` before the first
step) holding the same entries, under the same names, as PyTorch's optimizer state. The
optimizer classes in :mod:`minigrad.optim` call these and write the result into ``p.data``.
They also serve the paper's baselines directly on raw arrays (no graph, no Tensors)::

    state = {}
    for t in range(100):
        theta, state = adam(theta, grad_f(theta), state, lr=0.03)

The formulas are PyTorch's (``torch.optim``, default ``foreach=False`` single-tensor code).
"""

from __future__ import annotations

import math

from ..backend import get_array_module

__all__ = ["adam", "rmsprop", "sgd"]


def _floats(*values):
    """Hyperparameters as Python floats, so float32 arrays stay float32 (NumPy scalars and
    0-d arrays would promote them)."""
    return tuple(float(v) for v in values)


def sgd(param, grad, state, lr, momentum=0.0, dampening=0.0, nesterov=False,
        weight_decay=0.0):
    """SGD, with optional momentum / Nesterov momentum (PyTorch's formulation)::

        g = grad + weight_decay * p
        if momentum:
            b = g                                   (first step)
            b = momentum * b + (1 - dampening) * g  (later steps)
            g = g + momentum * b   if nesterov   else   b
        p = p - lr * g

    State: ``momentum_buffer`` (b). Nesterov's "look-ahead" here is Sutskever et al.'s
    reformulation, as in PyTorch: NAG with momentum 0.9 is ``nesterov=True, momentum=0.9``.
    """
    lr, momentum, dampening, weight_decay = _floats(lr, momentum, dampening, weight_decay)
    g = grad + weight_decay * param if weight_decay else grad
    state = dict(state)
    if momentum:
        buf = state.get("momentum_buffer")
        buf = g.copy() if buf is None else momentum * buf + (1.0 - dampening) * g
        state["momentum_buffer"] = buf
        g = g + momentum * buf if nesterov else buf
    return param - lr * g, state


def rmsprop(param, grad, state, lr=1e-2, alpha=0.99, eps=1e-8, momentum=0.0,
            centered=False, weight_decay=0.0):
    """RMSprop (PyTorch's formulation; Hinton's lecture 6e, Graves 2013 when centered)::

        g = grad + weight_decay * p
        v = alpha * v + (1 - alpha) * g^2                 (v starts at 0)
        if centered:
            m = alpha * m + (1 - alpha) * g               (m starts at 0)
            d = sqrt(v - m^2) + eps
        else:
            d = sqrt(v) + eps
        if momentum:
            b = momentum * b + g / d                      (b starts at 0)
            p = p - lr * b
        else:
            p = p - lr * g / d

    Note ``eps`` is added OUTSIDE the square root. State: ``step``, ``square_avg`` (v),
    ``grad_avg`` (m, centered only), ``momentum_buffer`` (b, momentum only).
    """
    xp = get_array_module(param)
    lr, alpha, eps, momentum, weight_decay = _floats(lr, alpha, eps, momentum, weight_decay)
    g = grad + weight_decay * param if weight_decay else grad
    state = dict(state)
    state["step"] = state.get("step", 0) + 1
    v = state.get("square_avg")
    v = xp.zeros_like(param) if v is None else v
    v = alpha * v + (1.0 - alpha) * (g * g)
    state["square_avg"] = v
    if centered:
        m = state.get("grad_avg")
        m = xp.zeros_like(param) if m is None else m
        m = alpha * m + (1.0 - alpha) * g
        state["grad_avg"] = m
        d = xp.sqrt(v - m * m) + eps
    else:
        d = xp.sqrt(v) + eps
    if momentum:
        b = state.get("momentum_buffer")
        b = xp.zeros_like(param) if b is None else b
        b = momentum * b + g / d
        state["momentum_buffer"] = b
        return param - lr * b, state
    return param - lr * (g / d), state


def adam(param, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    """Adam (Kingma & Ba 2015, PyTorch's formulation)::

        t = t + 1
        g = grad + weight_decay * p                (L2 penalty, not AdamW)
        m = beta1 * m + (1 - beta1) * g            (m, v start at 0)
        v = beta2 * v + (1 - beta2) * g^2
        p = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    State: ``step`` (t), ``exp_avg`` (m), ``exp_avg_sq`` (v).
    """
    xp = get_array_module(param)
    lr, beta1, beta2, eps, weight_decay = _floats(lr, *betas, eps, weight_decay)
    g = grad + weight_decay * param if weight_decay else grad
    state = dict(state)
    t = state.get("step", 0) + 1
    m = state.get("exp_avg")
    v = state.get("exp_avg_sq")
    m = xp.zeros_like(param) if m is None else m
    v = xp.zeros_like(param) if v is None else v
    m = beta1 * m + (1.0 - beta1) * g
    v = beta2 * v + (1.0 - beta2) * (g * g)
    state.update(step=t, exp_avg=m, exp_avg_sq=v)
    step_size = lr / (1.0 - beta1**t)
    denom = xp.sqrt(v) / math.sqrt(1.0 - beta2**t) + eps
    return param - step_size * (m / denom), state
