"""IDX files: parsing generated and real files, locating them, and every kind of bad input."""

import gzip
import re
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigrad.data import (
    DataError,
    find_idx_files,
    idx_splits,
    load_idx_dataset,
    read_idx,
    write_idx,
)

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_debian_fashion = pytest.mark.skipif(
    not (DEBIAN_FASHION / "t10k-labels-idx1-ubyte.gz").is_file(),
    reason="Debian package dataset-fashion-mnist is not installed "
           "(apt-get install dataset-fashion-mnist; CI lists it in .ci/apt-packages.txt)",
)


def idx_bytes(code: int, shape, payload: bytes) -> bytes:
    """An IDX file built by hand with struct (independent of write_idx)."""
    return struct.pack(f">BBBB{len(shape)}I", 0, 0, code, len(shape), *shape) + payload


def fake_split(folder: Path, prefix: str, n: int, seed: int, gz: bool = True):
    """Small random 28x28 uint8 images and labels 0-9 written as IDX files."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n).astype(np.uint8)
    ext = ".gz" if gz else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", images)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", labels)
    return images, labels


# ----------------------------------------------------------------------------- parsing


def test_parse_hand_made_uint8_file(tmp_path):
    values = np.arange(24, dtype=np.uint8)
    path = tmp_path / "a.idx"
    path.write_bytes(idx_bytes(0x08, (2, 3, 4), values.tobytes()))
    out = read_idx(path)
    assert out.shape == (2, 3, 4) and out.dtype == np.uint8
    np.testing.assert_array_equal(out.ravel(), values)
    assert out.flags.writeable


def test_parse_big_endian_int32_and_float64(tmp_path):
    ints = np.array([1, -2, 70000], dtype=">i4")
    (tmp_path / "i.idx").write_bytes(idx_bytes(0x0C, (3,), ints.tobytes()))
    got = read_idx(tmp_path / "i.idx")
    assert got.dtype == np.dtype("int32") and got.dtype.isnative
    assert got.tolist() == [1, -2, 70000]
    floats = np.array([[0.5, -1e300]], dtype=">f8")
    (tmp_path / "f.idx").write_bytes(idx_bytes(0x0E, (1, 2), floats.tobytes()))
    assert read_idx(tmp_path / "f.idx").tolist() == [[0.5, -1e300]]


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("name", ["x.idx", "x.idx.gz"])
def test_write_read_round_trip(tmp_path, dtype, name):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((5, 3, 2)) * 100).astype(dtype)
    path = write_idx(tmp_path / name, array)
    assert path.read_bytes()[:2] == (b"\x1f\x8b" if name.endswith(".gz") else b"\x00\x00")
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, array)
    assert not list(tmp_path.glob(".*.part"))


def test_gzip_is_recognised_by_content_not_name(tmp_path):
    raw = idx_bytes(0x08, (4,), bytes([1, 2, 3, 4]))
    (tmp_path / "labels.idx").write_bytes(gzip.compress(raw))
    assert read_idx(tmp_path / "labels.idx").tolist() == [1, 2, 3, 4]


def test_zero_dimensional_and_empty_files(tmp_path):
    (tmp_path / "s.idx").write_bytes(idx_bytes(0x08, (), b"\x07"))
    assert read_idx(tmp_path / "s.idx").tolist() == 7
    (tmp_path / "e.idx").write_bytes(idx_bytes(0x08, (0, 28, 28), b""))
    assert read_idx(tmp_path / "e.idx").shape == (0, 28, 28)


# ----------------------------------------------------------------------------- bad input


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=re.escape(str(tmp_path / "nope.gz")) + " does not exist"):
        read_idx(tmp_path / "nope.gz")


def test_wrong_magic_number(tmp_path):
    path = tmp_path / "bad.idx"
    path.write_bytes(b"\x12\x34\x08\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(DataError, match=re.escape(str(path)) + r": not an IDX file.*0x12340801"):
        read_idx(path)
    path.write_bytes(idx_bytes(0x07, (1,), b"\x00"))  # unknown type code
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(path)


def test_labels_file_where_images_expected(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_bytes(0x08, (3,), b"\x01\x02\x03"))
    with pytest.raises(DataError, match=r"wrong IDX magic number 0x00000801.*expected 0x00000803"):
        read_idx(path, expected_dtype=np.uint8, expected_ndim=3)


@pytest.mark.parametrize("cut", [2, 9, 20])
def test_truncated_raw_file(tmp_path, cut):
    path = tmp_path / "t.idx"
    path.write_bytes(idx_bytes(0x08, (2, 3, 4), bytes(24))[:-cut])
    with pytest.raises(DataError, match=re.escape(str(path)) + ".*truncated"):
        read_idx(path)


def test_trailing_bytes(tmp_path):
    path = tmp_path / "t.idx"
    path.write_bytes(idx_bytes(0x08, (3,), bytes(3)) + b"junk")
    with pytest.raises(DataError, match="trailing bytes"):
        read_idx(path)


def test_truncated_gzip(tmp_path):
    path = tmp_path / "t.idx.gz"
    blob = gzip.compress(idx_bytes(0x08, (1000,), np.random.default_rng(0).bytes(1000)), mtime=0)
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError, match=re.escape(str(path)) + " is a corrupt or truncated gzip"):
        read_idx(path)


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "c.idx.gz"
    blob = bytearray(gzip.compress(idx_bytes(0x08, (1000,), bytes(range(250)) * 4), mtime=0))
    blob[20:40] = bytes(20)  # damage the deflate stream (or trip the CRC check)
    path.write_bytes(bytes(blob))
    with pytest.raises(DataError, match="corrupt or truncated gzip"):
        read_idx(path)


def test_write_idx_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(DataError, match="no type code"):
        write_idx(tmp_path / "x.idx", np.zeros(3, dtype=np.uint16))
    assert not list(tmp_path.iterdir())


# ----------------------------------------------------------------------------- datasets


def test_load_generated_split_from_root(tmp_path):
    images, labels = fake_split(tmp_path, "t10k", 37, seed=1)
    x, y = load_idx_dataset("mnist", "test", root=tmp_path)
    assert x.shape == (37, 784) and x.dtype == np.float32
    np.testing.assert_array_equal(x, images.reshape(37, -1) / np.float32(255))
    assert y.dtype == np.int64 and y.tolist() == labels.tolist()
    x3, _ = load_idx_dataset("mnist", "test", root=tmp_path, flatten=False, normalize=None)
    assert x3.dtype == np.uint8 and x3.shape == (37, 28, 28)


def test_uncompressed_and_dotted_names_and_subfolder(tmp_path):
    images, _ = fake_split(tmp_path / "fashion-mnist", "train", 5, seed=2, gz=False)
    (tmp_path / "fashion-mnist" / "train-images-idx3-ubyte").rename(
        tmp_path / "fashion-mnist" / "train-images.idx3-ubyte")
    x, _ = load_idx_dataset("fashion-mnist", "train", root=tmp_path, normalize=None)
    np.testing.assert_array_equal(x.reshape(5, 28, 28), images)


def test_cache_folder_from_MINIGRAD_DATA(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path))
    _, labels = fake_split(tmp_path / "mnist", "train", 8, seed=3)
    img_path, lab_path = find_idx_files("mnist", "train")
    assert img_path.parent == tmp_path / "mnist"
    assert load_idx_dataset("mnist", "train")[1].tolist() == labels.tolist()


def test_missing_files_message_says_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path / "cache"))
    (tmp_path / "cache" / "mnist").mkdir(parents=True)
    write_idx(tmp_path / "cache" / "mnist" / "t10k-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))
    with pytest.raises(DataError) as info:
        load_idx_dataset("mnist", "test")
    msg = str(info.value)
    assert "missing t10k-images-idx3-ubyte.gz" in msg
    assert str(tmp_path / "cache" / "mnist") in msg and "download=True" in msg
    assert "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6" in msg


def test_image_label_count_mismatch(tmp_path):
    fake_split(tmp_path, "train", 6, seed=4)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(5, np.uint8))
    with pytest.raises(DataError, match=r"count mismatch.*6 images.*5 labels"):
        load_idx_dataset("mnist", "train", root=tmp_path)


def test_label_out_of_range_and_wrong_image_size(tmp_path):
    fake_split(tmp_path, "train", 4, seed=5)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.array([0, 1, 2, 12], np.uint8))
    with pytest.raises(DataError, match="label 12 out of range"):
        load_idx_dataset("mnist", "train", root=tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(4, np.uint8))
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((4, 32, 32), np.uint8))
    with pytest.raises(DataError, match="32 x 32, expected 28 x 28"):
        load_idx_dataset("mnist", "train", root=tmp_path)


def test_corrupt_local_file_is_reported_and_kept_without_download(tmp_path):
    fake_split(tmp_path, "t10k", 10, seed=6)
    bad = tmp_path / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-30])
    with pytest.raises(DataError, match=re.escape(str(bad)) + ".*corrupt or truncated gzip"):
        load_idx_dataset("mnist", "test", root=tmp_path)
    assert bad.exists()  # a user's file is never deleted unless download=True asks to replace


def test_idx_splits_on_generated_files(tmp_path):
    fake_split(tmp_path, "train", 200, seed=7)
    fake_split(tmp_path, "t10k", 30, seed=8)
    s = idx_splits("mnist", val_size=50, seed=0, root=tmp_path, standardize_inputs=True)
    assert s.sizes == (150, 50, 30)
    assert not set(s.train.indices.tolist()) & set(s.val.indices.tolist())
    assert abs(float(s.train.images.mean(dtype=np.float64))) < 1e-4
    assert s.mean is not None and s.std > 0


def test_unknown_dataset_or_split():
    with pytest.raises(ValueError, match="unknown IDX dataset"):
        load_idx_dataset("cifar10")
    with pytest.raises(ValueError, match="unknown split"):
        load_idx_dataset("mnist", "validation")


# ----------------------------------------------------------------------------- real files


@needs_debian_fashion
def test_real_fashion_mnist_from_debian_package(monkeypatch, tmp_path):
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path))  # empty cache: the Debian folder is used
    img_path, _ = find_idx_files("fashion-mnist", "test")
    assert img_path.parent == DEBIAN_FASHION
    x, y = load_idx_dataset("fashion-mnist", "test")
    assert x.shape == (10000, 784) and x.dtype == np.float32
    assert np.array_equal(np.bincount(y, minlength=10), np.full(10, 1000))
    assert x.min() == 0.0 and x.max() == 1.0
    raw = read_idx(DEBIAN_FASHION / "train-images-idx3-ubyte.gz")
    assert raw.shape == (60000, 28, 28) and raw.dtype == np.uint8
    labels = read_idx(DEBIAN_FASHION / "train-labels-idx1-ubyte.gz")
    assert np.array_equal(np.bincount(labels, minlength=10), np.full(10, 6000))
    # clothes, not noise: the mean image is brighter in the middle than at the corners
    mean = raw[:2000].mean(axis=0)
    assert mean[10:18, 10:18].mean() > 4 * mean[:3, :3].mean()


@needs_debian_fashion
def test_real_files_through_root_argument(tmp_path):
    x, y = load_idx_dataset("fashion-mnist", "test", root=DEBIAN_FASHION, normalize=None)
    assert x.dtype == np.uint8 and len(x) == len(y) == 10000


# ----------------------------------------------------------------------------- issue 29, item 7


def test_header_whose_sizes_overflow_is_a_data_error_naming_the_file(tmp_path):
    # 2**31 cubed wrapped to 0 in int64 and the file was judged by a wrong size
    path = tmp_path / "overflow.idx"
    path.write_bytes(idx_bytes(0x08, (2**31, 2**31, 2**31), b"x"))
    with pytest.raises(DataError, match=re.escape(str(path)) + ".*truncated.*"
                       r"\(2147483648, 2147483648, 2147483648\)"):
        read_idx(path)
    # the product 2**64 wrapped to exactly 0 data bytes: reshape raised a bare ValueError
    path.write_bytes(idx_bytes(0x08, (2**31, 2**31, 4), b""))
    with pytest.raises(DataError, match=re.escape(str(path)) + ".*truncated"):
        read_idx(path)
    path.write_bytes(idx_bytes(0x0E, (2**32 - 1,) * 4, b""))
    with pytest.raises(DataError, match=re.escape(str(path))):
        read_idx(path)


def test_a_split_with_zero_images_is_a_data_error_naming_the_file(tmp_path):
    fake_split(tmp_path, "train", 0, seed=0)
    fake_split(tmp_path, "t10k", 5, seed=1)
    images = tmp_path / "train-images-idx3-ubyte.gz"
    with pytest.raises(DataError, match=re.escape(str(images)) + ": holds no images"):
        load_idx_dataset("mnist", "train", root=tmp_path)
    with pytest.raises(DataError, match=re.escape(str(images)) + ": holds no images"):
        idx_splits("mnist", val_size=0, root=tmp_path)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(code=st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0x07, 0xFF]),
       sizes=st.lists(st.one_of(st.integers(0, 4), st.integers(0, 2**32 - 1)), max_size=5),
       ndim_delta=st.integers(-2, 2), zeros=st.binary(min_size=2, max_size=2),
       payload=st.binary(max_size=64), cut=st.integers(0, 200), gz=st.booleans())
def test_any_header_or_truncation_gives_a_data_error_or_a_valid_array(
        tmp_path_factory, code, sizes, ndim_delta, zeros, payload, cut, gz):
    """Random magic numbers, sizes (small and huge), payloads and truncations, raw or gzipped:
    read_idx returns an array whose shape and size agree with the header, or raises DataError
    naming the file; never another exception."""
    ndim = max(0, min(255, len(sizes) + ndim_delta))
    raw = (zeros + bytes([code, ndim]) + b"".join(n.to_bytes(4, "big") for n in sizes)
           + payload)[:cut]
    if gz:
        raw = gzip.compress(raw, mtime=0)[:cut + 20]
    path = tmp_path_factory.mktemp("idx") / "random.idx"
    path.write_bytes(raw)
    try:
        array = read_idx(path)
    except DataError as exc:
        assert str(path) in str(exc)
        return
    assert array.ndim == ndim and array.shape == tuple(sizes[:ndim])
    assert array.dtype.isnative
