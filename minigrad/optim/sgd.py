"""Stochastic gradient descent, with momentum and Nesterov momentum (the paper's NAG)."""

from __future__ import annotations

from . import update_rules as F
from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """SGD exactly as ``torch.optim.SGD``::

        g = grad + weight_decay * p
        if momentum != 0:
            b = g                                   (first step)
            b = momentum * b + (1 - dampening) * g  (later steps)
            g = g + momentum * b   if nesterov   else   b
        p = p - lr * g

    ``nesterov=True`` needs ``momentum > 0`` and ``dampening == 0``.
    """

    _rule = staticmethod(F.sgd)

    def __init__(self, params, lr, momentum=0.0, nesterov=False, weight_decay=0.0,
                 dampening=0.0):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0")
        if momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: invalid momentum {momentum} or weight_decay {weight_decay}")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      nesterov=nesterov, weight_decay=weight_decay))
