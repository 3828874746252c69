"""The exercise-check framework (minigrad.course.checks)."""

from __future__ import annotations

import numpy as np
import pytest

from minigrad.course import checks
from minigrad.course.checks import Case, Exercise, ExerciseError, check, compare_values


def _axpy(a, x, y):
    return a * x + y


@pytest.fixture
def exercise():
    """A temporary exercise 99.1: a * x + y on scalars and arrays."""

    def cases():
        rng = np.random.default_rng(1)
        return [
            Case((2.0, 3.0, 1.0)),
            Case((0.5, rng.standard_normal(4), rng.standard_normal(4))),
            Case((-1.0,), {"x": np.ones((2, 2)), "y": np.zeros((2, 2))}, label="a 2x2 case"),
        ]

    ex = checks.register(
        Exercise(
            id="99.1",
            title="axpy",
            reference=_axpy,
            cases=cases,
            hint="Scale x by a, then add y.",
        )
    )
    yield ex
    checks._REGISTRY.pop("99.1", None)
    checks._RESULTS.pop("99.1", None)


def _verdict(capsys) -> str:
    out = capsys.readouterr().out
    assert out.count("\n") == 1, f"expected one verdict line, got {out!r}"
    return out.strip()


def test_correct_solution_passes_and_is_returned(exercise, capsys):
    def axpy(a, x, y):
        return y + x * a

    assert check("99.1", axpy) is axpy
    assert _verdict(capsys) == "✅ Exercise 99.1 (axpy): passed 3/3 checks."
    assert checks.results()["99.1"] == "passed"


def test_wrong_answer_reports_the_difference_and_falls_back(exercise, capsys):
    def axpy(a, x, y):
        return a * x - y

    assert check("99.1", axpy) is _axpy
    line = _verdict(capsys)
    assert line.startswith("❌ Exercise 99.1 (axpy): check 1, axpy(2.0, 3.0, 1.0): ")
    assert "got 5, expected 7 (abs error 2)" in line
    assert "Hint: Scale x by a, then add y." in line
    assert line.endswith("Continuing with the reference implementation.")
    assert checks.results()["99.1"] == "failed"


def test_wrong_array_entry_reports_index_and_max_error(exercise, capsys):
    def axpy(a, x, y):
        out = np.asarray(a * x + y, dtype=float).copy()
        if out.ndim == 2:
            out[1, 0] += 0.5
        return out

    assert check("99.1", axpy) is _axpy
    line = _verdict(capsys)
    assert "check 3, a 2x2 case: max abs error 0.5 at index (1, 0)" in line
    assert "1 of 4 entries differ" in line


def test_wrong_shape_is_reported(exercise, capsys):
    check("99.1", lambda a, x, y: np.atleast_1d(a * x + y)[None])
    assert "got shape (1, 1), expected shape ()" in _verdict(capsys)


def test_not_implemented_falls_back_without_blame(exercise, capsys):
    def axpy(a, x, y):
        # YOUR CODE HERE
        raise NotImplementedError()

    assert check("99.1", axpy) is _axpy
    assert _verdict(capsys) == (
        "⏭ Exercise 99.1 (axpy): not done yet (NotImplementedError), continuing with the "
        "reference implementation."
    )
    assert checks.results()["99.1"] == "not done"


def test_exception_is_reported_with_type_message_and_line(exercise, capsys):
    def axpy(a, x, y):
        scale = a / 0
        return scale * x + y

    assert check("99.1", axpy) is _axpy
    line = _verdict(capsys)
    assert line.startswith("❌ Exercise 99.1 (axpy): check 1, axpy(2.0, 3.0, 1.0) raised ")
    assert "ZeroDivisionError: float division by zero" in line
    assert "(in axpy, line " in line and "`scale = a / 0`" in line
    assert "Hint: Scale x by a, then add y." in line
    assert checks.results()["99.1"] == "error"


def test_not_a_function_falls_back(exercise, capsys):
    assert check("99.1", None) is _axpy
    assert "expected a function, got NoneType" in _verdict(capsys)


class FakeTensor:
    """Duck-typed stand-in for a minigrad Tensor: an array in ``.data``."""

    def __init__(self, data):
        self.data = np.asarray(data, dtype=np.float32)


