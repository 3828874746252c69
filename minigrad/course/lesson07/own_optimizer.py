"""Section 5: train your own optimizer, live, with YOUR meta-training loop (exercise 05.3) or the
fast recipe's whole loop, and race it against the best tuned baseline and the shipped optimizer
on the held-out test runs.

* :func:`lesson_budget`: how long the notebook trains (:data:`DEFAULT_MINUTES`, or what the
  environment variable :data:`ENV_MINUTES` says: CI sets it to keep the notebook test fast,
  and then the race uses fewer test runs too), in words;
* :func:`train_own`: with a ``loop`` (exercise 05.3's signature: the learner's, or the
  library's :func:`~minigrad.course.meta_loop.library_meta_train` it falls back to),
  :func:`train_loop`: that loop on the MNIST training nets, with the recipe's settings a loop of
  that signature can take (the optimizer's and the problem's, the first unroll length) and a
  constant meta learning rate :data:`LOOP_META_LR`; without one,
  :func:`minigrad.l2l.launch.train_recipe`, the recipe's whole loop. Either way the recipe is
  taken by name, so the lesson follows whatever it becomes, and the validation schedule is
  one a short run can draw a curve with. :func:`describe_loop`, :func:`recipe_table`: which
  loop runs, and which of the recipe's settings it uses; :func:`training_speed`,
  :func:`budget_buys` and :func:`describe_training`: what the run measured, in words;
* :class:`TrainPanel`: the budget slider, the choice of loop, the Train button, a tqdm progress
  bar and the live validation curve (:func:`plot_training`), wired to :func:`train_own`;
* :func:`race_own`: the trained optimizer LIVE on the stored experiment's held-out test runs
  (the same seeds, so the same initial weights and minibatches as the stored tuned baselines
  and shipped optimizer), compared run by run (:func:`minigrad.l2l.stats.paired_comparison`);
  :func:`describe_race` says what the intervals say, whichever way they came out;
  :func:`plot_race_own`.
"""

from __future__ import annotations

import math
import os
import statistics
import time
import traceback
from dataclasses import asdict

import numpy as np

from minigrad.course.meta_loop import library_meta_train
from minigrad.course.widgets import show_in
from minigrad.l2l import LearnedRule, evaluate_rule
from minigrad.l2l.evaluate import best_baseline, problem_seeds
from minigrad.l2l.launch import NO_ITERATION_LIMIT, base_config, build_trainer, train_recipe
from minigrad.l2l.plots import COLORS
from minigrad.l2l.problems import problem_from_config
from minigrad.l2l.recipes import get_recipe
from minigrad.l2l.stats import mean_ci95, paired_comparison
from minigrad.l2l.training import RunSettings, TrainingRun
from minigrad.l2l.verdicts import fmt_number

from ._shared import NAMES
from .evaluation import heldout_problem

#: The environment variable that shortens the notebook's training (minutes; CI sets it).
ENV_MINUTES = "L2L_LESSON_TRAIN_MINUTES"
#: The notebook's training budget without it: a wait a learner can sit through, and one that
#: keeps the training cell under the 120 s cell timeout of the repository's notebook runners.
DEFAULT_MINUTES = 1.5
#: Test runs of the race when the budget is shortened by :data:`ENV_MINUTES`.
QUICK_RACE_RUNS = 5
#: The budgets the slider offers, in minutes.
BUDGETS = (0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 5.0, 10.0)
#: The recipe the lesson trains with (by name: its values live in minigrad/l2l/recipes.py).
RECIPE = "fast"
#: Validation every VAL_EVERY meta-iterations on VAL_RUNS problems: often enough for a curve
#: in a short run (the recipe's own schedule is made for runs of hundreds of meta-iterations).
VAL_EVERY, VAL_RUNS = 5, 4
#: The meta learning rate of a loop with exercise 05.3's signature on MNIST: constant, since
#: such a loop has no schedule. Measured with the fast recipe's optimizer and training nets
#: (head at zero, its output scale, 1,000 digits a net) and unrolls of 10: at 1e-2, the fast
#: recipe's peak, without its warm-up, the validation score was still at chance after 20
#: meta-iterations; at 3e-3 it fell from 2.30 to 0.08 in 15.
LOOP_META_LR = 3e-3


# ----- the budget -----------------------------------------------------------------------------


def lesson_budget(environ=None) -> dict:
    """The notebook's training budget: ``minutes``, ``race_runs`` (None: every stored test
    run), ``shortened`` (whether :data:`ENV_MINUTES` set it) and ``text`` saying so."""
    env = os.environ if environ is None else environ
    raw = (env.get(ENV_MINUTES) or "").strip()
    if not raw:
        return {"minutes": DEFAULT_MINUTES, "race_runs": None, "shortened": False,
                "text": f"budget: {_label(DEFAULT_MINUTES)} of wall-clock time, the lesson's "
                        f"default ({ENV_MINUTES} is not set); the race uses every stored test "
                        f"run"}
    try:
        minutes = float(raw)
    except ValueError:
        minutes = math.nan
    if not (minutes > 0 and math.isfinite(minutes)):
        raise ValueError(f"{ENV_MINUTES}={raw!r}: expected a positive number of minutes")
    return {"minutes": minutes, "race_runs": QUICK_RACE_RUNS, "shortened": True,
            "text": f"budget: {_label(minutes)}, because {ENV_MINUTES}={raw} is set (the "
                    f"automated notebook test sets it to stay fast); the lesson's default is "
                    f"{_label(DEFAULT_MINUTES)}. The race below uses only the first "
                    f"{QUICK_RACE_RUNS} stored test runs for the same reason"}


