"""Sections 1 and 2: a module's parameters, and the update rules of the exercises (the references)
with adapters to the common rule form.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from minigrad import nn
from minigrad.course.mnist_mlp import OPTIMIZERS  # the optimizers raced, by name
from minigrad.optim import update_rules as F


def parameter_table(module: nn.Module) -> str:
    """One line per named parameter (name, shape, number of entries) and a total line."""
    rows = [(name, str(tuple(p.shape)), p.size) for name, p in module.named_parameters()]
    width = max([len(r[0]) for r in rows] + [5])
    lines = [f"{name:<{width}}  {shape:<10}  {size:>6,}" for name, shape, size in rows]
    lines.append(f"{'total':<{width}}  {'':<10}  {module.num_parameters():>6,}")
    return "\n".join(lines)


# ============================================================================================
# 2. The update rules of the exercises (references) and adapters to the common rule form


def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step on arrays; returns ``(new_param, new_m, new_v)`` (reference of 03.1).

    ``t`` is the number of this step, 1 for the first; ``m`` and ``v`` are the moving averages
    after step ``t - 1`` (zeros before the first step)::

        m = beta1 m + (1 - beta1) g            v = beta2 v + (1 - beta2) g^2
        m_hat = m / (1 - beta1^t)              v_hat = v / (1 - beta2^t)
        param = param - lr m_hat / (sqrt(v_hat) + eps)

    The inputs are not modified. This equals PyTorch's (and :func:`minigrad.optim.update_rules.
    adam`'s) arrangement ``param - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) +
    eps)`` up to rounding.
    """
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def momentum_step(param, grad, buf, lr, momentum=0.9, nesterov=False):
    """One step of SGD with momentum (heavy ball) or Nesterov momentum, PyTorch's way;
    returns ``(new_param, new_buf)`` (reference of exercise 03.2)::

        buf = grad                         at the first step (buf is None)
        buf = momentum buf + grad          later
        step = grad + momentum buf         Nesterov,    step = buf     heavy ball
        param = param - lr step

    The inputs are not modified.
    """
    buf = np.array(grad, copy=True) if buf is None else momentum * buf + grad
    step = grad + momentum * buf if nesterov else buf
    return param - lr * step, buf


#: A rule in the common form: ``rule(param, grad, state, lr) -> (new_param, new_state)``.
Rule = Callable


def adam_rule(fn: Callable = adam_step, **hyper) -> Rule:
    """Adam in the common rule form, computed by ``fn`` (an :func:`adam_step`-like function)."""

    def rule(param, grad, state, lr):
        t = state.get("t", 0) + 1
        zeros = np.zeros_like(param)
        p, m, v = fn(param, grad, state.get("m", zeros), state.get("v", zeros), t, lr=lr,
                     **hyper)
        return p, {"t": t, "m": m, "v": v}

    return rule


def momentum_rule(fn: Callable = momentum_step, momentum: float = 0.9,
                  nesterov: bool = False) -> Rule:
    """Momentum / Nesterov in the common rule form, computed by ``fn``."""

    def rule(param, grad, state, lr):
        p, buf = fn(param, grad, state.get("buf"), lr, momentum=momentum, nesterov=nesterov)
        return p, {"buf": buf}

    return rule


def library_rule(name: str) -> Rule:
    """The optimizer ``name`` from :mod:`minigrad.optim.update_rules`, in the common rule form."""
    if name == "SGD":
        return lambda p, g, s, lr: F.sgd(p, g, s, lr)
    if name == "Momentum":
        return lambda p, g, s, lr: F.sgd(p, g, s, lr, momentum=0.9)
    if name == "NAG":
        return lambda p, g, s, lr: F.sgd(p, g, s, lr, momentum=0.9, nesterov=True)
    if name == "RMSprop":
        return lambda p, g, s, lr: F.rmsprop(p, g, s, lr)
    if name == "Adam":
        return lambda p, g, s, lr: F.adam(p, g, s, lr)
    raise KeyError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")
