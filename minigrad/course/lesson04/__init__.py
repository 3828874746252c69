"""Lesson 04 (RNNs, LSTMs, backpropagation through time): experiments, explorers, exercise.

Everything the notebook ``04_rnn_lstm_bptt`` computes lives here, so it can be tested headless
(``tests/test_lesson04.py``):

* a vanilla tanh RNN (:func:`rnn_params`, :func:`rnn_step`, :func:`rnn_forward`);
* :func:`gradient_flow`: how strongly a loss at the last step depends on the input of each
  earlier step, ``||dL/dx_t||``, for a tanh RNN of a given recurrent gain or an LSTM of a given
  forget-gate bias; :func:`plot_gradient_flow` and :func:`make_gradient_flow_explorer`;
* the reference of exercise 04.1 (:func:`lstm_cell`, the LSTM step from primitive ops) and its
  check against :func:`minigrad.nn.functional.lstm_cell` (values and gradients);
* :func:`count_graph_nodes`, :func:`compare_cells` and :func:`time_cells`: the fused cell
  against the composed one;
* the LSTM cell drawn with its gates: :func:`draw_lstm_cell`;
* truncated backpropagation through time: the reference of exercise 04.2
  (:func:`truncated_losses`, the loop over chunks with the state detached between them) and
  its check, :func:`truncated_bptt` (which inputs each loss can reach, and the resulting
  weight gradient, with any such loop), :func:`reach_summary`, :func:`truncation_curve`,
  :func:`plot_truncation` and :func:`make_truncation_explorer`;
* the adding problem (:func:`adding_problem`, :func:`train_adding`, :func:`plot_adding`).

The parts, one file each::

* ``vanishing_gradients.py``: Sections 1 and 2: a vanilla RNN, and its vanishing and exploding
  gradients.
* ``lstm_cell.py``: Section 3: the LSTM cell (the reference of exercise 04.1) against the fused
  cell.
* ``gate_diagram.py``: Section 4: the LSTM cell drawn with its four gates.
* ``truncated_bptt.py``: Section 6: truncated backpropagation through time.
* ``truncation_exercise.py``: Section 6: the check of exercise 04.2, the truncated-BPTT loop.
* ``adding_problem.py``: Section 5: a sequence task, the adding problem.
* ``exercise_checks.py``: Section 6: the check of exercise 04.1, the LSTM cell forward from
  primitive ops.
* ``quiz.py``: the end-of-lesson quiz, :data:`QUIZ` (shown with the widgets of
  :mod:`minigrad.course.quiz`).
"""

from __future__ import annotations

from minigrad.course.graphs import count_graph_nodes as count_graph_nodes

from . import (
    _shared,  # noqa: F401  (registers its exercise checks)
    exercise_checks,  # noqa: F401  (registers its exercise checks)
    truncation_exercise,  # noqa: F401  (registers its exercise checks)
)
from .adding_problem import AddingModel as AddingModel  # used by the tests and notebooks
from .adding_problem import adding_problem, plot_adding, train_adding
from .gate_diagram import draw_lstm_cell
from .lstm_cell import compare_cells, lstm_cell, time_cells
from .lstm_cell import random_cell_inputs as random_cell_inputs  # used by the tests and notebooks
from .quiz import QUIZ
from .truncated_bptt import (
    make_truncation_explorer,
    plot_truncation,
    reach_matrix,
    reach_summary,
    truncated_bptt,
    truncated_losses,
    truncation_curve,
    truncation_setup,
)
from .vanishing_gradients import (
    gradient_flow,
    make_gradient_flow_explorer,
    plot_gradient_flow,
    rnn_forward,
    rnn_params,
    rnn_step,
)

__all__ = [
    "QUIZ",
    "adding_problem",
    "compare_cells",
    "count_graph_nodes",
    "draw_lstm_cell",
    "gradient_flow",
    "lstm_cell",
    "make_gradient_flow_explorer",
    "make_truncation_explorer",
    "plot_adding",
    "plot_gradient_flow",
    "plot_truncation",
    "reach_matrix",
    "reach_summary",
    "rnn_forward",
    "rnn_params",
    "rnn_step",
    "time_cells",
    "train_adding",
    "truncated_bptt",
    "truncated_losses",
    "truncation_curve",
    "truncation_setup",
]
