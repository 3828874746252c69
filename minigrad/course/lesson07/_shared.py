"""Constants the parts of this lesson share."""

from __future__ import annotations

from minigrad.course.stored_results import GENERATOR, RESULTS_FORMAT, RESULTS_PATH  # noqa: F401
from minigrad.l2l.baselines import DISPLAY_NAMES

#: How the lessons name the optimizers (the library's names).
NAMES = DISPLAY_NAMES
#: How many steps of test run 0 a stored result keeps (spot checks and races use them).
RUN0_STEPS = 100
