"""Meta-training from Python: what ``python -m minigrad.l2l train`` builds, as functions.

The command line (:func:`minigrad.l2l.cli.cmd_train`) and lesson 07's "train your own"
section build their runs here, so a recipe (:mod:`minigrad.l2l.recipes`) means the same thing
in both, whatever its values become:

* :func:`base_config`: the learned optimizer's, the meta-training's and the problem's settings
  before any flag: the paper's, with the recipe's changes;
* :func:`recipe_flags`: the run settings the recipe chooses (its validation schedule, ...)
  where the caller gave none;
* :func:`build_trainer`: the learned optimizer, the training problem and the trainer (one
  process, or :class:`~minigrad.l2l.parallel.ParallelMetaTrainer` for several);
* :func:`warm_start`: the recipe's imitation warm start (:mod:`minigrad.l2l.imitation`);
* :func:`train_recipe`: all of it, for a wall-clock budget, with a callback after every
  meta-iteration and validation (what a live plot needs); returns the trained optimizer with
  its best weights on validation, and what the run measured.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict

from .grouped import build_net
from .lstm_optimizer import net_defaults
from .meta import MetaConfig, MetaTrainer
from .paper import PAPER
from .parallel import ParallelMetaTrainer
from .problems import CONFIG_KEYS, problem_from_config
from .recipes import Recipe, get_recipe
from .training import TrainingRun, resolve_run_settings

__all__ = ["NO_ITERATION_LIMIT", "base_config", "build_trainer", "recipe_flags",
           "train_recipe", "warm_start"]

#: A budget (``minutes``) without ``meta_iters``: no limit on meta-iterations but the budget's.
NO_ITERATION_LIMIT = 10**9


def base_config(problem: str, recipe: Recipe):
    """``(net, meta, problem_config, dtype)``: the paper's defaults for ``problem`` with the
    recipe's settings (:class:`~minigrad.l2l.meta.MetaConfig` fields, LSTMOptimizer
    arguments, and for MNIST its problem settings) on top."""
    net = {**net_defaults(problem), **recipe.net,
           **(recipe.mnist_net if problem == "mnist" else {})}
    meta = MetaConfig().to_dict()
    meta.update(recipe.meta)
    problem_config = {"variant": "paper", "optimizee": PAPER.mnist_optimizee}
    if problem == "mnist":
        problem_config.update(recipe.mnist_problem)
    return net, meta, problem_config, "float32"


def recipe_flags(recipe: Recipe, flags: dict) -> dict:
    """The run settings ``flags`` (:class:`~minigrad.l2l.training.RunSettings` fields, None
    where not given) of a NEW run, with the recipe's choices where none was given; a budget
    (``minutes``) without ``meta_iters`` lifts the iteration limit."""
    flags = dict(flags)
    if recipe.val_every and flags.get("val_every") is None:
        flags["val_every"] = recipe.val_every
        flags["val_runs"] = flags.get("val_runs") or recipe.val_runs
    flags["val_metric"] = flags.get("val_metric") or recipe.val_metric
    if flags.get("minutes") is not None and flags.get("meta_iters") is None:
        flags["meta_iters"] = NO_ITERATION_LIMIT  # the budget alone ends the run
    return flags


def build_trainer(problem: str, net: dict, meta: dict, problem_config: dict,
                  dtype: str = "float32", processes: int = 1):
    """A fresh learned optimizer (``net``: :class:`~minigrad.l2l.lstm_optimizer.LSTMOptimizer`
    settings, with ``groups`` one LSTM per parameter group: :func:`~minigrad.l2l.grouped.
    build_net`), the training problem and its trainer (``meta``: MetaConfig settings); on
    ``processes`` > 1 (or a subset of the coordinates, ``meta_coordinates`` < 1) a
    :class:`~minigrad.l2l.parallel.ParallelMetaTrainer`. ValueError for
    settings that do not go together."""
    config = MetaConfig(**{k: (tuple(v) if k == "betas" else v) for k, v in meta.items()})
    keys = CONFIG_KEYS[problem]
    train_problem = problem_from_config(
        {"name": problem, **{k: v for k, v in problem_config.items() if k in keys}}, dtype=dtype)
    assignment = train_problem.param_groups() if hasattr(train_problem, "param_groups") else None
    learned = build_net(net, dtype=dtype, assignment=assignment)
    if processes > 1 or config.meta_coordinates < 1:  # the row-split trainer subsamples
        return ParallelMetaTrainer(learned, train_problem, config, processes=processes)
    return MetaTrainer(learned, train_problem, config)


def warm_start(net, problem, imitation, seed: int, progress: bool = True,
               callback: Callable | None = None) -> dict:
    """The imitation warm start (:func:`~minigrad.l2l.imitation.imitate`), with a progress bar
    on stderr; ``callback(k, loss)`` after each problem. Returns what a checkpoint records of
    it: ``config``, ``losses``, ``seconds``."""
    from tqdm.auto import tqdm

    from .imitation import imitate

    start = time.time()
    bar = tqdm(total=imitation.problems, desc=f"imitate {imitation.teacher}", unit="problem",
               disable=not progress, file=sys.stderr, dynamic_ncols=True)

    def step(k, loss):
        bar.set_postfix_str(f"regression loss {loss:.3g}", refresh=False)
        bar.update(1)
        if callback is not None:
            callback(k, loss)

    losses = imitate(net, problem, imitation, seed=seed, callback=step)
    bar.close()
    return {"config": imitation.to_dict(), "losses": losses, "seconds": time.time() - start}


def train_recipe(recipe: str | Recipe = "fast", minutes: float = 2.0, *, problem: str = "mnist",
                 optimizee: str | None = None, seed: int = 0, val_every: int | None = None,
                 val_runs: int | None = None, finish_in_time: bool = True,
                 callback: Callable | None = None, progress: bool = False, out=None) -> dict:
    """Meta-train a fresh learned optimizer by ``recipe`` for ``minutes`` of wall-clock time.

    Everything the recipe says (meta learning rate and schedule, meta-objective, clipping,
    imitation warm start, processes, validation metric) is taken from it; ``val_every`` and
    ``val_runs`` replace its validation schedule (a short run needs more frequent, smaller
    validations to draw a curve). The weights are scored on the validation problems before the
    first meta-iteration, every ``val_every`` meta-iterations, and at the end, and the best
    are kept. The budget covers everything (warm start, validation, starting the processes);
    with ``finish_in_time`` no meta-iteration is started that the last one's time (and the last
    validation's) says would end past it, so the run ends within the budget but for the error
    of that estimate (a budget spent before the first meta-iteration leaves the weights
    untrained). Ctrl-C (or a kernel interrupt) ends it early, keeping what it has.
    One run trains: a recipe's population start (``Recipe.population``,
    :mod:`minigrad.l2l.population`) is the command line's.

    ``callback(event)`` is called after every meta-iteration and validation with a dict:
    ``iteration``, ``train_loss`` (the mean optimizee loss over that meta-iteration's horizon,
    per run; None for a validation outside a meta-iteration), ``validation`` (the validation
    score when one was just computed, else None), ``seconds`` (of the meta-iteration),
    ``elapsed`` and ``minutes``. Returning True stops the run there.

    ``out``: also write a checkpoint there (``python -m minigrad.l2l evaluate --checkpoint``
    reads it); by default nothing is written. Returns a dict: ``net`` (the learned optimizer,
    holding its best weights on validation, or its last if it was never validated), ``weights``
    ("best" or "last"), ``best_iteration``, ``status`` ("done", "interrupted" or "diverged"),
    ``iterations``, ``train_curve``, ``iteration_seconds``, ``validation`` ([iteration, score]
    pairs), ``validation_seconds``, ``elapsed_s``, ``minutes``, ``recipe`` (its name),
    ``description`` (:meth:`Recipe.describe`), ``settings``, ``config``, ``processes`` and
    ``imitation`` (the warm start's record, or None).
    """
    recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
    if not (minutes > 0 and math.isfinite(minutes)):
        raise ValueError(f"train_recipe: minutes must be a positive number, got {minutes}")
    flags = {"minutes": float(minutes), "val_every": val_every, "val_runs": val_runs}
    settings, _ = resolve_run_settings(recipe_flags(recipe, flags), None)
    net_cfg, meta_cfg, prob_cfg, dtype = base_config(problem, recipe)
    meta_cfg["seed"] = net_cfg["seed"] = int(seed)
    if optimizee is not None:
        prob_cfg["optimizee"] = optimizee
    if recipe.imitation is not None and problem != "mnist":
        raise ValueError(f"recipe {recipe.name}: its imitation warm start is written for the "
                         f"mnist problem, not {problem}")
    trainer = build_trainer(problem, net_cfg, meta_cfg, prob_cfg, dtype, recipe.processes)
    budgeted = _BudgetedRun(trainer, recipe, settings, minutes, finish_in_time, callback)
    try:
        budgeted.start(int(seed), dtype, progress, out)
        exit_code = budgeted.train(out)
    finally:
        close = getattr(trainer, "close", None)
        if close is not None:
            close()
    return budgeted.result(exit_code)


class _BudgetedRun:
    """The steps of :func:`train_recipe` on a built trainer: the warm start, the
    :class:`~minigrad.l2l.training.TrainingRun` within the budget, the validations before the
    first meta-iteration and after the last, and what the run measured."""

    def __init__(self, trainer, recipe: Recipe, settings, minutes: float, finish_in_time: bool,
                 callback: Callable | None):
        self.trainer, self.recipe, self.settings = trainer, recipe, settings
        self.minutes, self.finish_in_time, self.callback = minutes, finish_in_time, callback
        self.seconds, self.val_seconds = [], []  # per meta-iteration, per validation
        self.record = None  # the warm start's
        self.val_problem = self.run = None

    def start(self, seed: int, dtype: str, progress: bool, out) -> None:
        """The recipe's warm start (it counts in the budget), then the training run."""
        trainer, imitation = self.trainer, self.recipe.imitation
        elapsed = 0.0
        if imitation is not None:
            self.record = warm_start(trainer.net, trainer.problem, imitation, seed, progress)
            elapsed = self.record["seconds"]
        if self.settings.val_every:
            self.val_problem = problem_from_config(trainer.problem.config(), split="val",
                                                   dtype=dtype)
        recipe = self.recipe
        extra = {"command": f"minigrad.l2l.launch.train_recipe({recipe.name!r}, "
                            f"{self.minutes:g})",
                 "recipe": {"name": recipe.name, "processes": recipe.processes,
                            "imitation": None if imitation is None else imitation.to_dict()}}
        if self.record is not None:
            extra["imitation"] = self.record
        self.run = TrainingRun(trainer, trainer.problem.config(), out, self.settings,
                               val_problem=self.val_problem, elapsed_s=elapsed, extra=extra,
                               progress=progress, callback=self.after_iteration, report=False)

    def train(self, out) -> int:
        """Validate the starting point (the first point of the curve, and the weights kept if
        no later ones do better), meta-train, validate the last weights if the run did not;
        the exit code (130: interrupted)."""
        run = self.run
        exit_code = 0 if self.val_problem is None or self.validate_now() else 130
        if exit_code == 0:
            exit_code = run.run()
        last_val = run.val_history[-1][0] if run.val_history else None
        if self.val_problem is not None and exit_code == 0 and last_val != self.trainer.iteration:
            exit_code = 0 if self.validate_now() else 130
            if out is not None:
                run.save("done" if exit_code == 0 else "interrupted")
        return exit_code

    def emit(self, event: dict) -> bool:
        return bool(self.callback(event)) if self.callback is not None else False

    def after_iteration(self, event: dict) -> bool:
        """The training run's callback: record, call back; True stops the run (asked to, or,
        with ``finish_in_time``, no time left for another meta-iteration and validation)."""
        self.seconds.append(event["seconds"])
        if event["validation"] is not None:
            self.val_seconds.append(event["val_seconds"])
        stop = self.emit(_event(event, self.minutes))
        if self.finish_in_time:
            # the next meta-iteration, and a validation after it, must end in the budget
            need = event["seconds"] + (self.val_seconds[-1]
                                       if self.val_problem and self.val_seconds else 0)
            stop = stop or self.run.elapsed() + need > 60.0 * self.minutes
        return stop

    def validate_now(self) -> bool:
        """A validation outside the loop, called back; False when interrupted."""
        try:
            t0 = time.perf_counter()
            score = self.run.validate()
            self.val_seconds.append(time.perf_counter() - t0)
        except KeyboardInterrupt:
            return False
        self.emit(_event({"iteration": self.trainer.iteration, "train_loss": None,
                          "validation": score, "seconds": None, "elapsed": self.run.elapsed()},
                         self.minutes))
        return True

    def result(self, exit_code: int) -> dict:
        """:func:`train_recipe`'s dict, the best weights loaded into the net."""
        trainer, run, recipe, settings = self.trainer, self.run, self.recipe, self.settings
        weights = "last"
        if run.best is not None:
            trainer.net.load_state_dict(run.best)
            weights = "best"
        per_run = _per_run(trainer)
        return {
            "net": trainer.net, "weights": weights, "best_iteration": run.best_iteration(),
            # exit code 1 is also a finished run whose checkpoint could not be written to `out`
            "status": "interrupted" if exit_code == 130 else getattr(run, "final_status",
                                                                      "done"),
            "iterations": trainer.iteration,
            "train_curve": [v / per_run for v in trainer.curve],
            "iteration_seconds": self.seconds, "validation": [list(r) for r in run.val_history],
            "validation_seconds": self.val_seconds, "val_every": settings.val_every,
            "val_runs": settings.val_runs, "val_metric": settings.val_metric,
            "elapsed_s": run.elapsed(), "minutes": float(self.minutes), "recipe": recipe.name,
            "description": recipe.describe(), "settings": asdict(settings),
            "config": trainer.config.to_dict(), "processes": recipe.processes,
            "imitation": self.record,
        }


def _event(event: dict, minutes: float) -> dict:
    keys = ("iteration", "train_loss", "validation", "seconds", "elapsed")
    return {**{k: event.get(k) for k in keys}, "minutes": float(minutes)}


def _per_run(trainer) -> int:
    problem = getattr(trainer, "problem", None)
    if getattr(problem, "reduction", "mean") == "sum":
        return getattr(problem, "runs_per_sample", 1)
    return 1
