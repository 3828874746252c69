"""The collapse guard (``MetaConfig.collapse_guard``): two horizons in a row back at chance
after the run has left it roll the weights, Adam state and running average back to the start of
the latest good horizon and halve the meta learning rate; one alone (a transient blow-up) does
not. The checkpoint keeps all of it, so a resumed run rolls back as one that never stopped.

The horizons here train for real; only the mean loss the guard reads is scripted, so each test
decides where the run leaves chance and where it collapses."""

import numpy as np
import pytest

import minigrad.l2l.cli as cli
from minigrad.l2l import LSTMOptimizer, MetaConfig, MetaTrainer, make_problem, net_defaults
from minigrad.l2l.checkpoints import read_checkpoint, restore_trainer, write_checkpoint
from minigrad.l2l.meta import COLLAPSE_BACK, COLLAPSE_LEFT, COLLAPSE_STRIKES
from minigrad.l2l.training import RunSettings, TrainingRun
from minigrad.nn import load_checkpoint

#: Horizon means: the first is the reference (2.0); 3 and 4 are below half of it (good), 5 and
#: 6 are above nine tenths (a collapse: two in a row), 7 and 8 go on.
MEANS = [2.0, 1.5, 0.9, 0.8, 1.9, 1.95, 0.7, 0.6]
#: A transient: horizon 5 alone is back at chance, 6 recovers.
TRANSIENT = [2.0, 1.5, 0.9, 0.8, 1.9, 0.7, 1.85, 0.6]


def make_trainer(guard=True, average=0.0):
    problem = make_problem("quadratic", dim=3, batch=2)
    net = LSTMOptimizer(**net_defaults("quadratic"))
    config = MetaConfig(steps=4, unroll=2, meta_lr=0.01, warmup_iters=3, average=average,
                        collapse_guard=guard)
    return MetaTrainer(net, problem, config)


def script_means(trainer, means=MEANS):
    """Train each horizon for real, then make its mean loss the scripted one."""
    real = trainer._horizon

    def horizon(snap):
        real(snap)
        trainer.curve[-1] = means[trainer.iteration - 1]
        return trainer.curve[-1]

    trainer._horizon = horizon
    return trainer


def same_state(a, b):
    return (a.keys() == b.keys()) and all(np.array_equal(a[k], b[k]) for k in a)


def test_the_thresholds_are_the_documented_fractions_of_the_first_horizon():
    assert (COLLAPSE_LEFT, COLLAPSE_BACK, COLLAPSE_STRIKES) == (0.5, 0.9, 2)
    assert MetaConfig().collapse_guard is False  # the paper's: off


@pytest.mark.parametrize("average", [0.0, 0.9])
def test_a_collapse_rolls_back_to_the_latest_good_horizons_start_and_halves_the_meta_lr(
        average):
    trainer = script_means(make_trainer(average=average))
    trainer.train(3)
    start_of_4 = trainer.snapshot()  # horizon 4 (mean 0.8) is the latest good one before 5
    trainer.train(5)                          # horizon 5 is at chance: one strike, no rollback
    assert trainer.guard_state.iteration == 3 and trainer.lr_scale == 1.0
    assert trainer.strikes == 1 and trainer.rollbacks == []
    assert not same_state(trainer.net.state_dict(), start_of_4.net)
    trainer.train(6)                          # horizon 6 too: the collapse
    assert trainer.rollbacks == [[6, 4]] and trainer.lr_scale == 0.5 and trainer.strikes == 0
    assert same_state(trainer.net.state_dict(), start_of_4.net)
    state = trainer.meta_opt.state_dict()["state"]
    assert all(same_state(state[i], start_of_4.optimizer["state"][i]) for i in state)
    if average:
        assert same_state(trainer.averaged, start_of_4.averaged)
    # the count, the curve and the schedule go on; the next horizon steps at half the rate
    assert trainer.iteration == 6 and trainer.curve == MEANS[:6]
    trainer.train(7)
    assert trainer.meta_opt.param_groups[0]["lr"] == pytest.approx(0.5 * 0.01)
    assert trainer.guard_state.iteration == 6  # horizon 7 (0.7) is good: kept from its start


