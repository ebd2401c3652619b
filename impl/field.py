"""Arithmetic in the prime field GF(P), P = 2**31 - 1 (Decision D-1).

Vectors are one-dimensional numpy ``uint64`` arrays whose entries lie in ``[0, P)``.
Every operation is vectorised; products of two reduced elements are below 2**62 and
sums of up to 2**32 reduced elements stay below 2**63, so ``uint64`` never overflows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

P: int = 2**31 - 1
"""The field modulus (Decision D-1): a Mersenne prime, so elements fit in 31 bits."""

HALF: int = (P - 1) // 2
"""Largest magnitude representable by :func:`encode_signed`."""

DTYPE = np.uint64
_P = np.uint64(P)
# Reduce accumulated sums at least this often (each term < 2**31, so 2**32 terms < 2**63).
_SUM_CHUNK = 2**32

FieldVec = npt.NDArray[np.uint64]


class FieldError(ValueError):
    """A value or encoding is not a valid element (vector) of GF(P)."""


def zeros(d: int) -> FieldVec:
    """Return the zero vector of length ``d``."""
    return np.zeros(d, dtype=DTYPE)


def reduce(x: FieldVec) -> FieldVec:
    """Return ``x mod P`` for any ``uint64`` array, as a fresh array.

    numpy divides by a scalar with libdivide (no hardware division), which measured
    faster than Mersenne-folding with shifts and masks.
    """
    return np.remainder(np.asarray(x, dtype=DTYPE), _P)


Words = npt.NDArray[np.uint32]
"""A field vector stored as uint32 words (entries in ``[0, P)``): what the wire carries."""

_P32 = np.uint32(P)


def add(a: FieldVec, b: FieldVec) -> FieldVec:
    """Return ``a + b mod P`` (element-wise).

    ``s = a + b < 2P``; ``s - P`` wraps around to at least ``2**64 - P`` exactly when
    ``s < P``, so ``min(s, s - P)`` is the reduced sum: two passes, no comparison mask.
    """
    s = np.add(a, b, dtype=DTYPE)
    return np.minimum(s, s - _P, out=s)


def add_words(a: Words, b: Words) -> Words:
    """:func:`add` on uint32 words: ``a + b < 2P < 2**32`` does not overflow, and ``s - P``
    wraps to at least ``2**32 - P > P`` exactly when ``s < P``."""
    s = np.add(a, b, dtype=np.uint32)
    return np.minimum(s, s - _P32, out=s)


def sub(a: FieldVec, b: FieldVec) -> FieldVec:
    """Return ``a - b mod P`` (element-wise).

    ``d = a - b`` wraps to at least ``2**64 - P`` exactly when ``a < b``, and then
    ``d + P`` wraps back to ``a - b + P < P``; otherwise ``d < P <= d + P``. So
    ``min(d, d + P)`` is the reduced difference.
    """
    d = np.subtract(a, b, dtype=DTYPE)
    return np.minimum(d, d + _P, out=d)


def sub_words(a: Words, b: Words) -> Words:
    """:func:`sub` on uint32 words (the same argument modulo ``2**32 > 2P``)."""
    d = np.subtract(a, b, dtype=np.uint32)
    return np.minimum(d, d + _P32, out=d)


def neg(a: FieldVec) -> FieldVec:
    """Return ``-a mod P`` (element-wise): ``0 - a`` by :func:`sub` (so ``-0 = 0``)."""
    return sub(np.zeros_like(a, dtype=DTYPE), a)


def scale(a: FieldVec, s: int) -> FieldVec:
    """Return ``s * a mod P`` for a Python integer scalar ``s`` (any sign, reduced first)."""
    return reduce(np.multiply(a, np.uint64(s % P), dtype=DTYPE))


def vsum(vectors: Sequence[FieldVec], d: int) -> FieldVec:
    """Return the sum mod P of ``vectors`` (each of length ``d``); the zero vector if empty.

    Accumulates in ``uint64`` and reduces every 2**32 terms (and at the end), so any
    number of reduced vectors can be summed without overflow.
    """
    acc = zeros(d)
    pending = 0
    for v in vectors:
        if v.shape != (d,):
            raise FieldError(f"vsum: expected shape ({d},), got {v.shape}")
        np.add(acc, v, out=acc, dtype=DTYPE)
        pending += 1
        if pending == _SUM_CHUNK:
            np.remainder(acc, _P, out=acc)
            pending = 0
    np.remainder(acc, _P, out=acc)
    return acc


def inv(x: int) -> int:
    """Return the multiplicative inverse of ``x`` mod P; raise :class:`FieldError` if x = 0."""
    x %= P
    if x == 0:
        raise FieldError("inv: zero has no inverse in GF(P)")
    return pow(x, P - 2, P)


def encode_signed(v: npt.ArrayLike) -> FieldVec:
    """Embed signed integers in GF(P): ``x >= 0 -> x`` and ``x < 0 -> P + x``.

    Raises :class:`FieldError` if some ``|x| > (P - 1) // 2``, which would make the
    embedding ambiguous. Inverse of :func:`decode_signed`.
    """
    a = np.asarray(v, dtype=np.int64)
    if a.size and (int(a.max()) > HALF or int(a.min()) < -HALF):
        raise FieldError(f"encode_signed: magnitude exceeds (P-1)//2 = {HALF}")
    return np.where(a < 0, a + P, a).astype(DTYPE)


def embed_int(v: npt.NDArray[np.int64], overwrite: bool = False) -> FieldVec:
    """Return ``v mod P`` for any int64 array (the D-5 embedding of integers, negative ``x``
    as ``P + x`` when ``|x| < P``), as a uint64 vector.

    Fast path when every entry lies in ``[-P, P)``: reinterpreted as uint64, a negative
    ``x`` is ``2**64 + x`` and ``x + P`` wraps to ``P + x < P``, while a non-negative one
    has ``x < P <= x + P``; so ``min(u, u + P)`` is the residue. Otherwise ``np.mod``.
    With ``overwrite`` the fast path reuses ``v``'s buffer (``v`` is then garbage).
    """
    a = np.asarray(v, dtype=np.int64)
    if a.size == 0 or (int(a.min()) >= -P and int(a.max()) < P):
        # two's complement reinterpretation, in place or as a copy
        u = a.view(DTYPE) if overwrite and a.flags.writeable and a.flags.c_contiguous else a.astype(DTYPE)
        return np.minimum(u, u + _P, out=u)
    return np.mod(a, P).astype(DTYPE)


def decode_signed(v: FieldVec) -> npt.NDArray[np.int64]:
    """Map field elements back to signed integers: values above ``(P - 1) // 2`` are negative."""
    a = np.asarray(v, dtype=DTYPE).astype(np.int64)
    return np.where(a > HALF, a - P, a)