def _label(minutes: float) -> str:
    return f"{60 * minutes:.0f} s" if minutes < 1 else f"{minutes:g} min"


# ----- training -------------------------------------------------------------------------------


def train_own(minutes: float = DEFAULT_MINUTES, *, loop=None, recipe=RECIPE, callback=None,
              val_every: int = VAL_EVERY, val_runs: int = VAL_RUNS, optimizee: str = "sigmoid-20",
              seed: int = 0, meta_lr: float = LOOP_META_LR) -> dict:
    """Meta-train a fresh learned optimizer on the MNIST training digits for ``minutes`` of
    wall-clock time, everything included: with ``loop`` (exercise 05.3's signature) by
    :func:`train_loop`, without one by the whole of ``recipe`` (a name or a
    :class:`~minigrad.l2l.recipes.Recipe`; :func:`minigrad.l2l.launch.train_recipe`, which
    says what ``callback`` gets and what is returned: ``net`` holds the best weights on
    validation). ``meta_lr`` is the loop's (the recipe has its own)."""
    if loop is not None:
        return train_loop(loop, minutes, recipe=recipe, meta_lr=meta_lr, callback=callback,
                          val_every=val_every, val_runs=val_runs, optimizee=optimizee, seed=seed)
    return train_recipe(recipe, minutes, problem="mnist", optimizee=optimizee, seed=seed,
                        val_every=val_every, val_runs=val_runs, callback=callback)


# ----- your loop ------------------------------------------------------------------------------


def loop_label(loop) -> str:
    """A few words naming ``loop``: the learner's or the library's."""
    return "the library's loop" if loop is library_meta_train else "your loop (05.3)"


def describe_loop(loop) -> str:
    """One sentence: whose meta-training loop the lesson runs."""
    if loop is library_meta_train:
        return ("The meta-training below runs the library's loop: exercise 05.3 is not done or "
                "did not pass its check, so the notebook fell back to it (the same computation "
                "as a correct 05.3 loop).")
    return "The meta-training below runs your meta_train from lesson 05 (exercise 05.3)."


class _StopLoop(Exception):
    """Raised from a loop's callback to end the run: its budget is spent, or it was asked to
    stop, or it diverged."""


def _loop_settings(recipe, meta_lr: float, optimizee: str, seed: int) -> tuple:
    """``(trainer, dtype, loop arguments)`` for a 05.3 loop trained by ``recipe``'s settings
    outside the loop: a fresh optimizer and the training problem as the recipe builds them (the
    trainer's ``net`` and ``problem``; the trainer itself only serves the validation), the
    horizon and the recipe's first unroll length, ``meta_lr`` constant."""
    net_cfg, meta_cfg, prob_cfg, dtype = base_config("mnist", recipe)
    net_cfg["seed"] = int(seed)
    prob_cfg["optimizee"] = optimizee
    args = {"steps": int(meta_cfg["steps"]), "unroll": int(meta_cfg["unroll"]),
            "meta_lr": float(meta_lr), "seed": int(seed)}
    return build_trainer("mnist", net_cfg, args, prob_cfg, dtype), dtype, args


class _LoopRun:
    """What :func:`train_loop` keeps while the loop runs: the validations and the best weights
    (by the library's :class:`~minigrad.l2l.training.TrainingRun`, so a recipe's validation
    metric means what it means on the command line), the budget, the events for the callback.
    :meth:`after_iteration` is the loop's callback."""

    def __init__(self, trainer, val_problem, settings: RunSettings, callback,
                 finish_in_time: bool):
        self.trainer, self.callback, self.finish_in_time = trainer, callback, finish_in_time
        self.minutes, self.val_every = settings.minutes, settings.val_every
        self.run = TrainingRun(trainer, trainer.problem.config(), None, settings,
                               val_problem=val_problem, progress=False, report=False)
        self.curve, self.seconds, self.val_seconds = [], [], []
        self.status = "done"
        self.last = time.perf_counter()

    def validate(self) -> float:
        """Score the weights on the validation nets; kept if they are the best so far."""
        t0 = time.perf_counter()
        self.trainer.iteration = len(self.curve)  # what the validation history records
        value = self.run.validate()
        self.val_seconds.append(time.perf_counter() - t0)
        return value

    def emit(self, train_loss, validation, seconds) -> bool:
        if self.callback is None:
            return False
        return bool(self.callback({"iteration": len(self.curve), "train_loss": train_loss,
                                   "validation": validation, "seconds": seconds,
                                   "elapsed": self.run.elapsed(), "minutes": self.minutes}))

    def after_iteration(self, curve) -> None:
        """The loop's callback, after every meta-iteration: record, validate every
        ``val_every``, call back; raise :class:`_StopLoop` to end the run."""
        seconds = time.perf_counter() - self.last
        loss = float(np.asarray(curve, dtype=float)[-1])
        self.curve.append(loss)
        self.seconds.append(seconds)
        if not math.isfinite(loss):
            self.status = "diverged"
            raise _StopLoop
        due = self.val_every and len(self.curve) % self.val_every == 0
        validation = self.validate() if due else None
        stop = self.emit(loss, validation, seconds)
        if self.finish_in_time:
            # the next meta-iteration, and a validation after it, must end in the budget
            need = seconds + (self.val_seconds[-1] if self.val_seconds else 0.0)
            stop = stop or self.run.elapsed() + need > 60.0 * self.minutes
        self.last = time.perf_counter()
        if stop:
            raise _StopLoop


