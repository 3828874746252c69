"""Meta-training recipes and their parts: the meta learning rate schedule, the imitation warm
start, meta-training split over processes, the wall-clock budget and ``train --recipe``."""

import numpy as np
import pytest

import minigrad.l2l.cli as cli
from minigrad.l2l import LSTMOptimizer, MetaConfig, MetaTrainer, make_problem, net_defaults
from minigrad.l2l.evaluate import LearnedRule, evaluate_rule, problem_seeds
from minigrad.l2l.imitation import ImitationConfig, imitate, teacher_trajectory
from minigrad.l2l.parallel import ParallelMetaTrainer, split_rows
from minigrad.l2l.recipes import RECIPES, Recipe, get_recipe
from minigrad.l2l.training import validation_metrics
from minigrad.nn import load_checkpoint
from minigrad.optim.update_rules import adam


# ----- the meta learning rate schedule --------------------------------------------------------
def test_lr_schedule_warms_up_then_decays():
    c = MetaConfig(meta_lr=0.01, warmup_iters=4, decay_iters=10, min_lr_ratio=0.2)
    assert c.lr_at(0) == pytest.approx(0.0025)
    assert c.lr_at(3) == c.lr_at(4) == pytest.approx(0.01)
    assert c.lr_at(14) == pytest.approx(0.005) and c.lr_at(24) == pytest.approx(0.0025)
    assert c.lr_at(1000) == pytest.approx(0.002)  # the floor
    assert MetaConfig().lr_at(12345) == MetaConfig().meta_lr  # the paper's: constant
    with pytest.raises(ValueError, match="warmup_iters"):
        MetaConfig(warmup_iters=-1)
    with pytest.raises(ValueError, match="min_lr_ratio"):
        MetaConfig(min_lr_ratio=0)


def test_trainer_sets_the_scheduled_rate_each_meta_iteration():
    problem = make_problem("quadratic")
    net = LSTMOptimizer(**net_defaults("quadratic"))
    trainer = MetaTrainer(net, problem, MetaConfig(steps=2, unroll=2, meta_lr=0.1,
                                                   warmup_iters=10))
    trainer.train(3)
    assert trainer.meta_opt.param_groups[0]["lr"] == pytest.approx(0.1 * 3 / 10)


def test_unroll_doubling_lengthens_each_meta_iterations_unrolls_up_to_the_horizon():
    c = MetaConfig(steps=12, unroll=2, unroll_doubling=2)
    assert [c.unroll_at(i) for i in range(8)] == [2, 2, 4, 4, 8, 8, 12, 12]
    assert MetaConfig(unroll=5).unroll_at(10 ** 6) == 5  # the paper's: fixed
    problem = make_problem("quadratic", dim=3, batch=2)
    trainer = MetaTrainer(LSTMOptimizer(**net_defaults("quadratic")), problem,
                          MetaConfig(steps=6, unroll=2, unroll_doubling=1))
    lengths = []
    run_unroll = trainer.run_unroll
    trainer.run_unroll = lambda h, th, st, t0, k: (lengths.append(k) or
                                                   run_unroll(h, th, st, t0, k))
    trainer.train(3)
    assert lengths == [2, 2, 2, 4, 2, 6]  # K = 2, then 4 (and the horizon's rest), then 6
    with pytest.raises(ValueError, match="unroll_doubling must be >= 0"):
        MetaConfig(unroll_doubling=-1)
    with pytest.raises(ValueError, match="cannot be combined with unroll_doubling"):
        MetaConfig(unroll=2, step_weights=[1, 2], unroll_doubling=3)


def test_max_unroll_stops_the_doubling_below_the_horizon():
    c = MetaConfig(steps=12, unroll=2, unroll_doubling=2, max_unroll=4)
    assert [c.unroll_at(i) for i in range(8)] == [2, 2, 4, 4, 4, 4, 4, 4]
    assert MetaConfig(steps=12, unroll=2, unroll_doubling=1, max_unroll=50).unroll_at(9) == 12
    problem = make_problem("quadratic", dim=3, batch=2)
    trainer = MetaTrainer(LSTMOptimizer(**net_defaults("quadratic")), problem,
                          MetaConfig(steps=6, unroll=2, unroll_doubling=1, max_unroll=4))
    lengths = []
    run_unroll = trainer.run_unroll
    trainer.run_unroll = lambda h, th, st, t0, k: (lengths.append(k) or
                                                   run_unroll(h, th, st, t0, k))
    trainer.train(3)
    assert lengths == [2, 2, 2, 4, 2, 4, 2]  # K = 2, then 4 (and the horizon's rest) for good
    for bad in ({"unroll": 4, "unroll_doubling": 2, "max_unroll": 3},  # below the first
                {"unroll": 2, "max_unroll": 4}):                      # nothing to cap
        with pytest.raises(ValueError, match="max_unroll caps unroll_doubling"):
            MetaConfig(steps=12, **bad)


