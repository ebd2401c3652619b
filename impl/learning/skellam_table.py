"""Alias-table sampler of the Skellam law ``Sk(V)`` with a certified error bound (D-9).

``Sk(V) = Pois(V/2) - Pois(V/2)`` has ``P(k) = exp(-V) I_k(V)``. :func:`build` tabulates it
on the window ``|k| <= K`` as a Walker/Vose alias table whose sampled law ``Q`` is known
exactly (integer weights ``w_k / W``, ``W = 2^(m + T)``, an exact integer construction) and
certifies it against ``P``:

* **Tail.** ``K`` is the smallest integer with ``P(|X| > K) <= eta = 2^TAIL_LOG2`` by the
  Chernoff bound :func:`asfl.impl.learning.noise.log_tail` (asked at ``eta / 2``, a margin
  far above its floating-point error); ``Q`` puts no mass outside the window.
* **Entries.** The ratios ``rho_k = I_{k+1}(V) / I_k(V)`` satisfy ``rho_{k-1} = V / (2k + V
  rho_k)`` exactly and lie in ``(0, 1)``. The map is decreasing, so running it down from
  ``k = M`` once from ``0`` and once from ``1``, in fixed-point integers of FIX_BITS
  fractional bits rounded outwards, brackets every ``rho_k``: only the recurrence and
  ``0 < rho < 1`` are used. Products bracket ``t_k = I_k / I_0``, their window sums
  ``S_lo <= S <= S_hi``, and the full normaliser lies in ``[S, S / (1 - eta)]``, so ``P(k)``
  lies in ``[t_lo (1 - eta) / S_hi, t_hi / S_lo]``. With ``w_k = floor(t_lo W / S_lo)``
  (the remainder, at most ``2K + 1`` units, added at ``k = 0``) this gives, for every ``|k|
  <= K``, ``e^-r <= Q(k) / P(k) <= e^r`` with ``r`` computed by :func:`_certify` from exact
  integers (the extremes sit at ``k = 0`` and ``k = K``: ``t_hi / t_lo`` grows with ``k``
  and ``t_lo`` falls); a table whose ``r`` exceeds ``2^REL_LOG2`` is refused.

Sampling draws ``|X|`` from an alias table over ``0..K`` (weights ``w_0`` and ``2 w_k``) and
a sign, which gives each ``k`` exactly ``w_k / W``. Each draw reads 32 uniform bits (the two
halves of the injected generator's 64-bit words, in memory order): the top ``m`` pick one of
``2^m`` columns, the next is the sign and the other ``31 - m`` are the first bits of a
uniform coin compared with the column's threshold ``thr / 2^T`` (a column is 32 bits, so the
table stays in cache; draws go in chunks of CHUNK for the same reason). On a tie of those
bits (probability ``2^-(31-m)`` a draw) a fresh 64-bit word is compared with the threshold's
next 64 bits, and on a second tie the comparison is finished exactly against the rebuilt
threshold. The sampled law is therefore exactly ``Q``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

TAIL_LOG2 = -256
"""``eta``: the table's window leaves out ``P(|Sk(V)| > K) <= 2^-256`` (D-9)."""
REL_LOG2 = -96
"""Largest certified per-entry error ``r`` a table may have (D-9)."""
MAX_COLUMNS = 2**20
"""Largest table (``2^m >= K + 1`` columns, 12 MiB); beyond it two Poissons are drawn (D-9)."""
FIX_BITS = 384
"""Fractional bits of the fixed-point recurrence."""
THR_BITS = 384
"""``T``: a column holds ``2^T`` weight units, ``W = 2^(m + T)``."""
BRACKET_BITS = 128
"""Bits by which the recurrence's bracket must have contracted between ``M`` and ``K``."""
CHUNK = 1 << 16
"""Draws processed at a time (the temporaries stay in cache)."""
CACHE_TABLES = 4
"""Tables kept per process (least recently used dropped): one per variance."""

_U64 = np.uint64
_WORD_MAX = 2**64 - 1


@dataclass(frozen=True)
class Certificate:
    """What :func:`build` proved: window ``[-K, K]`` (``k_max``), ``P``-mass ``<= eta`` outside
    it, and ``e^-r <= Q(k) / P(k) <= e^r`` inside it."""

    variance: float
    k_max: int
    eta: float
    r: float


