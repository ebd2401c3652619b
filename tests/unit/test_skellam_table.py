"""Tests for impl.learning.skellam_table, the certified alias sampler of Sk(V) (D-9), and the
choice between it and the two-Poisson draw in impl.learning.noise.

The law of a table is checked exactly (its integer weights against the alias columns and
against mpmath's Bessel function at 60 digits), then statistically on seeded samples (each
statistical assertion rejects a correct sampler with probability at most 1e-6).
"""

import math

import mpmath
import numpy as np
import pytest
import randomgen
from scipy import stats

from asfl.impl.learning import noise
from asfl.impl.learning import skellam_table as st

VARIANCES = (1e-300, 1e-20, 0.3, 6.0, 250.0, 3e4)


def _exact_pmf(v: float, ks: range) -> list[mpmath.mpf]:
    with mpmath.workdps(60):
        x = mpmath.mpf(v)
        return [mpmath.exp(-x) * mpmath.besseli(k, x) for k in ks]


def _column_law(variance: float) -> list[int]:
    """What the alias columns give each value of |X|, in weight units (each column 2^T)."""
    half, _ = st._weights(variance)
    m = st.columns_log2(variance)
    thr, alias = st._vose(half, m)
    cap = 1 << st.THR_BITS
    got = [0] * (1 << m)
    for i, (t, a) in enumerate(zip(thr, alias, strict=True)):
        if a == i:
            got[i] += cap
        else:
            got[i] += t
            got[a] += cap - t
    return got


@pytest.mark.parametrize("v", VARIANCES)
def test_alias_columns_realise_the_weights_exactly(v):
    """Vose's construction is exact: the columns give |X| = 0 weight w_0 and |X| = k weight
    2 w_k, the padding nothing, out of W = 2^(m + T)."""
    half, cert = st._weights(v)
    m = st.columns_log2(v)
    assert sum(half) * 2 - half[0] == 1 << (m + st.THR_BITS)
    want = [half[0]] + [2 * h for h in half[1:]]
    assert _column_law(v) == want + [0] * ((1 << m) - len(want))
    assert cert.k_max == len(half) - 1 and (1 << m) >= cert.k_max + 1


@pytest.mark.parametrize("v", VARIANCES[1:5])
def test_table_is_certified_against_the_exact_pmf(v):
    """Q(k) = w_k / W is within e^(+-r) of exp(-V) I_k(V) (mpmath, 60 digits) at every k of the
    window, with r <= 2^-96; the P-mass outside it is <= 2^-256; scipy's float pmf is within
    total variation 1e-12 of Q."""
    half, cert = st._weights(v)
    w_total = mpmath.mpf(2) ** (st.columns_log2(v) + st.THR_BITS)
    assert cert.r <= 2.0**st.REL_LOG2
    k_max = cert.k_max
    exact = _exact_pmf(v, range(k_max + 1))
    with mpmath.workdps(60):
        worst = max(abs(mpmath.log(mpmath.mpf(w) / w_total / p)) for w, p in zip(half, exact, strict=True))
        assert worst <= cert.r
        x, k, term, tail = mpmath.mpf(v), k_max + 1, mpmath.mpf(1), mpmath.mpf(0)
        while term > tail * mpmath.mpf(10) ** -30:  # terms fall faster than geometrically
            term = 2 * mpmath.exp(-x) * mpmath.besseli(k, x)
            tail, k = tail + term, k + 1
        assert tail <= mpmath.mpf(2) ** st.TAIL_LOG2
    ks = np.arange(-k_max, k_max + 1)
    q = np.array([float(mpmath.mpf(half[abs(k)]) / w_total) for k in ks])
    tv = 0.5 * np.abs(q - stats.skellam.pmf(ks, v / 2, v / 2)).sum()
    assert tv <= 1e-12


