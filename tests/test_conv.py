"""conv2d, max_pool2d and batch_norm: gradients and second derivatives against central
differences in float64, forward values against plain loops, ties, and bad inputs."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import backend
from minigrad.ops.conv import col2im, im2col
from minigrad.testing import gradcheck, gradgradcheck

CUPY_OK, CUPY_WHY = backend.cupy_status()


def T(a, requires_grad=True):
    return mg.tensor(np.array(a, dtype=np.float64), requires_grad=requires_grad)


def conv_loops(x, w, b, stride, padding):
    """The definition, one output entry at a time."""
    (sh, sw), (ph, pw) = stride, padding
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw))
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    oh, ow = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
    y = np.zeros((n, o, oh, ow))
    for p in range(oh):
        for q in range(ow):
            patch = xp[:, :, sh * p:sh * p + kh, sw * q:sw * q + kw]
            y[:, :, p, q] = np.einsum("ncij,ocij->no", patch, w)
    return y if b is None else y + b[None, :, None, None]


# (x shape, out channels, kernel, stride, padding, bias): strides, paddings, channel counts,
# odd and non-square sizes, a batch of 1, windows that do not tile the input, a 1x1 kernel,
# a kernel as large as the padded input, and padding wider than the kernel.
CONV_CASES = [
    ((2, 3, 7, 6), 4, 3, 1, 1, True),
    ((1, 2, 5, 5), 3, 2, 2, 0, False),
    ((2, 1, 9, 8), 2, 3, 3, 2, True),
    ((1, 3, 6, 7), 2, (2, 3), (2, 1), (1, 0), True),
    ((3, 2, 4, 4), 1, 4, 1, 0, True),
    ((1, 4, 5, 3), 3, 1, 1, 0, True),
    ((2, 2, 3, 3), 2, 5, 2, 1, False),
    ((1, 2, 4, 5), 2, 2, (1, 2), (2, 3), True),  # padding wider than the kernel
]
CONV_IDS = [f"x{c[0]}-o{c[1]}-k{c[2]}-s{c[3]}-p{c[4]}" for c in CONV_CASES]


def conv_inputs(case, seed=0):
    shape, o, k, s, p, bias = case
    rng = np.random.default_rng(seed)
    k2 = k if isinstance(k, tuple) else (k, k)
    x = T(rng.standard_normal(shape))
    w = T(rng.standard_normal((o, shape[1]) + k2))
    b = T(rng.standard_normal(o)) if bias else None
    return x, w, b, s, p


@pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
def test_conv2d_forward_matches_the_definition(case):
    x, w, b, s, p = conv_inputs(case)
    y = mg.conv2d(x, w, b, stride=s, padding=p)
    pair = lambda v: v if isinstance(v, tuple) else (v, v)  # noqa: E731
    want = conv_loops(x.numpy(), w.numpy(), None if b is None else b.numpy(), pair(s), pair(p))
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
def test_conv2d_gradients_match_central_differences(case):
    x, w, b, s, p = conv_inputs(case)
    inputs = [x, w] if b is None else [x, w, b]
    fn = lambda x, w, b=None: mg.conv2d(x, w, b, stride=s, padding=p)  # noqa: E731
    assert gradcheck(fn, inputs)
    # conv2d is bilinear: its second derivatives are the cross terms d2/dx dw, which run
    # the input-gradient and weight-gradient ops' own backward; tanh adds curvature.
    assert gradgradcheck(fn, inputs)
    assert gradgradcheck(lambda *a: fn(*a).tanh(), inputs)


def test_conv2d_gradient_ops_differentiate_each_other_to_third_order():
    x, w, b, s, p = conv_inputs(CONV_CASES[0], seed=3)
    wx = mg.tensor(np.random.default_rng(4).standard_normal(x.shape))

    def weight_grad(x, w):  # d/dw of sum(conv(x, w) * v), itself differentiated below
        y = mg.conv2d(x.tanh(), w, stride=s, padding=p)
        (gw,) = mg.grad((y * y).sum(), [w], create_graph=True)
        return gw

    def input_grad(x, w):
        y = mg.conv2d(x, w.tanh(), stride=s, padding=p)
        (gx,) = mg.grad((y * y).sum(), [x], create_graph=True)
        return gx * wx

    for fn in (weight_grad, input_grad):
        assert gradcheck(fn, [x, w])
        assert gradgradcheck(fn, [x, w])


def test_conv2d_without_an_input_gradient_computes_only_the_weights():
    x, w, b, s, p = conv_inputs(CONV_CASES[0], seed=5)
    x0 = T(x.numpy(), requires_grad=False)
    mg.conv2d(x0, w, b, stride=s, padding=p).sum().backward()
    gw = w.grad.numpy().copy()
    w.grad = None
    mg.conv2d(x, w, b, stride=s, padding=p).sum().backward()
    np.testing.assert_array_equal(gw, w.grad.numpy())
    assert x0.grad is None and x.grad is not None


@pytest.mark.parametrize("shape,kernel,stride,padding", [
    ((2, 3, 5, 4), (2, 3), (1, 2), (1, 0)), ((1, 2, 6, 6), (3, 3), (2, 2), (1, 1)),
])
def test_col2im_is_the_adjoint_of_im2col(shape, kernel, stride, padding):
    """<im2col(x), c> = <x, col2im(c)>: the two are each other's transpose."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    cols = im2col(x, kernel, stride, padding)
    c = rng.standard_normal(cols.shape)
    np.testing.assert_allclose((cols * c).sum(),
                               (x * col2im(c, shape, kernel, stride, padding)).sum(), rtol=1e-12)