def train_loop(loop, minutes: float = DEFAULT_MINUTES, *, recipe=RECIPE,
               meta_lr: float = LOOP_META_LR, callback=None, val_every: int = VAL_EVERY,
               val_runs: int = VAL_RUNS, optimizee: str = "sigmoid-20", seed: int = 0,
               finish_in_time: bool = True) -> dict:
    """Meta-train a fresh learned optimizer on the MNIST training digits with ``loop``, a
    function of exercise 05.3's signature (the learner's, or the library's), for ``minutes`` of
    wall-clock time.

    The loop is called once, for as many meta-iterations as the budget allows: on the
    optimizer and the training problem that ``recipe`` builds (its head's initialisation, its
    output scale, how many digits each training net fits), with the recipe's horizon and
    first unroll length and the constant meta learning rate ``meta_lr``. What the recipe does
    inside its own loop (its meta-loss, its schedules, Adam's betas, the running average, the
    second process) a 05.3 loop does not do: :func:`recipe_table` lists both. The loop's
    callback validates every ``val_every`` meta-iterations (and before the first and after
    the last), keeps the best weights, calls ``callback(event)`` (the events of
    :func:`~minigrad.l2l.launch.train_recipe`; True stops the run) and ends the loop when the
    budget has no room for another meta-iteration. A kernel interrupt ends it early, a
    non-finite loss as diverged; either way the best weights so far are kept.

    Returns :func:`~minigrad.l2l.launch.train_recipe`'s dict, with ``loop`` (its label) and
    ``config`` the loop's arguments."""
    recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
    if not (minutes > 0 and math.isfinite(minutes)):
        raise ValueError(f"train_loop: minutes must be a positive number, got {minutes}")
    trainer, dtype, args = _loop_settings(recipe, meta_lr, optimizee, seed)
    net, problem = trainer.net, trainer.problem
    val_problem = problem_from_config(problem.config(), split="val", dtype=dtype)
    settings = RunSettings(meta_iters=NO_ITERATION_LIMIT, val_every=int(val_every),
                           val_runs=int(val_runs), minutes=float(minutes),
                           val_metric=recipe.val_metric)
    loop_run = _LoopRun(trainer, val_problem, settings, callback, finish_in_time)
    run = loop_run.run
    try:
        loop_run.emit(None, loop_run.validate(), None)  # the starting point: the first point
        loop_run.last = time.perf_counter()
        loop(net, problem, NO_ITERATION_LIMIT, steps=args["steps"], unroll=args["unroll"],
             meta_lr=args["meta_lr"], seed=args["seed"], callback=loop_run.after_iteration)
    except _StopLoop:
        pass
    except KeyboardInterrupt:
        loop_run.status = "interrupted"
    iterations = len(loop_run.curve)
    if loop_run.status == "done" and run.val_history[-1][0] != iterations:
        try:
            loop_run.emit(None, loop_run.validate(), None)
        except KeyboardInterrupt:
            loop_run.status = "interrupted"
    if run.best is not None:
        net.load_state_dict(run.best)
    return _loop_result(loop_run, net, recipe, settings, args, minutes, loop)


def _loop_result(loop_run, net, recipe, settings, args, minutes, loop) -> dict:
    """:func:`train_loop`'s dict: what the run did, in train_recipe's keys."""
    run, iterations = loop_run.run, len(loop_run.curve)
    return {
        "net": net, "weights": "best" if run.best is not None else "last",
        "best_iteration": run.best_iteration(), "status": loop_run.status,
        "iterations": iterations, "train_curve": list(loop_run.curve),
        "iteration_seconds": list(loop_run.seconds),
        "validation": [list(r) for r in run.val_history],
        "validation_seconds": list(loop_run.val_seconds), "val_every": settings.val_every,
        "val_runs": settings.val_runs, "val_metric": settings.val_metric,
        "elapsed_s": run.elapsed(), "minutes": float(minutes), "recipe": recipe.name,
        "description": recipe.describe(), "settings": asdict(settings), "config": dict(args),
        "processes": 1, "imitation": None, "loop": loop_label(loop),
    }


# ----- the recipe's settings, the paper's and the loop's --------------------------------------

#: What each validation metric scores the weights by.
VAL_METRIC_TEXT = {"mean": "mean loss over the horizon", "final": "final loss",
                   "tail": "mean loss over the horizon's last tenth"}
