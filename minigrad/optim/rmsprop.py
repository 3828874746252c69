"""RMSprop."""

from __future__ import annotations

from . import update_rules as F
from .optimizer import Optimizer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop exactly as ``torch.optim.RMSprop``::

        g = grad + weight_decay * p
        v = alpha * v + (1 - alpha) * g^2                 (v starts at 0)
        if centered:
            m = alpha * m + (1 - alpha) * g               (m starts at 0)
            d = sqrt(v - m^2) + eps
        else:
            d = sqrt(v) + eps
        if momentum > 0:
            b = momentum * b + g / d                      (b starts at 0)
            p = p - lr * b
        else:
            p = p - lr * g / d
    """

    _rule = staticmethod(F.rmsprop)

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, momentum=0.0, centered=False,
                 weight_decay=0.0):
        if not 0.0 <= alpha <= 1.0 or eps < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"RMSprop: invalid alpha={alpha}, eps={eps}, momentum={momentum} "
                             f"or weight_decay={weight_decay}")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, momentum=momentum,
                                      centered=centered, weight_decay=weight_decay))
