"""Issue 29, "nothing lost under faults": each fault a long run can meet (read-only folders, a
full disk, signals during validation and saves, two runs on one file, damaged checkpoints,
settings that cannot apply, requests too large for memory), injected on the quadratic problem
in a temporary folder, without root. Damaged IDX files are tested in ``test_data_idx.py``."""

import errno
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

import minigrad.l2l.cli as cli
import minigrad.l2l.meta as meta_module
import minigrad.l2l.sizes as sizes
import minigrad.l2l.training as training_module
from minigrad.nn import load_checkpoint, save_checkpoint

SMALL = ["--problem", "quadratic", "--steps", "4", "--unroll", "2", "--no-progress"]


@pytest.fixture(autouse=True)
def ctrl_c_delivered():
    """Python's own Ctrl-C handler for each test: pytest started in a background job ignores
    SIGINT, and a run leaves an ignored SIGINT ignored (tested with it delivered)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def train(out, *extra):
    return cli.main(["train", *SMALL, "--out", str(out), *extra])


def error_of(capsys, argv, code=2):
    assert cli.main(argv) == code
    return capsys.readouterr().err


def damaged(tmp_path, source, name, edit):
    """A copy of checkpoint ``source`` as ``name`` after ``edit(arrays, meta)``."""
    arrays, meta = load_checkpoint(source)
    edit(arrays, meta)
    save_checkpoint(tmp_path / name, arrays, meta)
    return tmp_path / name


# ----------------------------------------------------------------- 4. checkpoints validated on load
def test_missing_optimizer_metadata_or_state_is_a_clear_error(tmp_path, capsys):
    source = tmp_path / "good.npz"
    assert train(source, "--meta-iters", "3") == 0
    capsys.readouterr()

    bad = damaged(tmp_path, source, "no-meta.npz", lambda a, m: m.pop("optimizer"))
    err = error_of(capsys, ["train", *SMALL, "--out", str(bad), "--resume", "--meta-iters", "5"])
    assert f"{bad}: the metadata has no 'optimizer' entry" in err, err
    assert "Traceback" not in err

    def drop_adam(arrays, meta):
        for k in [k for k in arrays if k.startswith("optimizer.")]:
            del arrays[k]

    bad = damaged(tmp_path, source, "no-adam.npz", drop_adam)
    err = error_of(capsys, ["train", *SMALL, "--out", str(bad), "--resume", "--meta-iters", "5"])
    assert f"{bad}: holds no meta-optimizer state" in err and "--reset-optimizer-state" in err
    assert load_checkpoint(bad)[1]["iteration"] == 3  # untouched

    bad2 = damaged(tmp_path, source, "half-adam.npz",
                   lambda a, m: a.pop("optimizer.1.exp_avg_sq"))
    err = error_of(capsys, ["train", *SMALL, "--out", str(bad2), "--resume", "--meta-iters", "5"])
    assert "missing optimizer.1.exp_avg_sq" in err, err

    bad3 = damaged(tmp_path, source, "no-iteration.npz", lambda a, m: m.pop("iteration"))
    err = error_of(capsys, ["train", *SMALL, "--out", str(bad3), "--resume", "--meta-iters", "5"])
    assert f"{bad3}: the metadata has no 'iteration' entry" in err, err
    bad4 = damaged(tmp_path, source, "no-bias.npz", lambda a, m: a.pop("net.lstm.bias_hh_l0"))
    err = error_of(capsys, ["evaluate", "--problem", "quadratic", "--checkpoint", str(bad4),
                            "--runs", "2", "--steps", "2", "--optimizers", "lstm"])
    assert f"{bad4}: does not fit" in err and "missing: ['lstm.bias_hh_l0']" in err, err

    # asked for: Adam starts afresh, and the log says so
    assert train(bad, "--resume", "--meta-iters", "5", "--reset-optimizer-state") == 0
    arrays, meta = load_checkpoint(bad)
    assert meta["iteration"] == 5 and int(arrays["optimizer.0.step"]) == 2 * 2  # 2 its x 2 unrolls
    assert "# --reset-optimizer-state" in (tmp_path / "no-adam.log").read_text()


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_weights_are_refused_naming_the_array(tmp_path, capsys, value):
    source = tmp_path / "good.npz"
    assert train(source, "--meta-iters", "2") == 0
    capsys.readouterr()
    name = "net.lstm.weight_ih_l0"

    def poison(arrays, meta):
        arrays[name] = arrays[name].copy()
        arrays[name].flat[3] = value

    bad = damaged(tmp_path, source, "bad.npz", poison)
    err = error_of(capsys, ["evaluate", "--problem", "quadratic", "--checkpoint", str(bad),
                            "--runs", "2", "--steps", "2", "--optimizers", "lstm"])
    assert f"{bad}: array '{name}' holds 1 non-finite value(s)" in err, err
    err = error_of(capsys, ["train", *SMALL, "--out", str(bad), "--resume", "--meta-iters", "4"])
    assert f"array '{name}'" in err
    assert load_checkpoint(bad)[1]["iteration"] == 2  # nothing trained on, nothing saved back


# ----------------------------------------------------------------- 5. settings recorded as used
def test_unroll_longer_than_the_horizon_is_clipped_and_recorded(tmp_path, capsys):
    out = tmp_path / "u.npz"
    assert cli.main(["train", "--problem", "quadratic", "--steps", "3", "--unroll", "30",
                     "--meta-iters", "1", "--no-progress", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning: --unroll 30 is longer than the horizon --steps 3" in err, err
    assert load_checkpoint(out)[1]["meta"]["unroll"] == 3
    same = tmp_path / "same.npz"
    assert cli.main(["train", "--problem", "quadratic", "--steps", "3", "--unroll", "3",
                     "--meta-iters", "1", "--no-progress", "--out", str(same)]) == 0
    np.testing.assert_array_equal(load_checkpoint(out)[0]["net.lstm.weight_ih_l0"],
                                  load_checkpoint(same)[0]["net.lstm.weight_ih_l0"])


# ----------------------------------------------------------------- 1. fail before the work
@pytest.fixture
def unwritable_folder(tmp_path):
    """A folder where no file can be created: a read-only temporary folder, or, where
    permissions do not stop this user (root), /sys, which refuses new files to everyone."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    candidates = [folder, Path("/sys")]
    try:
        for candidate in candidates:
            try:
                (candidate / "probe").touch()
            except OSError:
                yield candidate
                return
            (candidate / "probe").unlink()
        pytest.skip("this OS lets this user create files in a read-only folder and in /sys: "
                    "no unwritable folder to test with")
    finally:
        folder.chmod(0o755)


