"""Digests the trace determines (specs/protocol.md §4), computed from trace fields.

``H`` is SHA-256 over its parts, each prefixed by its 8-byte little-endian length;
integers are 8-byte little-endian, digests their 32 raw bytes. The submission digest
``sd`` covers the masked update and the share ciphertexts, which a trace does not carry;
the proposal digest ``pd`` covers only ``(tau, c)`` and the ``(i, sd_i)`` of its set, so
anyone holding the trace's ``submit`` events can recompute it (R-3, R-7)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def digest(*parts: bytes) -> bytes:
    """``H(parts)``: SHA-256 of the length-prefixed parts (injective encoding)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(len(p).to_bytes(8, "little"))
        h.update(p)
    return h.digest()


def u64(value: int) -> bytes:
    return value.to_bytes(8, "little")


def proposal_digest(tau: int, cluster: int, entries: Iterable[tuple[int, str]]) -> str:
    """``pd = H("proposal", tau, c, (i, sd_i) for i in I sorted)`` (§4), hex; ``entries``
    are ``(client, sd hex)``."""
    parts: list[bytes] = [b"proposal", u64(tau), u64(cluster)]
    for client, sd in sorted(entries):
        parts += [u64(client), bytes.fromhex(sd)]
    return digest(*parts).hex()