#: Readable names of the settings :func:`recipe_table` knows (any other shows by its key).
SETTING_NAMES = {
    "meta_objective": "meta-loss of an unroll", "meta_lr": "meta learning rate",
    "unroll": "unroll length K", "betas": "Adam's betas (on phi)",
    "average": "running average of phi (validated, kept)", "clip_grad_norm":
    "meta-gradient clipped at norm", "meta_data": "meta-loss computed on",
    "head_init": "the head's initial weights", "output_scale": "output scale",
    "train_pool": "digits each training net fits", "processes": "processes",
    "param_scale": "each training weight scaled by",
    "val_metric": "best weights chosen by the validation", "imitation": "imitation warm start",
    "collapse_guard": "a collapse to chance", "meta_segment": "the log of the mean taken over",
    "collapse_rewarm": "after a rollback, the meta learning rate",
    "meta_coordinates": "the meta-gradient flows through",
    "population": "runs started (with a budget, on the command line)",
}
_OBJECTIVES = {"loss": "sum of f_t", "log": "sum of log f_t",
               "logmean": "log of the mean f_t"}
#: MetaConfig settings that a 05.3 loop takes (as arguments) or that only set its schedule.
_LOOP_ARGS = ("steps", "unroll", "meta_lr", "seed", "warmup_iters", "decay_iters",
              "min_lr_ratio", "unroll_doubling", "max_unroll")


def _lr_text(meta: dict) -> str:
    parts = [f"{meta['meta_lr']:g}"]
    if meta.get("warmup_iters"):
        parts.append(f"warmed up over {meta['warmup_iters']} meta-iterations")
    if meta.get("decay_iters"):
        parts.append(f"halved every {meta['decay_iters']} down to "
                     f"{meta['meta_lr'] * meta['min_lr_ratio']:g}")
    return ", ".join(parts) if len(parts) > 1 else parts[0] + ", constant"


def _unroll_text(meta: dict) -> str:
    if meta.get("unroll_doubling"):
        return (f"{meta['unroll']}, doubled every {meta['unroll_doubling']} meta-iterations up "
                f"to {min(meta['steps'], meta.get('max_unroll') or meta['steps'])}")
    return f"{meta['unroll']}"


def _value_text(key: str, value) -> str:
    if key == "meta_objective":
        return _OBJECTIVES.get(value, str(value))
    if value is None or value == 0 and key in ("average", "clip_grad_norm"):
        return {"head_init": "as the LSTM's", "train_pool": "every training digit",
                "imitation": "none", "param_scale": "1 (not scaled)"}.get(key, "none")
    if key == "param_scale":
        return f"exp(u), u ~ U(-{value:g}, {value:g}), one per weight and net"
    if key == "average":
        return f"a = {value:g} (about the last {round(1 / (1 - value))} meta-updates)"
    if key == "betas":
        return ", ".join(f"{b:g}" for b in value)
    if key == "meta_data":
        return {"batch": "the step's minibatch", "pool": "the net's pool of digits"}.get(
            value, str(value))
    if key == "val_metric":
        return VAL_METRIC_TEXT.get(value, value)
    if key == "collapse_guard":
        return ("rolled back to the latest good weights, the meta learning rate halved"
                if value else "left as it is")
    if key == "meta_segment":
        return f"segments of {value} steps of the horizon" if value else "each unroll"
    if key == "collapse_rewarm":
        return (f"back to the schedule's over {value} meta-iterations" if value
                else "halved for good")
    if key == "meta_coordinates":
        return ("every coordinate" if value is None or value >= 1 else
                f"a random {value:g} of the coordinates, scaled by {1 / value:g}")
    if key == "imitation":
        return f"of {value['teacher']}"
    if isinstance(value, float):
        return f"{value:g}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def recipe_rows(recipe=RECIPE, meta_lr: float = LOOP_META_LR) -> list[tuple[str, str, str, str]]:
    """The settings in which ``recipe`` differs from the paper's, as rows ``(setting, paper,
    recipe, 05.3 loop)``: the last column is what :func:`train_loop` runs (the recipe's
    settings outside the loop, the paper's inside it, ``meta_lr`` constant, the recipe's first
    unroll length). Read from the recipe, so the table follows whatever it becomes."""
    recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
    p_net, p_meta, p_prob, _ = base_config("mnist", get_recipe("paper"))
    r_net, r_meta, r_prob, _ = base_config("mnist", recipe)
    loop_meta = {**p_meta, "unroll": r_meta["unroll"], "meta_lr": float(meta_lr)}
    rows = []
    if r_meta.get("meta_objective") != p_meta.get("meta_objective"):
        key = "meta_objective"
        rows.append((SETTING_NAMES[key], _value_text(key, p_meta[key]),
                     _value_text(key, r_meta[key]), _value_text(key, p_meta[key])))
    if _lr_text(p_meta) != _lr_text(r_meta):
        rows.append((SETTING_NAMES["meta_lr"], _lr_text(p_meta), _lr_text(r_meta),
                     _lr_text(loop_meta)))
    if _unroll_text(p_meta) != _unroll_text(r_meta):
        rows.append((SETTING_NAMES["unroll"], _unroll_text(p_meta), _unroll_text(r_meta),
                     _unroll_text(loop_meta)))
    for key in r_meta:  # inside the loop: a 05.3 loop does the paper's
        if key not in (*_LOOP_ARGS, "meta_objective") and r_meta[key] != p_meta.get(key):
            rows.append((SETTING_NAMES.get(key, key), _value_text(key, p_meta.get(key)),
                         _value_text(key, r_meta[key]), _value_text(key, p_meta.get(key))))
    outside = [(k, p_net.get(k), r_net[k]) for k in r_net if r_net[k] != p_net.get(k)]
    outside += [(k, p_prob.get(k), r_prob[k]) for k in r_prob if r_prob[k] != p_prob.get(k)]
    for key, paper, mine in outside:  # the optimizer and the problem: the loop takes them
        rows.append((SETTING_NAMES.get(key, key), _value_text(key, paper),
                     _value_text(key, mine), _value_text(key, mine)))
    if recipe.val_metric != "mean":
        rows.append((SETTING_NAMES["val_metric"], _value_text("val_metric", "mean"),
                     _value_text("val_metric", recipe.val_metric),
                     _value_text("val_metric", recipe.val_metric)))
    if recipe.imitation is not None:
        rows.append((SETTING_NAMES["imitation"], "none",
                     _value_text("imitation", recipe.imitation.to_dict()), "none"))
    if recipe.processes != 1:
        rows.append((SETTING_NAMES["processes"], "1", str(recipe.processes), "1"))
    if recipe.population > 1:
        rows.append((SETTING_NAMES["population"], "1",
                     f"{recipe.population} side by side for half the budget, one process each; "
                     "the better on validation goes on", "1"))
    return rows


