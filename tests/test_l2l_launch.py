"""Meta-training from Python (:mod:`minigrad.l2l.launch`): a recipe's run for a wall-clock
budget with a callback per meta-iteration, the same numbers as ``python -m minigrad.l2l train``
with that recipe, and the pieces the command line shares with it."""

import numpy as np
import pytest

import minigrad.l2l.cli as cli
from minigrad.l2l.launch import NO_ITERATION_LIMIT, recipe_flags, train_recipe
from minigrad.l2l.recipes import RECIPES, Recipe
from minigrad.l2l.training import RunSettings, TrainingRun
from minigrad.nn import load_checkpoint

#: A recipe small enough for a unit test: 4 optimizee steps in unrolls of 2, one process,
#: validation on one problem after every meta-iteration.
TINY = Recipe("fast", "a tiny test recipe",
              meta={"steps": 4, "unroll": 2, "meta_lr": 0.02, "warmup_iters": 2},
              processes=1, val_every=1, val_runs=1)
OPTIMIZEE = "sigmoid-2"  # 784-2-10: 1,600 coordinates


def test_recipe_flags_fill_in_what_was_not_given():
    r = Recipe("x", "test", val_every=25, val_runs=16)
    assert recipe_flags(r, {"val_every": None, "val_runs": None})["val_every"] == 25
    given = recipe_flags(r, {"val_every": 5, "val_runs": None})
    assert given["val_every"] == 5 and given["val_runs"] is None  # the run's default then
    assert recipe_flags(r, {"minutes": 2.0, "meta_iters": None})["meta_iters"] == \
        NO_ITERATION_LIMIT
    assert recipe_flags(r, {"minutes": 2.0, "meta_iters": 7})["meta_iters"] == 7
    assert recipe_flags(r, {})["val_metric"] == r.val_metric


def test_train_recipe_calls_back_validates_and_stops_when_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    events = []

    def callback(event):
        events.append(event)
        return event["iteration"] == 3 and event["train_loss"] is not None

    res = train_recipe(TINY, minutes=5, optimizee=OPTIMIZEE, callback=callback)
    assert res["status"] == "done" and res["iterations"] == 3
    assert list(tmp_path.iterdir()) == []  # nothing written without `out`
    # the untrained weights are scored first; then every meta-iteration (val_every 1)
    assert events[0]["iteration"] == 0 and events[0]["train_loss"] is None
    assert [e["iteration"] for e in events[1:]] == [1, 2, 3]
    assert all(e["validation"] is not None and e["seconds"] > 0 for e in events[1:])
    assert [r[0] for r in res["validation"]] == [0, 1, 2, 3]
    assert res["train_curve"] == pytest.approx([e["train_loss"] for e in events[1:]])
    assert len(res["iteration_seconds"]) == 3 and len(res["validation_seconds"]) == 4
    best = min(res["validation"], key=lambda r: r[1])
    assert res["weights"] == "best" and res["best_iteration"] == best[0]
    assert res["recipe"] == "fast" and res["config"]["meta_lr"] == 0.02
    assert res["description"] == TINY.describe()
    assert 0 < res["elapsed_s"] < 300 and res["minutes"] == 5


def test_train_recipe_gives_the_command_lines_numbers(tmp_path, monkeypatch):
    monkeypatch.setitem(RECIPES, "fast", TINY)
    out = tmp_path / "m.npz"
    assert cli.main(["train", "--problem", "mnist", "--optimizee", OPTIMIZEE, "--recipe", "fast",
                     "--meta-iters", "2", "--no-progress", "--out", str(out)]) == 0
    arrays, meta = load_checkpoint(out)
    res = train_recipe("fast", minutes=5, optimizee=OPTIMIZEE,
                       callback=lambda e: e["iteration"] == 2 and e["train_loss"] is not None)
    assert res["train_curve"] == pytest.approx(meta["curve"], rel=1e-6)
    # the command line validates after meta-iterations 1 and 2; so does train_recipe (and at 0)
    later = [r for r in res["validation"] if r[0] > 0]
    assert [r[0] for r in later] == [r[0] for r in meta["validation"]["history"]] == [1, 2]
    assert [r[1] for r in later] == pytest.approx(
        [r[1] for r in meta["validation"]["history"]], rel=1e-6)
    if res["best_iteration"] == 2:
        for name, value in res["net"].state_dict().items():
            np.testing.assert_allclose(value, arrays[f"net.{name}"], rtol=1e-6, err_msg=name)