def test_horizon_weights_rise_linearly_over_the_horizon():
    assert MetaConfig().weights_for(0, 20) is None  # the paper's: every term 1
    c = MetaConfig(steps=4, unroll=2, horizon_weights="linear")
    assert c.weights_for(0, 2) == pytest.approx([0.4, 0.8])
    assert c.weights_for(2, 2) == pytest.approx([1.2, 1.6])  # 2t / (T + 1): mean 1
    both = MetaConfig(steps=4, unroll=2, step_weights=[1.0, 0.5], horizon_weights="linear")
    assert both.weights_for(2, 2) == pytest.approx([1.2, 0.8])
    with pytest.raises(ValueError, match="horizon_weights"):
        MetaConfig(horizon_weights="quadratic")
    # and they change the training (the trainers pass them to the unrolls)
    assert _train(MetaTrainer, horizon="linear")[1] != _train(MetaTrainer)[1]


# ----- imitation ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mnist_train():
    return make_problem("mnist", "sigmoid-5", split="train")


def test_teacher_trajectory_records_adams_gradients_and_updates(mnist_train):
    instance = mnist_train.sample((0, 4, 0))
    G, U = teacher_trajectory(instance, "adam", 0.03, steps=3)
    assert G.shape == U.shape == (3, 784 * 5 + 5 + 5 * 10 + 10)
    # the same updates from the pure update rule, fed the recorded gradients
    theta = np.concatenate([a.ravel() for a in instance.init_params()])
    state = {}
    for t in range(3):
        new, state = adam(theta, G[t], state, lr=0.03)
        np.testing.assert_allclose(U[t], new - theta, rtol=1e-5, atol=1e-9)
        theta = new
    assert np.abs(U).max() > 0.01  # Adam moves every coordinate by about lr at first


def test_imitation_fits_the_teacher_and_is_deterministic(mnist_train):
    config = ImitationConfig(problems=8, coordinates=256, steps=20, unroll=10, lr=1e-2)
    nets = [LSTMOptimizer(**net_defaults("mnist")) for _ in range(2)]
    losses = [imitate(net, mnist_train, config, seed=3) for net in nets]
    assert losses[0] == losses[1]
    for name, w in nets[0].state_dict().items():
        np.testing.assert_array_equal(w, nets[1].state_dict()[name], err_msg=name)
    # the first problem's mean includes its unfitted start (an LSTM that outputs almost
    # nothing scores about 1); the last three are fitted three times better
    assert losses[0][0] > 0.3
    assert np.mean(losses[0][-3:]) < losses[0][0] / 3


def test_imitation_config_rejects_bad_values():
    with pytest.raises(ValueError, match="problems"):
        ImitationConfig(problems=0)
    with pytest.raises(ValueError, match="teacher_lr"):
        ImitationConfig(teacher_lr=0)


# ----- meta-training over processes ---------------------------------------------------------
def test_split_rows_covers_every_coordinate_once():
    for n, parts in ((10, 3), (7, 7), (15910, 2), (1, 1)):
        rows = split_rows(n, parts)
        assert len(rows) == parts
        assert np.array_equal(np.concatenate([np.arange(n)[r] for r in rows]), np.arange(n))


def _train(make, iters=2, objective="loss", horizon="uniform"):
    problem = make_problem("quadratic")
    net = LSTMOptimizer(**net_defaults("quadratic"), seed=1)
    trainer = make(net, problem, MetaConfig(steps=6, unroll=3, meta_lr=0.01,
                                            meta_objective=objective, horizon_weights=horizon))
    try:
        trainer.train(iters)
    finally:
        getattr(trainer, "close", lambda: None)()
    return net.state_dict(), trainer.curve


