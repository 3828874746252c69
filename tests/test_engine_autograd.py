"""Autograd semantics: backward vs grad, deep graphs, no_grad/detach, memory, errors."""

import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import minigrad as mg
from minigrad.testing import gradcheck


def T(a, rg=True):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=rg)


def test_backward_accumulates_into_leaves():
    x = T([1.0, 2.0])
    (x * x).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2 + 3, 4 + 3])


def test_shared_subexpression_gets_both_paths():
    x = T(3.0)
    y = x * x
    z = y * y + y  # dz/dx = (2y + 1) * 2x = 19 * 6
    z.backward()
    assert x.grad.item() == pytest.approx(114.0)


def test_grad_does_not_touch_dot_grad_and_works_for_intermediates():
    x = T([1.0, 2.0])
    h = x * 2.0
    y = (h * h).sum()
    gx, gh = mg.grad(y, [x, h])
    np.testing.assert_allclose(gh.numpy(), 2 * h.numpy())
    np.testing.assert_allclose(gx.numpy(), 8 * x.numpy())
    assert x.grad is None and not gx.requires_grad


def test_grad_through_one_input_into_another():
    x = T(2.0)
    z = x * x  # an input that depends on the other input
    y = z * x  # y = x^3, dy/dx = 12 (all paths), dy/dz = x = 2
    gx, gz = mg.grad(y, [x, z])
    assert gx.item() == pytest.approx(12.0)
    assert gz.item() == pytest.approx(2.0)


def test_grad_only_runs_the_needed_part_of_the_graph():
    calls = []

    class Spy(mg.Function):
        save_inputs = False

        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            calls.append(1)
            return g

    w = T([1.0])
    theta = Spy.apply(w) * 2.0  # upstream of theta: not needed for d loss / d theta
    loss = (theta * theta).sum()
    mg.grad(loss, theta, retain_graph=True)
    assert calls == []
    loss.backward()
    assert calls == [1]


def test_grad_vector_jacobian_product_and_errors():
    x = T([1.0, 2.0, 3.0])
    y = x * x
    (g,) = mg.grad([y], [x], grad_outputs=[mg.tensor(np.array([1.0, 0.0, 2.0]))])
    np.testing.assert_allclose(g.numpy(), [2.0, 0.0, 12.0])
    with pytest.raises(RuntimeError, match="one-element outputs"):
        mg.grad(x * x, x)
    with pytest.raises(RuntimeError, match="not used"):
        mg.grad((x * 2).sum(), [x, T([1.0])])
    assert mg.grad((x * 2).sum(), [x, T([1.0])], allow_unused=True)[1] is None


def test_create_graph_gives_second_derivatives():
    x = T([0.5, -1.0])
    y = (x**3).sum()
    (g,) = mg.grad(y, [x], create_graph=True)  # 3x^2
    assert g.requires_grad
    (h,) = mg.grad(g.sum(), [x])  # 6x
    np.testing.assert_allclose(h.numpy(), 6 * x.numpy())


def test_backward_with_create_graph_then_differentiate_grad():
    x = T(1.5)
    (x.tanh() * x).backward(create_graph=True)
    gx = x.grad
    (gg,) = mg.grad(gx, [x])
    t = np.tanh(1.5)
    expected = 2 * (1 - t * t) - 2 * 1.5 * t * (1 - t * t)  # d2/dx2 [x tanh x]
    assert gg.item() == pytest.approx(expected)