@dataclass(frozen=True)
class AliasTable:
    """``2^m`` columns over ``|X| = 0..K``: ``packed[i] = top << m | alias`` with ``top`` the
    first ``31 - m`` bits of column ``i``'s threshold, ``second[i]`` the next 64 bits."""

    cert: Certificate
    m: int
    packed: NDArray[np.int32]
    second: NDArray[np.uint64]

    def sample(self, size: int, rng: np.random.Generator) -> NDArray[np.int64]:
        """``size`` independent draws of ``Q`` as int64 (module docstring)."""
        return self.from_bits(_words((size + 1) // 2, rng).view(np.uint32)[:size], rng)

    def from_bits(self, x: NDArray[np.uint32], rng: np.random.Generator) -> NDArray[np.int64]:
        """The draws that the uniform 32-bit values ``x`` select (module docstring); ties read
        more words from ``rng``."""
        m = self.m
        out = np.empty(x.size, dtype=np.int64)
        coin_mask, alias_mask = (1 << (31 - m)) - 1, (1 << m) - 1
        tied: list[NDArray[np.intp]] = []
        for a in range(0, x.size, CHUNK):
            xc = x[a : a + CHUNK]
            idx = (xc >> np.uint32(32 - m)).astype(np.intp)
            v = np.take(self.packed, idx)
            top = v >> m
            coin = xc.view(np.int32) & coin_mask
            v &= alias_mask
            o = np.where(coin < top, idx, v)
            t = np.flatnonzero(coin == top)
            if t.size:
                tied.append(t + a)
            sign = (xc << np.uint32(m)).view(np.int32) >> 31  # -1 where bit 31 - m is set
            o ^= sign
            o -= sign  # (a ^ -1) + 1 = -a
            out[a : a + CHUNK] = o
        if tied:
            ties = np.concatenate(tied)
            xt = x[ties]
            idx = (xt >> np.uint32(32 - m)).astype(np.intp)
            o = self._ties(idx, (self.packed[idx] & alias_mask).astype(np.intp), rng)
            out[ties] = np.where((xt >> np.uint32(31 - m)) & np.uint32(1), -o, o)
        return out

    def _ties(
        self, idx: NDArray[np.intp], alias: NDArray[np.intp], rng: np.random.Generator
    ) -> NDArray[np.intp]:
        """Columns ``idx`` whose coins tied their thresholds' first bits: a fresh word against
        the next 64 bits, then (on a second tie) the exact remainder."""
        e = _words(idx.size, rng)
        second = self.second[idx]
        out = np.where(e < second, idx, alias)
        low = THR_BITS - (31 - self.m) - 64
        for j in np.flatnonzero(e == second).tolist():
            rest = _thresholds(self.cert.variance)[int(idx[j])] & ((1 << low) - 1)
            nw = -(-low // 64)
            coin = int.from_bytes(_words(nw, rng).astype(">u8").tobytes(), "big") >> (64 * nw - low)
            out[j] = idx[j] if coin < rest else alias[j]
        return out


def _words(n: int, rng: np.random.Generator) -> NDArray[np.uint64]:
    return rng.integers(0, _WORD_MAX, size=n, dtype=_U64, endpoint=True)


def window(variance: float) -> int:
    """``K``: the smallest integer with ``P(|Sk(variance)| > K) <= 2^TAIL_LOG2``."""
    from asfl.impl.learning.noise import tail_bound  # noise.py imports this module

    return max(0, tail_bound(variance, TAIL_LOG2 - 1) - 1)


def columns_log2(variance: float) -> int:
    """``m``: the ``2^m`` columns hold the ``K + 1`` values of ``|X|``."""
    return max(1, window(variance).bit_length())


def _start(variance: float, k_max: int) -> int:
    """``M``: the bracket's gap shrinks by about ``rho_k^2 = exp(-2 asinh(k / V))`` a step, so
    it has lost BRACKET_BITS bits by ``K`` once ``sum_{K<k<=M} 2 asinh(k / V)`` exceeds
    ``BRACKET_BITS ln 2`` (a heuristic start; the certificate checks the result)."""
    need = BRACKET_BITS * np.log(2.0)
    m, step, total = k_max + 1, max(64, k_max // 4), 0.0
    while True:
        c = total + np.cumsum(2 * np.arcsinh(np.arange(m, m + step, dtype=np.float64) / variance))
        if c[-1] >= need:
            return m + int(np.searchsorted(c, need))
        total, m = float(c[-1]), m + step


def _ratios(variance: float, k_max: int) -> tuple[list[int], list[int]]:
    """Brackets ``lo[k] <= t_k 2^FIX_BITS <= hi[k]`` of ``t_k = I_k(V) / I_0(V)``, ``k <= K``."""
    one = 1 << FIX_BITS
    n_v, d_v = variance.as_integer_ratio()
    num = n_v << (2 * FIX_BITS)
    lows, highs = [0] * k_max, [0] * k_max
    lo, hi = 0, one
    for k in range(_start(variance, k_max), 0, -1):
        base = (2 * k * d_v) << FIX_BITS
        lo, hi = num // (base + n_v * hi), min(one, -(-num // (base + n_v * lo)))
        if k <= k_max:
            lows[k - 1], highs[k - 1] = lo, hi
    t_lo, t_hi = [one], [one]
    for a, b in zip(lows, highs, strict=True):
        t_lo.append(t_lo[-1] * a >> FIX_BITS)
        t_hi.append(-(-(t_hi[-1] * b) >> FIX_BITS))
    return t_lo, t_hi


def _weights(variance: float) -> tuple[tuple[int, ...], Certificate]:
    """The window's integer weights ``w_0..w_K`` (``w_-k = w_k``), summing to ``W``, and their
    certificate (module docstring)."""
    k_max = window(variance)
    m = columns_log2(variance)
    t_lo, t_hi = _ratios(variance, k_max)
    s_lo, s_hi = 2 * sum(t_lo) - t_lo[0], 2 * sum(t_hi) - t_hi[0]
    total = 1 << (m + THR_BITS)
    half = [t * total // s_lo for t in t_lo]
    extra = total - (2 * sum(half) - half[0])
    half[0] += extra
    cert = Certificate(variance, k_max, 2.0**TAIL_LOG2, _certify(t_lo, t_hi, s_lo, s_hi, total, extra))
    if not cert.r <= 2.0**REL_LOG2:
        raise ArithmeticError(f"Skellam table at variance {variance}: certified r = {cert.r} > 2^{REL_LOG2}")
    return tuple(half), cert


def _certify(t_lo: list[int], t_hi: list[int], s_lo: int, s_hi: int, total: int, extra: int) -> float:
    """``r`` with ``e^-r <= Q(k) / P(k) <= e^r`` on the window (module docstring): ``Q / P <=
    (S_hi / S_lo) (1 + extra S_lo / (t_0 W)) / (1 - eta)`` (largest at ``k = 0``) and ``P / Q <=
    t_hi W / (t_lo W - S_lo)`` (largest at ``k = K``); ``log(1 + x) <= x``, ``-log(1 - eta) <=
    2 eta``. Python's ``int / int`` rounds correctly; a relative 2^-50 covers the float steps."""
    up = ((s_hi - s_lo) * t_lo[0] * total + s_hi * extra * s_lo) / (s_lo * t_lo[0] * total)
    up += 2 * 2.0**TAIL_LOG2
    k = len(t_lo) - 1
    down = (t_hi[k] * total - (t_lo[k] * total - s_lo)) / (t_lo[k] * total - s_lo)
    return max(up, down) * (1 + 2.0**-50)


def _vose(half: tuple[int, ...], m: int) -> tuple[list[int], list[int]]:
    """Vose's alias construction in exact integers over ``|X|`` (weights ``w_0``, ``2 w_k``):
    per column its threshold (of ``2^T``) and alias; a full column is its own alias with
    threshold 0."""
    k_max = len(half) - 1
    n, cap = 1 << m, 1 << THR_BITS
    w = [half[0]] + [2 * h for h in half[1:]] + [0] * (n - k_max - 1)
    thr, alias = [0] * n, list(range(n))
    small = [i for i in range(n) if w[i] < cap]
    large = [i for i in range(n) if w[i] >= cap]
    while small and large:
        s, g = small.pop(), large[-1]
        thr[s], alias[s] = w[s], g
        w[g] -= cap - w[s]
        if w[g] < cap:
            small.append(large.pop())
    if small or any(w[i] != cap for i in large):
        raise ArithmeticError("alias construction: weights do not sum to the table's capacity")
    return thr, alias


def _thresholds(variance: float) -> list[int]:
    """The exact thresholds, rebuilt (for a second tie, probability ``2^-(95-m)`` a draw)."""
    return _vose(_weights(variance)[0], columns_log2(variance))[0]


@lru_cache(maxsize=CACHE_TABLES)
def build(variance: float) -> AliasTable | None:
    """The certified alias table of ``Sk(variance)``, ``variance > 0``, or None if it would need
    more than MAX_COLUMNS columns. Cached per variance (CACHE_TABLES)."""
    m = columns_log2(variance)
    if 1 << m > MAX_COLUMNS:
        return None
    half, cert = _weights(variance)
    thr, alias = _vose(half, m)
    low = THR_BITS - (31 - m)
    packed = np.fromiter(((t >> low) << m | a for t, a in zip(thr, alias, strict=True)), np.int32, len(thr))
    second = np.fromiter(((t >> (low - 64)) & _WORD_MAX for t in thr), _U64, len(thr))
    return AliasTable(cert, m, packed, second)
