"""Lesson 07 helpers: the flat-vector MLP loss and its check, learning-rate selection, live
meta-training, the pretrained optimizer, the evaluation protocol (against the library's
run_protocol), the stored results and their provenance, the comparison, the race explorer
(headless) and the generator script."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import importlib.util  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from test_lesson05 import _meta_train  # noqa: E402  (a learner's 05.3 loop)

import minigrad as mg  # noqa: E402
from minigrad import nn  # noqa: E402
from minigrad.course import check, checks  # noqa: E402
from minigrad.course import lesson07 as L  # noqa: E402
from minigrad.course.lesson07 import own_optimizer  # noqa: E402
from minigrad.files import file_digest  # noqa: E402
from minigrad.l2l import (  # noqa: E402
    BASELINES,
    Flattener,
    LSTMOptimizer,
    MetaTrainer,
    make_problem,
    net_defaults,
    parse_optimizee,
    run_protocol,
    tune_lr,
)
from minigrad.l2l.checkpoints import write_checkpoint  # noqa: E402
from minigrad.l2l.evaluate import summarize  # noqa: E402
from minigrad.l2l.recipes import RECIPES, Recipe  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TINY = "sigmoid-2"  # 784-2-10: 1,600 coordinates, so the learned optimizer is cheap here


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def tiny_net():
    return LSTMOptimizer(**net_defaults("mnist"), seed=3)


@pytest.fixture(scope="module")
def tiny_results(tiny_net):
    exps = [L.Experiment("a", "tiny", optimizee=TINY, steps=4, runs=3, val_runs=1,
                         grid=(0.01, 0.1, 1.0)),
            L.Experiment("b", "tiny, longer", optimizee=TINY, steps=6, runs=2, val_runs=1,
                         grid=(0.1, 1.0))]
    cache = L.RolloutCache()
    out = L.run_experiments(exps, tiny_net, L.mnist_problem_factory(), cache=cache)
    return out, cache


# --------------------------------------------------------------------------------------------
# The optimizee as one flat vector (exercise 07.1)


@pytest.mark.parametrize("spec", ["sigmoid-20", "relu-3x2", "sigmoid-4-3"])
def test_mlp_loss_matches_the_problem_loss_and_gradient(spec):
    act, hidden = parse_optimizee(spec)
    inst = make_problem("mnist", spec, split="val", dtype="float64").sample((0, 5, 1))
    arrays = inst.init_params()
    flat = Flattener.like(arrays)
    theta = mg.tensor(flat.flatten(arrays), requires_grad=True)
    x, y = inst.batch(3)
    mine = L.mlp_loss(theta, x, y, (784,) + hidden + (10,), act)
    leaves = flat.leaves(flat.flatten(arrays))
    ref = inst.loss(leaves, 3)
    assert np.isclose(mine.item(), ref.item(), rtol=1e-12)
    g_ref = flat.flatten([g.data for g in mg.grad(ref, leaves)])
    assert np.allclose(mg.grad(mine, theta).numpy(), g_ref, rtol=1e-10, atol=1e-14)


def test_mlp_loss_refuses_a_theta_of_the_wrong_size():
    theta = mg.tensor(np.zeros(20), requires_grad=True)
    with pytest.raises(ValueError, match=r"need 23 parameters, theta has shape \(20,\)"):
        L.mlp_loss(theta, np.zeros((2, 4)), np.array([0, 1]), (4, 3, 2))


def test_exercise_07_1_passes_the_reference_and_catches_mistakes(capsys):
    assert check("07.1", L.mlp_loss) is L.mlp_loss
    assert "passed 4/4" in capsys.readouterr().out

    def transposed(theta, x, y, sizes=(784, 20, 10), activation="sigmoid"):
        # reads each weight matrix as (fan_out, fan_in): right size, wrong layout
        h, start = x, 0
        for k in range(len(sizes) - 1):
            a, b = sizes[k], sizes[k + 1]
            w = mg.transpose(mg.reshape(theta[start:start + a * b], (b, a)))
            start += a * b
            h = mg.matmul(h, w) + theta[start:start + b]
            start += b
            if k < len(sizes) - 2:
                h = mg.sigmoid(h) if activation == "sigmoid" else mg.relu(h)
        return mg.cross_entropy(h, y)

    assert check("07.1", transposed) is L.mlp_loss
    out = capsys.readouterr().out
    assert "❌" in out and "Hint:" in out
    assert "'Hint 2'" in out and "mg.reshape" not in out  # the idea first; code in Hint 2

    def in_numpy(theta, x, y, sizes=(784, 20, 10), activation="sigmoid"):
        return float(L.mlp_loss(mg.tensor(theta.numpy()), x, y, sizes, activation).item())

    assert check("07.1", in_numpy) is L.mlp_loss
    assert "expected a minigrad Tensor" in capsys.readouterr().out

    def stub(theta, x, y, sizes=(784, 20, 10), activation="sigmoid"):
        raise NotImplementedError()

    assert check("07.1", stub) is L.mlp_loss
    assert "not done yet" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------
# Picking the learning rate (exercise 07.2)


def test_pick_best_lr_is_the_rule_of_tune_lr():
    problem = make_problem("mnist", TINY, split="val")
    seeds = [(0, 2, 0), (0, 2, 1)]
    grid = (0.01, 0.3, 3.0)
    best, table = tune_lr("adam", problem, seeds, steps=3, runs=2, grid=grid)
    from minigrad.l2l import BaselineRule, evaluate_rule

    finals = {lr: evaluate_rule(lambda lr=lr: BaselineRule("adam", lr), problem, seeds, 3,
                                2)[:, -1] for lr in grid}
    assert L.pick_best_lr(finals) == best
    assert all(np.isclose(np.mean(finals[lr]), table[lr]) for lr in grid if table[lr] < math.inf)


def test_pick_best_lr_mean_divergence_and_ties():
    assert L.pick_best_lr({0.1: [0.2, 2.0, 0.2], 0.3: [0.5, 0.5, 0.5]}) == 0.3  # the mean
    assert L.pick_best_lr({0.1: [0.1, float("nan")], 1.0: [0.9]}) == 1.0
    assert L.pick_best_lr({0.1: [0.1, float("inf")], 1.0: [0.9]}) == 1.0
    assert L.pick_best_lr({3e-3: [0.5], 1e-3: [0.5]}) == 1e-3
    assert L.pick_best_lr({1.0: [float("nan")], 0.1: [float("inf")]}) == 0.1


def test_exercise_07_2_passes_the_reference_and_rejects_the_median(capsys):
    assert check("07.2", L.pick_best_lr) is L.pick_best_lr
    assert "passed 5/5" in capsys.readouterr().out

    def by_median(table):
        return min(table, key=lambda lr: (float(np.median(table[lr])), lr))

    assert check("07.2", by_median) is L.pick_best_lr
    assert checks.results()["07.2"] == "failed"
    out = capsys.readouterr().out
    assert "MEAN" in out and "'Hint 2'" in out and "min(table" not in out


@pytest.mark.parametrize("tree", ["solutions", "course"])
def test_each_exercise_check_is_followed_by_its_collapsed_hint_2(tree):
    """Lesson 07's checks (07.1, 07.2 and the pasted 05.3 loop) print a concept hint that
    points to 'Hint 2': a collapsed cell right after the check, with the code."""
    cells = json.loads((REPO / tree / "07_mnist.ipynb").read_text())["cells"]
    checked = [i for i, c in enumerate(cells)
               if c["cell_type"] == "code" and 'check("0' in "".join(c["source"])]
    assert len(checked) == 3
    for i in checked:
        after = "".join(cells[i + 1]["source"])
        assert after.startswith("<details>") and "<b>Hint 2</b>" in after, (i, after[:80])


# --------------------------------------------------------------------------------------------
# Meta-training, live, and the shipped optimizer


def test_meta_train_live_moves_every_weight_and_times_itself():
    live = L.meta_train_live(iterations=2, steps=2, unroll=1, optimizee=TINY, progress=False)
    assert len(live["curve"]) == 2 and all(math.isfinite(v) for v in live["curve"])
    # the timing is the measured seconds spread over the optimizee steps (2 x 2 here)
    assert len(live["seconds"]) == 2
    assert live["seconds_per_step"] == pytest.approx(sum(live["seconds"]) / 4)
    names = [n for n, _ in live["net"].named_parameters()]
    assert sorted(live["moved"]) == sorted(names)
    assert all(v > 0 for v in live["moved"].values())
    assert live["config"]["steps"] == 2 and live["config"]["unroll"] == 1


def test_training_cost_arithmetic():
    c = L.training_cost(0.05, steps=100, iterations=720)
    assert c["per_iteration_s"] == pytest.approx(5.0)
    assert c["total_s"] == pytest.approx(3600.0) and c["total_h"] == pytest.approx(1.0)


def test_load_pretrained_prefers_the_best_weights(tmp_path):
    net = LSTMOptimizer(**net_defaults("mnist"), seed=1)
    trainer = MetaTrainer(net, make_problem("mnist", TINY))
    best = {k: v + 1.0 for k, v in net.state_dict().items()}
    path = write_checkpoint(tmp_path / "c.npz", trainer, {"name": "mnist", "optimizee": TINY},
                            best=best, extra={"command": "python -m minigrad.l2l train ...",
                                              "status": "done", "elapsed_s": 12.0})
    loaded, info = L.load_pretrained("mnist", path)
    assert info["weights"] == "best" and info["sha256"] == file_digest(path)
    assert info["command"].startswith("python -m") and info["elapsed_s"] == 12.0
    assert info["note"] is None  # set only by scripts/ship_pretrained.py --note
    for k, v in loaded.state_dict().items():
        assert np.array_equal(v, best[k])
    last, info = L.load_pretrained("mnist", path, weights="last")
    assert info["weights"] == "last"
    for k, v in last.state_dict().items():
        assert np.array_equal(v, net.state_dict()[k])
    fig = L.plot_meta_training({**info, "curve": [2.3, 2.2, 2.0], "validation_history": [(2, 1.9)]},
                               {"curve": [2.3, 2.29], "config": {"steps": 10, "unroll": 5}})
    assert len(fig.axes) == 2


def test_the_shipped_checkpoint_loads():
    try:
        net, info = L.load_pretrained("mnist")
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    assert info["problem"]["optimizee"] == "sigmoid-20" and info["iteration"] >= 1
    assert len(info["sha256"]) == 64 and info["weights"] in ("best", "last")


# --------------------------------------------------------------------------------------------
# The protocol


def test_run_experiments_equals_the_library_protocol(tiny_net, tiny_results):
    out, _ = tiny_results
    res = out["a"]
    lib = run_protocol(tiny_net, make_problem("mnist", TINY, split="val"),
                       make_problem("mnist", TINY, split="test"), steps=4, runs=3, val_runs=1,
                       grid=(0.01, 0.1, 1.0))
    for name in ("lstm",) + BASELINES:
        assert np.allclose(res[name]["curve"], lib[name]["curve"], rtol=1e-12)
        assert res[name]["final_loss"] == pytest.approx(lib[name]["final_loss"])
        assert np.isclose(res[name]["final_loss"], np.mean(res[name]["finals"]))
        assert res[name]["run0"][0] == pytest.approx(res[name]["curve"][0], rel=0.5)
    for name in BASELINES:
        assert res[name]["lr"] == lib[name]["lr"]
        assert res[name]["val_final_loss"].keys() == lib[name]["val_final_loss"].keys()
    assert res["steps"] == 4 and res["runs"] == 3 and res["seed"] == 0
    assert res["problem_config"]["optimizee"] == TINY


def test_rollouts_are_shared_between_horizons(tiny_results):
    out, cache = tiny_results
    assert list(out) == ["a", "b"]  # the caller's order, though "b" ran first
    # every stored rollout of run 0 on the test problems was computed at the longest horizon
    lstm = [v for k, v in cache.store.items() if k[0] == ("lstm",)]
    assert len(lstm) == 3 and sorted(v.shape[1] for v in lstm) == [5, 7, 7]  # (runs, steps+1)
    assert np.allclose(out["a"]["lstm"]["run0"], out["b"]["lstm"]["run0"][:5])
    before = cache.steps_computed
    cache.get((("lstm",), ("mnist", TINY), "test", (0, 3, 0)), None, None, 3)  # a prefix
    assert cache.steps_computed == before


def test_results_round_trip_and_provenance(tmp_path, tiny_results):
    out, _ = tiny_results
    payload = {"format": L.RESULTS_FORMAT, "checkpoint": {"sha256": "ab" * 32,
                                                          "weights": "last", "iteration": 3},
               "experiments": out, "x": math.pi, "bad": float("nan")}
    path = L.save_results(payload, tmp_path / "r.json")
    back = L.load_results(path)
    assert back["x"] == 3.14159 and back["bad"] is None
    assert back["experiments"]["a"]["adam"]["lr"] == out["a"]["adam"]["lr"]
    assert L.check_provenance(back, {"sha256": "ab" * 32, "weights": "last",
                                     "iteration": 3}) is None
    msg = L.check_provenance(back, {"sha256": "cd" * 32, "weights": "last", "iteration": 9})
    assert "abababababab" in msg and "cdcdcdcdcdcd" in msg and "make_lesson07_08" in msg
    with pytest.raises(FileNotFoundError, match="make_lesson07_08_results.py"):
        L.load_results(tmp_path / "missing.json")
    (tmp_path / "old.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ValueError, match="format"):
        L.load_results(tmp_path / "old.json")


def test_spot_check_recomputes_run_0(tiny_net, tiny_results):
    res = tiny_results[0]["a"]
    chk = L.spot_check(tiny_net, res, steps=3)
    assert chk["steps"] == 3 and chk["live"].shape == (4,)
    assert chk["max_rel_err"] < 1e-6
    tampered = {**res, "lstm": {**res["lstm"], "run0": [v * 1.01 for v in res["lstm"]["run0"]]}}
    assert L.spot_check(tiny_net, tampered, steps=3)["max_rel_err"] > 1e-3
    assert L.spot_check(tiny_net, res, steps=3, optimizer="adam")["max_rel_err"] < 1e-6


def _fake(lstm_finals, base_finals, steps=3):
    """A result whose runs end at the given final losses (Adam best unless stated)."""
    res = {"title": "fake", "runs": len(lstm_finals), "steps": steps}

    def entry(finals):
        finals = np.asarray(finals, dtype=float)
        losses = np.linspace(2.3, 1.0, steps + 1)[None, :] * np.ones((finals.size, 1))
        losses[:, -1] = finals
        e = summarize(losses)
        e["finals"] = [None if not math.isfinite(v) else float(v) for v in finals]
        e["run0"] = list(losses[0])
        return e

    res["lstm"] = entry(lstm_finals)
    for k, name in enumerate(BASELINES):
        res[name] = entry(np.asarray(base_finals) + (0.0 if name == "adam" else 0.5 + k))
        res[name]["lr"] = 0.01 * (k + 1)
    return res


def test_compare_final_is_paired():
    # learned better on every run by ~0.1, with run-to-run spread much larger than that:
    # the separate intervals overlap, the paired one excludes 0.
    base = [0.3, 0.6, 0.9, 1.2, 0.45]
    cmp = L.compare_final(_fake([b - 0.1 + 0.001 * k for k, b in enumerate(base)], base))
    assert cmp["best"] == "adam" and cmp["best_lr"] == 0.04
    assert cmp["verdict"] == "lower" and cmp["ci_overlap"] is True
    assert cmp["diff"] == pytest.approx(-0.098) and cmp["ratio"] < 1
    assert "LOWER than" in L.describe_comparison(cmp)
    assert L.compare_final(_fake([b + 0.2 for b in base], base))["verdict"] == "higher"
    noisy = L.compare_final(_fake([0.5, 0.2, 0.9, 0.4, 1.0], base))
    assert noisy["verdict"] == "indistinguishable"
    assert "not distinguishable" in L.describe_comparison(noisy)
    diverged = L.compare_final(_fake([0.5, float("nan"), 0.4, 0.3, 0.2], base))
    assert diverged["verdict"] == "higher" and "diverged" in L.describe_comparison(diverged)


def test_grid_edges_are_flagged(tiny_results):
    res = tiny_results[0]["a"]  # grid 0.01, 0.1, 1.0
    for name in BASELINES:
        assert L.at_grid_edge(res, name) == (res[name]["lr"] in (0.01, 1.0))
    one = {**res, "grid": [0.1], "adam": {**res["adam"], "lr": 0.1}}
    assert not L.at_grid_edge(one, "adam")


def test_stored_results_keep_100_steps_of_run_0(tiny_net):
    exp = L.Experiment("long", "long", optimizee=TINY, steps=L.RUN0_STEPS + 5, runs=2,
                       val_runs=1, grid=(0.1,))
    res = L.run_experiments([exp], tiny_net, L.mnist_problem_factory())["long"]
    assert len(res["lstm"]["run0"]) == L.RUN0_STEPS + 1 and len(res["lstm"]["curve"]) == 106
    assert L.race("adam", 0.1, res)["steps"] == L.RUN0_STEPS  # races stop where run 0 does
    assert L.spot_check(tiny_net, res, steps=500)["steps"] == L.RUN0_STEPS


def test_best_baseline_counts_divergence_as_infinite():
    res = _fake([0.5, 0.5], [0.4, 0.4])
    res["adam"]["final_loss"] = None
    assert L.best_baseline(res) == "sgd"


def test_plots_and_table_show_every_optimizer(tiny_results):
    res = tiny_results[0]["b"]
    fig = L.plot_result(res, mark_step=2)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[0] == "LSTM (learned)" and len(labels) == 5
    assert all(f"lr {res[b]['lr']:g}" in lab for b, lab in zip(BASELINES, labels[1:]))
    table = L.results_table(res).splitlines()
    assert len(table) == 6 and table[1].startswith("LSTM (learned)")
    broken = {**res, "sgd": {**res["sgd"], "curve": [None] * 7, "ci95": [None] * 7}}
    L.plot_result(broken)  # diverged curves are left out, not an error
    imgs = np.random.default_rng(0).random((3, 784))
    fig = L.show_digits(imgs, [1, 2, 3], n=3, cols=2, classes=["a", "b", "c", "d"])
    assert [t.get_text() for t in fig.axes[0].texts] == ["b", "c", "d"]
    mosaic = fig.axes[0].get_images()[0].get_array()
    assert mosaic.shape == (2 * 38, 2 * 30)
    assert np.allclose(mosaic[10:38, 31:59], imgs[1].reshape(28, 28))


# --------------------------------------------------------------------------------------------
# The race and its explorer


def test_race_at_the_tuned_rate_reproduces_the_stored_run(tiny_results):
    res = tiny_results[0]["a"]
    r = L.race("adam", res["adam"]["lr"], res)
    assert np.allclose(r["live"], r["tuned"], rtol=1e-6)
    assert np.allclose(r["lstm"], res["lstm"]["run0"])
    assert r["beats_lstm"] == (r["final"] < r["lstm_final"])
    short = L.race("sgd", 0.1, res, steps=2)
    assert short["live"].shape == (3,) and short["steps"] == 2
    with pytest.raises(ValueError, match="unknown optimizer"):
        L.race("lbfgs", 0.1, res)


@pytest.mark.slow
def test_explorer_answers_hold_on_the_stored_run():
    """What lesson 07's collapsed answers to the explorer say: on held-out run 0, no rate of
    the explorer's grid beats the tuned rate of SGD, NAG or Adam, and for RMSprop at most
    its neighbour on the grid does (by CPU and BLAS threads); Adam's loss rises above its start
    from 0.1 on and ends the 100 steps far above the tuned rate's at 1 and near chance at 3,
    RMSprop's ends above its start there, NAG's near chance at 3, and SGD's tuned rate is the
    top of the grid."""
    from minigrad.course.lesson07.explorer import DEFAULT_LR_GRID

    res = L.load_results()["experiments"]["mnist"]
    problem = L.heldout_problem(res)
    for name in BASELINES:
        tuned = res[name]["lr"]
        finals = {lr: L.race(name, lr, res, problem=problem)["final"] for lr in DEFAULT_LR_GRID}
        finals = {lr: f if math.isfinite(f) else math.inf for lr, f in finals.items()}
        best = min(finals, key=finals.get)
        grid = list(DEFAULT_LR_GRID)
        if name == "rmsprop":
            assert abs(grid.index(best) - grid.index(tuned)) <= 1, (name, finals)
        else:
            assert best == tuned, (name, finals)
    start = res["adam"]["curve"][0]
    for lr in (0.1, 0.3, 1.0, 3.0):
        live = L.race("adam", lr, res, problem=problem)["live"]
        assert np.nanmax(live) > 1.1 * start, lr
    for lr in (1.0, 3.0):  # far above the tuned rate's; near chance at 3 (at 1 by CPU: >= 1.7)
        assert L.race("adam", lr, res, problem=problem)["final"] > (0.8 if lr == 3 else 0.6) * (
            math.log(10))
        assert L.race("rmsprop", lr, res, problem=problem)["final"] > start
    assert L.race("nag", 3.0, res, problem=problem)["final"] > 0.8 * math.log(10)
    assert res["sgd"]["lr"] == max(DEFAULT_LR_GRID)


def test_race_explorer_recomputes_when_its_controls_move(tiny_results):
    res = tiny_results[0]["a"]
    ex = L.make_race_explorer(res, optimizer="adam")
    assert set(ex.controls) == {"optimizer", "lr"}
    assert ex.controls["lr"].continuous_update is False
    assert ex.result["lr"] == res["adam"]["lr"] and ex.result["optimizer"] == "adam"
    first = ex.result["live"].copy()
    ex.controls["lr"].value = 3.0
    assert ex.result["lr"] == 3.0 and not np.allclose(ex.result["live"], first)
    direct = L.race("adam", 3.0, res)
    assert np.allclose(ex.result["live"], direct["live"], equal_nan=True)
    ex.controls["optimizer"].value = "sgd"
    assert ex.result["optimizer"] == "sgd" and ex.result["tuned_lr"] == res["sgd"]["lr"]


# --------------------------------------------------------------------------------------------
# Train your own (section 5): the budget, the panel (headless), the race and its words

#: The fast recipe's shape at a unit test's size: one process, 4 optimizee steps in unrolls of 2,
#: validation after every meta-iteration on one problem (the lesson takes the real one by name).
TINY_RECIPE = Recipe("fast", "a tiny test recipe",
                     meta={"steps": 4, "unroll": 2, "meta_lr": 0.02, "warmup_iters": 5},
                     processes=1, val_every=1, val_runs=1)
TINY_TRAINING = {"recipe": TINY_RECIPE, "optimizee": TINY, "val_every": 1, "val_runs": 1}


def test_lesson_budget_default_and_shortened():
    default = L.lesson_budget({})
    assert default["minutes"] == L.DEFAULT_MINUTES and default["race_runs"] is None
    assert not default["shortened"] and L.ENV_MINUTES in default["text"]
    short = L.lesson_budget({L.ENV_MINUTES: "0.25"})
    assert short["minutes"] == 0.25 and short["shortened"] and short["race_runs"] >= 2
    assert "15 s" in short["text"] and f"first {short['race_runs']}" in short["text"]
    assert L.lesson_budget({L.ENV_MINUTES: " "})["minutes"] == L.DEFAULT_MINUTES
    for bad in ("0", "-1", "soon", "nan"):
        with pytest.raises(ValueError, match=L.ENV_MINUTES):
            L.lesson_budget({L.ENV_MINUTES: bad})


def test_pytest_runs_shorten_the_lessons_training():
    """The repository's conftest.py sets the lesson's variable for every pytest run (nbval's
    kernels inherit it), so the notebook tests train for seconds, not minutes."""
    assert L.ENV_MINUTES in (REPO / "conftest.py").read_text()
    budget = L.lesson_budget()
    assert budget["shortened"] and budget["race_runs"] is not None


def test_train_own_takes_the_recipe_by_name(monkeypatch):
    monkeypatch.setitem(RECIPES, "fast", TINY_RECIPE)
    seen = []
    own = L.train_own(5, optimizee=TINY, val_every=2, val_runs=1,
                      callback=lambda e: seen.append(e) or e["iteration"] >= 3)
    assert own["recipe"] == "fast" and own["config"]["meta_lr"] == 0.02
    assert own["iterations"] == 3 and [r[0] for r in own["validation"]] == [0, 2, 3]
    assert own["description"] == TINY_RECIPE.describe()
    speed = L.training_speed(own)
    assert speed["per_iteration_s"] > 0 and speed["val_every"] == 2
    assert speed["per_iteration_all_s"] == pytest.approx(
        speed["per_iteration_s"] + speed["validation_s"] / 2)
    assert L.budget_buys(own, 10) == int(600 / speed["per_iteration_all_s"])
    text = L.describe_training(own)
    assert "3 meta-iterations of the fast recipe" in text and "10 minutes buy about" in text
    assert "still warming up" in text and "after 5 meta-iterations, and this run did 3" in text
    assert f"best {min(r[1] for r in own['validation']):.3f}" in text


def test_train_panel_trains_when_train_is_clicked():
    panel = L.TrainPanel(minutes=0.25, **TINY_TRAINING)
    assert panel.result is None and "No training measured yet" in _text(panel.estimate)
    assert panel.slider.continuous_update is False and panel.slider.value == 0.25
    assert set(panel.controls) == {"minutes"}
    before = _text(panel.estimate)
    panel.slider.value = L.BUDGETS[0]  # the smallest budget, then the button
    assert _text(panel.estimate) != before
    panel.button.click()
    res = panel.result
    assert res is not None and res["status"] == "done" and res["minutes"] == L.BUDGETS[0]
    assert res["validation"][0][0] == 0 and res["validation"][-1][0] == res["iterations"]
    assert not panel.button.disabled
    bar = panel.bar
    assert bar.total == pytest.approx(60 * L.BUDGETS[0]) and bar.n == bar.total
    assert panel.bar_box.children == (bar.container,)
    assert panel.plot.outputs and "Trained" in _text(panel.status)
    assert "at the speed the last training measured" in _text(panel.estimate)
    panel.slider.value = L.BUDGETS[-1]
    assert f"{L.BUDGETS[-1]:g} min: about" in _text(panel.estimate)
    again = panel.train(minutes=L.BUDGETS[0], describe=False)  # what the notebook's cell does
    assert panel.result is again and "printed below" in _text(panel.status)


# ----- the learner's loop (exercise 05.3) on MNIST ---------------------------------------------
# _meta_train calls lesson 05's draw_function and unroll_steps, the very functions lesson 07
# exports (minigrad.course.meta_loop's): a loop pasted from lesson 05 runs here unchanged.


def test_lessons_05_and_07_hand_a_loop_the_same_pieces():
    from minigrad.course import lesson05

    assert L.draw_function is lesson05.draw_function
    assert L.unroll_steps is lesson05.unroll_steps
    assert L.library_meta_train is lesson05.library_meta_train


def test_unroll_steps_walks_the_minibatches_as_the_library_unroll_does():
    """On MNIST every optimizer step sees the next minibatch: the pieces a 05.3 loop calls give
    the library's unroll, two unrolls in a row (the second starts at step 3)."""
    problem = make_problem("mnist", TINY, split="train")
    nets = [LSTMOptimizer(**net_defaults("mnist"), seed=2) for _ in range(2)]
    f, theta = L.draw_function(problem, 0, 5)
    trainer = MetaTrainer(nets[1], problem, mg.l2l.MetaConfig(seed=0))
    instance, flat, theta_lib, state_lib = trainer.start_horizon(trainer.problem_seed(5))
    np.testing.assert_array_equal(theta.numpy(), theta_lib)
    state = None
    for t0 in (0, 3):
        losses, theta, state = L.unroll_steps(nets[0], f, theta, state, 3)
        _, theta_lib, state_lib, values = mg.l2l.unroll(nets[1], instance, flat, theta_lib,
                                                        state_lib, t0, 3)
        np.testing.assert_allclose([x.item() for x in losses], values, rtol=1e-5)
        np.testing.assert_allclose(theta.numpy(), theta_lib, rtol=1e-5, atol=1e-7)
        theta, state = theta.detach(), nn.detach_state(state)
    assert f.step == 6


