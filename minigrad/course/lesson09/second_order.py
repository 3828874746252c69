"""Section 2, exercise 09.1: the meta-gradient with and without the Hessian term, on a tiny
problem, its reference and its check.
"""

from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad.course.checks import Exercise, register
from minigrad.l2l import Flattener, LSTMOptimizer, QuadraticProblem, unroll

__all__ = ["cosine", "library_meta_gradient", "tiny_problem", "unrolled_meta_gradient"]


def unrolled_meta_gradient(net, f, theta0, steps: int, second_order: bool) -> np.ndarray:
    """The meta-gradient dL/dphi of ``L = f(theta_1) + ... + f(theta_T)`` (T = ``steps``) as
    one flat float64 array over ``net.parameters()`` (reference of exercise 09.1).

    ``second_order=False`` is the paper: grad_t enters the optimizer as a constant (its
    ``.data``). ``second_order=True`` keeps grad_t's graph (``create_graph=True``), so the
    backward pass also runs through the Hessian of f, into theta_{t+1} and into the LSTM state.
    """
    theta = mg.tensor(theta0, requires_grad=True)
    loss = f(theta)
    state, meta_loss = None, None
    for _ in range(steps):
        grad_t = mg.grad(loss, theta, retain_graph=True, create_graph=second_order)
        if not second_order:
            grad_t = grad_t.data  # the dashed edge: a constant
        delta, state = net.update(grad_t, state, create_graph=second_order)
        theta = theta + delta
        loss = f(theta)
        meta_loss = loss if meta_loss is None else meta_loss + loss
    grads = mg.grad(meta_loss, net.parameters())
    return np.concatenate([g.numpy().ravel() for g in grads]).astype(np.float64)


def cosine(a, b) -> float:
    """The cosine of the angle between two flat vectors."""
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


class _Tiny:
    """``batch`` quadratics ||W theta - y||^2 of dimension ``dim`` as one flat vector:
    ``f(theta)`` for a Tensor theta, ``theta0`` an array, and what ``unroll`` takes."""

    def __init__(self, seed: int, dim: int, batch: int, dtype: str):
        self.instance = QuadraticProblem(dim=dim, batch=batch, init_std=1.0,
                                         dtype=dtype).sample(seed)
        arrays = self.instance.init_params()
        self.flat = Flattener.like(arrays)
        self.theta0 = self.flat.flatten(arrays)
        self.description = f"{batch} quadratics of dimension {dim} (seed {seed})"

    def f(self, theta):
        return self.instance.loss(self.flat.views(theta), 0)


def tiny_problem(seed: int = 0, dim: int = 3, batch: int = 2, dtype: str = "float64") -> _Tiny:
    """A tiny optimizee: ``batch`` of the paper's quadratics of dimension ``dim``."""
    return _Tiny(seed, dim, batch, dtype)


def library_meta_gradient(net, problem, steps: int, second_order: bool) -> np.ndarray:
    """The same meta-gradient from :func:`minigrad.l2l.unroll` (``method="graph"``)."""
    net.zero_grad()
    meta_loss, *_ = unroll(net, problem.instance, problem.flat, problem.theta0.copy(), None, 0,
                           steps, method="graph", second_order=second_order)
    grads = mg.grad(meta_loss, net.parameters())
    return np.concatenate([g.numpy().ravel() for g in grads]).astype(np.float64)


def _net(kind: str, seed: int) -> LSTMOptimizer:
    if kind == "identity":
        return LSTMOptimizer(preprocess="identity", hidden_size=5, num_layers=2,
                             output_scale=0.1, seed=seed, dtype="float64")
    return LSTMOptimizer(preprocess="logsign", p=5.0, hidden_size=4, num_layers=1,
                         output_scale=0.1, seed=seed, dtype="float64")


_CASES = (  # (net kind, net seed, problem seed, dim, batch, steps)
    ("identity", 0, 0, 3, 2, 4),
    ("identity", 1, 1, 2, 3, 3),
    ("logsign", 2, 2, 3, 1, 3),
)


def _close(a, b) -> bool:
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-6, atol=1e-10)


def _check_meta_gradient(fn):
    """Checker of exercise 09.1: both orders against the library's unroll, with diagnoses."""
    for kind, net_seed, prob_seed, dim, batch, steps in _CASES:
        problem = tiny_problem(prob_seed, dim, batch)
        ref = {order: library_meta_gradient(_net(kind, net_seed), problem, steps, order)
               for order in (False, True)}
        for order in (False, True):
            name = "second order" if order else "first order"
            label = f"{problem.description}, T = {steps}, {kind} LSTM, {name}"
            theta0 = problem.theta0.copy()
            try:
                got = fn(_net(kind, net_seed), problem.f, theta0, steps, order)
            except mg.GraphFreedError:
                yield label, ("the graph was freed too early: every mg.grad inside the loop "
                              "needs retain_graph=True (the meta-gradient is taken later)")
                return
            if not np.array_equal(theta0, problem.theta0):
                yield label, "theta0 was modified in place; build new tensors"
                return
            got = np.asarray(got, dtype=np.float64).ravel()
            if got.shape != ref[order].shape:
                yield label, (f"got {got.size} numbers, expected {ref[order].size}: one per "
                              "entry of every array in net.parameters(), flattened and joined")
                return
            if _close(got, ref[order]):
                yield label, None
                continue
            if order and _close(got, ref[False]):
                why = ("this is the first-order meta-gradient: the Hessian term is still cut. "
                       "Keep grad_t's graph and let the LSTM differentiate through it")
            elif not order and _close(got, ref[True]):
                why = ("this is the second-order meta-gradient: with second_order=False grad_t "
                       "must enter the optimizer as a constant")
            else:
                err = float(np.abs(got - ref[order]).max())
                why = f"max abs error {err:.3g} against the library's unroll"
            yield label, why
            return


register(Exercise(
    id="09.1",
    title="the meta-gradient with the Hessian term kept",
    reference=unrolled_meta_gradient,
    checker=_check_meta_gradient,
    hint="Start from exercise 05.1's loop. The only difference between the two orders is "
         "whether grad_t carries a graph back to theta_t: without one the backward pass stops "
         "at grad_t (the dashed edge), with one it goes on through the Hessian of f. The "
         "optimizer's own graph must then be differentiable twice too (net.update has a switch "
         "for that).",
))
