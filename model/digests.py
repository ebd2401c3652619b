"""Digests the trace determines (specs/protocol.md §4), computed from trace fields.

``H`` is SHA-256 over its parts, each prefixed by its 8-byte little-endian length;
integers are 8-byte little-endian, digests their 32 raw bytes. The submission digest
``sd`` covers the masked update and the share ciphertexts, which a trace does not carry;
the proposal digest ``pd`` covers only ``(tau, c)`` and the ``(i, sd_i)`` of its set, so
anyone holding the trace's ``submit`` events can recompute it (R-3, R-7). An ``endorse``
envelope's digest covers only ``(tau, c, pd, md)`` in the wire format of D-14, so the
digest a ``send`` of it carries is recomputed from the ``endorse`` event (R-8); so is a
``fetch`` envelope's, ``fetch(r, hd)``, from the ``fetch`` event (D-22)."""

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


def uint(value: int) -> bytes:
    """D-14: an unsigned integer, LEB128 (7 bits a byte, low first, high bit: more)."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | 0x80 if value else byte)
        if not value:
            return bytes(out)


def blob(data: bytes) -> bytes:
    """D-14: a byte string, prefixed by its length as :func:`uint`."""
    return uint(len(data)) + data


def envelope_digest(kind: str, sender: int, body: bytes) -> str:
    """R-3: what an envelope's signature signs, ``H("asfl/1", kind, sender, body)``
    (``sender``: the node's index ``j`` or ``i``), hex."""
    return digest(b"asfl/1", kind.encode("ascii"), u64(sender), body).hex()


def endorse_digest(sender: int, tau: int, cluster: int, pd: str, md: str) -> str:
    """The envelope digest of ``endorse(tau, c, pd, md)`` by aggregator ``sender``: its
    body is ``uint(tau) uint(c) blob(pd) blob(md)`` (D-14, R-8); digests in hex."""
    body = uint(tau) + uint(cluster) + blob(bytes.fromhex(pd)) + blob(bytes.fromhex(md))
    return envelope_digest("endorse", sender, body)


def fetch_digest(sender: int, r: int, header: str) -> str:
    """The envelope digest of ``fetch(r, hd)`` by client ``sender``: its body is
    ``uint(r) blob(hd)`` (D-14, D-22); ``hd`` in hex."""
    return envelope_digest("fetch", sender, uint(r) + blob(bytes.fromhex(header)))
