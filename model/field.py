"""GF(P) vectors, P = 2^31 - 1 (D-1), and the base64 encoding of ghost fields."""

from __future__ import annotations

import base64
import hashlib

import numpy as np

P = 2**31 - 1


def to_b64(v: np.ndarray) -> str:
    """base64 of the little-endian uint32 encoding of a field vector."""
    return base64.b64encode(np.asarray(v, dtype="<u4").tobytes()).decode("ascii")


def words_b64(s: str) -> bytes:
    """The little-endian uint32 bytes a ghost field encodes (base64, §9), else ``ValueError``."""
    raw = base64.b64decode(s, validate=True)
    if len(raw) % 4:
        raise ValueError("length not a multiple of 4")
    return raw


def from_b64(s: str) -> np.ndarray:
    return np.frombuffer(words_b64(s), dtype="<u4").astype(np.uint64)


def vsum(vectors: list[np.ndarray], dim: int) -> np.ndarray:
    """Sum of field vectors mod P (uint64 is exact for < 2^33 terms)."""
    acc = np.zeros(dim, dtype=np.uint64)
    for v in vectors:
        acc += v
    return acc % P


def derive(label: str, dim: int, modulus: int = P, offset: int = 0) -> np.ndarray:
    """A deterministic pseudo-random vector (for rendering symbolic values only)."""
    out: list[int] = []
    ctr = 0
    while len(out) < dim:
        d = hashlib.sha256(f"{label}/{ctr}".encode()).digest()
        out.extend(int.from_bytes(d[k : k + 4], "little") for k in range(0, 32, 4))
        ctr += 1
    return (np.array([(x % modulus) + offset for x in out[:dim]], dtype=np.int64) % P).astype(np.uint64)
