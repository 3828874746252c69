"""Constants the parts of this lesson share."""

from __future__ import annotations

from pathlib import Path

from minigrad.l2l.baselines import DISPLAY_NAMES

#: How the lessons name the optimizers (the library's names).
NAMES = DISPLAY_NAMES
RESULTS_FORMAT = "minigrad.course.lesson07_08/1"
RESULTS_PATH = Path(__file__).resolve().parents[1] / "lesson07_08_results.json"
GENERATOR = "scripts/make_lesson07_08_results.py"
#: How many steps of test run 0 a stored result keeps (spot checks and races use them).
RUN0_STEPS = 100
