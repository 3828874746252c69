"""Lesson 04 helpers: the RNN, gradient flow, the LSTM exercise and its check, fused versus
composed cells, truncated BPTT, the explorers (headless) and the adding problem."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad import nn  # noqa: E402
from minigrad.course import check, checks  # noqa: E402
from minigrad.course import lesson04 as L  # noqa: E402
from minigrad.nn.fused_lstm import fused_lstm_cell  # noqa: E402
from minigrad.testing import gradcheck  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _f64(a, requires_grad=False):
    return mg.tensor(np.asarray(a), dtype="float64", requires_grad=requires_grad)


# --------------------------------------------------------------------------------------------
# The RNN


def test_rnn_forward_matches_numpy_and_records_seven_ops_per_step():
    rng = np.random.default_rng(0)
    p = L.rnn_params(3, 5, gain=1.2, seed=1)
    xs = rng.standard_normal((4, 2, 3))
    hs = L.rnn_forward([_f64(x) for x in xs], p)
    h = np.zeros((2, 5))
    W_xh, W_hh, b = (p[k].numpy() for k in ("W_xh", "W_hh", "b"))
    for t in range(4):
        h = np.tanh(xs[t] @ W_xh.T + h @ W_hh.T + b)
        np.testing.assert_allclose(hs[t].numpy(), h, rtol=1e-12)
    assert L.count_graph_nodes(hs[-1]) == 7 * 4
    # a given h0 is used; a (T, B, I) tensor works as well as a list
    h0 = _f64(np.ones((2, 5)))
    a = L.rnn_forward(_f64(xs), p, h0)[-1].numpy()
    assert not np.allclose(a, hs[-1].numpy())


def test_rnn_params_gain_sets_the_spectral_radius():
    for gain in (0.5, 2.0):
        W = L.rnn_params(2, 100, gain=gain, seed=3)["W_hh"].numpy()
        radius = np.abs(np.linalg.eigvals(W)).max()
        assert radius == pytest.approx(gain, rel=0.2)


def test_bptt_through_an_unrolled_rnn_passes_gradcheck():
    p = L.rnn_params(2, 3, gain=1.5, seed=4)
    xs = [_f64(x) for x in np.random.default_rng(5).standard_normal((5, 2, 2))]

    def loss(W_xh, W_hh, b):
        hs = L.rnn_forward(xs, {"W_xh": W_xh, "W_hh": W_hh, "b": b})
        return (hs[-1] ** 2).sum() + hs[1].sum()

    assert gradcheck(loss, [p["W_xh"], p["W_hh"], p["b"]])


# --------------------------------------------------------------------------------------------
# Gradient flow


def test_gradient_flow_vanishes_and_explodes_as_the_lesson_says():
    norm = {g: L.gradient_flow("rnn", 60, gain=g)["norm"] for g in (0.5, 1.0, 3.0)}
    assert norm[0.5][0] / norm[0.5][-1] < 1e-15
    assert norm[1.0][0] / norm[1.0][-1] < 1e-6
    assert norm[3.0][0] / norm[3.0][-1] > 1e3
    lstm0 = L.gradient_flow("lstm", 60, forget_bias=0.0)["norm"]
    lstm3 = L.gradient_flow("lstm", 60, forget_bias=3.0)["norm"]
    assert lstm0[0] / lstm0[-1] < 1e-6
    assert 1e-2 < lstm3[0] / lstm3[-1] < 1e2


def test_gradient_flow_matches_a_finite_difference_and_reports_lags():
    res = L.gradient_flow("rnn", 6, hidden=4, gain=1.3, seed=7)
    assert list(res["lag"]) == [5, 4, 3, 2, 1, 0] and res["norm"].shape == (6,)
    # rebuild the same run and perturb x_1 along its gradient direction
    rng = np.random.default_rng(7)
    xs = rng.standard_normal((6, 1, 2))
    u = rng.standard_normal((1, 4)) / 2.0
    p = L.rnn_params(2, 4, 1.3, seed=8)

    def loss(x1):
        seq = [_f64(x1)] + [_f64(x) for x in xs[1:]]
        return float((L.rnn_forward(seq, p)[-1].numpy() * u).sum())

    eps = 1e-6
    grad = np.array([[(loss(xs[0] + eps * e) - loss(xs[0] - eps * e)) / (2 * eps)
                      for e in np.eye(2)]])
    assert res["norm"][0] == pytest.approx(np.linalg.norm(grad), rel=1e-6)


def test_gradient_flow_uses_a_given_cell_and_rejects_unknown_kinds():
    calls = []

    def cell(*args):
        calls.append(1)
        return L.lstm_cell(*args)

    mine = L.gradient_flow("lstm", 8, forget_bias=1.0, cell=cell)
    assert len(calls) == 8
    np.testing.assert_allclose(mine["norm"], L.gradient_flow("lstm", 8, forget_bias=1.0)["norm"],
                               rtol=1e-10)
    with pytest.raises(ValueError, match="kind must be"):
        L.gradient_flow("gru")
    fig = L.plot_gradient_flow([mine, L.gradient_flow("rnn", 8)])
    assert len(fig.axes[0].lines) == 2


def test_gradient_flow_explorer_responds_to_its_sliders():
    ex = L.make_gradient_flow_explorer(gain=1.0, forget_bias=0.0, T=30)
    assert set(ex.controls) == {"gain", "forget_bias", "T"}
    before = ex.result["rnn"]["norm"][0]
    ex.controls["gain"].value = 3.0
    assert ex.result["rnn"]["gain"] == 3.0 and ex.result["rnn"]["norm"][0] > 1e3 * before
    ex.controls["forget_bias"].value = 3.0
    assert ex.result["lstm"]["forget_bias"] == 3.0
    ex.controls["T"].value = 50
    assert len(ex.result["rnn"]["norm"]) == len(ex.result["lstm"]["norm"]) == 50


# --------------------------------------------------------------------------------------------
# The LSTM cell: exercise 04.1, the fused cell


def test_reference_cell_equals_library_cells_values_and_gradients():
    for other in (nn.functional.lstm_cell, fused_lstm_cell):
        diffs = L.compare_cells(L.lstm_cell, other, batch=4, input_size=3, hidden=5, seed=9)
        assert set(diffs) == {"h", "c", "d x", "d h", "d c", "d weight_ih", "d weight_hh",
                              "d bias_ih", "d bias_hh"}
        assert max(diffs.values()) < 1e-12


def test_compare_cells_detects_a_difference():
    def leaky(*args):
        h, c = L.lstm_cell(*args)
        return h, c * 1.001

    diffs = L.compare_cells(L.lstm_cell, leaky)
    assert diffs["h"] < 1e-14 and diffs["c"] > 1e-4 and diffs["d c"] > 1e-5


def test_graph_node_counts():
    inputs = L.random_cell_inputs(2, 3, 4)
    assert L.count_graph_nodes(*L.lstm_cell(*inputs)) == 20
    assert L.count_graph_nodes(*fused_lstm_cell(*inputs)) == 5
    assert L.count_graph_nodes(_f64([1.0], True)) == 0


def test_time_cells_reports_both_cells():
    t = L.time_cells(batch=50, hidden=4, steps=2, repeats=1)
    assert set(t) == {"composed", "fused"} and all(v > 0 for v in t.values())


def _verdict(capsys, fn):
    got = check("04.1", fn)
    return got, capsys.readouterr().out


def test_exercise_reference_passes(capsys):
    got, out = _verdict(capsys, L.lstm_cell)
    assert got is L.lstm_cell and out.startswith("✅") and "3/3" in out
    assert checks.results()["04.1"] == "passed"


def _cell_with(order="ifgo", out_tanh=True, swap=False):
    def cell(x, h, c, w_ih, w_hh, b_ih, b_hh):
        H = h.shape[1]
        a = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        gates = {name: a[:, k * H:(k + 1) * H] for k, name in enumerate(order)}
        i, f = mg.sigmoid(gates["i"]), mg.sigmoid(gates["f"])
        g, o = mg.tanh(gates["g"]), mg.sigmoid(gates["o"])
        c_new = f * c + i * g
        h_new = o * (mg.tanh(c_new) if out_tanh else c_new)
        return (c_new, h_new) if swap else (h_new, c_new)

    return cell


@pytest.mark.parametrize("fn, expected", [
    (_cell_with("ifog"), "looks like i, f, o, g"),
    (_cell_with("figo"), "looks like f, i, g, o"),
    (_cell_with(out_tanh=False), "o * tanh(c')"),
    (_cell_with(swap=True), "not (c', h')"),
    (lambda *a: L.lstm_cell(*a)[0], "expected a pair"),
])
def test_exercise_check_names_typical_mistakes(capsys, fn, expected):
    got, out = _verdict(capsys, fn)
    assert got is L.lstm_cell and out.startswith("❌") and expected in out, out


def test_exercise_check_rejects_numpy_results_and_cut_graphs(capsys):
    def numpy_cell(*args):
        h, c = L.lstm_cell(*args)
        return h.numpy(), c.numpy()

    _, out = _verdict(capsys, numpy_cell)
    assert "expected minigrad Tensors" in out, out

    def detached_cell(*args):
        h, c = L.lstm_cell(*args)
        return h, mg.tensor(c.numpy(), dtype="float64")  # right values, no graph for c

    _, out = _verdict(capsys, detached_cell)
    assert out.startswith("❌") and ("backward failed" in out or "gradient" in out), out

    def wrong_gradient(*args):
        x = args[0]
        h, c = L.lstm_cell(*args)
        # adds zero to the values but 1e-3 * x to the gradient path
        return h + 1e-3 * (x.sum() - mg.tensor(x.numpy(), dtype="float64").sum()), c

    _, out = _verdict(capsys, wrong_gradient)
    assert "the gradient with respect to x" in out, out


def test_exercise_check_reports_a_stub_as_not_done(capsys):
    def stub(*args):
        raise NotImplementedError()

    got, out = _verdict(capsys, stub)
    assert got is L.lstm_cell and out.startswith("⏭"), out


# --------------------------------------------------------------------------------------------
# The gate diagram


def test_gate_diagram_draws_the_four_gates_and_both_states():
    fig = L.draw_lstm_cell()
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    for label in ("$f_t$", "$i_t$", "$g_t$", "$o_t$", "$c_{t-1}$", "$c_t$", "$h_{t-1}$",
                  "$h_t$", "$x_t$", "forget gate", "output gate", "tanh"):
        assert label in texts, label


# --------------------------------------------------------------------------------------------
# Truncated BPTT


def test_truncation_cuts_exactly_at_chunk_borders():
    T, k = 12, 5
    res = L.truncated_bptt(k, T, hidden=4, batch=2)
    M = res["M"]
    for s in range(T):
        start = (s // k) * k
        assert (M[s, :start] == 0).all() and (M[s, start:s + 1] > 0).all()
        assert (M[s, s + 1:] == 0).all()
    full = L.truncated_bptt(T, T, hidden=4, batch=2)
    assert (np.tril(full["M"]) > 0).sum() == T * (T + 1) // 2
    # within the first chunk nothing differs
    np.testing.assert_allclose(M[:k, :k], full["M"][:k, :k], rtol=1e-12)
    with pytest.raises(ValueError, match="k must be >= 1"):
        L.truncated_bptt(0)


def test_truncated_gradient_equals_summing_separately_run_chunks():
    """Truncated BPTT = each chunk started from constant copies of the carried state."""
    T, k, H = 6, 3, 4
    res = L.truncated_bptt(k, T, hidden=H, batch=2, seed=3, matrix=False)
    rng = np.random.default_rng(3)
    lstm = nn.LSTM(2, H, seed=4, dtype="float64")
    xs = [_f64(rng.standard_normal((2, 2))) for _ in range(T)]
    u = _f64(rng.standard_normal((1, H)) / np.sqrt(H))
    state, total = None, 0
    for start in range(0, T, k):
        if state is not None:
            state = [tuple(_f64(t.numpy().copy()) for t in hc) for hc in state]
        lstm.zero_grad()
        chunk = 0
        for t in range(start, start + k):
            h, state = lstm.step(xs[t], state)
            chunk = chunk + (h * u).sum() * 0.5
        chunk.backward()
        g = np.concatenate([p.grad.numpy().ravel() for p in lstm.parameters()])
        total = total + g
    np.testing.assert_allclose(res["grad"], total, rtol=1e-10, atol=1e-14)


def test_truncation_curve_is_zero_at_full_length_and_cached():
    a = L.truncation_curve(T=10, hidden=4, batch=2)
    assert list(a["k"]) == list(range(1, 11))
    assert a["rel_error"][-1] == 0 and a["cosine"][-1] == pytest.approx(1.0)
    assert a["rel_error"][0] > a["rel_error"][4] > 0
    a["rel_error"][0] = -1.0  # callers get copies
    assert L.truncation_curve(T=10, hidden=4, batch=2)["rel_error"][0] > 0
    fig = L.plot_truncation(L.truncated_bptt(3, 10, hidden=4, batch=2), a)
    assert len(fig.axes) == 3  # heatmap, its colour bar, the curve


def test_truncation_explorer_responds_to_k():
    ex = L.make_truncation_explorer(k=4, T=12)
    assert set(ex.controls) == {"k"}
    assert ex.result["k"] == 4 and ex.result["M"].shape == (12, 12)
    assert ex.result["M"][11, 0] == 0
    ex.controls["k"].value = 12
    assert ex.result["k"] == 12 and ex.result["M"][11, 0] > 0 and ex.result["rel_error"] == 0


# --------------------------------------------------------------------------------------------
# The adding problem


def test_adding_problem_targets_and_baseline():
    x, y = L.adding_problem(np.random.default_rng(0), 2000, 12)
    assert x.shape == (12, 2000, 2) and y.shape == (2000, 1)
    assert (x[:, :, 1].sum(axis=0) == 2).all()
    np.testing.assert_allclose(y[:, 0], (x[:, :, 0] * x[:, :, 1]).sum(axis=0), rtol=1e-6)
    assert ((y - 1) ** 2).mean() == pytest.approx(1 / 6, abs=0.015)


def test_adding_model_truncation_stops_the_gradient_k_steps_before_the_end():
    model = L.AddingModel(hidden=4, seed=1)
    x = mg.tensor(L.adding_problem(np.random.default_rng(1), 3, 6)[0], requires_grad=True)
    model(x, truncate=2).sum().backward()
    g = np.abs(x.grad.numpy()).sum(axis=(1, 2))
    assert (g[:4] == 0).all() and (g[4:] > 0).all()
    x.grad = None
    model(x).sum().backward()
    assert (np.abs(x.grad.numpy()).sum(axis=(1, 2)) > 0).all()


def test_train_adding_short_run_improves_and_reports():
    seen = []
    run = L.train_adding(batches=30, callback=lambda b, v: seen.append(b), test_size=200)
    assert seen == list(range(1, 31)) and run["losses"].shape == (30,)
    assert run["losses"][-10:].mean() < run["losses"][:3].mean()
    assert run["test_mse"] < 0.3 and run["truncate"] is None
    fig = L.plot_adding({"run": run})
    assert len(fig.axes[0].lines) == 2


# --------------------------------------------------------------------------------------------
# Exercise 04.2: the truncated-BPTT loop


def _verdict2(capsys, fn):
    got = check("04.2", fn)
    return got, capsys.readouterr().out


def _learner_loop(lstm, xs, k, loss_fn):
    """What a learner writes: the loop index and an explicit cut at each chunk start."""
    losses, state = [], None
    for t, x in enumerate(xs):
        if t % k == 0:
            state = nn.detach_state(state)
        h, state = lstm.step(x, state)
        losses.append(loss_fn(h))
    return losses


def test_truncated_losses_reference_and_a_learner_loop_pass(capsys):
    for fn in (L.truncated_losses, _learner_loop):
        got, out = _verdict2(capsys, fn)
        assert got is fn and out.startswith("✅") and "4/4" in out, out
    assert checks.results()["04.2"] == "passed"


def _no_cut(lstm, xs, k, loss_fn):
    losses, state = [], None
    for x in xs:
        h, state = lstm.step(x, state)
        losses.append(loss_fn(h))
    return losses


def _cut_every_step(lstm, xs, k, loss_fn):
    losses, state = [], None
    for x in xs:
        state = nn.detach_state(state)
        h, state = lstm.step(x, state)
        losses.append(loss_fn(h))
    return losses


def _shifted(lstm, xs, k, loss_fn):
    losses, state = [], None
    for t, x in enumerate(xs):
        if t % k == 1:
            state = nn.detach_state(state)
        h, state = lstm.step(x, state)
        losses.append(loss_fn(h))
    return losses


def _chunk_ends_only(lstm, xs, k, loss_fn):
    return L.truncated_losses(lstm, xs, k, loss_fn)[k - 1::k]


def _zero_state(lstm, xs, k, loss_fn):
    losses = []
    for start in range(0, len(xs), k):
        state = None
        for x in xs[start:start + k]:
            h, state = lstm.step(x, state)
            losses.append(loss_fn(h))
    return losses


@pytest.mark.parametrize("fn, expected", [
    (_no_cut, "the state was never cut"),
    (_cut_every_step, "cut at EVERY step"),
    (_shifted, "reach back exactly to the start of its own chunk"),
    (_chunk_ends_only, "one loss_fn(h) after EVERY step"),
    (_zero_state, "each chunk starts from a zero state"),
])
def test_truncated_losses_check_names_typical_mistakes(capsys, fn, expected):
    got, out = _verdict2(capsys, fn)
    assert got is L.truncated_losses, out
    assert out.startswith("❌") and expected in out and "Hint:" in out, out
    assert "Continuing with the reference implementation" in out


def test_truncated_losses_check_reports_a_stub_and_a_wrong_type(capsys):
    def stub(lstm, xs, k, loss_fn):
        raise NotImplementedError()

    def floats(lstm, xs, k, loss_fn):
        return [x.item() for x in L.truncated_losses(lstm, xs, k, loss_fn)]

    got, out = _verdict2(capsys, stub)
    assert got is L.truncated_losses and out.startswith("⏭"), out
    got, out = _verdict2(capsys, floats)
    assert got is L.truncated_losses and "expected a list of loss Tensors" in out, out


def test_truncated_bptt_runs_the_given_loop_and_says_how_far_back():
    ref = L.truncated_bptt(4, 12, hidden=4, batch=2)
    mine = L.truncated_bptt(4, 12, hidden=4, batch=2, loop=_learner_loop)
    np.testing.assert_array_equal(ref["M"], mine["M"])
    np.testing.assert_allclose(ref["grad"], mine["grad"], rtol=1e-12)
    assert L.reach_summary(mine) == ("the loss at step 12 gets a gradient from inputs 9 to 12 "
                                     "only: 4 steps back (k = 4)")
    uncut = L.truncated_bptt(4, 12, hidden=4, batch=2, loop=_no_cut)
    assert "from inputs 1 to 12" in L.reach_summary(uncut)
    ex = L.make_truncation_explorer(k=4, T=12, loop=_no_cut)
    assert ex.result["M"][11, 0] > 0  # the explorer draws with the loop it was given
