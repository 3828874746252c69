"""Section 3: the evaluation protocol (exercise 07.2), the stored results and how to read them."""

from __future__ import annotations

import math

import numpy as np

from minigrad.course.checks import Case, Exercise, register
from minigrad.course.stored_results import load_results, save_results  # noqa: F401
from minigrad.l2l import (
    BaselineRule,
    LearnedRule,
    rollout,
)
from minigrad.l2l.baselines import OPTIMIZERS
from minigrad.l2l.evaluate import (
    SEED_TAGS,
    Experiment,
    pick_lr,
)
from minigrad.l2l.problems import mnist_problem_factory
from minigrad.l2l.verdicts import fmt_number as _fmt

from ._shared import GENERATOR, NAMES

#: The reference of exercise 07.2 is the library's rule (:func:`minigrad.l2l.evaluate.pick_lr`):
#: the lowest MEAN final validation loss, +inf for a rate with a diverged run, ties to the
#: smaller rate.
pick_best_lr = pick_lr


def _pick_cases():
    nan, inf = float("nan"), float("inf")
    return [
        Case(({0.01: [0.9, 1.1], 0.03: [0.5, 0.7], 0.1: [0.8, 0.6]},),
             label="three rates, two runs each"),
        Case(({0.1: [0.2, 2.0, 0.2], 0.3: [0.5, 0.5, 0.5]},),
             label="a rate with a good median but a bad run (the mean decides)"),
        Case(({0.3: [0.1, nan], 1.0: [0.4, 0.5], 3.0: [inf, 0.01]},),
             label="rates whose runs diverged (nan, inf)"),
        Case(({1e-3: [0.5], 3e-3: [0.5], 1e-2: [0.7]},), label="a tie (the smaller rate wins)"),
        Case(({0.3: np.array([0.4, 0.41]), 0.03: np.array([0.45, 0.39])},),
             label="NumPy arrays of finals, keys not sorted"),
    ]


register(Exercise(
    id="07.2", title="pick the learning rate on validation problems", reference=pick_best_lr,
    cases=_pick_cases,
    hint="a rate is judged by the MEAN of its final validation losses (not the median, not "
         "the best run), and one diverged run (nan or inf) rules the whole rate out: its score "
         "is +inf. The lowest score wins; on a tie the smaller rate does, so compare the pair "
         "(score, rate). Still stuck: the collapsed 'Hint 2' below the exercise.",
))



#: Lesson 07's experiment: the paper's MNIST figure (sigmoid-20, 100 steps).
EXPERIMENTS = (
    Experiment("mnist", "MNIST, 784-20-10 sigmoid, 100 steps", runs=10, val_runs=4),
)


def at_grid_edge(result: dict, name: str) -> bool:
    """Whether baseline ``name``'s tuned rate is the smallest or largest of the grid (then a
    better rate may lie outside it)."""
    grid = [float(v) for v in result["grid"]]
    return len(grid) > 1 and result[name]["lr"] in (min(grid), max(grid))


# ----- the stored results ---------------------------------------------------------------------


def check_provenance(results: dict, info: dict) -> str | None:
    """None when ``results`` were computed with the checkpoint ``info`` describes (same
    SHA-256 and weights), else what differs and how to fix it."""
    ck = results.get("checkpoint", {})
    if ck.get("sha256") == info["sha256"] and ck.get("weights") == info["weights"]:
        return None
    return (f"the stored results were computed with checkpoint {str(ck.get('sha256'))[:12]} "
            f"({ck.get('weights')} weights, {ck.get('iteration')} meta-iterations), but the "
            f"one loaded is {info['sha256'][:12]} ({info['weights']} weights, "
            f"{info['iteration']} meta-iterations). Regenerate them: `python {GENERATOR}`")


def experiment_of(result: dict) -> Experiment:
    """The :class:`Experiment` a stored result was computed for."""
    return Experiment(**{k: (tuple(v) if k == "grid" else v) for k, v in result.items()
                         if k in Experiment.__dataclass_fields__})


def heldout_problem(result: dict):
    """The MNIST test problem family of a stored result (its optimizee and settings)."""
    return mnist_problem_factory(result.get("problem_config"))(experiment_of(result), "test")


def spot_check(net, result: dict, steps: int = 20, optimizer: str = "lstm",
               problem=None) -> dict:
    """Recompute test run 0 of a stored ``result`` LIVE for ``steps`` steps and compare.

    ``problem``: the test problem family (default: the result's MNIST one). Returns ``live``
    and ``stored`` (losses at steps 0..steps) and ``max_rel_err`` between them.
    """
    steps = min(int(steps), int(result["steps"]), len(result[optimizer]["run0"]) - 1)
    problem = heldout_problem(result) if problem is None else problem
    seed = (int(result.get("seed", 0)), SEED_TAGS["test"], 0)  # test run 0
    rule = (LearnedRule(net) if optimizer == "lstm"
            else BaselineRule(optimizer, result[optimizer]["lr"]))
    live = rollout(rule, problem.sample(seed), steps)[:, 0].astype(np.float64)
    stored = np.array([np.nan if v is None else v for v in result[optimizer]["run0"][:steps + 1]])
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.abs(live - stored) / np.maximum(np.abs(stored), 1e-12)
    return {"live": live, "stored": stored, "steps": steps,
            "max_rel_err": float(np.nanmax(rel)) if np.isfinite(rel).any() else math.nan}


# ----- reading a result -----------------------------------------------------------------------


def describe_comparison(cmp: dict) -> str:
    """One sentence that says what the numbers say (whatever they are)."""
    name = NAMES[cmp["best"]]
    words = {"lower": "LOWER than", "higher": "HIGHER than",
             "indistinguishable": "not distinguishable from"}[cmp["verdict"]]
    f = {k: _fmt(cmp[k], ".3f") for k in ("lstm_final", "lstm_ci95", "best_final", "best_ci95",
                                          "diff_ci95")}
    return (f"Learned optimizer: final loss {f['lstm_final']} ± {f['lstm_ci95']}; best tuned "
            f"baseline {name} (lr {cmp['best_lr']:g}): {f['best_final']} ± {f['best_ci95']} "
            f"(95% CIs, {cmp['runs']} runs). Paired difference {_fmt(cmp['diff'], '+.3f')} ± "
            f"{f['diff_ci95']}: the learned optimizer's final loss is {words} the best "
            f"baseline's (ratio {_fmt(cmp['ratio'], '.2f')}).")


def results_table(result: dict) -> str:
    """A text table: per optimizer its learning rate, mean final loss ± 95% CI, and mean loss
    summed over steps 1..T (the meta-objective)."""
    lines = [f"{'optimizer':<16}{'lr':>8}{'final loss':>22}{'summed loss':>22}"]
    for name in OPTIMIZERS:
        e = result[name]
        lr = f"{e['lr']:g}" if "lr" in e else "-"
        lines.append(f"{NAMES[name]:<16}{lr:>8}"
                     f"{_fmt(e['final_loss'], '.3f') + ' ± ' + _fmt(e['final_ci95'], '.3f'):>22}"
                     f"{_fmt(e['summed_loss'], '.1f') + ' ± ' + _fmt(e['summed_ci95'], '.1f'):>22}")
    return "\n".join(lines)
