"""Exercise checks for the course notebooks.

Every exercise in a lesson is a function the learner completes. Right after it, a check cell
runs the learner's function against the reference implementation and rebinds the name::

    adam_step = check("03.1", adam_step)

``check`` prints one verdict line and returns the function the rest of the notebook should use:

* ``✅ Exercise 03.1 (Adam step): passed 5/5 checks.`` -> the learner's function;
* ``❌ Exercise 03.1 (Adam step): check 2/5 failed ...  Hint: ...`` -> the reference;
* ``❌ Exercise 03.1 (Adam step): check 1/5 raised ValueError: ...`` -> the reference;
* ``⏭ Exercise 03.1 (Adam step): not done yet (NotImplementedError), continuing with the
  reference implementation.`` -> the reference.

So a course notebook whose exercises are still stubs runs top to bottom on the references.

Lesson packages (``minigrad/course/lessonNN/``) register their exercises at import time::

    register(Exercise(
        id="03.1", title="Adam step", reference=adam_step_reference,
        cases=lambda: [Case((p, g, m, v, 1)) for p, g, m, v in ...],
        hint="m and v are exponential moving averages; correct their bias by 1 - beta**t.",
    ))

``check("03.1", ...)`` imports ``minigrad.course.lesson03`` on first use, so notebooks only
import ``check``.

How a case is judged: the learner's function and the reference are each called on their own
copy of the case's arguments (``cases`` is called once for each when it is a function, so it
can build fresh tensors; a list is deep-copied). Their results are compared with
:func:`compare_values` (``numpy.allclose`` with ``rtol``/``atol``, recursing through tuples,
lists and dicts, looking through minigrad Tensors and CuPy arrays) or with the exercise's own
``compare(got, expected) -> None | str``. With ``compare_args=True`` the arguments after the
call are compared too, for functions that update their inputs in place. An exercise that needs
a different kind of test gives ``checker(fn)``: a generator of ``(label, problem_or_None)``, one
per check.
"""

from __future__ import annotations

import copy
import importlib
import numbers
import pkgutil
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "Case",
    "Exercise",
    "ExerciseError",
    "check",
    "compare_values",
    "get_exercise",
    "register",
    "registered",
    "results",
    "summary",
]

PASSED, FAILED, ERROR, NOT_DONE = "passed", "failed", "error", "not done"


class ExerciseError(LookupError):
    """An exercise id that no lesson module registers, or a registration that clashes."""


@dataclass
class Case:
    """One call of the exercise function: ``fn(*args, **kwargs)``.

    ``label`` is how the verdict names the case; by default the arguments, shortened.
    """

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    label: str | None = None

    def describe(self, fn_name: str = "f") -> str:
        """The label, or the call written out with shortened arguments: ``square(-2.5)``."""
        if self.label is not None:
            return self.label
        parts = [_short_repr(a) for a in self.args]
        parts += [f"{k}={_short_repr(v)}" for k, v in self.kwargs.items()]
        return f"{fn_name}(" + ", ".join(parts) + ")"