def test_tensors_are_compared_by_their_data(capsys):
    ex = Exercise(
        id="99.2",
        title="double a tensor",
        reference=lambda t: FakeTensor(t.data * 2),
        cases=lambda: [Case((FakeTensor(np.arange(3.0)),))],
    )
    checks.register(ex)
    try:
        good = check("99.2", lambda t: FakeTensor(t.data + t.data))
        assert good is not ex.reference and "passed 1/1" in _verdict(capsys)
        assert check("99.2", lambda t: FakeTensor(t.data * 3)) is ex.reference
        assert "max abs error 2 at index (2,)" in _verdict(capsys)
    finally:
        checks._REGISTRY.pop("99.2")


def test_real_minigrad_tensors():
    from minigrad import Tensor

    assert compare_values(Tensor(np.ones(3)), np.ones(3)) is None
    assert "max abs error 1" in compare_values(Tensor(np.ones(3)), np.zeros(3))


def test_each_side_gets_fresh_arguments(capsys):
    def add_one_in_place(x):
        x += 1
        return x

    ex = checks.register(
        Exercise(
            id="99.3",
            title="in place",
            reference=add_one_in_place,
            cases=[Case((np.zeros(2),))],  # a list: deep-copied for each side
            compare_args=True,
        )
    )
    try:
        assert check("99.3", add_one_in_place) is add_one_in_place
        assert "passed 1/1" in _verdict(capsys)
        assert ex.cases[0].args[0].tolist() == [0.0, 0.0]

        def forgets_in_place(x):
            return x + 1

        assert check("99.3", forgets_in_place) is add_one_in_place
        assert "argument 0 after the call: max abs error 1 at index (0,)" in _verdict(capsys)
    finally:
        checks._REGISTRY.pop("99.3")


def test_checker_exercise_reports_learner_exceptions(capsys):
    def checker(fn):
        for n in (1, 2, 3):
            got = fn(n)
            yield f"fn({n})", None if got == n * n else f"got {got}"

    ex = checks.register(
        Exercise(id="99.4", title="custom", reference=lambda n: n * n, checker=checker)
    )
    try:
        assert check("99.4", lambda n: n**2) is not ex.reference
        assert "passed 3/3" in _verdict(capsys)
        assert check("99.4", lambda n: n * n if n < 3 else 0) is ex.reference
        assert "check 3, fn(3): got 0" in _verdict(capsys)

        def stub(n):
            raise NotImplementedError

        assert check("99.4", stub) is ex.reference
        assert "not done yet" in _verdict(capsys)
    finally:
        checks._REGISTRY.pop("99.4")


def test_unknown_exercise_and_bad_definitions():
    with pytest.raises(ExerciseError, match="unknown exercise id '98.7'"):
        check("98.7", print)
    with pytest.raises(ExerciseError, match="exactly one of cases= or checker="):
        Exercise(id="99.5", title="x", reference=abs)
    with pytest.raises(ExerciseError, match="reference must be callable"):
        Exercise(id="99.5", title="x", reference=3, cases=[(1,)])


@pytest.mark.parametrize(
    "got, expected, problem",
    [
        (1.0, 1.0 + 1e-9, None),
        ([1, 2], np.array([1.0, 2.0]), None),
        (np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), None),
        ((1, {"a": np.ones(2)}), (1, {"a": np.ones(2)}), None),
        (1.1, 1.0, "got 1.1, expected 1 (abs error 0.1)"),
        ((1, 2), (1, 2, 3), "got 2 values, expected 3"),
        ({"a": 1}, {"b": 1}, "keys are ['a'], expected ['b']"),
        (
            (1, np.zeros(2)),
            (1, np.ones(2)),
            "max abs error 1 in result[1] at index (0,) (got 0, expected 1; 2 of 2 entries differ)",
        ),
        ("x", 1.0, "got str, expected a number or array"),
        (np.zeros(3), np.zeros((3, 1)), "got shape (3,), expected shape (3, 1)"),
        (None, (1,), "got NoneType, expected a tuple"),
        (2, None, "got 2, expected None"),
    ],
)
def test_compare_values(got, expected, problem):
    assert compare_values(got, expected) == problem


def test_every_registered_reference_passes_its_own_checks(capsys):
    registered = checks.registered()
    assert "00.1" in registered
    for ex_id, ex in registered.items():
        assert check(ex_id, ex.reference) is ex.reference
        assert _verdict(capsys).startswith(f"✅ Exercise {ex_id} "), ex_id
