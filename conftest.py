"""pytest, for every run in this repository (``tests/``, and nbval over ``solutions/`` and
``course/``), before any test starts.

Lesson 07 meta-trains an optimizer for a wall-clock budget a learner can wait for
(``minigrad.course.lesson07.DEFAULT_MINUTES``). Under pytest that budget is the environment
variable ``L2L_LESSON_TRAIN_MINUTES``, 0.25 minutes unless it is already set, so the notebook
tests stay fast; nbval's kernels and the browser test's JupyterLab inherit it, and the lesson
prints that the budget (and its race) was shortened. ``tests/test_lesson07.py`` checks that the
name is the lesson's.
"""

import os

LESSON_TRAIN_MINUTES = ("L2L_LESSON_TRAIN_MINUTES", "0.25")

os.environ.setdefault(*LESSON_TRAIN_MINUTES)
