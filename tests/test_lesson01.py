"""Lesson 01 helpers: the scalar engine, its drawing, the explorers and the exercise checks."""

from __future__ import annotations

import math
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from minigrad.course import check  # noqa: E402
from minigrad.course import lesson01 as L  # noqa: E402
from minigrad.course.lesson01 import Value  # noqa: E402


@pytest.fixture(autouse=True)
def _restore_rules_and_close_figures():
    saved = dict(L.RULES)
    yield
    L.RULES.clear()
    L.RULES.update(saved)
    plt.close("all")


# --------------------------------------------------------------------------------------------
# Numerical derivatives


def test_difference_orders_and_best_steps():
    res = L.difference_errors()
    assert L.loglog_slope(res["h"], res["forward"], 1e-5, 1e-2) == pytest.approx(1.0, abs=0.1)
    assert L.loglog_slope(res["h"], res["central"], 1e-3, 1e-1) == pytest.approx(2.0, abs=0.1)
    assert 1e-10 <= res["h"][np.argmin(res["forward"])] <= 1e-6
    assert 1e-7 <= res["h"][np.argmin(res["central"])] <= 1e-3


def test_differences_on_a_polynomial():
    def f(x):
        return x**3

    assert L.forward_difference(f, 2.0, 1e-3) == pytest.approx(12.0 + 6e-3, rel=1e-6)
    assert L.central_difference(f, 2.0, 1e-3) == pytest.approx(12.0 + 1e-6, rel=1e-9)


def test_plot_difference_errors_draws_four_lines():
    fig = L.plot_difference_errors(L.difference_errors(hs=[1e-4, 1e-3, 1e-2]))
    assert len(fig.axes[0].lines) == 4


# --------------------------------------------------------------------------------------------
# The engine


def test_forward_values_of_every_operation():
    a, b = Value(2.0), Value(-0.5)
    assert (a + b).data == 1.5
    assert (a * b).data == -1.0
    assert (a - b).data == 2.5
    assert (a / b).data == -4.0
    assert (a**3).data == 8.0
    assert (3 - a).data == 1.0 and (1 / a).data == 0.5 and (2 + a).data == 4.0
    assert a.tanh().data == pytest.approx(math.tanh(2.0))
    assert b.exp().data == pytest.approx(math.exp(-0.5))
    assert a.log().data == pytest.approx(math.log(2.0))
    assert b.relu().data == 0.0 and a.relu().data == 2.0
    assert (-a).data == -2.0


def test_value_errors_name_the_problem():
    with pytest.raises(ValueError, match="log: needs a positive number"):
        Value(-1.0).log()
    with pytest.raises(TypeError, match="constant number"):
        Value(2.0) ** Value(2.0)
    with pytest.raises(TypeError, match="cannot combine a Value with a str"):
        Value(1.0) + "x"


def _all_ops(x, y):
    z = x * y + x.tanh() - y / (1.0 + x * x)
    return (z + (x - y) ** 2).exp().log() * y.relu() + (x * 0.3).exp()


def test_backward_matches_central_differences_on_every_rule():
    def build(x, y):
        return _all_ops(Value(x, label="x"), Value(y, label="y"))

    values = dict(x=0.7, y=1.3)
    root = build(**values)
    L.backward(root)
    leaves = {n.label: n for n in L.topo_order(root) if n.label in ("x", "y")}
    numeric = L.numeric_grads(build, values)
    for name in ("x", "y"):
        assert leaves[name].grad == pytest.approx(numeric[name], rel=1e-6)


def test_backward_accumulates_in_leaves_and_resets_intermediates():
    x = Value(0.4, label="x")
    h = x.tanh()
    y = h * h + x
    L.backward(y)
    first = x.grad
    L.backward(y)
    assert x.grad == pytest.approx(2 * first)
    assert h.grad == pytest.approx(2 * math.tanh(0.4))  # not doubled
    assert y.grad == 1.0


@pytest.mark.parametrize("name", list(L.EXPRESSIONS))
@pytest.mark.parametrize("x", [-1.3, 0.2, 2.0])
def test_every_expression_gradient_matches_the_numeric_one(name, x):
    res = L.evaluate(name, x)
    assert res["dfdx"] == pytest.approx(res["numeric"], rel=1e-6, abs=1e-8)
    assert res["grads"]["x"] == res["dfdx"]
    assert res["root"].data == res["f"]


def test_expression_formulas():
    assert L.evaluate("x·x + 3·x  (x used twice)", 1.5)["dfdx"] == pytest.approx(6.0)
    assert L.evaluate("log(1 + x·x)", 2.0)["dfdx"] == pytest.approx(4 / 5)
    neuron = L.evaluate("tanh(w1·x + w2·x2 + b)  (a neuron)", 2.0)
    assert neuron["f"] == pytest.approx(math.sqrt(0.5))
    assert neuron["grads"]["w1"] == pytest.approx(0.5 * 2.0)
    with pytest.raises(KeyError, match="unknown expression"):
        L.evaluate("sin(x)", 1.0)