def test_large_table_against_scipy():
    """At V = 3e4 (4,096 columns; mpmath's series is too slow there) Q agrees with scipy's float
    pmf to a relative 1e-9 wherever that is above 1e-250, and in total variation to 1e-12."""
    v = 3e4
    half, cert = st._weights(v)
    w_total = 2 ** (st.columns_log2(v) + st.THR_BITS)
    ks = np.arange(cert.k_max + 1)
    q = np.array([h / w_total for h in half])
    p = stats.skellam.pmf(ks, v / 2, v / 2)
    ok = p > 1e-250
    assert ok.sum() > 2000
    assert np.max(np.abs(q[ok] / p[ok] - 1)) <= 1e-9
    assert np.abs(q - p).sum() * 2 - abs(q[0] - p[0]) <= 2e-12


def test_tiny_variance_table_is_a_point_mass():
    """At V = 1e-300 the window is {0}: every draw is 0, by the table. Regression: the
    Chernoff bound overflowed (u^2 with u = t / V) to NaN there, and K = 0 came out of NaN
    comparisons; now it is a finite bound, far below 2^-256."""
    for v in (1e-300, 5e-324):
        assert math.isfinite(noise.log_tail(v, 1)) and noise.log_tail(v, 1) < -600
        assert st.window(v) == 0
    assert st.window(1e-300) == 0
    assert noise.uses_table(1e-300, 8)
    assert not noise.skellam(1e-300, 1000, np.random.default_rng(5)).any()


@pytest.mark.parametrize("v", [6.0, 250.0])
def test_samples_fit_the_pmf(v):
    """Chi-square of a seeded table sample against scipy's pmf (cells of expected count >= 20,
    the rest pooled), at 1e-6; mean and variance by z-tests at 5e-7."""
    n = 300_000
    assert noise.uses_table(v, n)
    a = noise.skellam(v, n, np.random.default_rng(17))
    lo, hi = int(a.min()), int(a.max())
    ks = np.arange(lo, hi + 1)
    counts = np.bincount(a - lo, minlength=ks.size)
    expected = stats.skellam.pmf(ks, v / 2, v / 2) * n
    keep = expected >= 20
    obs = np.append(counts[keep], counts[~keep].sum() + 0)
    exp = np.append(expected[keep], n - expected[keep].sum())
    chi2 = float(((obs - exp) ** 2 / exp).sum())
    assert chi2 <= stats.chi2.isf(1e-6, obs.size - 1)
    z = stats.norm.isf(2.5e-7)
    assert abs(a.mean()) <= z * math.sqrt(v / n)
    assert abs(a.var() - v) <= z * math.sqrt((2 * v * v + v) / n) * 1.01


def test_samples_are_symmetric():
    """Q(k) = Q(-k) exactly (one weight per |k|, a fair sign bit); on a sample, the count of
    positive draws among the nonzero ones is Binomial(n, 1/2) (two-sided, 1e-6)."""
    a = noise.skellam(3e4, 400_000, np.random.default_rng(2))
    nz = int((a != 0).sum())
    pos = int((a > 0).sum())
    assert stats.binomtest(pos, nz, 0.5).pvalue >= 1e-6


def test_seeded_draws_are_deterministic_and_use_the_injected_generator(monkeypatch):
    """Same seed, same draws; another seed, other draws; a ChaCha20 generator (the deployment's,
    D-2) draws as well, and a chunk boundary changes nothing (the table reads the generator once
    per call, before the ties)."""
    v, n = 250.0, 3 * st.CHUNK + 11
    a = noise.skellam(v, n, np.random.default_rng(9))
    assert np.array_equal(a, noise.skellam(v, n, np.random.default_rng(9)))
    assert not np.array_equal(a, noise.skellam(v, n, np.random.default_rng(10)))
    chacha = np.random.Generator(randomgen.ChaCha(key=7, counter=0, rounds=20))
    b = noise.skellam(v, n, chacha)
    assert b.dtype == np.int64 and b.shape == (n,) and 0 < np.abs(b).max() <= st.window(v)
    table = st.build(v)
    assert table is not None
    bits = np.random.default_rng(4).integers(0, 2**32 - 1, n, dtype=np.uint32, endpoint=True)
    whole = table.from_bits(bits, np.random.default_rng(0))
    monkeypatch.setattr(st, "CHUNK", 1 << 30)
    assert np.array_equal(whole, table.from_bits(bits, np.random.default_rng(0)))


