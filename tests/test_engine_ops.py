"""Every op's gradient (and second derivative) against central differences in float64."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.testing import GradcheckError, gradcheck, gradgradcheck


def T(a):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def rand(rng, *shape, low=None):
    x = rng.standard_normal(shape)
    if low is not None:  # keep away from zero (log, sqrt, div, abs kinks)
        x = np.sign(x) * (np.abs(x) + low)
    return x


RNG = np.random.default_rng(1234)
_W32 = rand(RNG, 3, 2)

# (name, fn, list of input arrays); shapes include broadcasting against each other.
UNARY = [
    ("neg", lambda x: -x, [rand(RNG, 3, 4)]),
    ("exp", lambda x: x.exp(), [rand(RNG, 3, 4)]),
    ("log", lambda x: x.log(), [np.abs(rand(RNG, 3, 4, low=0.3))]),
    ("sqrt", lambda x: x.sqrt(), [np.abs(rand(RNG, 5, low=0.3))]),
    ("abs", lambda x: x.abs(), [rand(RNG, 2, 3, low=0.1)]),
    ("tanh", lambda x: x.tanh(), [rand(RNG, 4, 3)]),
    ("sigmoid", lambda x: x.sigmoid(), [rand(RNG, 4, 3)]),
    ("relu", lambda x: x.relu(), [rand(RNG, 4, 3, low=0.1)]),
    ("clip", lambda x: x.clip(-0.5, 0.5), [np.array([-1.2, -0.3, 0.1, 0.45, 2.0])]),
    ("pow2", lambda x: x**2, [rand(RNG, 3)]),
    ("pow3", lambda x: x**3, [rand(RNG, 2, 2)]),
    ("pow_half", lambda x: x**0.5, [np.abs(rand(RNG, 3, low=0.5))]),
    ("rpow", lambda x: 2.0**x, [rand(RNG, 3)]),
    ("sum_all", lambda x: x.sum(), [rand(RNG, 3, 4)]),
    ("sum_axis", lambda x: x.sum(axis=1), [rand(RNG, 3, 4, 2)]),
    ("sum_keep", lambda x: x.sum(axis=(0, 2), keepdims=True), [rand(RNG, 3, 4, 2)]),
    ("mean_axis", lambda x: x.mean(axis=-1), [rand(RNG, 3, 4)]),
    ("max_all", lambda x: x.max(), [rand(RNG, 3, 4)]),
    ("max_axis", lambda x: x.max(axis=0, keepdims=True), [rand(RNG, 3, 4)]),
    ("reshape", lambda x: x.reshape(6, 2) * mg.tensor(np.arange(12.0).reshape(6, 2)),
     [rand(RNG, 3, 4)]),
    ("transpose", lambda x: x.T @ mg.tensor(_W32), [rand(RNG, 3, 4)]),
    ("permute", lambda x: x.permute(2, 0, 1), [rand(RNG, 2, 3, 4)]),
    ("getitem_basic", lambda x: x[1:, ::2], [rand(RNG, 3, 4)]),
    ("getitem_int", lambda x: x[np.array([0, 2, 0]), 1], [rand(RNG, 3, 4)]),
    ("getitem_bool", lambda x: x[np.array([True, False, True])], [rand(RNG, 3, 2)]),
    ("getitem_none", lambda x: x[None, :, 1], [rand(RNG, 3, 2)]),
    ("softmax", lambda x: x.softmax(axis=1), [rand(RNG, 3, 5)]),
    ("log_softmax", lambda x: x.log_softmax(axis=0), [rand(RNG, 4, 3)]),
    ("split", lambda x: mg.split(x, [1, 3], axis=1)[1] * 2.0, [rand(RNG, 2, 4)]),
    ("broadcast_to", lambda x: mg.broadcast_to(x, (2, 3, 4)), [rand(RNG, 3, 1)]),
    ("sum_to", lambda x: mg.sum_to(x, (3, 1)), [rand(RNG, 2, 3, 4)]),
]

BINARY = [
    ("add_bcast", lambda a, b: a + b, [rand(RNG, 3, 4), rand(RNG, 4)]),
    ("sub_bcast", lambda a, b: a - b, [rand(RNG, 3, 1), rand(RNG, 1, 4)]),
    ("mul_bcast", lambda a, b: a * b, [rand(RNG, 2, 3, 4), rand(RNG, 3, 1)]),
    ("div_bcast", lambda a, b: a / b, [rand(RNG, 3, 4), rand(RNG, 4, low=0.5)]),
    ("pow_tensor", lambda a, b: a**b, [np.abs(rand(RNG, 3, low=0.5)), rand(RNG, 3)]),
    ("matmul_mm", lambda a, b: a @ b, [rand(RNG, 3, 4), rand(RNG, 4, 2)]),
    ("matmul_mv", lambda a, b: a @ b, [rand(RNG, 3, 4), rand(RNG, 4)]),
    ("matmul_vm", lambda a, b: a @ b, [rand(RNG, 4), rand(RNG, 4, 2)]),
    ("matmul_vv", lambda a, b: a @ b, [rand(RNG, 4), rand(RNG, 4)]),
    ("matmul_batched", lambda a, b: a @ b, [rand(RNG, 2, 3, 4), rand(RNG, 2, 4, 5)]),
    ("matmul_bcast", lambda a, b: a @ b, [rand(RNG, 2, 3, 4), rand(RNG, 4, 5)]),
    ("matmul_vb", lambda a, b: a @ b, [rand(RNG, 4), rand(RNG, 2, 4, 3)]),
    ("maximum", lambda a, b: mg.maximum(a, b), [rand(RNG, 3, 4), rand(RNG, 4)]),
    ("minimum", lambda a, b: mg.minimum(a, b), [rand(RNG, 3, 4), rand(RNG, 3, 1)]),
    ("where", lambda a, b: mg.where(np.array([True, False, True, True]), a, b),
     [rand(RNG, 3, 4), rand(RNG, 4)]),
    ("concatenate", lambda a, b: mg.concatenate([a, b], axis=1),
     [rand(RNG, 2, 3), rand(RNG, 2, 1)]),
    ("stack", lambda a, b: mg.stack([a, b], axis=1), [rand(RNG, 2, 3), rand(RNG, 2, 3)]),
    ("mse", lambda a, b: mg.mse_loss(a, b), [rand(RNG, 3, 2), rand(RNG, 3, 2)]),
]

OTHER = [
    ("cross_entropy", lambda x: mg.cross_entropy(x, np.array([2, 0, 1, 2])), [rand(RNG, 4, 3)]),
    ("chain", lambda x, w: ((x @ w).tanh() * x[:, :1]).sigmoid().sum(axis=0),
     [rand(RNG, 3, 4), rand(RNG, 4, 2)]),
]

CASES = UNARY + BINARY + OTHER
# Second derivatives of ops that are piecewise linear are zero; still run them for coverage.


@pytest.mark.parametrize("name,fn,arrays", CASES, ids=[c[0] for c in CASES])
def test_gradient_matches_central_differences(name, fn, arrays):
    assert gradcheck(fn, [T(a) for a in arrays])


@pytest.mark.parametrize("name,fn,arrays", CASES, ids=[c[0] for c in CASES])
def test_second_derivative_matches_central_differences(name, fn, arrays):
    assert gradgradcheck(fn, [T(a) for a in arrays])


def test_gradcheck_catches_a_wrong_backward():
    class BadSquare(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.inputs
            return g * x * 3.0  # should be 2x

    with pytest.raises(GradcheckError, match="worst at index"):
        gradcheck(lambda x: BadSquare.apply(x), [T([1.0, -2.0, 0.5])])


def test_gradcheck_refuses_float32():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda x: x * x, [x])


shapes = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)


@st.composite
def broadcastable_pair(draw):
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple))
    # the other operand drops leading dims and sets some dims to 1
    k = draw(st.integers(0, len(shape)))
    other = tuple(1 if draw(st.booleans()) else s for s in shape[k:])
    if draw(st.booleans()):
        return shape, other
    return other, shape


@settings(max_examples=25, deadline=None)
@given(pair=broadcastable_pair(), op=st.sampled_from(["add", "sub", "mul", "div", "max"]),
       seed=st.integers(0, 2**16))
def test_broadcasting_binary_ops_property(pair, op, seed):
    rng = np.random.default_rng(seed)
    a = T(rand(rng, *pair[0], low=0.5))
    b = T(rand(rng, *pair[1], low=0.5))
    fns = {
        "add": lambda a, b: a + b,
        "sub": lambda a, b: a - b,
        "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b,
        "max": lambda a, b: mg.maximum(a, b * 1.01),
    }
    out = fns[op](a, b)
    assert out.shape == np.broadcast_shapes(pair[0], pair[1])
    assert gradcheck(fns[op], [a, b])


@settings(max_examples=20, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
       axis_seed=st.integers(0, 100), keepdims=st.booleans(), seed=st.integers(0, 2**16))
def test_reductions_property(shape, axis_seed, keepdims, seed):
    rng = np.random.default_rng(seed)
    x = T(rng.standard_normal(shape))
    axis = axis_seed % len(shape)
    for fn in (lambda x: x.sum(axis=axis, keepdims=keepdims),
               lambda x: x.mean(axis=axis, keepdims=keepdims),
               lambda x: x.max(axis=axis, keepdims=keepdims)):
        out = fn(x)
        assert out.shape == np.sum(x.data, axis=axis, keepdims=keepdims).shape
        assert gradcheck(fn, [x])


def test_forward_values_match_numpy():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    ta, tb = mg.tensor(a), mg.tensor(b)
    np.testing.assert_allclose((ta @ tb).numpy(), a @ b)
    np.testing.assert_allclose(ta.sigmoid().numpy(), 1 / (1 + np.exp(-a)))
    np.testing.assert_allclose(ta.log_softmax(axis=1).numpy(),
                               a - np.log(np.exp(a).sum(1, keepdims=True)))
    labels = np.array([0, 3, 1])
    ce = -np.mean((a - np.log(np.exp(a).sum(1, keepdims=True)))[np.arange(3), labels])
    np.testing.assert_allclose(mg.cross_entropy(ta, labels).item(), ce)


def test_log_softmax_is_stable_for_large_logits():
    x = mg.tensor(np.array([[1000.0, 0.0, -1000.0]]))
    out = x.log_softmax(axis=1).numpy()
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[0, 0], 0.0)


def test_repeated_integer_index_accumulates():
    x = T([1.0, 2.0, 3.0])
    y = x[np.array([0, 0, 2])].sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0, 1.0])


def test_gradgradcheck_catches_a_backward_cut_from_the_graph():
    class DetachedSquare(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.inputs
            return mg.Tensor((g * x * 2.0).data)  # right values, but not differentiable

    fn = lambda x: DetachedSquare.apply(x)  # noqa: E731
    x = T([0.5, -1.5])
    assert gradcheck(fn, [x])
    with pytest.raises(GradcheckError):
        gradgradcheck(fn, [x])
