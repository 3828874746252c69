"""Data for the course: real MNIST digits offline, full MNIST / Fashion-MNIST on request.

* :func:`load_mnist_5k`, :func:`mnist_splits`: 5,000 real MNIST digits shipped in the package
  (no network), with fixed, seeded, stratified train / validation / test splits.
* :func:`load_idx_dataset`, :func:`idx_splits`: the full 70,000 MNIST or Fashion-MNIST digits
  from standard IDX files (local folder, cache, Debian's package; ``download=True`` to fetch).
* :func:`read_idx`, :func:`write_idx`: the IDX file format.
* :class:`BatchSampler`: seeded minibatches (with replacement, or shuffled epochs) as NumPy or
  CuPy arrays.

Errors about files are :class:`DataError` (a ``ValueError``) and name the file and the problem.
"""

from .cifar10 import CIFAR10_CLASSES, cifar10_channel_stats, cifar10_to_float, load_cifar10
from .download import download_file, file_digest
from .errors import ChecksumError, DataError, DownloadError
from .idx import read_idx, write_idx
from .idx_datasets import (
    DATASETS,
    data_home,
    download_idx_dataset,
    find_idx_files,
    idx_splits,
    load_idx_dataset,
)
from .mnist5k import MNIST_5K_PATH, load_mnist_5k, mnist_5k_raw
from .normalize import pixel_stats, standardize, to_unit
from .sampler import BatchSampler
from .splits import Split, Splits, make_splits, mnist_splits, stratified_indices

__all__ = [
    "BatchSampler",
    "CIFAR10_CLASSES",
    "ChecksumError",
    "DATASETS",
    "DataError",
    "DownloadError",
    "MNIST_5K_PATH",
    "Split",
    "Splits",
    "cifar10_channel_stats",
    "cifar10_to_float",
    "data_home",
    "download_file",
    "download_idx_dataset",
    "file_digest",
    "find_idx_files",
    "idx_splits",
    "load_cifar10",
    "load_idx_dataset",
    "load_mnist_5k",
    "make_splits",
    "mnist_5k_raw",
    "mnist_splits",
    "pixel_stats",
    "read_idx",
    "standardize",
    "stratified_indices",
    "to_unit",
    "write_idx",
]