def test_exercise_05_3_passes_with_lesson_07s_pieces(capsys):
    """Lesson 07's notebook checks the pasted loop with lesson 05's check: the loop calls
    lesson 07's draw_function and unroll_steps, which run the quadratics of the check too."""
    assert check("05.3", _meta_train) is _meta_train
    assert "passed 2/2" in capsys.readouterr().out


def test_train_loop_runs_the_learners_loop_and_equals_the_librarys():
    seen = []
    runs = [L.train_own(5, loop=loop, recipe=TINY_RECIPE, optimizee=TINY, val_every=2,
                        val_runs=1, callback=lambda e: seen.append(e) or e["iteration"] >= 3)
            for loop in (_meta_train, L.library_meta_train)]
    mine, lib = runs
    for run in runs:
        assert run["status"] == "done" and run["iterations"] == 3 and run["processes"] == 1
        assert [r[0] for r in run["validation"]] == [0, 2, 3]
        assert run["config"] == {"steps": 4, "unroll": 2, "meta_lr": L.LOOP_META_LR, "seed": 0}
        assert run["best_iteration"] in (0, 2, 3) and run["weights"] == "best"
    np.testing.assert_allclose(mine["train_curve"], lib["train_curve"], rtol=1e-4)
    for p, q in zip(mine["net"].parameters(), lib["net"].parameters()):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-3, atol=1e-6)
    assert mine["loop"] == "your loop (05.3)" and lib["loop"] == "the library's loop"
    first = seen[0]
    assert first["iteration"] == 0 and first["train_loss"] is None and first["validation"]
    assert [e["iteration"] for e in seen[:5]] == [0, 1, 2, 3, 3]  # the last one: validation
    text = L.describe_training(mine)
    assert text.startswith("Trained 3 meta-iterations with your loop (05.3)")
    assert "warming up" not in text  # a 05.3 loop has no warm-up


