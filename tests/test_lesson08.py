"""Lesson 08 helpers: Fashion-MNIST problems, the final-loss ratio and the overview, exercise
08.1 (predict the ratio at step 200) and its diagnoses, the provenance of the stored results,
gradient statistics (sigmoid vs ReLU), the long-horizon report, the sweep, and the
generalisation explorer (headless)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import math  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from minigrad.course import check, checks  # noqa: E402
from minigrad.course import lesson07 as L7  # noqa: E402
from minigrad.course import lesson08 as L  # noqa: E402
from minigrad.l2l import BASELINES, LSTMOptimizer, net_defaults  # noqa: E402
from minigrad.l2l.evaluate import summarize  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _result(curves: dict, runs: int = 2, title: str = "fake", steps=None) -> dict:
    """A stored-result-shaped dict from mean curves (every run equal to the mean)."""
    steps = len(next(iter(curves.values()))) - 1 if steps is None else steps
    res = {"title": title, "runs": runs, "steps": steps}
    for k, name in enumerate(("lstm",) + BASELINES):
        curve = np.asarray(curves.get(name, np.linspace(2.3, 1.0 + k, steps + 1)), dtype=float)
        losses = np.tile(curve, (runs, 1)) + np.arange(runs)[:, None] * 1e-3
        e = summarize(losses)
        e["finals"] = [float(v) if math.isfinite(v) else None for v in losses[:, -1]]
        e["run0"] = [float(v) if math.isfinite(v) else None for v in losses[0]]
        if name != "lstm":
            e["lr"] = 0.01 * (k + 1)
        res[name] = e
    return res


# --------------------------------------------------------------------------------------------
# Fashion-MNIST


def test_fashion_available_says_why_not(tmp_path):
    ok, why = L.fashion_available(tmp_path)
    assert ok is False and "not found" in why and "dataset-fashion-mnist" in why
    # the whole message: every folder searched and the files expected, not its first line
    assert "Searched:" in why and str(tmp_path) in why.splitlines()[1], why
    assert "t10k-images-idx3-ubyte.gz" in why and "download_idx_dataset" in why


def test_fashion_problem_uses_two_disjoint_stratified_halves_of_the_test_file():
    ok, why = L.fashion_available()
    if not ok:
        pytest.skip(why)
    parts = L.load_fashion()
    (xv, yv), (xt, yt) = parts["val"], parts["test"]
    assert xv.shape == (5000, 784) and xt.shape == (5000, 784)
    assert (np.bincount(yv) == 500).all() and (np.bincount(yt) == 500).all()
    assert 0.0 <= xv.min() and xv.max() <= 1.0
    rows_v = {r.tobytes() for r in (xv[:300] * 255).astype(np.uint8)}
    assert not any(r.tobytes() in rows_v for r in (xt * 255).astype(np.uint8))
    problem = L.FashionProblem("sigmoid-2", split="val")
    images, labels = problem.data()
    assert np.array_equal(labels, yv) and problem.config()["name"] == "fashion-mnist"
    inst = problem.sample((0, 2, 0))
    from minigrad.l2l import Flattener

    flat = Flattener.like(inst.init_params())
    assert math.isfinite(inst.loss(flat.leaves(flat.flatten(inst.init_params())), 0).item())
    assert "Fashion-MNIST" in problem.describe()
    with pytest.raises(ValueError, match="never meta-trained"):
        L.FashionProblem(split="train")


def test_problem_factory_dispatches_on_the_dataset():
    factory = L.problem_factory({"batch_size": 64, "init_std": 0.01, "data_seed": 0})
    mnist = factory(L7.Experiment("m", "m", optimizee="relu-3"), "val")
    assert mnist.name == "mnist" and mnist.batch_size == 64 and mnist.activation == "relu"
    fashion = factory(L7.Experiment("f", "f", dataset="fashion-mnist"), "test")
    assert isinstance(fashion, L.FashionProblem) and fashion.batch_size == 64


def test_the_experiments_cover_the_paper_and_the_sweep():
    keys = {e.key for e in L.EXPERIMENTS} | {e.key for e in L7.EXPERIMENTS}
    assert {"mnist-200", "mnist-40", "mnist-2layer", "mnist-relu", "mnist-long",
            "fashion"} <= keys
    assert set(L.SWEEP.values()) <= keys and set(L.CLAIMS) == keys
    long = next(e for e in L.EXPERIMENTS if e.key == "mnist-long")
    assert long.steps == 1000 and long.grid == L7.DECADES


# --------------------------------------------------------------------------------------------
# Exercise 08.1 and the overview


def test_final_loss_ratio_and_compare_final_agree():
    res = _result({"lstm": [2.3, 1.0, 0.5], "adam": [2.3, 1.2, 0.4]})
    best, ratio = L.final_loss_ratio(res)
    cmp = L7.compare_final(res)
    assert best == cmp["best"] == "adam"
    assert ratio == pytest.approx(cmp["ratio"]) and ratio == pytest.approx(0.5005 / 0.4005)
    res["lstm"]["final_loss"] = None
    assert L.final_loss_ratio(res) == ("adam", math.inf)


def _verdict(capsys, fn):
    got = check("08.1", fn)
    return got, capsys.readouterr().out


def _each(curves, to_step, pace_of_lstm=False, per_step=False):
    """A learner's prediction: every curve carried on from step now/2 to now, per doubling (or
    per step); the learned optimizer too when ``pace_of_lstm``, else it stays where it is."""
    now = len(curves["lstm"]) - 1

    def carry(c):
        k = (to_step - now) / (now - now // 2) if per_step else math.log2(to_step / now)
        return c[now] * (c[now] / c[now // 2]) ** k

    lstm = carry(curves["lstm"]) if pace_of_lstm else curves["lstm"][now]
    return lstm / min(carry(curves[b]) for b in BASELINES)


def test_exercise_08_1_reference_and_a_regression_on_log_log_axes_pass(capsys):
    got, out = _verdict(capsys, L.predict_ratio)
    assert got is L.predict_ratio and out.startswith("✅") and "2/2" in out, out

    def fitted(curves, to_step):  # a learner who fits a line to steps 25..100 on log-log axes
        steps = np.arange(25, len(curves["lstm"]))
        def ahead(c):
            slope, icpt = np.polyfit(np.log(steps), np.log(c[25:]), 1)
            return math.exp(icpt + slope * math.log(to_step))
        return curves["lstm"][-1] / min(ahead(curves[b]) for b in BASELINES)

    got, out = _verdict(capsys, fitted)
    assert got is fitted and out.startswith("✅"), out
    assert checks.results()["08.1"] == "passed"


@pytest.mark.parametrize("fn, says", [
    (lambda c, t: c["lstm"][-1] / min(c[b][-1] for b in BASELINES),
     "that is the ratio at step 100"),
    (lambda c, t: _each(c, t, pace_of_lstm=True), "keep its own pace"),
    (lambda c, t: _each(c, t, per_step=True), "per DOUBLING"),
    (lambda c, t: 1 / L.predict_ratio(c, t), "upside down"),
    (lambda c, t: 100.0, "which of them can be expected to keep that pace"),
])
def test_exercise_08_1_names_the_reasoning_of_a_wrong_prediction(capsys, fn, says):
    got, out = _verdict(capsys, fn)
    assert got is L.predict_ratio and out.startswith("❌"), out
    assert says in out and "more than 2.5 times off" in out and "Hint 2" in out, out


def test_exercise_08_1_wants_one_positive_number_and_reports_a_stub(capsys):
    for bad, says in ((lambda c, t: {"ratio": 0.4}, "expected one number"),
                      (lambda c, t: -0.4, "positive finite")):
        got, out = _verdict(capsys, bad)
        assert got is L.predict_ratio and says in out, out

    def stub(curves, to_step):
        raise NotImplementedError()

    got, out = _verdict(capsys, stub)
    assert got is L.predict_ratio and out.startswith("⏭"), out


def test_the_predictions_only_see_the_first_100_steps():
    exps = L7.load_results()["experiments"]
    seen = {}

    def spy(curves, to_step):
        seen.update({k: len(v) for k, v in curves.items()})
        return L.predict_ratio(curves, to_step)

    check("08.1", spy)
    assert seen == {name: 101 for name in ("lstm",) + BASELINES}
    ratio, best = L.measured_ratio(exps["mnist-200"], 200)
    assert ratio == pytest.approx(L.final_loss_ratio(exps["mnist-200"])[1])
    assert best == L.final_loss_ratio(exps["mnist-200"])[0]


def test_prediction_report_splits_the_gap_between_the_two_curves():
    res = _result({"lstm": [2.3] + [0.1] * 10 + [0.12] * 10,
                   "nag": list(np.linspace(2.3, 0.4, 11)) + list(np.linspace(0.35, 0.2, 10))},
                  steps=20)
    pace = L.horizon_pace(res, from_step=10, to_step=20)
    # the runs are the curve + 0 and + 0.001: their mean is the curve + 0.0005
    assert pace["best"] == "nag" and pace["lstm_from"] == pytest.approx(0.1005)
    assert pace["lstm_to"] == pytest.approx(0.1205)
    text = L.prediction_report(0.3, res, from_step=10, to_step=20)
    measured = L.measured_ratio(res, 20)[0]
    assert text.startswith(f"predicted 0.30, measured {measured:.2f}")
    assert "NAG" in text and "at its own pace" in text


def test_stored_results_belong_to_the_shipped_optimizer():
    """The lesson's one sentence of provenance: the stored measurements were computed with
    the shipped MNIST optimizer (same checkpoint SHA-256 and weights)."""
    _net, info = L7.load_pretrained("mnist")
    assert L7.check_provenance(L7.load_results(), info) is None


def test_overview_has_one_line_per_experiment_with_the_claim():
    results = {"mnist-relu": _result({"lstm": [2.3, 2.2, 2.1]}, title="ReLU"),
               "mnist-40": _result({"lstm": [2.3, 0.5, 0.2]}, title="forty")}
    lines = L.overview(results).splitlines()
    assert len(lines) == 3
    assert lines[1].startswith("ReLU") and "FAILS" in lines[1] and "higher" in lines[1]
    assert lines[2].startswith("forty") and "still best" in lines[2] and "lower" in lines[2]


def test_overview_formats_large_and_diverged_ratios():
    res = _result({"lstm": [2.3, 2.3, 2.3], "adam": [2.3, 0.1, 0.001]})
    ratio = L.final_loss_ratio(res)[1]
    assert ratio > 1000 and f"{ratio:,.0f}" in L.overview({"x": res}).splitlines()[1]
    res["lstm"]["final_loss"] = None
    assert "diverged" in L.overview({"x": res}).splitlines()[1]


# --------------------------------------------------------------------------------------------
# Gradient statistics


def test_gradient_stats_per_array_and_the_lstm_input():
    s = L.gradient_stats("sigmoid-3x2", runs=2)
    assert s["names"] == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert s["grads"]["W1"].shape == (2 * 784 * 3,) and s["grads"]["b3"].shape == (20,)
    every = np.concatenate([s["grads"][n] for n in s["names"]])
    assert s["lstm_input"].shape == every.shape
    assert s["clamped_frac"] == pytest.approx(float((s["lstm_input"] == -1.0).mean()))
    assert s["zero_frac"]["W1"] > 0  # pixels that are 0 in every image of the minibatch
    assert all(s["zero_frac"][n] == 0 for n in ("b1", "W2", "b2", "W3", "b3"))


def test_relu_gradients_differ_from_sigmoid_ones_as_the_lesson_says():
    sig, relu = L.gradient_stats("sigmoid-20"), L.gradient_stats("relu-20")
    m_sig, m_relu = sig["median_log10"], relu["median_log10"]
    assert 0.7 < m_sig["W2"] - m_relu["W2"] < 1.3  # output-layer weights: ~10x smaller, ReLU
    assert m_relu["W1"] - m_sig["W1"] > 0.2      # first layer: larger with ReLU
    assert m_relu["b1"] - m_sig["b1"] > 0.2
    assert relu["clamped_frac"] < sig["clamped_frac"]
    assert relu["zero_frac"]["W1"] > sig["zero_frac"]["W1"]
    assert len(L.plot_gradient_histograms(sig, relu).axes) == 5


# --------------------------------------------------------------------------------------------
# Long horizons and the sweep


def test_horizon_report_finds_divergence_and_where_it_falls_behind():
    steps = 10
    lstm = [2.3, 1.0, 0.5, 0.4, 0.45, 0.9, 1.8, 2.5, float("nan"), float("nan"), float("nan")]
    adam = list(np.linspace(2.3, 0.3, steps + 1))
    rep = L.horizon_report(_result({"lstm": lstm, "adam": adam}), train_steps=4)
    # beyond the training horizon: 2.5 at step 7 is not above twice 2.3; step 8 is not finite
    assert rep["diverged_at"] == 8 and rep["lowest_step"] == 3
    assert rep["lowest"] == pytest.approx(0.4005)  # the mean of the two runs
    assert rep["best"] == "adam" and rep["at_train"] == pytest.approx(0.4505)
    assert rep["behind_from"] == 6  # at or below Adam up to step 5, above it from 6 on
    assert "step 8" in L.describe_horizon(rep)
    assert [(w["first"], w["last"]) for w in rep["windows"]] == [(5, 8), (9, 10)]
    assert all(w["typical"] == math.inf for w in rep["windows"])  # NaN steps: no level
    fine = L.horizon_report(_result({"lstm": list(np.linspace(2.3, 0.1, 11)), "adam": adam}),
                            train_steps=100)
    assert fine["diverged_at"] is None and fine["behind_from"] is None
    assert fine["at_train"] is None and "no divergence" in L.describe_horizon(fine)
    assert fine["windows"] == [] and fine["best_window"] is None


def test_horizon_report_compares_stretches_not_steps():
    """A curve that stalls after the horizon, with one lucky step, then drifts up."""
    steps, rng = 30, np.random.default_rng(0)
    lstm = list(np.geomspace(2.3, 0.01, 11)) + list(0.01 * np.exp(rng.normal(0, 0.5, 20)))
    lstm[15] = 1e-4  # the lucky step
    lstm[-1] = 0.05
    adam = list(np.geomspace(2.3, 0.001, steps + 1))
    rep = L.horizon_report(_result({"lstm": lstm, "adam": adam}), train_steps=10)
    assert rep["lowest_step"] == 15 and rep["rise"] > 50
    assert [(w["first"], w["last"]) for w in rep["windows"]] == [(11, 20), (21, 30)]
    assert all(w["high"] / w["low"] > 10 for w in rep["windows"])
    assert rep["behind_from_window"] == 1 and rep["diverged_at"] is None
    text = L.describe_horizon(rep)
    assert "times its lowest" in text and "compare stretches, not steps" in text
    assert "Typical level" in text and "Adam" in text


def test_sweep_grid_places_each_cell():
    results = {key: _result({"lstm": [2.3, 1.0, 0.2 * (i + 1)], "adam": [2.3, 1.0, 0.4]})
               for i, key in enumerate(L.SWEEP.values()) if key != "sweep-40x2"}
    grid = L.sweep_grid(results)
    assert grid["widths"] == [10, 20, 40] and grid["layers"] == [1, 2]
    i, j = grid["layers"].index(1), grid["widths"].index(20)
    assert grid["ratio"][i, j] == pytest.approx(L.final_loss_ratio(results["mnist"])[1])
    assert np.isnan(grid["ratio"][1, 2]) and grid["verdict"][1][2] == ""
    assert len(L.plot_sweep(grid).axes) == 2  # the map and its colorbar


# --------------------------------------------------------------------------------------------
# The explorer


def test_curves_at_clips_the_horizon_and_names_who_is_ahead():
    res = _result({"lstm": [2.3, 0.5, 0.4, 0.6, 0.9], "adam": [2.3, 1.0, 0.6, 0.5, 0.45]})
    results = {"x": res}
    s = L.curves_at(results, "x", 2)
    assert s["horizon"] == 2 and s["best"] == "adam" and s["ahead"] == "learned"
    assert s["ratio"] == pytest.approx(0.4005 / 0.6005)  # means of runs (+0, +0.001)
    late = L.curves_at(results, "x", 1000)
    assert late["horizon"] == 4 and late["ahead"] == "baseline"


def test_generalisation_explorer_follows_its_controls():
    results = {"short": _result({"lstm": list(np.linspace(2.3, 0.5, 101))}, title="short"),
               "long": _result({"lstm": list(np.linspace(2.3, 0.1, 301))}, title="long")}
    ex = L.make_generalisation_explorer(results, key="long", horizon=200)
    assert set(ex.controls) == {"key", "horizon"}
    assert ex.controls["horizon"].continuous_update is False
    assert ex.controls["horizon"].max == 300
    assert ex.result["key"] == "long" and ex.result["horizon"] == 200
    ex.controls["horizon"].value = 300
    assert ex.result["horizon"] == 300
    assert ex.result["lstm"] == pytest.approx(0.1005)
    ex.controls["key"].value = "short"
    assert ex.result["key"] == "short" and ex.result["horizon"] == 100  # clipped


def test_spot_check_on_a_fashion_problem():
    ok, why = L.fashion_available()
    if not ok:
        pytest.skip(why)
    net = LSTMOptimizer(**net_defaults("mnist"), seed=0)
    exp = L7.Experiment("f", "fashion", optimizee="sigmoid-2", steps=3, runs=2, val_runs=1,
                        grid=(0.1,), dataset="fashion-mnist")
    res = L7.run_experiments([exp], net, L.problem_factory())["f"]
    problem = L.problem_factory()(exp, "test")
    assert L7.spot_check(net, res, steps=3, problem=problem)["max_rel_err"] < 1e-6
    mnist = L7.spot_check(net, {**res, "dataset": "mnist"}, steps=3)  # other digits: differs
    assert mnist["max_rel_err"] > 1e-4