def to_words(v: FieldVec | Words) -> Words:
    """The vector as little-endian uint32 words (what :func:`to_bytes` writes): a fresh
    array, or ``v`` itself if it already is one.

    Raises :class:`FieldError` if it is not 1-D or an entry is not below P.
    """
    a = np.asarray(v)
    if a.ndim != 1:
        raise FieldError(f"to_bytes: expected a 1-D vector, got shape {a.shape}")
    if a.size and int(a.max()) >= P:
        raise FieldError("to_bytes: element >= P")
    return a.astype("<u4", copy=False)


def words_view(v: FieldVec | Words) -> memoryview:
    """The bytes of :func:`to_bytes` as a read-only view of :func:`to_words` (no copy
    beyond the conversion)."""
    return to_words(v).data.cast("B").toreadonly()


def to_bytes(v: FieldVec) -> bytes:
    """Serialise a field vector as consecutive uint32 little-endian words.

    Raises :class:`FieldError` if an entry is not below P.
    """
    return to_words(v).tobytes()


def from_bytes(data: bytes | memoryview, d: int | None = None) -> FieldVec:
    """Parse the encoding of :func:`to_bytes`, validating it.

    Raises :class:`FieldError` if the length is not a multiple of 4, if ``d`` is given
    and the vector length differs from it, or if any element is ``>= P``.
    """
    if len(data) % 4 != 0:
        raise FieldError(f"from_bytes: length {len(data)} is not a multiple of 4")
    n = len(data) // 4
    if d is not None and n != d:
        raise FieldError(f"from_bytes: expected {d} elements, got {n}")
    a = np.frombuffer(data, dtype="<u4").astype(DTYPE)
    if a.size and int(a.max()) >= P:
        raise FieldError("from_bytes: element >= P")
    return a
