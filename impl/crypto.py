"""Cryptographic suite (Decision D-2), built only on the ``cryptography`` package.

- Hash: SHA-256 with length-prefixed parts (:func:`digest`).
- Signatures: Ed25519 (:class:`NodeKeys`, :func:`verify`).
- Share encryption: static-static X25519 + HKDF-SHA256 + ChaCha20-Poly1305
  (:func:`pair_key`, :func:`seal`, :func:`open_sealed`).
- PRG: ChaCha20 keystream mapped to GF(P) by rejection sampling (:func:`prg_field_vector`).
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np
import numpy.typing as npt
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey,
    X25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from asfl.impl.field import DTYPE, FieldVec, P

SEED_LEN = 32
PUB_LEN = 32
SIG_LEN = 64
KEY_LEN = 32
_NONCE = bytes(12)  # fixed all-zero AEAD nonce; see pair_key for why this is safe


class CryptoError(ValueError):
    """Invalid key material (for example a malformed or low-order X25519 public key)."""


Buffer = bytes | memoryview
"""Bytes to hash: ``bytes`` or a one-dimensional byte view (``len`` is its byte count)."""


def nbytes(data: Buffer) -> int:
    """The number of bytes of a buffer."""
    return data.nbytes if isinstance(data, memoryview) else len(data)


def digest(*parts: Buffer | list[Buffer]) -> bytes:
    """SHA-256 over ``parts``, each prefixed by its 8-byte little-endian length.

    The length prefixes make the encoding injective: ``digest(b"ab", b"c")`` differs
    from ``digest(b"a", b"bc")``. A part given as a list of chunks is their
    concatenation (hashed without building it).
    """
    h = hashlib.sha256()
    update = h.update
    for p in parts:
        if type(p) is bytes:  # the common case: no per-part function calls
            update(len(p).to_bytes(8, "little"))
            update(p)
        elif isinstance(p, list):
            update(sum(map(nbytes, p)).to_bytes(8, "little"))
            for c in p:
                update(c)
        else:
            update(nbytes(p).to_bytes(8, "little"))
            update(p)
    return h.digest()


def _hkdf(ikm: bytes, info: bytes, length: int = KEY_LEN) -> bytes:
    """HKDF-SHA256 with no salt."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(ikm)


@dataclass(frozen=True, eq=False)
class NodeKeys:
    """A node's long-term identity: an Ed25519 signing key and an X25519 exchange key.

    Equality and hashing are by identity. The raw X25519 exchange with each peer is
    cached on the instance (it is reused for every round) and in the process
    (:data:`_SHARED`: the peer computing the same secret from its side finds it there).
    """

    sign_key: Ed25519PrivateKey
    kx_key: X25519PrivateKey
    _kx_cache: dict[bytes, bytes] = field(default_factory=dict, repr=False)

    @classmethod
    def from_seed(cls, seed: bytes) -> NodeKeys:
        """Derive both keys deterministically from a 32-byte seed via HKDF-SHA256
        (info ``b"asfl/ed25519"`` and ``b"asfl/x25519"``)."""
        if not isinstance(seed, bytes) or len(seed) != SEED_LEN:
            raise ValueError(f"NodeKeys.from_seed: seed must be {SEED_LEN} bytes")
        sk = Ed25519PrivateKey.from_private_bytes(_hkdf(seed, b"asfl/ed25519"))
        xk = X25519PrivateKey.from_private_bytes(_hkdf(seed, b"asfl/x25519"))
        return cls(sk, xk)

    @classmethod
    def generate(cls) -> NodeKeys:
        """Fresh keys from ``os.urandom``."""
        return cls.from_seed(os.urandom(SEED_LEN))

    @cached_property
    def sign_pub(self) -> bytes:
        """Raw 32-byte Ed25519 public key (of :attr:`sign_key`, derived once)."""
        return self.sign_key.public_key().public_bytes_raw()

    @cached_property
    def kx_pub(self) -> bytes:
        """Raw 32-byte X25519 public key (of :attr:`kx_key`, derived once)."""
        return self.kx_key.public_key().public_bytes_raw()

    def sign(self, msg: bytes) -> bytes:
        """Ed25519 signature (64 bytes) over ``msg``. Remembered as valid for
        :func:`verify` (:data:`_SIGNED`): it was just made with the private key of
        :attr:`sign_pub`, and an Ed25519 signature so made verifies (RFC 8032). A message
        this key signed among the last :data:`SIGNED_MEMO` gets the signature made then:
        Ed25519 signing is deterministic (RFC 8032), so it is the same 64 bytes."""
        if type(msg) is not bytes:
            return self.sign_key.sign(msg)
        key = (self.sign_pub, msg)
        sig = _SIGNED.get(key)
        if sig is None:
            sig = self.sign_key.sign(msg)
            _signed(key, sig)
        return sig

    def exchange(self, their_kx_pub: bytes) -> bytes:
        """Raw X25519 shared secret with a peer (cached); raise :class:`CryptoError`
        if the peer key is malformed or of low order."""
        cached = self._kx_cache.get(their_kx_pub)
        if cached is not None:
            return cached
        theirs = bytes(their_kx_pub)
        pair = (self.kx_pub, theirs) if self.kx_pub <= theirs else (theirs, self.kx_pub)
        shared = _SHARED.get(pair)
        if shared is None:
            try:
                shared = self.kx_key.exchange(X25519PublicKey.from_public_bytes(theirs))
            except (ValueError, TypeError) as e:
                raise CryptoError(f"invalid X25519 public key: {e}") from e
            with _MEMO_LOCK:
                _SHARED[pair] = shared
                if len(_SHARED) > SHARED_MEMO:
                    del _SHARED[next(iter(_SHARED))]
        self._kx_cache[theirs] = shared
        return shared


