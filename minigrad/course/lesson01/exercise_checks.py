"""Section 6: the checks of exercises 01.1-01.5, with the graphs each is checked on."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable

from minigrad.course.checks import Exercise, register

from .explorers import _neuron
from .value import (
    Value,
    backward,
    deep_chain,
    mul_backward,
    numeric_grads,
    tanh_backward,
    topo_order,
)


def _fmt(v):
    return f"{v:.6g}"


def _rule_checker(op: str, reference: Callable, graphs: Callable):
    """A checker for a backward rule: run it on fresh nodes, compare the inputs' grads.

    ``graphs()`` lists ``(label, build, note)``: ``build()`` returns a fresh output node with
    its ``grad`` set; ``note`` is added to the verdict when that case fails.
    """

    def checker(fn):
        for label, build, note in graphs():
            mine, ref = build(), build()
            for out, rule in ((mine, fn), (ref, reference)):
                if out._op != op:  # pragma: no cover - a bug in the graphs list
                    raise AssertionError(f"check graph {label} does not end in {op}")
                rule(out)
            problem = None
            for i, (a, b) in enumerate(zip(mine._prev, ref._prev)):
                if not math.isclose(a.grad, b.grad, rel_tol=1e-9, abs_tol=1e-12):
                    name = a.label or f"input {i}"
                    problem = f"{name}.grad is {_fmt(a.grad)}, expected {_fmt(b.grad)}{note}"
                    break
            if problem is None and mine.grad != ref.grad:
                problem = f"out.grad changed to {_fmt(mine.grad)}; a rule only updates inputs"
            yield label, problem

    return checker


def _mul_graphs():
    def simple():
        a, b = Value(2.0, label="a"), Value(-3.0, label="b")
        out = a * b
        out.grad = 1.0
        return out

    def upstream():
        a, b = Value(0.5, label="a"), Value(4.0, label="b")
        out = a * b
        out.grad = -2.5
        return out

    def accumulate():
        a, b = Value(1.5, label="a"), Value(-2.0, label="b")
        a.grad, b.grad = 0.25, 1.0  # a and b are also used elsewhere in the graph
        out = a * b
        out.grad = 3.0
        return out

    def square():
        x = Value(-1.5, label="x")
        out = x * x
        out.grad = 2.0
        return out

    return [
        ("a*b with out.grad = 1", simple, ""),
        ("a*b with out.grad = -2.5", upstream, " (chain rule: multiply by out.grad)"),
        ("a*b where a.grad, b.grad already hold 0.25, 1.0", accumulate, _ACCUMULATE),
        ("x*x (the same input twice)", square, _ACCUMULATE),
    ]


def _tanh_graphs():
    def make(v, g, pre=0.0):
        def build():
            a = Value(v, label="a")
            a.grad = pre
            out = a.tanh()
            out.grad = g
            return out

        return build

    return [
        ("tanh(0.5) with out.grad = 1", make(0.5, 1.0), ""),
        ("tanh(-2) with out.grad = 0.3", make(-2.0, 0.3), " (chain rule: multiply by out.grad)"),
        ("tanh(1) where a.grad already holds 0.7", make(1.0, -1.2, 0.7), _ACCUMULATE),
    ]


_ACCUMULATE = (
    ". Add to the input's grad (+=) instead of overwriting it: an input used twice, or "
    "elsewhere in the graph, receives one contribution per use"
)


register(
    Exercise(
        id="01.1",
        title="the backward of multiplication",
        reference=mul_backward,
        checker=_rule_checker("*", mul_backward, _mul_graphs),
        hint=(
            "The chain rule: each input's grad grows by the local derivative of the product "
            "with respect to that input (the value of the OTHER factor) times the output's "
            "grad. Add to it, never overwrite it: an input used twice must receive both "
            "contributions. Still stuck: the collapsed 'Hint 2' below the exercise."
        ),
    )
)

register(
    Exercise(
        id="01.2",
        title="the backward of tanh",
        reference=tanh_backward,
        checker=_rule_checker("tanh", tanh_backward, _tanh_graphs),
        hint=(
            "The derivative of tanh can be written with tanh itself, and the forward pass "
            "already computed tanh(a) and kept it in the output node. Multiply that local "
            "derivative by the output's grad and add it to the input's. Still stuck: the "
            "collapsed 'Hint 2' below the exercise."
        ),
    )
)


def _topo_graphs():
    def leaf():
        return Value(1.0, label="x")

    def neuron():
        return _neuron(Value(2.0, label="x1"))

    def diamond():
        x = Value(0.3, label="x")
        a = x.tanh()
        b = x.exp()
        return (a * b + a) * x

    def wide():
        xs = [Value(0.1 * i, label=f"x{i}") for i in range(30)]
        total = xs[0]
        for v in xs[1:]:
            total = total + v * xs[0]
        return total

    def deep():
        return deep_chain(3 * sys.getrecursionlimit())[1]

    return [
        ("a single leaf", leaf),
        ("the neuron tanh(w1*x1 + w2*x2 + b)", neuron),
        ("x feeding three paths (a diamond)", diamond),
        ("a wide sum that reuses x0 29 times", wide),
        (f"a chain {3 * sys.getrecursionlimit()} deep (deeper than the recursion limit)", deep),
    ]


def _check_order(order, root) -> str | None:
    try:
        order = list(order)
    except TypeError:
        return f"returned a {type(order).__name__}, expected a list of Values"
    expected = topo_order(root)
    ids = [id(n) for n in order]
    if any(not isinstance(n, Value) for n in order):
        return "the list holds something that is not a Value"
    if len(set(ids)) != len(ids):
        return f"some nodes appear more than once ({len(ids)} entries, {len(set(ids))} distinct)"
    if set(ids) != {id(n) for n in expected}:
        return (
            f"returned {len(ids)} nodes but {len(expected)} are reachable from the root "
            "(every node must appear exactly once)"
        )
    where = {i: k for k, i in enumerate(ids)}
    for n in order:
        for p in n._prev:
            if where[id(p)] > where[id(n)]:
                name = n.label or n._op
                return f"node {name!r} comes before its input {p.label or p._op!r}"
    return None


def _topo_checker(fn):
    for label, build in _topo_graphs():
        root = build()
        yield label, _check_order(fn(root), root)


register(
    Exercise(
        id="01.3",
        title="topological order, iteratively",
        reference=topo_order,
        checker=_topo_checker,
        hint=(
            "Your own list replaces the recursion's call stack, and each node is met twice: "
            "once on the way down, to schedule its inputs, and once on the way back up, when "
            "all of its inputs are in the order and it may follow them. Remember the nodes "
            "already scheduled (a set) so that a shared input is visited once. No recursion: "
            "the chain check is deeper than Python's recursion limit. Still stuck: the "
            "collapsed 'Hint 2' below the exercise."
        ),
    )
)


def _backward_graphs():
    def neuron(x1, x2, w1, w2, b):
        n = Value(x1, label="x1") * Value(w1, label="w1") + Value(x2, label="x2") * Value(
            w2, label="w2") + Value(b, label="b")
        return n.tanh()

    def shared(x):
        x = Value(x, label="x")
        a = x.tanh()
        return a * x + a * a + x.exp() / (1.0 + x * x)

    def chain(x):
        return deep_chain(2000, x)[1]

    return [
        ("the neuron", neuron, dict(x1=2.0, x2=0.0, w1=-3.0, w2=1.0, b=6.8813735870195432)),
        ("tanh(x)*x + tanh(x)**2 + exp(x)/(1+x*x) (x and tanh(x) used several times)", shared,
         dict(x=0.7)),
        ("a chain of 2000 tanh", chain, dict(x=0.9)),
    ]


def _leaves(root):
    return {n.label: n for n in topo_order(root) if n.is_leaf and n.label in _LEAF_NAMES}


_LEAF_NAMES = {"x", "x1", "x2", "w1", "w2", "b"}


def _backward_checker(fn):
    for label, build, values in _backward_graphs():
        expected = numeric_grads(build, values)
        root = build(**values)
        fn(root)
        leaves = _leaves(root)
        problem = None
        for name, want in expected.items():
            got = leaves[name].grad
            if not math.isclose(got, want, rel_tol=1e-5, abs_tol=1e-7):
                problem = (
                    f"d root/d {name} is {_fmt(got)}, expected {_fmt(want)} (central difference)"
                )
                if root.grad != 1.0:
                    problem += f"; root.grad is {_fmt(root.grad)}: seed it with 1.0"
                break
        if problem is None and label == "the neuron":
            first = {k: v.grad for k, v in leaves.items()}
            fn(root)
            for name, g in first.items():
                if not math.isclose(leaves[name].grad, 2 * g, rel_tol=1e-9, abs_tol=1e-12):
                    problem = (
                        f"after a second backward(root), {name}.grad is "
                        f"{_fmt(leaves[name].grad)}, expected twice the first, {_fmt(2 * g)}: "
                        "leaves accumulate, but reset every non-leaf node's grad to 0 before "
                        "each pass"
                    )
                    break
            label += ", then backward a second time"
        yield label, problem


register(
    Exercise(
        id="01.4",
        title="the backward pass",
        reference=backward,
        checker=_backward_checker,
        hint=(
            "The root's grad starts at 1 (dL/dL), every other node with inputs at 0, and the "
            "leaves keep what they hold (they accumulate). Then each node's rule must run only "
            "after every node that uses it has added its contribution: that is the "
            "topological order, walked backwards. Still stuck: the collapsed 'Hint 2' below "
            "the exercise."
        ),
    )
)
