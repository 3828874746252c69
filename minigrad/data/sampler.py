"""Seeded minibatches as backend arrays (NumPy on "cpu", CuPy on "cuda").

Two ways to draw a batch of ``B`` examples from ``N``:

* ``replacement=True`` (the paper's official code): each batch is ``B`` indices drawn
  independently and uniformly from ``{0, ..., N-1}``; batches are independent and an example
  may appear twice in one batch.
* ``replacement=False`` (shuffled epochs): a fresh random permutation of ``{0, ..., N-1}`` is
  cut into consecutive batches of ``B``; when fewer than ``B`` indices remain the rest is
  dropped (``drop_last=True``, every batch has exactly ``B`` examples) or returned as a
  smaller last batch (``drop_last=False``), and the next epoch starts with a new permutation.

The indices always come from ``numpy.random.default_rng(seed)`` on the CPU, so the same seed
gives the same batches on either device.
"""

from __future__ import annotations

import numpy as np

from ..backend import to_device
from .errors import DataError
from .normalize import float_dtype

__all__ = ["BatchSampler"]


class BatchSampler:
    """Endless stream of ``(x, y)`` minibatches: ``x`` (B, D) floats, ``y`` (B,) int64.

    ``images``: (N, D) array (cast to ``dtype``, default minigrad's float dtype; pass pixels
    already scaled, e.g. from :func:`minigrad.data.mnist_splits`). ``labels``: (N,) integers.
    ``device``: ``"cpu"`` or ``"cuda"``; the data are copied there once, at construction.

    Use ``next(sampler)`` / ``sampler.sample()`` for one batch, ``sampler.take(k)`` for the next
    ``k``, ``sampler.epoch()`` for one pass without replacement, ``sampler.reset()`` to restart
    the stream from its seed.
    """

    def __init__(self, images, labels, batch_size: int = 128, *, seed=0,
                 replacement: bool = True, drop_last: bool = True, device: str = "cpu",
                 dtype=None):
        images, labels = np.asarray(images), np.asarray(labels)
        if images.ndim < 1 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise DataError(f"BatchSampler: images {images.shape} and labels {labels.shape} "
                            "must have the same number of rows (labels 1-D)")
        n = labels.shape[0]
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"BatchSampler: batch_size must be a positive int, got {batch_size!r}")
        if not replacement and drop_last and batch_size > n:
            raise ValueError(f"BatchSampler: batch_size {batch_size} > {n} examples with "
                             "replacement=False and drop_last=True would give no batches")
        if n == 0:
            raise DataError("BatchSampler: no examples")
        self.batch_size = int(batch_size)
        self.seed = seed
        self.replacement = bool(replacement)
        self.drop_last = bool(drop_last)
        self.device = device
        self.num_examples = n
        self._x = to_device(images.astype(float_dtype(dtype), copy=False), device)
        self._y = to_device(labels.astype(np.int64, copy=False), device)
        self.reset()

    def reset(self, seed=None) -> BatchSampler:
        """Restart the stream (from ``seed`` if given, else from the constructor's seed)."""
        if seed is not None:
            self.seed = seed
        self._rng = np.random.default_rng(self.seed)
        self._perm = np.empty(0, dtype=np.int64)
        self._pos = 0
        return self

    def __len__(self) -> int:
        """Batches per epoch (``ceil`` or ``floor`` of N / B depending on ``drop_last``)."""
        full, rest = divmod(self.num_examples, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def next_indices(self) -> np.ndarray:
        """The indices of the next batch (int64, on the CPU)."""
        if self.replacement:
            return self._rng.integers(0, self.num_examples, size=self.batch_size)
        left = self._perm.shape[0] - self._pos
        if left == 0 or (self.drop_last and left < self.batch_size):
            self._perm, self._pos = self._rng.permutation(self.num_examples), 0
        idx = self._perm[self._pos:self._pos + self.batch_size]
        self._pos += idx.shape[0]
        return idx

    def batch(self, indices):
        """``(x, y)`` for the given indices, on the sampler's device."""
        idx = to_device(np.asarray(indices, dtype=np.int64), self.device)
        return self._x[idx], self._y[idx]

    def sample(self):
        """The next ``(x, y)`` batch."""
        return self.batch(self.next_indices())

    def __iter__(self):
        return self

    def __next__(self):
        return self.sample()

    def take(self, k: int):
        """Generator of the next ``k`` batches."""
        for _ in range(int(k)):
            yield self.sample()

    def epoch(self):
        """Generator over one fresh shuffled pass (``len(self)`` batches), as without
        replacement, whatever ``replacement`` says; it continues the seeded stream."""
        perm = self._rng.permutation(self.num_examples)
        for b in range(len(self)):
            yield self.batch(perm[b * self.batch_size:(b + 1) * self.batch_size])
