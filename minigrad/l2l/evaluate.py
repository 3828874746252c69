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
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from ..autograd import grad
from ..backend import to_device
from ..grad_mode import no_grad
from ..tensor import Tensor
from .baselines import BASELINES, DEFAULT_LR_GRID, OPTIMIZERS, make_baseline
from .flat import Flattener
from .grouped import bind_net
from .paper import PAPER
from .problems import parse_optimizee
from .stats import (
    CI_METHOD,
    finite_or_none,
    inf_if_none,
    mean_ci95,
    mean_or_inf,
    paired_comparison,
)

__all__ = [
    "BaselineRule", "Experiment", "ExperimentRollouts", "LearnedRule", "OPTIMIZERS",
    "RolloutCache", "SEED_TAGS", "best_baseline", "ci_overlap", "compare_final",
    "evaluate_rule", "experiment_result", "finite_or_none", "paired_against", "pick_lr",
    "problem_seeds", "rollout", "run_experiments", "run_protocol", "summarize",
    "tune_lr", "tune_on_validation",
]

#: Seeds of problem instances are (seed, tag, index): disjoint streams for each use.
SEED_TAGS = {"train": 1, "val": 2, "test": 3, "imitation": 4}


class LearnedRule:
    """The learned optimizer as an update rule: theta <- theta + m(g, h; phi), no graph.

    An optimizer with one LSTM per parameter group must know which coordinates are which:
    :func:`rollout` calls :meth:`bind` with the instance (see :mod:`minigrad.l2l.grouped`)."""

    def __init__(self, net):
        self.net = self.stepper = net

    def start(self, theta):
        self.state = None  # the LSTM's zero state
        return theta

    def bind(self, instance, flat):
        """Step the flat vector of ``instance`` (a no-op for a single LSTM)."""
        self.stepper = bind_net(self.net, instance, flat)

    def step(self, theta, g):
        delta, self.state = self.stepper.update_array(g, self.state)
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
        self.param.grad = Tensor.from_array(g)
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
    if hasattr(rule, "bind"):  # the learned optimizer: which coordinates go to which LSTM
        rule.bind(instance, flat)
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


# ---------------------------------------------------------------- choosing a learning rate ---
def pick_lr(table: dict) -> float:
    """The learning rate with the lowest MEAN final validation loss.

    ``table`` maps each learning rate to the final validation losses of its runs (one number
    per run). A rate with any run that diverged (nan or inf) scores +inf
    (:func:`~minigrad.l2l.stats.mean_or_inf`); ties go to the smaller learning rate.
    """
    return min(table, key=lambda lr: (mean_or_inf(table[lr]), lr))


def tune_lr(name: str, problem, seeds, steps: int, runs: int, grid=DEFAULT_LR_GRID,
            progress=None):
    """The learning rate of ``grid`` chosen by :func:`pick_lr` on validation runs.

    Returns ``(best_lr, {lr: mean final loss})``; diverged runs count as +inf.
    """
    finals = {}
    for lr in grid:
        losses = evaluate_rule(lambda lr=lr: BaselineRule(name, lr), problem, seeds, steps, runs)
        finals[float(lr)] = losses[:, -1]
        if progress is not None:
            progress(name, lr, mean_or_inf(finals[float(lr)]))
    return pick_lr(finals), {lr: mean_or_inf(v) for lr, v in finals.items()}


# ------------------------------------------------------------------------------ statistics ---
def summarize(losses: np.ndarray) -> dict:
    """JSON-ready statistics of a (runs, steps + 1) loss matrix (non-finite -> null)."""
    curve, ci = mean_ci95(losses, axis=0)
    final_m, final_ci = mean_ci95(losses[:, -1])
    summed = losses[:, 1:].sum(axis=1)
    sum_m, sum_ci = mean_ci95(summed)
    return {
        "curve": [finite_or_none(v) for v in curve],
        "ci95": [finite_or_none(v) for v in ci],
        "final_loss": finite_or_none(final_m),
        "final_ci95": finite_or_none(final_ci),
        "summed_loss": finite_or_none(sum_m),
        "summed_ci95": finite_or_none(sum_ci),
        "median_final": finite_or_none(np.median(np.where(np.isfinite(losses[:, -1]),
                                                           losses[:, -1], np.inf))),
        "diverged_runs": int((~np.isfinite(losses[:, -1])).sum()),
        "finals": [finite_or_none(v) for v in losses[:, -1]],
    }