def recipe_table(recipe=RECIPE, meta_lr: float = LOOP_META_LR) -> str:
    """:func:`recipe_rows` as a Markdown table (display it with ``IPython.display.Markdown``)."""
    recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
    lines = [f"| setting | the paper's recipe | the {recipe.name} recipe | a 05.3 loop here |",
             "|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in recipe_rows(recipe, meta_lr)]
    return "\n".join(lines)


def training_speed(result: dict) -> dict:
    """What a run measured: median seconds per meta-iteration (``per_iteration_s``) and per
    validation (``validation_s``), and per meta-iteration with its share of the validations
    (``per_iteration_all_s``); None where nothing was measured."""
    it = statistics.median(result["iteration_seconds"]) if result["iteration_seconds"] else None
    val = (statistics.median(result["validation_seconds"]) if result["validation_seconds"]
           else 0.0)
    every = result.get("val_every") or 0
    total = None if it is None else it + (val / every if every else 0.0)
    return {"per_iteration_s": it, "validation_s": val, "val_every": every,
            "per_iteration_all_s": total}


def budget_buys(result: dict, minutes: float) -> int | None:
    """About how many meta-iterations ``minutes`` buy at the speed ``result`` measured (its
    validations included); None when it measured none."""
    speed = training_speed(result)["per_iteration_all_s"]
    return None if not speed else int(60.0 * minutes / speed)


def describe_training(result: dict) -> str:
    """What the run did and measured, in words: meta-iterations, time, seconds per
    meta-iteration and per validation on this machine, what 10 minutes would buy, and the
    validation scores."""
    s = training_speed(result)
    n = result["iterations"]
    parts = ["the imitation warm start"] if result.get("imitation") else []
    parts.append(_n(len(result["validation"]), "validation"))
    if result["processes"] > 1:
        parts.append(f"starting its {result['processes']} processes")
    how = (f"with {result['loop']}" if result.get("loop")
           else f"of the {result['recipe']} recipe")
    lines = [f"Trained {_n(n, 'meta-iteration')} {how} in {result['elapsed_s']:.0f} s of a "
             f"{_label(result['minutes'])} budget ({result['status']}; {_and(parts)} "
             f"included)."]
    if s["per_iteration_s"] is not None:
        lines.append(f"Measured on this machine, now: {s['per_iteration_s']:.1f} s per "
                     f"meta-iteration (median), {s['validation_s']:.1f} s per validation on "
                     f"{result['val_runs']} problems (one every {result['val_every']} "
                     f"meta-iterations).")
        lines.append(f"At that speed, 10 minutes buy about "
                     f"{_n(budget_buys(result, 10), 'meta-iteration')}, an hour about "
                     f"{budget_buys(result, 60)}.")
    warmup = result["config"].get("warmup_iters") or 0
    if warmup and n < warmup:
        lines.append(f"The recipe's meta learning rate was still warming up: it reaches its "
                     f"peak after {warmup} meta-iterations, and this run did {n}.")
    val = result["validation"]
    if val:
        best = min(val, key=lambda r: r[1])
        metric = VAL_METRIC_TEXT.get(result["val_metric"], result["val_metric"])
        lines.append(f"Validation score ({metric} on {result['val_runs']} validation MLPs): "
                     f"{val[0][1]:.3f} before training, {val[-1][1]:.3f} at the end, best "
                     f"{best[1]:.3f} at meta-iteration {best[0]} (ln 10 = {math.log(10):.3f} "
                     f"is chance). The race below uses the {result['weights']} weights.")
    return "\n".join(lines)


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _and(parts: list) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def plot_training(history: dict, ax=None):
    """The training curve (the mean optimizee loss over each meta-iteration's horizon) and the
    validation scores against the meta-iteration, with chance level; ``history`` is a result
    of :func:`train_own` or the partial one the panel keeps while training."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 3.4))
    else:
        fig = ax.figure
    curve = np.asarray(history.get("train_curve") or [], dtype=float)
    if curve.size:
        ax.plot(np.arange(1, curve.size + 1), curve, color=COLORS["lstm"], alpha=0.45, lw=1,
                marker=".", ms=4, label="training problems (each meta-iteration's MLP)")
    val = np.asarray(history.get("validation") or [], dtype=float).reshape(-1, 2)
    if val.size:
        ax.plot(val[:, 0], val[:, 1], "o-", color="k", ms=4, lw=1.4,
                label="validation score (validation MLPs)")
        best = val[np.argmin(val[:, 1])]
        ax.plot([best[0]], [best[1]], "*", color="gold", mec="k", ms=13, label="best: kept")
    ax.axhline(math.log(10), color="gray", ls=":", lw=1, label="ln 10 (chance)")
    ax.set_xlabel("meta-iteration")
    ax.set_ylabel("optimizee loss")
    elapsed = history.get("elapsed_s", history.get("elapsed"))
    minutes = history.get("minutes")
    clock = "" if elapsed is None or minutes is None else \
        f", {elapsed:.0f} s of {60 * minutes:.0f} s"
    ax.set_title(f"your optimizer: {_n(curve.size, 'meta-iteration')}{clock}", fontsize=9)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _progress_bar(total_s: float):
    """A tqdm progress bar over ``total_s`` seconds that is not displayed by itself: in the
    panel it is the notebook bar's widget (``.container``), else a bar that shows nothing."""
    try:
        from tqdm.notebook import tqdm as notebook_tqdm

        return notebook_tqdm(total=total_s, desc="meta-training", display=False,
                             bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed} of "
                                        f"{_clock(total_s)}" + " {postfix}")
    except ImportError:  # no ipywidgets: a plain bar, silent
        from tqdm.auto import tqdm

        return tqdm(total=total_s, disable=True)


