"""The hand-designed optimizers the learned one is compared with, and their learning rates.

Each baseline is minigrad's own optimizer from :mod:`minigrad.optim` with the paper's settings
(Torch7 defaults for everything but the learning rate):

=========  ===========================================================================
``sgd``    theta <- theta - lr * g
``nag``    Nesterov momentum 0.9 (PyTorch's formulation: v <- 0.9 v + g,
           theta <- theta - lr * (g + 0.9 v))
``rmsprop`` s <- 0.99 s + 0.01 g^2, theta <- theta - lr * g / (sqrt(s) + 1e-8)
``adam``   betas (0.9, 0.999), eps 1e-8, bias-corrected
=========  ===========================================================================

The learning rate is the one hyperparameter tuned, on a log grid (:data:`DEFAULT_LR_GRID`:
10^k and 3 * 10^k from 1e-4 to 3), on validation problems only.
"""

from __future__ import annotations

import math

from .. import optim
from .paper import PAPER

__all__ = ["BASELINES", "DECADES", "DEFAULT_LR_GRID", "DISPLAY_NAMES", "OPTIMIZERS", "lr_grid",
           "make_baseline"]

BASELINES = ("sgd", "nag", "rmsprop", "adam")
DEFAULT_LR_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0, 3.0)
#: The decades of the default grid (1e-4 ... 1): long horizons tune on these only (cost).
DECADES = tuple(v for v in DEFAULT_LR_GRID if abs(math.log10(v) - round(math.log10(v))) < 1e-9)
#: Every optimizer the evaluation compares: the learned one, then the four baselines.
OPTIMIZERS = ("lstm",) + BASELINES
#: How the course writes their names, everywhere.
DISPLAY_NAMES = {"lstm": "LSTM (learned)", "sgd": "SGD", "nag": "NAG", "rmsprop": "RMSprop",
                 "adam": "Adam"}


def make_baseline(name: str, params, lr: float):
    """A :mod:`minigrad.optim` optimizer for ``params`` (a list of Parameters)."""
    if name == "sgd":
        return optim.SGD(params, lr=lr)
    if name == "nag":
        return optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr, alpha=0.99, eps=1e-8)
    if name == "adam":
        return optim.Adam(params, lr=lr, betas=PAPER.betas, eps=PAPER.eps)
    raise ValueError(f"unknown baseline optimizer {name!r}; expected one of {', '.join(BASELINES)}")


def lr_grid(lo: float = 1e-4, hi: float = 3.0) -> tuple:
    """10^k and 3 * 10^k between ``lo`` and ``hi`` inclusive (e.g. 1e-4, 3e-4, ..., 1, 3)."""
    if not 0 < lo <= hi:
        raise ValueError(f"lr_grid: need 0 < lo <= hi, got {lo}, {hi}")
    import math

    out = []
    for k in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
        for m in (1.0, 3.0):
            v = float(f"{m * 10.0 ** k:.12g}")
            if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9):
                out.append(v)
    return tuple(out)