def test_hundred_thousand_node_graph_backward_is_iterative():
    x = mg.tensor(np.array(1.0), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_deep_graph_grad():
    x = mg.tensor(np.array([0.1]), requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y + x * 1e-4
    (g,) = mg.grad(y.sum(), [x])
    assert g.item() == pytest.approx(1 + 20_000 * 1e-4)


def test_no_grad_and_detach():
    x = T([1.0, 2.0])
    with mg.no_grad():
        y = x * 2.0
        assert not mg.is_grad_enabled()
        with mg.enable_grad():
            assert (x * 1.0).requires_grad
    assert mg.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    d = (x * 3.0).detach()
    assert d.is_leaf and not d.requires_grad
    z = (x * d).sum()  # d is a constant: dz/dx = d = 3x
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * x.numpy())
    assert np.shares_memory(d.data, d.detach().data)


def test_backward_twice_through_freed_graph_raises_and_retain_graph_allows_it():
    x = T([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (np.exp(x.numpy()) * (1 + x.numpy())))
    with pytest.raises(mg.GraphFreedError, match="retain_graph=True"):
        y.backward()


def test_backward_errors_are_clear():
    with pytest.raises(RuntimeError, match="does not require grad"):
        T([1.0], rg=False).sum().backward()
    x = T([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"shape \(2,\).*one-element"):
        (x * 2).backward()
    with pytest.raises(ValueError, match="grad has shape"):
        (x * 2).backward(np.ones(3))


def test_saved_arrays_are_released_after_backward():
    x = mg.tensor(np.ones((256, 256)), requires_grad=True)
    y = x.tanh()
    node = y._ctx
    ref = weakref.ref(node)
    loss = (y * y).sum()
    loss.backward()
    assert not hasattr(node, "_saved_output")
    del y, loss, node
    gc.collect()
    assert ref() is None


def test_memory_does_not_grow_over_training_iterations():
    rng = np.random.default_rng(0)
    w = mg.tensor(rng.standard_normal((64, 64)) * 0.1, requires_grad=True)
    data = mg.tensor(rng.standard_normal((128, 64)))

    def step():
        h = (data @ w).tanh()
        loss = (h * h).mean()
        loss.backward()
        with mg.no_grad():
            w.data -= 0.01 * w.grad.data
        w.grad = None

    for _ in range(3):
        step()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(50):
        step()
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert grown < 200_000, f"memory grew by {grown} bytes over 50 iterations"


def test_whole_model_gradients_match_handwritten_numpy_backprop():
    """A 2-layer tanh network with cross-entropy, differentiated by hand in NumPy."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((16, 5))
    labels = rng.integers(0, 3, 16)
    W1, b1 = rng.standard_normal((5, 8)) * 0.5, rng.standard_normal(8) * 0.1
    W2, b2 = rng.standard_normal((8, 3)) * 0.5, rng.standard_normal(3) * 0.1

    params = [T(W1), T(b1), T(W2), T(b2)]
    h = (mg.tensor(X) @ params[0] + params[1]).tanh()
    loss = mg.cross_entropy(h @ params[2] + params[3], labels)
    loss.backward()

    # by hand
    a1 = X @ W1 + b1
    h_np = np.tanh(a1)
    logits = h_np @ W2 + b2
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    expected_loss = -np.mean(np.log(p[np.arange(16), labels]))
    dlogits = p.copy()
    dlogits[np.arange(16), labels] -= 1
    dlogits /= 16
    dW2, db2 = h_np.T @ dlogits, dlogits.sum(0)
    da1 = (dlogits @ W2.T) * (1 - h_np**2)
    dW1, db1 = X.T @ da1, da1.sum(0)

    assert loss.item() == pytest.approx(expected_loss)
    for p_, expected in zip(params, [dW1, db1, dW2, db2]):
        np.testing.assert_allclose(p_.grad.numpy(), expected, rtol=1e-10, atol=1e-12)
    assert gradcheck(
        lambda w1, c1, w2, c2: mg.cross_entropy((mg.tensor(X) @ w1 + c1).tanh() @ w2 + c2, labels),
        [T(W1), T(b1), T(W2), T(b2)],
    )


def test_unrolled_recurrence_matches_gradcheck():
    """A small tanh RNN unrolled 12 steps: BPTT through a deep, shared-weight graph."""
    rng = np.random.default_rng(3)
    xs = rng.standard_normal((12, 4, 3))

    def run(wx, wh):
        h = mg.tensor(np.zeros((4, 5)))
        total = None
        for t in range(12):
            h = (mg.tensor(xs[t]) @ wx + h @ wh).tanh()
            total = h.sum() if total is None else total + (h * h).sum()
        return total

    assert gradcheck(run, [T(rng.standard_normal((3, 5)) * 0.5),
                           T(rng.standard_normal((5, 5)) * 0.5)])


def test_leaf_gradients_never_share_memory():
    a, b = T([1.0, 2.0]), T([3.0, 4.0])
    (a + b).sum().backward()  # Add hands the same upstream gradient to both inputs
    assert not np.shares_memory(a.grad.data, b.grad.data)
    a.grad.data *= 0
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])


def test_sigmoid_saturates_without_overflow_warnings():
    import warnings

    x = mg.tensor(np.array([-1000.0, 0.0, 1000.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = x.sigmoid().numpy()
    np.testing.assert_array_equal(y, [0.0, 0.5, 1.0])


def test_from_array_wraps_without_copy_and_rejects_non_floats():
    a = np.arange(3.0, dtype=np.float32)
    t = mg.Tensor.from_array(a, requires_grad=True)
    assert t.data is a and t.requires_grad and t.is_leaf
    with pytest.raises(TypeError, match="from_array: expected a float array.*int64"):
        mg.Tensor.from_array(np.arange(3))
    with pytest.raises(TypeError, match="from_array: expected a float array, got list"):
        mg.Tensor.from_array([1.0])


def test_backward_is_found_in_tensor_py():
    """loss.backward() is a method written in tensor.py (its first step on the reading path)."""
    assert mg.Tensor.backward.__module__ == "minigrad.tensor"
    assert mg.Tensor.backward.__qualname__ == "Tensor.backward"


def test_numerical_grad_perturbs_a_non_contiguous_input_itself():
    """A tensor over a strided view: reshaping it would copy, and perturbing the copy would
    leave the function unchanged (a numerical gradient of zero)."""
    from minigrad.testing import numerical_grad

    base = np.arange(12.0).reshape(3, 4)
    x = mg.tensor(base, dtype="float64")
    x.data = base[:, ::2]  # non-contiguous, shape (3, 2)
    assert not x.data.flags["C_CONTIGUOUS"]
    (g,) = numerical_grad(lambda t: (t * t).sum(), [x])
    np.testing.assert_allclose(g, 2 * base[:, ::2], rtol=1e-6)
    np.testing.assert_array_equal(base, np.arange(12.0).reshape(3, 4))  # restored
