"""Lesson 00 (welcome): the exercise that shows how exercises and checks work."""

import numpy as np

from minigrad.course.checks import Case, Exercise, register


def square(x):
    """Return ``x ** 2`` for a number or an array."""
    return x * x


def _square_cases():
    rng = np.random.default_rng(0)
    return [
        Case((3,)),
        Case((-2.5,)),
        Case((np.arange(4.0),)),
        Case((rng.standard_normal((2, 3)),), label="square(a random 2x3 array)"),
    ]


register(
    Exercise(
        id="00.1",
        title="square a number",
        reference=square,
        cases=_square_cases,
        hint="Multiply x by itself: `x * x` works for numbers and NumPy arrays alike.",
    )
)
