"""Section 2.3: the quadratic family, Gaussian or uniform W and y, summed or batch-mean loss, and
how an optimizer trained on one transfers to the others.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from minigrad import ops
from minigrad.autograd import grad
from minigrad.backend import to_device
from minigrad.l2l import (
    BaselineRule,
    LearnedRule,
)
from minigrad.l2l.evaluate import SEED_TAGS
from minigrad.l2l.problems import QuadraticProblem
from minigrad.optim import update_rules as F
from minigrad.tensor import Tensor

from ._shared import FUNCTIONS

# --------------------------------------------------------------------------------------------
# 2.3 The quadratic family: Gaussian or uniform W, y; summed or batch-mean loss

#: family name -> (QuadraticProblem variant for the draws of W, y, theta_0; loss factor).
#: The batch mean over the official code's 128 functions gives each function's loss (and
#: gradient) the factor 1/128, whatever subset of the functions we run.
FAMILIES = {
    "paper: Gaussian, summed": ("paper", 1.0),
    "Gaussian, mean of 128": ("paper", 1.0 / 128),
    "uniform, summed": ("official", 1.0),
    "official: uniform, mean of 128": ("official", 1.0 / 128),
}


class FamilyInstance:
    """B quadratics ``f_b = ||W_b theta_b - y_b||^2`` optimized together on the loss
    ``factor * sum_b f_b`` (factor 1: the paper's sum; 1/128: the official batch mean).

    Same interface as the library's instances (``init_params``, ``loss``, ``loss_and_runs``);
    each run reports its own f_b, without the factor.
    """

    def __init__(self, w, y, theta0, factor: float):
        self.w, self.y, self.theta0 = w, y[..., None], theta0
        self.factor = float(factor)
        self.num_runs = int(np.prod(w.shape[:-2]))

    def init_params(self) -> list:
        return [self.theta0.copy()]

    def _per_function(self, theta):
        r = ops.matmul(self.w, ops.reshape(theta, theta.shape + (1,))) - self.y
        return ops.sum(r * r, axis=(-2, -1))

    def loss_and_runs(self, params, step=0):
        per = self._per_function(params[0])
        loss = ops.sum(per)
        return (loss * self.factor if self.factor != 1.0 else loss), per.data.reshape(-1)

    def loss(self, params, step=0) -> Tensor:
        return self.loss_and_runs(params, step)[0]

    def gradient(self, theta):
        """The gradient of the loss for the flat theta (N,): ``factor * 2 W^T (W theta - y)``,
        written out (no graph)."""
        r = self.w @ theta.reshape(self.theta0.shape)[..., None] - self.y
        return (2.0 * self.factor * (self.w.swapaxes(-1, -2) @ r)[..., 0]).reshape(-1)


class FamilyProblem:
    """A quadratic family of :data:`FAMILIES` with ``functions`` functions per instance.

    ``sample(seed)`` draws W, y and theta_0 exactly as ``QuadraticProblem(batch=functions,
    variant=variant)`` does for that seed, and applies the family's loss factor. Usable by
    :class:`~minigrad.l2l.MetaTrainer` and :func:`~minigrad.l2l.evaluate_rule`.
    """

    def __init__(self, family: str = "paper: Gaussian, summed", functions: int = FUNCTIONS,
                 dtype="float32"):
        if family not in FAMILIES:
            raise ValueError(f"unknown quadratic family {family!r}; expected one of "
                             f"{', '.join(FAMILIES)}")
        self.family = family
        self.variant, self.factor = FAMILIES[family]
        self.functions = int(functions)
        self.base = QuadraticProblem(batch=self.functions, variant=self.variant, dtype=dtype)
        self.runs_per_sample = self.functions

    def sample(self, seed) -> FamilyInstance:
        inst = self.base.sample(seed)
        return FamilyInstance(inst.w, inst.y[..., 0], inst.theta0, self.factor)

    def sample_runs(self, seeds) -> list:
        return [self.sample(s) for s in seeds]

    def describe(self) -> str:
        return f"{self.functions} quadratics of dimension 10 ({self.family})"


def family_stats(functions: int = 128, seed: int = 0) -> dict:
    """Per family, over ``functions`` functions of one instance: the median |gradient|
    at theta_0 (with the family's factor), the median condition number of W, and the mean
    f_b(theta_0)."""
    out = {}
    for name in FAMILIES:
        prob = FamilyProblem(name, functions, dtype="float64")
        inst = prob.sample((seed, SEED_TAGS["val"], 0))
        theta = Tensor.from_array(inst.theta0, requires_grad=True)
        loss, per = inst.loss_and_runs([theta])
        (g,) = grad(loss, [theta])
        w = np.asarray(to_device(inst.w, "cpu"))
        out[name] = {"median_grad": float(np.median(np.abs(to_device(g.data, "cpu")))),
                     "median_cond": float(np.median(np.linalg.cond(w))),
                     "f0": float(np.mean(to_device(per, "cpu")))}
    return out


LR_GRID = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0, 3.0)


class ArrayRule:
    """An update rule of :mod:`minigrad.optim.update_rules` (``fn(theta, g, state, lr, ...)``)
    in the ``start``/``step`` form of the library's update rules."""

    def __init__(self, fn: Callable, lr: float, **hyper):
        self.fn, self.lr, self.hyper = fn, float(lr), hyper

    def start(self, theta):
        self.state = {}
        return theta

    def step(self, theta, g):
        theta, self.state = self.fn(theta, g, self.state, self.lr, **self.hyper)
        return theta


def make_rule(name: str, lr: float = 0.0, net=None):
    """``"lstm"`` (the learned optimizer ``net``), ``"momentum"`` (heavy ball, 0.9) or a
    library baseline (``"adam"``, ``"sgd"``, ``"nag"``, ``"rmsprop"``) with rate ``lr``."""
    if name == "lstm":
        return LearnedRule(net)
    if name == "momentum":
        return ArrayRule(F.sgd, lr, momentum=0.9)
    return BaselineRule(name, lr)


def quadratic_rollout(rule, inst: FamilyInstance, steps: int) -> np.ndarray:
    """:func:`minigrad.l2l.rollout` for a :class:`FamilyInstance`, with the gradient written
    out, ``factor * 2 W^T (W theta - y)``, instead of taken by autograd (the same numbers up
    to float rounding, and cheaper: no graph is built; the tests compare the two). Returns the
    losses, shape (steps + 1, functions); a non-finite loss ends the rollout (the remaining
    rows repeat it)."""
    shape = inst.theta0.shape
    theta = rule.start(inst.theta0.reshape(-1).copy())
    rows = []
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps + 1):
            r = inst.w @ theta.reshape(shape)[..., None] - inst.y
            rows.append(np.asarray(to_device((r * r).sum(axis=(-2, -1)), "cpu"), np.float64))
            if not np.isfinite(rows[-1]).all():
                rows.extend([rows[-1]] * (steps - t))
                break
            if t < steps:
                theta = rule.step(theta, inst.gradient(theta))
    return np.stack(rows)


def family_losses(name: str, problem: FamilyProblem, seed, steps: int = 100, lr: float = 0.0,
                  net=None) -> np.ndarray:
    """Losses (functions, steps + 1) of a fresh rule ``name`` (see :func:`make_rule`) on
    instance ``seed`` of ``problem``."""
    return quadratic_rollout(make_rule(name, lr, net), problem.sample(seed), steps).T


def tune_lr(name: str, problem: FamilyProblem, steps: int = 100, seed: int = 0,
            grid=LR_GRID):
    """The learning rate of ``grid`` with the lowest mean final loss of ``name`` ("adam",
    "momentum", ...) on validation instance ``(seed, 2, 0)`` of ``problem``; diverged runs
    count as +inf. Returns ``(lr, {lr: mean final loss})``."""
    table = {}
    for lr in grid:
        final = family_losses(name, problem, (seed, SEED_TAGS["val"], 0), steps, lr)[:, -1]
        table[float(lr)] = float(final.mean()) if np.isfinite(final).all() else math.inf
    best = min(table, key=lambda lr: (table[lr], lr))
    return best, table


def transfer(net, steps: int = 100, functions: int = FUNCTIONS, seed: int = 0,
             grid=LR_GRID, progress: bool = False) -> dict:
    """The learned optimizer ``net`` and Adam on test instance ``(seed, 3, 0)`` of every
    family in :data:`FAMILIES`, ``functions`` functions each, ``steps`` steps.

    Adam's learning rate is tuned (:func:`tune_lr`) on each family; per family: ``lstm`` and
    ``adam`` (losses (functions, steps + 1), each function's own f_b) and ``adam_lr``.
    """
    names = list(FAMILIES)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(names, desc="families")
    out = {}
    for name in names:
        prob = FamilyProblem(name, functions)
        lr = tune_lr("adam", prob, steps, seed, grid)[0]
        test = (seed, SEED_TAGS["test"], 0)
        out[name] = {"lstm": family_losses("lstm", prob, test, steps, net=net),
                     "adam": family_losses("adam", prob, test, steps, lr), "adam_lr": lr}
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return out


def plot_transfer(result: dict, label: str = "learned (paper family)"):
    """One panel per family: the mean loss of the learned optimizer and of tuned Adam,
    divided by the mean loss at theta_0 (so the families' scales compare)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(result), figsize=(3.3 * len(result), 3.2), sharey=True)
    for ax, (name, r) in zip(np.atleast_1d(axes), result.items()):
        f0 = r["adam"][:, 0].mean()
        for key, color, lab in [("lstm", "tab:blue", label),
                                ("adam", "tab:red", f"Adam (lr {r['adam_lr']:g})")]:
            curve = np.where(np.isfinite(r[key]), r[key], np.nan).mean(axis=0) / f0
            ax.plot(curve, color=color, label=lab)
        ax.set_yscale("log")
        ax.set(title=name, xlabel="step")
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("mean loss / mean loss at step 0")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.tight_layout()
    return fig
