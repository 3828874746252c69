"""Imitation warm start: fit the LSTM optimizer to a hand-designed optimizer's updates first.

Chen et al. (2020, "Training Stronger Baselines for Learning to Optimize") start
meta-training from an LSTM that already behaves like a tuned hand-designed optimizer. A
freshly initialised LSTM outputs updates near zero, so its first meta-iterations only learn to
move at all; the paper's MNIST run spent its first hundred meta-iterations there, and a high
meta learning rate can leave it stuck at chance for good.

The teacher (Adam by default) is run on training problems; every step records the optimizee
gradient g_t it saw and the update u_t = theta_{t+1} - theta_t it made, per coordinate. The
LSTM is then fitted by plain regression on those sequences, coordinate by coordinate (the
same coordinatewise LSTM as in meta-training: every coordinate is one row of the batch)::

    delta_t, state = m(preprocess(g_t), state; phi)        t = 0 .. T-1
    loss(phi)      = mean over t and coordinates of ((delta_t - u_t) / lr_teacher)^2

with backpropagation through time in unrolls of K steps (the LSTM state carried, its graph
cut), and Adam on phi. Dividing by the teacher's learning rate makes the loss about 1 for an
LSTM that outputs nothing, whatever the rate.

This needs no optimizee graph and no meta-gradient: the teacher's trajectory is recorded once
per problem, and a random subset of its coordinates is enough for the regression (every
coordinate is a sample of the same per-coordinate rule). So it is cheap: a few seconds for
what meta-training needs minutes to find. Its problems are drawn from seeds
``(seed, SEED_TAGS["imitation"], k)``, a stream of its own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .. import optim
from ..autograd import grad
from ..nn import detach_state
from ..tensor import Tensor
from .evaluate import SEED_TAGS, BaselineRule
from .flat import Flattener

__all__ = ["ImitationConfig", "imitate", "teacher_trajectory"]


@dataclass(frozen=True)
class ImitationConfig:
    """What to imitate and how long (defaults: Adam at the tuned rate for the paper's MNIST
    net, 30 problems of 100 steps, 2,048 coordinates of each)."""

    teacher: str = "adam"      # one of the baselines (minigrad.l2l.baselines.BASELINES)
    teacher_lr: float = 0.03   # Adam's tuned rate on the MNIST sigmoid-20 net (RESULTS.md)
    problems: int = 30         # teacher runs recorded (one training problem each)
    coordinates: int = 2048    # coordinates of each run fitted (rows of the LSTM's batch)
    steps: int = 100           # teacher steps per run (the horizon T)
    unroll: int = 20           # BPTT truncation of the regression
    lr: float = 3e-3           # Adam's rate on phi

    def __post_init__(self):
        if min(self.problems, self.coordinates, self.steps, self.unroll) < 1:
            raise ValueError(f"ImitationConfig: problems, coordinates, steps and unroll must be "
                             f">= 1, got {self.problems}, {self.coordinates}, {self.steps}, "
                             f"{self.unroll}")
        if not (self.teacher_lr > 0 and self.lr > 0):
            raise ValueError(f"ImitationConfig: teacher_lr and lr must be > 0, got "
                             f"{self.teacher_lr}, {self.lr}")

    def to_dict(self) -> dict:
        return asdict(self)


def teacher_trajectory(instance, teacher: str, lr: float, steps: int):
    """Run the baseline ``teacher`` at rate ``lr`` on ``instance`` for ``steps`` steps.

    Returns ``(G, U)``, both (steps, N): the gradient g_t the teacher received at step t and the
    update u_t = theta_{t+1} - theta_t it made.
    """
    rule = BaselineRule(teacher, lr)
    arrays = instance.init_params()
    flat = Flattener.like(arrays)
    theta = rule.start(flat.flatten(arrays))
    gradients, updates = [], []
    for t in range(steps):
        leaves = flat.leaves(theta)
        g = flat.flatten([d.data for d in grad(instance.loss(leaves, t), leaves)])
        before = theta.copy()
        theta = rule.step(theta, g)
        gradients.append(g)
        updates.append(theta - before)
    return np.stack(gradients), np.stack(updates)


def _fit_sequence(net, opt, G, U, unroll: int, scale: float) -> float:
    """One pass of truncated BPTT over the sequences (T, M); returns the mean loss."""
    state, total = None, 0.0
    for start in range(0, G.shape[0], unroll):
        loss = None
        for t in range(start, min(start + unroll, G.shape[0])):
            delta, state = net.update(G[t], state)
            diff = delta - Tensor.from_array(U[t])
            term = (diff * diff).mean() * scale
            loss = term if loss is None else loss + term
        opt.zero_grad()
        loss.backward()
        opt.step()
        state = detach_state(state)
        total += loss.item()
    return total / G.shape[0]


def imitate(net, problem, config: ImitationConfig | None = None, *, seed: int = 0,
            callback=None) -> list[float]:
    """Fit ``net`` (an :class:`~minigrad.l2l.lstm_optimizer.LSTMOptimizer`) to the teacher's
    updates on ``config.problems`` training problems of ``problem``; returns the regression
    loss per problem (1.0 is an LSTM that outputs nothing). ``callback(k, loss)`` after each.
    """
    c = config or ImitationConfig()
    opt = optim.Adam(net.parameters(), lr=c.lr)
    rng = np.random.default_rng([int(seed), SEED_TAGS["imitation"]])
    scale = 1.0 / c.teacher_lr ** 2
    losses = []
    for k in range(c.problems):
        instance = problem.sample((int(seed), SEED_TAGS["imitation"], k))
        G, U = teacher_trajectory(instance, c.teacher, c.teacher_lr, c.steps)
        rows = rng.choice(G.shape[1], size=min(c.coordinates, G.shape[1]), replace=False)
        losses.append(_fit_sequence(net, opt, G[:, rows], U[:, rows], c.unroll, scale))
        if callback is not None:
            callback(k, losses[-1])
    return losses
