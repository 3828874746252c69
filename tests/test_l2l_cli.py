"""``python -m minigrad.l2l`` end to end in a small configuration: train, interrupt, resume
(bit-identical to an uninterrupted run), evaluate, and the errors raised before any work."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest

import minigrad.l2l.checkpoints as ckpt_module
import minigrad.l2l.cli as cli
import minigrad.l2l.meta as meta_module
import minigrad.l2l.training as training_module
from minigrad.l2l.paper import PAPER
from minigrad.nn import load_checkpoint, save_checkpoint

SMALL = ["--problem", "quadratic", "--steps", "4", "--unroll", "2", "--no-progress"]


def train(out, *extra):
    return cli.main(["train", *SMALL, "--out", str(out), *extra])


def same_training_state(a, b):
    arrays_a, meta_a = load_checkpoint(a)
    arrays_b, meta_b = load_checkpoint(b)
    assert sorted(arrays_a) == sorted(arrays_b)
    for name in arrays_a:
        np.testing.assert_array_equal(arrays_a[name], arrays_b[name], err_msg=name)
    for key in ("iteration", "curve", "final_losses", "net", "meta", "problem", "optimizer"):
        assert meta_a[key] == meta_b[key], key


def test_train_interrupt_resume_equals_uninterrupted(tmp_path, monkeypatch, capsys):
    full, part = tmp_path / "full.npz", tmp_path / "part.npz"
    assert train(full, "--meta-iters", "4") == 0

    calls = {"n": 0}
    real = meta_module.unroll

    def interrupt_in_third_iteration(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 6:  # 2 unrolls per iteration: the second unroll of iteration 3
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(meta_module, "unroll", interrupt_in_third_iteration)
    assert train(part, "--meta-iters", "4") == 130
    assert "continue with --resume" in capsys.readouterr().err
    _, meta = load_checkpoint(part)
    assert meta["iteration"] == 2 and meta["status"] == "interrupted"
    monkeypatch.setattr(meta_module, "unroll", real)

    assert train(part, "--meta-iters", "4", "--resume") == 0
    same_training_state(full, part)
    arrays, meta = load_checkpoint(part)
    assert meta["status"] == "done" and len(meta["curve"]) == 4
    assert meta["net"]["preprocess"] == "identity" and meta["net"]["output_scale"] == 1.0
    assert "optimizer.0.exp_avg" in arrays and "net.lstm.weight_ih_l0" in arrays
    assert meta["command"].startswith("python -m minigrad.l2l train")


def test_interrupt_and_resume_keep_validation_best_weights_and_adam_state(tmp_path, monkeypatch,
                                                                          capsys):
    """Ctrl-C in the middle of a validated run, then `--resume` with no settings repeated:
    the same weights, best weights, Adam state, curves and validation history as a run that
    never stopped (the resumed run used to drop validation)."""
    full, part = tmp_path / "full.npz", tmp_path / "part.npz"
    settings = ["--val-every", "2", "--val-runs", "2", "--checkpoint-every", "1e-9"]
    assert train(full, "--meta-iters", "8", *settings) == 0

    calls = {"n": 0}
    real = meta_module.unroll

    def interrupt_in_sixth_iteration(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 12:  # the second unroll of meta-iteration 6
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(meta_module, "unroll", interrupt_in_sixth_iteration)
        assert train(part, "--meta-iters", "8", *settings) == 130
    _, meta = load_checkpoint(part)
    assert meta["iteration"] == 5 and [h[0] for h in meta["validation"]["history"]] == [2, 4]
    capsys.readouterr()

    assert train(part, "--resume") == 0  # every setting from the checkpoint
    err = capsys.readouterr().err
    assert "resuming with the checkpoint's meta-iters 8, val-every 2, val-runs 2" in err, err
    same_training_state(full, part)
    arrays_full, meta_full = load_checkpoint(full)
    arrays_part, meta_part = load_checkpoint(part)
    assert meta_part["validation"] == meta_full["validation"]
    assert [h[0] for h in meta_part["validation"]["history"]] == [2, 4, 6, 8]
    assert any(k.startswith("best.") for k in arrays_part)
    assert meta_part["run"] == meta_full["run"]
    log = (tmp_path / "part.log").read_text().splitlines()
    assert sum(line.startswith("iteration ") for line in log) == 8
    assert any(line.startswith("# interrupted") for line in log)

    # a flag still overrides the checkpoint, and the run says so
    assert train(part, "--resume", "--meta-iters", "9", "--val-runs", "3") == 0
    err = capsys.readouterr().err
    assert "changed by flags: --meta-iters 9 (checkpoint: 8), --val-runs 3 (checkpoint: 2)" in err
    _, meta = load_checkpoint(part)
    assert meta["iteration"] == 9 and meta["run"]["val_runs"] == 3


def test_periodic_checkpoints_validation_and_evaluate(tmp_path, monkeypatch):
    out = tmp_path / "q.npz"
    saves = []
    real_write = training_module.write_checkpoint
    monkeypatch.setattr(training_module, "write_checkpoint",
                        lambda *a, **k: saves.append(1) or real_write(*a, **k))
    assert train(out, "--meta-iters", "3", "--checkpoint-every", "1e-9", "--val-every", "1",
                 "--val-runs", "16") == 0
    assert len(saves) == 4  # after every iteration, then the final one
    arrays, meta = load_checkpoint(out)
    history = meta["validation"]["history"]
    assert [h[0] for h in history] == [1, 2, 3]
    assert "best.lstm.weight_ih_l0" in arrays
    assert meta["validation"]["best"] == min(history, key=lambda h: h[1])

    js, png = tmp_path / "r.json", tmp_path / "r.png"
    rc = cli.main(["evaluate", "--problem", "quadratic", "--checkpoint", str(out), "--steps",
                   "5", "--runs", "20", "--val-runs", "16", "--lr-min", "0.01", "--lr-max",
                   "1", "--seed", "3", "--json", str(js), "--plot", str(png), "--no-progress"])
    assert rc == 0
    result = json.loads(js.read_text())
    assert {k: result[k] for k in ("problem", "optimizee", "steps", "runs", "seed")} == {
        "problem": "quadratic", "optimizee": None, "steps": 5, "runs": 20, "seed": 3}
    for name in ("lstm", "sgd", "nag", "rmsprop", "adam"):
        entry = result[name]
        assert len(entry["curve"]) == 6 and len(entry["ci95"]) == 6
        assert entry["final_loss"] is not None and entry["summed_loss"] is not None
        assert ("lr" in entry) == (name != "lstm")
    assert result["checkpoint"]["iteration"] == 3
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_evaluate_without_json_prints_a_rounded_table(tmp_path, monkeypatch, capsys):
    out = tmp_path / "q.npz"
    assert train(out, "--meta-iters", "2") == 0
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)
    rc = cli.main(["evaluate", "--problem", "quadratic", "--checkpoint", str(out), "--steps",
                   "5", "--runs", "4", "--lr-min", "0.01", "--lr-max", "1"])
    assert rc == 0
    captured = capsys.readouterr()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q.log", "q.npz"]  # nothing written
    table = captured.out
    assert "optimizer" in table and "tuned lr" in table and "final loss ± 95% CI" in table
    for name in ("LSTM (learned)", "SGD", "NAG", "RMSprop", "Adam"):
        assert any(line.startswith(name) for line in table.splitlines()), name
    assert "paired over the same 4 test runs, learned - " in table
    assert "tune sgd lr=0.01" in captured.err  # progress on stderr
    # every number rounded (no 0.006366837816312909), progress included
    assert not re.search(r"\d\.\d{6,}", captured.out + captured.err), captured


def test_evaluation_table_marks_rates_at_the_edge_of_the_grid():
    def entry(final, half, lr=None):
        e = {"final_loss": final, "final_ci95": half}
        return e if lr is None else {**e, "lr": lr}

    result = {"steps": 100, "runs": 50, "val_runs": 50, "lr_grid": [0.0001, 0.001, 0.01, 0.1, 1, 3],
              "optimizers": ["lstm", "sgd", "nag", "adam"],
              "lstm": entry(0.006366837816312909, 0.0012345678),
              "sgd": entry(0.2512345, 0.01, lr=3.0), "nag": entry(0.0583, 0.0073, lr=1.0),
              "adam": entry(None, None, lr=0.0001),
              "paired": {"baseline": "nag", "runs": 50, "mean_diff": -0.0494321,
                         "diff_ci95": [-0.05621, -0.04261], "wins": 1.0, "verdict": "a"}}
    lines = cli.evaluation_table(result).splitlines()
    rows = {line.split("  ")[0]: line for line in lines}
    assert rows["LSTM (learned)"].split()[-3:] == ["0.00637", "±", "0.0012"]
    assert "3 *" in rows["SGD"] and "1 *" not in rows["NAG"] and "0.0001 *" in rows["Adam"]
    assert rows["Adam"].endswith("diverged")
    assert any(line.startswith("* at the edge of the grid (0.0001 ... 3)") for line in lines)
    assert lines[-1].endswith("mean -0.0494, 95% interval [-0.0562, -0.0426]; learned lower "
                              "in 100% of runs: the learned optimizer is lower (better)")
    result["sgd"]["lr"] = 1.0
    result["adam"]["lr"] = 0.001
    assert "*" not in cli.evaluation_table(result)


def test_progress_bar_names_the_training_and_validation_losses(tmp_path, capsys):
    out = tmp_path / "p.npz"
    argv = ["train", *[a for a in SMALL if a != "--no-progress"], "--out", str(out),
            "--meta-iters", "3", "--val-every", "2", "--val-runs", "2"]
    assert cli.main(argv) == 0
    bar = capsys.readouterr().err.replace("\r", "\n").splitlines()
    last = [line for line in bar if "3/3" in line][-1]
    _, meta = load_checkpoint(out)
    # a paper quadratic sums its batch of functions; the bar shows one function's loss
    train_loss = np.mean(meta["curve"]) / PAPER.quadratic_batch
    val_it, val = meta["validation"]["history"][-1]
    assert val_it == 2
    assert f"train loss {train_loss:.4g} (last 3), val loss {val:.4g} (at 2)" in last, last
    assert "running" not in last and "meta_loss" not in last


def test_divergence_saves_the_last_good_weights(tmp_path, monkeypatch, capsys):
    out = tmp_path / "d.npz"
    real = meta_module.MetaTrainer.train_iteration

    def diverge_at_third(self):
        if self.iteration == 2:
            raise meta_module.MetaTrainingDiverged("meta-training stopped at iteration 3")
        return real(self)

    monkeypatch.setattr(meta_module.MetaTrainer, "train_iteration", diverge_at_third)
    assert train(out, "--meta-iters", "5") == 1
    assert "iteration 3" in capsys.readouterr().err
    _, meta = load_checkpoint(out)
    assert meta["iteration"] == 2 and meta["status"].startswith("diverged")


def expect_error(capsys, argv, message):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err, err


def test_errors_before_any_work(tmp_path, monkeypatch, capsys):
    js = str(tmp_path / "r.json")
    expect_error(capsys, ["train", "--problem", "cifar", "--out", str(tmp_path / "x.npz")],
                 "unknown problem 'cifar'")
    expect_error(capsys, ["evaluate", "--problem", "mnist", "--optimizee", "tanh-20",
                          "--optimizers", "adam", "--json", js], "unknown optimizee 'tanh-20'")
    expect_error(capsys, ["evaluate", "--problem", "quadratic", "--checkpoint",
                          str(tmp_path / "missing.npz"), "--json", js], "no such checkpoint")
    monkeypatch.setattr(ckpt_module, "PRETRAINED_DIR", tmp_path / "none")
    expect_error(capsys, ["evaluate", "--problem", "quadratic", "--checkpoint", "pretrained",
                          "--json", js], "no pretrained checkpoint shipped yet for quadratic")
    expect_error(capsys, ["evaluate", "--problem", "quadratic", "--json", js],
                 "--checkpoint PATH|pretrained is needed")

    out = tmp_path / "q.npz"
    assert train(out, "--meta-iters", "1") == 0
    expect_error(capsys, ["evaluate", "--problem", "mnist", "--checkpoint", str(out),
                          "--json", js], "trained on the 'quadratic' problem")
    expect_error(capsys, ["train", *SMALL, "--out", str(out)], "already exists")
    expect_error(capsys, ["train", *SMALL, "--out", str(out), "--resume", "--hidden-size",
                          "10"], "--hidden-size 10 (checkpoint: 20)")
    expect_error(capsys, ["train", *SMALL, "--out", str(tmp_path / "new.npz"), "--resume"],
                 "no checkpoint at")
    arrays, meta = load_checkpoint(out)
    meta["net"]["hidden_size"] = 10  # a file whose weights do not fit its configuration
    save_checkpoint(tmp_path / "bad.npz", arrays, meta)
    expect_error(capsys, ["evaluate", "--problem", "quadratic", "--checkpoint",
                          str(tmp_path / "bad.npz"), "--json", js], "does not fit")
    save_checkpoint(tmp_path / "other.npz", {"w": np.zeros(2)}, {"hello": 1})
    expect_error(capsys, ["evaluate", "--problem", "quadratic", "--checkpoint",
                          str(tmp_path / "other.npz"), "--json", js],
                 "not a learned-optimizer checkpoint")
    assert not (tmp_path / "r.json").exists()


def test_python_dash_m_entry_point(tmp_path):
    run = subprocess.run([sys.executable, "-m", "minigrad.l2l", "train", "--problem", "nope"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 2 and "unknown problem 'nope'" in run.stderr
    run = subprocess.run([sys.executable, "-m", "minigrad.l2l", "evaluate", "--help"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0 and "--checkpoint" in run.stdout


@pytest.mark.slow
def test_mnist_train_and_evaluate_tiny(tmp_path):
    out, js = tmp_path / "m.npz", tmp_path / "m.json"
    assert cli.main(["train", "--problem", "mnist", "--steps", "2", "--unroll", "1",
                     "--meta-iters", "1", "--out", str(out), "--no-progress"]) == 0
    _, meta = load_checkpoint(out)
    assert meta["net"]["preprocess"] == "logsign" and meta["net"]["output_scale"] == 0.1
    assert meta["data"]["mnist_5k_sha256"]
    assert cli.main(["evaluate", "--problem", "mnist", "--checkpoint", str(out), "--optimizee",
                     "relu-20", "--steps", "2", "--runs", "2", "--optimizers", "lstm,adam",
                     "--lr-min", "0.01", "--lr-max", "0.03", "--json", str(js),
                     "--no-progress"]) == 0
    result = json.loads(js.read_text())
    assert result["optimizee"] == "relu-20" and result["problem_config"]["optimizee"] == "relu-20"
    assert set(result["optimizers"]) == {"lstm", "adam"} and result["adam"]["lr"] in (0.01, 0.03)


def test_sigterm_saves_like_ctrl_c(tmp_path, monkeypatch):
    import signal

    out = tmp_path / "t.npz"
    calls = {"n": 0}
    real = meta_module.unroll

    def terminate_in_second_iteration(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            signal.raise_signal(signal.SIGTERM)
        return real(*args, **kwargs)

    monkeypatch.setattr(meta_module, "unroll", terminate_in_second_iteration)
    before = signal.getsignal(signal.SIGTERM)
    assert train(out, "--meta-iters", "3") == 143  # 128 + SIGTERM, as a shell reports it
    assert signal.getsignal(signal.SIGTERM) == before  # the handler is put back
    _, meta = load_checkpoint(out)
    assert meta["iteration"] == 1 and meta["status"] == "interrupted"


def test_checkpoints_written_before_the_redesign_still_work(tmp_path, capsys):
    """The shipped quadratic optimizer was written before the redesign (its identity-
    preprocessing net still records an exponent; no run settings stored): it loads, as does
    the MNIST one written after it, and a training checkpoint of the old format resumes with
    its validation settings."""
    from minigrad.l2l.checkpoints import PRETRAINED_DIR, load_learned_optimizer

    net, meta = load_learned_optimizer("pretrained", "quadratic")
    assert meta["weights_used"] == "best" and "run" not in meta
    net, meta = load_learned_optimizer("pretrained", "mnist")
    assert meta["weights_used"] == "best" and "run" in meta
    assert "p" in load_checkpoint(PRETRAINED_DIR / "quadratic.npz")[1]["net"]
    # a training checkpoint in the old format: validation settings only under "validation"
    out = tmp_path / "old.npz"
    assert train(out, "--meta-iters", "2", "--val-every", "1", "--val-runs", "2") == 0
    arrays, meta = load_checkpoint(out)
    meta.pop("run")
    meta["net"]["p"] = 10.0  # as the old code stored it for the identity preprocessing
    save_checkpoint(out, arrays, meta)
    capsys.readouterr()
    assert train(out, "--resume", "--meta-iters", "3") == 0
    assert "val-every 1, val-runs 2" in capsys.readouterr().err
    _, meta = load_checkpoint(out)
    assert [h[0] for h in meta["validation"]["history"]] == [1, 2, 3]
