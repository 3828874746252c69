"""Adam."""

from __future__ import annotations

from . import update_rules as F
from .optimizer import Optimizer

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam exactly as ``torch.optim.Adam`` (amsgrad=False)::

        t = t + 1
        g = grad + weight_decay * p
        m = beta1 * m + (1 - beta1) * g            (m, v start at 0)
        v = beta2 * v + (1 - beta2) * g^2
        p = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    The paper's meta-optimizer (and a baseline, at Torch7's defaults betas (0.9, 0.999),
    eps 1e-8).
    """

    _rule = staticmethod(F.adam)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        b1, b2 = betas
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0) or eps < 0 or weight_decay < 0:
            raise ValueError(f"Adam: invalid betas={betas}, eps={eps} or "
                             f"weight_decay={weight_decay}")
        super().__init__(params, dict(lr=lr, betas=(float(b1), float(b2)), eps=eps,
                                      weight_decay=weight_decay))
