"""Lesson 05 (learning to learn): an optimizer is a function, and functions can be learned.

Everything the notebook ``05_learning_to_learn`` computes lives here, so it can be tested
headless (``tests/test_lesson05.py``):

* hand-designed rules written as the paper's optimizer function
  ``[g_t, h_{t+1}] = m(grad_t, h_t; phi)`` (:func:`sgd_m`, :func:`momentum_m`,
  :func:`run_m`);
* the coordinatewise LSTM: :func:`full_lstm_parameter_count` (what a non-coordinatewise LSTM
  would cost), :func:`permutation_gap` (permuting the coordinates permutes the updates);
* a figure of a network's parameters becoming the LSTM's batch rows:
  :func:`draw_coordinates_as_rows`;
* the paper's computational graph with its dashed edges: :func:`draw_computational_graph`;
* exercise 05.1, the unrolled meta-loss with the gradient cut: the reference
  :func:`unrolled_meta_loss`, the tiny problems it is checked on (:func:`tiny_quadratic`),
  and its check against the library's :func:`minigrad.l2l.unroll`;
* exercise 05.2, the coordinatewise optimizer module: its reference, the library's
  ``LSTMOptimizer`` (:func:`library_optimizer_module`), and its check;
* exercise 05.3, the meta-training loop: the function of each meta-iteration
  (:func:`draw_function`), one unroll (:func:`unroll_steps`), the reference, the library's
  ``MetaTrainer`` (:func:`library_meta_train`), and its check;
* a short meta-training on small quadratics with either loop and module
  (:func:`short_meta_training`, :func:`describe_meta_run`), its held-out
  evaluation against tuned Adam (:func:`held_out_comparison`), live plots (:class:`LivePlot`,
  :func:`plot_meta_curve`);
* the pretrained optimizer against tuned baselines, the paper's quadratic figure
  (:func:`load_pretrained`, :func:`pretrained_or_fallback`, :func:`compare_with_baselines`,
  :func:`plot_comparison`);
* the explorer :func:`make_meta_training_explorer` (unroll length, meta learning rate, hidden
  size; a button launches a short run with a live plot).

The parts, one file each::

* ``optimizer_functions.py``: Sections 1-2: hand-designed optimizers written as the paper's
  m(grad, h; phi), and what the coordinatewise LSTM saves.
* ``coordinates_figure.py``: Section 2: a network's parameters as the LSTM's batch rows.
* ``computational_graph.py``: Section 4: the paper's computational graph (its Figure 2), dashed
  edges included.
* ``meta_loss.py``: Section 5, exercise 05.1: the unrolled meta-loss with the gradient cut, its
  reference and its check.
* ``optimizer_module.py``: Section 6, exercise 05.2: the coordinatewise optimizer module.
* ``meta_training_loop.py``: Section 6, exercise 05.3: the meta-training loop.
* ``short_training.py``: Section 6: a short meta-training on small quadratics, its held-out
  comparison and live plots.
* ``pretrained.py``: Section 7: the pretrained optimizer against tuned baselines (the paper's
  quadratic figure).
* ``explorer.py``: Section 8: the meta-training explorer (unroll length, meta learning rate,
  hidden size).
* ``quiz.py``: the end-of-lesson quiz, :data:`QUIZ` (shown with the widgets of
  :mod:`minigrad.course.quiz`).
"""

from __future__ import annotations

from minigrad.l2l.checkpoints import load_pretrained as load_pretrained

from .computational_graph import draw_computational_graph
from .coordinates_figure import draw_coordinates_as_rows
from .explorer import make_meta_training_explorer
from .meta_loss import _CHECK_CASES as _CHECK_CASES  # used by the tests and notebooks
from .meta_loss import TinyProblem, tiny_quadratic, unrolled_meta_loss
from .meta_loss import _check_net as _check_net  # used by the tests and notebooks
from .meta_loss import library_meta_loss as library_meta_loss  # used by the tests and notebooks
from .meta_training_loop import draw_function, library_meta_train, unroll_steps
from .optimizer_functions import (
    full_lstm_parameter_count,
    momentum_m,
    permutation_gap,
    run_m,
    sgd_m,
)
from .optimizer_module import library_optimizer_module
from .pretrained import (
    COMPARISON_GRID,
    Pretrained,
    claim_verdict,
    compare_with_baselines,
    comparison_table,
    plot_comparison,
    pretrained_or_fallback,
)
from .quiz import QUIZ
from .short_training import (
    LivePlot,
    MetaRun,
    describe_meta_run,
    held_out_comparison,
    plot_meta_curve,
    short_meta_training,
)

__all__ = [
    "QUIZ",
    "COMPARISON_GRID",
    "LivePlot",
    "MetaRun",
    "Pretrained",
    "TinyProblem",
    "claim_verdict",
    "compare_with_baselines",
    "comparison_table",
    "describe_meta_run",
    "draw_computational_graph",
    "draw_coordinates_as_rows",
    "draw_function",
    "full_lstm_parameter_count",
    "held_out_comparison",
    "library_meta_train",
    "library_optimizer_module",
    "load_pretrained",
    "make_meta_training_explorer",
    "momentum_m",
    "permutation_gap",
    "plot_comparison",
    "plot_meta_curve",
    "pretrained_or_fallback",
    "run_m",
    "sgd_m",
    "short_meta_training",
    "tiny_quadratic",
    "unroll_steps",
    "unrolled_meta_loss",
]
