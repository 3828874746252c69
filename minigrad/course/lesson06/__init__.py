"""Lesson 06 (gradient preprocessing): why the learned optimizer reads log|g| and sign(g).

Everything the notebook ``06_gradient_preprocessing`` computes lives here, so it can be tested
headless (``tests/test_lesson06.py``):

* the gradients of the paper's MNIST MLP at initialisation and after some Adam steps
  (:func:`mnist_gradient_snapshots`), their magnitudes (:func:`magnitude_table`) and
  histograms of log10|g| (:func:`plot_gradient_histograms`);
* exercise 06.1, the paper's LogAndSign preprocessing (appendix A): the reference
  :func:`log_and_sign` and its check against :class:`minigrad.l2l.LogAndSign`;
* the map and its effect for any p: :func:`preprocessing_view`, :func:`plot_preprocessing`
  and the explorer :func:`make_preprocessing_explorer`;
* with vs without preprocessing on MNIST, measured on the untrained LSTM optimizer's inputs:
  :func:`lstm_input_statistics`, :func:`statistics_table`, :func:`plot_lstm_inputs`.

The parts, one file each::

* ``mlp_gradients.py``: Section 1: the gradients of the MNIST MLP, across orders of magnitude.
* ``log_and_sign.py``: Sections 2 and 3: exercise 06.1, LogAndSign, then the map for any p and
  what it does to the MNIST gradients.
* ``untrained_view.py``: Section 4: with against without preprocessing, what the untrained LSTM
  optimizer sees.
* ``quiz.py``: the end-of-lesson quiz, :data:`QUIZ` (shown with the widgets of
  :mod:`minigrad.course.quiz`).
"""

from __future__ import annotations

from ._shared import ARRAY_NAMES
from .log_and_sign import (
    library_log_and_sign,
    log_and_sign,
    make_preprocessing_explorer,
    plot_preprocessing,
    preprocessing_view,
)
from .mlp_gradients import (
    GradientSnapshot,
    magnitude_table,
    mnist_gradient_snapshots,
    plot_gradient_histograms,
)
from .quiz import QUIZ
from .untrained_view import lstm_input_statistics, plot_lstm_inputs, statistics_table

__all__ = [
    "QUIZ",
    "ARRAY_NAMES",
    "GradientSnapshot",
    "library_log_and_sign",
    "lstm_input_statistics",
    "log_and_sign",
    "magnitude_table",
    "make_preprocessing_explorer",
    "mnist_gradient_snapshots",
    "plot_gradient_histograms",
    "plot_lstm_inputs",
    "plot_preprocessing",
    "preprocessing_view",
    "statistics_table",
]
