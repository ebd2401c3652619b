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


def add(a: FieldVec, b: FieldVec) -> FieldVec:
    """Return ``a + b mod P`` (element-wise)."""
    s = np.add(a, b, dtype=DTYPE)
    np.subtract(s, _P, out=s, where=s >= _P)
    return s


def sub(a: FieldVec, b: FieldVec) -> FieldVec:
    """Return ``a - b mod P`` (element-wise)."""
    return add(a, neg(b))


def neg(a: FieldVec) -> FieldVec:
    """Return ``-a mod P`` (element-wise)."""
    r = np.subtract(_P, a, dtype=DTYPE)
    r[r == _P] = 0
    return r


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


def decode_signed(v: FieldVec) -> npt.NDArray[np.int64]:
    """Map field elements back to signed integers: values above ``(P - 1) // 2`` are negative."""
    a = np.asarray(v, dtype=DTYPE).astype(np.int64)
    return np.where(a > HALF, a - P, a)


def to_bytes(v: FieldVec) -> bytes:
    """Serialise a field vector as consecutive uint32 little-endian words.

    Raises :class:`FieldError` if an entry is not below P.
    """
    a = np.asarray(v)
    if a.ndim != 1:
        raise FieldError(f"to_bytes: expected a 1-D vector, got shape {a.shape}")
    if a.size and int(a.max()) >= P:
        raise FieldError("to_bytes: element >= P")
    return a.astype("<u4").tobytes()


def from_bytes(data: bytes, d: int | None = None) -> FieldVec:
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
