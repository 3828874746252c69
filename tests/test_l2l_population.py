"""The population start (``train --population K --population-minutes M``): members side by
side, the best on validation goes on; its parts, its errors and a whole start on quadratics,
stopped and resumed.

The members run for minutes, so how far each one gets depends on the machine: the end-to-end
tests check what holds whatever the timing (the choice is the member with the best validation
score, the chosen member's run goes on exactly, the budget counts the stage)."""

import math
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import minigrad.l2l.cli as cli
from minigrad.l2l import population
from minigrad.nn import load_checkpoint

SMALL = ["--problem", "quadratic", "--steps", "4", "--unroll", "2", "--no-progress",
         "--val-every", "2", "--val-runs", "2"]


def test_member_seeds_are_distinct_across_training_seeds_and_one_member_is_the_plain_run():
    seeds = [population.member_seeds(s, 2) for s in range(5)]
    assert seeds[3] == [6, 7]
    flat = [m for members in seeds for m in members]
    assert len(set(flat)) == len(flat)
    assert population.member_seeds(9, 1) == [9]


def test_member_files_sit_next_to_the_run():
    assert population.member_path("runs/x.npz", 1).as_posix() == "runs/x.member1.npz"
    assert population.member_log("runs/x.log", 0).as_posix() == "runs/x.member0.log"
    assert population.member_log("-", 0) == "-"


def meta_with_best(score):
    return {"validation": {"best": [10, score], "history": [[10, score]]}}


def test_the_member_with_the_lowest_validation_score_is_chosen():
    assert population.choose_member([meta_with_best(s) for s in (0.3, 0.1, 0.2)]) == 1
    assert population.choose_member([meta_with_best(s) for s in (0.2, 0.2)]) == 0  # tie: first
    assert population.choose_member([meta_with_best(s) for s in (math.nan, 0.5)]) == 1
    assert population.choose_member([meta_with_best(s) for s in (math.inf, math.nan)]) == 0


def test_a_member_without_validation_cannot_be_chosen():
    with pytest.raises(ValueError, match="population member 1 has no validation score"):
        population.choose_member([meta_with_best(0.1), {"validation": {"best": None}}])


def expect_error(capsys, argv, message):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err, err


def test_population_errors_before_any_work(tmp_path, capsys):
    out = str(tmp_path / "p.npz")
    base = ["train", "--problem", "quadratic", "--out", out, "--no-progress"]
    expect_error(capsys, [*base, "--population-minutes", "1"],
                 "--population-minutes 1 is the members' share of a population start; give "
                 "--population K")
    expect_error(capsys, [*base, "--population", "2", "--population-minutes", "1"],
                 "--population 2 needs --minutes (the budget) and --population-minutes below it")
    expect_error(capsys, [*base, "--population", "2", "--population-minutes", "2",
                          "--minutes", "2"], "got --minutes 2.0 and --population-minutes 2.0")
    expect_error(capsys, [*base, "--population", "2", "--population-minutes", "1",
                          "--minutes", "2"], "the members are chosen by validation; give "
                                             "--val-every")
    expect_error(capsys, [*base, "--population", "2", "--population-minutes", "1",
                          "--minutes", "2", "--resume"], "nor population members")
    (tmp_path / "p.member1.npz").write_bytes(b"old")
    expect_error(capsys, [*base, "--population", "2", "--population-minutes", "1",
                          "--minutes", "2", "--val-every", "2"],
                 "p.member1.npz already exists; pass --resume to continue the population")
    assert not (tmp_path / "p.npz").exists() and not (tmp_path / "p.member0.npz").exists()


def log_losses(path):
    """``{iteration: mean_loss}`` of a training log."""
    rows = [line.split() for line in path.read_text().splitlines()
            if line.startswith("iteration ")]
    return {int(r[1]): float(r[3]) for r in rows}


