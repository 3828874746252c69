"""The evaluation protocol: rollouts, learning-rate tuning on validation problems, statistics,
and the figure."""

import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.l2l import (
    BaselineRule,
    LearnedRule,
    LSTMOptimizer,
    QuadraticProblem,
    evaluate_rule,
    lr_grid,
    make_problem,
    net_defaults,
    rollout,
    run_protocol,
    tune_lr,
)
from minigrad.l2l.evaluate import (
    Experiment,
    ExperimentRollouts,
    best_baseline,
    ci_overlap,
    compare_final,
    experiment_result,
    paired_against,
    pick_lr,
    problem_seeds,
    run_experiments,
    summarize,
    tune_on_validation,
)
from minigrad.l2l.flat import Flattener
from minigrad.l2l.meta import unroll
from minigrad.l2l.plots import plot_curves
from minigrad.l2l.stats import (
    finite_or_none,
    inf_if_none,
    mean_ci95,
    mean_or_inf,
    paired_comparison,
    t_quantile_975,
)


def test_t_quantiles_and_ci():
    for df, want in [(1, 12.706), (9, 2.262), (30, 2.042), (40, 2.021), (60, 2.000),
                     (120, 1.980), (1000, 1.962)]:
        assert t_quantile_975(df) == pytest.approx(want, abs=1.5e-3)
    x = np.array([[1.0, 2.0], [3.0, 2.0], [5.0, 2.0]])
    mean, half = mean_ci95(x)
    np.testing.assert_allclose(mean, [3.0, 2.0])
    np.testing.assert_allclose(half, [4.3027 * 2.0 / math.sqrt(3), 0.0])
    _, one = mean_ci95(np.array([[1.0]]))
    assert np.isnan(one).all()


def test_sgd_rollout_is_plain_gradient_descent():
    prob = QuadraticProblem(dim=4, batch=3, dtype="float64")
    inst = prob.sample(0)
    losses = rollout(BaselineRule("sgd", 0.01), inst, 5)
    assert losses.shape == (6, 3)  # steps + 1 rows, one column per function
    theta = inst.init_params()[0]
    for t in range(6):
        r = np.einsum("bij,bj->bi", inst.w, theta) - inst.y[..., 0]
        np.testing.assert_allclose(losses[t], (r * r).sum(1), rtol=1e-12)
        theta = theta - 0.01 * inst.grad_arrays(theta)


def test_learned_rule_without_graph_matches_meta_training_forward():
    net = LSTMOptimizer(**net_defaults("mnist"), seed=2).double()
    inst = QuadraticProblem(dim=3, batch=4, dtype="float64").sample(5)
    losses = rollout(LearnedRule(net), inst, 6)
    arrays = inst.init_params()
    flat = Flattener.like(arrays)
    _, _, _, values = unroll(net, inst, flat, flat.flatten(arrays), None, 0, 6)
    np.testing.assert_allclose(losses[1:].sum(axis=1), values, rtol=1e-12)


def test_stacked_quadratic_runs_equal_separate_runs():
    prob = QuadraticProblem(dim=3, batch=4, variant="official", dtype="float64")
    seeds = [(0, 3, 0), (0, 3, 1)]
    together = evaluate_rule(lambda: BaselineRule("adam", 0.1), prob, seeds, 7, 8)
    alone = [rollout(BaselineRule("adam", 0.1), prob.sample(s), 7) for s in seeds]
    np.testing.assert_allclose(together, np.concatenate(alone, axis=1).T, rtol=1e-12)
    assert len(problem_seeds(prob, 0, "test", 9)) == 3  # ceil(9 / batch 4) instances


def test_tune_lr_picks_the_best_final_validation_loss_and_rejects_divergence():
    prob = QuadraticProblem(dim=5, batch=8)  # float32: a blow-up overflows to inf
    seeds = problem_seeds(prob, 0, "val", 8)
    best, table = tune_lr("sgd", prob, seeds, 40, 8, grid=(1e-3, 1e-2, 1e-1, 1.0))
    assert set(table) == {1e-3, 1e-2, 1e-1, 1.0}
    assert table[1.0] == math.inf  # SGD with lr 1 blows up on these quadratics
    assert best == min(table, key=table.get) and math.isfinite(table[best])


