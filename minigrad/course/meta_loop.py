"""The pieces of the meta-training loop that the learner writes in lesson 05 (exercise 05.3) and
runs again in lesson 07, on MNIST: the function of each meta-iteration (:func:`draw_function`),
one unroll (:func:`unroll_steps`) and the library's loop (:func:`library_meta_train`, the
exercise's reference and the fallback of both lessons).

A learner's loop has exercise 05.3's signature::

    meta_train(net, problem, iters, steps=20, unroll=10, meta_lr=3e-2, seed=0, callback=None)

and calls ``L.draw_function(problem, seed, it)`` and ``L.unroll_steps(net, f, theta, state,
k)``, where ``L`` is the notebook's lesson package: lessons 05 and 07 both re-export these,
so the same loop runs on the quadratics of lesson 05 and on the MNIST MLPs of lesson 07.
"""

from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad.l2l import Flattener, MetaConfig, MetaTrainer
from minigrad.l2l.evaluate import SEED_TAGS
from minigrad.l2l.grouped import bind_net

__all__ = ["Horizon", "draw_function", "library_meta_train", "unroll_steps"]


class Horizon:
    """The function of one meta-iteration: ``f(theta)`` is the optimizee's loss at the flat
    Tensor ``theta`` (n,) on the data of the current step ``f.step`` (the MNIST MLP's minibatch
    of that step; a quadratic has one loss whatever the step). :func:`unroll_steps` advances
    the step, so an unroll continues where the last one stopped, as in the library's
    :class:`~minigrad.l2l.MetaTrainer`."""

    def __init__(self, instance, flat: Flattener):
        self.instance, self.flat, self.step = instance, flat, 0

    def __call__(self, theta):
        return self.instance.loss(self.flat.views(theta), self.step)


def draw_function(problem, seed: int, iteration: int):
    """The function of meta-iteration ``iteration``: ``(f, theta0)``, ``f(theta)`` its loss at
    a flat Tensor theta (n,) (a :class:`Horizon`, at step 0), ``theta0`` its starting point (a
    constant Tensor).

    Drawn from the seed the library's :class:`~minigrad.l2l.MetaTrainer` uses for the same
    iteration, so both loops see the same functions."""
    instance = problem.sample((int(seed), SEED_TAGS["train"], int(iteration)))
    arrays = instance.init_params()
    flat = Flattener.like(arrays)
    return Horizon(instance, flat), mg.tensor(flat.flatten(arrays))


def unroll_steps(net, f, theta, state, k: int):
    """One unroll of ``k`` optimizer steps (exercise 05.1's loop) from ``theta`` (a Tensor) and
    ``state`` (None: zeros). Returns ``(losses, theta, state)``: the list of the k losses
    f(theta_1), ..., f(theta_k) (scalar Tensors whose graph reaches phi), the last theta and the
    LSTM's last state, both still attached to this unroll's graph.

    A theta that is a constant (the start of a horizon, or a detached one) becomes a leaf that
    mg.grad can differentiate the loss with respect to. ``f`` may be any function of theta; a
    :class:`Horizon` moves on one step (the next minibatch) with every optimizer step."""
    if not theta.requires_grad:
        theta = mg.tensor(theta.data, requires_grad=True)
    if isinstance(f, Horizon):  # one LSTM per parameter group: which rows are which
        net = bind_net(net, f.instance, f.flat)
    loss = f(theta)
    losses = []
    for _ in range(k):
        grad_t = mg.grad(loss, theta, retain_graph=True).data  # a constant: the dashed edge
        delta, state = net.update(grad_t, state)
        theta = theta + delta
        if isinstance(f, Horizon):
            f.step += 1
        loss = f(theta)
        losses.append(loss)
    return losses, theta, state


def library_meta_train(net, problem, iters: int, steps: int = 20, unroll: int = 10,
                       meta_lr: float = 3e-2, seed: int = 0, callback=None) -> list[float]:
    """The library's loop (reference of exercise 05.3): ``MetaTrainer`` with the same settings
    (Adam on phi at ``meta_lr``, the paper's meta-loss, first order). Returns the curve: per
    meta-iteration the mean optimizee loss over the horizon, (1/T) sum_t f(theta_t)."""
    config = MetaConfig(steps=steps, unroll=min(unroll, steps), meta_lr=meta_lr, seed=seed)
    trainer = MetaTrainer(net, problem, config)
    curve: list[float] = []
    for _ in range(iters):
        curve.append(trainer.train_iteration())
        if callback is not None:
            callback(np.array(curve))
    return curve
