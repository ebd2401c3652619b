"""R-2: verifiable per-round cluster assignment by the swap-or-not shuffle.

An independent rewrite of ``compute_shuffled_index`` from Ethereum's phase0 consensus
specification (90 rounds, SHA-256)."""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np

SHUFFLE_ROUND_COUNT = 90


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def compute_shuffled_index(index: int, index_count: int, seed: bytes) -> int:
    """Ethereum's ``compute_shuffled_index``: position of ``index`` in the permutation."""
    assert 0 <= index < index_count
    for current_round in range(SHUFFLE_ROUND_COUNT):
        r = bytes([current_round])
        pivot = int.from_bytes(_h(seed + r)[:8], "little") % index_count
        flip = (pivot + index_count - index) % index_count
        position = max(index, flip)
        source = _h(seed + r + (position // 256).to_bytes(4, "little"))
        byte = source[(position % 256) // 8]
        bit = (byte >> (position % 8)) & 1
        index = flip if bit else index
    return index


def shuffled_positions(index_count: int, seed: bytes) -> list[int]:
    """``[compute_shuffled_index(i, index_count, seed) for i in range(index_count)]``,
    sharing the per-round hashes between indices and moving all indices of a round at
    once (numpy; same result, far fewer hashes and Python steps)."""
    if index_count == 0:
        return []
    idx = np.arange(index_count, dtype=np.int64)
    blocks = (index_count - 1) // 256 + 1
    for current_round in range(SHUFFLE_ROUND_COUNT):
        r = bytes([current_round])
        pivot = int.from_bytes(_h(seed + r)[:8], "little") % index_count
        source = np.frombuffer(
            b"".join(_h(seed + r + b.to_bytes(4, "little")) for b in range(blocks)), dtype=np.uint8
        )
        flip = (pivot + index_count - idx) % index_count
        position = np.maximum(idx, flip)
        bit = (source[position >> 3] >> (position & 7).astype(np.uint8)) & 1
        idx = np.where(bit == 1, flip, idx)
    return [int(i) for i in idx]


def round_seed(genesis: bytes, tau: int) -> bytes:
    """``s_tau = SHA-256("asfl/shuffle" || genesis || tau_le64)``."""
    return _h(b"asfl/shuffle" + genesis + tau.to_bytes(8, "little"))


@lru_cache(maxsize=4096)
def cluster_assignment(n_c: int, n_a: int, genesis: bytes, tau: int) -> tuple[tuple[int, ...], ...]:
    """Members of clusters ``0..n_a-1`` in round ``tau``; client ``i`` is in cluster
    ``floor(pi_tau(i) * n_a / n_c)``. Members are listed in increasing client id."""
    pos = shuffled_positions(n_c, round_seed(genesis, tau))
    out: list[list[int]] = [[] for _ in range(n_a)]
    for i, p in enumerate(pos):
        out[p * n_a // n_c].append(i)
    return tuple(tuple(m) for m in out)
