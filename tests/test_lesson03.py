"""Lesson 03 helpers: the update-rule references against minigrad.optim, the exercise checks,
the 2-D problems and races, the race explorer (headless), and MNIST training."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad import nn  # noqa: E402
from minigrad.course import check, checks  # noqa: E402
from minigrad.course import lesson03 as L  # noqa: E402
from minigrad.optim import update_rules as F  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --------------------------------------------------------------------------------------------
# Modules


def test_parameter_table_lists_every_parameter_and_the_total():
    mlp = nn.MLP(784, [20], 10, seed=0)
    lines = L.parameter_table(mlp).splitlines()
    assert [ln.split()[0] for ln in lines] == [
        "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias", "total"]
    assert lines[0].split()[-1] == "15,680"
    assert lines[-1].split()[-1] == "15,910"


# --------------------------------------------------------------------------------------------
# The update rules: references equal minigrad's (PyTorch's) formulas over many steps


def _run(rule, steps=12, seed=0, lr=0.05):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.1, 30.0, size=7)
    p, state, out = rng.standard_normal(7), {}, []
    for _ in range(steps):
        p, state = rule(p, a * p + 0.1 * rng.standard_normal(7), state, lr)
        out.append(p.copy())
    return np.array(out)


def test_adam_reference_equals_minigrad_adam():
    lib = _run(lambda p, g, s, lr: F.adam(p, g, s, lr))
    mine = _run(L.adam_rule(L.adam_step))
    np.testing.assert_allclose(mine, lib, rtol=1e-12, atol=1e-14)


def test_adam_reference_with_other_hyperparameters():
    lib = _run(lambda p, g, s, lr: F.adam(p, g, s, lr, betas=(0.8, 0.99), eps=1e-6))
    mine = _run(L.adam_rule(L.adam_step, beta1=0.8, beta2=0.99, eps=1e-6))
    np.testing.assert_allclose(mine, lib, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("momentum", [0.5, 0.9])
def test_momentum_reference_equals_minigrad_sgd(nesterov, momentum):
    lib = _run(lambda p, g, s, lr: F.sgd(p, g, s, lr, momentum=momentum, nesterov=nesterov))
    mine = _run(L.momentum_rule(L.momentum_step, momentum=momentum, nesterov=nesterov))
    np.testing.assert_allclose(mine, lib, rtol=1e-12, atol=1e-14)


def test_references_do_not_modify_their_inputs():
    p, g, m, v = np.ones(3), np.full(3, 2.0), np.full(3, 0.1), np.full(3, 0.2)
    L.adam_step(p, g, m, v, 3)
    L.momentum_step(p, g, m, 0.1)
    L.momentum_step(p, g, None, 0.1)
    assert (p == 1).all() and (g == 2).all() and (m == 0.1).all() and (v == 0.2).all()
    _, buf = L.momentum_step(p, g, None, 0.1)
    assert not np.shares_memory(buf, g)


def test_adam_first_step_is_lr_times_the_sign():
    g = np.array([-1e-3, 1.0, 1e3])
    p, _, _ = L.adam_step(np.zeros(3), g, np.zeros(3), np.zeros(3), 1, lr=0.1)
    np.testing.assert_allclose(p, -0.1 * np.sign(g), rtol=1e-4)


def test_library_rules_cover_every_optimizer_and_reject_others():
    for name in L.OPTIMIZERS:
        p, state = L.library_rule(name)(np.ones(2), np.ones(2), {}, 0.1)
        assert p.shape == (2,) and (p < 1).all()
    with pytest.raises(KeyError, match="unknown optimizer"):
        L.library_rule("Adagrad")
    with pytest.raises(KeyError, match="unknown optimizer"):
        L.make_optimizer("Adagrad", nn.Linear(2, 2).parameters(), 0.1)


# --------------------------------------------------------------------------------------------
# Exercise checks: the references pass; typical mistakes fail with a helpful message


def _verdict(capsys, ex_id, fn):
    got = check(ex_id, fn)
    return got, capsys.readouterr().out


def test_exercise_references_pass(capsys):
    for ex_id, fn in (("03.1", L.adam_step), ("03.2", L.momentum_step)):
        got, out = _verdict(capsys, ex_id, fn)
        assert got is fn and out.startswith("✅"), out
        assert checks.results()[ex_id] == "passed"


def _adam_no_bias_correction(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    return param - lr * m / (np.sqrt(v) + eps), m, v


def _adam_in_place(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad**2
    return param - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v


def _adam_old_averages(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    step = lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return param - step, beta1 * m + (1 - beta1) * grad, beta2 * v + (1 - beta2) * grad**2


def _adam_wrong_v(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    p, m, v = L.adam_step(param, grad, m, v, t, lr, beta1, beta2, eps)
    return p, m, v * 1.01


@pytest.mark.parametrize("fn, expected", [
    (_adam_no_bias_correction, "WITHOUT bias correction"),
    (_adam_in_place, "modified in place"),
    (_adam_old_averages, "OLD m and v"),
    (_adam_wrong_v, "v: max abs error"),
    (lambda *a, **k: a[0], "expected a tuple of 3 arrays"),
])
def test_adam_check_explains_typical_mistakes(capsys, fn, expected):
    got, out = _verdict(capsys, "03.1", fn)
    assert got is L.adam_step
    assert out.startswith("❌") and expected in out, out


def test_adam_check_catches_a_mistake_that_only_shows_over_several_steps(capsys):
    def forgets_state(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        if t <= 4:  # right on the single-step checks, then restarts its averages
            return L.adam_step(param, grad, m, v, t, lr, beta1, beta2, eps)
        return L.adam_step(param, grad, 0 * m, 0 * v, 1, lr, beta1, beta2, eps)

    _, out = _verdict(capsys, "03.1", forgets_state)
    assert "8 steps in a row" in out and "after step 5 of 8" in out, out


def test_momentum_check_catches_heavy_ball_for_nesterov_and_a_stub(capsys):
    def ignores_nesterov(param, grad, buf, lr, momentum=0.9, nesterov=False):
        return L.momentum_step(param, grad, buf, lr, momentum, nesterov=False)

    got, out = _verdict(capsys, "03.2", ignores_nesterov)
    assert got is L.momentum_step and "Nesterov" in out and out.startswith("❌"), out

    def stub(param, grad, buf, lr, momentum=0.9, nesterov=False):
        raise NotImplementedError()

    got, out = _verdict(capsys, "03.2", stub)
    assert got is L.momentum_step and out.startswith("⏭"), out


# --------------------------------------------------------------------------------------------
# 2-D problems and races


@pytest.mark.parametrize("name", list(L.PROBLEMS))
def test_problem_gradients_match_minigrad_autograd(name):
    prob = L.PROBLEMS[name]
    for xy in [(0.3, -0.7), (-1.2, 1.0), (2.0, 0.5)]:
        p = mg.tensor(np.array(xy), dtype="float64", requires_grad=True)
        f = prob.f(p[0], p[1])
        (g,) = mg.grad(f, [p])
        np.testing.assert_allclose(prob.grad(np.array(xy)), g.numpy(), rtol=1e-12)
        assert float(prob.f(*xy)) == pytest.approx(f.item())
    assert prob.f(*prob.minimum) == 0.0
    assert np.allclose(prob.grad(np.array(prob.minimum)), 0.0)
    assert set(prob.lrs) == set(L.OPTIMIZERS)


def test_sgd_on_the_valley_has_the_theoretical_stability_limit_and_rate():
    assert L.run_optimizer("valley", "SGD", 0.0105)["diverged"]
    run = L.run_optimizer("valley", "SGD", 0.0095, steps=50)
    assert not run["diverged"] and len(run["f"]) == 51 and run["xy"].shape == (51, 2)
    # x shrinks by exactly (1 - 2 lr) per step, y by (1 - 200 lr)
    np.testing.assert_allclose(run["xy"][-1], [-2.0 * (1 - 0.019) ** 50, 0.5 * (-0.9) ** 50],
                               rtol=1e-10)


def test_diverged_runs_are_cut_where_they_leave_the_plot():
    run = L.run_optimizer("valley", "SGD", 0.05, steps=100)
    assert run["diverged"] and len(run["f"]) < 101
    assert np.isfinite(run["f"]).all() and run["f"].max() <= L.DIVERGED


def test_race_uses_defaults_shared_or_per_optimizer_rates_and_custom_rules():
    default = L.race_optimizers("valley")
    assert list(default) == list(L.OPTIMIZERS)
    assert {k: v["lr"] for k, v in default.items()} == L.PROBLEMS["valley"].lrs
    shared = L.race_optimizers("bowl", 0.05, steps=20)
    assert all(v["lr"] == 0.05 and len(v["f"]) == 21 for v in shared.values())
    calls = []

    def counting_sgd(p, g, s, lr):
        calls.append(1)
        return p - lr * g, s

    custom = L.race_optimizers("bowl", 0.05, steps=20, rules={"SGD": counting_sgd})
    assert len(calls) == 20
    np.testing.assert_allclose(custom["SGD"]["xy"], shared["SGD"]["xy"])
    with pytest.raises(KeyError, match="unknown problem"):
        L.race_optimizers("himmelblau")


def test_valley_race_ranks_as_the_lesson_says():
    race = L.race_optimizers("valley")
    assert race["SGD"]["f"][-1] > 0.05
    for name in ("Momentum", "NAG", "RMSprop", "Adam"):
        assert race[name]["f"][-1] < 1e-3, name


def test_lr_sweep_shapes_and_sgd_wall():
    sweep = L.lr_sweep("valley", steps=100, names=("SGD", "Adam"))
    assert set(sweep) == {"lr", "SGD", "Adam"} and sweep["SGD"].shape == sweep["lr"].shape
    assert not np.isfinite(sweep["SGD"][sweep["lr"] > 0.0101]).any()
    assert np.isfinite(sweep["SGD"][sweep["lr"] <= 0.0101]).all()
    assert np.isfinite(sweep["Adam"]).all()
    fig = L.plot_lr_sweep(sweep)
    assert len(fig.axes[0].lines) == 4  # a curve and a row of crosses per optimizer


def test_plot_race_draws_every_trajectory_and_loss_curve():
    race = L.race_optimizers("rosenbrock", steps=30)
    race["SGD"] = L.run_optimizer("rosenbrock", "SGD", 0.1, steps=30)  # diverges
    assert race["SGD"]["diverged"]
    fig = L.plot_race("rosenbrock", race)
    traj, loss = fig.axes[0], fig.axes[1]
    assert len(traj.lines) == 2 + 5  # minimum, start, five trajectories
    assert len(loss.lines) == 5 + 1  # five curves and the divergence cross
    assert "diverged" in " ".join(t.get_text() for t in loss.get_legend().get_texts())


# --------------------------------------------------------------------------------------------
# The race explorer, headless


def test_race_explorer_responds_to_every_control():
    ex = L.make_race_explorer("valley", steps=40)
    c = ex.controls
    assert set(c) == {"problem", "steps", "shared", "log_lr",
                      *(f"log_lr_{n}" for n in L.OPTIMIZERS)}
    assert len(ex.result["SGD"]["f"]) == 41
    assert ex.result["SGD"]["lr"] == pytest.approx(0.009, rel=0.01)

    c["log_lr_SGD"].value = -1.9  # 0.0126 > 2/200: diverges
    assert ex.result["SGD"]["diverged"] and not ex.result["Adam"]["diverged"]

    c["shared"].value = True
    c["log_lr"].value = -3.0
    assert all(r["lr"] == pytest.approx(1e-3) for r in ex.result.values())

    c["steps"].value = 20
    assert all(len(r["f"]) <= 21 for r in ex.result.values())


def test_race_explorer_resets_rates_when_the_problem_changes_and_redraws_once():
    ex = L.make_race_explorer("valley")
    ex.controls["log_lr_Adam"].value = -3.5
    calls = []
    original = ex._compute
    ex._compute = lambda **kw: calls.append(kw) or original(**kw)
    ex.controls["problem"].value = "rosenbrock"
    assert len(calls) == 1  # one recomputation, with the new problem's rates
    assert calls[0]["problem"] == "rosenbrock"
    assert 10 ** calls[0]["log_lr_Adam"] == pytest.approx(L.PROBLEMS["rosenbrock"].lrs["Adam"],
                                                         rel=0.01)
    assert ex.controls["steps"].value == L.PROBLEMS["rosenbrock"].steps
    assert len(ex.result["Adam"]["f"]) == L.PROBLEMS["rosenbrock"].steps + 1


def test_race_explorer_uses_the_learners_rules():
    seen = []

    def my_adam(*args, **kwargs):
        seen.append(1)
        return L.adam_step(*args, **kwargs)

    ex = L.make_race_explorer("bowl", steps=10, rules={"Adam": L.adam_rule(my_adam)})
    assert len(seen) == 10
    np.testing.assert_allclose(ex.result["Adam"]["xy"], L.race_optimizers("bowl", steps=10)[
        "Adam"]["xy"], rtol=1e-12)


# --------------------------------------------------------------------------------------------
# MNIST


def test_mnist_data_is_the_stratified_3000_1000_1000_split_and_cached():
    data = L.mnist_data()
    assert data.sizes == (3000, 1000, 1000)
    assert L.mnist_data() is data
    assert (data.test.class_counts() == 100).all()
    fig = L.plot_digits(data.train, n=5)
    assert len(fig.axes) == 5


def test_train_mlp_learns_and_reports_progress_to_the_callback():
    seen = []
    run = L.train_mlp("Adam", 0.03, steps=60, callback=lambda s, v: seen.append((s, v)))
    assert [s for s, _ in seen] == list(range(1, 61))
    assert run["losses"].shape == (60,) and run["losses"][0] == seen[0][1]
    assert run["init_test_acc"] < 0.3 and run["test_acc"] > 0.7
    assert run["losses"][-10:].mean() < 0.7 * run["losses"][:10].mean()
    loss, acc = L.evaluate(run["model"], L.mnist_data().test)
    assert (loss, acc) == (run["test_loss"], run["test_acc"])


def test_train_mlp_same_seed_same_run():
    a = L.train_mlp("SGD", 0.5, steps=5)
    b = L.train_mlp("SGD", 0.5, steps=5)
    np.testing.assert_array_equal(a["losses"], b["losses"])


def test_paper_baselines_draw_into_a_live_plot():
    """Mechanics only (the lesson's notebook asserts the 100-step results)."""
    live = L.LiveLossPlot(every=10, show=False, smooth=5)
    lrs = {"SGD": 1.0, "Adam": 0.03}
    runs = L.paper_baselines_on_mnist(lrs, steps=30, live=live)
    assert list(runs) == list(lrs) == list(live.data)
    assert live.redraws == 2 * 3 + 1
    steps, losses, raw, avg = live.data["Adam"]
    assert steps == list(range(1, 31)) and np.allclose(losses, runs["Adam"]["losses"])
    assert len(raw.get_xdata()) == 30 and len(avg.get_xdata()) == 30 - 5 + 1
    assert live.ax.get_xlim() == (0, 30)
    assert runs["Adam"]["lr"] == 0.03 and runs["Adam"]["optimizer"] == "Adam"
    assert runs["Adam"]["losses"][-5:].mean() < runs["Adam"]["losses"][:5].mean()
