"""The paper's settings, in one place (Andrychowicz et al. 2016; ``docs/paper.md`` summarises it).

Every default of the learned optimizer, the problems and meta-training is read from
:data:`PAPER`; nothing else in the package repeats one of these numbers as a literal. Where the
official code differs, the value is one flag away (``--p 5``, ``--output-scale 0.01``, ...),
and :data:`OFFICIAL` records it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OFFICIAL", "PAPER", "PaperSettings"]


@dataclass(frozen=True)
class PaperSettings:
    # the learned optimizer: a 2-layer LSTM of 20 units, then a linear layer 20 -> 1
    hidden_size: int = 20
    num_layers: int = 2
    p: float = 10.0                    # LogAndSign exponent (appendix A)
    mnist_output_scale: float = 0.1    # update = 0.1 * the head's output on MNIST
    forget_bias: float = 1.0           # not stated by the paper; the official code's
    # meta-training
    steps: int = 100                   # horizon T
    unroll: int = 20                   # truncation: one meta-update per 20 steps
    meta_lr: float = 1e-3              # Adam on phi (the paper searched it; the code's value)
    betas: tuple = (0.9, 0.999)        # Torch7 defaults
    eps: float = 1e-8
    # the problems
    quadratic_dim: int = 10            # f(theta) = ||W theta - y||^2, 10-dim
    quadratic_batch: int = 128
    init_std: float = 0.01             # theta_0 ~ N(0, 0.01^2)
    mnist_optimizee: str = "sigmoid-20"  # MLP 784-20-10, sigmoid hidden layer
    batch_size: int = 128              # MNIST minibatches


#: The paper's settings, the defaults everywhere.
PAPER = PaperSettings()

#: The official code's constants where they differ from the paper (a lesson in itself).
OFFICIAL = {"p": 5.0, "mnist_output_scale": 0.01, "quadratic_variant": "uniform W, y; batch mean",
            "loss_terms": "21 per unroll (f(theta_0) too)"}