def test_run_protocol_on_quadratics(tmp_path):
    net = LSTMOptimizer(**net_defaults("quadratic"))
    prob = QuadraticProblem(batch=16)
    result = run_protocol(net, prob, prob, steps=5, runs=20, val_runs=16, seed=1,
                          grid=lr_grid(1e-2, 1.0))
    for name in ("lstm", "sgd", "nag", "rmsprop", "adam"):
        entry = result[name]
        assert len(entry["curve"]) == 6 and len(entry["ci95"]) == 6
        assert set(entry) >= {"curve", "ci95", "final_loss", "summed_loss"}
        if name != "lstm":
            assert entry["lr"] in lr_grid(1e-2, 1.0)
            assert entry["val_final_loss"][f"{entry['lr']:g}"] == min(
                v for v in entry["val_final_loss"].values() if v is not None)
    adam = result["adam"]
    assert adam["summed_loss"] == pytest.approx(sum(adam["curve"][1:]), rel=1e-9)
    assert adam["curve"][-1] == pytest.approx(adam["final_loss"], rel=1e-12)
    assert result["runs"] == 20 and result["steps"] == 5
    # validation and test problems are different draws
    val = prob.sample(problem_seeds(prob, 1, "val", 1)[0])
    test = prob.sample(problem_seeds(prob, 1, "test", 1)[0])
    assert not np.array_equal(val.w, test.w)
    # every run's final loss is there, and the paired comparison is recomputable from them
    assert len(adam["finals"]) == 20 and np.mean(adam["finals"]) == pytest.approx(
        adam["final_loss"], rel=1e-9)
    assert adam["median_final"] == pytest.approx(np.median(adam["finals"]))
    paired = result["paired"]
    best = min(("sgd", "nag", "rmsprop", "adam"), key=lambda n: result[n]["final_loss"])
    assert paired["baseline"] == best and paired["runs"] == 20
    assert paired["mean_diff"] == pytest.approx(
        np.mean(np.subtract(result["lstm"]["finals"], result[best]["finals"])), rel=1e-9)
    png = plot_curves(dict(result, problem="quadratic"), tmp_path / "curves.png")
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        run_protocol(net, prob, prob, optimizers=("lbfgs",))


def test_summary_marks_diverged_runs_as_null():
    losses = np.array([[1.0, 0.5, 0.2], [1.0, np.inf, np.inf]])
    s = summarize(losses)
    assert s["final_loss"] is None and s["diverged_runs"] == 1
    assert s["curve"][0] == 1.0 and s["curve"][2] is None


def test_mnist_rollout_uses_the_problem_minibatches():
    prob = make_problem("mnist", "sigmoid-20", split="val")
    inst = prob.sample((0, 2, 0))
    losses = rollout(BaselineRule("adam", 0.03), inst, 3)
    params = [mg.tensor(p) for p in inst.init_params()]
    assert losses[0, 0] == pytest.approx(inst.loss(params, 0).item(), rel=1e-6)
    assert losses.shape == (4, 1) and losses[-1, 0] < losses[0, 0]


def test_paired_comparison_decides_where_separate_intervals_cannot():
    rng = np.random.default_rng(0)
    hardness = rng.lognormal(0.0, 1.0, 50)  # some problems are much harder than others
    a = hardness * 0.95  # 5% better on every single problem
    b = hardness * 1.00
    _, half_a = mean_ci95(a)
    assert abs(a.mean() - b.mean()) < half_a  # separate intervals overlap: undecided
    r = paired_comparison(a, b)
    assert r["verdict"] == "a" and r["wins"] == 1.0 and r["diff_ci95"][1] < 0
    assert r["median_a"] == pytest.approx(np.median(a)) and r["runs"] == 50
    assert paired_comparison(b, a)["verdict"] == "b"
    noise = rng.normal(0.0, 1.0, 50)
    tie = paired_comparison(hardness + noise * 0.1, hardness + noise[::-1] * 0.1)
    assert tie["verdict"] == "tie" and tie["diff_ci95"][0] < 0 < tie["diff_ci95"][1]


def test_paired_comparison_with_diverged_runs_and_bad_input():
    r = paired_comparison([1.0, float("nan"), 2.0], [1.5, 1.0, 3.0])
    assert r["diff_ci95"] is None and r["wins"] == pytest.approx(2 / 3)
    assert r["verdict"] == "tie"
    assert paired_comparison([1.0, 2.0], [float("inf"), 3.0])["verdict"] == "a"
    with pytest.raises(ValueError, match="equally long"):
        paired_comparison([1.0, 2.0], [1.0])


def test_one_score_and_the_json_conversions():
    assert mean_or_inf([1.0, 2.0, 4.5]) == 2.5
    assert mean_or_inf(np.array([1.0, np.nan])) == math.inf
    assert mean_or_inf([1.0, -np.inf]) == math.inf  # any diverged run, either sign
    assert finite_or_none(np.float32(0.5)) == 0.5 and type(finite_or_none(np.float32(0.5))) is float
    assert finite_or_none(np.inf) is None and finite_or_none(np.nan) is None
    assert finite_or_none(None) is None
    assert inf_if_none(None) == math.inf and inf_if_none(2) == 2.0
    # pick_lr scores every rate by that one score: divergence loses, ties go to the smaller lr
    table = {0.1: [1.0, 2.0], 0.01: [1.5, 1.5], 1.0: [np.nan, 0.0]}
    assert pick_lr(table) == 0.01
    assert pick_lr({0.3: [np.inf], 0.03: [np.inf]}) == 0.03


def _entry(finals, ci=0.1):
    finals = [None if not math.isfinite(v) else v for v in finals]
    mean = None if None in finals else float(np.mean(finals))
    return {"final_loss": mean, "final_ci95": None if mean is None else ci, "finals": finals,
            "curve": [3.0, mean], "lr": 0.1}


