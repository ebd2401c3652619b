"""Cluster assignment by swap-or-not shuffling (Rule R-2).

:func:`compute_shuffled_index` is Ethereum's phase0 ``compute_shuffled_index``
(SHA-256, ``SHUFFLE_ROUND_COUNT`` = 90 on mainnet); :func:`shuffle_positions` computes it
for every index at once. Clients are then cut into contiguous blocks of positions.
"""

from __future__ import annotations

import hashlib

import numpy as np

SEED_LEN = 32
DEFAULT_ROUNDS = 90


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _check(index_count: int, seed: bytes, rounds: int) -> None:
    if not isinstance(seed, bytes) or len(seed) != SEED_LEN:
        raise ValueError(f"shuffle: seed must be {SEED_LEN} bytes")
    if not 0 <= rounds <= 256:
        raise ValueError("shuffle: rounds must be in [0, 256]")
    if not 0 <= index_count < 2**40:
        raise ValueError("shuffle: index_count must be in [0, 2**40)")


def compute_shuffled_index(index: int, index_count: int, seed: bytes, rounds: int = DEFAULT_ROUNDS) -> int:
    """Position of ``index`` in the swap-or-not permutation of ``range(index_count)``
    (Rule R-2; identical to Ethereum phase0 ``compute_shuffled_index``).

    Raises ``ValueError`` unless ``0 <= index < index_count`` and ``seed`` is 32 bytes.
    """
    _check(index_count, seed, rounds)
    if not 0 <= index < index_count:
        raise ValueError(f"shuffle: index {index} not in [0, {index_count})")
    for r in range(rounds):
        rb = r.to_bytes(1, "little")
        pivot = int.from_bytes(_sha256(seed + rb)[:8], "little") % index_count
        flip = (pivot + index_count - index) % index_count
        position = max(index, flip)
        source = _sha256(seed + rb + (position // 256).to_bytes(4, "little"))
        byte = source[(position % 256) // 8]
        if (byte >> (position % 8)) & 1:
            index = flip
    return index


def shuffle_positions(count: int, seed: bytes, rounds: int = DEFAULT_ROUNDS) -> list[int]:
    """``[compute_shuffled_index(i, count, seed, rounds) for i in range(count)]``, batched:
    per round one pivot hash and ceil(count/256) source hashes, applied with numpy (Rule R-2).
    """
    _check(count, seed, rounds)
    if count == 0:
        return []
    idx = np.arange(count, dtype=np.int64)
    n_blocks = (count - 1) // 256 + 1
    for r in range(rounds):
        rb = r.to_bytes(1, "little")
        pivot = int.from_bytes(_sha256(seed + rb)[:8], "little") % count
        source = b"".join(_sha256(seed + rb + b.to_bytes(4, "little")) for b in range(n_blocks))
        bits = np.unpackbits(np.frombuffer(source, dtype=np.uint8), bitorder="little")
        flip = (pivot + count - idx) % count
        position = np.maximum(idx, flip)
        idx = np.where(bits[position].astype(bool), flip, idx)
    return [int(v) for v in idx]


def round_seed(genesis_seed: bytes, round_: int) -> bytes:
    """Shuffle seed of round ``round_``:
    ``SHA-256(b"asfl/shuffle" + genesis_seed + uint64_le(round_))`` (Rule R-2)."""
    if not isinstance(genesis_seed, bytes) or len(genesis_seed) != SEED_LEN:
        raise ValueError(f"round_seed: genesis_seed must be {SEED_LEN} bytes")
    if not 0 <= round_ < 2**64:
        raise ValueError("round_seed: round must be in [0, 2**64)")
    return _sha256(b"asfl/shuffle" + genesis_seed + round_.to_bytes(8, "little"))


def assign_clusters(
    n_clients: int, n_clusters: int, seed: bytes, rounds: int = DEFAULT_ROUNDS
) -> list[list[int]]:
    """Partition clients ``0..n_clients-1`` into ``n_clusters`` clusters (Rule R-2).

    Client i gets position ``p = compute_shuffled_index(i, n_clients, seed)`` and cluster
    ``p * n_clusters // n_clients``: contiguous blocks of positions whose sizes differ by
    at most 1 (some clusters are empty if ``n_clients < n_clusters``). Each cluster's
    list is sorted by position.
    """
    if n_clusters < 1:
        raise ValueError("assign_clusters: n_clusters must be >= 1")
    pos = shuffle_positions(n_clients, seed, rounds)
    by_pos = sorted(range(n_clients), key=pos.__getitem__)
    clusters: list[list[int]] = [[] for _ in range(n_clusters)]
    for client in by_pos:
        clusters[pos[client] * n_clusters // n_clients].append(client)
    return clusters


def cluster_of(
    client: int, n_clients: int, n_clusters: int, seed: bytes, rounds: int = DEFAULT_ROUNDS
) -> int:
    """Cluster of one client, consistent with :func:`assign_clusters` (Rule R-2)."""
    if n_clusters < 1:
        raise ValueError("cluster_of: n_clusters must be >= 1")
    return compute_shuffled_index(client, n_clients, seed, rounds) * n_clusters // n_clients