def test_one_horizon_back_at_chance_is_a_transient_and_rolls_nothing_back():
    guarded = script_means(make_trainer(), TRANSIENT)
    free = script_means(make_trainer(guard=False), TRANSIENT)
    for n in range(5, 9):
        guarded.train(n)
        free.train(n)
        assert guarded.strikes == (1 if n in (5, 7) else 0)
    assert guarded.rollbacks == [] and guarded.lr_scale == 1.0
    assert same_state(guarded.net.state_dict(), free.net.state_dict())


def test_no_rollback_before_the_run_has_left_chance_nor_with_the_guard_off():
    early = script_means(make_trainer(), [2.0, 1.95, 1.99])
    early.train(3)
    assert early.rollbacks == [] and early.guard_state is None and early.lr_scale == 1.0
    off = script_means(make_trainer(guard=False))
    on = script_means(make_trainer())
    off.train(4)
    on.train(4)
    assert same_state(off.net.state_dict(), on.net.state_dict())  # identical until a collapse
    off.train(6)
    assert off.rollbacks == [] and off.guard_state is None and off.lr_scale == 1.0


@pytest.mark.parametrize("stop", [4, 5])  # before the collapse; between its two strikes
def test_the_checkpoint_keeps_the_guard_and_a_resumed_run_rolls_back_identically(tmp_path, stop):
    whole = script_means(make_trainer(average=0.9))
    whole.train(8)
    part = script_means(make_trainer(average=0.9))
    part.train(stop)
    path = tmp_path / "part.npz"
    write_checkpoint(path, part, part.problem.config())
    arrays, meta = read_checkpoint(path)
    assert meta["lr_scale"] == 1.0 and meta["guard"]["iteration"] == 3
    assert meta["strikes"] == stop - 4
    assert {k for k in arrays if k.startswith("guard.net.")} == \
        {f"guard.net.{k}" for k in part.net.state_dict()}
    assert any(k.startswith("guard.optimizer.") for k in arrays)
    assert any(k.startswith("guard.average.") for k in arrays)
    resumed = script_means(make_trainer(average=0.9))
    restore_trainer(resumed, arrays, meta, path=path)
    assert resumed.strikes == stop - 4
    resumed.train(8)
    assert resumed.rollbacks == whole.rollbacks == [[6, 4]]
    assert resumed.lr_scale == whole.lr_scale == 0.5
    assert same_state(resumed.net.state_dict(), whole.net.state_dict())
    assert same_state(resumed.averaged, whole.averaged)
    # and after the rollback: the halved rate and the rollbacks come back from the file too
    write_checkpoint(path, whole, whole.problem.config())
    again = script_means(make_trainer(average=0.9))
    restore_trainer(again, *read_checkpoint(path), path=path)
    assert again.lr_scale == 0.5 and again.rollbacks == [[6, 4]]
    assert again.guard_state.iteration == whole.guard_state.iteration
    assert same_state(again.guard_state.net, whole.guard_state.net)


def test_a_non_finite_guard_array_in_a_checkpoint_is_refused(tmp_path):
    from minigrad.l2l.checkpoints import CheckpointMismatch
    from minigrad.nn import save_checkpoint

    trainer = script_means(make_trainer())
    trainer.train(4)
    path = tmp_path / "g.npz"
    write_checkpoint(path, trainer, trainer.problem.config())
    arrays, meta = load_checkpoint(path)
    name = next(k for k in arrays if k.startswith("guard.net."))
    arrays[name] = np.full_like(arrays[name], np.nan)
    save_checkpoint(path, arrays, meta)
    with pytest.raises(CheckpointMismatch, match=name.replace(".", r"\.")):
        read_checkpoint(path)


