"""Lesson 02 helpers: graph walking and drawing, sum_to, the backward references, the
finite-difference study, the explorers and the exercise checks."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad.course import check  # noqa: E402
from minigrad.course import lesson02 as L  # noqa: E402
from minigrad.function import Function  # noqa: E402
from minigrad.testing import gradcheck  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _t(a, grad=True):
    return mg.tensor(np.asarray(a, dtype=np.float64), dtype="float64", requires_grad=grad)


# --------------------------------------------------------------------------------------------
# The graph


def test_graph_of_lists_nodes_inputs_first_and_skips_constants():
    x = _t(np.ones((2, 3)), grad=False)
    w = _t(np.ones(3))
    loss = (x * w).sum(axis=1).tanh().mean()
    nodes = L.graph_of(loss)
    assert nodes[0] is w
    assert [n.name for n in nodes[1:]] == ["Mul", "Sum", "Tanh", "Sum", "Mul"]
    assert all(n is not x for n in nodes)
    assert L.graph_of(w) == [w]


def test_draw_tensor_graph_labels_shapes_and_saved_context():
    x = _t(np.ones((4, 3)))
    b = _t(0.5)
    y = (x.tanh() + b).sum()
    fig = L.draw_tensor_graph(y, names={"x": x, "b": b})
    from matplotlib.text import Annotation

    texts = [t.get_text() for t in fig.axes[0].texts if not isinstance(t, Annotation)]
    assert "x\nshape (4, 3)\nrequires_grad" in texts
    assert "b\nshape ()\nrequires_grad" in texts
    assert "shape (4, 3)\nsaved: output" in texts  # Tanh saves its output
    assert "shape ()\nsaved: shapes only" in texts  # Sum saves nothing
    assert {"Tanh", "Add", "Sum"} <= set(texts)


def test_a_freed_graph_cannot_be_drawn():
    x = _t([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="draw it before calling backward"):
        L.graph_of(y)


# --------------------------------------------------------------------------------------------
# sum_to and broadcasting


@pytest.mark.parametrize(
    "g_shape, shape",
    [((2, 3), (3,)), ((2, 3), (1, 3)), ((2, 3), (2, 1)), ((4, 2, 3), (2, 1)),
     ((4, 2, 3), (4, 1, 3)), ((4, 2, 3), (1, 1)), ((5,), ()), ((2, 3), (2, 3)),
     ((3, 1, 4), (1, 4)), ((), ())],
)
def test_sum_to_array_matches_minigrad_and_is_the_adjoint_of_broadcasting(g_shape, shape, rng):
    g = rng.standard_normal(g_shape)
    out = L.sum_to_array(g, shape)
    assert out.shape == shape
    assert np.allclose(out, mg.sum_to(mg.tensor(g), shape).numpy())
    # adjoint: <broadcast(v), g> == <v, sum_to(g)>
    v = rng.standard_normal(shape)
    assert np.isclose(np.sum(np.broadcast_to(v, g_shape) * g), np.sum(v * out))


def test_sum_to_array_refuses_a_larger_shape():
    with pytest.raises(ValueError, match="larger"):
        L.sum_to_array(np.ones(3), (2, 3))


def test_broadcast_report():
    res = L.broadcast_report("a * b", (4, 3), (3,))
    assert res["ok"] and res["out_shape"] == (4, 3)
    assert res["grad_shapes"] == ((4, 3), (3,))
    assert res["summed"] == [[], [0]]
    assert res["gradcheck"] is True
    res = L.broadcast_report("a + b", (), (2, 4, 1))
    assert res["summed"] == [[0, 1, 2], []]
    bad = L.broadcast_report("a / b", (3,), (4,))
    assert not bad["ok"] and "cannot be broadcast" in bad["message"]
    assert L.describe_broadcast(bad, (3,), (4,)).startswith("✗")


# --------------------------------------------------------------------------------------------
# Backward references through make_function


def test_reference_backwards_pass_gradcheck(rng):
    a = _t(rng.uniform(-2, 2, (2, 3)))
    b = _t(rng.uniform(0.5, 2, (3,)))
    assert gradcheck(L.my_div().apply, [a, b])
    assert gradcheck(L.my_sigmoid().apply, [a])
    for axis, keepdims in [(None, False), (1, False), ((0, 1), True), (-1, True)]:
        assert gradcheck(lambda x, ax=axis, kd=keepdims: L.my_sum().apply(x, axis=ax,
                                                                         keepdims=kd), [a])


def test_make_function_builds_a_function_subclass():
    Op = L.make_function("Twice", lambda ctx, x: 2 * x, lambda ctx, g: g * 2.0,
                         save_inputs=False)
    assert issubclass(Op, Function) and Op.__name__ == "Twice"
    x = _t([1.0, -1.0])
    y = Op.apply(x)
    assert y._ctx.name == "Twice" and not Op.save_inputs
    y.sum().backward()
    assert np.array_equal(x.grad.numpy(), [2.0, 2.0])


def test_my_sigmoid_matches_minigrad_forward(rng):
    x = rng.uniform(-30, 30, 20)
    assert np.allclose(L.my_sigmoid().apply(_t(x)).numpy(), 1 / (1 + np.exp(-x)))


# --------------------------------------------------------------------------------------------
# Finite differences and second derivatives


def test_fd_errors_float64_beats_float32_by_orders_of_magnitude():
    for name in L.FD_FUNCTIONS:
        e32 = L.fd_errors(name, dtype="float32")["error"]
        e64 = L.fd_errors(name, dtype="float64")["error"]
        assert e64.min() < 1e-8 and e32.min() > 1e-6, name
        assert e64.min() * 1000 < e32.min()


def test_fd_errors_shrink_like_eps_squared_for_large_steps():
    res = L.fd_errors("exp(x)", eps=[1e-2, 1e-3], dtype="float64")
    ratio = res["error"][0] / res["error"][1]
    assert 80 < ratio < 120


def test_float32_gradcheck_demo():
    errs = L.float32_gradcheck()
    assert errs["float32"] > 1e-2 and errs["float64"] < 1e-8


def test_derivatives_of_tanh():
    res = L.derivatives_of_tanh([-1.0, 0.0, 0.5])
    t = np.tanh(res["x"])
    assert np.allclose(res["df"], 1 - t**2)
    assert np.allclose(res["d2f"], -2 * t * (1 - t**2))
    fig = L.plot_derivatives(res)
    assert len(fig.axes[0].lines) == 4


def test_plot_fd_errors_marks_eps():
    curves = {"float64": L.fd_errors(eps=[1e-3, 1e-5])}
    fig = L.plot_fd_errors(curves, eps=1e-4)
    labels = [ln.get_label() for ln in fig.axes[0].lines]
    assert "float64" in labels and "h = 1.0e-04" in labels


# --------------------------------------------------------------------------------------------
# Explorers


def test_broadcast_explorer_recomputes_on_each_control():
    ex = L.make_broadcast_explorer()
    assert set(ex.controls) == {"op", "shape_a", "shape_b"}
    assert ex.result["out_shape"] == (4, 3) and ex.result["summed"] == [[], [0]]
    assert "dL/db = sum_to(g * a, (3,))" in ex.result["text"]
    ex.controls["op"].value = "a + b"  # same shapes, other op: the text must change too
    assert "dL/db = sum_to(g, (3,))" in ex.result["text"]
    ex.controls["op"].value = "a * b"
    ex.controls["shape_b"].value = "(4, 1)"
    assert ex.result["summed"] == [[], [1]]
    assert "summed over output axes (1,)" in ex.result["text"]
    ex.controls["shape_a"].value = "(2, 1, 3)"
    ex.controls["shape_b"].value = "(2, 4, 1)"
    assert ex.result["out_shape"] == (2, 4, 3) and ex.result["gradcheck"]
    ex.controls["op"].value = "a / b"
    assert ex.result["gradcheck"]
    ex.controls["shape_a"].value = "(3,)"
    ex.controls["shape_b"].value = "(4, 1)"
    assert ex.result["out_shape"] == (4, 3)
    ex.controls["shape_b"].value = "(4,)"
    assert not ex.result["ok"] and ex.result["text"].startswith("✗")


def test_eps_explorer_follows_the_slider():
    ex = L.make_eps_explorer(log10_eps=-6.0)
    assert ex.result["eps"] == pytest.approx(1e-6)
    assert ex.result["float32"] > 1e-4 > ex.result["float64"]
    ex.controls["log10_eps"].value = -2.5
    assert ex.result["eps"] == pytest.approx(10**-2.5)
    assert ex.result["float32"] < 1e-3  # near float32's best step
    ex.controls["function"].value = "x³"
    assert ex.result["function"] == "x³"
    # x^3 has f''' = 6, so the central difference's error is eps^2 exactly (relative to 3x^2)
    assert ex.result["float64"] > 1e-6


def test_parse_shape():
    assert L._parse_shape("()") == ()
    assert L._parse_shape("(3,)") == (3,)
    assert L._parse_shape("(2, 1, 3)") == (2, 1, 3)


# --------------------------------------------------------------------------------------------
# Exercise checks


def _verdict(capsys):
    return capsys.readouterr().out.strip()


@pytest.mark.parametrize(
    "ex_id, fn",
    [("02.1", L.sum_to_array), ("02.2", L.div_backward), ("02.3", L.sigmoid_backward),
     ("02.4", L.sum_backward)],
)
def test_references_pass_their_checks(ex_id, fn, capsys):
    assert check(ex_id, fn) is fn
    assert _verdict(capsys).startswith(f"✅ Exercise {ex_id}")


def test_sum_to_that_drops_kept_axes_fails(capsys):
    def sum_to_array(g, shape):
        lead = g.ndim - len(shape)
        return g.sum(axis=tuple(range(lead))) if lead else g.sum(axis=0)

    assert check("02.1", sum_to_array) is L.sum_to_array
    assert "expected shape (1, 3)" in _verdict(capsys)


def test_div_backward_without_sum_to_is_caught_by_the_engine_check(capsys):
    def div_backward(ctx, grad):
        a, b = ctx.inputs
        return grad / b, -grad * a / (b * b)

    assert check("02.2", div_backward) is L.div_backward
    line = _verdict(capsys)
    assert "check 2, a(2, 3) / b(3,)" in line
    assert "returned a gradient of shape (2, 3) for an input of shape (3,)" in line


def test_div_backward_with_a_sign_error_fails_gradcheck(capsys):
    def div_backward(ctx, grad):
        a, b = ctx.inputs
        sa, sb = ctx.input_shapes
        return mg.sum_to(grad / b, sa), mg.sum_to(grad * a / (b * b), sb)

    check("02.2", div_backward)
    assert "entries of input 1 disagree" in _verdict(capsys)


def test_div_backward_returning_arrays_or_detached_tensors_is_told_why(capsys):
    def arrays(ctx, grad):
        a, b = ctx.inputs
        sa, sb = ctx.input_shapes
        return L.sum_to_array((grad / b).data, sa), L.sum_to_array((-grad * a / (b * b)).data, sb)

    check("02.2", arrays)
    assert "backward returned a ndarray" in _verdict(capsys)

    def detached(ctx, grad):
        ga, gb = L.div_backward(ctx, grad)
        return mg.Tensor(ga.data), mg.Tensor(gb.data)

    check("02.2", detached)
    line = _verdict(capsys)
    assert "differentiated twice" in line and "not connected to the graph" in line


def test_sigmoid_backward_asking_for_inputs_is_told_they_were_not_saved(capsys):
    def sigmoid_backward(ctx, grad):
        (x,) = ctx.inputs
        y = x.sigmoid()
        return grad * y * (1.0 - y)

    check("02.3", sigmoid_backward)
    assert "does not save its inputs" in _verdict(capsys)


def test_sigmoid_backward_with_a_wrong_derivative_fails(capsys):
    def sigmoid_backward(ctx, grad):
        y = ctx.output
        return grad * y

    check("02.3", sigmoid_backward)
    assert "disagree" in _verdict(capsys)


def test_sum_backward_without_reshape_fails_on_a_middle_axis(capsys):
    def sum_backward(ctx, grad):
        return mg.broadcast_to(grad, ctx.input_shapes[0])

    check("02.4", sum_backward)
    assert "cannot broadcast shape (3,) to (2, 3, 4)" in _verdict(capsys)


def test_stubs_are_not_done(capsys):
    def stub(*args):
        raise NotImplementedError()

    for ex_id in ("02.1", "02.2", "02.3", "02.4"):
        check(ex_id, stub)
        assert "not done yet" in _verdict(capsys)