def best_baseline(result: dict, baselines=BASELINES) -> str:
    """The tuned baseline of ``result`` with the lowest mean final test loss (diverged counts
    as +inf; ties go to the first of ``baselines``)."""
    baselines = list(baselines)
    return min(baselines,
               key=lambda b: (inf_if_none(result[b]["final_loss"]), baselines.index(b)))


def paired_against(result: dict, baseline: str) -> dict:
    """The learned optimizer against ``baseline``, paired over the test runs of ``result``
    (``a`` = learned, ``b`` = the baseline; :func:`~minigrad.l2l.stats.paired_comparison`),
    with ``baseline`` named. Usually ``paired_against(result, best_baseline(result))``."""
    finals = [[math.nan if v is None else v for v in result[n]["finals"]]
              for n in ("lstm", baseline)]
    return {"baseline": baseline, **paired_comparison(*finals)}


def ci_overlap(a: dict, b: dict):
    """Whether the 95% intervals of two entries' mean final losses overlap (None when one is
    unknown: a diverged run, or a single run)."""
    ma, mb, ca, cb = a["final_loss"], b["final_loss"], a["final_ci95"], b["final_ci95"]
    if None in (ma, mb, ca, cb):
        return None
    return abs(ma - mb) <= ca + cb


def compare_final(result: dict) -> dict:
    """The learned optimizer's final test loss against the best tuned baseline's, in words.

    Both ran on the same test problems, so the comparison is PAIRED (:func:`paired_against`):
    per run, the difference learned - best; its mean and 95% t half-width (``diff``,
    ``diff_ci95``) decide the ``verdict``: "lower" (the whole interval below 0), "higher"
    (above 0) or "indistinguishable" (it contains 0). A diverged run makes the difference
    +inf (learned) or -inf (baseline). Also: ``ratio`` of the mean final losses, the fraction
    of runs ``wins``, and whether the two separate 95% intervals overlap (:func:`ci_overlap`).
    """
    best = best_baseline(result)
    lstm, base = result["lstm"], result[best]
    paired = paired_against(result, best)
    lstm_finite = all(math.isfinite(inf_if_none(v)) for v in lstm["finals"])
    diff, ci, verdict = _difference_in_words(paired, lstm_finite)
    la, lb = inf_if_none(lstm["final_loss"]), inf_if_none(base["final_loss"])
    return {"best": best, "best_lr": base["lr"], "lstm_final": la,
            "lstm_ci95": lstm["final_ci95"], "best_final": lb, "best_ci95": base["final_ci95"],
            "ratio": la / lb if lb and math.isfinite(lb) else math.nan, "diff": diff,
            "diff_ci95": ci, "verdict": verdict, "ci_overlap": ci_overlap(lstm, base),
            "wins": paired["wins"], "runs": paired["runs"],
            "start": inf_if_none(lstm["curve"][0])}


def _difference_in_words(paired: dict, lstm_finite: bool) -> tuple:
    """``(diff, half-width, verdict)`` of a paired comparison; without an interval (a diverged
    run, or one run) the difference is +-inf by who diverged, or the one run's."""
    if paired["diff_ci95"] is not None:
        low, high = paired["diff_ci95"]
        verdict = {"a": "lower", "b": "higher", "tie": "indistinguishable"}[paired["verdict"]]
        return paired["mean_diff"], (high - low) / 2, verdict
    if paired["mean_diff"] is not None:  # one run only: no interval
        return paired["mean_diff"], math.nan, "indistinguishable"
    return (-math.inf, math.nan, "lower") if lstm_finite else (math.inf, math.nan, "higher")