OBJECTIVES = [("loss", "uniform"), ("log", "uniform"), ("log", "linear"),
              ("logmean", "uniform"), ("logmean", "linear")]


@pytest.mark.parametrize("objective,horizon", OBJECTIVES)
def test_one_process_is_the_plain_trainer_bit_for_bit(objective, horizon):
    plain = _train(MetaTrainer, objective=objective, horizon=horizon)
    split = _train(lambda *a: ParallelMetaTrainer(*a, processes=1), objective=objective,
                   horizon=horizon)
    assert split[1] == plain[1]
    for name, w in plain[0].items():
        np.testing.assert_array_equal(split[0][name], w, err_msg=name)


@pytest.mark.slow
@pytest.mark.parametrize("objective,horizon", OBJECTIVES)
def test_two_processes_give_the_same_meta_gradient_to_rounding(objective, horizon):
    plain = _train(MetaTrainer, objective=objective, horizon=horizon)
    split = _train(lambda *a: ParallelMetaTrainer(*a, processes=2), objective=objective,
                   horizon=horizon)
    np.testing.assert_allclose(split[1], plain[1], rtol=1e-5)
    for name, w in plain[0].items():
        np.testing.assert_allclose(split[0][name], w, rtol=1e-4, atol=1e-6, err_msg=name)


def test_workers_run_blas_on_one_thread():
    trainer = ParallelMetaTrainer(LSTMOptimizer(**net_defaults("quadratic")),
                                  make_problem("quadratic"), processes=2)
    try:
        counts = trainer.worker_blas_threads()
    finally:
        trainer.close()
    assert counts == [[1] * len(counts[0])] and counts[0]


@pytest.mark.slow
def test_validation_shared_between_processes_gives_the_same_numbers():
    problem = make_problem("mnist", "sigmoid-5", split="train")
    val = make_problem("mnist", "sigmoid-5", split="val")
    net = LSTMOptimizer(**net_defaults("mnist"))
    trainer = ParallelMetaTrainer(net, problem, MetaConfig(steps=5, unroll=5), processes=2)
    try:
        seeds = problem_seeds(val, 0, "val", 3)
        split = trainer.evaluate(val, "val", seeds, 5, 3)
    finally:
        trainer.close()
    np.testing.assert_array_equal(split, evaluate_rule(lambda: LearnedRule(net), val, seeds, 5, 3))


@pytest.mark.slow
def test_a_dead_worker_is_an_error_not_a_hang():
    problem = make_problem("quadratic")
    net = LSTMOptimizer(**net_defaults("quadratic"))
    trainer = ParallelMetaTrainer(net, problem, MetaConfig(steps=4, unroll=2), processes=2)
    try:
        trainer.train(1)
        trainer._workers[0][0].kill()
        trainer._workers[0][0].join()
        with pytest.raises((EOFError, OSError)):
            trainer.train(2)
        assert trainer.iteration == 1 and not trainer._workers  # restored, workers stopped
        trainer.train(2)  # and they start again
        assert trainer.iteration == 2
    finally:
        trainer.close()


def test_parallel_trainer_refuses_what_it_cannot_split():
    problem, net = make_problem("quadratic"), LSTMOptimizer(**net_defaults("quadratic"))
    with pytest.raises(ValueError, match="second-order"):
        ParallelMetaTrainer(net, problem, MetaConfig(second_order=True))
    with pytest.raises(ValueError, match="processes"):
        ParallelMetaTrainer(net, problem, processes=0)


# ----- recipes, and train --recipe / --minutes --------------------------------------------------
def test_recipes_by_name():
    assert get_recipe("paper").meta == {} and get_recipe("paper").imitation is None
    assert "2 processes" in get_recipe("fast").describe()
    with pytest.raises(ValueError, match="paper, fast"):
        get_recipe("slow")


SMALL = ["--problem", "quadratic", "--steps", "4", "--unroll", "2", "--no-progress"]