def test_unwritable_out_log_or_json_is_refused_before_any_work(tmp_path, unwritable_folder,
                                                               capsys, monkeypatch):
    def no_training(self):
        raise AssertionError("trained although --out cannot be written")

    monkeypatch.setattr(meta_module.MetaTrainer, "train_iteration", no_training)
    bad = unwritable_folder / "q.npz"
    err = error_of(capsys, ["train", *SMALL, "--out", str(bad), "--meta-iters", "2"])
    assert f"--out {bad}: cannot write {bad}" in err and "nothing was computed" in err, err
    err = error_of(capsys, ["train", *SMALL, "--out", str(tmp_path / "ok.npz"),
                            "--log", str(unwritable_folder / "q.log")])
    assert f"--log {unwritable_folder / 'q.log'}: cannot write" in err, err
    assert not (tmp_path / "ok.npz").exists()

    def no_protocol(*args, **kwargs):
        raise AssertionError("evaluated although --json cannot be written")

    monkeypatch.setattr(cli, "run_protocol", no_protocol)
    err = error_of(capsys, ["evaluate", "--problem", "quadratic", "--optimizers", "adam",
                            "--json", str(unwritable_folder / "r.json")])
    assert f"--json {unwritable_folder / 'r.json'}: cannot write" in err, err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="this OS has no /dev/full")
def test_log_on_a_full_device_is_said_once_and_training_goes_on(tmp_path, capsys):
    """--log /dev/full: every write fails with ENOSPC (it used to end the run with a
    traceback): training goes on, the failure is said once, the checkpoint is complete."""
    out = tmp_path / "f.npz"
    assert train(out, "--meta-iters", "2", "--log", "/dev/full") == 0
    err = capsys.readouterr().err
    assert err.count("cannot append to the log /dev/full") == 1 and "Traceback" not in err, err
    assert load_checkpoint(out)[1]["iteration"] == 2
    # a device is probed by opening it, not by creating a file beside it in /dev
    assert train(tmp_path / "e.npz", "--meta-iters", "1", "--log", "/dev/null") == 0


# ----------------------------------------------------------------- 1. a full disk at save
def disk_full_for(folder, real):
    """A write_checkpoint that fails as a full disk does for files in ``folder``."""
    def write(path, *args, **kwargs):
        if Path(path).parent == folder:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, *args, **kwargs)
    return write