def test_topological_orders_put_inputs_first():
    x = Value(0.3)
    a, b = x.tanh(), x.exp()
    root = (a * b + a) * x
    for order in (L.topo_order(root), L.topo_order_recursive(root)):
        where = {id(n): i for i, n in enumerate(order)}
        assert len(where) == len(order) == 6
        assert order[-1] is root
        for n in order:
            assert all(where[id(p)] < where[id(n)] for p in n._prev)


def test_recursive_sort_overflows_where_the_iterative_one_does_not():
    n = 2 * sys.getrecursionlimit()
    x, y = L.deep_chain(n)
    with pytest.raises(RecursionError):
        L.topo_order_recursive(y)
    order = L.topo_order(y)
    assert len(order) == n + 1 and order[0] is x and order[-1] is y


def test_recursion_demo_reports_both_outcomes():
    res = L.recursion_demo(n_iterative=20_000)
    assert res["recursive"] == "RecursionError"
    assert res["n_recursive"] == 3 * sys.getrecursionlimit()
    assert res["iterative_nodes"] == 20_001


def test_backward_through_a_deep_chain_is_the_product_of_local_derivatives():
    x, y = L.deep_chain(20_000, 0.9)
    L.backward(y)
    t, product = 0.9, 1.0
    for _ in range(20_000):
        t = math.tanh(t)
        product *= 1 - t * t
    assert x.grad == pytest.approx(product, rel=1e-9)


def test_gradient_descent_converges_with_a_small_step_and_reports_every_iterate():
    res = L.gradient_descent("x·x + 3·x  (x used twice)", 2.0, 0.1, 60)
    assert len(res["xs"]) == len(res["fs"]) == 61
    assert res["xs"][-1] == pytest.approx(-1.5, abs=1e-4)
    assert np.all(np.diff(res["fs"]) < 0)
    # x <- x - lr (2x + 3) contracts by 1 - 2 lr per step
    assert res["xs"][1] + 1.5 == pytest.approx((2.0 + 1.5) * 0.8)
    fig = L.plot_gradient_descent("x·x + 3·x  (x used twice)", res)
    assert len(fig.axes[0].lines) == 3


# --------------------------------------------------------------------------------------------
# Drawing


def test_layout_sends_every_edge_left_to_right_and_puts_leaves_before_their_use():
    res = L.evaluate("x / (1 + exp(−x))  (SiLU)", 0.5)
    nodes = L.topo_order(res["root"])
    pos = L.layered_layout(nodes, lambda n: n._prev)
    assert set(pos) == {id(n) for n in nodes}
    for n in nodes:
        for p in n._prev:
            assert pos[id(p)][0] < pos[id(n)][0]
    # the constant 1 in 1 + exp(-x) sits one layer before the + that uses it
    (one,) = [n for n in nodes if n.is_leaf and n.label == "1"]
    (plus,) = [n for n in nodes if n._op == "+"]
    assert pos[id(one)][0] == pos[id(plus)][0] - 1
    # no two nodes share a position
    assert len(set(pos.values())) == len(nodes)


def test_draw_graph_writes_each_node_and_operation():
    x = Value(1.0, label="x")
    f = x * x + 3.0 * x
    L.backward(f)
    fig = L.draw_graph(f, title="t")
    from matplotlib.text import Annotation

    arrows = [t for t in fig.axes[0].texts if isinstance(t, Annotation)]
    texts = [t.get_text() for t in fig.axes[0].texts if not isinstance(t, Annotation)]
    nodes = L.topo_order(f)
    ops = [n for n in nodes if n._prev]
    assert len(texts) == len(nodes) + len(ops)
    assert "x\ndata 1.0000\ngrad 5.0000" in texts
    assert texts.count("×") == 2 and texts.count("+") == 1
    # x * x: one arrow per use of x, plus one per other input of each operation
    assert len(arrows) == sum(len(n._prev) for n in ops)


def test_draw_graph_without_grads_and_refusing_huge_graphs():
    _, y = L.deep_chain(3)
    fig = L.draw_graph(y, show_grad=False)
    assert not any("grad" in t.get_text() for t in fig.axes[0].texts)
    _, y = L.deep_chain(100)
    with pytest.raises(ValueError, match="101 nodes"):
        L.draw_graph(y)


# --------------------------------------------------------------------------------------------
# Explorers