def test_minutes_budget_ends_the_run_and_resume_extends_it(tmp_path):
    out = tmp_path / "q.npz"
    assert cli.main(["train", *SMALL, "--out", str(out), "--minutes", "0.001"]) == 0
    _, meta = load_checkpoint(out)
    assert meta["status"] == "done" and meta["iteration"] >= 1
    assert meta["run"]["minutes"] == 0.001 and meta["elapsed_s"] >= 0.06
    assert meta["recipe"]["name"] == "paper"
    first = meta["iteration"]
    assert cli.main(["train", *SMALL, "--out", str(out), "--resume", "--minutes", "0.03"]) == 0
    _, meta = load_checkpoint(out)
    assert meta["iteration"] > first and meta["elapsed_s"] >= 1.8


def test_train_with_a_recipe_records_it_and_its_warm_start(tmp_path, monkeypatch):
    tiny = Recipe("fast", "a tiny test recipe", meta={"meta_lr": 0.02, "warmup_iters": 2},
                  imitation=ImitationConfig(problems=2, coordinates=64, steps=4, unroll=2),
                  processes=1, val_every=1, val_runs=1)
    monkeypatch.setitem(RECIPES, "fast", tiny)
    out = tmp_path / "m.npz"
    args = ["train", "--problem", "mnist", "--optimizee", "sigmoid-5", "--steps", "4",
            "--unroll", "2", "--meta-iters", "2", "--no-progress", "--out", str(out)]
    assert cli.main([*args, "--recipe", "fast"]) == 0
    _, meta = load_checkpoint(out)
    assert meta["recipe"]["name"] == "fast" and meta["meta"]["meta_lr"] == 0.02
    assert meta["meta"]["warmup_iters"] == 2 and meta["run"]["val_every"] == 1
    assert len(meta["imitation"]["losses"]) == 2 and meta["imitation"]["seconds"] > 0
    # resuming keeps the recipe (and does not imitate again); another recipe is refused
    assert cli.main([*args[:-5], "--meta-iters", "3", "--resume", "--out", str(out),
                     "--no-progress"]) == 0
    _, meta2 = load_checkpoint(out)
    assert meta2["iteration"] == 3 and meta2["imitation"] == meta["imitation"]
    assert cli.main([*args[:-5], "--resume", "--out", str(out), "--recipe", "paper"]) == 2


@pytest.mark.slow  # the default warm start: 30 teacher runs of 100 steps
def test_imitation_flag_turns_the_warm_start_on_for_any_recipe(tmp_path):
    out = tmp_path / "m.npz"
    assert cli.main(["train", "--problem", "mnist", "--optimizee", "sigmoid-5", "--steps", "2",
                     "--unroll", "2", "--meta-iters", "1", "--no-progress", "--out", str(out),
                     "--imitation"]) == 0
    _, meta = load_checkpoint(out)
    assert meta["recipe"]["name"] == "paper"
    assert meta["recipe"]["imitation"] == ImitationConfig().to_dict()
    assert len(meta["imitation"]["losses"]) == ImitationConfig().problems


def test_val_metric_final_picks_weights_by_the_final_validation_loss(tmp_path):
    out = tmp_path / "m.npz"
    args = ["train", "--problem", "mnist", "--optimizee", "sigmoid-5", "--steps", "4",
            "--unroll", "2", "--meta-iters", "3", "--val-every", "1", "--val-runs", "2",
            "--meta-lr", "0.05", "--meta-objective", "log", "--no-progress", "--out", str(out)]
    assert cli.main([*args, "--val-metric", "final"]) == 0
    _, meta = load_checkpoint(out)
    assert meta["run"]["val_metric"] == "final" and meta["meta"]["meta_objective"] == "log"
    lines = [ln.split() for ln in out.with_suffix(".log").read_text().splitlines()
             if ln.startswith("iteration")]
    finals = [float(ln[ln.index("val_final") + 1]) for ln in lines]
    history = [v for _, v in meta["validation"]["history"]]
    assert history == pytest.approx(finals, rel=1e-5)  # the history holds the final losses
    # a resume cannot switch the metric its history was scored by
    assert cli.main([*args[:-2], "--out", str(out), "--resume", "--meta-iters", "4",
                     "--val-metric", "mean"]) == 2


