"""Helpers for the course notebooks: exercise checks (and, later, widgets and plots).

A notebook imports what it needs from here, e.g. ``from minigrad.course import check``.
Each lesson's exercises are registered in ``minigrad/course/lessonNN.py`` and imported on the
first ``check`` of that lesson.
"""

from minigrad.course.checks import Case, Exercise, check, register, summary

__all__ = ["Case", "Exercise", "check", "register", "summary"]
