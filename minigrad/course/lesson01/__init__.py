"""Lesson 01 (autograd from scratch): a scalar reverse-mode engine, its exercises and explorers.

The engine is micrograd-shaped, with one twist that prepares lesson 02: the backward rule of
each operation lives in a table, ``RULES[op](out)``, instead of a closure on every node. A
rule reads the node's output ``out`` (its ``data`` and upstream gradient ``grad``) and adds
``local derivative * out.grad`` to the ``grad`` of each input in ``out._prev``. Reverse-mode
differentiation is then: order the graph topologically, seed ``root.grad = 1``, and apply the
rules from the root back to the leaves.

Contents:

* numerical derivatives (forward and central differences) and their error versus the step h;
* :class:`Value`, the backward rules (:data:`RULES`), :func:`topo_order` (iterative),
  :func:`topo_order_recursive` (the one that overflows), :func:`backward`;
* :func:`draw_graph`: a layered drawing of a graph with matplotlib (no graphviz);
* the expressions the explorers use, :func:`evaluate`, :func:`gradient_descent`;
* the explorers :func:`make_graph_explorer` and :func:`make_tangent_explorer`, and the small
  :class:`Explorer` container lesson 02 reuses;
* the registrations of exercises 01.1 to 01.4.

The parts, one file each::

* ``numerical_derivatives.py``: Section 1: derivatives, numerically: forward and central
  differences, their errors, the tangent line.
* ``value.py``: Section 2: the scalar engine, Value, and the backward rules and topological
  order the exercises build.
* ``drawing.py``: Section 3: drawing a Value graph, its data and gradients on every node.
* ``explorers.py``: Sections 4 and 5: the expressions of the explorers, their evaluation and
  gradient descent, and the explorers themselves.
* ``exercise_checks.py``: Section 6: the checks of exercises 01.1-01.5, with the graphs each is
  checked on.
* ``quiz.py``: the end-of-lesson quiz, :data:`QUIZ` (shown with the widgets of
  :mod:`minigrad.course.quiz`).
"""

from __future__ import annotations

from minigrad.course.graphs import draw_dag as draw_dag
from minigrad.course.graphs import layered_layout as layered_layout
from minigrad.course.widgets import Explorer as Explorer

from . import exercise_checks  # noqa: F401  (registers its exercise checks)
from .drawing import draw_graph
from .explorers import (
    EXPRESSIONS,
    evaluate,
    gradient_descent,
    make_graph_explorer,
    make_tangent_explorer,
    plot_gradient_descent,
    plot_tangent,
    tangent,
)
from .numerical_derivatives import (
    central_difference,
    difference_errors,
    forward_difference,
    loglog_slope,
    plot_difference_errors,
)
from .quiz import QUIZ
from .value import (
    RULES,
    Value,
    add_backward,
    backward,
    deep_chain,
    mul_backward,
    numeric_grads,
    recursion_demo,
    tanh_backward,
    topo_order,
    topo_order_recursive,
)

__all__ = [
    "QUIZ",
    "EXPRESSIONS",
    "Explorer",
    "RULES",
    "Value",
    "add_backward",
    "backward",
    "central_difference",
    "deep_chain",
    "difference_errors",
    "draw_dag",
    "draw_graph",
    "evaluate",
    "forward_difference",
    "gradient_descent",
    "layered_layout",
    "loglog_slope",
    "make_graph_explorer",
    "make_tangent_explorer",
    "mul_backward",
    "numeric_grads",
    "plot_difference_errors",
    "plot_gradient_descent",
    "plot_tangent",
    "recursion_demo",
    "tangent",
    "tanh_backward",
    "topo_order",
    "topo_order_recursive",
]