def test_train_loop_keeps_the_budget_and_the_best_weights_when_it_stops_early():
    quick = L.train_loop(_meta_train, 1e-6, recipe=TINY_RECIPE, optimizee=TINY, val_runs=1)
    assert quick["status"] == "done" and quick["iterations"] == 1  # one, however small
    assert quick["elapsed_s"] < 30

    def diverges(net, problem, iters, steps=20, unroll=10, meta_lr=3e-2, seed=0,
                 callback=None):
        _meta_train(net, problem, 1, steps, unroll, meta_lr, seed, callback)
        for p in net.parameters():
            p.data[...] = np.nan
        callback(np.array([1.0, math.nan]))

    bad = L.train_loop(diverges, 1, recipe=TINY_RECIPE, optimizee=TINY, val_runs=1)
    assert bad["status"] == "diverged" and bad["weights"] == "best"
    assert all(np.isfinite(p.numpy()).all() for p in bad["net"].parameters())

    def interrupted(net, problem, iters, steps=20, unroll=10, meta_lr=3e-2, seed=0,
                    callback=None):
        _meta_train(net, problem, 1, steps, unroll, meta_lr, seed, callback)
        raise KeyboardInterrupt

    stopped = L.train_loop(interrupted, 1, recipe=TINY_RECIPE, optimizee=TINY, val_runs=1)
    assert stopped["status"] == "interrupted" and stopped["iterations"] == 1
    with pytest.raises(ValueError, match="minutes"):
        L.train_loop(_meta_train, 0, recipe=TINY_RECIPE)


