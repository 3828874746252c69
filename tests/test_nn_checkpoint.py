"""Checkpoints: round trip, atomic writes, and every kind of bad file."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest

from minigrad import nn, optim


def _model():
    return nn.LSTM(2, 4, num_layers=2, forget_bias=1.0, seed=0)


def test_round_trip_with_metadata(tmp_path):
    model = _model()
    path = tmp_path / "ckpt.npz"
    meta = {"epoch": 3, "lr": 1e-3, "note": "a-é", "sizes": [20, 20], "best": None}
    assert nn.save_checkpoint(path, model.state_dict(), meta) == path
    state, loaded_meta = nn.load_checkpoint(path)
    assert loaded_meta == meta
    assert list(state) == [n for n, _ in model.named_parameters()]
    other = nn.LSTM(2, 4, num_layers=2, seed=99)
    other.load_state_dict(state)
    for (name, a), b in zip(model.named_parameters(), other.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
        assert b.dtype == np.float32
    # The file is a plain npz: it opens without pickle and names its arrays.
    with np.load(path, allow_pickle=False) as z:
        assert "weight_ih_l0" in z.files and "__metadata__" in z.files


def test_load_into_module_and_no_metadata(tmp_path):
    model = _model()
    path = tmp_path / "m.npz"
    nn.save_checkpoint(path, model.state_dict())
    other = nn.LSTM(2, 4, num_layers=2, seed=5)
    state, meta = nn.load_checkpoint(path, into=other)
    assert meta is None
    np.testing.assert_array_equal(other.weight_hh_l1.numpy(), model.weight_hh_l1.numpy())


def test_save_is_atomic_and_overwrites(tmp_path):
    path = tmp_path / "c.npz"
    nn.save_checkpoint(path, {"a": np.zeros(3)}, {"v": 1})
    nn.save_checkpoint(path, {"a": np.ones(3)}, {"v": 2})
    state, meta = nn.load_checkpoint(path)
    assert meta == {"v": 2} and state["a"].tolist() == [1, 1, 1]
    assert sorted(os.listdir(tmp_path)) == ["c.npz"]  # no temporary left behind


def test_failed_save_leaves_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "c.npz"
    nn.save_checkpoint(path, {"a": np.zeros(2)})
    with pytest.raises(nn.CheckpointError, match="JSON"):
        nn.save_checkpoint(path, {"a": np.ones(2)}, {"bad": object()})
    with pytest.raises(nn.CheckpointError, match="'b'"):
        nn.save_checkpoint(path, {"a": np.ones(2), "b": np.array(["text"])})
    with pytest.raises(nn.CheckpointError, match="reserved"):
        nn.save_checkpoint(path, {"__metadata__": np.ones(2)})
    assert nn.load_checkpoint(path)[0]["a"].tolist() == [0, 0]
    assert sorted(os.listdir(tmp_path)) == ["c.npz"]
    with pytest.raises(nn.CheckpointError, match="does not exist"):
        nn.save_checkpoint(tmp_path / "nowhere" / "c.npz", {"a": np.ones(1)})


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        nn.load_checkpoint(tmp_path / "nope.npz")


def test_truncated_file_names_the_file(tmp_path):
    path = tmp_path / "trunc.npz"
    nn.save_checkpoint(path, _model().state_dict(), {"k": 1})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(nn.CheckpointError, match="trunc.npz"):
        nn.load_checkpoint(path)


@pytest.mark.parametrize("offset", [10, 60, 400], ids=["header", "early", "data"])
def test_corrupt_member_names_the_file(tmp_path, offset):
    path = tmp_path / "flip.npz"
    nn.save_checkpoint(path, {"w": np.random.default_rng(0).normal(size=1000)})
    data = bytearray(path.read_bytes())
    # Damage the deflated bytes of member w.npy (its zip local header ends with its name):
    # near its start the .npy header inflates to garbage, further in the zip CRC check fails.
    start = data.find(b"w.npy") + len(b"w.npy")
    assert start > len(b"w.npy")
    data[start + offset:start + offset + 60] = bytes(60)
    path.write_bytes(bytes(data))
    with pytest.raises(nn.CheckpointError, match="flip.npz.*corrupt"):
        nn.load_checkpoint(path)


@pytest.mark.parametrize("content", [b"", b"hello, this is not a checkpoint\n" * 10],
                         ids=["empty", "text"])
def test_not_an_npz(tmp_path, content):
    path = tmp_path / "notes.npz"
    path.write_bytes(content)
    with pytest.raises(nn.CheckpointError, match="notes.npz"):
        nn.load_checkpoint(path)


def test_bare_npy_array_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "arr.npz"
    with open(path, "wb") as f:
        np.save(f, np.zeros(3))
    with pytest.raises(nn.CheckpointError, match="arr.npz"):
        nn.load_checkpoint(path)


def test_pickled_object_arrays_are_refused(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, w=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(nn.CheckpointError, match="pickle"):
        nn.load_checkpoint(path)


def test_bad_metadata_json(tmp_path):
    path = tmp_path / "meta.npz"
    np.savez(path, w=np.zeros(2), __metadata__=np.array(["{not json"]))
    with pytest.raises(nn.CheckpointError, match="metadata"):
        nn.load_checkpoint(path)


def test_zip_that_is_not_numpy(tmp_path):
    path = tmp_path / "other.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("w.npy", b"not a numpy header at all")
    with pytest.raises(nn.CheckpointError, match="other.npz"):
        nn.load_checkpoint(path)


def test_missing_extra_misshaped_arrays_named_with_the_file(tmp_path):
    model = _model()
    state = model.state_dict()
    state.pop("bias_hh_l1")
    state["weight_ih_l0"] = np.zeros((80, 2))
    state["decoder.weight"] = np.zeros((1, 4))
    path = tmp_path / "mismatch.npz"
    nn.save_checkpoint(path, state)
    with pytest.raises(nn.StateDictError) as info:
        nn.load_checkpoint(path, into=_model())
    msg = str(info.value)
    for needle in ("mismatch.npz", "bias_hh_l1", "missing", "decoder.weight", "unexpected",
                   "weight_ih_l0", "(80, 2)", "(16, 2)"):
        assert needle in msg, needle


def test_optimizer_state_through_a_checkpoint(tmp_path):
    model = nn.Linear(3, 2, seed=0)
    opt = optim.Adam(model.parameters(), lr=0.01)
    for _ in range(2):
        for p in model.parameters():
            p.grad = p.detach() * 0.5 + 1.0
        opt.step()
    arrays, meta = optim.flatten_state_dict(opt.state_dict())
    path = tmp_path / "train.npz"
    nn.save_checkpoint(path, {**model.state_dict(), **arrays}, {"optimizer": meta})
    state, loaded = nn.load_checkpoint(path)
    restored_model = nn.Linear(3, 2, seed=1)
    restored_model.load_state_dict({k: v for k, v in state.items() if "." not in k})
    restored = optim.Adam(restored_model.parameters(), lr=0.5)
    restored.load_state_dict(optim.unflatten_state_dict(state, loaded["optimizer"]))
    assert restored.param_groups[0]["lr"] == 0.01
    assert restored.param_groups[0]["betas"] == (0.9, 0.999)
    for a, b in zip(model.parameters(), restored_model.parameters()):
        a.grad = b.grad = None
        a.grad = a.detach() * 0.5 + 1.0
        b.grad = b.detach() * 0.5 + 1.0
    opt.step()
    restored.step()
    for a, b in zip(model.parameters(), restored_model.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_metadata_is_stored_deflated(tmp_path):
    """A long run keeps its whole log in the metadata, which NumPy stores at 4 bytes a character:
    the archive is deflated, so 200,000 characters of log cost far less than their 800 KB."""
    path = tmp_path / "long_run.npz"
    log = [[i, 0.3 + 1e-6 * i] for i in range(10_000)]
    meta = {"curve": log}
    chars = len(json.dumps(meta, sort_keys=True))
    assert chars > 150_000
    nn.save_checkpoint(path, {"w": np.zeros(10, np.float32)}, meta)
    assert path.stat().st_size < chars  # stored uncompressed it would be about 4 x chars
    assert nn.load_checkpoint(path)[1] == meta