def _clock(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m:02d}:{s:02d}"


class TrainPanel:
    """Train your own optimizer: a budget slider (minutes), the loop to train with, a Train
    button, a live progress bar and a live validation curve.

    ``train()`` is what the button does: :func:`train_own` with the slider's budget (or the
    ``minutes`` given), updating the bar and the curve after every meta-iteration and
    validation; the result is kept in ``.result``. Moving the slider shows what its budget
    buys at the speed last measured. With a ``loop`` (exercise 05.3's signature) the panel
    offers two choices, that loop (the default) or the recipe's whole loop; without one it
    trains by the recipe. ``controls``: ``{"minutes": slider}``, and ``"loop"`` (the choice,
    ``"loop"`` or ``"recipe"``) with a loop; ``button``; ``train_options`` go to
    :func:`train_own` (tests pass a tiny recipe). Display it as the value of a cell, or with
    ``display(panel)``.
    """

    def __init__(self, minutes: float = DEFAULT_MINUTES, budgets=BUDGETS, loop=None,
                 **train_options):
        import ipywidgets as widgets

        options = sorted(set(budgets) | {float(minutes)})
        self.slider = widgets.SelectionSlider(
            options=[(_label(m), m) for m in options], value=float(minutes),
            description="budget", continuous_update=False,
            layout=widgets.Layout(width="420px"))
        self.button = widgets.Button(description="Train", button_style="primary",
                                     tooltip="meta-train a fresh optimizer for this budget")
        self.controls = {"minutes": self.slider}
        self.loop, self.train_options = loop, train_options
        recipe = train_options.get("recipe", RECIPE)
        name = recipe if isinstance(recipe, str) else recipe.name
        rows = [widgets.HBox([self.slider, self.button])]
        self.choice = None
        if loop is not None:
            self.choice = widgets.ToggleButtons(
                options=[(loop_label(loop), "loop"), (f"the {name} recipe's loop", "recipe")],
                value="loop", description="loop",
                tooltips=["exercise 05.3's loop, with the recipe's optimizer and nets",
                          "the library's loop with every part of the recipe"])
            self.controls["loop"] = self.choice
            rows.insert(0, self.choice)
        self.estimate, self.plot, self.status = (widgets.Output() for _ in range(3))
        self.bar_box = widgets.Box()
        self.bar = None
        self.result = None
        self.slider.observe(lambda _change: self.show_estimate(), names="value")
        self.button.on_click(lambda _button: self.click())
        optimizee = train_options.get("optimizee", "sigmoid-20")
        what = "" if loop is not None else f"recipe <code>{name}</code>, "
        title = widgets.HTML(f"<b>Train your own optimizer</b> ({what}optimizee MNIST "
                             f"{optimizee}, wall-clock budget)")
        self.widget = widgets.VBox([title, *rows, self.estimate, self.bar_box, self.plot,
                                    self.status])
        self.show_estimate()

    def chosen_loop(self):
        """The loop the next training runs: the panel's ``loop``, or None for the recipe's."""
        if self.choice is None or self.choice.value == "recipe":
            return None
        return self.loop

    def show_estimate(self) -> str:
        minutes = self.slider.value
        if self.result is None:
            text = (f"Budget {_label(minutes)}. No training measured yet in this session: the "
                    f"first one measures this machine's speed.")
        else:
            s = training_speed(self.result)
            if s["per_iteration_s"] is None:
                text = f"Budget {_label(minutes)}. The last training measured no meta-iteration."
            else:
                buys = _n(budget_buys(self.result, minutes), "meta-iteration")
                text = (f"Budget {_label(minutes)}: about {buys} at the speed the last "
                        f"training measured "
                        f"({s['per_iteration_s']:.1f} s each, and {s['validation_s']:.1f} s "
                        f"per validation every {s['val_every']}).")
        show_in(self.estimate, text)
        return text

    def train(self, minutes: float | None = None, describe: bool = True) -> dict:
        """Meta-train for ``minutes`` (default: the slider's), live; returns the result and
        shows :func:`describe_training` under the curve (``describe`` False: one line saying
        that the caller prints it)."""
        minutes = float(self.slider.value if minutes is None else minutes)
        self.button.disabled = True
        bar = self.bar = _progress_bar(60.0 * minutes)
        self.bar_box.children = (bar.container,) if hasattr(bar, "container") else ()
        live = {"train_curve": [], "validation": [], "elapsed": 0.0, "minutes": minutes}
        how = "" if self.choice is None else f" with {self.choice.label}"
        show_in(self.status, f"training for {_label(minutes)}{how} ...")

        def on_event(event):
            if event["train_loss"] is not None:
                live["train_curve"].append(event["train_loss"])
            if event["validation"] is not None:
                live["validation"].append([event["iteration"], event["validation"]])
            live["elapsed"] = event["elapsed"]
            bar.n = min(event["elapsed"], bar.total)
            post = f"meta-iteration {event['iteration']}"
            if live["train_curve"]:
                post += f", train loss {live['train_curve'][-1]:.3f}"
            if live["validation"]:
                post += f", validation {live['validation'][-1][1]:.3f}"
            bar.set_postfix_str(post, refresh=False)
            bar.refresh()
            show_in(self.plot, plot_training(live))

        try:
            result = train_own(minutes, loop=self.chosen_loop(), callback=on_event,
                               **self.train_options)
        finally:
            self.button.disabled = False
        if result["status"] == "done":
            bar.n = bar.total  # the budget is spent (or the run ended within it): a full bar
        bar.close()
        self.result = result
        show_in(self.plot, plot_training(result))
        show_in(self.status, describe_training(result) if describe else
                f"Trained {_n(result['iterations'], 'meta-iteration')} in "
                f"{result['elapsed_s']:.0f} s; what the run measured is printed below.")
        self.show_estimate()
        return result

    def click(self):
        """The Train button: :meth:`train`, with any error shown in the panel (a button's
        callback has no cell to show it in)."""
        try:
            return self.train()
        except Exception:
            show_in(self.status, "training failed:\n" + traceback.format_exc())
            return None

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


