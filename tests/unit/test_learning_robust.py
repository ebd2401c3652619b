"""Tests for impl.learning.robust (Rule R-11, RESAM)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from asfl.impl.learning.robust import (
    AGGREGATORS,
    coordinate_median,
    get_aggregator,
    mean,
    trimmed_mean,
)

ROBUST = [trimmed_mean, coordinate_median]
bounded = st.floats(-100.0, 100.0, allow_nan=False)


@st.composite
def matrix_and_f(draw, max_n=9, max_d=5):
    f = draw(st.integers(0, 4))
    n = draw(st.integers(2 * f + 1, max(2 * f + 1, max_n)))
    d = draw(st.integers(1, max_d))
    X = draw(arrays(np.float64, (n, d), elements=bounded))
    return X, f


def test_registry():
    assert {"mean", "trimmed_mean", "coordinate_median"} <= set(AGGREGATORS)
    assert get_aggregator("trimmed_mean") is trimmed_mean
    with pytest.raises(ValueError, match="coordinate_median, .*mean, .*trimmed_mean"):
        get_aggregator("no_such_rule")


def test_known_values():
    X = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [100.0, -50.0], [4.0, 40.0]])
    np.testing.assert_allclose(mean(X, 1), [22.0, 10.0])
    np.testing.assert_allclose(trimmed_mean(X, 1), [3.0, 20.0])
    np.testing.assert_allclose(coordinate_median(X, 1), [3.0, 20.0])
    np.testing.assert_allclose(coordinate_median(X[:4], 1), [2.5, 15.0])
    np.testing.assert_allclose(trimmed_mean(X, 0), mean(X, 0))


@pytest.mark.parametrize("agg", ROBUST)
def test_validation(agg):
    with pytest.raises(ValueError, match="n > 2f"):
        agg(np.zeros((4, 3)), 2)
    with pytest.raises(ValueError, match="f must be"):
        agg(np.zeros((4, 3)), -1)
    with pytest.raises(ValueError, match="2-D"):
        agg(np.zeros(4), 0)
    with pytest.raises(ValueError, match="2-D"):
        agg(np.zeros((0, 3)), 0)
    with pytest.raises(ValueError, match="NaN"):
        agg(np.array([[0.0], [np.nan], [1.0]]), 1)


@settings(max_examples=60, deadline=None)
@given(xf=matrix_and_f(), name=st.sampled_from(sorted(AGGREGATORS)), seed=st.integers(0, 1000))
def test_permutation_invariance_and_input_untouched(xf, name, seed):
    X, f = xf
    agg = AGGREGATORS[name]
    X0 = X.copy()
    out = agg(X, f)
    assert np.array_equal(X, X0)
    assert out.shape == (X.shape[1],) and out.dtype == np.float64
    perm = np.random.default_rng(seed).permutation(X.shape[0])
    np.testing.assert_allclose(agg(X[perm], f), out, rtol=1e-12, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    xf=matrix_and_f(),
    name=st.sampled_from(sorted(AGGREGATORS)),
    t=arrays(np.float64, 5, elements=bounded),
)
def test_translation_equivariance(xf, name, t):
    X, f = xf
    t = t[: X.shape[1]]
    agg = AGGREGATORS[name]
    np.testing.assert_allclose(agg(X + t, f), agg(X, f) + t, rtol=0, atol=1e-9)


@settings(max_examples=80, deadline=None)
@given(
    data=st.data(),
    f=st.integers(0, 4),
    extra=st.integers(1, 5),
    d=st.integers(1, 5),
    agg=st.sampled_from(ROBUST),
)
def test_output_within_honest_range(data, f, extra, d, agg):
    """Resilient-averaging sanity bound: <= f arbitrary rows cannot leave the honest hull."""
    n_bad = data.draw(st.integers(0, f))
    n_honest = f + extra + (f - n_bad)  # total n = 2f + extra > 2f
    honest = data.draw(arrays(np.float64, (n_honest, d), elements=bounded))
    bad = data.draw(arrays(np.float64, (n_bad, d), elements=st.floats(-1e6, 1e6)))
    X = np.vstack([honest, bad])
    X = X[np.random.default_rng(data.draw(st.integers(0, 1000))).permutation(X.shape[0])]
    out = agg(X, f)
    tol = 1e-9
    assert np.all(out >= honest.min(axis=0) - tol)
    assert np.all(out <= honest.max(axis=0) + tol)


def test_mean_is_not_robust():
    X = np.vstack([np.zeros((4, 2)), np.full((1, 2), 1e6)])
    assert np.all(mean(X, 1) > 1.0)
    assert np.all(trimmed_mean(X, 1) == 0.0)