# ----- max pooling ---------------------------------------------------------------------------
POOL_CASES = [
    ((2, 3, 6, 6), 2, None), ((1, 2, 5, 7), 2, None), ((2, 1, 7, 6), 3, 1),
    ((1, 2, 6, 7), (2, 3), (1, 2)), ((1, 1, 5, 5), 3, 2), ((3, 2, 4, 4), 4, None),
]
POOL_IDS = [f"x{c[0]}-k{c[1]}-s{c[2]}" for c in POOL_CASES]


def pool_loops(x, kernel, stride):
    (kh, kw), (sh, sw) = kernel, stride
    n, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    y = np.zeros((n, c, oh, ow))
    for p in range(oh):
        for q in range(ow):
            y[:, :, p, q] = x[:, :, sh * p:sh * p + kh, sw * q:sw * q + kw].max(axis=(2, 3))
    return y


@pytest.mark.parametrize("shape,k,s", POOL_CASES, ids=POOL_IDS)
def test_max_pool2d_forward_and_gradients(shape, k, s):
    x = T(np.random.default_rng(1).standard_normal(shape))  # no ties (continuous values)
    k2 = k if isinstance(k, tuple) else (k, k)
    s2 = k2 if s is None else (s if isinstance(s, tuple) else (s, s))
    np.testing.assert_array_equal(mg.max_pool2d(x, k, s).numpy(), pool_loops(x.numpy(), k2, s2))
    assert gradcheck(lambda x: mg.max_pool2d(x, k, s), [x])
    # The square makes the upstream gradient depend on x: the second derivative runs the
    # scatter's own backward (a gather at the same places).
    assert gradgradcheck(lambda x: mg.max_pool2d(x, k, s) ** 2, [x])


def test_max_pool2d_ties_go_to_the_first_entry_in_row_major_order():
    x = T([[[[1.0, 3.0, 0.0, 0.0],
             [3.0, 3.0, 0.0, 0.0]]]])  # window 1: three 3s; window 2: all zeros
    mg.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[[[0.0, 1.0, 1.0, 0.0],
                                                      [0.0, 0.0, 0.0, 0.0]]]])


def test_max_pool2d_overlapping_windows_add_their_gradients():
    x = np.random.default_rng(2).uniform(0.0, 1.0, (1, 1, 5, 5))
    x[0, 0, 2, 2] = 10.0  # the maximum of every 3x3 window
    x = T(x)
    mg.max_pool2d(x, 3, 1).sum().backward()
    want = np.zeros((5, 5))
    want[2, 2] = 9.0  # one gradient from each of the 9 windows
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], want)


# ----- batch normalisation -------------------------------------------------------------------
def bn_inputs(shape, seed=0):
    rng = np.random.default_rng(seed)
    c = shape[1]
    return (T(rng.standard_normal(shape) * 2.0 + 1.0), T(rng.standard_normal(c)),
            T(rng.standard_normal(c)))


@pytest.mark.parametrize("shape", [(3, 2, 3, 4), (1, 3, 2, 3), (5, 3)])
def test_batch_norm_training_gradients(shape):
    x, w, b = bn_inputs(shape)
    fn = lambda x, w, b: mg.batch_norm(x, None, None, w, b, training=True)  # noqa: E731
    assert gradcheck(fn, [x, w, b])
    assert gradgradcheck(fn, [x, w, b])
    assert gradcheck(lambda x: mg.batch_norm(x, training=True), [x])  # no affine part