SHARED_MEMO = 1 << 12
"""How many X25519 secrets of this process's key pairs :data:`_SHARED` keeps."""

_SHARED: dict[tuple[bytes, bytes], bytes] = {}
"""The raw X25519 secret of each pair of public keys (sorted) one of whose private keys
computed it in this process, the :data:`SHARED_MEMO` latest, oldest first: X25519 is
symmetric (RFC 7748: either side's private key with the other's public key gives the same
secret), so in a simulator the client sealing a share and its aggregator opening it
exchange once. Only exchanges that succeeded are kept."""


def verify(sign_pub: bytes, msg: bytes, sig: bytes, *, once: bool = False) -> bool:
    """Check an Ed25519 signature. Never raises: any garbage input yields ``False``.

    ``once``: the caller knows no other check in this process will ask about this
    signature (a unicast envelope's, R-3), so its result is not memoised: it would only
    take a slot of the memo (:func:`set_verify_memo`) from a signature that is asked again."""
    if not (type(sign_pub) is bytes and type(msg) is bytes and type(sig) is bytes):
        if not all(isinstance(x, bytes | bytearray | memoryview) for x in (sign_pub, msg, sig)):
            return False
        sign_pub, msg, sig = bytes(sign_pub), bytes(msg), bytes(sig)  # the common case copies nothing
    if len(sign_pub) != PUB_LEN or len(sig) != SIG_LEN:
        return False
    if _SIGNED.get((sign_pub, msg)) == sig:
        return True
    return (_verify if once else _verified)(sign_pub, msg, sig)


SIGNED_MEMO = 1 << 12
"""How many of this process's own most recent signatures :func:`verify` knows valid."""

_SIGNED: dict[tuple[bytes, bytes], bytes] = {}
"""``(public key, message) -> signature`` of the :data:`SIGNED_MEMO` signatures this process
made last (:meth:`NodeKeys.sign`), oldest first. :func:`verify`'s answer on them is
``True`` without the Ed25519 check: each was made with the private key of that public key
over that message, so the check would pass (RFC 8032: signing is deterministic and a
signature so made verifies). Any other triple -- a signature of another process, a
tampered message or signature, a forged one -- is checked in full. In a simulator every
node signs in one process, so each unicast envelope (R-3), client submission signature
(R-5) or attestation (R-14) a correct node checks is one it made; a deployment's node
only ever finds its own signatures here (its peers' are checked in full)."""


_MEMO_LOCK = threading.Lock()


def _signed(key: tuple[bytes, bytes], sig: bytes) -> None:
    """Remember a signature this process made over ``key = (public key, message)``
    (forgetting the oldest beyond the bound)."""
    with _MEMO_LOCK:
        _SIGNED[key] = sig
        if len(_SIGNED) > SIGNED_MEMO:
            del _SIGNED[next(iter(_SIGNED))]


def _verify(sign_pub: bytes, msg: bytes, sig: bytes) -> bool:
    """Ed25519 verification of raw bytes (lengths checked by :func:`verify`)."""
    try:
        _public_key(sign_pub).verify(sig, msg)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


VERIFY_MEMO = 1 << 16
"""Default size of the Ed25519 memo (results kept)."""

_verified = lru_cache(maxsize=VERIFY_MEMO)(_verify)
"""Ed25519 verification, memoised: a pure function of its bytes, so a signature that several
nodes of one process check (a broadcast, a client signature forwarded in a proposal) is
verified once. Bounded: the least recently used results are forgotten."""


