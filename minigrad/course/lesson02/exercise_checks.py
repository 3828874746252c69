"""Section 6: the checks of the exercises."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import minigrad as mg
from minigrad.course import checks
from minigrad.course.checks import Case, Exercise, register
from minigrad.tensor import Tensor
from minigrad.testing import GradcheckError, gradcheck, gradgradcheck

from .backward_functions import (
    div_backward,
    my_div,
    my_sigmoid,
    my_sum,
    sigmoid_backward,
    sum_backward,
)
from .graphs_and_broadcasting import sum_to_array


def _sum_to_cases():
    rng = np.random.default_rng(0)
    pairs = [((2, 3), (3,)), ((2, 3), (1, 3)), ((2, 3), (2, 1)), ((4, 2, 3), (2, 1)),
             ((4, 2, 3), (4, 1, 3)), ((4, 2, 3), (1, 1)), ((5,), ()), ((2, 3), (2, 3)),
             ((3, 1, 4), (1, 4))]
    return [
        Case((rng.standard_normal(g), s), label=f"sum_to_array(g of shape {g}, {s})")
        for g, s in pairs
    ]


register(
    Exercise(
        id="02.1",
        title="sum_to: undoing broadcasting",
        reference=sum_to_array,
        cases=_sum_to_cases,
        rtol=1e-10,
        atol=1e-12,
        hint=(
            "A value broadcast to g's shape was used once per copy, so its gradient adds up "
            "the copies: the axes broadcasting prepended, and the axes where shape has a 1 "
            "(keeping them). The result must have exactly `shape`. Code: the notebook's "
            "Hint 2."
        ),
    )
)


class _NotATensor(Exception):
    """The learner's backward returned something that is not a Tensor (or None)."""


def _guard_backward(fn):
    """Wrap a learner's backward so a wrong return type is reported, not crashed on."""

    def backward(ctx, grad):
        out = fn(ctx, grad)
        for g in out if isinstance(out, tuple) else (out,):
            if g is not None and not isinstance(g, Tensor):
                raise _NotATensor(
                    f"backward returned a {type(g).__name__}; return Tensors built with Tensor "
                    "ops (grad * b, mg.sum_to(...)), not NumPy arrays, so the engine can "
                    "differentiate through them"
                )
        return out

    return backward


def _gradcheck_checker(make_class: Callable, cases: Callable, second_order: set):
    """Checker: gradcheck ``make_class(learner_backward)`` on each case (float64).

    ``cases()`` yields ``(label, apply, arrays)``: ``apply(cls, *tensors)`` runs the op.
    Cases whose label is in ``second_order`` are also gradgradchecked.
    """

    def checker(fn):
        cls = make_class(_guard_backward(fn))
        for label, apply, arrays in cases():
            inputs = [mg.tensor(a, dtype="float64", requires_grad=True) for a in arrays]

            def f(*xs, apply=apply):
                return apply(cls, *xs)

            problem = None
            try:
                gradcheck(f, inputs)
                if label in second_order:
                    problem = _detached_gradient(f, inputs)
                    if problem is None:
                        gradgradcheck(f, inputs)
            except checks._LearnerError:
                raise
            except GradcheckError as err:
                problem = str(err).replace("gradcheck: ", "")
                if label in second_order:
                    problem = "the second derivatives disagree: " + problem
            except _NotATensor as err:
                problem = str(err)
            except Exception as err:  # the engine refused what backward returned
                first = str(err).strip().splitlines()[0] if str(err).strip() else ""
                problem = f"{type(err).__name__}: {first}"
            yield label, problem

    return checker