def test_batch_norm_evaluation_gradients_and_values():
    x, w, b = bn_inputs((2, 3, 3, 2), seed=1)
    rng = np.random.default_rng(2)
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2.0, 3)
    fn = lambda x, w, b: mg.batch_norm(x, mean, var, w, b, training=False)  # noqa: E731
    assert gradcheck(fn, [x, w, b])
    assert gradgradcheck(fn, [x, w, b])
    shape = (1, 3, 1, 1)
    want = ((x.numpy() - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + 1e-5)
            * w.numpy().reshape(shape) + b.numpy().reshape(shape))
    np.testing.assert_allclose(fn(x, w, b).numpy(), want, rtol=1e-12)


def test_batch_norm_training_normalises_and_updates_the_running_statistics():
    x, w, b = bn_inputs((4, 2, 3, 3), seed=3)
    running_mean, running_var = np.array([0.5, -1.0]), np.array([2.0, 0.5])
    rm0, rv0 = running_mean.copy(), running_var.copy()
    y = mg.batch_norm(x, running_mean, running_var, None, None, training=True, momentum=0.25,
                      eps=0.0)
    xs = x.numpy()
    mean, var = xs.mean(axis=(0, 2, 3)), xs.var(axis=(0, 2, 3))  # biased, for normalising
    np.testing.assert_allclose(y.numpy().mean(axis=(0, 2, 3)), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.numpy().var(axis=(0, 2, 3)), 1.0, rtol=1e-12)
    m = xs.size // 2
    np.testing.assert_allclose(running_mean, 0.75 * rm0 + 0.25 * mean, rtol=1e-12)
    np.testing.assert_allclose(running_var, 0.75 * rv0 + 0.25 * var * m / (m - 1), rtol=1e-12)


# ----- bad inputs ----------------------------------------------------------------------------
def test_conv2d_bad_inputs_say_what_was_given_and_expected():
    x, w = T(np.ones((2, 3, 5, 5))), T(np.ones((4, 3, 3, 3)))
    with pytest.raises(ValueError, match=r"conv2d: input must have shape \(N, C, H, W\) \(4 dims"
                                         r"\), got shape \(3, 5, 5\)"):
        mg.conv2d(T(np.ones((3, 5, 5))), w)
    with pytest.raises(ValueError, match=r"conv2d: weight must have shape .* got shape \(4, 3\)"):
        mg.conv2d(x, T(np.ones((4, 3))))
    with pytest.raises(ValueError, match=r"conv2d: input has 3 channels but weight "
                                         r"\(4, 2, 3, 3\) expects 2"):
        mg.conv2d(x, T(np.ones((4, 2, 3, 3))))
    with pytest.raises(ValueError, match=r"conv2d: kernel 3x3 is larger than the padded input "
                                         r"2x7 \(input 2x5, padding 0x1\)"):
        mg.conv2d(T(np.ones((1, 3, 2, 5))), w, padding=(0, 1))
    with pytest.raises(ValueError, match=r"conv2d: stride must be >= 1, got 0"):
        mg.conv2d(x, w, stride=0)
    with pytest.raises(ValueError, match=r"conv2d: stride must be >= 1, got \(1, -2\)"):
        mg.conv2d(x, w, stride=(1, -2))
    with pytest.raises(ValueError, match=r"conv2d: padding must be >= 0, got -1"):
        mg.conv2d(x, w, padding=-1)
    with pytest.raises(TypeError, match=r"conv2d: stride must be an int or a pair of ints, "
                                        r"got 1.5"):
        mg.conv2d(x, w, stride=1.5)
    with pytest.raises(ValueError, match=r"conv2d: bias has shape \(3,\), expected \(4,\)"):
        mg.conv2d(x, w, T(np.ones(3)))
    with pytest.raises(TypeError, match=r"conv2d: inputs have different dtypes "
                                        r"\(cpu/float64, cpu/float32\)"):
        mg.conv2d(x, w.astype("float32"))
    with pytest.raises(TypeError, match=r"conv2d: input must be a Tensor, got ndarray"):
        mg.conv2d(np.ones((2, 3, 5, 5)), w)


