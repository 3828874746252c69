"""Lesson 05 helpers: optimizers as functions, the coordinatewise LSTM and its rows figure, the
graph figure, the checks of exercises 05.1 (unrolled meta-loss), 05.2 (the optimizer module)
and 05.3 (the meta-training loop): references pass, typical mistakes fail with a pointed
message; the short meta-training with the library's or the learner's loop and module, the
pretrained loader and its fallback, the baseline comparison and the explorer (headless)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad import nn, optim  # noqa: E402
from minigrad.course import check, checks  # noqa: E402
from minigrad.course import lesson05 as L  # noqa: E402
from minigrad.l2l import LogAndSign, LSTMOptimizer, QuadraticProblem, net_defaults  # noqa: E402,E501
from minigrad.optim import update_rules as F  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --------------------------------------------------------------------------------------------
# Optimizers as functions m(grad, h; phi)


def _quadratic_grad(theta):
    return np.array([1.0, 10.0]) * theta


def test_sgd_and_momentum_as_m_equal_minigrad_sgd():
    theta0 = np.array([1.0, -2.0])
    for m, phi, kwargs in ((L.sgd_m, {"lr": 0.05}, {}),
                           (L.momentum_m, {"lr": 0.05, "beta": 0.9}, {"momentum": 0.9})):
        got = L.run_m(m, phi, _quadratic_grad, theta0, 15)
        p, state, want = theta0.copy(), {}, [theta0.copy()]
        for _ in range(15):
            p, state = F.sgd(p, _quadratic_grad(p), state, 0.05, **kwargs)
            want.append(np.array(p))
        np.testing.assert_allclose(got, np.array(want), rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------------------------
# The coordinatewise LSTM


@pytest.mark.parametrize("n, hidden, layers", [(7, 20, 2), (3, 5, 1)])
def test_full_lstm_parameter_count_matches_a_real_lstm(n, hidden, layers):
    lstm = nn.LSTM(n, hidden, layers)
    head = nn.Linear(hidden, n)
    assert L.full_lstm_parameter_count(n, hidden, layers) == (
        lstm.num_parameters() + head.num_parameters())


def test_coordinatewise_count_does_not_grow_with_n_but_the_full_one_does():
    net = LSTMOptimizer(**net_defaults("mnist"))
    assert net.num_parameters() == 5_301  # 2 layers of 20 units on 2 inputs, and the head
    assert L.full_lstm_parameter_count(15_910) > 250 * net.num_parameters()


def test_permutation_gap_is_zero_for_the_lstm_and_not_for_a_positional_rule():
    g = np.random.default_rng(0).standard_normal(50).astype(np.float32)
    net = LSTMOptimizer(**net_defaults("mnist"), seed=3)
    assert L.permutation_gap(net, g) < 1e-6

    class Positional:  # an update that depends on where a coordinate sits
        def update_array(self, g, state=None):
            return g * np.arange(g.shape[0]), state

    assert L.permutation_gap(Positional(), g) > 1e-2


# --------------------------------------------------------------------------------------------
# The computational graph


def _dashed_arrows(fig):
    from matplotlib.patches import FancyArrowPatch

    ax = fig.axes[0]
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    return arrows, [a for a in arrows if a.get_linestyle() not in ("-", "solid")]


@pytest.mark.parametrize("steps", [2, 3])
def test_graph_has_one_dashed_edge_per_step(steps):
    arrows, dashed = _dashed_arrows(L.draw_computational_graph(steps))
    assert len(dashed) == steps
    assert len(arrows) == 7 * steps + 1  # 7 edges per step, and h_{t+1}
    _, dashed = _dashed_arrows(L.draw_computational_graph(steps, show_cut=False))
    assert dashed == []


# --------------------------------------------------------------------------------------------
# Exercise 05.1


def _verdict(capsys, fn):
    got = check("05.1", fn)
    return got, capsys.readouterr().out


def test_reference_passes_and_equals_the_library_with_either_method(capsys):
    got, out = _verdict(capsys, L.unrolled_meta_loss)
    assert got is L.unrolled_meta_loss and out.startswith("✅"), out
    assert checks.results()["05.1"] == "passed"
    prob = L.tiny_quadratic(4, dim=5, batch=3)
    nets = [LSTMOptimizer(**net_defaults("quadratic"), seed=1, dtype="float64")
            for _ in range(3)]
    mine = L.unrolled_meta_loss(nets[0], prob.f, prob.theta0, 6)
    graph = L.library_meta_loss(nets[1], prob, 6)
    tangent, _, _, _ = mg.l2l.unroll(nets[2], prob.instance, prob.flat, prob.theta0.copy(), None,
                                     0, 6)
    assert mine.item() == pytest.approx(graph.item(), rel=1e-12)
    assert mine.item() == pytest.approx(tangent.item(), rel=1e-12)
    for a, b, c in zip(mg.grad(mine, nets[0].parameters()), mg.grad(graph, nets[1].parameters()),
                       mg.grad(tangent, nets[2].parameters())):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(a.data, c.data, rtol=1e-10, atol=1e-12)


def test_the_check_cases_are_ones_where_the_cut_changes_the_gradient():
    for kind, net_seed, prob_seed, dim, batch, steps in L._CHECK_CASES:
        if steps < 2:
            continue  # one step: grad_0 does not depend on phi, both orders agree
        prob = L.tiny_quadratic(prob_seed, dim, batch)
        net = L._check_net(kind, net_seed)
        first = mg.grad(L.library_meta_loss(net, prob, steps), net.parameters())
        net = L._check_net(kind, net_seed)
        second = mg.grad(L.library_meta_loss(net, prob, steps, second_order=True),
                         net.parameters(), allow_unused=True)
        diff = max(float(np.max(np.abs(a.data - b.data))) for a, b in zip(first, second))
        assert diff > 1e-6


def _loop(net, f, theta0, steps, *, first_term=False, last_only=False, create_graph=False,
          retain=True, steps_offset=0):
    theta = mg.tensor(theta0, requires_grad=True)
    loss = f(theta)
    state, terms = None, [loss] if first_term else []
    for _ in range(steps + steps_offset):
        g = mg.grad(loss, theta, retain_graph=retain or create_graph, create_graph=create_graph)
        g = g if create_graph else g.data
        delta, state = net.update(g, state, create_graph=create_graph)
        theta = theta + delta
        loss = f(theta)
        terms.append(loss)
    if last_only:
        return terms[-1]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


@pytest.mark.parametrize("kwargs, expected", [
    ({"last_only": True}, "f(theta_T) alone"),
    ({"first_term": True}, "f(theta_0) + ... + f(theta_T)"),
    ({"steps_offset": -1}, "the sum over T - 1 steps"),
    ({"create_graph": True}, "grad_t must enter the optimizer as a constant"),
    ({"retain": False}, "GraphFreedError"),
])
def test_typical_mistakes_fail_with_a_pointed_message(capsys, kwargs, expected):
    def attempt(net, f, theta0, steps):
        return _loop(net, f, theta0, steps, **kwargs)

    got, out = _verdict(capsys, attempt)
    assert got is L.unrolled_meta_loss
    assert out.startswith("❌") and expected in out, out
    assert "Hint:" in out


def test_other_mistakes(capsys):
    def returns_float(net, f, theta0, steps):
        return float(L.unrolled_meta_loss(net, f, theta0, steps).item())

    def in_place(net, f, theta0, steps):
        theta0 += 1.0
        return L.unrolled_meta_loss(net, f, theta0, steps)

    def no_graph(net, f, theta0, steps):
        return L.unrolled_meta_loss(net, f, theta0, steps).detach()

    def stub(net, f, theta0, steps):
        raise NotImplementedError

    for fn, expected in ((returns_float, "expected a scalar minigrad Tensor"),
                         (in_place, "modified in place"), (no_graph, "no graph back to phi"),
                         (stub, "not done yet")):
        got, out = _verdict(capsys, fn)
        assert got is L.unrolled_meta_loss and expected in out, out


# --------------------------------------------------------------------------------------------
# The rows figure


def test_rows_figure_shows_the_network_the_batch_and_the_shared_weights():
    fig = L.draw_coordinates_as_rows()
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    for label in ("W1 (3×2)", "b1 (3,)", "W2 (1×3)", "b2 (1,)", "(n, 1)", "(n, H)", "φ"):
        assert label in texts, label
    n = 13
    squares = [p for p in fig.axes[0].patches if type(p).__name__ == "Rectangle"]
    assert len(squares) == n + n + 2 * n * 6 + n  # network, gradient, two states, step


# --------------------------------------------------------------------------------------------
# Exercise 05.2: the optimizer module


class _Module(nn.Module):
    """What a learner writes for exercise 05.2."""

    def __init__(self, hidden_size=20, num_layers=2, output_scale=1.0, preprocess=None):
        super().__init__()
        self.preprocess = preprocess
        input_size = 1 if preprocess is None else preprocess.input_size
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers)
        self.head = nn.Linear(hidden_size, 1)
        self.output_scale = output_scale

    def update(self, grad, state=None):
        n = grad.shape[0]
        x = grad.reshape(n, 1) if self.preprocess is None else self.preprocess(grad)
        h, state = self.lstm.step(mg.tensor(x), state)
        return self.head(h).reshape(n) * self.output_scale, state


class _NoScale(_Module):
    def update(self, grad, state=None):
        delta, state = super().update(grad, state)
        return delta * (1.0 / self.output_scale), state


class _NoState(_Module):
    def update(self, grad, state=None):
        delta, _ = super().update(grad, None)
        return delta, None


class _Forgets(_Module):
    def update(self, grad, state=None):
        return super().update(grad, None)


class _RowOfCoordinates(_Module):
    def update(self, grad, state=None):
        n = grad.shape[0]
        x = grad.reshape(1, n) if self.preprocess is None else self.preprocess(grad)
        h, state = self.lstm.step(mg.tensor(x), state)
        return self.head(h).reshape(-1) * self.output_scale, state


class _Column(_Module):
    def update(self, grad, state=None):
        delta, state = super().update(grad, state)
        return delta.reshape(grad.shape[0], 1), state


class _Numpy(_Module):
    def update(self, grad, state=None):
        delta, state = super().update(grad, state)
        return delta.numpy(), state


class _OtherNames(_Module):
    def __init__(self, hidden_size=20, num_layers=2, output_scale=1.0, preprocess=None):
        super().__init__(hidden_size, num_layers, output_scale, preprocess)
        self.rnn = self.lstm
        del self.lstm


def _verdict_module(capsys, cls):
    got = check("05.2", cls)
    return got, capsys.readouterr().out


def test_module_reference_and_a_learner_module_pass(capsys):
    got, out = _verdict_module(capsys, _Module)
    assert got is _Module and out.startswith("✅") and "3/3" in out, out
    got, out = _verdict_module(capsys, L.library_optimizer_module)
    assert got is L.library_optimizer_module and out.startswith("✅"), out
    net = L.library_optimizer_module(hidden_size=7, num_layers=1, output_scale=0.1,
                                     preprocess=LogAndSign(5.0))
    assert isinstance(net, LSTMOptimizer) and net.config()["p"] == 5.0
    assert net.config()["hidden_size"] == 7 and net.output_scale == 0.1


@pytest.mark.parametrize("cls, expected", [
    (_NoScale, "without the output scale"),
    (_Forgets, "the state is not carried"),
    (_RowOfCoordinates, "not (1, n)"),
    (_Column, "delta has shape (6, 1), expected (6,)"),
    (_Numpy, "expected a minigrad Tensor"),
    (_NoState, "the state is not carried"),
    (_OtherNames, "name the LSTM self.lstm"),
])
def test_module_check_names_typical_mistakes(capsys, cls, expected):
    got, out = _verdict_module(capsys, cls)
    assert got is L.library_optimizer_module, out
    assert out.startswith("❌") and expected in out and "Hint:" in out, out


def test_module_check_reports_a_stub_as_not_done(capsys):
    class Stub(_Module):
        def update(self, grad, state=None):
            raise NotImplementedError()

    got, out = _verdict_module(capsys, Stub)
    assert got is L.library_optimizer_module and out.startswith("⏭"), out


# --------------------------------------------------------------------------------------------
# Exercise 05.3: the meta-training loop


def _meta_train(net, problem, iters, steps=20, unroll=10, meta_lr=3e-2, seed=0, callback=None):
    """What a learner writes for exercise 05.3."""
    meta_opt = optim.Adam(net.parameters(), lr=meta_lr)
    curve = []
    for it in range(iters):
        f, theta = L.draw_function(problem, seed, it)
        state, total = None, 0.0
        for t0 in range(0, steps, unroll):
            losses, theta, state = L.unroll_steps(net, f, theta, state, min(unroll, steps - t0))
            meta_loss = losses[0]
            for loss in losses[1:]:
                meta_loss = meta_loss + loss
            meta_opt.zero_grad()
            meta_loss.backward()
            meta_opt.step()
            theta, state = theta.detach(), nn.detach_state(state)
            total += sum(loss.item() for loss in losses)
        curve.append(total / steps)
        if callback is not None:
            callback(np.array(curve))
    return curve


def _verdict_loop(capsys, fn):
    got = check("05.3", fn)
    return got, capsys.readouterr().out


def test_loop_reference_and_a_learner_loop_pass(capsys):
    for fn in (L.library_meta_train, _meta_train):
        got, out = _verdict_loop(capsys, fn)
        assert got is fn and out.startswith("✅") and "2/2" in out, out


def test_unroll_steps_and_draw_function_match_the_library_unroll():
    problem = QuadraticProblem(dim=4, batch=2, dtype="float64")
    f, theta0 = L.draw_function(problem, 3, 2)
    config = {**net_defaults("quadratic"), "hidden_size": 5}
    nets = [LSTMOptimizer(**config, seed=1, dtype="float64") for _ in range(2)]
    losses, theta, state = L.unroll_steps(nets[0], f, theta0, None, 4)
    trainer = mg.l2l.MetaTrainer(nets[1], problem, mg.l2l.MetaConfig(seed=3))
    instance, flat, theta_lib, _ = trainer.start_horizon(trainer.problem_seed(2))
    np.testing.assert_array_equal(theta0.numpy(), theta_lib)
    meta, theta_end, _, values = mg.l2l.unroll(nets[1], instance, flat, theta_lib, None, 0, 4)
    np.testing.assert_allclose([x.item() for x in losses], values, rtol=1e-12)
    np.testing.assert_allclose(theta.numpy(), theta_end, rtol=1e-12)
    assert len(state) == 2 and theta.requires_grad and not theta0.requires_grad


def _mistake(**kwargs):
    def loop(net, problem, iters, steps=20, unroll=10, meta_lr=3e-2, seed=0, callback=None):
        curve = L.meta_training_loop._variant_meta_train(net, problem, iters, steps, unroll,
                                                         meta_lr, seed, **kwargs)
        for i in range(len(curve)):
            callback(np.array(curve[:i + 1]))
        return curve

    return loop


def _no_detach(net, problem, iters, steps=20, unroll=10, meta_lr=3e-2, seed=0, callback=None):
    meta_opt = optim.Adam(net.parameters(), lr=meta_lr)
    curve = []
    for it in range(iters):
        f, theta = L.draw_function(problem, seed, it)
        state = None
        for t0 in range(0, steps, unroll):
            losses, theta, state = L.unroll_steps(net, f, theta, state, min(unroll, steps - t0))
            meta_opt.zero_grad()
            sum(losses[1:], losses[0]).backward()
            meta_opt.step()
        curve.append(0.0)
    return curve


def _sum_not_mean(net, problem, iters, steps=20, unroll=10, meta_lr=3e-2, seed=0,
                  callback=None):
    curve = _meta_train(net, problem, iters, steps, unroll, meta_lr, seed, callback)
    return [c * steps for c in curve]


@pytest.mark.parametrize("fn, expected", [
    (_mistake(update=False), "phi never changed"),
    (_mistake(zero_grad=False), "call meta_opt.zero_grad() before each backward"),
    (_mistake(terms="last"), "the meta-loss is only the unroll's LAST loss"),
    (_mistake(detach=False), "the graph grows with every unroll"),
    (_no_detach, "already freed"),
    (_sum_not_mean, "divide the total by steps"),
])
def test_loop_check_names_typical_mistakes(capsys, fn, expected):
    got, out = _verdict_loop(capsys, fn)
    assert got is L.library_meta_train, out
    assert out.startswith("❌") and expected in out and "Hint:" in out, out


def test_loop_check_reports_a_stub_and_a_missing_callback(capsys):
    def stub(net, problem, iters, steps=20, unroll=10, meta_lr=3e-2, seed=0, callback=None):
        raise NotImplementedError()

    def silent(net, problem, iters, steps=20, unroll=10, meta_lr=3e-2, seed=0, callback=None):
        return _meta_train(net, problem, iters, steps, unroll, meta_lr, seed)

    got, out = _verdict_loop(capsys, stub)
    assert got is L.library_meta_train and out.startswith("⏭"), out
    got, out = _verdict_loop(capsys, silent)
    assert got is L.library_meta_train and "call callback(np.array(curve))" in out, out


def test_short_meta_training_with_the_learners_loop_and_module_matches_the_library():
    lib = L.short_meta_training(iters=4)
    mine = L.short_meta_training(iters=4, loop=_meta_train, module=_Module)
    np.testing.assert_allclose(mine.curve, lib.curve, rtol=1e-3)
    assert isinstance(mine.net, LSTMOptimizer)  # the trained weights, in the library's class
    for p, q in zip(mine.net.parameters(), lib.net.parameters()):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-3, atol=1e-5)
    fallback = L.short_meta_training(iters=4, loop=L.library_meta_train,
                                     module=L.library_optimizer_module)
    np.testing.assert_array_equal(fallback.curve, lib.curve)
    assert "your meta_train" in L.describe_meta_run(_meta_train, _Module)
    text = L.describe_meta_run(L.library_meta_train, L.library_optimizer_module)
    assert "fell back" in text and "MetaTrainer" in text and "LSTMOptimizer" in text


# --------------------------------------------------------------------------------------------
# The short meta-training and its evaluation


def test_short_meta_training_is_deterministic_and_learns():
    calls = []
    a = L.short_meta_training(iters=12, callback=lambda c: calls.append(len(c)))
    b = L.short_meta_training(iters=12)
    assert calls == list(range(1, 13))
    np.testing.assert_array_equal(a.curve, b.curve)
    assert a.curve.shape == (12,) and np.isfinite(a.curve).all()
    assert a.curve[-3:].mean() < a.curve[:3].mean() / 10
    assert a.settings == {"unroll": 10, "meta_lr": 3e-2, "hidden": 20, "iters": 12, "seed": 0,
                          "steps": 20, "batch": 16}
    assert a.net.hidden_size == 20
    c = L.short_meta_training(unroll=5, hidden=5, iters=3, seed=1)
    assert c.net.hidden_size == 5 and not np.array_equal(c.curve, a.curve[:3])
    smooth = a.smoothed(window=3)
    assert smooth.shape == a.curve.shape
    assert smooth[2] == pytest.approx(10 ** np.log10(a.curve[:3]).mean())


def test_held_out_comparison_has_the_protocol_shape_and_training_helps():
    trained = L.short_meta_training(iters=12).net
    untrained = LSTMOptimizer(**net_defaults("quadratic"), seed=0)
    res = L.held_out_comparison(trained, runs=16)
    base = L.held_out_comparison(untrained, runs=16)
    assert res["optimizers"] == ["lstm", "adam"] and res["runs"] == 16
    assert res["losses"]["lstm"].shape == (16, 21)
    assert len(res["lstm"]["curve"]) == 21 and res["adam"]["lr"] in (0.03, 0.1, 0.3, 1.0)
    assert res["adam"] == base["adam"]  # the same Adam on the same held-out problems
    assert res["lstm"]["summed_loss"] < base["lstm"]["summed_loss"] / 10
    # every optimizer starts from the same theta_0 on the same problems
    np.testing.assert_array_equal(res["losses"]["lstm"][:, 0], res["losses"]["adam"][:, 0])
    fig = L.plot_comparison(res)
    assert len(fig.axes[0].lines) == 2


def test_live_plot_throttles_and_draws_in_an_output():
    import ipywidgets as widgets

    live = L.LivePlot(settings={"unroll": 5, "meta_lr": 0.01, "hidden": 20},
                      output=widgets.Output(), every=3600)
    live(np.array([10.0, 5.0]))
    live(np.array([10.0, 5.0, 4.0]))
    assert live.draws == 1
    live.finish(np.array([10.0, 5.0, 4.0, 3.0]))
    assert live.draws == 2
    assert "4 meta-iterations" in live.ax.get_title()
    fig = L.plot_meta_curve([np.array([3.0, 2.0, 1.0])], reference=(1.5, "Adam"))
    assert len(fig.axes[0].lines) == 3


# --------------------------------------------------------------------------------------------
# The pretrained optimizer and the comparison


def test_pretrained_or_fallback_says_clearly_when_nothing_is_shipped(monkeypatch, tmp_path):
    from minigrad.l2l import checkpoints

    monkeypatch.setattr(checkpoints, "PRETRAINED_DIR", tmp_path)
    net = LSTMOptimizer(**net_defaults("quadratic"))
    got = L.pretrained_or_fallback(net)
    assert got.source == "fallback" and got.net is net
    assert "No pretrained quadratic optimizer is shipped yet" in got.message
    assert L.pretrained_or_fallback(None).net is None
    with pytest.raises(FileNotFoundError):
        L.load_pretrained("quadratic")


def test_load_pretrained_rebuilds_a_checkpoint(monkeypatch, tmp_path):
    from minigrad.l2l import MetaConfig, MetaTrainer, QuadraticProblem, checkpoints

    net = LSTMOptimizer(**{**net_defaults("quadratic"), "hidden_size": 4}, seed=2)
    problem = QuadraticProblem(batch=2)
    trainer = MetaTrainer(net, problem, MetaConfig(steps=4, unroll=2, meta_lr=0.01))
    trainer.train(1)
    best = {k: v * 0.5 for k, v in net.state_dict().items()}
    checkpoints.write_checkpoint(tmp_path / "quadratic.npz", trainer, problem.config(),
                                 best=best)
    monkeypatch.setattr(checkpoints, "PRETRAINED_DIR", tmp_path)
    loaded, meta = L.load_pretrained("quadratic")
    assert loaded.hidden_size == 4 and meta["iteration"] == 1 and meta["weights_used"] == "best"
    for k, v in loaded.state_dict().items():
        np.testing.assert_array_equal(v, best[k])
    last, meta = L.load_pretrained("quadratic", weights="last")
    assert meta["weights_used"] == "last"
    for k, v in last.state_dict().items():
        np.testing.assert_array_equal(v, net.state_dict()[k])
    got = L.pretrained_or_fallback(None)
    assert got.source == "pretrained" and "1 meta-iterations" in got.message


def test_compare_with_baselines_small():
    net = LSTMOptimizer(**net_defaults("quadratic"), seed=0)
    messages = []
    res = L.compare_with_baselines(net, functions=4, steps=5, grid=(0.01, 0.1),
                                   log=messages.append, progress=True)
    assert len(messages) == 4 * 2 + 5  # every tuning run and every test run reports
    assert res["optimizers"] == ["lstm", "sgd", "nag", "rmsprop", "adam"]
    assert res["runs"] == 4 and len(res["adam"]["curve"]) == 6
    assert all(res[n]["lr"] in (0.01, 0.1) for n in ("sgd", "nag", "rmsprop", "adam"))
    fig = L.plot_comparison(res, lstm_label="learned")
    labels = [ln.get_label() for ln in fig.axes[0].lines]
    assert labels[0] == "learned" and len(labels) == 5
    res = L.compare_with_baselines(None, functions=2, steps=3, grid=(0.1,))
    assert "lstm" not in res["optimizers"]


# --------------------------------------------------------------------------------------------
# The explorer


def test_explorer_waits_for_the_button_then_trains_with_the_settings():
    ex = L.make_meta_training_explorer(iters=10, live_every=3600, reference=(2.0, "Adam"))
    assert set(ex.controls) == {"unroll", "meta_lr", "hidden", "iters"}
    assert ex.result is None and ex.pending and "unroll K = 10" in ex.message
    ex.controls["unroll"].value = 5
    ex.controls["hidden"].value = 5
    assert ex.result is None and "unroll K = 5 (4 Adam step(s)" in ex.message
    assert "hidden size 5" in ex.message
    ex.button.click()
    run = ex.result
    assert run is not None and not ex.pending
    assert run.settings["unroll"] == 5 and run.settings["hidden"] == 5
    assert run.curve.shape == (10,) and run.net.hidden_size == 5
    ex.controls["meta_lr"].value = 1e-3
    assert ex.pending and ex.result is run and "meta-lr 0.001" in ex.message
    ex.button.click()
    assert ex.result is not run and ex.result.settings["meta_lr"] == 1e-3
    assert len(ex.runs) == 2 and not ex.button.disabled
    assert ex.message.startswith("Done: unroll K = 5") and ex._png.startswith(b"\x89PNG")


def test_the_explorer_answers_hold():
    """The collapsible answers under lesson 05's meta-training explorer (seed 0, 30
    meta-iterations, the explorer's starting settings), with wide margins: float32 runs."""
    runs = {name: L.short_meta_training(iters=30, **setting) for name, setting in {
        "K1": {"unroll": 1}, "K10": {}, "K20": {"unroll": 20}, "lr1e-3": {"meta_lr": 1e-3},
        "lr1e-1": {"meta_lr": 1e-1}, "lr3e-1": {"meta_lr": 3e-1}, "h2": {"hidden": 2}}.items()}
    adam = L.held_out_comparison(runs["K10"].net)["adam"]["summed_loss"] / 20
    end = {name: run.curve[-5:].mean() for name, run in runs.items()}
    assert 2 < adam < 4  # "about 2.9"
    assert (runs["K1"].curve[:5] < adam).any() and end["K1"] < adam  # below the line early
    assert end["K1"] < end["K10"] < adam < end["K20"] and end["K20"] > 2 * end["K1"]
    assert not (runs["K20"].curve < adam).any()
    assert end["lr1e-3"] > 5 * adam and end["lr3e-1"] > 10 * adam
    # "ends near the line, well above the default rate's": just above or just below the line
    # by CPU (an unsteady float32 run), so the margin is wide
    assert end["lr1e-1"] > 0.8 * adam and end["lr1e-1"] > 1.2 * end["K10"]
    assert (runs["h2"].curve < adam).any()