# ----- the race -------------------------------------------------------------------------------


def _finals(result: dict, name: str, runs: int) -> np.ndarray:
    return np.array([math.inf if v is None else float(v) for v in result[name]["finals"][:runs]])


def race_own(net, result: dict, runs: int | None = None, baseline: str | None = None,
             problem=None) -> dict:
    """Run the learned optimizer ``net`` LIVE on the first ``runs`` (default: all) held-out
    test runs of the stored experiment ``result``, and compare its final losses, run by run,
    with those stored for the best tuned baseline (or ``baseline``) and the shipped optimizer.

    The test runs are the stored protocol's (seeds ``(seed, 3, k)``): the same initial weights
    and minibatches, so the comparison is paired
    (:func:`~minigrad.l2l.stats.paired_comparison`, "a" = yours). Returns ``runs``, ``of``
    (the stored runs), ``steps``, ``seconds`` (of the live runs), ``losses`` (runs, T + 1),
    ``finals``, ``baseline`` and its ``baseline_lr``, and per opponent (the baseline's name and
    ``"lstm"``) ``finals[name]`` and ``paired[name]``.
    """
    of, steps = int(result["runs"]), int(result["steps"])
    runs = of if runs is None else min(int(runs), of)
    if runs < 1:
        raise ValueError(f"race_own: need at least one test run, got {runs}")
    baseline = best_baseline(result) if baseline is None else baseline
    problem = heldout_problem(result) if problem is None else problem
    seeds = problem_seeds(problem, int(result.get("seed", 0)), "test", runs)
    t0 = time.perf_counter()
    losses = evaluate_rule(lambda: LearnedRule(net), problem, seeds, steps, runs)
    seconds = time.perf_counter() - t0
    finals = {name: _finals(result, name, runs) for name in (baseline, "lstm")}
    return paired_race(losses, finals, baseline, result[baseline]["lr"], of=of,
                       seconds=seconds,
                       curves={name: result[name]["curve"] for name in (baseline, "lstm")})


def paired_race(losses, finals: dict, baseline: str, baseline_lr: float, *, of: int,
                seconds: float = 0.0, curves: dict | None = None) -> dict:
    """The race's record from your runs' ``losses`` (runs, T + 1) and the opponents' final
    losses ``finals`` (name -> one per run, the same runs in the same order): every final loss,
    and the paired comparison of yours with each (see :func:`race_own`). A diverged run
    counts as +inf."""
    losses = np.asarray(losses, dtype=float)
    runs, steps = losses.shape[0], losses.shape[1] - 1
    mine = np.where(np.isfinite(losses[:, -1]), losses[:, -1], math.inf)
    return {"runs": runs, "of": of, "steps": steps, "seconds": seconds, "losses": losses,
            "finals": {"yours": mine, **finals}, "baseline": baseline,
            "baseline_lr": baseline_lr,
            "paired": {name: paired_comparison(mine, f) for name, f in finals.items()},
            "curves": curves}


