"""Seeded, stratified, disjoint train / validation / test splits."""

import numpy as np
import pytest

from minigrad.data import (
    DataError,
    Splits,
    load_mnist_5k,
    make_splits,
    mnist_splits,
    pixel_stats,
    stratified_indices,
)


@pytest.fixture(scope="module")
def splits():
    return mnist_splits(seed=0)


def test_default_sizes_and_stratification(splits):
    assert isinstance(splits, Splits)
    assert splits.sizes == (3000, 1000, 1000)
    for split, per_class in zip(splits, (300, 100, 100)):
        assert split.images.shape == (len(split), 784) and split.images.dtype == np.float32
        assert split.labels.dtype == np.int64
        assert np.array_equal(split.class_counts(), np.full(10, per_class))
        assert 0.0 <= split.images.min() and split.images.max() <= 1.0
    assert splits.mean is None and splits.std is None


def test_splits_are_disjoint_and_cover_the_set(splits):
    idx = [set(s.indices.tolist()) for s in splits]
    assert not (idx[0] & idx[1]) and not (idx[0] & idx[2]) and not (idx[1] & idx[2])
    assert idx[0] | idx[1] | idx[2] == set(range(5000))
    # no test digit appears (as pixels) among the training digits either
    train_rows = {row.tobytes() for row in splits.train.images}
    assert not any(row.tobytes() in train_rows for row in splits.test.images)


def test_indices_point_back_to_the_source(splits):
    images, labels = load_mnist_5k()
    for split in splits:
        np.testing.assert_array_equal(split.images, images[split.indices])
        np.testing.assert_array_equal(split.labels, labels[split.indices])


def test_splits_are_shuffled_not_sorted(splits):
    # the source is sorted by label; a split must not be
    assert np.any(np.diff(splits.train.labels) < 0)


def test_same_seed_same_splits_other_seed_other_splits(splits):
    again = mnist_splits(seed=0)
    other = mnist_splits(seed=1)
    for a, b in zip(splits, again):
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_array_equal(a.images, b.images)
    assert set(splits.test.indices.tolist()) != set(other.test.indices.tolist())


def test_standardised_inputs_use_training_statistics_only(splits):
    std = mnist_splits(seed=0, standardize_inputs=True)
    mu, sigma = pixel_stats(splits.train.images)
    assert std.mean == pytest.approx(mu) and std.std == pytest.approx(sigma)
    assert abs(float(std.train.images.mean(dtype=np.float64))) < 1e-4
    assert float(std.train.images.std(dtype=np.float64)) == pytest.approx(1.0, abs=1e-4)
    np.testing.assert_allclose(std.test.images, (splits.test.images - mu) / sigma, atol=1e-5)
    # the test split's own statistics were not used: its mean is not exactly zero
    assert float(std.test.images.mean(dtype=np.float64)) != pytest.approx(0.0, abs=1e-6)
    same = mnist_splits(seed=0, normalize="standard")
    np.testing.assert_array_equal(same.val.images, std.val.images)


def test_custom_sizes_and_dtype():
    s = mnist_splits(seed=3, sizes=(1000, 500, 200), dtype="float64")
    assert s.sizes == (1000, 500, 200)
    assert s.train.images.dtype == np.float64
    assert np.array_equal(s.test.class_counts(), np.full(10, 20))


def test_stratification_with_unequal_classes_is_within_one_per_class():
    labels = np.repeat(np.arange(4), [50, 30, 15, 5])
    parts = stratified_indices(labels, (60, 20, 20), seed=7)
    assert [len(p) for p in parts] == [60, 20, 20]
    assert len(set(np.concatenate(parts).tolist())) == 100
    share = np.bincount(labels) / 100
    for part in parts:
        counts = np.bincount(labels[part], minlength=4)
        assert np.all(np.abs(counts - share * len(part)) <= 1), counts


def test_raw_pixels_and_bad_arguments():
    raw = mnist_splits(seed=0, normalize=None)
    assert raw.train.images.dtype == np.uint8
    with pytest.raises(ValueError, match="sum to at most"):
        mnist_splits(sizes=(4000, 1000, 1000))
    with pytest.raises(ValueError, match=r"\(train, val, test\)"):
        make_splits(np.zeros((10, 4), np.uint8), np.zeros(10, int), (5, 5))
    with pytest.raises(DataError, match="10 images but 9 labels"):
        make_splits(np.zeros((10, 4), np.uint8), np.zeros(9, int), (5, 3, 1))
    with pytest.raises(ValueError, match="needs normalize='unit'"):
        mnist_splits(normalize=None, standardize_inputs=True)
