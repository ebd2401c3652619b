"""Tests for impl.learning.noise: the Skellam sampler the client calls (D-9) and the tail
bound of D-5's noise headroom.

The calibration ``v = (z Delta_2)^2 / q_min`` is checked on the noise the client node
actually adds, in tests/impl/test_noise_node.py. False alarms: each statistical assertion
here rejects a correct sampler with probability at most 1e-6 (fixed seeds).
"""

import math

import numpy as np
import pytest
from scipy import stats

from asfl.impl.field import HALF, P
from asfl.impl.learning.noise import add_noise, log_tail, noisy_update, skellam, tail_bound


def test_skellam_is_integer_reproducible_and_has_its_variance():
    """Sk(v): int64, the same draws from the same seed, mean 0 and variance v (chi-square on
    the sample variance and a z-test on the mean, each at 5e-7)."""
    n = 200_000
    for v in (0.5, 7.0, 3e4, 2.5e8):
        a = skellam(v, n, np.random.default_rng(3))
        assert a.dtype == np.int64
        assert np.array_equal(a, skellam(v, n, np.random.default_rng(3)))
        assert abs(a.mean()) <= stats.norm.isf(2.5e-7) * math.sqrt(v / n)
        # Var of the sample variance: (mu4 - v^2)/n with Skellam's excess kurtosis 1/v
        sd = math.sqrt((2 * v * v + v) / n)
        assert abs(a.var() - v) <= stats.norm.isf(2.5e-7) * sd * 1.01
    assert not skellam(0.0, 5, np.random.default_rng(0)).any()


def test_skellam_matches_its_law():
    """Chi-square goodness of fit of Sk(v) against scipy's Skellam pmf (at 1e-6)."""
    v, n = 6.0, 100_000
    a = skellam(v, n, np.random.default_rng(11))
    ks = np.arange(-12, 13)
    expected = stats.skellam.pmf(ks, v / 2, v / 2) * n
    observed = np.array([(a == k).sum() for k in ks])
    tails = n - observed.sum(), n - expected.sum()
    chi2 = float(((observed - expected) ** 2 / expected).sum() + (tails[0] - tails[1]) ** 2 / tails[1])
    assert chi2 <= stats.chi2.isf(1e-6, len(ks))


def test_add_noise_and_noisy_update():
    """add_noise returns a new array x + Sk(v); noisy_update embeds it mod P exactly, even
    beyond the centred range."""
    x = np.arange(-3, 5, dtype=np.int64)
    x0 = x.copy()
    a = add_noise(x, 10.0, np.random.default_rng(1))
    assert np.array_equal(x, x0) and a is not x
    assert np.array_equal(a - x, skellam(10.0, x.size, np.random.default_rng(1)))
    assert np.array_equal(add_noise(x, 0.0, np.random.default_rng(0)), x)
    big = np.array([HALF + 5, -HALF - 5, -1, 0], dtype=np.int64)
    f = noisy_update(big, 0.0, np.random.default_rng(0))
    assert f.tolist() == [(HALF + 5) % P, (-HALF - 5) % P, P - 1, 0]
    with pytest.raises(ValueError, match="variance"):
        skellam(-1.0, 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="variance"):
        skellam(float("nan"), 3, np.random.default_rng(0))


@pytest.mark.parametrize("v", [3.0, 40.0, 1e4, 1e9])
def test_log_tail_bounds_the_exact_tail(v):
    """The Chernoff bound is >= the exact two-sided tail (scipy's Skellam survival function,
    where it is accurate: probabilities >= 1e-12)."""
    sd = math.sqrt(v)
    for mult in (1, 2, 4, 6):
        t = math.ceil(mult * sd)
        exact = 2 * stats.skellam.sf(t - 1, v / 2, v / 2)
        if exact >= 1e-12:
            assert math.log(exact) <= log_tail(v, t) + 1e-12


def test_tail_bound_is_the_smallest_integer_meeting_the_target():
    for v in (1.0, 50.0, 1e6, 2.0**60):
        t = tail_bound(v, -64)
        assert log_tail(v, t) <= -64 * math.log(2) < log_tail(v, t - 1)
        # for large v the law is nearly Gaussian: about 9.4 standard deviations at 2^-64
        if v >= 1e6:
            assert 9.0 < t / math.sqrt(v) < 9.8
    assert tail_bound(0.0, -64) == 0
    assert tail_bound(1e4, -128) > tail_bound(1e4, -64) > tail_bound(1e3, -64)