# --------------------------------------------------------------------------- rollout cache ---
class RolloutCache:
    """Losses of each distinct rollout (rule, problem, split, seed), kept at the longest
    horizon computed so far; a shorter horizon is the start of a longer run (rollouts are pure
    functions of the rule, the problem and the seed)."""

    def __init__(self):
        self.store: dict = {}
        self.steps_computed = 0

    def has(self, key, steps: int) -> bool:
        have = self.store.get(key)
        return have is not None and have.shape[1] >= steps + 1

    def put(self, key, losses: np.ndarray) -> None:
        self.store[key] = np.asarray(losses, dtype=np.float64)
        self.steps_computed += self.store[key].shape[1] - 1

    def get(self, key, make_rule: Callable, make_instance: Callable, steps: int) -> np.ndarray:
        """Losses at steps 0..``steps``, shape (runs in the instance, steps + 1), float64."""
        if not self.has(key, steps):
            self.put(key, rollout(make_rule(), make_instance(), steps).T)
        return self.store[key][:, :steps + 1]


class ExperimentRollouts:
    """The rollouts a set of experiments needs, kept in a :class:`RolloutCache`.

    A rule is named by a key, ``("lstm",)`` (the learned optimizer ``net``) or
    ``(baseline, lr)``; a rollout by ``(rule key, (dataset, optimizee), split, instance seed)``,
    so experiments on the same problem share their rollouts. ``factory(exp, split)`` builds
    the problems (once, here); :meth:`fill` computes what the cache lacks, by ``runner`` when
    given (see :func:`run_experiments`), and :meth:`losses` reads a (runs, steps + 1) matrix.
    """

    def __init__(self, experiments, net, factory: Callable, seed: int = 0, cache=None,
                 runner: Callable | None = None):
        self.net, self.seed, self.runner = net, seed, runner
        self.cache = RolloutCache() if cache is None else cache
        self.problems = {e.key: {split: factory(e, split) for split in ("val", "test")}
                         for e in experiments}

    def problem(self, exp, split: str):
        return self.problems[exp.key][split]

    def seeds(self, exp, split: str, runs: int) -> list:
        return problem_seeds(self.problem(exp, split), self.seed, split, runs)

    @staticmethod
    def key(rule_key, exp, split: str, seed) -> tuple:
        return (rule_key, (exp.dataset, exp.optimizee), split, seed)

    def make_rule(self, rule_key):
        return LearnedRule(self.net) if rule_key == ("lstm",) else BaselineRule(*rule_key)

    def missing(self, wanted) -> list:
        """The rollouts of ``wanted`` (``(rule_key, exp, split, runs)`` tuples) the cache lacks,
        each once at the longest horizon asked: ``(key, exp, split, seed, steps)`` requests."""
        todo = {}
        for rule_key, exp, split, runs in wanted:
            for s in self.seeds(exp, split, runs):
                k = self.key(rule_key, exp, split, s)
                if not self.cache.has(k, exp.steps) and exp.steps > todo.get(k, (0,))[0]:
                    todo[k] = (exp.steps, exp, split, s)
        return [(k, exp, split, s, steps) for k, (steps, exp, split, s) in todo.items()]

    def fill(self, wanted) -> None:
        """Compute every rollout of ``wanted`` not in the cache: by ``runner`` as one batch if
        there is one, then here (longest first) whatever it did not return."""
        requests = self.missing(wanted)
        if self.runner is not None and requests:
            for k, losses in self.runner(requests).items():
                self.cache.put(k, losses)
        for k, exp, split, s, steps in sorted(requests, key=lambda r: -r[4]):
            if not self.cache.has(k, steps):
                rule, instance = self.make_rule(k[0]), self.problem(exp, split).sample(s)
                self.cache.put(k, rollout(rule, instance, steps).T)

    def losses(self, rule_key, exp, split: str, runs: int) -> np.ndarray:
        """The (runs, exp.steps + 1) losses of the rule on the experiment's problems (filled)."""
        rows = [self.cache.store[self.key(rule_key, exp, split, s)][:, :exp.steps + 1]
                for s in self.seeds(exp, split, runs)]
        return np.concatenate(rows, axis=0)[:runs]


