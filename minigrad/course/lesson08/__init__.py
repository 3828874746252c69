"""Lesson 08 (generalisation): the MNIST optimizer on problems it was not trained on.

The learned optimizer was meta-trained on ONE family: the 784-20-10 sigmoid MLP, 100 steps,
MNIST digits. This lesson runs it, unchanged, on longer horizons, other architectures, ReLU
units and another dataset, each time against baselines tuned for that very problem.

Contents:

* :data:`EXPERIMENTS` (run by ``scripts/make_lesson07_08_results.py`` with lesson 07's
  :func:`~minigrad.l2l.evaluate.run_experiments`; the results are stored beside this file),
  :data:`CLAIMS` (what the paper says about each), :data:`SWEEP` (the width/depth cells);
* Fashion-MNIST: :class:`FashionProblem`, :func:`fashion_available`, :func:`problem_factory`;
* :func:`final_loss_ratio` (reference of exercise 08.1), :func:`overview`;
* why ReLU differs: :func:`gradient_stats`, :func:`plot_gradient_histograms`;
* long horizons: :func:`horizon_report`; the sweep: :func:`sweep_grid`, :func:`plot_sweep`;
* the explorer :func:`make_generalisation_explorer` over :func:`curves_at`.

The parts, one file each::

* ``fashion.py``: Fashion-MNIST: the same net on another dataset.
* ``final_loss_ratio.py``: Exercise 08.1: how far from the best tuned baseline, one number per
  experiment.
* ``relu_gradients.py``: Why ReLU is different: the gradients the LSTM reads.
* ``long_horizons.py``: Long horizons and the width/depth sweep.
* ``explorer.py``: The explorer: pick a problem and a horizon.
* ``quiz.py``: the end-of-lesson quiz, :data:`QUIZ` (shown with the widgets of
  :mod:`minigrad.course.quiz`).
"""

from __future__ import annotations

from ._shared import CLAIMS, EXPERIMENTS, SWEEP, TRAIN_STEPS
from .explorer import curves_at, make_generalisation_explorer
from .fashion import FashionProblem, fashion_available, load_fashion, problem_factory
from .final_loss_ratio import final_loss_ratio, overview
from .long_horizons import describe_horizon, horizon_report, plot_sweep, sweep_grid
from .quiz import QUIZ
from .relu_gradients import gradient_stats, plot_gradient_histograms

__all__ = [
    "QUIZ",
    "CLAIMS",
    "EXPERIMENTS",
    "SWEEP",
    "TRAIN_STEPS",
    "FashionProblem",
    "curves_at",
    "describe_horizon",
    "fashion_available",
    "final_loss_ratio",
    "gradient_stats",
    "horizon_report",
    "load_fashion",
    "make_generalisation_explorer",
    "overview",
    "plot_gradient_histograms",
    "plot_sweep",
    "problem_factory",
    "sweep_grid",
]
