"""Shamir sharing of GF(P) vectors (Decision D-3) and error-detecting decoding (Decision D-4).

Aggregator ``j`` (0-based index) holds the evaluation at ``x = j + 1`` of a polynomial of
degree ``t`` whose constant term is the secret; every coordinate of a vector is shared
with its own polynomial. Shares are linear, so a sum of shares is a share of the sum.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from asfl.impl import field
from asfl.impl.crypto import prg_field_words
from asfl.impl.field import DTYPE, FieldVec, P, Words, inv

_P = np.uint64(P)
_PREFIX = 64  # coordinates compared first, before the full vector, in consistency checks


def coeff_domain(k: int) -> bytes:
    """PRG domain of the k-th random coefficient: ``b"coeff" + uint32_le(k)`` (D-3)."""
    return b"coeff" + k.to_bytes(4, "little")


def share_vector(secret: FieldVec, t: int, n: int, coeff_seed: bytes) -> list[Words]:
    """Split ``secret`` into ``n`` shares with threshold degree ``t`` (Decision D-3).

    Coefficient ``a_k`` (k = 1..t) is ``prg_field_vector(coeff_seed, d, coeff_domain(k))``;
    share ``j`` is ``f(j + 1) = secret + sum_k a_k (j+1)^k mod P``, returned as uint32
    words (the form the wire and the encryption take). ``coeff_seed`` must be fresh
    (secret, never reused) for each sharing; ``secret``'s entries must be reduced.

    Evaluation (exact in GF(P)): ``f(0) = secret``, ``f(1) = secret + sum_k a_k`` and
    ``f(2..t)`` by Horner's rule; then every further point by forward differences: for a
    polynomial of degree ``t`` over any commutative ring, ``Delta^{t} f`` is constant, so
    ``Delta^k f(x + 1) = Delta^k f(x) + Delta^{k+1} f(x)`` (k < t) walks the points with
    ``t`` modular additions each. With ``t = 1`` (``Delta f = a_1``) every share is the
    previous one plus ``a_1``.
    """
    if t < 0 or n < t + 1:
        raise ValueError(f"share_vector: need t >= 0 and n >= t + 1 (t={t}, n={n})")
    if n >= P:
        raise ValueError("share_vector: too many shares for GF(P)")
    s = np.asarray(secret)
    if s.ndim != 1:
        raise ValueError(f"share_vector: secret must be 1-D, got shape {s.shape}")
    d = s.shape[0]
    s32 = s.astype(np.uint32)
    if t == 0:
        return [s32.copy() for _ in range(n)]
    coeffs = [prg_field_words(coeff_seed, d, coeff_domain(k)) for k in range(1, t + 1)]
    # the difference table at x = 0: diffs[k] = Delta^k f(0), k = 0..t
    if t == 1:
        diffs = [s32, coeffs[0]]  # f(x) = s + a_1 x: Delta f = a_1
    else:
        wide = [c.astype(DTYPE) for c in coeffs]
        s64 = s.astype(DTYPE)
        diffs = [s32] + [_horner(s64, wide, x).astype(np.uint32) for x in range(1, t + 1)]
        for k in range(1, t + 1):
            for i in range(t, k - 1, -1):
                diffs[i] = field.sub_words(diffs[i], diffs[i - 1])
    shares: list[Words] = []
    for _ in range(n):
        for k in range(t):  # increasing k reads Delta^{k+1} f(x) before it moves on
            diffs[k] = field.add_words(diffs[k], diffs[k + 1])
        shares.append(diffs[0])
    return shares


def _horner(s: FieldVec, coeffs: Sequence[FieldVec], x: int) -> FieldVec:
    """``f(x) = s + sum_k a_k x^k mod P`` by Horner's rule; every product of reduced values
    is below 2**62."""
    ux = np.uint64(x)
    acc = np.multiply(coeffs[-1], ux)
    for a in reversed(coeffs[:-1]):
        acc += a
        np.remainder(acc, _P, out=acc)
        acc *= ux
    acc += s
    np.remainder(acc, _P, out=acc)
    return acc


def lagrange_coeffs(xs: Sequence[int], x: int) -> list[int]:
    """Coefficients ``c_k`` with ``f(x) = sum_k c_k f(xs[k]) mod P`` for deg f < len(xs).

    The ``xs`` must be distinct residues in ``[0, P)``; raises ``ValueError`` otherwise.
    A pure function of the points: memoised (:func:`_lagrange`), as a run reconstructs
    from the same few sets of aggregators round after round.
    """
    return list(_lagrange(tuple(int(v) for v in xs), int(x)))


@lru_cache(maxsize=1024)
def _lagrange(pts: tuple[int, ...], x: int) -> tuple[int, ...]:
    """:func:`lagrange_coeffs` of integer points (an invalid set raises, and is not kept)."""
    if len(set(pts)) != len(pts) or any(not 0 <= v < P for v in pts):
        raise ValueError(f"lagrange: evaluation points must be distinct in [0, P): {list(pts)}")
    out: list[int] = []
    for k, xk in enumerate(pts):
        num, den = 1, 1
        for m, xm in enumerate(pts):
            if m != k:
                num = num * (x - xm) % P
                den = den * (xk - xm) % P
        out.append(num * inv(den) % P)
    return tuple(out)


def lagrange_at_zero(xs: Sequence[int]) -> list[int]:
    """Coefficients so that ``f(0) = sum_k c_k f(xs[k]) mod P`` (Decision D-4)."""
    return lagrange_coeffs(xs, 0)


def _combine(vecs: Sequence[FieldVec], coeffs: Sequence[int]) -> FieldVec:
    """``sum_k coeffs[k] * vecs[k] mod P`` (entries of ``vecs`` reduced).

    Each product is < 2**62, so four can be accumulated before reducing.
    """
    acc = np.zeros(vecs[0].shape, dtype=DTYPE)
    for i, (v, c) in enumerate(zip(vecs, coeffs, strict=True)):
        acc += np.multiply(v, np.uint64(c), dtype=DTYPE)
        if i % 4 == 3:
            np.remainder(acc, _P, out=acc)
    np.remainder(acc, _P, out=acc)
    return acc


def interpolate_at(points: Mapping[int, FieldVec], x: int) -> FieldVec:
    """Evaluate at ``x`` the unique polynomial of degree < len(points) through ``points``
    (keys are evaluation points, not aggregator indices)."""
    if not points:
        raise ValueError("interpolate_at: no points")
    xs = sorted(points)
    return _combine([points[k] for k in xs], lagrange_coeffs(xs, x))


@dataclass(frozen=True, eq=False)
class DecodeResult:
    """Outcome of :func:`decode`.

    ``secret`` is f(0); ``support`` is the consistent subset of evaluation points found;
    ``inconsistent`` lists every given point not on the found polynomial (provably wrong
    when at most t points are wrong).
    """

    secret: FieldVec
    support: tuple[int, ...]
    inconsistent: tuple[int, ...]


def decode(points: Mapping[int, FieldVec], t: int, quorum: int) -> DecodeResult | None:
    """Online error-detecting reconstruction of f(0) from possibly wrong points (Decision D-4).

    ``points`` maps evaluation point x -> share(-sum) vector. Returns a result iff some
    subset of exactly ``quorum`` points lies on one polynomial of degree <= t in every
    coordinate; the first such subset in lexicographic order of sorted x is used (it is
    checked by interpolating from its first t+1 points). With at most t wrong points and
    ``quorum >= 2t + 1`` the subset holds >= t+1 correct points, which fix the true
    polynomial, so the secret is correct. In the protocol quorum = n_a - t_a with
    n_a >= 3 t_a + 1. Returns ``None`` if fewer than ``quorum`` points are given or no
    consistent subset exists yet (the caller waits for more points).

    Raises ``ValueError`` if ``quorum < 2t + 1`` or the vectors are not all 1-D of one
    length (callers pre-validate lengths). Entries are assumed reduced (< P).

    Complexity: up to C(m, quorum) subsets for m points (consistency checks are cached
    per (base, x) and compare a short prefix first), fine for n_a up to ~16.
    Berlekamp-Welch decoding (O(m^3) on a random linear combination of coordinates to
    locate errors) is the scalable alternative.
    """
    if t < 0 or quorum < 2 * t + 1:
        raise ValueError(f"decode: need t >= 0 and quorum >= 2t+1 (t={t}, quorum={quorum})")
    xs = sorted(int(x) for x in points)
    if len(xs) < quorum:
        return None
    vecs = {x: np.asarray(points[x], dtype=DTYPE) for x in xs}
    shapes = {v.shape for v in vecs.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 1:
        raise ValueError(f"decode: vectors must be 1-D of equal length, got {sorted(shapes)}")

    on_cache: dict[tuple[tuple[int, ...], int], bool] = {}
    long = next(iter(shapes))[0] > _PREFIX  # a prefix shorter than the vector is compared first

    def on_poly(base: tuple[int, ...], x: int) -> bool:
        """Whether point x lies on the polynomial interpolated through ``base``."""
        key = (base, x)
        hit = on_cache.get(key)
        if hit is not None:
            return hit
        cs = lagrange_coeffs(base, x)
        bvecs = [vecs[b] for b in base]
        ok = (
            not long or bool(np.array_equal(_combine([v[:_PREFIX] for v in bvecs], cs), vecs[x][:_PREFIX]))
        ) and bool(np.array_equal(_combine(bvecs, cs), vecs[x]))
        on_cache[key] = ok
        return ok

    for subset in itertools.combinations(xs, quorum):
        base = subset[: t + 1]
        if all(on_poly(base, x) for x in subset[t + 1 :]):
            secret = _combine([vecs[b] for b in base], lagrange_at_zero(base))
            bad = tuple(x for x in xs if x not in subset and not on_poly(base, x))
            return DecodeResult(secret=secret, support=subset, inconsistent=bad)
    return None