@dataclass
class Exercise:
    """An exercise: its reference solution and how to test a learner's attempt.

    Give either ``cases`` (compared against ``reference``) or ``checker``.

    Attributes:
        id: ``"LL.N"``, the lesson number and the exercise number in it, e.g. ``"03.1"``.
        title: a few words shown in the verdict, e.g. ``"Adam step"``.
        reference: the reference implementation (what the notebook falls back to).
        cases: a list of :class:`Case` (or ``(args, kwargs)`` / ``args`` tuples), or a function
            with no arguments returning one; a function is called afresh for the learner and
            for the reference, so seed any randomness inside it.
        compare: ``compare(got, expected) -> None`` when they agree, else a short description
            of the difference. Default: :func:`compare_values` with ``rtol`` and ``atol``.
        compare_args: also compare the arguments after the call (in-place updates).
        checker: ``checker(fn)`` yields ``(label, problem)`` per check, ``problem`` None when
            that check passed; used instead of ``cases``. An exception raised by ``fn`` inside
            it is reported as the learner's; one raised by the checker itself propagates.
        hint: one or two sentences printed when the attempt is wrong.
    """

    id: str
    title: str
    reference: Callable
    cases: Sequence | Callable[[], Iterable] | None = None
    compare: Callable[[Any, Any], str | None] | None = None
    compare_args: bool = False
    checker: Callable[[Callable], Iterable[tuple[str, str | None]]] | None = None
    hint: str = ""
    rtol: float = 1e-5
    atol: float = 1e-7

    def __post_init__(self):
        if (self.cases is None) == (self.checker is None):
            raise ExerciseError(
                f"Exercise {self.id!r}: give exactly one of cases= or checker= "
                f"(got cases={self.cases!r}, checker={self.checker!r})"
            )
        if not callable(self.reference):
            raise ExerciseError(
                f"Exercise {self.id!r}: reference must be callable, got {type(self.reference)}"
            )

    @property
    def name(self) -> str:
        return f"Exercise {self.id} ({self.title})"

    def make_cases(self) -> list[Case]:
        raw = self.cases() if callable(self.cases) else copy.deepcopy(list(self.cases))
        return [_as_case(c) for c in raw]

    def run_checks(self, fn: Callable) -> Iterator[tuple[str, str | None]]:
        """Yield ``(label, problem_or_None)`` for each check of ``fn``. Exceptions propagate."""
        if self.checker is not None:
            yield from self.checker(_guarded(fn))
            return
        mine, theirs = self.make_cases(), self.make_cases()
        if len(mine) != len(theirs):  # pragma: no cover - a non-deterministic cases function
            raise ExerciseError(f"{self.name}: cases() gave different lists on two calls")
        compare = self.compare or (lambda g, e: compare_values(g, e, self.rtol, self.atol))
        name = getattr(fn, "__name__", "f")
        for case, ref_case in zip(mine, theirs):
            label = case.describe(name)
            expected = self.reference(*ref_case.args, **ref_case.kwargs)
            got = _call_learner(fn, case, label)
            problem = compare(got, expected)
            if problem is None and self.compare_args:
                for i, (a, b) in enumerate(zip(case.args, ref_case.args)):
                    problem = compare(a, b)
                    if problem is not None:
                        problem = f"argument {i} after the call: {problem}"
                        break
            yield label, problem


class _LearnerError(Exception):
    """Wraps an exception raised inside the learner's function (not in the reference)."""

    def __init__(self, exc: BaseException, label: str | None = None):
        super().__init__(str(exc))
        self.exc = exc
        self.label = label


def _call_learner(fn, case, label):
    try:
        return fn(*case.args, **case.kwargs)
    except Exception as exc:
        raise _LearnerError(exc, label) from exc


