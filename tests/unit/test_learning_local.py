"""Tests for impl.learning.local."""

import numpy as np
import pytest

from asfl.impl.learning import softmax as S
from asfl.impl.learning.data import load_digits_task, partition_iid
from asfl.impl.learning.local import local_gradient


@pytest.fixture(scope="module")
def task():
    return load_digits_task()


def test_full_batch_equals_softmax_gradient(task):
    idx = np.arange(30, 60)
    w = np.random.default_rng(0).normal(size=S.param_dim(64, 10)) * 0.01
    g = local_gradient(w, task, idx, 1000, np.random.default_rng(1))
    ref = S.gradient(w, task.X_train[idx], task.y_train[idx], 10)
    np.testing.assert_allclose(g, ref, rtol=1e-12, atol=1e-14)


def test_minibatch_is_reproducible_and_uses_the_client_samples(task):
    idx = np.arange(100, 200)
    w = S.init_params(64, 10)
    g1 = local_gradient(w, task, idx, 8, np.random.default_rng(5))
    g2 = local_gradient(w, task, idx, 8, np.random.default_rng(5))
    assert np.array_equal(g1, g2)
    batch = np.random.default_rng(5).choice(idx, size=8, replace=False)
    np.testing.assert_allclose(g1, S.gradient(w, task.X_train[batch], task.y_train[batch], 10))


def test_local_sgd_learns(task):
    parts = partition_iid(task.X_train.shape[0], 5, np.random.default_rng(0))
    rng = np.random.default_rng(0)
    w = S.init_params(64, 10)
    for step in range(300):
        w = w - 0.5 * local_gradient(w, task, parts[step % 5], 32, rng)
    assert S.accuracy(w, task.X_test, task.y_test, 10) > 0.85


def test_validation(task):
    w = S.init_params(64, 10)
    with pytest.raises(ValueError, match="non-empty"):
        local_gradient(w, task, np.array([], dtype=np.int64), 4, np.random.default_rng(0))
    with pytest.raises(ValueError, match="batch_size"):
        local_gradient(w, task, np.arange(3), 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="indices must lie"):
        local_gradient(w, task, np.array([0, 10**6]), 2, np.random.default_rng(0))