def test_graph_explorer_recomputes_on_each_control():
    ex = L.make_graph_explorer(x=2.0)
    assert set(ex.controls) == {"expression", "x"}
    assert ex.result["x"] == 2.0
    assert ex.result["f"] == pytest.approx(math.sqrt(0.5))
    ex.controls["x"].value = 1.0
    assert ex.result["x"] == 1.0
    assert ex.result["f"] == pytest.approx(math.tanh(-3.0 + 6.8813735870195432))
    ex.controls["expression"].value = "x·x + 3·x  (x used twice)"
    assert ex.result["dfdx"] == pytest.approx(2 * 1.0 + 3)
    assert ex.result["dfdx"] == pytest.approx(ex.result["numeric"], rel=1e-6)
    assert ex.output is not None and ex.widget.children[-1] is ex.output


def test_tangent_explorer_moves_the_tangent():
    ex = L.make_tangent_explorer(expression="exp(−x²/2)  (a bell)", x=0.0)
    assert ex.result["slope"] == pytest.approx(0.0, abs=1e-12)
    ex.controls["x"].value = 1.0
    res = ex.result
    assert res["slope"] == pytest.approx(-math.exp(-0.5))
    # the tangent touches the curve at x and has the engine's slope
    i = int(np.argmin(np.abs(res["xs"] - 1.0)))
    assert res["tangent"][i] == pytest.approx(res["fs"][i], abs=1e-9)
    assert np.allclose(np.diff(res["tangent"]) / np.diff(res["xs"]), res["slope"])
    ex.controls["expression"].value = "log(1 + x·x)"
    assert ex.result["slope"] == pytest.approx(1.0)


def test_explorer_with_a_button_waits_for_the_click():
    import ipywidgets as widgets

    calls = []
    ex = L.Explorer({"k": widgets.IntSlider(value=1)}, lambda k: calls.append(k) or k,
                    button="Run")
    ex.controls["k"].value = 5
    assert ex.result == 1 and calls == [1]
    ex.button.click()
    assert ex.result == 5 and calls == [1, 5]


# --------------------------------------------------------------------------------------------
# Exercise checks


def _verdict(capsys):
    return capsys.readouterr().out.strip()


@pytest.mark.parametrize(
    "ex_id, fn",
    [("01.1", L.mul_backward), ("01.2", L.tanh_backward), ("01.3", L.topo_order),
     ("01.4", L.backward)],
)
def test_references_pass_their_checks(ex_id, fn, capsys):
    assert check(ex_id, fn) is fn
    assert _verdict(capsys).startswith(f"✅ Exercise {ex_id}")


def test_mul_backward_that_overwrites_is_told_to_accumulate(capsys):
    def mul_backward(out):
        a, b = out._prev
        a.grad = b.data * out.grad
        b.grad = a.data * out.grad

    assert check("01.1", mul_backward) is L.mul_backward
    line = _verdict(capsys)
    assert "check 3" in line and "(+=)" in line


def test_mul_backward_without_the_upstream_gradient_is_told_about_the_chain_rule(capsys):
    def mul_backward(out):
        a, b = out._prev
        a.grad += b.data
        b.grad += a.data

    check("01.1", mul_backward)
    line = _verdict(capsys)
    assert "check 2" in line and "a.grad is 4, expected -10" in line and "chain rule" in line


def test_tanh_backward_using_the_input_instead_of_the_output_fails(capsys):
    def tanh_backward(out):
        (a,) = out._prev
        a.grad += (1 - a.data**2) * out.grad

    assert check("01.2", tanh_backward) is L.tanh_backward
    assert "a.grad is 0.75, expected 0.786448" in _verdict(capsys)


def test_recursive_topo_order_fails_on_the_deep_chain(capsys):
    assert check("01.3", L.topo_order_recursive) is L.topo_order
    line = _verdict(capsys)
    assert "check 5" in line and "RecursionError" in line


def test_topo_order_with_duplicates_or_wrong_order_fails(capsys):
    def no_seen_set(root):
        order, stack = [], [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            else:
                stack.append((node, True))
                stack.extend((p, False) for p in node._prev)
        return order

    check("01.3", no_seen_set)
    assert "appear more than once" in _verdict(capsys)

    def reversed_order(root):
        return L.topo_order(root)[::-1]

    check("01.3", reversed_order)
    assert "comes before its input" in _verdict(capsys)

    def only_root(root):
        return [root]

    check("01.3", only_root)
    assert "are reachable from the root" in _verdict(capsys)


def test_backward_without_reset_or_seed_fails_with_a_pointed_message(capsys):
    def no_reset(root):
        root.grad = 1.0
        for node in reversed(L.topo_order(root)):
            node._backward()

    assert check("01.4", no_reset) is L.backward
    assert "reset every non-leaf node's grad to 0" in _verdict(capsys)

    def no_seed(root):
        for node in reversed(L.topo_order(root)):
            node._backward()

    check("01.4", no_seed)
    assert "seed it with 1.0" in _verdict(capsys)


def test_stubs_are_not_done(capsys):
    def stub(*args):
        raise NotImplementedError()

    for ex_id in ("01.1", "01.2", "01.3", "01.4"):
        check(ex_id, stub)
        assert "not done yet" in _verdict(capsys)