def test_max_pool2d_bad_inputs():
    x = T(np.ones((1, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"max_pool2d: input must have shape \(N, C, H, W\)"):
        mg.max_pool2d(T(np.ones((2, 3, 3))), 2)
    with pytest.raises(ValueError, match=r"max_pool2d: kernel 4x4 is larger than the padded "
                                         r"input 3x3"):
        mg.max_pool2d(x, 4)
    with pytest.raises(ValueError, match=r"max_pool2d: kernel_size must be >= 1, got 0"):
        mg.max_pool2d(x, 0)
    with pytest.raises(ValueError, match=r"max_pool2d: stride must be >= 1, got 0"):
        mg.max_pool2d(x, 2, stride=0)


def test_batch_norm_bad_inputs():
    x, w, b = bn_inputs((2, 3, 2, 2))
    rm, rv = np.zeros(3), np.ones(3)
    with pytest.raises(ValueError, match=r"batch_norm: input must have shape \(N, C, H, W\) or "
                                         r"\(N, C\), got shape \(2, 3, 2\)"):
        mg.batch_norm(T(np.ones((2, 3, 2))), rm, rv, training=True)
    with pytest.raises(ValueError, match=r"batch_norm: weight has shape \(2,\), expected \(3,\)"):
        mg.batch_norm(x, rm, rv, T(np.ones(2)), b, training=True)
    with pytest.raises(ValueError, match=r"batch_norm: running_var has shape \(4,\), "
                                         r"expected \(3,\)"):
        mg.batch_norm(x, rm, np.ones(4), training=True)
    with pytest.raises(TypeError, match=r"batch_norm: running_mean is a cpu/float32 array, "
                                        r"expected cpu/float64"):
        mg.batch_norm(x, rm.astype(np.float32), rv, training=True)
    with pytest.raises(TypeError, match=r"batch_norm: inputs have different dtypes"):
        mg.batch_norm(x, rm, rv, w.astype("float32"), b, training=True)
    with pytest.raises(ValueError, match=r"batch_norm: training needs more than 1 value per "
                                         r"channel, got input shape \(1, 3, 1, 1\)"):
        mg.batch_norm(T(np.ones((1, 3, 1, 1))), training=True)
    with pytest.raises(ValueError, match=r"batch_norm: evaluation \(training=False\) needs "
                                         r"running_mean and running_var"):
        mg.batch_norm(x)
    with pytest.raises(ValueError, match=r"give both running_mean and running_var"):
        mg.batch_norm(x, rm, None, training=True)


# ----- against PyTorch, op by op (the whole network is in test_nn_conv.py) -------------------
def test_ops_match_torch_functional():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    for case in CONV_CASES:
        x, w, b, s, p = conv_inputs(case, seed=7)
        y = mg.conv2d(x, w, b, stride=s, padding=p)
        (y * y).sum().backward()
        tx, tw = (torch.from_numpy(t.numpy()).requires_grad_() for t in (x, w))
        tb = None if b is None else torch.from_numpy(b.numpy()).requires_grad_()
        ty = F.conv2d(tx, tw, tb, stride=s, padding=p)
        (ty * ty).sum().backward()
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
        for ours, theirs in ((x, tx), (w, tw), (b, tb)):
            if ours is not None:
                np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-11,
                                           atol=1e-12)
    # pooling with many ties (small integers): PyTorch's CPU kernel also picks the first
    rng = np.random.default_rng(8)
    for shape, k, s in POOL_CASES:
        x = T(rng.integers(0, 3, shape))
        mg.max_pool2d(x, k, s).sum().backward()
        tx = torch.from_numpy(x.numpy()).requires_grad_()
        F.max_pool2d(tx, k, s).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


# ----- on a GPU ------------------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.skipif(not CUPY_OK, reason=f"no GPU: {CUPY_WHY}")
def test_ops_on_cupy_give_the_cpu_numbers():
    x, w, b, s, p = conv_inputs(CONV_CASES[0], seed=9)
    rm, rv = np.zeros(4), np.ones(4)
    gamma, beta = T(np.full(4, 1.5)), T(np.full(4, 0.5))

    def run(x, w, b, gamma, beta, rm, rv):
        y = mg.conv2d(x, w, b, stride=s, padding=p)
        y = mg.batch_norm(y, rm, rv, gamma, beta, training=True)
        loss = (mg.max_pool2d(y.relu(), 2) ** 2).sum()
        loss.backward()
        return [loss.numpy()] + [t.grad.numpy() for t in (x, w, b, gamma, beta)]

    cpu = run(x, w, b, gamma, beta, rm, rv)
    on_gpu = [mg.tensor(t.numpy(), requires_grad=True).to("cuda") for t in (x, w, b, gamma, beta)]
    rm_gpu, rv_gpu = (backend.to_device(a, "cuda") for a in (np.zeros(4), np.ones(4)))
    gpu = run(*on_gpu, rm_gpu, rv_gpu)
    for a, b_ in zip(cpu, gpu):
        np.testing.assert_allclose(b_, a, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(backend.to_device(rv_gpu, "cpu"), rv, rtol=1e-12)
