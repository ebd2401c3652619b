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
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from asfl.impl.field import FieldVec, embed_int

IntArray = NDArray[np.int64]

MAX_VARIANCE = 2.0**60
"""Largest per-coordinate variance drawn: numpy's Poisson sampler needs lam < 2^62 or so."""


def _check_variance(variance: float) -> None:
    if not (math.isfinite(variance) and 0 <= variance <= MAX_VARIANCE):
        raise ValueError(f"Skellam variance must be finite and in [0, 2^60], got {variance}")


def skellam(variance: float, size: int, rng: np.random.Generator) -> IntArray:
    """``size`` independent draws of ``Sk(variance)``: a difference of two Poisson variables
    of mean ``variance / 2`` each (symmetric, integer, variance ``variance``)."""
    _check_variance(variance)
    if variance == 0:
        return np.zeros(size, dtype=np.int64)
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
    - 1)))`` with ``u = t / variance`` (both tails, hence the factor 2).
    """
    if variance == 0:
        return -math.inf
    u = t / variance
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