def test_describe_loop_says_when_the_lesson_fell_back():
    assert "fell back" in L.describe_loop(L.library_meta_train)
    assert "your meta_train" in L.describe_loop(_meta_train)
    assert "fell back" not in L.describe_loop(_meta_train)


def test_recipe_table_follows_the_recipe():
    """Every value comes from the recipe object: a changed recipe changes the table. The 05.3
    loop's column has the recipe's settings of the optimizer and the nets, the paper's inside
    the loop, the lesson's constant meta learning rate and the recipe's first unroll."""
    rows = {r[0]: r[1:] for r in L.recipe_rows(RECIPES["fast"])}
    fast = RECIPES["fast"]
    paper_lr = f"{mg.l2l.MetaConfig().meta_lr:g}, constant"
    assert rows["meta learning rate"] == (paper_lr, rows["meta learning rate"][1],
                                          f"{L.LOOP_META_LR:g}, constant")
    assert rows["meta learning rate"][1].startswith(f"{fast.meta['meta_lr']:g}")
    assert rows["unroll length K"][2] == str(fast.meta["unroll"])
    if "output_scale" in fast.mnist_net:
        assert rows["output scale"][1:] == (f"{fast.mnist_net['output_scale']:g}",) * 2
    if fast.processes > 1:
        assert rows["processes"] == ("1", str(fast.processes), "1")
    if fast.population > 1:
        started = rows["runs started (with a budget, on the command line)"]
        assert started[0] == started[2] == "1" and started[1].startswith(str(fast.population))
    other = Recipe("other", "a changed recipe", meta={"meta_lr": 0.05, "unroll": 5,
                                                       "meta_objective": "log"},
                   net={"head_init": "zeros"},
                   mnist_problem={"train_pool": 500, "param_scale": 1.5})
    rows = {r[0]: r[1:] for r in L.recipe_rows(other, meta_lr=0.002)}
    assert "runs started (with a budget, on the command line)" not in rows
    started = dict((r[0], r[1:]) for r in L.recipe_rows(replace(other, population=3)))
    assert started["runs started (with a budget, on the command line)"][::2] == ("1", "1")
    assert started["runs started (with a budget, on the command line)"][1].startswith("3 side")
    assert rows["meta-loss of an unroll"] == ("sum of f_t", "sum of log f_t", "sum of f_t")
    assert rows["meta learning rate"][1:] == ("0.05, constant", "0.002, constant")
    assert rows["unroll length K"] == ("20", "5", "5")
    assert rows["the head's initial weights"] == ("as the LSTM's", "zeros", "zeros")
    assert rows["digits each training net fits"][1:] == ("500", "500")
    assert rows["each training weight scaled by"] == (
        "1 (not scaled)", *["exp(u), u ~ U(-1.5, 1.5), one per weight and net"] * 2)
    assert "processes" not in rows and "Adam's betas (on phi)" not in rows
    table = L.recipe_table(other).splitlines()
    assert table[0].startswith("| setting |") and len(table) == 2 + len(rows)
    guarded = Recipe("guarded", "the session-6 settings", val_metric="tail",
                     meta={"meta_objective": "logmean", "meta_segment": 10,
                           "collapse_guard": True, "collapse_rewarm": 30, "unroll": 10,
                           "unroll_doubling": 40, "max_unroll": 20, "meta_coordinates": 0.25})
    rows = {r[0]: r[1:] for r in L.recipe_rows(guarded)}
    assert rows["the log of the mean taken over"] == (
        "each unroll", "segments of 10 steps of the horizon", "each unroll")
    assert rows["a collapse to chance"][0] == rows["a collapse to chance"][2] == "left as it is"
    assert rows["a collapse to chance"][1].startswith("rolled back")
    assert rows["after a rollback, the meta learning rate"] == (
        "halved for good", "back to the schedule's over 30 meta-iterations", "halved for good")
    assert rows["best weights chosen by the validation"][1:] == (
        "mean loss over the horizon's last tenth",) * 2
    assert rows["unroll length K"] == ("20", "10, doubled every 40 meta-iterations up to 20", "10")
    assert rows["the meta-gradient flows through"] == (
        "every coordinate", "a random 0.25 of the coordinates, scaled by 4", "every coordinate")


