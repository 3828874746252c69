"""Fixed, seeded, stratified train / validation / test splits.

Roles in the course: meta-training draws its problems from ``train``, baselines (learning rates)
and meta-training choices are tuned on ``val``, and reported results use ``test``: digits that
neither the learned optimizer nor the tuning has seen.

Stratification. With ``n_c`` examples of class ``c``, put them in a random order and give the
``r``-th one (``r = 0..n_c-1``) the key ``(r + 1/2) / n_c``; sort everything by key (random
tie-break) and cut the sorted list into consecutive pieces of the requested sizes. Each piece
then holds every class in proportion to its share: exactly when the proportions divide evenly
(e.g. 500 per class cut 3000/1000/1000 gives 300/100/100 of each digit), otherwise within one
example per class. The pieces are disjoint by construction, and the same seed gives the same
pieces on every machine (``numpy.random.default_rng(seed)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import DataError
from .mnist5k import mnist_5k_raw
from .normalize import check_normalize, pixel_stats, standardize, to_unit

__all__ = ["Split", "Splits", "make_splits", "mnist_splits", "stratified_indices"]


@dataclass(frozen=True)
class Split:
    """One split: ``images`` (n, 784) floats (or uint8 when not normalised), ``labels`` (n,)
    int64, and ``indices`` (n,) int64 positions of these examples in the source arrays."""

    images: np.ndarray
    labels: np.ndarray
    indices: np.ndarray

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def class_counts(self, num_classes: int = 10) -> np.ndarray:
        """Examples per class, shape (num_classes,)."""
        return np.bincount(self.labels, minlength=num_classes)

    def sampler(self, batch_size: int = 128, *, seed=0, **kwargs):
        """A :class:`~minigrad.data.BatchSampler` over this split (same keyword arguments)."""
        from .sampler import BatchSampler

        return BatchSampler(self.images, self.labels, batch_size, seed=seed, **kwargs)


@dataclass(frozen=True)
class Splits:
    """``train``, ``val`` and ``test`` splits; ``mean``/``std`` are the scalar statistics used
    for standardisation (taken from ``train`` only), or None when inputs are not standardised."""

    train: Split
    val: Split
    test: Split
    mean: float | None = None
    std: float | None = None

    def __iter__(self):
        return iter((self.train, self.val, self.test))

    @property
    def sizes(self) -> tuple[int, int, int]:
        return len(self.train), len(self.val), len(self.test)


def stratified_indices(labels, sizes, seed=0) -> tuple[np.ndarray, ...]:
    """Disjoint, class-stratified index sets of the given ``sizes`` (see the module docstring).

    ``labels``: (N,) integer labels. ``sizes``: non-negative ints with ``sum(sizes) <= N``;
    examples beyond ``sum(sizes)`` are left out. Returns one int64 array per size, each in a
    random order.
    """
    labels = np.asarray(labels)
    sizes = tuple(int(s) for s in sizes)
    n = labels.shape[0]
    if labels.ndim != 1:
        raise ValueError(f"stratified_indices: labels must be 1-D, got shape {labels.shape}")
    if any(s < 0 for s in sizes) or sum(sizes) > n:
        raise ValueError(f"stratified_indices: sizes {sizes} must be >= 0 and sum to at most "
                         f"the {n} examples available")
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    _, inverse, counts = np.unique(labels[order], return_inverse=True, return_counts=True)
    rank = np.empty(n, dtype=np.int64)
    for c, count in enumerate(counts):  # r = 0..n_c-1 for each class, in the random order
        rank[inverse == c] = np.arange(count)
    key = (rank + 0.5) / counts[inverse]
    ranked = order[np.lexsort((rng.random(n), key))]
    out, start = [], 0
    for s in sizes:
        out.append(rng.permutation(ranked[start:start + s]).astype(np.int64))
        start += s
    return tuple(out)


def make_splits(images, labels, sizes, *, seed=0, normalize="unit", dtype=None,
                standardize_inputs: bool = False) -> Splits:
    """Stratified train/val/test :class:`Splits` of uint8 ``images`` (N, D) and ``labels`` (N,).

    ``normalize``: ``"unit"`` (``x = p / 255``), ``"standard"`` (the same as ``"unit"`` with
    ``standardize_inputs=True``: ``(x - mu) / sigma``, ``mu`` and ``sigma`` the scalar mean and
    std of the TRAIN images only, applied to all three) or None (raw uint8). ``dtype``: float
    dtype (default minigrad's, float32).
    """
    check_normalize(normalize)
    if normalize == "standard":
        normalize, standardize_inputs = "unit", True
    if standardize_inputs and normalize is None:
        raise ValueError("make_splits: standardize_inputs=True needs normalize='unit'")
    images, labels = np.asarray(images), np.asarray(labels)
    if images.shape[0] != labels.shape[0]:
        raise DataError(f"make_splits: {images.shape[0]} images but {labels.shape[0]} labels")
    if len(sizes) != 3:
        raise ValueError(f"make_splits: sizes must be (train, val, test), got {sizes!r}")
    parts = stratified_indices(labels, sizes, seed)
    xs = [images[i] if normalize is None else to_unit(images[i], dtype) for i in parts]
    mean = std = None
    if standardize_inputs:
        mean, std = pixel_stats(xs[0])
        xs = [standardize(x, mean, std) for x in xs]
    made = [Split(x, labels[i].astype(np.int64), i) for x, i in zip(xs, parts)]
    return Splits(*made, mean=mean, std=std)


def mnist_splits(seed=0, sizes=(3000, 1000, 1000), *, normalize="unit", dtype=None,
                 standardize_inputs: bool = False) -> Splits:
    """Train / validation / test splits of the 5,000 embedded MNIST digits.

    Default: 3,000 / 1,000 / 1,000 digits, i.e. 300 / 100 / 100 of each class, disjoint,
    identical for the same ``seed``. ``images`` are (n, 784) float32 in [0, 1]; with
    ``standardize_inputs=True`` (or ``normalize="standard"``) they become ``(x - mu) / sigma``
    with ``mu, sigma`` from the training split (returned as ``Splits.mean`` / ``Splits.std``).
    ``Split.indices`` index into :func:`load_mnist_5k`'s arrays.
    """
    images, labels = mnist_5k_raw()
    return make_splits(images, labels, sizes, seed=seed, normalize=normalize, dtype=dtype,
                       standardize_inputs=standardize_inputs)