def test_validation_metrics_score_the_horizon_its_last_step_and_its_last_tenth():
    losses = np.arange(2 * 21, dtype=np.float64).reshape(2, 21)  # 2 runs, T = 20
    scores = validation_metrics(losses)
    assert scores["mean"] == pytest.approx(losses[:, 1:].mean())
    assert scores["final"] == pytest.approx(losses[:, -1].mean())
    assert scores["tail"] == pytest.approx(losses[:, 19:].mean())  # steps 19 and 20
    assert validation_metrics(np.ones((3, 5)))["tail"] == 1.0  # T < 10: the final step
    losses[1, 20] = np.nan
    assert validation_metrics(losses)["tail"] == np.inf


def test_val_metric_tail_keeps_the_weights_with_the_lowest_tail_loss(tmp_path):
    out = tmp_path / "m.npz"
    assert cli.main(["train", "--problem", "mnist", "--optimizee", "sigmoid-5", "--steps", "20",
                     "--unroll", "10", "--meta-iters", "3", "--val-every", "1", "--val-runs",
                     "2", "--meta-lr", "0.05", "--no-progress", "--out", str(out),
                     "--val-metric", "tail"]) == 0
    _, meta = load_checkpoint(out)
    assert meta["run"]["val_metric"] == "tail"
    lines = [ln.split() for ln in out.with_suffix(".log").read_text().splitlines()
             if ln.startswith("iteration")]
    tails = [float(ln[ln.index("val_tail") + 1]) for ln in lines]
    assert [v for _, v in meta["validation"]["history"]] == pytest.approx(tails, rel=1e-5)
    best = [ln for ln in lines if ln[-1] == "best"]
    assert float(best[-1][best[-1].index("val_tail") + 1]) == pytest.approx(min(tails), rel=1e-5)


def test_a_zero_head_takes_no_step_whatever_the_seed_and_its_lstm_is_unchanged():
    g = np.random.default_rng(0).normal(size=50).astype(np.float32)
    for seed in range(3):
        plain = LSTMOptimizer(**net_defaults("mnist"), seed=seed)
        zero = LSTMOptimizer(**net_defaults("mnist"), seed=seed, head_init="zeros")
        delta, _ = zero.update_array(g)
        assert not delta.any()  # exactly zero: theta stays where it starts
        assert np.abs(plain.update_array(g)[0]).max() > 0
        assert all(np.array_equal(plain.lstm.state_dict()[k], v)
                   for k, v in zero.lstm.state_dict().items())  # the LSTM draws come first
        assert zero.config()["head_init"] == "zeros" and "head_init" not in plain.config()
        assert LSTMOptimizer(**zero.config()).config() == zero.config()
    with pytest.raises(ValueError, match="LSTMOptimizer: unknown head_init 'zero'"):
        LSTMOptimizer(head_init="zero")


def test_a_zero_head_learns_its_weights_first_then_the_lstm():
    net = LSTMOptimizer(**net_defaults("mnist"), head_init="zeros")
    trainer = MetaTrainer(net, make_problem("mnist", optimizee="sigmoid-2"),
                          MetaConfig(steps=4, unroll=2, meta_lr=0.01))
    lstm_before = {k: v.copy() for k, v in net.lstm.state_dict().items()}
    trainer.train_iteration()  # unroll 1: only the head gets a gradient; unroll 2: the LSTM too
    assert np.abs(net.head.weight.data).max() > 0
    assert any(not np.array_equal(lstm_before[k], v) for k, v in net.lstm.state_dict().items())


def test_the_fast_recipe_starts_from_a_zero_head_and_resume_keeps_the_checkpoints_net(
        tmp_path, monkeypatch):
    tiny = Recipe("fast", "a tiny test recipe", meta={"meta_lr": 0.02}, net={"head_init": "zeros"},
                  processes=1)
    monkeypatch.setitem(RECIPES, "fast", tiny)
    assert "the head initialised with zeros" in tiny.describe()
    args = ["train", "--problem", "mnist", "--optimizee", "sigmoid-2", "--steps", "4",
            "--unroll", "2", "--no-progress"]
    fast, paper = tmp_path / "fast.npz", tmp_path / "paper.npz"
    assert cli.main([*args, "--meta-iters", "1", "--recipe", "fast", "--out", str(fast)]) == 0
    assert load_checkpoint(fast)[1]["net"]["head_init"] == "zeros"
    assert cli.main([*args, "--meta-iters", "1", "--out", str(paper)]) == 0
    assert "head_init" not in load_checkpoint(paper)[1]["net"]
    # a checkpoint without the key (all written before the option) resumes with the l2l head,
    # even under the fast recipe; asking for another head on resume is refused
    assert cli.main([*args, "--meta-iters", "2", "--resume", "--out", str(paper),
                     "--recipe", "paper"]) == 0
    assert "head_init" not in load_checkpoint(paper)[1]["net"]
    assert cli.main([*args, "--meta-iters", "3", "--resume", "--out", str(paper),
                     "--head-init", "zeros"]) == 2


