"""Lesson 02 (tensors and gradients): minigrad's engine seen from the inside.

Contents:

* :func:`graph_of` / :func:`draw_tensor_graph`: walk and draw the graph behind a Tensor (the
  Function nodes reached through ``ctx.next``);
* :func:`sum_to_array`, the reference of exercise 02.1, and :func:`broadcast_report`, which the
  broadcasting explorer shows;
* the references of exercises 02.2 to 02.4 (``div_backward``, ``sigmoid_backward``,
  ``sum_backward``) and :func:`make_function`, which turns a backward function into a
  :class:`~minigrad.function.Function` subclass;
* finite-difference errors in float32 and float64 (:func:`fd_errors`,
  :func:`float32_gradcheck`), :func:`derivatives_of_tanh` (second derivatives with
  ``create_graph``), and their plots;
* the explorers :func:`make_broadcast_explorer` and :func:`make_eps_explorer`;
* the registrations of exercises 02.1 to 02.4.

The parts, one file each::

* ``graphs_and_broadcasting.py``: Sections 1 and 2: the graph behind a tensor, and broadcasting
  with its adjoint, sum_to.
* ``backward_functions.py``: Section 3: the backward functions of the exercises (the references)
  and the Function classes built from them.
* ``gradient_checking.py``: Section 4: gradient checking by finite differences, in float32 and
  float64.
* ``explorers.py``: Section 5: the explorers.
* ``exercise_checks.py``: Section 6: the checks of the exercises.
* ``quiz.py``: the end-of-lesson quiz, :data:`QUIZ` (shown with the widgets of
  :mod:`minigrad.course.quiz`).
"""

from __future__ import annotations

from minigrad.course.graphs import graph_of as graph_of

from . import exercise_checks  # noqa: F401  (registers its exercise checks)
from .backward_functions import (
    div_backward,
    make_function,
    my_div,
    my_sigmoid,
    my_sum,
    sigmoid_backward,
    sum_backward,
)
from .explorers import _parse_shape as _parse_shape  # used by the tests and notebooks
from .explorers import describe_broadcast, make_broadcast_explorer, make_eps_explorer
from .gradient_checking import (
    FD_FUNCTIONS,
    derivatives_of_tanh,
    fd_errors,
    float32_gradcheck,
    plot_derivatives,
    plot_fd_errors,
)
from .graphs_and_broadcasting import (
    BROADCAST_OPS,
    broadcast_report,
    draw_tensor_graph,
    sum_to_array,
)
from .quiz import QUIZ

__all__ = [
    "QUIZ",
    "BROADCAST_OPS",
    "FD_FUNCTIONS",
    "broadcast_report",
    "derivatives_of_tanh",
    "describe_broadcast",
    "div_backward",
    "draw_tensor_graph",
    "fd_errors",
    "float32_gradcheck",
    "graph_of",
    "make_broadcast_explorer",
    "make_eps_explorer",
    "make_function",
    "my_div",
    "my_sigmoid",
    "my_sum",
    "plot_derivatives",
    "plot_fd_errors",
    "sigmoid_backward",
    "sum_backward",
    "sum_to_array",
]
