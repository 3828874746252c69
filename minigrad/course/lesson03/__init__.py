"""Lesson 03 (modules and optimizers): update rules as array functions, races, MNIST.

Everything the notebook ``03_modules_and_optimizers`` computes lives here, so it can be tested
headless (``tests/test_lesson03.py``):

* :func:`parameter_table`: the named parameters of a module, as the notebook prints them;
* the exercise references :func:`adam_step` (03.1) and :func:`momentum_step` (03.2), their
  checks, and adapters (:func:`adam_rule`, :func:`momentum_rule`) that turn them into the
  ``rule(param, grad, state, lr) -> (param, state)`` form the races use;
* two-dimensional test functions (:data:`PROBLEMS`: a round bowl, a badly scaled valley and
  Rosenbrock's banana), :func:`run_optimizer`, :func:`race_optimizers`, :func:`lr_sweep`, their
  plots, and the explorer :func:`make_race_explorer`;
* the paper's optimizee, an MLP 784-20-10 on real MNIST digits: :func:`train_mlp`,
  :func:`evaluate`, :class:`LiveLossPlot`, :func:`paper_baselines_on_mnist`.

The optimizers are minigrad's (:mod:`minigrad.optim.update_rules`), whose formulas are
PyTorch's; the notebook swaps in the learner's checked functions where it says so.

The parts, one file each::

* ``update_rules.py``: Sections 1 and 2: a module's parameters, and the update rules of the
  exercises (the references) with adapters to the common rule form.
* ``races.py``: Section 3: races of optimizers on two-dimensional functions, learning-rate
  sweeps and the race explorer.
* ``mnist_baselines.py``: Section 4: the paper's optimizee on real MNIST digits, trained by the
  hand-designed optimizers. The optimizee itself (:func:`train_mlp`, :func:`evaluate`,
  :class:`LiveLossPlot`, :data:`PAPER_MNIST_LRS`, :data:`OPTIMIZERS`) is shared with lesson 09
  and lives at the course level, in :mod:`minigrad.course.mnist_mlp`; it is re-exported here.
* ``exercise_checks.py``: Section 5: the checks of the exercises (momentum, Nesterov and Adam
  steps).
* ``quiz.py``: the end-of-lesson quiz, :data:`QUIZ` (shown with the widgets of
  :mod:`minigrad.course.quiz`).
"""

from __future__ import annotations

from minigrad.course.mnist_mlp import (
    OPTIMIZERS,
    PAPER_MNIST_LRS,
    LiveLossPlot,
    evaluate,
    mnist_data,
    train_mlp,
)
from minigrad.course.mnist_mlp import make_optimizer as make_optimizer  # used by tests, notebooks

from . import exercise_checks  # noqa: F401  (registers its exercise checks)
from .mnist_baselines import paper_baselines_on_mnist, plot_digits
from .quiz import QUIZ
from .races import DIVERGED as DIVERGED  # used by the tests and notebooks
from .races import (
    PROBLEMS,
    Problem,
    lr_sweep,
    make_race_explorer,
    plot_lr_sweep,
    plot_race,
    race_optimizers,
    run_optimizer,
)
from .update_rules import (
    adam_rule,
    adam_step,
    library_rule,
    momentum_rule,
    momentum_step,
    parameter_table,
)

__all__ = [
    "QUIZ",
    "OPTIMIZERS",
    "PAPER_MNIST_LRS",
    "PROBLEMS",
    "LiveLossPlot",
    "Problem",
    "adam_rule",
    "adam_step",
    "evaluate",
    "library_rule",
    "lr_sweep",
    "make_race_explorer",
    "mnist_data",
    "momentum_rule",
    "momentum_step",
    "paper_baselines_on_mnist",
    "parameter_table",
    "plot_digits",
    "plot_lr_sweep",
    "plot_race",
    "race_optimizers",
    "run_optimizer",
    "train_mlp",
]