def _who(race: dict, name: str) -> str:
    if name == "lstm":
        return "the shipped optimizer"
    return f"tuned {NAMES[name]} (lr {race['baseline_lr']:g})"


_WORDS = {"a": "LOWER than", "b": "HIGHER than", "tie": "not distinguishable from"}


def describe_race(race: dict) -> str:
    """The race in words, computed from the numbers: each optimizer's mean final loss with its
    95% interval, then for each opponent the paired difference, its interval and what it
    says (lower, higher, or not distinguishable), and a closing sentence for the outcome."""
    n = race["runs"]

    def mean(values):
        m, h = mean_ci95(values)
        return f"{fmt_number(m)} ± {fmt_number(h)}" if n > 1 else fmt_number(m)

    lines = [f"Final loss after {race['steps']} steps, mean over {n} held-out test run"
             f"{'s' if n != 1 else ''} (95% interval): yours {mean(race['finals']['yours'])}, "
             + ", ".join(f"{_who(race, name)} {mean(race['finals'][name])}"
                         for name in race["paired"])
             + f". Your runs took {race['seconds']:.0f} s, live."]
    verdicts = {}
    for name, p in race["paired"].items():
        verdicts[name] = p["verdict"]
        wins = round(p["wins"] * n)
        if p["diff_ci95"] is not None:
            low, high = p["diff_ci95"]
            interval = (f"paired difference (yours - theirs) {p['mean_diff']:+.3g}, 95% "
                        f"interval [{low:+.3g}, {high:+.3g}]")
            why = {"a": "the whole interval lies below 0", "b": "the whole interval lies above 0",
                   "tie": "the interval contains 0"}[p["verdict"]]
        elif p["mean_diff"] is not None:  # one run: no interval
            interval, why = f"difference {p['mean_diff']:+.3g} on a single run", "one run " \
                "cannot decide"
        else:
            interval = "no interval (a run diverged)"
            why = ("every run went the same way" if p["verdict"] != "tie"
                   else "the runs went both ways")
        lines.append(f"Against {_who(race, name)}: {interval}; yours ended lower on {wins} of "
                     f"{n} runs. Your final loss is {_WORDS[p['verdict']]} theirs ({why}).")
    lines.append(_closing(race, verdicts))
    return "\n".join(lines)


def _closing(race: dict, verdicts: dict) -> str:
    base, shipped = verdicts[race["baseline"]], verdicts["lstm"]
    nag = _who(race, race["baseline"])
    if base == "a" and shipped in ("a", "tie"):
        return (f"Your optimizer beat {nag} on these runs"
                + (" and is level with the shipped one" if shipped == "tie"
                   else ", and even the shipped one") + ": the paper's claim, reproduced by an "
                "optimizer you meta-trained yourself.")
    if base == "a":
        return (f"Your optimizer beat {nag} on these runs, but not the shipped optimizer "
                f"(section 2 prints how long that one trained).")
    if base == "tie":
        return (f"These runs cannot tell your optimizer from {nag}: neither won. More test runs "
                f"might decide; a longer training might make it a win.")
    return (f"{nag[0].upper() + nag[1:]} won: this much meta-training was not enough to beat "
            f"a tuned hand-designed optimizer. The shipped optimizer had more (section 2 prints "
            f"how much); a longer budget, or the command line, goes further.")


def plot_race_own(race: dict):
    """Left: the mean loss per step, yours (live) against the stored means of the baseline and
    the shipped optimizer. Right: every test run's final loss, the three optimizers of a run
    joined by a line (the pairing)."""
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10.4, 3.7),
                                 gridspec_kw={"width_ratios": [1.6, 1]})
    steps = np.arange(race["steps"] + 1)
    base = race["baseline"]
    mine = np.where(np.isfinite(race["losses"]), race["losses"], np.nan).mean(axis=0)
    ax.plot(steps, mine, color="k", lw=2, label=f"yours, live ({race['runs']} runs)")
    for name, style in ((base, "--"), ("lstm", "-")) if race.get("curves") else ():
        curve = np.array([np.nan if v is None else v for v in race["curves"][name]], dtype=float)
        label = "shipped LSTM" if name == "lstm" else f"{NAMES[name]}, lr {race['baseline_lr']:g}"
        ax.plot(steps[:curve.size], curve, style, color=COLORS[name], lw=1.5,
                label=f"{label} (stored, {race['of']} runs)")
    ax.set_yscale("log")
    ax.set_xlabel("optimizee step")
    ax.set_ylabel("mean loss, held-out test runs")
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.25)
    names = ["yours", base, "lstm"]
    finals = np.array([race["finals"][k] for k in names], dtype=float)
    shown = np.where(np.isfinite(finals), finals, np.nan)
    for k in range(finals.shape[1]):
        bx.plot(range(3), shown[:, k], "-", color="gray", alpha=0.4, lw=0.8)
    for i, name in enumerate(names):
        color = "k" if name == "yours" else COLORS[name]
        bx.plot(np.full(finals.shape[1], i), shown[i], "o", color=color, ms=5)
    bx.set_xticks(range(3), ["yours", NAMES[base], "shipped"])
    bx.set_yscale("log")
    bx.set_ylabel("final loss (one point per run)")
    bx.set_title("paired: the same test runs", fontsize=9)
    bx.grid(True, which="both", alpha=0.25)
    fig.tight_layout()
    return fig
