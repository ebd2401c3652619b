"""Tests for impl.learning.softmax: gradient check and convergence on digits."""

import numpy as np
import pytest

from asfl.impl.learning import softmax as S
from asfl.impl.learning.data import load_digits_task


def test_param_dim_and_init():
    assert S.param_dim(64, 10) == 650
    w = S.init_params(3, 4)
    assert w.shape == (16,) and w.dtype == np.float64 and not w.any()
    with pytest.raises(ValueError):
        S.param_dim(0, 10)


@pytest.mark.parametrize("l2", [0.0, 1e-4, 0.3])
def test_gradient_matches_finite_differences(l2):
    rng = np.random.default_rng(1)
    n, d, k = 20, 5, 4
    X = rng.normal(size=(n, d))
    y = rng.integers(0, k, size=n)
    w = rng.normal(size=S.param_dim(d, k))
    g = S.gradient(w, X, y, k, l2=l2)
    h = 1e-6
    num = np.empty_like(w)
    for i in range(w.size):
        e = np.zeros_like(w)
        e[i] = h
        num[i] = (S.loss(w + e, X, y, k, l2=l2) - S.loss(w - e, X, y, k, l2=l2)) / (2 * h)
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-8)


def test_softmax_is_numerically_stable_for_huge_logits():
    X = np.array([[1.0, -1.0], [2.0, 0.5]])
    y = np.array([0, 1])
    w = np.full(S.param_dim(2, 3), 1e4)
    w[:6] *= np.arange(6)
    assert np.isfinite(S.loss(w, X, y, 3))
    assert np.all(np.isfinite(S.gradient(w, X, y, 3)))


def test_inputs_not_modified_and_shape_validation():
    X = np.ones((3, 2))
    y = np.array([0, 1, 2])
    w = np.arange(S.param_dim(2, 3), dtype=np.float64)
    w0, X0 = w.copy(), X.copy()
    S.gradient(w, X, y, 3)
    assert np.array_equal(w, w0) and np.array_equal(X, X0)
    with pytest.raises(ValueError, match="params"):
        S.gradient(w[:-1], X, y, 3)
    with pytest.raises(ValueError, match="labels"):
        S.gradient(w, X, np.array([0, 1, 3]), 3)
    with pytest.raises(ValueError, match="y must have shape"):
        S.loss(w, X, y[:2], 3)


def test_full_batch_gd_on_digits_exceeds_90_percent():
    task = load_digits_task()
    w = S.init_params(task.n_features, task.n_classes)
    l0 = S.loss(w, task.X_train, task.y_train, task.n_classes)
    assert l0 == pytest.approx(np.log(10))
    for _ in range(200):
        w = w - 1.0 * S.gradient(w, task.X_train, task.y_train, task.n_classes)
    assert S.loss(w, task.X_train, task.y_train, task.n_classes) < 0.3
    acc = S.accuracy(w, task.X_test, task.y_test, task.n_classes)
    assert acc > 0.9
    assert S.predict(w, task.X_test, task.n_classes).dtype == np.int64
