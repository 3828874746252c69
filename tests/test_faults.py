"""Issue 29, "nothing lost under faults": each fault a long run can meet (read-only folders, a
full disk, signals during validation and saves, two runs on one file, damaged checkpoints,
settings that cannot apply, requests too large for memory), injected on the quadratic problem
in a temporary folder, without root. Damaged IDX files are tested in ``test_data_idx.py``."""

import numpy as np
import pytest

import minigrad.l2l.cli as cli
from minigrad.nn import load_checkpoint, save_checkpoint

SMALL = ["--problem", "quadratic", "--steps", "4", "--unroll", "2", "--no-progress"]


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