# ---------------------------------------------------------------- experiments, one protocol ---
@dataclass(frozen=True)
class Experiment:
    """One evaluation: an optimizee, a horizon, runs, and the baselines' learning-rate grid.

    The factory given to :func:`run_experiments` builds its problems; ``dataset`` names the
    MNIST-like data set they use (with ``optimizee``, what rollouts are shared by).
    """

    key: str
    title: str
    optimizee: str | None = PAPER.mnist_optimizee  # None: a family without architectures
    steps: int = PAPER.steps
    runs: int = 5                 # test runs (seeds (seed, 3, k))
    val_runs: int = 2             # validation runs per learning rate (seeds (seed, 2, k))
    grid: tuple = DEFAULT_LR_GRID
    dataset: str = "mnist"        # "mnist" (the 5,000 digits) or "fashion-mnist"

    def __post_init__(self):
        if self.optimizee is not None:
            parse_optimizee(self.optimizee)
        if self.steps < 1 or self.runs < 1 or self.val_runs < 1 or not self.grid:
            raise ValueError(f"Experiment {self.key!r}: steps, runs, val_runs must be >= 1 and "
                             "the grid non-empty")


def run_experiments(experiments, net, factory: Callable, *, seed: int = 0, cache=None,
                    log: Callable | None = None, pick: Callable = pick_lr,
                    optimizers=OPTIMIZERS, entry_hook: Callable | None = None,
                    runner: Callable | None = None) -> dict:
    """THE evaluation protocol, for all the experiments at once (sharing rollouts):

    1. each baseline runs on the validation problems ``factory(exp, "val")`` with every rate of
       ``exp.grid``; ``pick`` chooses its rate from the final losses (:func:`pick_lr`;
       :func:`tune_on_validation`);
    2. the learned optimizer ``net`` and the tuned baselines run on the SAME test problems
       ``factory(exp, "test")`` (seeds ``(seed, 3, k)``);
    3. per optimizer :func:`summarize`'s statistics (every run's final loss included); the
       learned optimizer paired against the best tuned baseline (``paired``;
       :func:`experiment_result`).

    Each distinct rollout runs once, at the longest horizon any experiment asks of it
    (:class:`ExperimentRollouts` over ``cache``, a :class:`RolloutCache`). The rollouts of
    steps 1 (and then 2) are computed as one batch: by ``runner(requests)`` when given (e.g.
    worker processes; ``requests`` is a list of ``(key, exp, split, seed, steps)`` and it
    returns ``{key: losses (runs in the instance, steps + 1)}``), else one by one here.

    Returns ``{key: result}``; a result has the experiment's fields, ``problem_config``,
    ``problem`` (a description), one entry per optimizer (baselines also ``lr`` and
    ``val_final_loss``, the mean final validation loss per rate), ``paired`` and ``seconds``.
    ``entry_hook(entry, losses)`` may add to an entry from its (runs, steps + 1) losses.
    """
    log = log or (lambda msg: None)
    baselines = [n for n in optimizers if n != "lstm"]
    t0 = time.perf_counter()
    rollouts = ExperimentRollouts(experiments, net, factory, seed, cache, runner)
    # 1. validation rollouts of every baseline at every rate, and the learned optimizer's tests
    learned = ([(("lstm",), exp, "test", exp.runs) for exp in experiments]
               if "lstm" in optimizers else [])
    rollouts.fill([((name, float(lr)), exp, "val", exp.val_runs)
                   for exp in experiments for name in baselines for lr in exp.grid] + learned)
    tuned = {(exp.key, name): tune_on_validation(rollouts, exp, name, pick, log)
             for exp in experiments for name in baselines}
    # 2. the tuned baselines on the test problems
    rollouts.fill([((name, tuned[exp.key, name][0]), exp, "test", exp.runs)
                   for exp in experiments for name in baselines])
    # 3. the statistics
    out = {exp.key: experiment_result(rollouts, exp, optimizers, tuned, entry_hook, log)
           for exp in experiments}
    seconds = time.perf_counter() - t0
    for res in out.values():
        res["seconds"] = seconds
    log(f"{len(out)} experiment(s) done in {seconds:.0f} s "
        f"({rollouts.cache.steps_computed:,} optimizee steps computed)")
    return out


