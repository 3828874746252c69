"""Seeded minibatches: with replacement, shuffled epochs, devices, bad arguments."""

import numpy as np
import pytest

from minigrad.backend import BackendError, cupy_status
from minigrad.data import BatchSampler, DataError, mnist_splits


def toy(n=50, d=3):
    """Row i of the images is (i, i, ...), its label i % 10, so each batch can be checked."""
    images = np.repeat(np.arange(n, dtype=np.float64)[:, None], d, axis=1)
    return images, np.arange(n) % 10


def test_batch_shapes_and_dtypes_on_real_digits():
    train = mnist_splits(seed=0).train
    x, y = next(train.sampler(batch_size=128, seed=3))
    assert isinstance(x, np.ndarray) and x.shape == (128, 784) and x.dtype == np.float32
    assert y.shape == (128,) and y.dtype == np.int64
    assert 0.0 <= x.min() and x.max() <= 1.0


def test_rows_and_labels_stay_paired():
    images, labels = toy()
    sampler = BatchSampler(images, labels, 16, seed=0)
    for x, y in sampler.take(5):
        rows = x[:, 0].astype(int)
        assert np.all(x == x[:, :1])
        np.testing.assert_array_equal(y, rows % 10)


def test_same_seed_same_batches_other_seed_other_batches():
    images, labels = toy()
    a = [x for x, _ in BatchSampler(images, labels, 8, seed=1).take(4)]
    b = [x for x, _ in BatchSampler(images, labels, 8, seed=1).take(4)]
    c = [x for x, _ in BatchSampler(images, labels, 8, seed=2).take(4)]
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert any(not np.array_equal(u, w) for u, w in zip(a, c))


def test_reset_restarts_the_stream():
    images, labels = toy()
    sampler = BatchSampler(images, labels, 8, seed=5, replacement=False)
    first = [sampler.next_indices().copy() for _ in range(9)]
    sampler.reset()
    again = [sampler.next_indices().copy() for _ in range(9)]
    for u, v in zip(first, again):
        np.testing.assert_array_equal(u, v)


def test_with_replacement_draws_independent_uniform_indices():
    images, labels = toy(n=10)
    sampler = BatchSampler(images, labels, 128, seed=0, replacement=True)
    idx = sampler.next_indices()
    assert idx.shape == (128,) and idx.min() >= 0 and idx.max() < 10
    assert len(np.unique(idx)) < 128  # 128 draws from 10: repeats are certain
    counts = np.bincount(np.concatenate([sampler.next_indices() for _ in range(200)]), minlength=10)
    assert counts.min() > 0.8 * counts.mean()  # 25,600 draws, about 2,560 each


def test_shuffled_epochs_visit_every_example_once():
    images, labels = toy(n=50)
    sampler = BatchSampler(images, labels, 10, seed=0, replacement=False)
    assert len(sampler) == 5
    for _ in range(3):  # three consecutive epochs, each a new permutation
        epoch = np.concatenate([sampler.next_indices() for _ in range(5)])
        assert sorted(epoch.tolist()) == list(range(50))
    orders = [np.concatenate(list(sampler.next_indices() for _ in range(5))) for _ in range(2)]
    assert not np.array_equal(*orders)


def test_drop_last_and_partial_last_batch():
    images, labels = toy(n=25)
    dropping = BatchSampler(images, labels, 10, seed=0, replacement=False, drop_last=True)
    assert len(dropping) == 2
    sizes = [len(dropping.next_indices()) for _ in range(4)]
    assert sizes == [10, 10, 10, 10]
    keeping = BatchSampler(images, labels, 10, seed=0, replacement=False, drop_last=False)
    assert len(keeping) == 3
    batches = [keeping.next_indices() for _ in range(3)]
    assert [len(b) for b in batches] == [10, 10, 5]
    assert sorted(np.concatenate(batches).tolist()) == list(range(25))


def test_epoch_generator_is_one_pass():
    images, labels = toy(n=30)
    sampler = BatchSampler(images, labels, 7, seed=0, drop_last=False)
    seen = np.concatenate([x[:, 0] for x, _ in sampler.epoch()]).astype(int)
    assert sorted(seen.tolist()) == list(range(30))


def test_dtype_and_cast():
    images, labels = toy()
    x, y = BatchSampler(images, labels, 4, dtype="float64").sample()
    assert x.dtype == np.float64 and y.dtype == np.int64
    x, _ = BatchSampler(images.astype(np.uint8), labels, 4).sample()
    assert x.dtype == np.float32


def test_bad_arguments():
    images, labels = toy(n=10)
    with pytest.raises(DataError, match="same number of rows"):
        BatchSampler(images, labels[:9])
    with pytest.raises(ValueError, match="positive int"):
        BatchSampler(images, labels, 0)
    with pytest.raises(ValueError, match="positive int"):
        BatchSampler(images, labels, 2.5)
    with pytest.raises(ValueError, match="would give no batches"):
        BatchSampler(images, labels, 11, replacement=False)
    with pytest.raises(BackendError, match="unknown device"):
        BatchSampler(images, labels, 4, device="tpu")


@pytest.mark.gpu
@pytest.mark.skipif(not cupy_status()[0], reason=cupy_status()[1])
def test_cuda_batches_match_cpu_batches():
    import cupy

    images, labels = toy()
    cpu = BatchSampler(images, labels, 8, seed=4, device="cpu")
    gpu = BatchSampler(images, labels, 8, seed=4, device="cuda")
    for (xc, yc), (xg, yg) in zip(cpu.take(3), gpu.take(3)):
        assert isinstance(xg, cupy.ndarray) and isinstance(yg, cupy.ndarray)
        np.testing.assert_array_equal(xc, cupy.asnumpy(xg))
        np.testing.assert_array_equal(yc, cupy.asnumpy(yg))