def test_train_panel_trains_with_the_loop_or_the_recipe():
    panel = L.TrainPanel(minutes=0.1, loop=_meta_train, **TINY_TRAINING)
    assert set(panel.controls) == {"minutes", "loop"} and panel.controls["loop"].value == "loop"
    assert panel.chosen_loop() is _meta_train
    mine = panel.train()
    assert mine["loop"] == "your loop (05.3)" and "with your loop (05.3)" in _text(panel.status)
    panel.controls["loop"].value = "recipe"
    assert panel.chosen_loop() is None
    theirs = panel.train()
    assert "loop" not in theirs and theirs["recipe"] == "fast"
    fallback = L.TrainPanel(minutes=0.1, loop=L.library_meta_train, **TINY_TRAINING)
    assert fallback.controls["loop"].label == "the library's loop"


def test_meta_train_live_runs_a_learners_loop():
    lib = L.meta_train_live(iterations=2, steps=2, unroll=1, optimizee=TINY, progress=False)
    mine = L.meta_train_live(iterations=2, steps=2, unroll=1, optimizee=TINY, progress=False,
                             loop=_meta_train)
    np.testing.assert_allclose(mine["curve"], lib["curve"], rtol=1e-5)
    assert len(mine["seconds"]) == 2 and all(v > 0 for v in mine["moved"].values())


