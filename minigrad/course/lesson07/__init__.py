"""Lesson 07 (MNIST): the paper's MNIST experiment, from the optimizee to the figure.

Contents:

* the optimizee: :func:`mlp_loss` (reference of exercise 07.1: the MLP's loss as a function of
  ONE flat parameter vector, the way the coordinatewise optimizer sees it), :func:`show_digits`;
* your meta-training loop from lesson 05 (exercise 05.3) on MNIST: :func:`draw_function` and
  :func:`unroll_steps`, the pieces it calls, and the library's loop it falls back to,
  :func:`library_meta_train` (all three from :mod:`minigrad.course.meta_loop`, which lesson 05
  uses too);
* meta-training, live and tiny: :func:`meta_train_live`, :func:`training_cost`,
  :func:`plot_meta_training`; the shipped optimizer: :func:`load_pretrained`;
* the evaluation protocol: :func:`pick_best_lr` (reference of exercise 07.2), :class:`Experiment`,
  :func:`run_experiments` (what ``scripts/make_lesson07_08_results.py`` runs to write the
  stored results), :func:`load_results` / :func:`check_provenance`, :func:`spot_check`,
  :func:`compare_final`, :func:`plot_result`, :func:`results_table`;
* the explorer :func:`make_race_explorer` over :func:`race`;
* train your own: :func:`lesson_budget`, :func:`train_own` (your loop, :func:`train_loop`, or
  the fast recipe's, for a wall-clock budget), :func:`describe_loop`, :func:`recipe_table`,
  :func:`describe_training`, :func:`plot_training`, the panel :class:`TrainPanel`, and the race
  on the held-out test runs :func:`race_own`, :func:`describe_race`, :func:`plot_race_own`.

Why stored results. One step of the learned optimizer over the MLP's 15,910 coordinates is an
LSTM batch of 15,910 rows, tens of milliseconds of CPU (section 2 of the notebook measures it),
many times a hand-designed optimizer's step. The paper's figure needs tuned baselines (a
grid of learning rates on validation problems) and many test runs: minutes of CPU, more than
a notebook cell should take.
So ``scripts/make_lesson07_08_results.py`` runs the protocol below with the shipped optimizer
and writes :data:`RESULTS_PATH` (curves, 95% intervals, tuned learning rates, the checkpoint's
SHA-256, the command, the time it took). The notebooks check that file against the shipped
checkpoint and recompute a piece of it live.

The protocol (:func:`run_experiments`) is :mod:`minigrad.l2l.evaluate`'s, with the same seeds,
so the MNIST rows equal ``python -m minigrad.l2l evaluate --problem mnist --checkpoint
pretrained --optimizee ARCH --steps T --runs R --val-runs V``: every baseline gets the learning
rate of its grid with the lowest mean final loss on VALIDATION problems (validation digits,
seeds ``(0, 2, k)``), then every optimizer runs on the same TEST problems (held-out digits, seeds
``(0, 3, k)``). Rollouts are pure functions of (optimizer, problem, seed), and a shorter run is
the start of a longer one, so each distinct rollout is computed once at the longest horizon
asked of it.

The parts, one file each::

* ``optimizee.py``: Section 1: the optimizee, the MNIST MLP's loss as a function of one flat
  vector (exercise 07.1), and the digits.
* ``meta_training.py``: Section 2: meta-training live and tiny, what it costs, and the shipped
  optimizer's record.
* ``evaluation.py``: Section 3: the evaluation protocol (exercise 07.2), the stored results and
  how to read them.
* ``explorer.py``: Section 4: the explorer, one held-out run, your optimizer against the learned
  one.
* ``own_optimizer.py``: Section 5: train your own optimizer, live, with your loop or the fast
  recipe's, and race it on the held-out test runs.
* ``quiz.py``: the end-of-lesson quiz, :data:`QUIZ` (shown with the widgets of
  :mod:`minigrad.course.quiz`).
"""

from __future__ import annotations

from minigrad.course.meta_loop import draw_function, library_meta_train, unroll_steps
from minigrad.l2l.baselines import DECADES as DECADES
from minigrad.l2l.baselines import OPTIMIZERS as OPTIMIZERS
from minigrad.l2l.checkpoints import load_pretrained as load_pretrained
from minigrad.l2l.evaluate import Experiment as Experiment
from minigrad.l2l.evaluate import RolloutCache as RolloutCache
from minigrad.l2l.evaluate import best_baseline as best_baseline
from minigrad.l2l.evaluate import compare_final as compare_final
from minigrad.l2l.plots import plot_result as plot_result
from minigrad.l2l.problems import mnist_problem_factory as mnist_problem_factory

from ._shared import NAMES, RESULTS_FORMAT, RESULTS_PATH
from ._shared import RUN0_STEPS as RUN0_STEPS  # used by the tests and notebooks
from .evaluation import (
    EXPERIMENTS,
    at_grid_edge,
    check_provenance,
    describe_comparison,
    experiment_of,
    heldout_problem,
    load_results,
    pick_best_lr,
    results_table,
    save_results,
    spot_check,
)
from .explorer import make_race_explorer, plot_race, race, run_experiments
from .meta_training import meta_train_live, plot_meta_training, training_cost
from .optimizee import mlp_loss, show_digits
from .own_optimizer import (
    BUDGETS,
    DEFAULT_MINUTES,
    ENV_MINUTES,
    LOOP_META_LR,
    VAL_EVERY,
    VAL_RUNS,
    TrainPanel,
    budget_buys,
    describe_loop,
    describe_race,
    describe_training,
    lesson_budget,
    loop_label,
    paired_race,
    plot_race_own,
    plot_training,
    race_own,
    recipe_rows,
    recipe_table,
    train_loop,
    train_own,
    training_speed,
)
from .quiz import QUIZ

__all__ = [
    "QUIZ",
    "DECADES",
    "DEFAULT_MINUTES",
    "ENV_MINUTES",
    "BUDGETS",
    "LOOP_META_LR",
    "TrainPanel",
    "VAL_EVERY",
    "VAL_RUNS",
    "budget_buys",
    "describe_loop",
    "describe_race",
    "draw_function",
    "library_meta_train",
    "loop_label",
    "recipe_rows",
    "recipe_table",
    "train_loop",
    "unroll_steps",
    "describe_training",
    "lesson_budget",
    "paired_race",
    "plot_race_own",
    "plot_training",
    "race_own",
    "train_own",
    "training_speed",
    "EXPERIMENTS",
    "Experiment",
    "NAMES",
    "OPTIMIZERS",
    "RESULTS_FORMAT",
    "RESULTS_PATH",
    "RolloutCache",
    "at_grid_edge",
    "best_baseline",
    "check_provenance",
    "compare_final",
    "describe_comparison",
    "experiment_of",
    "load_pretrained",
    "load_results",
    "make_race_explorer",
    "meta_train_live",
    "mlp_loss",
    "mnist_problem_factory",
    "pick_best_lr",
    "plot_race",
    "plot_meta_training",
    "plot_result",
    "race",
    "results_table",
    "run_experiments",
    "save_results",
    "show_digits",
    "spot_check",
    "heldout_problem",
    "training_cost",
]