def test_the_running_average_of_phi_follows_each_meta_update_and_is_what_is_evaluated():
    def trainer(average):
        net = LSTMOptimizer(**net_defaults("mnist"), head_init="zeros")
        return MetaTrainer(net, make_problem("mnist", optimizee="sigmoid-2"),
                           MetaConfig(steps=4, unroll=2, meta_lr=0.01, average=average))

    plain, avg = trainer(0.0), trainer(0.9)
    assert plain.averaged is None
    start = avg.net.state_dict()
    # by hand: two meta-updates per iteration, phi_avg <- 0.9 phi_avg + 0.1 phi after each
    expected = {k: v.astype(np.float64) for k, v in start.items()}
    phis = []
    real_step = avg.meta_opt.step

    def step():
        real_step()
        phis.append(avg.net.state_dict())

    avg.meta_opt.step = step
    avg.train_iteration()
    plain.train_iteration()
    for phi in phis:
        expected = {k: 0.9 * v + 0.1 * phi[k] for k, v in expected.items()}
    assert len(phis) == 2
    for k, v in avg.averaged.items():
        np.testing.assert_allclose(v, expected[k], rtol=1e-5, atol=1e-8)
    # the average does not change training itself: phi is the plain trainer's
    for k, v in avg.net.state_dict().items():
        np.testing.assert_array_equal(v, plain.net.state_dict()[k])
    phi = avg.net.state_dict()
    with avg.evaluation_weights() as net:
        held = net.state_dict()
    assert all(np.array_equal(held[k], avg.averaged[k]) for k in held)
    assert all(np.array_equal(v, phi[k]) for k, v in avg.net.state_dict().items())  # phi back
    with plain.evaluation_weights() as net:
        assert net is plain.net
    snap = avg.snapshot()
    avg.train_iteration()
    avg.restore(snap)
    assert all(np.array_equal(v, snap.averaged[k]) for k, v in avg.averaged.items())
    with pytest.raises(ValueError, match="average must be in"):
        MetaConfig(average=1.0)


def test_train_average_validates_the_average_and_resumes_it_exactly(tmp_path, capsys):
    args = ["train", "--problem", "mnist", "--optimizee", "sigmoid-2", "--steps", "4",
            "--unroll", "2", "--val-every", "1", "--val-runs", "1", "--meta-lr", "0.02",
            "--average", "0.9", "--no-progress"]
    whole, part = tmp_path / "whole.npz", tmp_path / "part.npz"
    assert cli.main([*args, "--meta-iters", "3", "--out", str(whole)]) == 0
    assert cli.main([*args, "--meta-iters", "2", "--out", str(part)]) == 0
    assert cli.main([*args, "--meta-iters", "3", "--out", str(part), "--resume"]) == 0
    a, meta = load_checkpoint(whole)
    b, meta_b = load_checkpoint(part)
    assert meta["meta"]["average"] == 0.9
    assert sorted(k for k in a if k.startswith("average.")) == \
        sorted(f"average.{k}" for k in LSTMOptimizer(**net_defaults("mnist")).state_dict())
    assert set(a) == set(b) and all(np.array_equal(a[k], b[k]) for k in a)  # exact resume
    assert meta["validation"]["history"] == meta_b["validation"]["history"]
    # the best weights are averaged ones: the average is what was validated, not phi
    best_it = min(meta["validation"]["history"], key=lambda r: r[1])[0]
    if best_it == 3:
        assert all(np.array_equal(a[f"best.{k[8:]}"], a[k]) for k in a if k.startswith("average."))
    assert not all(np.array_equal(a[f"net.{k[8:]}"], a[k]) for k in a if k.startswith("average."))
    # a checkpoint whose settings average but whose arrays lost the average is refused
    from minigrad.nn import save_checkpoint
    broken = tmp_path / "broken.npz"
    save_checkpoint(broken, {k: v for k, v in a.items() if not k.startswith("average.")}, meta)
    capsys.readouterr()
    assert cli.main([*args, "--meta-iters", "4", "--out", str(broken), "--resume"]) == 2
    assert "the arrays average.* are missing" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # argparse: a usage error
        cli.main([*args[:-1], "--average", "1", "--meta-iters", "1",
                  "--out", str(tmp_path / "x.npz")])
    assert exc.value.code == 2