def set_verify_memo(entries: int) -> None:
    """Keep the results of the ``entries`` most recently used signatures (forgetting all
    kept so far). A runtime sizes it to the span over which its nodes ask about one
    signature again: a client's signature on its submission digest is checked by its
    coordinator when it arrives and by every aggregator when the proposal naming it does
    (R-5, R-8), within about one round's ``n_c`` submissions; a memo much larger than that
    only fills up round after round (peak memory growing with ``R`` until it is full)."""
    global _verified
    if entries != _verified.cache_info().maxsize:
        _verified = lru_cache(maxsize=entries)(_verify)


@lru_cache(maxsize=65536)
def _public_key(raw: bytes) -> Ed25519PublicKey:
    """The parsed Ed25519 public key of ``raw`` (parsed once per key, not once per signature)."""
    return Ed25519PublicKey.from_public_bytes(raw)


def pair_key(my: NodeKeys, their_kx_pub: bytes, context: bytes) -> bytes:
    """Symmetric 32-byte key shared by ``my`` and the owner of ``their_kx_pub``.

    X25519 static-static secret (cached per peer on ``my``), then HKDF-SHA256 with
    ``info = b"asfl/share-key" + context``. Both sides derive the same key.

    Nonce safety: ``context`` must encode ``(round, client, aggregator)`` unambiguously
    (e.g. with :func:`digest`), so each key encrypts exactly one share and
    :func:`seal` can use a fixed all-zero 12-byte ChaCha20-Poly1305 nonce. The caller
    must never seal two *different* plaintexts under the same context (re-sealing the
    same plaintext is harmless: the ciphertext is identical).

    Raises :class:`CryptoError` if ``their_kx_pub`` is not a valid X25519 public key
    (wrong length, or a low-order point giving an all-zero secret).
    """
    return _share_key(my.exchange(their_kx_pub), context)


@lru_cache(maxsize=1 << 12)
def _share_key(shared: bytes, context: bytes) -> bytes:
    """HKDF of :func:`pair_key`, memoised: a pure function of its bytes, and each share's
    key is derived twice in a process hosting both ends (the client sealing it, its
    aggregator opening it) and again by every run of one seed (the harness's examples)."""
    return _hkdf(shared, b"asfl/share-key" + context)


def seal(key: bytes, plaintext: Buffer, aad: bytes) -> bytes:
    """ChaCha20-Poly1305 encryption with the fixed zero nonce (see :func:`pair_key`)."""
    return ChaCha20Poly1305(key).encrypt(_NONCE, plaintext, aad)


def open_sealed(key: bytes, ciphertext: bytes, aad: bytes) -> bytes | None:
    """Decrypt a :func:`seal` output; ``None`` on any failure (never raises)."""
    try:
        return ChaCha20Poly1305(key).decrypt(_NONCE, ciphertext, aad)
    except (InvalidTag, ValueError, TypeError):
        return None


def prg_field_words(seed: bytes, d: int, domain: bytes) -> npt.NDArray[np.uint32]:
    """Expand a 32-byte ``seed`` into ``d`` uniform elements of GF(P), as uint32 words.

    Key = HKDF-SHA256(seed, info = b"asfl/prg" + domain); the ChaCha20 keystream
    (16-byte all-zero initial counter||nonce) is read as uint32 little-endian words,
    each masked to 31 bits; the single value P = 2**31 - 1 is rejected. Element i is the
    i-th accepted word, so the output does not depend on internal batch sizes, and a
    longer output extends a shorter one for the same (seed, domain).
    """
    if not isinstance(seed, bytes) or len(seed) != SEED_LEN:
        raise ValueError(f"prg_field_vector: seed must be {SEED_LEN} bytes")
    if d < 0:
        raise ValueError("prg_field_vector: d must be >= 0")
    key = _hkdf(seed, b"asfl/prg" + domain)
    enc = Cipher(algorithms.ChaCha20(key, bytes(16)), mode=None).encryptor()
    parts: list[npt.NDArray[np.uint32]] = []
    need = d
    while need > 0:
        n = need + 16  # a little slack: a rejection has probability 2**-31 per word
        words = np.frombuffer(enc.update(bytes(4 * n)), dtype="<u4") & np.uint32(0x7FFFFFFF)
        rejected = words == np.uint32(P)
        if rejected.any():
            words = words[~rejected]
        take = words[:need]
        parts.append(take)
        need -= take.size
    if not parts:
        return np.zeros(0, dtype=np.uint32)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def prg_field_vector(seed: bytes, d: int, domain: bytes) -> FieldVec:
    """:func:`prg_field_words` as a uint64 field vector."""
    return prg_field_words(seed, d, domain).astype(DTYPE)
