"""Unit tests of impl/learning/robust.py: edge cases and definitions on small inputs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from asfl.impl.learning import robust

ROBUST = [a for a in robust.AGGREGATORS if a != "mean"]


@pytest.mark.parametrize("name", ROBUST)
def test_validation(name):
    agg = robust.AGGREGATORS[name]
    with pytest.raises(ValueError, match="n > 2f"):
        agg(np.zeros((4, 3)), 2)
    with pytest.raises(ValueError, match="f must be"):
        agg(np.zeros((4, 3)), -1)
    with pytest.raises(ValueError, match="NaN"):
        agg(np.array([[0.0], [np.nan], [1.0]]), 1)


@pytest.mark.parametrize("name", ROBUST)
def test_identical_rows_give_that_row(name):
    X = np.tile([1.5, -2.0, 3.0], (5, 1))
    np.testing.assert_allclose(robust.AGGREGATORS[name](X, 2), X[0], rtol=0, atol=1e-12)


def test_geometric_median_in_one_dimension_is_the_median():
    X = np.array([[0.0], [1.0], [7.0], [8.0], [100.0]])
    np.testing.assert_allclose(robust.geometric_median(X, 2), [7.0], atol=1e-6)
    assert robust.geometric_median(X, 2, max_iter=0)[0] == 7.0  # the start: coordinate median


def test_geometric_median_minimises_sum_of_distances():
    X = np.random.default_rng(5).normal(size=(9, 4))
    z = robust.geometric_median(X, 2)

    def cost(y):
        return np.linalg.norm(X - y, axis=1).sum()

    rng = np.random.default_rng(6)
    for _ in range(50):
        assert cost(z) <= cost(z + rng.normal(scale=1e-3, size=4)) + 1e-12


def test_mda_exact_is_brute_force():
    X = np.random.default_rng(7).normal(size=(7, 3))
    f = 2
    best = min(
        itertools.combinations(range(7), 5),
        key=lambda s: max(np.linalg.norm(X[i] - X[j]) for i in s for j in s),
    )
    np.testing.assert_allclose(robust.mda(X, f), X[list(best)].mean(axis=0), rtol=1e-12)


def test_mda_ball_approximation_beyond_the_subset_limit():
    X = np.random.default_rng(8).normal(size=(7, 3))
    X[:2] += 50.0
    # with no exhaustive search allowed, the ball around an honest row is found
    np.testing.assert_allclose(robust.mda(X, 2, max_subsets=0), X[2:].mean(axis=0), rtol=1e-12)


def test_centered_clipping_with_huge_radius_is_the_mean():
    X = np.random.default_rng(9).normal(size=(5, 3))
    np.testing.assert_allclose(robust.centered_clipping(X, 1, tau=1e9, iters=1), X.mean(axis=0), rtol=1e-12)


def test_meamed_by_hand():
    X = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [100.0, -50.0], [4.0, 40.0]])
    # coordinate 0: median 3, closest four 3, 2, 4, 1 -> 2.5; coordinate 1: median 20 -> 10,20,30,40
    np.testing.assert_allclose(robust.meamed(X, 1), [2.5, 25.0])


def test_nnm_by_hand():
    X = np.array([[0.0], [1.0], [3.0], [10.0]])
    # n - f = 3 nearest (self included): 0 -> {0,1,3}; 1 -> {0,1,3}; 3 -> {0,1,3}; 10 -> {1,3,10}
    np.testing.assert_allclose(robust.nnm(X, 1), [[4 / 3], [4 / 3], [4 / 3], [14 / 3]])


def test_bucketing_shapes_and_order():
    X = np.arange(10.0).reshape(5, 2)
    out = robust.bucketing(X, 1, s=2, order=np.array([4, 3, 2, 1, 0]))
    np.testing.assert_allclose(out, [[7.0, 8.0], [3.0, 4.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="permutation"):
        robust.bucketing(X, 1, order=np.array([0, 0, 1, 2, 3]))


def test_clipping_returns_a_new_array():
    X = np.array([[3.0, 4.0], [0.3, 0.4]])
    out = robust.clipping(X, 0, c=1.0)
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.3, 0.4]])
    assert X[0, 0] == 3.0