def test_meta_betas_reach_adam_the_checkpoint_and_the_log(tmp_path, capsys):
    out = tmp_path / "b.npz"
    args = ["train", "--problem", "mnist", "--optimizee", "sigmoid-2", "--steps", "4",
            "--unroll", "2", "--meta-iters", "2", "--no-progress", "--out", str(out)]
    assert cli.main([*args, "--meta-betas", "0.8,0.99", "--unroll-doubling", "5",
                     "--max-unroll", "3"]) == 0
    _, meta = load_checkpoint(out)
    assert meta["meta"]["betas"] == [0.8, 0.99] and meta["meta"]["unroll_doubling"] == 5
    assert meta["meta"]["max_unroll"] == 3
    # every meta-iteration logs its largest meta-gradient norm (before any clipping)
    lines = [ln for ln in out.with_suffix(".log").read_text().splitlines()
             if ln.startswith("iteration")]
    assert len(lines) == 2 and all(float(ln.split("grad_norm ")[1]) > 0 for ln in lines)
    capsys.readouterr()
    assert cli.main([*args[:-2], "--meta-iters", "3", "--out", str(out), "--resume",
                     "--meta-betas", "0.9,0.999"]) == 2
    assert "--meta-betas [0.9, 0.999] (checkpoint: [0.8, 0.99])" in capsys.readouterr().err
    for bad in ("0.9", "0.9,1.0", "a,b"):
        with pytest.raises(SystemExit) as exc:
            cli.main([*args[:-2], "--meta-betas", bad, "--out", str(tmp_path / "x.npz")])
        assert exc.value.code == 2


@pytest.mark.parametrize("flag, value, key, stored", [("--train-pool", "64", "train_pool", 64),
                                                     ("--param-scale", "1.5", "param_scale", 1.5)])
def test_an_mnist_problem_setting_is_recorded_for_mnist_and_refused_elsewhere(
        tmp_path, capsys, flag, value, key, stored):
    out = tmp_path / "p.npz"
    assert cli.main(["train", "--problem", "mnist", "--optimizee", "sigmoid-2", "--steps", "2",
                     "--unroll", "2", "--meta-iters", "1", flag, value,
                     "--no-progress", "--out", str(out)]) == 0
    assert load_checkpoint(out)[1]["problem"][key] == stored
    capsys.readouterr()
    assert cli.main(["train", "--problem", "quadratic", "--meta-iters", "1", flag, value,
                     "--out", str(tmp_path / "q.npz")]) == 2
    assert f"{flag} applies to the mnist problem only" in capsys.readouterr().err


def test_a_recipes_mnist_settings_reach_mnist_runs_only():
    from minigrad.l2l.launch import base_config

    recipe = Recipe("t", "test", net={"head_init": "zeros"}, mnist_net={"output_scale": 0.5},
                    mnist_problem={"train_pool": 1000})
    net, _, problem, _ = base_config("mnist", recipe)
    assert net["output_scale"] == 0.5 and net["head_init"] == "zeros"
    assert problem["train_pool"] == 1000
    net, _, problem, _ = base_config("quadratic", recipe)
    assert net["output_scale"] == net_defaults("quadratic")["output_scale"]
    assert net["head_init"] == "zeros" and "train_pool" not in problem
    assert "output scale 0.5 on MNIST" in recipe.describe()
    assert "each MNIST training net on 1000 digits" in recipe.describe()


def _train_pool(make, meta_data="pool", meta_tilt=0.0):
    problem = make_problem("mnist", "sigmoid-2", train_pool=64)
    net = LSTMOptimizer(**net_defaults("mnist"), seed=1)
    trainer = make(net, problem, MetaConfig(steps=4, unroll=2, meta_lr=0.01,
                                            meta_objective="logmean", meta_data=meta_data,
                                            meta_tilt=meta_tilt))
    try:
        trainer.train(2)
    finally:
        getattr(trainer, "close", lambda: None)()
    return net.state_dict(), trainer.curve