def _guarded(fn):
    """``fn`` with its exceptions wrapped in :class:`_LearnerError` (for checkers)."""

    def guarded(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise _LearnerError(exc) from exc

    guarded.__name__ = getattr(fn, "__name__", "guarded")
    guarded.__wrapped__ = fn
    return guarded


# --------------------------------------------------------------------------------------------
# Registry

_REGISTRY: dict[str, Exercise] = {}
_RESULTS: dict[str, str] = {}


def register(exercise: Exercise) -> Exercise:
    """Add ``exercise`` to the registry (re-registering the same id replaces it)."""
    _REGISTRY[exercise.id] = exercise
    return exercise


def registered() -> dict[str, Exercise]:
    """All exercises registered so far, by id (after importing every lesson module)."""
    _import_lessons()
    return dict(sorted(_REGISTRY.items()))


def _import_lessons(prefix: str | None = None) -> None:
    here = str(Path(__file__).resolve().parent)  # this package's folder: no import of it
    names = [m.name for m in pkgutil.iter_modules([here]) if m.name.startswith("lesson")]
    if prefix is not None:
        names = [n for n in names if n == f"lesson{prefix}"]
    for name in names:
        importlib.import_module(f"minigrad.course.{name}")


def get_exercise(exercise_id: str) -> Exercise:
    """The registered exercise ``exercise_id``, importing its lesson module if needed."""
    if exercise_id not in _REGISTRY:
        _import_lessons(str(exercise_id).split(".")[0])
    if exercise_id not in _REGISTRY:
        _import_lessons()
    if exercise_id not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise ExerciseError(
            f"unknown exercise id {exercise_id!r} (registered: {known}); exercises live in "
            "minigrad/course/lessonNN/"
        )
    return _REGISTRY[exercise_id]


# --------------------------------------------------------------------------------------------
# The check


def check(exercise_id: str, fn: Callable | None) -> Callable:
    """Check the learner's ``fn`` for exercise ``exercise_id``; print one verdict line.

    Returns ``fn`` when every check passed, otherwise the reference implementation, so the
    notebook can go on either way: ``my_fn = check("03.1", my_fn)``.
    """
    ex = get_exercise(exercise_id)
    fallback = "Continuing with the reference implementation."
    hint = f" Hint: {ex.hint}" if ex.hint else ""
    if not callable(fn):
        _RESULTS[ex.id] = ERROR
        print(f"❌ {ex.name}: expected a function, got {type(fn).__name__}. {fallback}")
        return ex.reference
    n = 0
    try:
        for n, (label, problem) in enumerate(ex.run_checks(fn), start=1):
            if problem is not None:
                _RESULTS[ex.id] = FAILED
                print(f"❌ {ex.name}: check {n}, {label}: {problem}.{hint} {fallback}")
                return ex.reference
    except _LearnerError as err:
        return _report_exception(ex, err.exc, n + 1, err.label, hint, fallback)
    if n == 0:
        raise ExerciseError(f"{ex.name} has no checks: its cases/checker produced nothing")
    _RESULTS[ex.id] = PASSED
    print(f"✅ {ex.name}: passed {n}/{n} checks.")
    return fn


def _report_exception(ex, exc, n, label, hint, fallback):
    if isinstance(exc, NotImplementedError):
        _RESULTS[ex.id] = NOT_DONE
        print(
            f"⏭ {ex.name}: not done yet (NotImplementedError), continuing with the reference "
            "implementation."
        )
        return ex.reference
    _RESULTS[ex.id] = ERROR
    where = _where(exc)
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    print(
        f"❌ {ex.name}: check {n}{', ' + label if label else ''} raised {type(exc).__name__}"
        f"{': ' + msg if msg else ''}{where}.{hint} {fallback}"
    )
    return ex.reference


def _where(exc: BaseException) -> str:
    """`` (in adam_step, line 3: `m = ...`)`` for the innermost frame, or ''."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    f = frames[-1]
    code = f": `{f.line.strip()}`" if f.line else ""
    return f" (in {f.name}, line {f.lineno}{code})"


def results() -> dict[str, str]:
    """Verdicts so far in this session: exercise id -> passed / failed / error / not done."""
    return dict(sorted(_RESULTS.items()))


def summary() -> None:
    """Print one line per exercise checked in this session."""
    icons = {PASSED: "✅", FAILED: "❌", ERROR: "❌", NOT_DONE: "⏭"}
    if not _RESULTS:
        print("No exercise checked yet.")
    for ex_id, verdict in results().items():
        print(f"{icons[verdict]} Exercise {ex_id} ({_REGISTRY[ex_id].title}): {verdict}")


# --------------------------------------------------------------------------------------------
# Comparing values


def _as_case(c) -> Case:
    if isinstance(c, Case):
        return c
    if isinstance(c, tuple) and len(c) == 2 and isinstance(c[0], tuple) and isinstance(c[1], dict):
        return Case(c[0], c[1])
    if isinstance(c, tuple):
        return Case(c)
    raise ExerciseError(f"a case must be a Case, (args, kwargs) or an args tuple, got {c!r}")


def _to_numpy(x):
    """NumPy view of ``x``: looks through minigrad Tensors (``.data``) and CuPy arrays."""
    if isinstance(x, (np.ndarray, np.generic, numbers.Number)):
        return x
    if type(x).__module__.startswith("cupy"):
        return x.get()
    data = getattr(x, "data", None)
    if data is not None and not isinstance(data, memoryview):
        return _to_numpy(data)
    return x


def _short_repr(x, limit: int = 60) -> str:
    x = _to_numpy(x)
    if isinstance(x, np.ndarray):
        s = np.array2string(x, precision=4, threshold=8, edgeitems=2, separator=", ")
        s = " ".join(s.split())
        s = f"array{s} of shape {x.shape}" if x.ndim > 1 or x.size > 8 else s
    else:
        s = repr(x)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def compare_values(
    got, expected, rtol: float = 1e-5, atol: float = 1e-7, path: str = ""
) -> str | None:
    """``None`` when ``got`` matches ``expected``, else a short description of the difference.

    Arrays, scalars and Tensors are compared with ``numpy.allclose(rtol, atol)`` after their
    shapes are checked; tuples, lists and dicts element by element; anything else with ``==``.
    """
    where = f" in {path}" if path else ""
    got, expected = _to_numpy(got), _to_numpy(expected)
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"got {type(got).__name__}{where}, expected a dict"
        if set(got) != set(expected):
            return f"keys{where} are {sorted(got, key=str)}, expected {sorted(expected, key=str)}"
        for k in expected:
            p = compare_values(got[k], expected[k], rtol, atol, f"{path or 'result'}[{k!r}]")
            if p:
                return p
        return None
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return f"got {type(got).__name__}{where}, expected a {type(expected).__name__}"
        if len(got) != len(expected):
            return f"got {len(got)} values{where}, expected {len(expected)}"
        for i, (g, e) in enumerate(zip(got, expected)):
            p = compare_values(g, e, rtol, atol, f"{path or 'result'}[{i}]")
            if p:
                return p
        return None
    if expected is None or isinstance(expected, (str, bool)):
        return None if got == expected else f"got {got!r}{where}, expected {expected!r}"
    if _is_numeric(expected):
        if isinstance(got, (tuple, list)):
            try:
                got = np.asarray(got, dtype=np.float64)
            except (TypeError, ValueError):
                pass
        if not _is_numeric(got):
            return f"got {type(got).__name__}{where}, expected a number or array"
        g, e = np.asarray(got), np.asarray(expected)
        if g.shape != e.shape:
            return f"got shape {g.shape}{where}, expected shape {e.shape}"
        if g.size == 0:
            return None
        close = np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
        if not close.all():
            return _describe_mismatch(g, e, close, where)
        return None
    return None if got == expected else f"got {got!r}{where}, expected {expected!r}"


def _is_numeric(x) -> bool:
    if isinstance(x, (bool, np.bool_)):
        return True
    if isinstance(x, (numbers.Number, np.generic)):
        return True
    return isinstance(x, np.ndarray) and x.dtype.kind in "biufc"


def _describe_mismatch(g, e, close, where):
    kind = np.complex128 if "c" in g.dtype.kind + e.dtype.kind else np.float64
    err = np.abs(g.astype(kind) - e.astype(kind))
    err = np.where(close, 0.0, np.where(np.isnan(err), np.inf, err))
    if g.ndim == 0:
        return f"got {g.item():.6g}{where}, expected {e.item():.6g} (abs error {err.item():.3g})"
    idx = np.unravel_index(int(np.argmax(err)), err.shape)
    bad = int(close.size - close.sum())
    return (
        f"max abs error {err[idx]:.3g}{where} at index {tuple(int(i) for i in idx)} "
        f"(got {g[idx]:.6g}, expected {e[idx]:.6g}; {bad} of {e.size} entries differ)"
    )
