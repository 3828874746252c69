"""Lesson 08 (generalisation): the MNIST optimizer on problems it was not trained on.

The learned optimizer was meta-trained on ONE family: the 784-20-10 sigmoid MLP, 100 steps,
MNIST digits. This lesson runs it, unchanged, on longer horizons, other architectures, ReLU
units and another dataset, each time against baselines tuned for that very problem.

Contents:

* :data:`EXPERIMENTS` (run by ``scripts/make_lesson07_08_results.py`` with lesson 07's
  :func:`~minigrad.l2l.evaluate.run_experiments`; the results are stored beside this file),
  :data:`CLAIMS` (what the paper says about each), :data:`SWEEP` (the width/depth cells);
* Fashion-MNIST: :class:`FashionProblem`, :func:`fashion_available`, :func:`problem_factory`;
* :func:`final_loss_ratio` and :func:`overview` (one number per experiment);
* exercise 08.1, predict the ratio at twice the training horizon: :func:`predict_ratio` (its
  reference), :func:`curves_until`, :func:`measured_ratio`, :func:`horizon_pace`,
  :func:`prediction_report`;
* why ReLU differs: :func:`gradient_stats`, :func:`plot_gradient_histograms`;
* long horizons: :func:`horizon_report`; the sweep: :func:`sweep_grid`, :func:`plot_sweep`;
* the explorer :func:`make_generalisation_explorer` over :func:`curves_at`.

The parts, one file each::

* ``fashion.py``: Fashion-MNIST: the same net on another dataset.
* ``horizon_prediction.py``: Exercise 08.1: predict how the final-loss ratio moves from step 100
  to step 200, then measure it.
* ``final_loss_ratio.py``: how far from the best tuned baseline, one number per experiment.
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
from .horizon_prediction import (
    curves_until,
    horizon_pace,
    measured_ratio,
    predict_ratio,
    prediction_report,
)
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
    "curves_until",
    "describe_horizon",
    "fashion_available",
    "final_loss_ratio",
    "gradient_stats",
    "horizon_pace",
    "horizon_report",
    "load_fashion",
    "make_generalisation_explorer",
    "measured_ratio",
    "overview",
    "plot_gradient_histograms",
    "plot_sweep",
    "predict_ratio",
    "prediction_report",
    "problem_factory",
    "sweep_grid",
]