def _train_segments(make):
    problem = make_problem("quadratic")
    net = LSTMOptimizer(**net_defaults("quadratic"), seed=1)
    trainer = make(net, problem, MetaConfig(steps=6, unroll=3, meta_lr=0.01,
                                            meta_objective="logmean", meta_segment=2,
                                            unroll_doubling=1))
    try:
        trainer.train(2)  # unrolls of 3 (segments cut them at steps 2 and 4), then of 6
    finally:
        getattr(trainer, "close", lambda: None)()
    return net.state_dict(), trainer.curve


def test_the_log_over_segments_is_the_same_on_one_or_two_processes():
    plain = _train_segments(MetaTrainer)
    one = _train_segments(lambda *a: ParallelMetaTrainer(*a, processes=1))
    two = _train_segments(lambda *a: ParallelMetaTrainer(*a, processes=2))
    assert one[1] == plain[1]
    np.testing.assert_allclose(two[1], plain[1], rtol=1e-5)
    for name, w in plain[0].items():
        np.testing.assert_array_equal(one[0][name], w, err_msg=name)
        np.testing.assert_allclose(two[0][name], w, rtol=1e-4, atol=1e-6, err_msg=name)
    whole = _train_segments(lambda net, problem, c: MetaTrainer(
        net, problem, MetaConfig(**{**c.to_dict(), "meta_segment": 0})))
    assert not np.allclose(whole[0]["head.weight"], plain[0]["head.weight"])
    for bad in ({"meta_segment": -1}, {"meta_segment": 10, "meta_objective": "loss"}):
        with pytest.raises(ValueError, match="meta_segment must be >= 0 and takes"):
            MetaConfig(**bad)


@pytest.mark.parametrize("meta_data", ["batch", "pool"])
def test_the_tilted_meta_loss_is_the_same_on_one_or_two_processes_and_not_the_means(meta_data):
    plain = _train_pool(MetaTrainer, meta_data, meta_tilt=0.5)
    one = _train_pool(lambda *a: ParallelMetaTrainer(*a, processes=1), meta_data, meta_tilt=0.5)
    two = _train_pool(lambda *a: ParallelMetaTrainer(*a, processes=2), meta_data, meta_tilt=0.5)
    assert one[1] == plain[1]
    np.testing.assert_allclose(two[1], plain[1], rtol=1e-5)
    for name, w in plain[0].items():
        np.testing.assert_array_equal(one[0][name], w, err_msg=name)
        np.testing.assert_allclose(two[0][name], w, rtol=1e-4, atol=1e-6, err_msg=name)
    mean = _train_pool(MetaTrainer, meta_data)
    assert plain[1][0] > mean[1][0]  # the curve is the tilted loss, above the mean
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="meta_tilt must be finite and >= 0"):
            MetaConfig(meta_tilt=bad)
    with pytest.raises(SystemExit):  # argparse names the flag and the value
        cli.main(["train", "--meta-tilt", "nan"])


def test_the_pool_meta_loss_is_the_same_on_one_or_two_processes_and_not_the_batchs():
    plain = _train_pool(MetaTrainer)
    one = _train_pool(lambda *a: ParallelMetaTrainer(*a, processes=1))
    two = _train_pool(lambda *a: ParallelMetaTrainer(*a, processes=2))
    assert one[1] == plain[1]
    np.testing.assert_allclose(two[1], plain[1], rtol=1e-5)
    for name, w in plain[0].items():
        np.testing.assert_array_equal(one[0][name], w, err_msg=name)
        np.testing.assert_allclose(two[0][name], w, rtol=1e-4, atol=1e-6, err_msg=name)
    batch = _train_pool(MetaTrainer, meta_data="batch")
    assert batch[1] != plain[1]  # the curve is the pool's loss, not the minibatches'
    with pytest.raises(ValueError, match="meta_data 'pool' needs a problem whose nets have"):
        MetaTrainer(LSTMOptimizer(**net_defaults("quadratic")), make_problem("quadratic"),
                    MetaConfig(meta_data="pool"))
    with pytest.raises(ValueError, match="meta_data must be one of batch, pool"):
        MetaConfig(meta_data="all")