def test_train_panel_shows_a_failure_instead_of_raising(monkeypatch):
    panel = L.TrainPanel(minutes=0.1, **TINY_TRAINING)

    def broken(*args, **kwargs):
        raise RuntimeError("no spare core")

    monkeypatch.setattr(own_optimizer, "train_own", broken)
    assert panel.click() is None
    assert "RuntimeError: no spare core" in _text(panel.status) and not panel.button.disabled


def test_plot_training_draws_a_partial_and_a_whole_run():
    partial = {"train_curve": [2.3, 2.2], "validation": [[0, 2.31]], "elapsed": 3.0,
               "minutes": 0.5}
    fig = L.plot_training(partial)
    ax = fig.axes[0]
    assert "2 meta-iterations, 3 s of 30 s" in ax.get_title()
    assert len(ax.lines) == 4  # training, validation, best, chance
    assert L.plot_training({"train_curve": [], "validation": []}).axes


def test_race_own_pairs_the_stored_test_runs(tiny_net, tiny_results):
    res = tiny_results[0]["a"]
    race = L.race_own(tiny_net, res)  # the optimizer that made the stored LSTM runs
    assert race["runs"] == race["of"] == res["runs"] and race["steps"] == res["steps"]
    assert race["baseline"] == L.best_baseline(res)
    np.testing.assert_allclose(race["finals"]["yours"], race["finals"]["lstm"], rtol=1e-5)
    p = race["paired"]["lstm"]
    assert abs(p["mean_diff"]) < 1e-5 and p["verdict"] == "tie"
    short = L.race_own(tiny_net, res, runs=2)
    assert short["runs"] == 2 and short["losses"].shape == (2, res["steps"] + 1)
    np.testing.assert_allclose(short["finals"]["yours"], race["finals"]["yours"][:2])
    assert L.race_own(tiny_net, res, runs=99)["runs"] == res["runs"]
    with pytest.raises(ValueError, match="at least one"):
        L.race_own(tiny_net, res, runs=0)
    assert len(L.plot_race_own(race).axes) == 2
    text = L.describe_race(race)
    assert "the shipped optimizer" in text and "not distinguishable from" in text


