"""CIFAR-10 binary batches: small synthetic copies in the official format, the tarball path with
its MD5, every error message, and the float helpers. Nothing touches the network."""

import hashlib
import io
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest

from minigrad.data import (
    CIFAR10_CLASSES,
    ChecksumError,
    DataError,
    cifar10_channel_stats,
    cifar10_to_float,
    load_cifar10,
)
from minigrad.data import cifar10 as c10

N = 7  # records per synthetic batch (the real files have 10,000)
NAMES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


def record_bytes(label: int, image: np.ndarray) -> bytes:
    """One record by hand: a label byte, then the red, green and blue planes, row-major."""
    return bytes([label]) + b"".join(image[c].tobytes() for c in range(3))


def make_batches(folder: Path, n: int = N, seed: int = 0):
    """Write six synthetic batch files of ``n`` records; return the arrays they hold."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = {}
    for name in NAMES:
        images = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n)
        (folder / name).write_bytes(b"".join(record_bytes(int(y), x)
                                             for y, x in zip(labels, images)))
        out[name] = images, labels
    return out


def make_tarball(path: Path, batches: Path, extra=()) -> str:
    """A .tar.gz of ``batches`` laid out as the official one; returns its MD5."""
    with tarfile.open(path, "w:gz") as tar:
        tar.add(batches, arcname="cifar-10-batches-bin")
        for info, data in extra:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return hashlib.md5(path.read_bytes()).hexdigest()


def expected_arrays(made):
    train = [made[name] for name in NAMES[:5]]
    return (np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]),
            *made["test_batch.bin"])


def assert_loaded(got, made):
    want = expected_arrays(made)
    train_x, train_y, test_x, test_y = got
    assert train_x.shape == (5 * N, 3, 32, 32) and train_x.dtype == np.uint8
    assert test_x.shape == (N, 3, 32, 32) and test_x.dtype == np.uint8
    assert train_y.dtype == np.int64 and test_y.dtype == np.int64
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------- reading


def test_reads_records_as_nchw_in_file_order(tmp_path):
    made = make_batches(tmp_path / "cifar-10-batches-bin")
    got = load_cifar10(tmp_path / "cifar-10-batches-bin", records_per_batch=N)
    assert_loaded(got, made)
    # one pixel by hand: record 3 of data_batch_2, green channel, row 5, column 7
    raw = (tmp_path / "cifar-10-batches-bin" / "data_batch_2.bin").read_bytes()
    assert got[0][N + 3, 1, 5, 7] == raw[3 * 3073 + 1 + 1024 + 5 * 32 + 7]
    assert got[1][N + 3] == raw[3 * 3073]


def test_parent_folder_env_variable_and_default(tmp_path, monkeypatch):
    made = make_batches(tmp_path / "a" / "cifar-10-batches-bin")
    assert_loaded(load_cifar10(tmp_path / "a", records_per_batch=N), made)  # the parent works
    monkeypatch.setenv("MINIGRAD_CIFAR10", str(tmp_path / "a"))
    assert_loaded(load_cifar10(records_per_batch=N), made)
    monkeypatch.delenv("MINIGRAD_CIFAR10")
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path / "home"))
    made = make_batches(tmp_path / "home" / "cifar10", seed=1)
    assert c10.cifar10_folder() == tmp_path / "home" / "cifar10"
    assert_loaded(load_cifar10(records_per_batch=N), made)


def test_deterministic_and_independent_copies(tmp_path):
    make_batches(tmp_path)
    a = load_cifar10(tmp_path, records_per_batch=N)
    b = load_cifar10(tmp_path, records_per_batch=N)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
        assert x.flags.writeable and not np.shares_memory(x, y)


def test_write_batch_matches_hand_made_bytes(tmp_path):
    made = make_batches(tmp_path / "hand")
    images, labels = made["test_batch.bin"]
    c10.write_cifar10_batch(tmp_path / "w.bin", images, labels)
    assert (tmp_path / "w.bin").read_bytes() == (tmp_path / "hand" / "test_batch.bin").read_bytes()


def test_class_names():
    assert CIFAR10_CLASSES == ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                               "horse", "ship", "truck")


def test_real_file_size_is_the_default():
    assert c10.CIFAR10_RECORDS_PER_BATCH * c10.RECORD_BYTES == 30_730_000


# ----------------------------------------------------------------------------- tarball


def test_tarball_verified_and_extracted_atomically(tmp_path):
    made = make_batches(tmp_path / "src" / "cifar-10-batches-bin")
    (tmp_path / "src" / "cifar-10-batches-bin" / "batches.meta.txt").write_text(
        "\n".join(CIFAR10_CLASSES) + "\n")
    home = tmp_path / "home"
    home.mkdir()
    md5 = make_tarball(home / "cifar-10-binary.tar.gz", tmp_path / "src" / "cifar-10-batches-bin")
    assert_loaded(load_cifar10(home, tarball_md5=md5, records_per_batch=N), made)
    extracted = home / "cifar-10-batches-bin"
    assert sorted(p.name for p in extracted.iterdir()) == sorted(NAMES + ["batches.meta.txt"])
    assert sorted(p.name for p in home.iterdir()) == ["cifar-10-batches-bin",
                                                      "cifar-10-binary.tar.gz"]
    # the tarball's own path works too, and the extracted folder is used from then on
    assert_loaded(load_cifar10(home / "cifar-10-binary.tar.gz", records_per_batch=N), made)


def test_tarball_md5_mismatch_names_file_and_both_hashes(tmp_path):
    make_batches(tmp_path / "src")
    tarball = tmp_path / "cifar-10-binary.tar.gz"
    md5 = make_tarball(tarball, tmp_path / "src")
    with pytest.raises(ChecksumError) as err:
        load_cifar10(tmp_path, records_per_batch=N)  # the published MD5 by default
    msg = str(err.value)
    assert str(tarball) in msg and md5 in msg and c10.CIFAR10_TARBALL_MD5 in msg
    assert "cs.toronto.edu/~kriz/cifar.html" in msg
    assert not (tmp_path / "cifar-10-batches-bin").exists()
    assert_loaded(load_cifar10(tarball, tarball_md5=None, records_per_batch=N),
                  make_batches(tmp_path / "src"))  # None skips the check


def test_truncated_tarball(tmp_path):
    make_batches(tmp_path / "src")
    tarball = tmp_path / "cifar-10-binary.tar.gz"
    make_tarball(tarball, tmp_path / "src")
    tarball.write_bytes(tarball.read_bytes()[:-2000])
    with pytest.raises(DataError, match=r"corrupt or truncated") as err:
        load_cifar10(tarball, tarball_md5=None, records_per_batch=N)
    assert str(tarball) in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar-10-binary.tar.gz", "src"]


@pytest.mark.parametrize("kind", ["traversal", "absolute", "symlink"])
def test_tarball_with_unsafe_member_is_refused(tmp_path, kind):
    make_batches(tmp_path / "src")
    info = tarfile.TarInfo({"traversal": "cifar-10-batches-bin/../../evil.bin",
                            "absolute": "/tmp/evil.bin",
                            "symlink": "cifar-10-batches-bin/link.bin"}[kind])
    data = None
    if kind == "symlink":
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
    else:
        data = b"x"
        info.size = 1
    tarball = tmp_path / "t" / "cifar-10-binary.tar.gz"
    tarball.parent.mkdir()
    make_tarball(tarball, tmp_path / "src", extra=[(info, data)])
    with pytest.raises(DataError, match="refusing to extract") as err:
        load_cifar10(tarball, tarball_md5=None, records_per_batch=N)
    assert info.name in str(err.value)
    assert [p.name for p in tarball.parent.iterdir()] == ["cifar-10-binary.tar.gz"]
    assert not (tmp_path / "evil.bin").exists()


def test_tarball_with_short_member(tmp_path):
    make_batches(tmp_path / "src")
    (tmp_path / "src" / "data_batch_3.bin").write_bytes(b"\x01" * (3073 * N - 5))
    tarball = tmp_path / "cifar-10-binary.tar.gz"
    make_tarball(tarball, tmp_path / "src")
    with pytest.raises(DataError) as err:
        load_cifar10(tarball, tarball_md5=None, records_per_batch=N)
    msg = str(err.value)
    assert str(tarball) in msg and "data_batch_3.bin" in msg
    assert f"{3073 * N - 5:,} bytes" in msg and f"expected {3073 * N:,}" in msg
    assert not (tmp_path / "cifar-10-batches-bin").exists()


def test_tarball_of_something_else(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "data_batch_1.py").write_text("x")
    tarball = tmp_path / "cifar-10-binary.tar.gz"
    make_tarball(tarball, tmp_path / "src")
    with pytest.raises(DataError, match="not the CIFAR-10 binary version") as err:
        load_cifar10(tarball, tarball_md5=None, records_per_batch=N)
    assert "test_batch.bin" in str(err.value)


# ----------------------------------------------------------------------------- errors


def test_missing_folder_says_where_to_download_and_how_to_point(tmp_path):
    where = tmp_path / "nowhere"
    with pytest.raises(DataError) as err:
        load_cifar10(where)
    msg = str(err.value)
    assert str(where) in msg and "does not exist" in msg
    assert "https://www.cs.toronto.edu/~kriz/cifar.html" in msg and "binary version" in msg
    assert "MINIGRAD_CIFAR10" in msg and "load_cifar10(folder=" in msg


def test_missing_files_are_listed(tmp_path):
    make_batches(tmp_path)
    (tmp_path / "data_batch_4.bin").unlink()
    (tmp_path / "test_batch.bin").unlink()
    with pytest.raises(DataError) as err:
        load_cifar10(tmp_path, records_per_batch=N)
    msg = str(err.value)
    assert re.search(rf"{re.escape(str(tmp_path))}: missing data_batch_4.bin, test_batch.bin",
                     msg)
    assert "cifar-10-binary.tar.gz: no such file" in msg
    assert "https://www.cs.toronto.edu/~kriz/cifar.html" in msg and "MINIGRAD_CIFAR10" in msg


def test_default_location_is_named_when_empty(tmp_path, monkeypatch):
    monkeypatch.delenv("MINIGRAD_CIFAR10", raising=False)
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path))
    with pytest.raises(DataError, match=re.escape(str(tmp_path / "cifar10"))):
        load_cifar10()


@pytest.mark.parametrize("delta", [-1, -3073, 1])
def test_wrong_size_names_file_size_and_expected(tmp_path, delta):
    make_batches(tmp_path)
    path = tmp_path / "data_batch_2.bin"
    path.write_bytes(path.read_bytes()[:delta] if delta < 0 else path.read_bytes() + b"\0")
    with pytest.raises(DataError) as err:
        load_cifar10(tmp_path, records_per_batch=N)
    msg = str(err.value)
    assert str(path) in msg and f"{3073 * N + delta:,} bytes" in msg
    assert f"expected {3073 * N:,}" in msg


def test_real_size_is_required_without_the_parameter(tmp_path):
    make_batches(tmp_path)
    with pytest.raises(DataError, match=r"21,511 bytes, expected 30,730,000"):
        load_cifar10(tmp_path)


def test_bad_label_names_file_and_record(tmp_path):
    make_batches(tmp_path)
    path = tmp_path / "test_batch.bin"
    raw = bytearray(path.read_bytes())
    raw[4 * 3073] = 10
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError) as err:
        load_cifar10(tmp_path, records_per_batch=N)
    msg = str(err.value)
    assert str(path) in msg and "record 4 " in msg and "label 10" in msg and "0-9" in msg


def test_incomplete_extracted_folder_beside_tarball_is_not_overwritten(tmp_path):
    make_batches(tmp_path / "src")
    make_tarball(tmp_path / "cifar-10-binary.tar.gz", tmp_path / "src")
    (tmp_path / "cifar-10-batches-bin").mkdir()
    (tmp_path / "cifar-10-batches-bin" / "mine.txt").write_text("keep")
    with pytest.raises(DataError, match="exists but is incomplete"):
        load_cifar10(tmp_path, tarball_md5=None, records_per_batch=N)
    assert (tmp_path / "cifar-10-batches-bin" / "mine.txt").read_text() == "keep"


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "7"])
def test_records_per_batch_must_be_positive_int(tmp_path, bad):
    with pytest.raises(ValueError, match="records_per_batch"):
        load_cifar10(tmp_path, records_per_batch=bad)


def test_nothing_touches_the_network(tmp_path, monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("load_cifar10 opened a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    with pytest.raises(DataError):
        load_cifar10(tmp_path / "none")
    make_batches(tmp_path / "src")
    make_tarball(tmp_path / "cifar-10-binary.tar.gz", tmp_path / "src")
    load_cifar10(tmp_path, tarball_md5=None, records_per_batch=N)


# ----------------------------------------------------------------------------- floats


def test_to_float_unit_and_standard(tmp_path):
    make_batches(tmp_path)
    train_x, _, test_x, _ = load_cifar10(tmp_path, records_per_batch=N)
    unit = cifar10_to_float(train_x)
    assert unit.dtype == np.float32 and unit.shape == train_x.shape
    assert unit.min() >= 0 and unit.max() <= 1
    np.testing.assert_allclose(unit, train_x / 255, rtol=1e-6)
    mean, std = cifar10_channel_stats(train_x)
    assert mean.shape == std.shape == (3,)
    np.testing.assert_allclose(mean, (train_x / 255).mean(axis=(0, 2, 3)))
    z = cifar10_to_float(train_x, "standard", mean=mean, std=std)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=(0, 2, 3)), 1, atol=1e-5)
    zt = cifar10_to_float(test_x, "standard", mean=mean, std=std, dtype="float64")
    assert zt.dtype == np.float64
    np.testing.assert_allclose(zt, (test_x / 255 - mean[:, None, None]) / std[:, None, None])
    with pytest.raises(ValueError, match="normalize"):
        cifar10_to_float(train_x, "bogus")
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        cifar10_to_float(train_x.reshape(len(train_x), -1))
    with pytest.raises(ValueError, match="both mean and std"):
        cifar10_to_float(train_x, "standard", mean=mean)