def test_a_tiny_budget_ends_the_run_in_time(tmp_path):
    res = train_recipe(TINY, minutes=0.002, optimizee=OPTIMIZEE)  # 0.12 s
    assert res["status"] == "done" and res["elapsed_s"] < 5
    # no meta-iteration started that its predecessor's time said would end past the budget
    its, vals = res["iteration_seconds"], res["validation_seconds"]
    assert res["elapsed_s"] - (its[-1] if its else 0) - vals[-1] < 0.12 + 0.5
    assert res["validation"][0][0] == 0 and res["validation"][-1][0] == res["iterations"]
    with pytest.raises(ValueError, match="minutes"):
        train_recipe(TINY, minutes=0, optimizee=OPTIMIZEE)


def test_train_recipe_can_write_a_checkpoint_the_cli_reads(tmp_path):
    out = tmp_path / "own.npz"
    res = train_recipe(TINY, minutes=5, optimizee=OPTIMIZEE, out=out,
                       callback=lambda e: e["iteration"] == 1 and e["train_loss"] is not None)
    _, meta = load_checkpoint(out)
    assert meta["iteration"] == res["iterations"] == 1 and meta["recipe"]["name"] == "fast"
    assert meta["validation"]["history"] == res["validation"]
    assert cli.main(["evaluate", "--problem", "mnist", "--optimizee", OPTIMIZEE, "--steps", "3",
                     "--runs", "2", "--optimizers", "sgd", "--checkpoint", str(out),
                     "--no-progress"]) == 0


def test_training_run_without_out_writes_and_says_nothing(tmp_path, monkeypatch, capsys):
    from minigrad.l2l import MetaConfig, MetaTrainer, make_problem
    from minigrad.l2l.lstm_optimizer import LSTMOptimizer, net_defaults

    monkeypatch.chdir(tmp_path)
    trainer = MetaTrainer(LSTMOptimizer(**net_defaults("quadratic")),
                          make_problem("quadratic"), MetaConfig(steps=4, unroll=2))
    seen = []
    run = TrainingRun(trainer, trainer.problem.config(), None, RunSettings(meta_iters=3),
                      progress=False, report=False, callback=seen.append)
    assert run.run() == 0
    assert [e["iteration"] for e in seen] == [1, 2, 3] and trainer.iteration == 3
    assert all(e["validation"] is None for e in seen)
    assert list(tmp_path.iterdir()) == [] and capsys.readouterr().err == ""


def test_train_recipe_says_diverged_only_for_a_divergence(tmp_path, monkeypatch):
    from minigrad.l2l import training
    from minigrad.l2l.meta import MetaTrainer, MetaTrainingDiverged

    def diverge(self):
        raise MetaTrainingDiverged("the meta-loss is nan")

    with monkeypatch.context() as m:
        m.setattr(MetaTrainer, "train_iteration", diverge)
        assert train_recipe(TINY, minutes=5, optimizee=OPTIMIZEE)["status"] == "diverged"

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    # a run that finished but could not write `out` (exit code 1) is done, not diverged
    monkeypatch.setattr(training, "write_checkpoint", full_disk)
    res = train_recipe(TINY, minutes=5, optimizee=OPTIMIZEE, out=tmp_path / "own.npz",
                       callback=lambda e: e["iteration"] == 1 and e["train_loss"] is not None)
    assert res["status"] == "done" and res["iterations"] == 1