def _race(mine, nag, lstm):
    losses = np.column_stack([np.full(len(mine), 2.3), mine])
    finals = {"nag": np.asarray(nag, dtype=float), "lstm": np.asarray(lstm, dtype=float)}
    return L.paired_race(losses, finals, "nag", 1.0, of=10, seconds=1.0)


@pytest.mark.parametrize("mine, nag, lstm, words, closing", [
    ([0.01, 0.02, 0.015, 0.012], [0.05, 0.06, 0.055, 0.07], [0.012, 0.018, 0.016, 0.011],
     ["LOWER than theirs (the whole interval lies below 0)", "not distinguishable from"],
     "beat tuned NAG (lr 1) on these runs and is level with the shipped one"),
    ([0.001, 0.002, 0.0015, 0.001], [0.05, 0.06, 0.055, 0.07], [0.01, 0.02, 0.015, 0.012],
     ["LOWER than theirs"], "and even the shipped one"),
    ([0.03, 0.04, 0.035, 0.05], [0.05, 0.06, 0.055, 0.07], [0.001, 0.002, 0.0015, 0.001],
     ["LOWER than", "HIGHER than theirs (the whole interval lies above 0)"],
     "but not the shipped optimizer"),
    ([0.04, 0.07, 0.05, 0.075], [0.05, 0.06, 0.055, 0.07], [0.001, 0.002, 0.0015, 0.001],
     ["not distinguishable from theirs (the interval contains 0)"], "cannot tell"),
    ([2.3, 2.29, 2.3, 2.31], [0.05, 0.06, 0.055, 0.07], [0.001, 0.002, 0.0015, 0.001],
     ["HIGHER than theirs"], "Tuned NAG (lr 1) won"),
    ([math.inf, 2.0, 2.1, 2.2], [0.05, 0.06, 0.055, 0.07], [0.001, 0.002, 0.0015, 0.001],
     ["no interval (a run diverged)", "every run went the same way"], "won"),
])
def test_describe_race_says_what_the_intervals_say(mine, nag, lstm, words, closing):
    race = _race(mine, nag, lstm)
    text = L.describe_race(race)
    for w in words:
        assert w in text, (w, text)
    assert closing in text.splitlines()[-1], text
    against = [ln for ln in text.splitlines() if ln.startswith("Against ")]
    assert len(against) == 2 and "NAG" in against[0] and "shipped" in against[1]
    for p, line in zip(race["paired"].values(), against):  # the words follow the interval
        if p["diff_ci95"] is not None:
            low, high = p["diff_ci95"]
            expect = "LOWER" if high < 0 else "HIGHER" if low > 0 else "not distinguishable"
            assert expect in line, line


def _text(output) -> str:
    return "".join(o.get("text", "") or str(o.get("data", {}).get("text/plain", ""))
                   for o in output.outputs)


# --------------------------------------------------------------------------------------------
# The generator script


@pytest.mark.slow
def test_generator_writes_results_the_notebooks_accept(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "make_results", REPO / "scripts" / "make_lesson07_08_results.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    try:
        net, info = L.load_pretrained("mnist")
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    out = tmp_path / "r.json"
    assert gen.main(["--quick", "--only", "mnist,mnist-relu", "--out", str(out)]) == 0
    payload = L.load_results(out)
    assert L.check_provenance(payload, info) is None
    assert payload["quick"] is True and payload["command"].endswith(f"--out {out}")
    assert set(payload["experiments"]) == {"mnist", "mnist-relu"}
    res = payload["experiments"]["mnist"]
    assert res["steps"] == 4 and res["runs"] == 2
    assert L.spot_check(net, res, steps=4)["max_rel_err"] < 1e-5