def tune_on_validation(rollouts: ExperimentRollouts, exp: Experiment, name: str,
                       pick: Callable = pick_lr, log: Callable | None = None) -> tuple:
    """Step 1 of the protocol for one baseline: ``(lr, {lr: final validation losses})``, the
    rate ``pick`` chooses from the final losses of the (filled) validation rollouts."""
    table = {}
    for lr in exp.grid:
        table[float(lr)] = rollouts.losses((name, float(lr)), exp, "val", exp.val_runs)[:, -1]
        if log is not None:
            log(f"tune {name} lr={lr:g}: {mean_or_inf(table[float(lr)]):.4g}")
    return float(pick(table)), table


def experiment_result(rollouts: ExperimentRollouts, exp: Experiment, optimizers, tuned: dict,
                      entry_hook: Callable | None = None, log: Callable | None = None) -> dict:
    """Step 3 of the protocol for one experiment: its fields, its test problem, an entry of
    statistics per optimizer (:func:`summarize`; baselines at their ``tuned[exp.key, name]``
    rate, with the validation table) and the learned optimizer paired against the best."""
    res = asdict(exp)
    res["seed"] = int(rollouts.seed)
    res["grid"] = [float(v) for v in exp.grid]
    res["problem_config"] = rollouts.problem(exp, "test").config()
    res["problem"] = rollouts.problem(exp, "test").describe()
    for name in optimizers:
        rule_key = ("lstm",) if name == "lstm" else (name, tuned[exp.key, name][0])
        losses = rollouts.losses(rule_key, exp, "test", exp.runs)
        entry = summarize(losses)
        if entry_hook is not None:
            entry_hook(entry, losses)
        if name != "lstm":
            lr, table = tuned[exp.key, name]
            entry["lr"] = lr
            entry["val_final_loss"] = {f"{k:g}": finite_or_none(mean_or_inf(v))
                                       for k, v in table.items()}
        res[name] = entry
        if log is not None:
            log(f"{name}: final loss {entry['final_loss']}")
    baselines = [n for n in optimizers if n != "lstm"]
    if "lstm" in optimizers and baselines:
        res["paired"] = paired_against(res, best_baseline(res, baselines))
    return res


def run_protocol(net, val_problem, test_problem, *, steps: int = PAPER.steps, runs: int = 20,
                 val_runs: int | None = None, seed: int = 0, grid=DEFAULT_LR_GRID,
                 optimizers=OPTIMIZERS, log=None) -> dict:
    """The protocol (:func:`run_experiments`) on one pair of problem families, any family;
    returns the JSON-ready result of ``python -m minigrad.l2l evaluate``.

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
    exp = Experiment("evaluate", test_problem.describe(), optimizee=None, steps=steps,
                     runs=runs, val_runs=val_runs, grid=tuple(grid))
    problems = {"val": val_problem, "test": test_problem}
    log = log or (lambda msg: None)
    res = run_experiments([exp], net, lambda e, split: problems[split], seed=seed,
                          log=lambda m: None if "experiment(s) done" in m else log(m),
                          optimizers=tuple(optimizers))[exp.key]
    result = {"steps": int(steps), "runs": int(runs), "val_runs": int(val_runs),
              "seed": int(seed), "ci_method": CI_METHOD, "lr_grid": [float(v) for v in grid],
              "optimizers": list(optimizers)}
    result.update({name: res[name] for name in optimizers})
    if "paired" in res:
        result["paired"] = res["paired"]
    return result
