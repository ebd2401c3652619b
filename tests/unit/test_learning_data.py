"""Tests for impl.learning.data: digits task and client partitions."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asfl.impl.learning.data import load_digits_task, partition_dirichlet, partition_iid


def test_digits_task_shapes_scaling_and_stratification():
    task = load_digits_task()
    assert task.name == "digits"
    assert (task.n_features, task.n_classes) == (64, 10)
    assert task.X_train.shape[0] + task.X_test.shape[0] == 1797
    assert task.X_test.shape[0] == 450
    assert task.X_train.shape[1] == task.X_test.shape[1] == 64
    assert task.X_train.dtype == np.float64 and task.y_train.dtype == np.int64
    for X in (task.X_train, task.X_test):
        assert X.min() >= 0.0 and X.max() <= 1.0
    assert task.X_train.max() == 1.0  # 16 / 16
    # stratified: class proportions in train and test agree closely
    p_tr = np.bincount(task.y_train, minlength=10) / task.y_train.size
    p_te = np.bincount(task.y_test, minlength=10) / task.y_test.size
    assert np.max(np.abs(p_tr - p_te)) < 0.01
    with pytest.raises(ValueError):
        task.X_train[0, 0] = 1.0  # read-only


def test_digits_task_deterministic_and_seed_dependent():
    a, b, c = load_digits_task(seed=3), load_digits_task(seed=3), load_digits_task(seed=4)
    assert np.array_equal(a.X_train, b.X_train) and np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.X_train, c.X_train)


@pytest.mark.parametrize("frac", [0.0, 1.0, -0.1, 1.5])
def test_digits_task_rejects_bad_fraction(frac):
    with pytest.raises(ValueError, match="test_fraction"):
        load_digits_task(test_fraction=frac)


def _check_partition(parts, n):
    allidx = np.concatenate(parts)
    assert allidx.dtype == np.int64
    assert np.array_equal(np.sort(allidx), np.arange(n))  # disjoint and covering
    for p in parts:
        assert np.all(np.diff(p) > 0)  # sorted


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 300), k=st.integers(1, 50), seed=st.integers(0, 2**32 - 1))
def test_partition_iid(n, k, seed):
    if k > n:
        with pytest.raises(ValueError, match="clients"):
            partition_iid(n, k, np.random.default_rng(seed))
        return
    parts = partition_iid(n, k, np.random.default_rng(seed))
    assert len(parts) == k
    _check_partition(parts, n)
    sizes = [p.size for p in parts]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1


@settings(max_examples=50, deadline=None)
@given(
    n=st.integers(1, 400),
    n_classes=st.integers(1, 10),
    k=st.integers(1, 40),
    alpha=st.sampled_from([0.01, 0.1, 0.5, 1.0, 100.0]),
    min_size=st.integers(0, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_partition_dirichlet(n, n_classes, k, alpha, min_size, seed):
    labels = np.random.default_rng(seed).integers(0, n_classes, size=n)
    if k * min_size > n:
        with pytest.raises(ValueError, match="at least"):
            partition_dirichlet(labels, k, alpha, np.random.default_rng(seed), min_size)
        return
    parts = partition_dirichlet(labels, k, alpha, np.random.default_rng(seed), min_size)
    assert len(parts) == k
    _check_partition(parts, n)
    assert min(p.size for p in parts) >= min_size
    again = partition_dirichlet(labels, k, alpha, np.random.default_rng(seed), min_size)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again, strict=True))


def test_dirichlet_small_alpha_is_skewed_large_alpha_is_balanced():
    y = load_digits_task().y_train

    def mean_max_class_share(alpha):
        parts = partition_dirichlet(y, 10, alpha, np.random.default_rng(0))
        return np.mean([np.bincount(y[p]).max() / p.size for p in parts])

    assert mean_max_class_share(0.05) > 0.6
    assert mean_max_class_share(1000.0) < 0.2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_clients": 0}, "n_clients"),
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": float("nan")}, "alpha"),
        ({"min_size": -1}, "min_size"),
        ({"labels": np.zeros((2, 2), dtype=int)}, "1-D"),
        ({"labels": np.zeros(4)}, "integers"),
    ],
)
def test_partition_dirichlet_validation(kwargs, match):
    args = {"labels": np.arange(10) % 3, "n_clients": 3, "alpha": 0.5, "min_size": 1}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        partition_dirichlet(rng=np.random.default_rng(0), **args)