def test_full_disk_at_save_keeps_training_retries_and_rescues(tmp_path, capsys, monkeypatch):
    full = tmp_path / "full"
    full.mkdir()
    out = full / "q.npz"
    monkeypatch.setattr(training_module, "write_checkpoint",
                        disk_full_for(full, training_module.write_checkpoint))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    assert train(out, "--meta-iters", "3", "--checkpoint-every", "1e-9") == 1
    err = capsys.readouterr().err
    # said at each periodic save and at the end: retried every time
    assert err.count(f"warning: could not save the checkpoint to {out}") == 4, err
    rescued = tmp_path / "tmp" / f"q.rescued-{os.getpid()}.npz"
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"error: could not write {out} (No space left on device); saved the "
                           f"state after 3 meta-iterations (done) to {rescued}"), last
    assert not out.exists()
    arrays, meta = load_checkpoint(rescued)  # nothing trained is lost
    assert meta["iteration"] == 3 and meta["status"] == "done"
    assert [f[0] for f in meta["save_failures"]] == [1, 2, 3, 3]
    log = (full / "q.log").read_text()
    assert log.count("# save failed at iteration") == 4 and "fallback file" in log
    # the rescued file resumes where --out should have been
    monkeypatch.undo()
    rescued.rename(out)
    assert train(out, "--resume", "--meta-iters", "4") == 0


