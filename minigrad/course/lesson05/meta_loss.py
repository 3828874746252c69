"""Section 5, exercise 05.1: the unrolled meta-loss with the gradient cut, its reference and its
check.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import minigrad as mg
from minigrad.course.checks import Exercise, register
from minigrad.l2l import (
    Flattener,
    LSTMOptimizer,
    QuadraticProblem,
    unroll,
)


def unrolled_meta_loss(net, f: Callable, theta0, steps: int):
    """The paper's meta-loss over one unroll: ``L(phi) = sum_{t=1..T} f(theta_t)``.

    ``net`` is the learned optimizer (``net.update(grad, state) -> (delta Tensor, state)``),
    ``f(theta) -> scalar Tensor`` the optimizee, ``theta0`` an array (N,), ``steps`` = T::

        for t = 0 .. T-1:
            grad_t         = d f(theta_t) / d theta_t    taken as a CONSTANT (dashed edge)
            g_t, h_{t+1}   = m(grad_t, h_t; phi)
            theta_{t+1}    = theta_t + g_t
        L = f(theta_1) + ... + f(theta_T)

    Returns L, a scalar Tensor whose graph reaches phi through every theta_t and LSTM state
    (reference of exercise 05.1; the library's :func:`minigrad.l2l.unroll` with
    ``method="graph"`` computes the same).
    """
    theta = mg.tensor(theta0, requires_grad=True)  # theta_0: a leaf, so grad() can reach it
    loss = f(theta)
    state, terms = None, []
    for _ in range(steps):
        grad_t = mg.grad(loss, theta, retain_graph=True).data  # .data: a constant array
        delta, state = net.update(grad_t, state)
        theta = theta + delta
        loss = f(theta)
        terms.append(loss)
    meta_loss = terms[0]
    for term in terms[1:]:
        meta_loss = meta_loss + term
    return meta_loss


@dataclass
class TinyProblem:
    """A small quadratic optimizee in the two forms used here.

    ``f(theta)`` for a flat Tensor theta (N,) (what exercise 05.1 uses), and ``instance`` +
    ``flat`` (what the library's :func:`~minigrad.l2l.unroll` takes). ``theta0`` is an array.
    """

    instance: object
    flat: Flattener
    theta0: np.ndarray
    description: str = ""

    def f(self, theta):
        """The optimizee loss at the flat parameter vector ``theta`` (a Tensor)."""
        return self.instance.loss(self.flat.views(theta), 0)


def tiny_quadratic(seed: int = 0, dim: int = 3, batch: int = 2, dtype="float64") -> TinyProblem:
    """``batch`` quadratics ||W theta - y||^2 of dimension ``dim`` (the paper's family, drawn
    from ``seed``), flattened into one vector of N = batch * dim coordinates."""
    problem = QuadraticProblem(dim=dim, batch=batch, init_std=1.0, dtype=dtype)
    instance = problem.sample(seed)
    arrays = instance.init_params()
    flat = Flattener.like(arrays)
    return TinyProblem(instance, flat, flat.flatten(arrays),
                       f"{batch} quadratics of dimension {dim} (seed {seed})")


def library_meta_loss(net, problem: TinyProblem, steps: int, second_order: bool = False):
    """The library's meta-loss for the same unroll (:func:`minigrad.l2l.unroll`, the literal
    ``method="graph"``): a scalar Tensor."""
    meta_loss, _, _, _ = unroll(net, problem.instance, problem.flat, problem.theta0.copy(), None,
                                0, steps, method="graph", second_order=second_order)
    return meta_loss


def _check_net(kind: str, seed: int) -> LSTMOptimizer:
    if kind == "identity":
        return LSTMOptimizer(preprocess="identity", hidden_size=6, num_layers=2,
                             output_scale=0.1, seed=seed, dtype="float64")
    return LSTMOptimizer(preprocess="logsign", p=5.0, hidden_size=4, num_layers=1,
                         output_scale=0.1, seed=seed, dtype="float64")


_CHECK_CASES = (  # (net kind, net seed, problem seed, dim, batch, steps)
    ("identity", 0, 0, 3, 2, 5),
    ("logsign", 1, 1, 2, 3, 4),
    ("identity", 2, 2, 4, 1, 1),
)


def _diagnose(value, problem, net_kind, net_seed, steps):
    """A hint for a wrong meta-loss value (off by one, last term only, f(theta_0) added)."""
    net = _check_net(net_kind, net_seed)
    _, _, _, losses = unroll(net, problem.instance, problem.flat, problem.theta0.copy(), None, 0,
                             steps, method="graph")
    f0 = float(problem.f(mg.tensor(problem.theta0)).item())
    known = {
        "f(theta_T) alone: sum every step's loss, f(theta_1) + ... + f(theta_T)": losses[-1],
        "f(theta_0) + ... + f(theta_T): the paper's sum starts at theta_1 (f(theta_0) does not "
        "depend on phi)": f0 + sum(losses),
        "the sum over T - 1 steps: run the loop `steps` times": sum(losses[:-1]),
    }
    for text, v in known.items():
        if math.isclose(value, v, rel_tol=1e-9, abs_tol=1e-12):
            return f"it equals {text}"
    return None


def _check_meta_loss(fn):
    """Checker of exercise 05.1: value and meta-gradient against the library's unroll."""
    for kind, net_seed, prob_seed, dim, batch, steps in _CHECK_CASES:
        problem = tiny_quadratic(prob_seed, dim, batch)
        label = (f"{problem.description}, T = {steps}, an LSTM optimizer with "
                 f"{'identity' if kind == 'identity' else 'LogAndSign(p=5)'} inputs")
        net = _check_net(kind, net_seed)
        theta0 = problem.theta0.copy()
        got = fn(net, problem.f, theta0, steps)
        if not np.array_equal(theta0, problem.theta0):
            yield label, "theta0 was modified in place; build new tensors (theta = theta + delta)"
            return
        if not isinstance(got, mg.Tensor) or got.size != 1:
            yield label, (f"expected a scalar minigrad Tensor (the sum of the f(theta_t) "
                          f"Tensors), got {type(got).__name__}")
            return
        ref_net = _check_net(kind, net_seed)
        expected = library_meta_loss(ref_net, problem, steps)
        value, want = float(got.item()), float(expected.item())
        if not math.isclose(value, want, rel_tol=1e-7, abs_tol=1e-10):
            why = _diagnose(value, problem, kind, net_seed, steps)
            yield label, (f"meta-loss {value:.6g}, expected {want:.6g}"
                          + (f" ({why})" if why else ""))
            return
        if not got.requires_grad:
            yield label, ("the meta-loss has no graph back to phi: keep theta_t a Tensor "
                          "built from net.update's delta (no .data, no no_grad) ")
            return
        params, ref_params = net.parameters(), ref_net.parameters()
        try:
            grads = mg.grad(got, params, allow_unused=True)
        except mg.GraphFreedError:
            yield label, ("the graph was freed before the meta-gradient could be taken: call "
                          "mg.grad(loss, theta, retain_graph=True) for grad_t")
            return
        ref_grads = mg.grad(expected, ref_params)
        for (name, _), g, r in zip(net.named_parameters(), grads, ref_grads):
            gd = np.zeros_like(r.data) if g is None else g.data
            if not np.allclose(gd, r.data, rtol=1e-6, atol=1e-9):
                err = float(np.max(np.abs(gd - r.data)))
                yield label, (f"the meta-gradient for {name} differs (max abs error {err:.3g}); "
                              "grad_t must enter the optimizer as a constant array (.data), "
                              "not as a Tensor whose graph reaches theta_t")
                return
        yield label, None


register(Exercise(
    id="05.1",
    title="unrolled meta-loss with the gradient cut",
    reference=unrolled_meta_loss,
    checker=_check_meta_loss,
    hint="the gradient enters the optimizer as a CONSTANT (an array: no graph back to theta, "
         "the dashed edge), while the step it produces stays a Tensor that depends on phi, "
         "and so does every later theta; the graph must survive each gradient you take from "
         "it, since the meta-gradient walks it again. The sum starts at f(theta_1). Still "
         "stuck: the collapsed 'Hint 2' below the exercise.",
))
