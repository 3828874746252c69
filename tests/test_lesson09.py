"""Lesson 09 helpers: the exercises (09.1 second-order meta-gradient, 09.2 the W2 prediction) and
their checks, the quadratic families and their fast
rollout against the library's, the switch measurements, first vs second order, the probes of
the learned optimizer, the sequence explorer (headless) and the GPU cell."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from minigrad.backend import cupy_status  # noqa: E402
from minigrad.course import check, checks  # noqa: E402
from minigrad.course import lesson09 as L  # noqa: E402
from minigrad.l2l import LogAndSign, LSTMOptimizer, net_defaults, rollout  # noqa: E402
from minigrad.l2l.checkpoints import PRETRAINED_DIR  # noqa: E402
from minigrad.l2l.problems import QuadraticProblem  # noqa: E402
from minigrad.optim import update_rules as F  # noqa: E402
from minigrad.tensor import Tensor  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def untrained(seed=0):
    return LSTMOptimizer(**net_defaults("quadratic"), seed=seed)


# --------------------------------------------------------------------------------------------
# The official code's LogAndSign


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [3.0, 5.0, 10.0])
def test_official_log_and_sign_is_the_papers_map_with_p_equal_k(k, dtype):
    rng = np.random.default_rng(0)
    g = (rng.choice([-1, 1], 500) * 10.0 ** rng.uniform(-12, 3, 500)).astype(dtype)
    g[:5] = [0.0, math.exp(-k), -math.exp(-k), 1.0, -1.0]
    out = L.official_log_and_sign(g, k)
    assert out.shape == (500, 2) and out.dtype == dtype
    np.testing.assert_allclose(out, LogAndSign(k)(g), rtol=1e-5, atol=1e-6)
    assert out[0].tolist() == [-1.0, 0.0]


# --------------------------------------------------------------------------------------------
# Exercise 09.1: the meta-gradient with the Hessian term kept


def test_exercise_09_1_passes_the_reference_and_diagnoses_a_missing_hessian_term(capsys):
    assert check("09.1", L.unrolled_meta_gradient) is L.unrolled_meta_gradient
    assert "✅" in capsys.readouterr().out

    def always_first(net, f, theta0, steps, second_order):
        return L.unrolled_meta_gradient(net, f, theta0, steps, False)

    assert check("09.1", always_first) is L.unrolled_meta_gradient
    out = capsys.readouterr().out
    assert "❌" in out and "second order" in out and "first-order meta-gradient" in out

    def always_second(net, f, theta0, steps, second_order):
        return L.unrolled_meta_gradient(net, f, theta0, steps, True)

    check("09.1", always_second)
    assert "with second_order=False grad_t" in capsys.readouterr().out

    def stub(net, f, theta0, steps, second_order):
        raise NotImplementedError()

    assert check("09.1", stub) is L.unrolled_meta_gradient
    assert "not done yet" in capsys.readouterr().out


def test_tiny_meta_gradients_equal_the_librarys_and_the_cosine_tells_them_apart():
    tiny = L.tiny_problem(seed=0, dim=10, batch=2, dtype="float32")
    net, _ = L.load_pretrained("quadratic")
    first = L.unrolled_meta_gradient(net, tiny.f, tiny.theta0, 10, second_order=False)
    second = L.unrolled_meta_gradient(net, tiny.f, tiny.theta0, 10, second_order=True)
    np.testing.assert_allclose(first, L.library_meta_gradient(net, tiny, 10, False), rtol=1e-3,
                               atol=1e-6)
    np.testing.assert_allclose(second, L.library_meta_gradient(net, tiny, 10, True), rtol=1e-3,
                               atol=1e-6)
    assert L.cosine(first, second) < 0.9  # the shipped optimizer reads its input
    fresh = untrained()
    a = L.unrolled_meta_gradient(fresh, tiny.f, tiny.theta0, 10, second_order=False)
    b = L.unrolled_meta_gradient(fresh, tiny.f, tiny.theta0, 10, second_order=True)
    assert L.cosine(a, b) > 0.99  # an untrained one hardly does


# --------------------------------------------------------------------------------------------
# Exercise 09.2: predict the ReLU/sigmoid ratio of W2's gradients


def test_exercise_09_2_passes_the_reference_and_names_the_wrong_reasoning(capsys):
    assert check("09.2", L.predict_w2_ratio) is L.predict_w2_ratio
    assert "✅" in capsys.readouterr().out
    for wrong, why in [(lambda hs, hr: 1.0, "do not matter"),
                       (lambda hs, hr: 4.0, "slopes"),
                       (lambda hs, hr: float(np.mean(hs) / np.mean(hr)), "upside down")]:
        assert check("09.2", wrong) is L.predict_w2_ratio
        out = capsys.readouterr().out
        assert "❌" in out and why in out


def test_w2_measurement_and_report():
    m = L.w2_measurement(seed=0)
    hs, hr = m["sigmoid"]["h"], m["relu"]["h"]
    assert hs.shape == hr.shape == (128, 20)
    assert abs(hs.mean() - 0.5) < 0.01 and (hr == 0).mean() > 0.3
    assert 0.05 < m["ratio"] < 0.2  # ReLU: W2's gradients about ten times smaller
    pred = L.predict_w2_ratio(hs, hr)
    assert m["ratio"] / 2.5 < pred < m["ratio"]  # the mean model underestimates, within 2.5x
    text = L.w2_report(pred, m)
    assert f"{pred:.3f}" in text and f"{m['ratio']:.3f}" in text


# --------------------------------------------------------------------------------------------
# Momentum's and Adam's steps (lesson 03's formulas)


@pytest.mark.parametrize("shape", [(17,), (9, 3)])
def test_hand_designed_steps_equal_minigrads_optimizers(shape):
    rng = np.random.default_rng(2)
    grads = rng.standard_normal(shape)
    mine = L.hand_designed_steps(grads, 0.05, 0.2, momentum=0.8, betas=(0.85, 0.99), eps=1e-6)
    th_m = th_a = np.zeros(shape[1:])
    s_m, s_a = {}, {}
    for t, g in enumerate(grads):
        new_m, s_m = F.sgd(th_m, g, s_m, 0.05, momentum=0.8)
        new_a, s_a = F.adam(th_a, g, s_a, 0.2, betas=(0.85, 0.99), eps=1e-6)
        np.testing.assert_allclose(mine["momentum"][t], new_m - th_m, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(mine["adam"][t], new_a - th_a, rtol=1e-10, atol=1e-14)
        th_m, th_a = new_m, new_a
    assert mine["momentum"].shape == mine["adam"].shape == shape


def test_hand_designed_steps_on_constant_and_alternating_gradients():
    const = L.hand_designed_steps(np.ones(40), 0.1, 0.1)
    assert const["momentum"][-1] == pytest.approx(-0.1 * (1 - 0.9**40) / 0.1)
    np.testing.assert_allclose(const["adam"], -0.1, rtol=1e-7)
    zero = L.hand_designed_steps(np.zeros(5), 0.1, 0.1)
    assert not zero["momentum"].any() and not zero["adam"].any()


# --------------------------------------------------------------------------------------------
# The quadratic families and the fast rollout


@pytest.mark.parametrize("variant", ["paper", "official"])
def test_family_instances_match_the_librarys_quadratics(variant):
    # the library's official variant averages over its own batch (here 8): factor 1/8
    functions = 8
    lib = QuadraticProblem(batch=functions, variant=variant).sample((0, 1, 4))
    family = next(n for n, (v, f) in L.FAMILIES.items() if v == variant)
    mine = L.FamilyProblem(family, functions).sample((0, 1, 4))
    mine.factor = 1.0 if variant == "paper" else 1.0 / functions
    theta = Tensor.from_array(lib.theta0 + 0.3, requires_grad=True)
    a, runs_a = lib.loss_and_runs([theta])
    b, runs_b = mine.loss_and_runs([theta])
    assert a.item() == pytest.approx(b.item(), rel=1e-6)
    np.testing.assert_allclose(runs_a, runs_b, rtol=1e-6)
    np.testing.assert_allclose(mine.gradient(theta.data.reshape(-1)),
                               lib.grad_arrays(theta.data).reshape(-1), rtol=1e-5, atol=1e-6)


def test_family_gradient_is_the_autograd_gradient_and_the_mean_divides_it_by_128():
    from minigrad.autograd import grad

    summed = L.FamilyProblem("uniform, summed", 4, dtype="float64").sample(3)
    mean = L.FamilyProblem("official: uniform, mean of 128", 4, dtype="float64").sample(3)
    theta = Tensor.from_array(summed.theta0 - 0.2, requires_grad=True)
    (g,) = grad(summed.loss([theta]), [theta])
    np.testing.assert_allclose(summed.gradient(theta.data.reshape(-1)), g.data.reshape(-1))
    np.testing.assert_allclose(mean.gradient(theta.data.reshape(-1)) * 128, g.data.reshape(-1))


def test_unknown_family_is_refused():
    with pytest.raises(ValueError, match="unknown quadratic family"):
        L.FamilyProblem("spherical")


@pytest.mark.parametrize("name", ["adam", "momentum", "lstm"])
@pytest.mark.parametrize("family", ["paper: Gaussian, summed", "official: uniform, mean of 128"])
def test_quadratic_rollout_equals_the_librarys_rollout(name, family):
    net = untrained()
    prob = L.FamilyProblem(family, 3)
    fast = L.quadratic_rollout(L.make_rule(name, 0.05, net), prob.sample(5), 12)
    slow = rollout(L.make_rule(name, 0.05, net), prob.sample(5), 12)
    assert fast.shape == slow.shape == (13, 3)
    np.testing.assert_allclose(fast, slow, rtol=1e-5)


def test_quadratic_rollout_stops_on_divergence():
    prob = L.FamilyProblem("paper: Gaussian, summed", 2)
    losses = L.quadratic_rollout(L.make_rule("sgd", 1e3), prob.sample(0), 30)
    assert losses.shape == (31, 2) and not np.isfinite(losses[-1]).all()


def test_tune_lr_returns_the_best_rate_of_the_grid():
    prob = L.FamilyProblem("paper: Gaussian, summed", 4)
    lr, table = L.tune_lr("sgd", prob, steps=20, grid=(1e-3, 1e-2, 10.0))
    assert table[10.0] == math.inf  # plain SGD at lr 10 diverges on these quadratics
    assert lr == min(table, key=table.get) and math.isfinite(table[lr])


def test_family_stats_ratios():
    stats = L.family_stats(functions=16)
    assert set(stats) == set(L.FAMILIES)
    g = {k: v["median_grad"] for k, v in stats.items()}
    assert g["paper: Gaussian, summed"] / g["Gaussian, mean of 128"] == pytest.approx(128)
    assert stats["uniform, summed"]["median_cond"] > stats["paper: Gaussian, summed"][
        "median_cond"]


def test_transfer_small_adam_ignores_the_batch_mean_and_the_lstm_does_not():
    res = L.transfer(untrained(), steps=6, functions=2, grid=(1e-2, 1e-1))
    assert set(res) == set(L.FAMILIES)
    for r in res.values():
        assert r["lstm"].shape == r["adam"].shape == (2, 7)
    a, b = res["paper: Gaussian, summed"], res["Gaussian, mean of 128"]
    assert a["adam_lr"] == b["adam_lr"]
    np.testing.assert_allclose(a["adam"], b["adam"], rtol=1e-4)
    assert not np.allclose(a["lstm"], b["lstm"], rtol=1e-3)
    assert L.plot_transfer(res) is not None


# --------------------------------------------------------------------------------------------
# The MNIST switches


@pytest.fixture(scope="module")
def mnist_g():
    return L.mnist_gradient(0)


def test_mnist_gradient_and_preprocessing_report(mnist_g):
    assert mnist_g.shape == (15_910,) and np.isfinite(mnist_g).all()
    rep = L.preprocessing_report(mnist_g, ps=(10.0, 5.0))
    for p, r in rep.items():
        assert r["clamped"] == pytest.approx(np.mean(np.abs(mnist_g) < math.exp(-p)))
        assert r["inputs"].shape == (15_910, 2)
    assert rep[5.0]["clamped"] > rep[10.0]["clamped"]
    assert L.plot_preprocessing(mnist_g, rep) is not None


def test_untrained_first_steps_scale_is_exactly_a_multiplier():
    rng = np.random.default_rng(0)
    g = (rng.standard_normal(300) * 1e-3).astype(np.float32)
    stats = L.untrained_first_steps(g, ps=(10.0,), scales=(0.1, 0.01))
    for s in (0.1, 0.01):
        direct, _ = LSTMOptimizer(preprocess="logsign", p=10.0, output_scale=s,
                                  seed=0).update_array(g, None)
        unit, _ = LSTMOptimizer(preprocess="logsign", p=10.0, output_scale=1.0,
                                seed=0).update_array(g, None)
        np.testing.assert_allclose(direct, s * unit, rtol=1e-6)
        assert stats[(10.0, s)]["median"] == pytest.approx(np.median(np.abs(direct)), rel=1e-5)
        downhill = np.mean(np.sign(direct) == -np.sign(g))
        assert stats[(10.0, s)]["downhill"] == pytest.approx(downhill)


def test_loss_terms_change_the_value_only():
    res = L.loss_terms_demo(functions=2, length=4, iterations=1)
    assert res["official"] - res["paper"] == pytest.approx(res["f0"], rel=1e-4)
    assert res["grad_diff"] == 0.0 and res["weights_diff"] == 0.0


# --------------------------------------------------------------------------------------------
# First vs second order


def test_compare_meta_gradients_small():
    res = L.compare_meta_gradients(untrained(), functions=2, length=5)
    assert res["loss"][0] == pytest.approx(res["loss"][1], rel=1e-5)
    assert res["nodes"][1] > res["nodes"][0] > 0
    assert -1.0 <= res["cosine"] <= 1.0 + 1e-9
    assert set(res["per_parameter"]) == {n for n, _ in untrained().named_parameters()}


def test_second_order_meta_gradient_differs_from_first_order_for_a_responsive_net():
    # an optimizer whose step depends strongly on its input: the dropped term matters
    net = LSTMOptimizer(preprocess="identity", hidden_size=4, num_layers=1, output_scale=0.05,
                        seed=1)
    first = L.meta_gradient(net, False, functions=2, length=6)
    second = L.meta_gradient(net, True, functions=2, length=6)
    assert first["loss"] == pytest.approx(second["loss"], rel=1e-5)
    assert not np.allclose(first["vector"], second["vector"], rtol=1e-3)


def test_count_graph_nodes():
    x = Tensor.from_array(np.ones(3), requires_grad=True)
    y = (x * 2.0 + 1.0).sum()
    assert L.count_graph_nodes(y) == 3


def test_order_race_small():
    race = L.order_race(iterations=2, functions=2, steps=4, unroll_length=2)
    assert set(race) == {"first order", "second order"}
    for r in race.values():
        assert r["curve"].shape == (2,) and np.isfinite(r["curve"]).all()
    assert L.plot_order_race(race) is not None


# --------------------------------------------------------------------------------------------
# Probing the learned optimizer


def test_gradient_sequences():
    assert L.gradient_sequence("constant", 2.0, 4).tolist() == [2.0] * 4
    assert L.gradient_sequence("alternating", 1.0, 4).tolist() == [1.0, -1.0, 1.0, -1.0]
    assert L.gradient_sequence("growing", 1.0, 3)[-1] == pytest.approx(1.21)
    assert L.gradient_sequence("decaying", 1.0, 3)[-1] == pytest.approx(0.81)
    assert not L.gradient_sequence("zero", 5.0, 3).any()
    noisy = L.gradient_sequence("noisy", 1.0, 2000, seed=1)
    assert noisy.mean() == pytest.approx(1.0, abs=0.1) and noisy.std() == pytest.approx(1, 0.1)
    with pytest.raises(ValueError, match="unknown gradient sequence"):
        L.gradient_sequence("sawtooth")


def test_learned_steps_are_coordinatewise_and_equal_a_manual_loop():
    net = untrained()
    grads = np.stack([L.gradient_sequence(k, 0.5, 7) for k in L.SEQUENCES], axis=1)
    together = L.learned_steps(net, grads)
    for j in range(grads.shape[1]):
        alone = L.learned_steps(net, grads[:, j])
        np.testing.assert_allclose(together[:, j], alone, rtol=1e-6, atol=1e-7)
    state, manual = None, []
    for g in grads[:, 0].astype(np.float32):
        d, state = net.update_array(np.array([g]), state)
        manual.append(d[0])
    np.testing.assert_allclose(together[:, 0], manual, rtol=1e-6)


def test_step_responses_split_into_odd_and_even_parts():
    net = untrained()
    r = L.step_responses(net, "decaying", 2.0, 12, momentum_lr=0.01, adam_lr=0.1)
    np.testing.assert_allclose(r["odd"] + r["even"], r["lstm"])
    flipped = L.learned_steps(net, -r["grads"])
    np.testing.assert_allclose(r["odd"], (r["lstm"] - flipped) / 2, rtol=1e-6)
    hand = L.hand_designed_steps(r["grads"], 0.01, 0.1)
    np.testing.assert_allclose(r["momentum"], hand["momentum"])
    np.testing.assert_allclose(r["adam"], hand["adam"])
    assert L.plot_step_responses([r, r]) is not None


def test_magnitude_response():
    net = untrained()
    res = L.magnitude_response(net, scales=[1e-2, 1.0, 1e2], after=4, momentum_lr=0.01,
                               adam_lr=0.1)
    np.testing.assert_allclose(res["momentum"] / res["scales"], res["momentum"][0] / 1e-2)
    np.testing.assert_allclose(res["adam"], -0.1, rtol=1e-5)
    bound = np.abs(net.head.weight.numpy()).sum() + abs(net.head.bias.item())
    assert (np.abs(res["lstm"]) <= bound + 1e-6).all()
    assert L.plot_magnitude_response(res) is not None


def test_sequence_explorer_responds_to_every_control():
    ex = L.make_sequence_explorer(untrained(), momentum_lr=0.01, adam_lr=0.1, steps=20)
    c = ex.controls
    assert set(c) == {"kind", "log_scale", "steps", "parts", "log_momentum_lr", "log_adam_lr"}
    assert ex.result["kind"] == "alternating" and len(ex.result["grads"]) == 20

    c["kind"].value = "constant"
    assert ex.result["kind"] == "constant" and (ex.result["grads"] == 1.0).all()
    c["log_scale"].value = 1.0
    assert ex.result["grads"][0] == pytest.approx(10.0)
    c["steps"].value = 40
    assert len(ex.result["lstm"]) == 40
    before = ex.result["momentum"].copy()
    c["log_momentum_lr"].value = -1.0
    np.testing.assert_allclose(ex.result["momentum"], 10 * before)
    c["log_adam_lr"].value = -2.0
    np.testing.assert_allclose(ex.result["adam"], -0.01, rtol=1e-5)
    calls = []
    original = ex._compute
    ex._compute = lambda **kw: calls.append(kw) or original(**kw)
    c["parts"].value = False
    assert calls and calls[-1]["parts"] is False


# --------------------------------------------------------------------------------------------
# The shipped optimizer and the GPU cell


@pytest.mark.skipif(not (PRETRAINED_DIR / "quadratic.npz").is_file(),
                    reason="no pretrained quadratic optimizer shipped yet")
def test_load_pretrained_quadratic():
    net, info = L.load_pretrained("quadratic")
    assert info["problem"]["name"] == "quadratic" and info["weights"] in ("best", "last")
    assert net.config()["preprocess"] == info["net"]["preprocess"]
    assert "meta-iterations" in L.describe_pretrained(info)
    d, _ = net.update_array(np.ones(3, dtype=net.dtype), None)
    assert np.isfinite(d).all()


def test_load_pretrained_unknown_problem_says_what_is_missing():
    with pytest.raises(FileNotFoundError, match="no pretrained checkpoint"):
        L.load_pretrained("cifar")


def test_gpu_cell_skips_with_the_reason_where_cupy_cannot_run():
    usable, reason = cupy_status()
    res = L.gpu_meta_iteration(functions=2, steps=4, unroll_length=2)
    assert res["ran"] == usable and res["reason"] == reason
    if not usable:
        assert set(res) == {"ran", "reason"}


@pytest.mark.gpu
@pytest.mark.skipif(not cupy_status()[0], reason=cupy_status()[1])
def test_gpu_meta_iteration_matches_the_cpu():
    from minigrad.backend import default_device

    before = default_device()
    res = L.gpu_meta_iteration(functions=2, steps=4, unroll_length=2)
    assert res["ran"] and res["gpu_loss"] == pytest.approx(res["cpu_loss"], rel=1e-3)
    assert default_device() == before


def test_every_exercise_of_the_lesson_is_registered():
    L  # noqa: B018  (importing the module registers them)
    assert {"09.1", "09.2"} <= set(checks.registered())


# --------------------------------------------------------------------------------------------
# Section "Take it home": the learned optimizer as a drop-in optimizer on lesson 03's MLP


def test_take_home_race_is_the_library_optimizer_on_the_same_batches():
    runs = L.race("sigmoid", steps=20, show=False)
    assert set(runs) == {"Adam", "Learned"}
    assert runs["Learned"]["losses"][0] == runs["Adam"]["losses"][0]  # same weights and batch
    s = L.race_summary(runs, at=10, window=5)
    assert s["Learned"]["steps"] == 20
    assert np.isclose(s["Adam"]["at"], runs["Adam"]["losses"][5:10].mean())
    text = L.race_reading(s, at=10)
    assert text.startswith("Minibatch loss at step 10: learned ")
    assert f"{s['Adam']['test_loss']:.3f}" in text
