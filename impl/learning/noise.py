"""Per-client Skellam noise for distributed differential privacy (Decision D-9).

Every released value is a sum over a certified set of at least `q_min` clients of their
fixed-point updates (D-5). Each client adds, per coordinate, integer noise
``Sk(v) = Pois(v/2) - Pois(v/2)`` of variance ``v = mu / q_min``; sums of independent
Skellam variables are Skellam with the variances added, so a sum over `q >= q_min`
clients carries exactly ``Sk(q mu / q_min)``, at least the central Skellam mechanism's
``Sk(mu)`` (Agarwal, Kairouz, Liu 2021). The noise is integer, so the revealed sum is
the Skellam mechanism's output itself, not an approximation of it after rounding.

The variance has one definition, ``ProtocolConfig.client_noise_var``; the draw has one
function, :func:`add_noise`, which the client node calls once per submission (R-4,
D-13) with the generator it was given (the simulator seeds it; a deployment injects a
ChaCha20 generator keyed by OS entropy). :func:`tail_bound` gives the noise headroom of
the fixed-point bound (D-5).

Two samplers (D-9). A call of ``size >= 2^m`` draws, where ``2^m <= MAX_COLUMNS`` is the
column count of the variance's alias table, samples the certified table of
:mod:`asfl.impl.learning.skellam_table` (built once per variance and process, cached): its
law ``Q`` is zero outside ``[-K, K]``, where ``P(|Sk(V)| > K) <= eta = 2^-256``, and within
``e^-r <= Q(k) / P(k) <= e^r`` of ``Sk(V)`` inside, ``r <= 2^-96`` certified at build. Over a
run that draws ``N`` noise coordinates in all, the mechanism with ``Q`` is ``(eps + 2 r N,
e^(r N) (delta + e^eps N eta))``-DP whenever the one with exact Skellam noise is ``(eps,
delta)``-DP (D-9 gives the derivation and the figures). Smaller calls (a one-off build of
``O(K)`` would dominate them) and larger variances draw two numpy Poissons, as before.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from asfl.impl.field import FieldVec, embed_int
from asfl.impl.learning import skellam_table

IntArray = NDArray[np.int64]

MAX_VARIANCE = 2.0**60
"""Largest per-coordinate variance drawn: numpy's Poisson sampler needs lam < 2^62 or so."""


def _check_variance(variance: float) -> None:
    if not (math.isfinite(variance) and 0 <= variance <= MAX_VARIANCE):
        raise ValueError(f"Skellam variance must be finite and in [0, 2^60], got {variance}")


def uses_table(variance: float, size: int) -> bool:
    """Whether :func:`skellam` draws ``size`` values of ``Sk(variance)`` from the alias table:
    iff the table has at most MAX_COLUMNS columns and the call draws at least as many values
    (module docstring)."""
    if variance == 0:
        return False
    n = 1 << _columns_log2(variance)
    return n <= skellam_table.MAX_COLUMNS and size >= n


@lru_cache(maxsize=64)
def _columns_log2(variance: float) -> int:
    return skellam_table.columns_log2(variance)


def skellam(variance: float, size: int, rng: np.random.Generator) -> IntArray:
    """``size`` independent draws of ``Sk(variance)`` (symmetric, integer, variance
    ``variance``): from the certified alias table when :func:`uses_table`, else as a
    difference of two Poisson variables of mean ``variance / 2`` each."""
    _check_variance(variance)
    if variance == 0:
        return np.zeros(size, dtype=np.int64)
    if uses_table(variance, size):
        table = skellam_table.build(variance)
        assert table is not None  # uses_table checked the column bound
        return table.sample(size, rng)
    lam = variance / 2.0
    out = rng.poisson(lam, size).astype(np.int64, copy=False)
    out -= rng.poisson(lam, size)  # the same two draws, in the same order, with no copies
    return out


def add_noise(x: IntArray, variance: float, rng: np.random.Generator) -> IntArray:
    """Return a new int64 array ``x + Sk(variance)`` per coordinate; ``x`` is not modified."""
    q = np.asarray(x, dtype=np.int64)
    out = skellam(variance, q.size, rng).reshape(q.shape)
    out += q
    return out


def log_tail(variance: float, t: float) -> float:
    """Natural log of the Chernoff bound on ``P(|Sk(variance)| >= t)`` for ``t > 0``.

    ``log E exp(s X) = variance (cosh s - 1)``; at ``s = asinh(t / variance)`` the bound
    ``2 exp(variance (cosh s - 1) - s t)`` is ``2 exp(-(t asinh(u) - variance (sqrt(1 + u^2)
    - 1)))`` with ``u = t / variance`` (both tails, hence the factor 2). The bound holds at
    every ``s >= 0``; for ``u > 1e150`` (tiny variances, where ``u^2`` overflows) it is taken at
    ``s = ln(2u)``, where ``cosh s = u + 1/(4u)``.
    """
    if variance == 0:
        return -math.inf
    u = t / variance
    if u > 1e150:  # u * u would overflow; at s = ln(2u): variance (cosh s - 1) = t + V^2/(4t) - V
        s = math.log(2.0) + math.log(t) - math.log(variance)
        return math.log(2.0) - (t * s - (t + variance * variance / (4 * t) - variance))
    excess = u * u / (math.sqrt(1.0 + u * u) + 1.0)  # sqrt(1 + u^2) - 1 without cancellation
    return math.log(2.0) - (t * math.asinh(u) - variance * excess)


def tail_bound(variance: float, log2_failure: int) -> int:
    """Smallest integer ``T >= 0`` with ``P(|Sk(variance)| >= T) <= 2^log2_failure`` by
    :func:`log_tail` (0 without noise)."""
    _check_variance(variance)
    if variance == 0:
        return 0
    target = log2_failure * math.log(2.0)
    lo, hi = 0, 1
    while log_tail(variance, hi) > target:  # the bound decreases in t
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if log_tail(variance, mid) <= target else (mid, hi)
    return hi


def noisy_update(q: IntArray, variance: float, rng: np.random.Generator) -> FieldVec:
    """The client's submitted value (R-4): ``q + Sk(variance)`` embedded in GF(P) by reduction
    mod P, which is exact for every integer (D-5), so a revealed sum is always a function of
    the true noisy sum, even in the ``2^-64`` event that the noise exceeds D-5's headroom."""
    return embed_int(add_noise(q, variance, rng), overwrite=True)