def test_a_save_that_fails_once_is_retried_at_the_next_interval(tmp_path, capsys, monkeypatch):
    out = tmp_path / "q.npz"
    real, calls = training_module.write_checkpoint, []

    def fail_first(path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 1:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(training_module, "write_checkpoint", fail_first)
    assert train(out, "--meta-iters", "2", "--checkpoint-every", "1e-9") == 0
    _, meta = load_checkpoint(out)
    assert meta["iteration"] == 2 and meta["save_failures"][0][0] == 1
    assert "# save failed at iteration 1" in (tmp_path / "q.log").read_text()


# ----------------------------------------------------------------- 2. signals
def test_stop_during_validation_resumes_to_the_same_history(tmp_path, capsys, monkeypatch):
    full, part = tmp_path / "full.npz", tmp_path / "part.npz"
    settings = ["--val-every", "2", "--val-runs", "2", "--meta-iters", "4"]
    assert train(full, *settings) == 0
    real = training_module.validation_losses

    def interrupted(*args, **kwargs):
        signal.raise_signal(signal.SIGINT)  # a Ctrl-C in the first validation
        return real(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(training_module, "validation_losses", interrupted)
        assert train(part, *settings) == 130
    _, meta = load_checkpoint(part)
    assert meta["iteration"] == 2 and meta["validation"]["history"] == []
    assert "val interrupted" in (tmp_path / "part.log").read_text()
    assert train(part, "--resume") == 0
    _, meta_full = load_checkpoint(full)
    arrays, meta = load_checkpoint(part)
    assert meta["validation"] == meta_full["validation"]
    assert [h[0] for h in meta["validation"]["history"]] == [2, 4]
    np.testing.assert_array_equal(arrays["best.lstm.weight_ih_l0"],
                                  load_checkpoint(full)[0]["best.lstm.weight_ih_l0"])


@pytest.mark.parametrize("first, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_second_signal_during_the_save_does_not_cut_it(tmp_path, capsys, monkeypatch, first,
                                                         code):
    out = tmp_path / "s.npz"
    real_unroll, real_write = meta_module.unroll, training_module.write_checkpoint
    calls = {"unroll": 0, "write": 0}

    def stop_in_second_iteration(*args, **kwargs):
        calls["unroll"] += 1
        if calls["unroll"] == 3:
            signal.raise_signal(first)
        return real_unroll(*args, **kwargs)

    def write_with_signals(path, *args, **kwargs):
        calls["write"] += 1
        signal.raise_signal(signal.SIGINT)  # Ctrl-C again while the file is written
        result = real_write(path, *args, **kwargs)
        signal.raise_signal(signal.SIGTERM)
        return result

    monkeypatch.setattr(meta_module, "unroll", stop_in_second_iteration)
    monkeypatch.setattr(training_module, "write_checkpoint", write_with_signals)
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    assert train(out, "--meta-iters", "3") == code
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    err = capsys.readouterr().err
    assert "Traceback" not in err and "continue with --resume" in err.strip().splitlines()[-1]
    _, meta = load_checkpoint(out)
    assert meta["iteration"] == 1 and meta["status"] == "interrupted" and calls["write"] == 1
    assert not list(tmp_path.glob(".*.part"))


def test_signal_during_a_periodic_save_waits_for_the_file(tmp_path, capsys, monkeypatch):
    out = tmp_path / "p.npz"
    real_write = training_module.write_checkpoint
    written = []

    def write_then_signal(path, *args, **kwargs):
        if not written:
            signal.raise_signal(signal.SIGINT)  # Ctrl-C during the first periodic save
        written.append(real_write(path, *args, **kwargs))

    monkeypatch.setattr(training_module, "write_checkpoint", write_then_signal)
    assert train(out, "--meta-iters", "3", "--checkpoint-every", "1e-9") == 130
    _, meta = load_checkpoint(out)
    assert len(written) == 2 and meta["iteration"] == 1 and meta["status"] == "interrupted"


def test_two_real_ctrl_c_5_ms_apart_save_and_exit_130(tmp_path):
    out, log = tmp_path / "r.npz", tmp_path / "r.log"
    proc = subprocess.Popen([sys.executable, "-m", "minigrad.l2l", "train", *SMALL,
                             "--meta-iters", "3000", "--checkpoint-every", "1e-9",
                             "--out", str(out)], stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
                            # a pytest run in a background job ignores SIGINT; its child must not
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and "iteration 3 " not in (
            log.read_text() if log.exists() else ""):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130 and "Traceback" not in err, err
    _, meta = load_checkpoint(out)
    assert meta["status"] == "interrupted" and meta["iteration"] >= 3
    assert f"saved {meta['iteration']} complete meta-iterations" in err.strip().splitlines()[-1]


# ----------------------------------------------------------------- 3. one writer per run
def test_a_second_train_on_the_same_out_is_refused_naming_the_first(tmp_path, capsys,
                                                                    monkeypatch):
    out = tmp_path / "one.npz"
    real, seen = meta_module.MetaTrainer.train_iteration, {}

    def second_run_meanwhile(self):
        if self.iteration == 1 and not seen:
            seen["code"] = train(out, "--meta-iters", "2", "--force")
            seen["err"] = capsys.readouterr().err
        return real(self)

    monkeypatch.setattr(meta_module.MetaTrainer, "train_iteration", second_run_meanwhile)
    assert train(out, "--meta-iters", "3") == 0
    assert seen["code"] == 2, seen
    assert (f"--out {out}: another train is writing to it (pid {os.getpid()}, started "
            in seen["err"]), seen["err"]
    assert load_checkpoint(out)[1]["iteration"] == 3
    log = (tmp_path / "one.log").read_text()
    assert log.count("# start") == 1
    assert not (tmp_path / ".one.npz.lock").exists()  # released and removed at the end
    assert train(out, "--resume", "--meta-iters", "4") == 0
    # a lock file left by a crashed run (no process holds its lock) blocks nothing
    (tmp_path / ".one.npz.lock").write_text("pid 1, started long ago\n")
    assert train(out, "--resume", "--meta-iters", "5") == 0


# ----------------------------------------------------------------- 6. sizes checked up front
def test_evaluate_and_reproduce_refuse_requests_that_cannot_fit(tmp_path, capsys, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("work started on a request that cannot fit")

    monkeypatch.setattr(cli, "run_protocol", no_work)
    err = error_of(capsys, ["evaluate", "--problem", "quadratic", "--optimizers", "adam",
                            "--runs", "1000000000"])
    assert "evaluate --steps 100 --runs 1000000000 over 10 learning rates needs about" in err
    assert "TiB of memory, more than the" in err and "Lower --runs, --val-runs or --steps" in err
    # the estimate is checked against the memory available: 1 MiB refuses an ordinary request
    monkeypatch.setattr(sizes, "available_memory", lambda: 2**20)
    err = error_of(capsys, ["evaluate", "--problem", "quadratic", "--optimizers", "adam",
                            "--runs", "200", "--steps", "100"])
    assert "more than the 1 MiB available" in err, err
    import minigrad.l2l.reproduce as reproduce_module

    monkeypatch.setattr(reproduce_module, "reproduce", no_work)
    monkeypatch.setattr(sizes, "available_memory", lambda: 2**30)
    err = error_of(capsys, ["reproduce", "--quick", "--workers", "100", "--out",
                            str(tmp_path / "r")])
    assert "reproduce with 8 experiment(s) and 100 worker process(es) needs about" in err, err
    assert "more than the 1 GiB available" in err and "Lower --workers" in err
    assert not (tmp_path / "r").exists()


def test_size_estimate_grows_with_every_flag():
    base = dict(steps=100, runs=20, val_runs=20, baselines=4, grid=10)
    size = sizes.protocol_bytes(**base)
    assert size == (4 * 10 * 20 + 5 * 20) * 101 * sizes.BYTES_PER_LOSS
    for key in base:
        assert sizes.protocol_bytes(**{**base, key: base[key] * 2}) > size, key
    assert sizes.available_memory() is None or sizes.available_memory() > 0