@pytest.mark.slow
def test_population_start_chooses_the_best_member_and_goes_on_with_it(tmp_path, capsys):
    out = tmp_path / "p.npz"
    argv = ["train", *SMALL, "--seed", "3", "--population", "2", "--population-minutes",
            "0.05", "--minutes", "0.12", "--out", str(out)]
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    members = [load_checkpoint(population.member_path(out, i))[1] for i in range(2)]
    assert [m["meta"]["seed"] for m in members] == [6, 7]
    assert all(m["recipe"]["processes"] == 1 for m in members)
    bests = [m["validation"]["best"][1] for m in members]
    chosen = int(np.argmin(bests))
    # every member validated its last weights before the choice
    assert all(m["validation"]["history"][-1][0] == m["iteration"] for m in members)

    _, meta = load_checkpoint(out)
    record = meta["population"]
    assert record["chosen"] == chosen and record["seed"] == 3 and record["minutes"] == 0.05
    assert [m["best"][1] for m in record["members"]] == bests
    assert f"member {chosen} (seed {6 + chosen}) chosen" in err
    # the chosen member's run goes on: its seed, its validation history, its log
    assert meta["meta"]["seed"] == 6 + chosen
    member = members[chosen]
    assert meta["validation"]["history"][:len(member["validation"]["history"])] == \
        member["validation"]["history"]
    assert meta["iteration"] > member["iteration"]
    # the budget counts the stage's wall-clock time, at least the longest member's
    assert record["elapsed_s"] >= max(m["elapsed_s"] for m in members)
    assert meta["elapsed_s"] >= record["elapsed_s"]
    log = out.with_suffix(".log").read_text()
    assert f"# population: member {chosen} of 2 (seed {6 + chosen}) chosen" in log
    member_log = population.member_log(out.with_suffix(".log"), chosen)
    assert log.startswith(member_log.read_text())

    # a member is an ordinary run: the plain run of its seed gives the same numbers
    plain = tmp_path / "plain.npz"
    assert cli.main(["train", *SMALL, "--seed", str(6 + chosen), "--meta-iters",
                     str(member["iteration"]), "--out", str(plain)]) == 0
    assert log_losses(plain.with_suffix(".log")) == log_losses(member_log)

    # --resume with the training seed goes on with the chosen member's run
    capsys.readouterr()
    assert cli.main(["train", *SMALL, "--seed", "3", "--minutes", "0.18", "--resume",
                     "--out", str(out)]) == 0
    _, resumed = load_checkpoint(out)
    assert resumed["meta"]["seed"] == 6 + chosen and resumed["population"] == record
    assert resumed["iteration"] >= meta["iteration"]


@pytest.mark.slow
def test_a_population_stopped_by_sigterm_resumes(tmp_path):
    out = tmp_path / "p.npz"
    cmd = [sys.executable, "-m", "minigrad.l2l", "train", *SMALL, "--seed", "1",
           "--population", "2", "--population-minutes", "1", "--minutes", "2",
           "--out", str(out)]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    logs = [population.member_log(out.with_suffix(".log"), i) for i in range(2)]
    deadline = time.time() + 120
    while not all(p.is_file() and "iteration 2 " in p.read_text() for p in logs):
        assert time.time() < deadline and proc.poll() is None, "the members did not start"
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "--resume continues the population" in err and not out.exists()
    stopped = [load_checkpoint(population.member_path(out, i))[1] for i in range(2)]
    assert all(m["status"] == "interrupted" and m["iteration"] >= 2 for m in stopped)

    # resumed without --seed: the members' checkpoints say which training seed they belong to
    resumed = subprocess.run([sys.executable, "-m", "minigrad.l2l", "train", *SMALL,
                              "--population", "2", "--population-minutes", "0.05",
                              "--minutes", "0.1", "--out", str(out), "--resume"],
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    members = [load_checkpoint(population.member_path(out, i))[1] for i in range(2)]
    assert all(m["iteration"] >= s["iteration"] for m, s in zip(members, stopped))
    assert [m["meta"]["seed"] for m in members] == [2, 3]
    _, meta = load_checkpoint(out)
    assert meta["population"]["seed"] == 1
    assert meta["population"]["chosen"] == int(np.argmin(
        [m["validation"]["best"][1] for m in members]))


@pytest.mark.slow
def test_a_recipes_population_starts_for_half_of_a_budget_only(tmp_path, capsys, monkeypatch):
    from dataclasses import replace

    from minigrad.l2l.recipes import RECIPES

    assert RECIPES["paper"].population == 1
    # the fast recipe with a population of two (its members are one run each, whatever the
    # recipe says: they run in fresh processes that see the unpatched recipe)
    monkeypatch.setitem(RECIPES, "fast", replace(RECIPES["fast"], population=2))
    fast = ["train", "--problem", "quadratic", "--recipe", "fast", "--steps", "4", "--unroll",
            "2", "--no-progress", "--val-every", "2", "--val-runs", "2", "--seed", "1"]
    out = tmp_path / "f.npz"
    assert cli.main([*fast, "--minutes", "0.12", "--out", str(out)]) == 0
    record = load_checkpoint(out)[1]["population"]
    assert record["minutes"] == pytest.approx(0.06) and len(record["members"]) == 2
    assert "population: 2 members (seeds 2, 3)" in capsys.readouterr().err
    # without a budget, or with --population 1, one run trains
    one = tmp_path / "one.npz"
    assert cli.main([*fast, "--meta-iters", "1", "--out", str(one)]) == 0
    assert "population start needs a budget (--minutes); one run trains" in \
        capsys.readouterr().err
    plain = tmp_path / "plain.npz"
    assert cli.main([*fast, "--minutes", "0.02", "--population", "1", "--out",
                     str(plain)]) == 0
    for path in (one, plain):
        assert "population" not in load_checkpoint(path)[1]
        assert not population.member_path(path, 0).exists()
