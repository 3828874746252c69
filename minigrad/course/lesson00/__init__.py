"""Lesson 00 (welcome): the course map, the paper in one picture, the environment, the first
exercise and the first explorer.

Contents:

* :data:`LESSONS`, the ten lessons with one line each and what each builds on;
  :func:`course_map_markdown` (the table the notebook shows) and :func:`draw_course_map`;
* :func:`draw_paper_picture`: the paper's computational graph (its Figure 2) for a few steps:
  optimizee parameters ``theta_t``, their gradients, the LSTM optimizer ``m`` with state
  ``h_t`` and update ``g_t``, and the meta-loss summing ``f(theta_t)``; the edges no gradient
  flows along are dashed;
* :func:`environment_report` and :func:`format_environment`: versions, the backend, the default
  device and dtype, whether CuPy works here and why not;
* exercise 00.1 (``square``), whose check the notebook also shows failing on purpose;
* gradient descent on ``f(x) = x^2``: :func:`gradient_descent_path` (the gradient comes from
  minigrad's autograd), :func:`lr_regime`, :func:`plot_lr_regimes`, :func:`plot_lr_path` and the
  explorer :func:`make_lr_explorer`.

The parts, one file each::

* ``course_map.py``: Section 1: the course map, the lessons and what each one builds on.
* ``paper_picture.py``: Section 2: the paper in one picture.
* ``environment.py``: Section 3: the environment, what this machine has (versions, cores, GPU).
* ``first_exercise.py``: Sections 4 and 5: exercise 00.1 (how exercises give feedback), then
  gradient descent on f(x) = x^2 and its learning rate.
* ``quiz.py``: the end-of-lesson quiz, :data:`QUIZ` (shown with the widgets of
  :mod:`minigrad.course.quiz`).
"""

from __future__ import annotations

from .course_map import LESSONS, Lesson, course_map_markdown, draw_course_map, lesson_layers
from .environment import environment_report, format_environment
from .first_exercise import _lr_result as _lr_result  # used by the tests and notebooks
from .first_exercise import (
    gradient_descent_path,
    lr_regime,
    make_lr_explorer,
    plot_lr_path,
    plot_lr_regimes,
    square,
)
from .paper_picture import draw_paper_picture
from .quiz import QUIZ

__all__ = [
    "QUIZ",
    "LESSONS",
    "Lesson",
    "course_map_markdown",
    "draw_course_map",
    "draw_paper_picture",
    "environment_report",
    "format_environment",
    "gradient_descent_path",
    "lesson_layers",
    "lr_regime",
    "make_lr_explorer",
    "plot_lr_path",
    "plot_lr_regimes",
    "square",
]
