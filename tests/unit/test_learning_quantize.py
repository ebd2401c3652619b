"""Tests for impl.learning.quantize (Decision D-5)."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from asfl.impl.learning.quantize import clip_l2, dequantize, max_abs_per_client, quantize, rounded_l2_bound

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=100, deadline=None)
@given(v=arrays(np.float64, st.integers(1, 20), elements=finite), c=st.floats(1e-3, 1e3))
def test_clip_l2(v, c):
    v0 = v.copy()
    out = clip_l2(v, c)
    assert np.array_equal(v, v0)  # input untouched
    assert out is not v
    assert np.linalg.norm(out) <= c
    if np.linalg.norm(v) <= c:
        assert np.array_equal(out, v)
    else:  # same direction
        np.testing.assert_allclose(out * np.linalg.norm(v), v * np.linalg.norm(out), atol=1e-6)


@settings(max_examples=100, deadline=None)
@given(
    v=arrays(np.float64, st.integers(1, 40), elements=finite), c=st.floats(1e-3, 1e3), f=st.integers(0, 20)
)
def test_rounded_update_norm_is_within_delta_2(v, c, f):
    """D-9's sensitivity: a clipped vector rounded to the grid has L2 norm <= C 2^f + sqrt(d)/2
    and L1 norm <= sqrt(d) times that."""
    q = quantize(clip_l2(v, c), f, 2**62).astype(np.float64)
    bound = rounded_l2_bound(c, f, v.size)
    assert np.linalg.norm(q) <= bound
    assert np.abs(q).sum() <= np.sqrt(v.size) * bound * (1 + 1e-12)


def test_delta_2_is_tight_up_to_the_rounding_term():
    """The rounding term sqrt(d)/2 is needed: with every coordinate just past half a step
    past the grid, the rounded norm exceeds C 2^f by nearly sqrt(d)/2 (so Delta_2 = C 2^f,
    the unrounded vector's sensitivity, would be wrong)."""
    d, f = 400, 0
    v = np.full(d, 10.5001)  # rounds up to 11 in every coordinate
    c = float(np.linalg.norm(v)) * (1 + 1e-9)
    q = quantize(clip_l2(v, c), f, 2**62).astype(np.float64)
    excess = float(np.linalg.norm(q)) - c
    assert 0.99 * np.sqrt(d) / 2 < excess <= rounded_l2_bound(c, f, d) - c


def test_clip_l2_validation():
    with pytest.raises(ValueError, match="clip norm"):
        clip_l2(np.ones(3), 0.0)
    with pytest.raises(ValueError, match="NaN"):
        clip_l2(np.array([np.nan]), 1.0)


def test_quantize_rounds_half_to_even_and_clamps():
    v = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 0.24, 100.0, -100.0, np.inf, -np.inf])
    q = quantize(v, 0, 50)
    assert q.dtype == np.int64
    assert q.tolist() == [0, 2, 2, 0, -2, 0, 50, -50, 50, -50]
    assert quantize(np.array([0.375]), 2, 10).tolist() == [2]  # 1.5 -> 2
    assert dequantize(np.array([3, -4]), 2).tolist() == [0.75, -1.0]


def test_quantize_large_bound_and_validation():
    big = 2**62
    assert quantize(np.array([1e300, -1e300]), 10, big).tolist() == [big, -big]
    with pytest.raises(ValueError, match="bound"):
        quantize(np.ones(1), 4, 2**63)
    with pytest.raises(ValueError, match="frac_bits"):
        quantize(np.ones(1), -1, 5)
    with pytest.raises(ValueError, match="NaN"):
        quantize(np.array([np.nan]), 4, 5)


def test_max_abs_per_client():
    p = 2**61 - 1
    p_half = (p - 1) // 2
    for k in (1, 7, 64, 1000):
        b = max_abs_per_client(p_half, k)
        assert b == p_half // k and k * b <= p_half and (k * (b + 1) > p_half)
    with pytest.raises(ValueError, match="too small"):
        max_abs_per_client(3, 4)
    with pytest.raises(ValueError, match="max_cluster_size"):
        max_abs_per_client(10, 0)


@settings(max_examples=100, deadline=None)
@given(
    data=st.data(),
    k=st.integers(1, 12),
    d=st.integers(1, 8),
    frac_bits=st.integers(0, 30),
)
def test_sum_error_bound_without_clamping(data, k, d, frac_bits):
    """|dequantize(sum q) - sum v| <= k * 2^-(frac_bits+1) per coordinate (D-5)."""
    p_half = (2**61 - 2) // 2
    bound = max_abs_per_client(p_half, k)
    limit = min(1e3, bound / 2.0**frac_bits)  # no clamping for |v| <= limit
    V = data.draw(arrays(np.float64, (k, d), elements=st.floats(-limit, limit)))
    Q = np.stack([quantize(v, frac_bits, bound) for v in V])
    assert np.all(np.abs(Q) <= bound)
    total = Q.sum(axis=0)
    assert np.all(np.abs(total) <= p_half)  # never wraps in GF(p)
    approx = dequantize(total, frac_bits)
    for j in range(d):
        exact = sum((Fraction(float(x)) for x in V[:, j]), Fraction(0))
        err = abs(Fraction(float(approx[j])) - exact)
        assert err <= Fraction(k, 2 ** (frac_bits + 1))


@settings(max_examples=50, deadline=None)
@given(
    V=arrays(np.float64, (5, 4), elements=finite),
    frac_bits=st.integers(0, 20),
)
def test_clamped_sum_never_wraps(V, frac_bits):
    p_half = 1000
    bound = max_abs_per_client(p_half, 5)
    total = np.stack([quantize(v, frac_bits, bound) for v in V]).sum(axis=0)
    assert np.all(np.abs(total) <= p_half)
