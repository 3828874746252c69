"""Helpers for the course notebooks: exercise checks, widgets, graph drawing, the MNIST MLP that
more than one lesson trains (:mod:`minigrad.course.mnist_mlp`), and one package per lesson.

A notebook imports what it needs from here, e.g. ``from minigrad.course import check``, and its
lesson's helpers as ``from minigrad.course import lessonNN as L``. Each lesson package
``minigrad/course/lessonNN/`` has one file per part of the lesson (its ``__init__`` lists them);
its exercises are registered there and imported on the first ``check`` of that lesson.
"""

from minigrad.course.checks import Case, Exercise, check, register, summary

__all__ = ["Case", "Exercise", "check", "register", "summary"]
