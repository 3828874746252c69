"""LSTM cells and stacks: gradient checks through h and c, fused == composed, PyTorch parity,
initialisation, truncated BPTT, and learning the adding problem."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.nn import functional as F
from minigrad.nn.fused_lstm import fused_lstm_cell
from minigrad.testing import gradcheck, gradgradcheck


def _tensor(a, dtype, requires_grad=False):
    return mg.tensor(np.asarray(a), dtype=dtype, requires_grad=requires_grad)


def _unroll_fn(lstm):
    """fn(xs, h0, c0, h1, c1, *params) -> every top output and the final (h, c) of each layer,
    concatenated: the gradient must flow through h AND c at every step."""

    def fn(xs, h0, c0, h1, c1, *params):
        outputs, state = lstm(xs, [(h0, c0), (h1, c1)])
        parts = [outputs.reshape(-1)] + [t.reshape(-1) for hc in state for t in hc]
        return mg.concatenate(parts)

    return fn


@pytest.mark.parametrize("fused", [False, True], ids=["composed", "fused"])
def test_gradcheck_two_layer_lstm_unrolled_10_steps(fused):
    rng = np.random.default_rng(0)
    T, B, In, H = 10, 2, 1, 2  # small, so 2 x 124 forward passes stay quick
    lstm = nn.LSTM(In, H, num_layers=2, forget_bias=1.0, fused=fused, seed=1, dtype="float64")
    for p in lstm.parameters():  # larger weights: saturating gates would hide mistakes less
        p.data *= 2.0
    xs = _tensor(rng.standard_normal((T, B, In)), "float64", True)
    states = [_tensor(0.5 * rng.standard_normal((B, H)), "float64", True) for _ in range(4)]
    assert gradcheck(_unroll_fn(lstm), [xs, *states, *lstm.parameters()])


def _loss_and_grads(lstm, xs, states, w_out, w_c):
    """A loss touching every output and the final c of both layers; returns its value, the
    outputs and the gradients of params, inputs and initial states."""
    lstm.zero_grad()
    for t in [xs, *states]:
        t.grad = None
    outputs, state = lstm(xs, [(states[0], states[1]), (states[2], states[3])])
    loss = (outputs * w_out).sum() + (state[0][1] * w_c).sum() + (state[1][1] * w_c).sum()
    loss.backward()
    grads = [p.grad.numpy() for p in lstm.parameters()] + [t.grad.numpy() for t in [xs, *states]]
    return loss.item(), outputs.numpy(), [s.numpy() for hc in state for s in hc], grads


@pytest.mark.parametrize("dtype,rtol,atol", [("float64", 1e-10, 1e-12), ("float32", 2e-4, 2e-5)])
def test_fused_and_composed_agree_forward_and_every_gradient(dtype, rtol, atol):
    rng = np.random.default_rng(3)
    T, B, In, H = 6, 50, 3, 8
    xs = _tensor(rng.standard_normal((T, B, In)), dtype, True)
    states = [_tensor(rng.standard_normal((B, H)), dtype, True) for _ in range(4)]
    w_out = _tensor(rng.standard_normal((T, B, H)), dtype)
    w_c = _tensor(rng.standard_normal((B, H)), dtype)
    lstm = nn.LSTM(In, H, num_layers=2, forget_bias=1.0, seed=4, dtype=dtype)
    results = {}
    for fused in (False, True):
        lstm.fused = fused
        results[fused] = _loss_and_grads(lstm, xs, states, w_out, w_c)
    (l0, o0, s0, g0), (l1, o1, s1, g1) = results[False], results[True]
    np.testing.assert_allclose(l1, l0, rtol=rtol)
    np.testing.assert_allclose(o1, o0, rtol=rtol, atol=atol)
    for a, b in zip(s1, s0):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    names = [n for n, _ in lstm.named_parameters()] + ["xs", "h0", "c0", "h1", "c1"]
    for name, a, b in zip(names, g1, g0):
        assert a.dtype == np.dtype(dtype), name
        scale = max(np.abs(b).max(), 1.0)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol * scale, err_msg=name)


def test_fused_cell_partial_requires_grad_no_bias_and_plain_layouts():
    """x without grad, C-contiguous user states, no biases: same as the composed cell."""
    rng = np.random.default_rng(5)
    B, In, H = 7, 4, 5
    x = _tensor(rng.standard_normal((B, In)), "float64")
    h = _tensor(rng.standard_normal((B, H)), "float64")
    c = _tensor(rng.standard_normal((B, H)), "float64", True)
    w_ih = _tensor(rng.standard_normal((4 * H, In)), "float64", True)
    w_hh = _tensor(rng.standard_normal((4 * H, H)), "float64", True)
    out = {}
    for name, cell in (("composed", F.lstm_cell), ("fused", fused_lstm_cell)):
        h2, c2 = cell(x, h, c, w_ih, w_hh)
        loss = (h2 * h2).sum() + c2.sum()
        out[name] = [loss.item(), *(g.numpy() for g in mg.grad(loss, [c, w_ih, w_hh]))]
    for a, b in zip(out["fused"], out["composed"]):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    # A zero state given as None.
    for cell in (F.lstm_cell, fused_lstm_cell):
        h1, c1 = cell(x, None, None, w_ih, w_hh)
        h0, c0 = F.lstm_cell(x, mg.zeros((B, H), "float64"), mg.zeros((B, H), "float64"),
                             w_ih, w_hh)
        np.testing.assert_allclose(h1.numpy(), h0.numpy(), rtol=1e-12)
        np.testing.assert_allclose(c1.numpy(), c0.numpy(), rtol=1e-12)


def test_fused_bias_gradients_are_separate_arrays():
    cell = nn.LSTMCell(3, 4, seed=0)
    h, c = cell(mg.tensor(np.ones((2, 3)), dtype="float32"))
    (h.sum() + c.sum()).backward()
    np.testing.assert_array_equal(cell.bias_ih.grad.numpy(), cell.bias_hh.grad.numpy())
    assert cell.bias_ih.grad.data is not cell.bias_hh.grad.data


def test_fused_cell_refuses_double_backward_composed_supports_it():
    rng = np.random.default_rng(6)
    cell = nn.LSTMCell(2, 3, seed=0, dtype="float64")
    x = _tensor(rng.standard_normal((4, 2)), "float64", True)
    h, c = cell(x)
    with pytest.raises(RuntimeError, match="composed"):
        mg.grad((h * h).sum(), x, create_graph=True)
    cell.fused = False
    params = cell.parameters()
    assert gradgradcheck(lambda x, *ps: cell(x)[0], [x, *params])


def test_forget_bias_is_added_to_bias_ih_forget_slice_only():
    H = 5
    plain = nn.LSTMCell(3, H, seed=7)
    shifted = nn.LSTMCell(3, H, forget_bias=1.0, seed=7)
    diff = shifted.bias_ih.numpy() - plain.bias_ih.numpy()
    expected = np.zeros(4 * H, dtype=np.float32)
    expected[H:2 * H] = 1.0
    np.testing.assert_allclose(diff, expected, atol=1e-6)
    np.testing.assert_array_equal(shifted.bias_hh.numpy(), plain.bias_hh.numpy())
    np.testing.assert_array_equal(shifted.weight_ih.numpy(), plain.weight_ih.numpy())
    stack = nn.LSTM(3, H, num_layers=2, forget_bias=1.0, init="zeros")
    for k in range(2):
        np.testing.assert_array_equal(getattr(stack, f"bias_ih_l{k}").numpy(), expected)
    with pytest.raises(ValueError, match="bias"):
        nn.LSTMCell(3, H, bias=False, forget_bias=1.0)


def test_lstm_initialisation_schemes():
    In, H = 30, 20
    torch_like = nn.LSTM(In, H, num_layers=2, seed=0)
    k = 1 / np.sqrt(H)
    for name, p in torch_like.named_parameters():
        a = p.numpy()
        assert np.abs(a).max() <= k, name
        if a.size >= 1000:
            assert abs(a.var() / (k * k / 3) - 1) < 0.1, name
    l2l = nn.LSTM(In, H, num_layers=2, init="l2l", seed=0)
    for layer, fan_in in ((0, In + H), (1, H + H)):
        std = 1 / np.sqrt(fan_in)
        w = np.concatenate([l2l.layer_parameters(layer)[0].numpy(),
                            l2l.layer_parameters(layer)[1].numpy()], axis=1)
        assert np.abs(w).max() <= 2 * std + 1e-7
        assert abs(w.std() / (0.8796 * std) - 1) < 0.06  # truncation at 2 std: factor 0.8796
        b = l2l.layer_parameters(layer)[2].numpy()
        assert np.abs(b).max() <= 2 * std + 1e-7 and b.any()
    with pytest.raises(ValueError, match="unknown LSTM init"):
        nn.LSTM(3, 4, init="orthogonal")


def test_parameter_names_shapes_and_api():
    lstm = nn.LSTM(2, 20, num_layers=2, seed=0)
    assert [(n, p.shape) for n, p in lstm.named_parameters()] == [
        ("weight_ih_l0", (80, 2)), ("weight_hh_l0", (80, 20)), ("bias_ih_l0", (80,)),
        ("bias_hh_l0", (80,)), ("weight_ih_l1", (80, 20)), ("weight_hh_l1", (80, 20)),
        ("bias_ih_l1", (80,)), ("bias_hh_l1", (80,))]
    cell = nn.LSTMCell(2, 20, seed=0)
    assert [n for n, _ in cell.named_parameters()] == ["weight_ih", "weight_hh", "bias_ih",
                                                       "bias_hh"]
    x = mg.tensor(np.ones((5, 2)), dtype="float32")
    h_top, state = lstm.step(x)
    assert h_top.shape == (5, 20) and len(state) == 2
    assert all(t.shape == (5, 20) for hc in state for t in hc)
    h_again, _ = lstm.step(x, lstm.zero_state(5))
    np.testing.assert_array_equal(h_again.numpy(), h_top.numpy())
    outputs, state = lstm(mg.tensor(np.ones((3, 5, 2)), dtype="float32"))
    assert outputs.shape == (3, 5, 20)
    with pytest.raises(ValueError, match="expected 2"):
        lstm.step(x, state[:1])
    with pytest.raises(ValueError, match=r"\(T, B, input_size\)"):
        lstm(x)
    with pytest.raises(ValueError, match="weight_ih"):
        lstm.step(mg.tensor(np.ones((5, 3)), dtype="float32"))
    with pytest.raises(ValueError, match="h has shape"):
        fused_lstm_cell(x, mg.zeros((4, 20)), None, *lstm.layer_parameters(0))
    assert nn.LSTM(2, 3, bias=False).layer_parameters(0)[2] is None
    # Positional order: (input, hidden, num_layers, forget_bias, fused, rng).
    positional = nn.LSTM(2, 4, 2, 1.0, False, 5)
    assert positional.forget_bias == 1.0 and positional.fused is False
    np.testing.assert_array_equal(positional.weight_ih_l0.numpy(),
                                  nn.LSTM(2, 4, num_layers=2, seed=5).weight_ih_l0.numpy())
    cell = nn.LSTMCell(2, 4, True, 1.0, False, 5)
    assert cell.forget_bias == 1.0 and cell.fused is False
    assert "num_layers=2" in repr(lstm)


def test_matches_torch_lstm_by_name_when_torch_is_installed():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    T, B, In, H = 5, 6, 3, 4
    ours = nn.LSTM(In, H, num_layers=2, forget_bias=1.0, seed=9, dtype="float64")
    ref = torch.nn.LSTM(In, H, num_layers=2).double()
    ref.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    xs = rng.standard_normal((T, B, In))
    for fused in (True, False):
        ours.fused = fused
        ours.zero_grad()
        out, state = ours(mg.tensor(xs))
        (out.sum() + state[1][1].sum()).backward()
        ref.zero_grad()
        t_out, (t_h, t_c) = ref(torch.from_numpy(xs))
        (t_out.sum() + t_c[1].sum()).backward()
        np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=1e-12)
        for k in range(2):
            np.testing.assert_allclose(state[k][0].numpy(), t_h[k].detach().numpy(), rtol=1e-12)
            np.testing.assert_allclose(state[k][1].numpy(), t_c[k].detach().numpy(), rtol=1e-12)
        for name, p in ours.named_parameters():
            np.testing.assert_allclose(p.grad.numpy(), getattr(ref, name).grad.numpy(),
                                       rtol=1e-10, atol=1e-13, err_msg=name)


def test_truncated_bptt_detach_state_cuts_the_gradient():
    rng = np.random.default_rng(10)
    T, B, In, H = 4, 3, 2, 5
    lstm = nn.LSTM(In, H, num_layers=2, seed=11, dtype="float64")
    x1 = _tensor(rng.standard_normal((T, B, In)), "float64", True)
    x2 = _tensor(rng.standard_normal((T, B, In)), "float64", True)

    def chunk_two_grads(state):
        lstm.zero_grad()
        out2, _ = lstm(x2, state)
        (out2 * out2).sum().backward()
        return [p.grad.numpy().copy() for p in lstm.parameters()]

    out1, state1 = lstm(x1)
    loss1 = out1.sum()
    carried = nn.detach_state(state1)
    assert all(t.is_leaf and not t.requires_grad for hc in carried for t in hc)
    for hc_a, hc_b in zip(carried, state1):
        for a, b in zip(hc_a, hc_b):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    grads_cut = chunk_two_grads(carried)
    assert x1.grad is None  # nothing reached chunk one
    # The same as starting chunk two from constants holding those values.
    constants = [tuple(mg.tensor(t.numpy().copy()) for t in hc) for hc in state1]
    for a, b in zip(grads_cut, chunk_two_grads(constants)):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    # Chunk one's graph is untouched: its own backward still works and gives its own gradient.
    lstm.zero_grad()
    loss1.backward()
    g1 = x1.grad.numpy().copy()
    x1.grad = None
    fresh, _ = lstm(x1)
    fresh.sum().backward()
    np.testing.assert_allclose(g1, x1.grad.numpy(), rtol=1e-12)
    # Without the cut the gradient does reach chunk one (so the test above can fail).
    x1.grad = None
    out1, state1 = lstm(x1)
    chunk_two_grads(state1)
    assert x1.grad is not None and np.abs(x1.grad.numpy()).max() > 0
    assert nn.detach_state(None) is None
    with pytest.raises(TypeError, match="detach_state"):
        nn.detach_state({"h": 1})


def adding_problem(rng, batch, steps):
    """Inputs (T, B, 2): a value ~ U[0, 1) and a marker (1 at two random steps, else 0);
    target: the sum of the two marked values. Predicting the mean 1.0 gives MSE 1/6 = 0.167."""
    values = rng.random((steps, batch))
    markers = (rng.random((steps, batch)).argsort(axis=0) < 2).astype(np.float64)
    x = np.stack([values, markers], axis=-1).astype(np.float32)
    y = (values * markers).sum(axis=0)[:, None].astype(np.float32)
    return x, y


@pytest.mark.slow
def test_lstm_learns_the_adding_problem():
    """T = 15, an LSTM(2, 20) and a linear read-out of the last h, Adam lr 0.02, 500 batches
    of 64: test MSE < 0.01 on 1,000 fresh sequences (the trivial predictor scores 0.167; this
    reaches about 0.001). A few seconds on one core."""
    steps = 15
    rng = np.random.default_rng(0)
    lstm = nn.LSTM(2, 20, seed=0)
    head = nn.Linear(20, 1, seed=100)
    opt = optim.Adam(lstm.parameters() + head.parameters(), lr=0.02)
    x_test, y_test = adding_problem(np.random.default_rng(123), 1000, steps)
    assert abs(float(((y_test - 1.0) ** 2).mean()) - 1 / 6) < 0.02
    for _ in range(500):
        x, y = adding_problem(rng, 64, steps)
        outputs, _ = lstm(mg.tensor(x))
        loss = mg.mse_loss(head(outputs[-1]), mg.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with mg.no_grad():
        outputs, _ = lstm(mg.tensor(x_test))
        mse = mg.mse_loss(head(outputs[-1]), mg.tensor(y_test)).item()
    assert mse < 0.01, f"test MSE {mse:.4f}"


@pytest.mark.gpu
def test_fused_cell_on_gpu_matches_cpu():
    import cupy

    rng = np.random.default_rng(12)
    B, In, H = 300, 2, 20
    arrays = [rng.standard_normal(s).astype(np.float32)
              for s in [(B, In), (B, H), (B, H), (4 * H, In), (4 * H, H), (4 * H,), (4 * H,)]]
    results = []
    for device in ("cpu", "cuda"):
        ts = [mg.Tensor(a, requires_grad=True).to(device) for a in arrays]
        h, c = fused_lstm_cell(*ts)
        grads = mg.grad((h * h).sum() + c.sum(), ts)
        results.append([h.numpy(), c.numpy()] + [g.numpy() for g in grads])
        assert device == "cpu" or isinstance(h.data, cupy.ndarray)
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("block", [1, 3, 7, 19, 20, 64])
def test_fused_cell_in_blocks_gives_the_same_values_and_gradients(block):
    """The cell works on blocks of coordinates (cache-sized in real use); any block size, even
    one that does not divide the batch, gives the one-block result (float64: to rounding)."""
    rng = np.random.default_rng(13)
    B, In, H = 20, 3, 4
    arrays = [rng.standard_normal(s) for s in
              [(B, In), (B, H), (B, H), (4 * H, In), (4 * H, H), (4 * H,), (4 * H,)]]
    w_h, w_c = rng.standard_normal((B, H)), rng.standard_normal((B, H))
    results = []
    for size in (B, block):
        ts = [mg.Tensor(a, requires_grad=True) for a in arrays]
        h, c = fused_lstm_cell(*ts, block=size)
        loss = (h * mg.tensor(w_h)).sum() + (c * c * mg.tensor(w_c)).sum()
        results.append([h.numpy(), c.numpy()] + [g.numpy() for g in mg.grad(loss, ts)])
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14)


def test_the_composed_lstm_imports_nothing_from_the_fused_path():
    """import minigrad.nn, and a composed LSTM's forward and backward, leave the fused cell's
    module (and its thread machinery) unloaded; a fused step loads it."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, minigrad as mg\n"
        "from minigrad import nn\n"
        "lstm = nn.LSTM(2, 3, num_layers=2, fused=False)\n"
        "out, _ = lstm(mg.tensor(np.ones((4, 5, 2), np.float32)))\n"
        "out.sum().backward()\n"
        "fast = ('minigrad.nn.fused_lstm', 'minigrad.threads')\n"
        "print(sorted(m for m in sys.modules if m in fast))\n"
        "lstm.fused = True\n"
        "lstm(mg.tensor(np.ones((4, 5, 2), np.float32)))\n"
        "print('minigrad.nn.fused_lstm' in sys.modules)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.split("\n")[:2] == ["[]", "True"], res.stdout + res.stderr


def test_zero_state_is_plain_zeros_of_batch_by_hidden():
    lstm = nn.LSTM(2, 3, num_layers=2)
    state = lstm.zero_state(5)
    assert len(state) == 2
    for h, c in state:
        for t in (h, c):
            assert t.shape == (5, 3) and t.data.flags.c_contiguous and not t.data.any()
