"""Edge cases of every op (issue 28, item 1): 0-d tensors, axes out of range, pow's edges.

Each op is checked on 0-d inputs in forward (against NumPy) and backward (gradcheck and
gradgradcheck in float64); every ``axis`` argument out of range raises an error naming the op,
the axis and the tensor's number of dims.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.testing import gradcheck, gradgradcheck


def T(a):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def C(a):
    """A float64 constant (no gradient)."""
    return mg.tensor(np.asarray(a, dtype=np.float64))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _log_softmax_0d(x):
    return x - x  # a single entry: log(e^x / e^x) = 0


# ----- 0-d tensors -------------------------------------------------------------------------
# (name, minigrad fn, NumPy reference, 0-d input values). Inputs stay away from kinks.
ZERO_D_UNARY = [
    ("neg", lambda x: -x, lambda x: -x, [0.7]),
    ("exp", lambda x: x.exp(), np.exp, [0.7]),
    ("log", lambda x: x.log(), np.log, [0.7]),
    ("sqrt", lambda x: x.sqrt(), np.sqrt, [0.7]),
    ("abs", lambda x: x.abs(), np.abs, [-0.7]),
    ("sign", lambda x: x.sign(), np.sign, [-0.7]),
    ("tanh", lambda x: x.tanh(), np.tanh, [0.7]),
    ("sigmoid", lambda x: x.sigmoid(), _sigmoid, [0.7]),
    ("sigmoid_of_sum", lambda x: x.sum().sigmoid(), _sigmoid, [-0.7]),
    ("relu", lambda x: x.relu(), lambda x: np.maximum(x, 0), [0.7]),
    ("clip", lambda x: x.clip(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), [0.3]),
    ("pow2", lambda x: x**2, lambda x: x**2, [-0.7]),
    ("pow3", lambda x: x**3, lambda x: x**3, [-0.7]),
    ("pow_half", lambda x: x**0.5, np.sqrt, [0.7]),
    ("rpow", lambda x: 2.0**x, lambda x: 2.0**x, [0.7]),
    ("sum_all", lambda x: x.sum(), np.sum, [0.7]),
    ("sum_axis0", lambda x: x.sum(axis=0), lambda x: np.sum(x, axis=0), [0.7]),
    ("sum_axis-1", lambda x: x.sum(axis=-1), lambda x: np.sum(x, axis=-1), [0.7]),
    ("sum_keep", lambda x: x.sum(axis=0, keepdims=True),
     lambda x: np.sum(x, axis=0, keepdims=True), [0.7]),
    ("mean", lambda x: x.mean(), np.mean, [0.7]),
    ("mean_axis", lambda x: x.mean(axis=-1), lambda x: x, [0.7]),  # as PyTorch (NumPy raises)
    ("max", lambda x: x.max(), np.max, [0.7]),
    ("max_axis", lambda x: x.max(axis=0), lambda x: np.max(x, axis=0), [0.7]),
    ("reshape", lambda x: x.reshape(1, 1), lambda x: x.reshape(1, 1), [0.7]),
    ("transpose", lambda x: x.T, lambda x: x.T, [0.7]),
    ("permute", lambda x: x.permute(), lambda x: x.transpose(), [0.7]),
    ("getitem_empty", lambda x: x[()], lambda x: x[()], [0.7]),
    ("getitem_none", lambda x: x[None], lambda x: x[None], [0.7]),
    ("softmax", lambda x: x.softmax(), lambda x: np.exp(_log_softmax_0d(x)), [0.7]),
    ("log_softmax", lambda x: x.log_softmax(axis=0), _log_softmax_0d, [0.7]),
    ("broadcast_to", lambda x: mg.broadcast_to(x, (2, 3)),
     lambda x: np.broadcast_to(x, (2, 3)), [0.7]),
    ("sum_to", lambda x: mg.sum_to(mg.broadcast_to(x, (2, 3)) * C(np.arange(6.0).reshape(2, 3)),
                                   ()), lambda x: x * 15.0, [0.7]),
    ("stack", lambda x: mg.stack([x, x * 2.0], axis=-1), lambda x: np.stack([x, x * 2.0]), [0.7]),
]

ZERO_D_BINARY = [
    ("add", lambda a, b: a + b, np.add),
    ("sub", lambda a, b: a - b, np.subtract),
    ("mul", lambda a, b: a * b, np.multiply),
    ("div", lambda a, b: a / b, np.divide),
    ("pow_tensor", lambda a, b: a**b, np.power),
    ("maximum", mg.maximum, np.maximum),
    ("minimum", mg.minimum, np.minimum),
    ("where", lambda a, b: mg.where(np.array(True), a, b), lambda a, b: np.where(True, a, b)),
    ("mse", mg.mse_loss, lambda a, b: np.mean((a - b) ** 2)),
]


@pytest.mark.parametrize("name,fn,ref,values", ZERO_D_UNARY, ids=[c[0] for c in ZERO_D_UNARY])
def test_unary_op_on_a_0d_tensor(name, fn, ref, values):
    x = T(values[0])
    assert x.ndim == 0
    out = fn(x)
    expected = ref(np.asarray(values[0]))
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    assert gradcheck(fn, [x])
    assert gradgradcheck(fn, [x])


@pytest.mark.parametrize("name,fn,ref", ZERO_D_BINARY, ids=[c[0] for c in ZERO_D_BINARY])
@pytest.mark.parametrize("shapes", [((), ()), ((), (3,)), ((2, 1), ())],
                         ids=["0d-0d", "0d-vector", "matrix-0d"])
def test_binary_op_with_a_0d_tensor(name, fn, ref, shapes):
    if name == "mse" and shapes[0] != shapes[1]:
        pytest.skip("mse_loss takes two tensors of one shape")
    rng = np.random.default_rng(0)
    a = np.abs(rng.standard_normal(shapes[0])) + 0.5  # positive: pow's base, div's divisor
    b = np.abs(rng.standard_normal(shapes[1])) + 0.5
    b = b + 0.25 * (np.abs(b - 1.0) < 0.1)  # no ties with a (values near 1)...
    a = a * 1.7 + 0.1  # ...and a != b: maximum/minimum have a kink at a tie
    out = fn(T(a), T(b))
    np.testing.assert_allclose(out.numpy(), ref(a, b), rtol=1e-12)
    assert gradcheck(fn, [T(a), T(b)])
    assert gradgradcheck(fn, [T(a), T(b)])


def test_ops_that_need_an_axis_reject_a_0d_tensor_by_name():
    # NumPy and PyTorch refuse these too: a 0-d tensor has no axis to join, split or multiply.
    x = T(0.5)
    with pytest.raises(ValueError, match=r"concatenate: axis 0 is out of range for a tensor "
                                         r"with 0 dims"):
        mg.concatenate([x, x])
    with pytest.raises(ValueError, match="split: axis 0 is out of range for a tensor with 0"):
        mg.split(x, 1)
    with pytest.raises(ValueError, match="matmul: operands must have at least 1 dim"):
        x @ x
    with pytest.raises(ValueError, match=r"cross_entropy: logits must have shape \(N, C\)"):
        mg.cross_entropy(x, np.array([0]))


# ----- axes out of range -------------------------------------------------------------------
X2 = np.zeros((2, 3))
X3 = np.zeros((2, 3, 4))
X4 = np.zeros((2, 3, 4, 5))

AXIS_ERRORS = [
    ("sum", lambda: C(X2).sum(axis=2), "sum: axis 2 is out of range for a tensor with 2 dims"),
    ("sum_0d", lambda: C(1.0).sum(axis=1),
     r"sum: axis 1 is out of range for a tensor with 0 dims \(expected -1 <= axis < 1\)"),
    ("sum_tuple", lambda: C(X3).sum(axis=(0, -4)), "sum: axis -4 is out of range .* 3 dims"),
    ("mean", lambda: C(X2).mean(axis=-3), "mean: axis -3 is out of range .* 2 dims"),
    ("max", lambda: C(X2).max(axis=5), "max: axis 5 is out of range .* 2 dims"),
    ("softmax", lambda: C(X2).softmax(axis=2), "softmax: axis 2 is out of range .* 2 dims"),
    ("log_softmax", lambda: C(X2).log_softmax(axis=-3),
     "log_softmax: axis -3 is out of range .* 2 dims"),
    ("concatenate", lambda: mg.concatenate([C(X2), C(X2)], axis=2),
     r"concatenate: axis 2 is out of range for a tensor with 2 dims \(expected -2 <= axis < 2\)"),
    ("stack", lambda: mg.stack([C(X3), C(X3)], axis=77),
     r"stack: axis 77 is out of range for a tensor with 3 dims \(expected -4 <= axis < 4\)"),
    ("stack_negative", lambda: mg.stack([C(X3), C(X3)], axis=-5),
     "stack: axis -5 is out of range .* 3 dims"),
    ("split", lambda: mg.split(C(X2), 2, axis=2), "split: axis 2 is out of range .* 2 dims"),
    ("permute", lambda: C(X4).permute((0, 1, 2, 7)),
     r"permute: axis 7 is out of range for a tensor with 4 dims \(expected -4 <= axis < 4\)"),
    ("transpose", lambda: C(X2).transpose((0, 2)), "transpose: axis 2 is out of range .* 2 dims"),
]


@pytest.mark.parametrize("name,call,match", AXIS_ERRORS, ids=[c[0] for c in AXIS_ERRORS])
def test_axis_out_of_range_raises_naming_op_axis_and_dims(name, call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_other_bad_axes_raise_naming_the_op():
    with pytest.raises(ValueError, match=r"permute: axes \(0, 0, 1\) are not a permutation of 3"):
        C(X3).permute(0, 0, 1)
    with pytest.raises(ValueError, match=r"sum: axis \(0, -2\) names an axis twice"):
        C(X2).sum(axis=(0, -2))
    with pytest.raises(TypeError, match="mean: axis must be an integer, got 1.0"):
        C(X2).mean(axis=1.0)


def test_negative_and_numpy_integer_axes_still_work():
    x = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(C(x).sum(axis=np.int64(-1)).numpy(), x.sum(axis=-1))
    np.testing.assert_array_equal(mg.stack([C(x), C(x)], axis=-1).numpy(), np.stack([x, x], -1))
    np.testing.assert_array_equal(mg.stack([C(x), C(x)], axis=3).numpy(), np.stack([x, x], 3))
    np.testing.assert_array_equal(C(x).permute(-1, 0, 1).numpy(), x.transpose(2, 0, 1))
    np.testing.assert_array_equal(mg.concatenate([C(x), C(x)], axis=-2).numpy(),
                                  np.concatenate([x, x], -2))
    assert [p.shape for p in mg.split(C(x), 2, axis=-1)] == [(2, 3, 2), (2, 3, 2)]


# ----- pow at its edges, against PyTorch --------------------------------------------------
# tests/data/pow_torch_table.json holds PyTorch's values and gradients of a ** b on a grid of
# bases (negative, 0, positive) and exponents (negative, 0, fractional, integer), in float64.
# It was made with torch 2.13.0+cpu by
#     /tmp/tv/bin/python tests/data/make_pow_table.py
# (that script's docstring says how to set up /tmp/tv); PyTorch is not a dependency of minigrad.
POW_TABLE = json.loads((Path(__file__).parent / "data" / "pow_torch_table.json").read_text())


def _assert_same(name, got, expected, rows):
    expected = np.asarray(expected, dtype=np.float64)
    same = np.isclose(got, expected, rtol=1e-12, atol=0, equal_nan=True)
    same &= (np.signbit(got) == np.signbit(expected)) | np.isnan(expected)  # -inf, -0.0
    bad = [f"{rows[i]['a']} ** {rows[i]['b']}: {got[i]} (PyTorch {expected[i]})"
           for i in np.flatnonzero(~same)]
    assert not bad, f"{name} differs from PyTorch at " + "; ".join(bad)


def test_pow_with_a_tensor_exponent_follows_pytorch_values_and_gradients():
    rows = POW_TABLE["tensor"]
    a, b = T([r["a"] for r in rows]), T([r["b"] for r in rows])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NaN and inf are answers here, not warnings
        y = a**b
        da, db = mg.grad(y.sum(), [a, b])
    _assert_same("a ** b", y.numpy(), [r["y"] for r in rows], rows)
    _assert_same("d(a ** b)/da", da.numpy(), [r["da"] for r in rows], rows)
    _assert_same("d(a ** b)/db", db.numpy(), [r["db"] for r in rows], rows)


def test_pow_with_a_constant_exponent_follows_pytorch_values_and_gradients():
    rows = POW_TABLE["constant"]
    ys, das = [], []
    for r in rows:
        x = T(r["a"])
        with np.errstate(all="ignore"):  # the constant path keeps NumPy's warnings (hot path)
            y = x ** r["b"]
            (da,) = mg.grad(y, [x])
        ys.append(y.item())
        das.append(da.item())
    _assert_same("a ** constant", np.array(ys), [r["y"] for r in rows], rows)
    _assert_same("d(a ** constant)/da", np.array(das), [r["da"] for r in rows], rows)


def test_pow_edges_named_in_the_issue():
    x = C([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal((C(-2.0) ** x).numpy(), [0.25, -0.5, 1.0, -2.0, 4.0, -8.0])
    zero, zero_exp = T(0.0), T(0.0)
    y = zero**zero_exp
    assert y.item() == 1.0
    assert [g.item() for g in mg.grad(y, [zero, zero_exp])] == [0.0, 0.0]
    base = T(0.0)
    assert mg.grad(base ** C(0.3), [base])[0].item() == np.inf
    assert mg.grad(base**0.0, [base])[0].item() == 0.0


def test_pow_gradients_with_a_negative_base_match_central_differences():
    exponents = C([2.0, 3.0, -1.0, 0.0])
    base = T([-2.0, -1.5, -0.7, -1.2])
    assert gradcheck(lambda a: a**exponents, [base])
    assert gradgradcheck(lambda a: a**exponents, [base])


# ----- choices that differ from PyTorch, documented where a learner meets them -------------
def test_ties_in_maximum_and_minimum_send_the_whole_gradient_to_the_first_operand():
    a, b = T([1.0, 2.0]), T([1.0, 3.0])
    assert [g.tolist() for g in mg.grad(mg.maximum(a, b).sum(), [a, b])] == [[1, 0], [0, 1]]
    assert [g.tolist() for g in mg.grad(mg.minimum(a, b).sum(), [a, b])] == [[1, 1], [0, 0]]
    for fn in (mg.maximum, mg.minimum):
        assert "PyTorch" in fn.__doc__ and "half" in fn.__doc__


def test_equality_of_tensors_is_identity():
    a, b = C([1.0, 2.0]), C([1.0, 2.0])
    assert a == a and not (a == b) and a != b
    assert (a.data == b.data).all()
    assert "identity" in mg.Tensor.__doc__


# ----- property-based: random shapes, 0-d and size-1 axes included --------------------------
# Hypothesis draws a shape (0 to 3 dims of sizes 1 to 3), an op and a seed for the values; the
# forward is compared with NumPy and the gradient with central differences, in float64.
# Every op is a parametrized case with its own examples, 0-d and size-1 axes always among
# them; derandomize=True gives the same examples on every run (CI is deterministic).
SHAPES = st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)
PROPERTY = settings(max_examples=10, deadline=None, derandomize=True, database=None)


def _away_from(x, kinks, gap=0.05):
    """Move entries within ``gap`` of a kink (where central differences straddle it) away."""
    for k in kinks:
        x = np.where(np.abs(x - k) < gap, x + 3 * gap, x)
    return x


# name: (minigrad fn, NumPy reference, input domain from standard normal draws)
UNARY_PROPERTY = {
    "neg": (lambda x: -x, np.negative, None),
    "exp": (lambda x: x.exp(), np.exp, None),
    "log": (lambda x: x.log(), np.log, lambda x: np.abs(x) + 0.3),
    "sqrt": (lambda x: x.sqrt(), np.sqrt, lambda x: np.abs(x) + 0.3),
    "abs": (lambda x: x.abs(), np.abs, lambda x: _away_from(x, [0.0])),
    "sign": (lambda x: x.sign(), np.sign, lambda x: _away_from(x, [0.0])),
    "tanh": (lambda x: x.tanh(), np.tanh, None),
    "sigmoid": (lambda x: x.sigmoid(), _sigmoid, None),
    "relu": (lambda x: x.relu(), lambda x: np.maximum(x, 0.0), lambda x: _away_from(x, [0.0])),
    "clip": (lambda x: x.clip(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5),
             lambda x: _away_from(x, [-0.5, 0.5])),
    "pow0": (lambda x: x**0.0, lambda x: np.ones_like(x), None),
    "pow2": (lambda x: x**2, np.square, None),
    "pow3": (lambda x: x**3, lambda x: x**3, None),
    "pow_half": (lambda x: x**0.5, np.sqrt, lambda x: np.abs(x) + 0.3),
    "rpow": (lambda x: 2.0**x, lambda x: np.power(2.0, x), None),
    "transpose": (lambda x: x.T, np.transpose, None),
    "reshape": (lambda x: x.reshape(-1), lambda x: x.reshape(-1), None),
}

# name: (minigrad fn, NumPy reference, domain of a, domain of b)
BINARY_PROPERTY = {
    "add": (lambda a, b: a + b, np.add, None, None),
    "sub": (lambda a, b: a - b, np.subtract, None, None),
    "mul": (lambda a, b: a * b, np.multiply, None, None),
    "div": (lambda a, b: a / b, np.divide, None, lambda x: _away_from(x, [0.0], 0.3)),
    "pow": (lambda a, b: a**b, np.power, lambda x: np.abs(x) + 0.3, None),
    "maximum": (mg.maximum, np.maximum, None, None),
    "minimum": (mg.minimum, np.minimum, None, None),
    "where": (lambda a, b: mg.where(_parity_mask(np.broadcast_shapes(a.shape, b.shape)), a, b),
              lambda a, b: np.where(_parity_mask(np.broadcast_shapes(a.shape, b.shape)), a, b),
              None, None),
}


def _parity_mask(shape):
    """A fixed boolean mask of ``shape``: True on even flat positions."""
    return (np.arange(int(np.prod(shape))) % 2 == 0).reshape(shape)


@st.composite
def broadcastable_shapes(draw):
    """Two shapes that broadcast: one drawn, the other drops leading dims and sets some to 1."""
    shape = draw(SHAPES)
    k = draw(st.integers(0, len(shape)))
    other = tuple(1 if draw(st.booleans()) else s for s in shape[k:])
    return (shape, other) if draw(st.booleans()) else (other, shape)


def _draw(rng, shape, domain):
    x = rng.standard_normal(shape)
    return x if domain is None else domain(x)


@pytest.mark.parametrize("name", sorted(UNARY_PROPERTY))
@PROPERTY
@given(shape=SHAPES, seed=st.integers(0, 2**16))
@example(shape=(), seed=0)
@example(shape=(1, 3, 1), seed=1)
def test_unary_ops_property(name, shape, seed):
    fn, ref, domain = UNARY_PROPERTY[name]
    x = _draw(np.random.default_rng(seed), shape, domain)
    out = fn(T(x))
    np.testing.assert_allclose(out.numpy(), ref(x), rtol=1e-12, atol=1e-15)
    assert out.shape == np.shape(ref(x))
    assert gradcheck(fn, [T(x)])


@pytest.mark.parametrize("name", sorted(BINARY_PROPERTY))
@PROPERTY
@given(shapes=broadcastable_shapes(), seed=st.integers(0, 2**16))
@example(shapes=((), ()), seed=0)
@example(shapes=((), (2, 1, 3)), seed=1)
@example(shapes=((3, 1), (1,)), seed=2)
def test_binary_ops_property(name, shapes, seed):
    fn, ref, domain_a, domain_b = BINARY_PROPERTY[name]
    rng = np.random.default_rng(seed)
    a, b = _draw(rng, shapes[0], domain_a), _draw(rng, shapes[1], domain_b)
    if name in ("maximum", "minimum"):  # keep a tie's kink out of reach of the differences
        b = b + 0.2 * (np.abs(a - b) < 0.05)
    out = fn(T(a), T(b))
    assert out.shape == np.broadcast_shapes(a.shape, b.shape)
    np.testing.assert_allclose(out.numpy(), ref(a, b), rtol=1e-12, atol=1e-15)
    assert gradcheck(fn, [T(a), T(b)])


def _softmax_ref(x, axis):
    if x.ndim == 0:
        return np.ones_like(x)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _mean_ref(x, axis, keepdims):
    # NumPy's mean refuses an axis on a 0-d array; its sum accepts it (as minigrad and PyTorch)
    s = np.sum(x, axis=axis, keepdims=keepdims)
    return s / (x.size / max(s.size, 1)) if axis is not None else s / x.size


REDUCTIONS = {
    "sum": (lambda x, axis, k: x.sum(axis=axis, keepdims=k),
            lambda x, axis, k: np.sum(x, axis=axis, keepdims=k)),
    "mean": (lambda x, axis, k: x.mean(axis=axis, keepdims=k), _mean_ref),
    "max": (lambda x, axis, k: x.max(axis=axis, keepdims=k),
            lambda x, axis, k: np.max(x, axis=axis, keepdims=k)),
    "softmax": (lambda x, axis, k: x.softmax(axis=axis), lambda x, axis, k: _softmax_ref(x, axis)),
    "log_softmax": (lambda x, axis, k: x.log_softmax(axis=axis),
                    lambda x, axis, k: np.log(_softmax_ref(x, axis))),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@PROPERTY
@given(shape=SHAPES, keepdims=st.booleans(), axis_draw=st.one_of(st.none(), st.integers(-3, 2)),
       seed=st.integers(0, 2**16))
@example(shape=(), keepdims=False, axis_draw=None, seed=0)
@example(shape=(), keepdims=True, axis_draw=-1, seed=1)
@example(shape=(), keepdims=False, axis_draw=0, seed=2)
@example(shape=(3, 1), keepdims=False, axis_draw=1, seed=3)
def test_reductions_property(name, shape, keepdims, axis_draw, seed):
    fn, ref = REDUCTIONS[name]
    n = max(len(shape), 1)  # a 0-d tensor accepts axis 0 and -1, as in NumPy and PyTorch
    if axis_draw is None and name in ("softmax", "log_softmax"):
        axis_draw = -1
    axis = None if axis_draw is None else (axis_draw % (2 * n)) - n  # in [-n, n)
    x = np.random.default_rng(seed).standard_normal(shape)
    out = fn(T(x), axis, keepdims)
    expected = ref(x, axis, keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-15)
    assert gradcheck(lambda t: fn(t, axis, keepdims), [T(x)])
    if axis is not None:
        with pytest.raises(ValueError, match=f"{name}: axis {n} is out of range"):
            fn(T(x), n, keepdims)