def _detached_gradient(f: Callable, inputs: list) -> str | None:
    """A problem when the gradients of ``f`` come back cut from the graph under create_graph.

    (``gradgradcheck`` alone does not notice: it treats a disconnected first derivative as a
    constant.)
    """
    out = f(*inputs)
    # The upstream gradient itself requires grad, so even a linear op's gradient (which does
    # not depend on the inputs) must come back connected to it.
    v = mg.tensor(np.random.default_rng(5).standard_normal(out.shape), dtype=out.dtype,
                  requires_grad=True)
    grads = mg.grad([out], inputs, grad_outputs=[v], create_graph=True, allow_unused=True)
    for k, g in enumerate(grads):
        if g is not None and not g.requires_grad:
            return (
                f"with create_graph=True the gradient of input {k} is not "
                "connected to the graph; compute it with Tensor ops on ctx.inputs/ctx.output "
                "and grad, never through .data or new tensors"
            )
    return None


_TWICE = "{}, differentiated twice (create_graph=True)"


def _div_cases():
    rng = np.random.default_rng(2)

    def div(cls, a, b):
        return cls.apply(a, b)

    shapes = [((3,), (3,)), ((2, 3), (3,)), ((2, 3), (2, 1)), ((), (2, 2)), ((4, 1, 3), (2, 1))]
    out = []
    for sa, sb in shapes:
        a = rng.uniform(-2, 2, sa)
        b = rng.uniform(0.5, 2, sb) * rng.choice([-1, 1], sb)
        out.append((f"a{sa} / b{sb}", div, (a, b)))
    out.append((_TWICE.format("a(2, 3) / b(3,)"), div,
                (rng.uniform(-2, 2, (2, 3)), rng.uniform(0.5, 2, (3,)))))
    return out


def _sigmoid_cases():
    rng = np.random.default_rng(3)

    def sig(cls, x):
        return cls.apply(x)

    return [
        ("sigmoid of x(5,)", sig, (rng.uniform(-4, 4, 5),)),
        ("sigmoid of x(2, 3)", sig, (rng.uniform(-4, 4, (2, 3)),)),
        (_TWICE.format("sigmoid of x(4,)"), sig, (rng.uniform(-3, 3, 4),)),
    ]


def _sum_cases():
    rng = np.random.default_rng(4)

    def summer(axis, keepdims):
        def run(cls, x):
            return cls.apply(x, axis=axis, keepdims=keepdims)

        return run

    specs = [(None, False), (0, False), (1, True), ((0, 2), False), (-1, False), (None, True)]
    out = [
        (f"x(2, 3, 4).sum(axis={axis}, keepdims={kd})", summer(axis, kd),
         (rng.standard_normal((2, 3, 4)),))
        for axis, kd in specs
    ]
    out.append((_TWICE.format("x(3, 2).sum(axis=0)"), summer(0, False),
                (rng.standard_normal((3, 2)),)))
    return out


register(
    Exercise(
        id="02.2",
        title="the backward of division, with broadcasting",
        reference=div_backward,
        checker=_gradcheck_checker(my_div, _div_cases,
                                   {_TWICE.format("a(2, 3) / b(3,)")}),
        hint=(
            "Chain rule per input: the upstream gradient times the local derivative (1/b for "
            "a, -a/b^2 for b), computed at the output's shape with Tensor operations, then "
            "summed back to each input's own shape. Code: the notebook's Hint 2."
        ),
    )
)

register(
    Exercise(
        id="02.3",
        title="the backward of sigmoid",
        reference=sigmoid_backward,
        checker=_gradcheck_checker(my_sigmoid, _sigmoid_cases,
                                   {_TWICE.format("sigmoid of x(4,)")}),
        hint=(
            "The forward saved its output y, not its input, and sigmoid's derivative can be "
            "written with y alone: y (1 - y). Multiply the upstream gradient by it. Code: the "
            "notebook's Hint 2."
        ),
    )
)

register(
    Exercise(
        id="02.4",
        title="the backward of sum",
        reference=sum_backward,
        checker=_gradcheck_checker(my_sum, _sum_cases,
                                   {_TWICE.format("x(3, 2).sum(axis=0)")}),
        hint=(
            "Every input entry went into one output entry with weight 1, so it receives that "
            "entry's gradient: broadcast grad back to the input's shape. Without keepdims the "
            "summed axes are missing from grad: put them back as size 1 first. Code: the "
            "notebook's Hint 2."
        ),
    )
)