def _scripted(words: list[int]) -> np.random.Generator:
    it = iter(words)
    return np.random.Generator(randomgen.UserBitGenerator(lambda _s: next(it), 64))


def test_a_tied_coin_is_decided_by_the_threshold_bits():
    """A coin whose first 31 - m bits equal a column's: the next word decides against the
    threshold's next 64 bits (below: the column's own value, above: its alias), and an equal
    word defers to the exact remainder of the rebuilt threshold."""
    v = 250.0
    table = st.build(v)
    assert table is not None
    m = table.m
    thr, alias = st._vose(st._weights(v)[0], m)
    low = st.THR_BITS - (31 - m) - 64
    i = next(j for j in range(1 << m) if alias[j] != j and thr[j] & ((1 << low) - 1) and int(table.second[j]))
    top = int(table.packed[i]) >> m
    tie = np.array([(i << (32 - m)) | top, (i << (32 - m)) | (1 << (31 - m)) | top], dtype=np.uint32)
    second = int(table.second[i])
    nw = -(-low // 64)
    cases = [
        ([second - 1, second - 1], [i, -i]),
        ([second + 1 if second < 2**64 - 1 else second, second + 1], [alias[i], -alias[i]]),
        ([second, second] + [0] * nw + [2**64 - 1] * nw, [i, -alias[i]]),
    ]
    if second == 2**64 - 1:
        cases.pop(1)
    for words, want in cases:
        got = table.from_bits(tie.copy(), _scripted(words))
        assert got.tolist() == want


def test_fallbacks_and_bounds():
    """The two-Poisson draw serves calls smaller than the table and variances whose table would
    exceed MAX_COLUMNS (bit for bit the old sampler); build refuses a too-large table and a
    certificate above 2^REL_LOG2."""
    v = 3e4
    n = (1 << st.columns_log2(v)) - 1
    assert not noise.uses_table(v, n) and noise.uses_table(v, n + 1)
    rng = np.random.default_rng(3)
    old = rng.poisson(v / 2, n) - rng.poisson(v / 2, n)
    assert np.array_equal(noise.skellam(v, n, np.random.default_rng(3)), old)
    big = 2.0**40
    assert (1 << st.columns_log2(big)) > st.MAX_COLUMNS
    assert st.build(big) is None and not noise.uses_table(big, 10**9)
    assert noise.skellam(noise.MAX_VARIANCE, 4, np.random.default_rng(0)).dtype == np.int64
    assert not noise.skellam(0.0, 10**6, np.random.default_rng(0)).any()


def test_certificate_is_enforced(monkeypatch):
    monkeypatch.setattr(st, "REL_LOG2", -200)
    with pytest.raises(ArithmeticError, match="certified"):
        st._weights(6.0)


def test_cache_is_bounded():
    for v in (11.0, 12.0, 13.0, 14.0, 15.0, 16.0):
        st.build(v)
    info = st.build.cache_info()
    assert info.maxsize == st.CACHE_TABLES and info.currsize <= st.CACHE_TABLES


def test_fast_path_reads_the_bits_as_documented():
    """Against a plain reading of the module docstring, in Python integers: top m bits the
    column, the next the sign, the next 31 - m the coin, compared with the first 31 - m bits
    of the column's exact threshold (ties left out here; the test above covers them)."""
    v = 3e4
    table = st.build(v)
    assert table is not None
    m = table.m
    thr, alias = st._vose(st._weights(v)[0], m)
    x = np.random.default_rng(8).integers(0, 2**32 - 1, 20_000, dtype=np.uint32, endpoint=True)
    got = table.from_bits(x, np.random.default_rng(0)).tolist()
    checked = 0
    for xi, g in zip(x.tolist(), got, strict=True):
        i, sign, coin = xi >> (32 - m), (xi >> (31 - m)) & 1, xi & ((1 << (31 - m)) - 1)
        top = thr[i] >> (st.THR_BITS - (31 - m))
        if coin == top:
            continue
        value = i if coin < top else alias[i]
        assert g == (-value if sign else value)
        checked += 1
    assert checked >= 19_000