def test_best_baseline_and_paired_against_it():
    res = {"lstm": _entry([1.0, 2.0, 3.0]), "sgd": _entry([1.5, np.inf, 3.5]),
           "nag": _entry([1.2, 2.2, 3.1]), "rmsprop": _entry([1.2, 2.2, 3.1]),
           "adam": _entry([2.0, 3.0, 4.0])}
    assert best_baseline(res) == "nag"  # sgd diverged (+inf); nag before rmsprop on a tie
    assert best_baseline(res, ("adam", "rmsprop")) == "rmsprop"
    p = paired_against(res, "nag")
    assert p["baseline"] == "nag" and p["verdict"] == "a" and p["wins"] == 1.0
    assert p == {"baseline": "nag", **paired_comparison([1.0, 2.0, 3.0], [1.2, 2.2, 3.1])}
    diverged = paired_against(res, "sgd")
    assert diverged["diff_ci95"] is None and diverged["mean_b"] is None
    assert ci_overlap(res["nag"], res["rmsprop"]) is True
    assert ci_overlap(res["lstm"], res["adam"]) is False  # |2 - 3| > 0.1 + 0.1
    assert ci_overlap(res["lstm"], res["sgd"]) is None
    cmp = compare_final(res)
    assert cmp["best"] == "nag" and cmp["verdict"] == "lower" and cmp["runs"] == 3


def test_experiment_rollouts_compute_each_rollout_once_at_the_longest_horizon():
    prob = QuadraticProblem(batch=4)
    short = Experiment("s", "short", optimizee=None, steps=3, runs=6, val_runs=4,
                       grid=(0.01, 0.1), dataset="quadratic")
    long = Experiment("l", "long", optimizee=None, steps=5, runs=2, val_runs=4,
                      grid=(0.1,), dataset="quadratic")
    built = []

    def factory(exp, split):
        built.append((exp.key, split))
        return prob

    rollouts = ExperimentRollouts([short, long], None, factory, seed=1)
    assert built == [("s", "val"), ("s", "test"), ("l", "val"), ("l", "test")]
    assert rollouts.seeds(short, "test", 6) == [(1, 3, 0), (1, 3, 1)]  # 4 functions a sample
    wanted = [(("sgd", 0.1), short, "val", 4), (("sgd", 0.1), long, "val", 4)]
    requests = rollouts.missing(wanted)
    assert [(key[0], key[3], steps) for key, _, _, _, steps in requests] == [
        (("sgd", 0.1), (1, 2, 0), 5)]  # shared by both experiments, at the longer horizon
    asked = []

    def runner(reqs):  # computes nothing: fill computes what the runner did not return
        asked.extend(reqs)
        return {}

    rollouts.runner = runner
    rollouts.fill(wanted)
    assert asked == requests and rollouts.cache.steps_computed == 5
    rollouts.fill(wanted)
    assert rollouts.cache.steps_computed == 5 and len(asked) == 1  # nothing missing
    losses = rollouts.losses(("sgd", 0.1), short, "val", 4)
    assert losses.shape == (4, 4)
    expected = evaluate_rule(lambda: BaselineRule("sgd", 0.1), prob,
                             problem_seeds(prob, 1, "val", 4), 5, 4)
    np.testing.assert_array_equal(rollouts.losses(("sgd", 0.1), long, "val", 4), expected)
    np.testing.assert_array_equal(losses, expected[:, :4])


def test_tune_on_validation_and_experiment_result_are_the_protocols_steps():
    prob = QuadraticProblem(batch=4)
    net = LSTMOptimizer(**net_defaults("quadratic"))
    exp = Experiment("q", "q", optimizee=None, steps=4, runs=4, val_runs=4,
                     grid=(1e-2, 1e-1, 10.0), dataset="quadratic")
    rollouts = ExperimentRollouts([exp], net, lambda e, split: prob, seed=2)
    rollouts.fill([(("adam", lr), exp, "val", 4) for lr in exp.grid])
    logs = []
    lr, table = tune_on_validation(rollouts, exp, "adam", log=logs.append)
    assert lr == pick_lr(table) and set(table) == {1e-2, 1e-1, 10.0}
    assert logs[0] == f"tune adam lr=0.01: {mean_or_inf(table[1e-2]):.4g}" and len(logs) == 3
    assert tune_on_validation(rollouts, exp, "adam", pick=max)[0] == 10.0
    rollouts.fill([(("lstm",), exp, "test", 4), (("adam", lr), exp, "test", 4)])
    res = experiment_result(rollouts, exp, ("lstm", "adam"), {("q", "adam"): (lr, table)})
    assert res["key"] == "q" and res["seed"] == 2 and res["grid"] == [1e-2, 1e-1, 10.0]
    assert res["adam"]["lr"] == lr and res["paired"]["baseline"] == "adam"
    assert res["adam"]["val_final_loss"]["0.01"] == finite_or_none(mean_or_inf(table[1e-2]))
    ref = run_experiments([exp], net, lambda e, split: prob, seed=2,
                          optimizers=("lstm", "adam"))["q"]
    ref.pop("seconds")
    assert ref == res
