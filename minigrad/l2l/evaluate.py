"""The evaluation protocol: the learned optimizer against tuned hand-designed optimizers.

1. Every baseline (SGD, NAG, RMSprop, Adam) runs on VALIDATION problems with each learning
   rate of a log grid; the rate with the lowest mean final loss is kept (the paper reports
   "the best final loss"; a run that diverged counts as +inf).
2. The learned optimizer and the tuned baselines run on TEST problems: new seeds, and for
   MNIST the held-out test digits. Every optimizer sees the same test problems (same initial
   theta, same minibatch at every step).
3. Reported per optimizer: the mean loss at every step t = 0..T (``curve``, length T + 1) with
   its 95% confidence half-width (``ci95``, :data:`~minigrad.l2l.stats.CI_METHOD`), the mean
   final loss and the mean summed loss sum_{t=1..T} f(theta_t) (the paper's meta-objective with
   w_t = 1), each with a CI, over ``runs`` independent runs; the median final loss; and every
   run's final loss (``finals``), so anyone can recompute the statistics.
4. The learned optimizer against the best tuned baseline (lowest mean final loss), PAIRED on the
   same test runs (``paired``, :func:`~minigrad.l2l.stats.paired_comparison`): the mean
   difference with its 95% interval, the fraction of runs it wins, and the verdict (a claim
   holds only where the interval excludes zero in its favour; otherwise a tie).

What a run is: one MNIST MLP (its own initial weights and minibatch stream), or one quadratic
function (the functions are optimized in batches of B, exactly as in meta-training, so the
official variant's 1/B gradient scale is the trained one; each function is reported alone).
The reported MNIST loss is the minibatch loss the optimizer sees at that step.

Nothing here records a graph except each step's optimizee loss, whose gradient is needed;
the optimizers themselves run under :func:`minigrad.no_grad`.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd import grad
from ..backend import to_device
from ..grad_mode import no_grad
from ..tensor import Tensor
from .baselines import BASELINES, DEFAULT_LR_GRID, make_baseline
from .flat import Flattener
from .stats import CI_METHOD, mean_ci95, paired_comparison

__all__ = [
    "BaselineRule", "LearnedRule", "OPTIMIZERS", "SEED_TAGS", "evaluate_rule", "problem_seeds",
    "rollout", "run_protocol", "summarize", "tune_lr",
]

OPTIMIZERS = ("lstm",) + BASELINES
#: Seeds of problem instances are (seed, tag, index): disjoint streams for each use.
SEED_TAGS = {"train": 1, "val": 2, "test": 3}


class LearnedRule:
    """The learned optimizer as an update rule: theta <- theta + m(g, h; phi), no graph."""

    def __init__(self, net):
        self.net = net

    def start(self, theta):
        self.state = None  # the LSTM's zero state
        return theta

    def step(self, theta, g):
        delta, self.state = self.net.update_array(g, self.state)
        theta += delta
        return theta


class BaselineRule:
    """A :mod:`minigrad.optim` optimizer as an update rule on the flat theta."""

    def __init__(self, name: str, lr: float):
        if name not in BASELINES:
            raise ValueError(f"unknown baseline {name!r}; expected one of {', '.join(BASELINES)}")
        self.name, self.lr = name, float(lr)

    def start(self, theta):
        from ..nn import Parameter

        self.param = Parameter(theta)
        self.opt = make_baseline(self.name, [self.param], self.lr)
        return self.param.data

    def step(self, theta, g):
        self.param.grad = Tensor._make(g)
        with no_grad():
            self.opt.step()
        return self.param.data


def rollout(rule, instance, steps: int) -> np.ndarray:
    """Run ``rule`` for ``steps`` steps on ``instance``; return the losses, shape
    (steps + 1, runs): row t holds every run's loss at theta_t. A loss that becomes non-finite
    ends the rollout (the remaining rows repeat it)."""
    arrays = instance.init_params()
    flat = Flattener.like(arrays)
    theta = rule.start(flat.flatten(arrays))
    rows = []
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for t in range(steps + 1):
            leaves = flat.leaves(theta)
            loss, per_run = instance.loss_and_runs(leaves, t)
            rows.append(np.asarray(to_device(per_run, "cpu"), dtype=np.float64))
            if not np.isfinite(rows[-1]).all():
                rows.extend([rows[-1]] * (steps - t))
                break
            if t < steps:
                g = flat.flatten([d.data for d in grad(loss, leaves)])
                theta = rule.step(theta, g)
    return np.stack(rows)


def problem_seeds(problem, seed: int, use: str, runs: int) -> list:
    """The instance seeds ``(seed, tag, k)`` needed for ``runs`` runs of ``problem``."""
    per = getattr(problem, "runs_per_sample", 1)
    return [(int(seed), SEED_TAGS[use], k) for k in range(math.ceil(runs / per))]


def evaluate_rule(make_rule, problem, seeds, steps: int, runs: int) -> np.ndarray:
    """Losses (runs, steps + 1) of a fresh ``make_rule()`` on each instance of ``seeds``."""
    parts = [rollout(make_rule(), inst, steps) for inst in problem.sample_runs(seeds)]
    return np.concatenate(parts, axis=1).T[:runs]


def tune_lr(name: str, problem, seeds, steps: int, runs: int, grid=DEFAULT_LR_GRID,
            progress=None):
    """The learning rate of ``grid`` with the lowest mean final validation loss.

    Returns ``(best_lr, {lr: mean final loss})``; diverged runs count as +inf.
    """
    table = {}
    for lr in grid:
        losses = evaluate_rule(lambda lr=lr: BaselineRule(name, lr), problem, seeds, steps, runs)
        final = losses[:, -1]
        table[float(lr)] = float(final.mean()) if np.isfinite(final).all() else math.inf
        if progress is not None:
            progress(name, lr, table[float(lr)])
    best = min(table, key=lambda lr: (table[lr], lr))
    return best, table


def _finite_or_none(x):
    x = float(x)
    return x if math.isfinite(x) else None


def summarize(losses: np.ndarray) -> dict:
    """JSON-ready statistics of a (runs, steps + 1) loss matrix (non-finite -> null)."""
    curve, ci = mean_ci95(losses, axis=0)
    final_m, final_ci = mean_ci95(losses[:, -1])
    summed = losses[:, 1:].sum(axis=1)
    sum_m, sum_ci = mean_ci95(summed)
    return {
        "curve": [_finite_or_none(v) for v in curve],
        "ci95": [_finite_or_none(v) for v in ci],
        "final_loss": _finite_or_none(final_m),
        "final_ci95": _finite_or_none(final_ci),
        "summed_loss": _finite_or_none(sum_m),
        "summed_ci95": _finite_or_none(sum_ci),
        "median_final": _finite_or_none(np.median(np.where(np.isfinite(losses[:, -1]),
                                                           losses[:, -1], np.inf))),
        "diverged_runs": int((~np.isfinite(losses[:, -1])).sum()),
        "finals": [_finite_or_none(v) for v in losses[:, -1]],
    }


def run_protocol(net, val_problem, test_problem, *, steps: int = 100, runs: int = 20,
                 val_runs: int | None = None, seed: int = 0, grid=DEFAULT_LR_GRID,
                 optimizers=OPTIMIZERS, log=None) -> dict:
    """The whole protocol (see the module docstring); returns the JSON-ready result.

    ``net``: the learned optimizer (an :class:`~minigrad.l2l.LSTMOptimizer`), or None when
    ``"lstm"`` is not among ``optimizers``. ``val_problem`` / ``test_problem``: the same family
    (for MNIST, the ``val`` and ``test`` splits). ``log(message)`` reports progress.
    """
    for name in optimizers:
        if name not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {name!r}; expected some of "
                             f"{', '.join(OPTIMIZERS)}")
    if "lstm" in optimizers and net is None:
        raise ValueError("run_protocol: 'lstm' was asked for but no learned optimizer was given")
    val_runs = runs if val_runs is None else val_runs
    log = log or (lambda msg: None)
    val_seeds = problem_seeds(val_problem, seed, "val", val_runs)
    test_seeds = problem_seeds(test_problem, seed, "test", runs)
    result = {"steps": int(steps), "runs": int(runs), "val_runs": int(val_runs),
              "seed": int(seed), "ci_method": CI_METHOD, "lr_grid": [float(v) for v in grid],
              "optimizers": list(optimizers)}
    for name in optimizers:
        if name == "lstm":
            entry = {}
            make_rule = lambda: LearnedRule(net)  # noqa: E731
        else:
            lr, table = tune_lr(name, val_problem, val_seeds, steps, val_runs, grid,
                                progress=lambda n, lr, v: log(f"tune {n} lr={lr:g}: {v:.4g}"))
            entry = {"lr": lr, "val_final_loss": {f"{k:g}": _finite_or_none(v)
                                                  for k, v in table.items()}}
            make_rule = lambda name=name, lr=lr: BaselineRule(name, lr)  # noqa: E731
        losses = evaluate_rule(make_rule, test_problem, test_seeds, steps, runs)
        entry.update(summarize(losses))
        log(f"{name}: final loss {entry['final_loss']}")
        result[name] = entry
    baselines = [n for n in optimizers if n != "lstm"]
    if "lstm" in optimizers and baselines:
        result["paired"] = paired_against_best(result, baselines)
    return result


def paired_against_best(result: dict, baselines) -> dict:
    """The learned optimizer against the baseline with the lowest mean final loss, paired over
    the test runs (``a`` = learned, ``b`` = that baseline; see :func:`paired_comparison`)."""
    def mean_final(name):
        v = result[name]["final_loss"]
        return math.inf if v is None else v

    best = min(baselines, key=lambda n: (mean_final(n), baselines.index(n)))
    nan = float("nan")
    finals = [[nan if v is None else v for v in result[n]["finals"]] for n in ("lstm", best)]
    return {"baseline": best, **paired_comparison(*finals)}