def test_a_run_logs_and_says_the_rollback(tmp_path, capsys):
    trainer = script_means(make_trainer())
    log = tmp_path / "run.log"
    run = TrainingRun(trainer, trainer.problem.config(), None, RunSettings(meta_iters=7),
                      log_path=log, progress=False)
    assert run.run() == 0
    expected = ("collapse at iteration 6: horizon means 0.95, 0.975 in a row against the "
                "first's 1; rolled the weights back to the start of iteration 4, meta lr "
                "scale now 0.5")
    # per run: the quadratic's meta-loss sums its batch of 2 functions; said after the
    # iteration's own line
    lines = log.read_text().splitlines()
    assert lines.index(f"# {expected}") == 1 + next(
        i for i, ln in enumerate(lines) if ln.startswith("iteration 6 "))
    assert expected in capsys.readouterr().err


def test_the_flag_reaches_the_checkpoint_and_a_resume_may_not_change_it(tmp_path, capsys):
    out = tmp_path / "g.npz"
    args = ["train", "--problem", "mnist", "--optimizee", "sigmoid-2", "--steps", "2",
            "--unroll", "2", "--no-progress", "--out", str(out)]
    assert cli.main([*args, "--meta-iters", "1", "--collapse-guard"]) == 0
    assert load_checkpoint(out)[1]["meta"]["collapse_guard"] is True
    capsys.readouterr()
    assert cli.main([*args, "--meta-iters", "2", "--resume", "--no-collapse-guard"]) == 2
    assert "--collapse-guard False (checkpoint: True)" in capsys.readouterr().err
    assert cli.main([*args, "--meta-iters", "2", "--resume"]) == 0
    assert load_checkpoint(out)[1]["iteration"] == 2


#: Two collapses: horizons 5-6 and 9-10 back at chance.
TWICE = [2.0, 1.5, 0.9, 0.8, 1.9, 1.95, 0.7, 0.6, 1.9, 1.9, 0.5, 0.5]


def test_rewarm_brings_the_halved_meta_lr_back_to_the_schedule():
    trainer = script_means(make_trainer(), TWICE)
    trainer.config.collapse_rewarm = 4
    trainer.config.lr_at = lambda iteration: 0.01  # a flat schedule: the factor alone shows
    lrs = []
    for n in range(1, len(TWICE) + 1):
        trainer.train(n)
        lrs.append(trainer.meta_opt.param_groups[0]["lr"])  # the rate horizon n stepped at
    # the rollback after horizon 6 halves the rate of 7; it climbs back over 4 meta-iterations
    assert lrs[:6] == [0.01] * 6
    assert lrs[6:9] == pytest.approx([0.005, 0.00625, 0.0075])
    # the second collapse (after horizon 10, three meta-iterations after the first, factor
    # 0.875) halves what was there: 0.4375, then climbs again from it
    assert trainer.rollbacks == [[6, 4], [10, 8]]
    assert trainer.lr_scale == pytest.approx(0.4375)
    assert lrs[10] == pytest.approx(0.004375)
    assert lrs[11] == pytest.approx(0.01 * (0.4375 + 0.5625 / 4))
    assert trainer.lr_factor() == pytest.approx(0.4375 + 0.5625 * 2 / 4)
    trainer.iteration += 10
    assert trainer.lr_factor() == 1.0  # back on the schedule


def test_without_rewarm_the_halving_stays_and_rewarm_needs_the_guard():
    trainer = script_means(make_trainer(), TWICE)
    trainer.train(len(TWICE))
    assert trainer.lr_scale == trainer.lr_factor() == 0.25
    with pytest.raises(ValueError, match="collapse_rewarm must be >= 0 and takes"):
        MetaConfig(collapse_rewarm=30)
    with pytest.raises(ValueError, match="collapse_rewarm must be >= 0"):
        MetaConfig(collapse_guard=True, collapse_rewarm=-1)
    args = cli.build_parser().parse_args(["train", "--problem", "mnist", "--collapse-guard",
                                          "--collapse-rewarm", "30"])
    assert args.collapse_rewarm == 30
