"""``crypto.verify`` knows the signatures this process made valid (``crypto._SIGNED``) and
checks every other triple in full: a tampered message or signature, another key's
signature, a signature made before the bound forgot it."""

from __future__ import annotations

from asfl.impl import crypto


def _keys(k: int) -> crypto.NodeKeys:
    return crypto.NodeKeys.from_seed(bytes([k]) * 32)


def test_own_signatures_verify_and_nothing_else_does() -> None:
    a, b = _keys(1), _keys(2)
    msg = crypto.digest(b"signed-memo", b"one")
    sig = a.sign(msg)
    assert crypto._SIGNED[(a.sign_pub, msg)] == sig
    assert crypto.verify(a.sign_pub, msg, sig) and crypto.verify(a.sign_pub, msg, sig, once=True)
    other = crypto.digest(b"signed-memo", b"two")
    assert not crypto.verify(a.sign_pub, other, sig, once=True)  # another message
    assert not crypto.verify(b.sign_pub, msg, sig, once=True)  # another key
    bad = bytes([sig[0] ^ 1]) + sig[1:]
    assert not crypto.verify(a.sign_pub, msg, bad, once=True)  # a flipped bit
    assert a.sign_pub == a.sign_key.public_key().public_bytes_raw()


def test_bounded_and_forgotten_signatures_are_checked_in_full() -> None:
    a = _keys(3)
    first = crypto.digest(b"signed-memo", b"first")
    sig = a.sign(first)
    for k in range(crypto.SIGNED_MEMO):
        a.sign(crypto.digest(b"signed-memo", k.to_bytes(4, "little")))
    assert len(crypto._SIGNED) <= crypto.SIGNED_MEMO
    assert (a.sign_pub, first) not in crypto._SIGNED
    assert crypto.verify(a.sign_pub, first, sig, once=True)  # verified by Ed25519 itself


def test_lagrange_memo_returns_fresh_lists_and_still_rejects() -> None:
    """``shamir.lagrange_coeffs`` is memoised: a caller mutating its result must not change
    a later answer, and an invalid set of points raises every time (it is never kept)."""
    import pytest

    from asfl.impl import shamir
    from asfl.impl.field import P

    first = shamir.lagrange_coeffs([1, 2, 4], 0)
    first[0] = 12345
    again = shamir.lagrange_coeffs((1, 2, 4), 0)
    assert again != first and sum(c * f for c, f in zip(again, (1, 2, 4), strict=True)) % P == 0
    assert sum(again) % P == 1  # f = 1 interpolates to 1
    for _ in range(2):
        with pytest.raises(ValueError, match="distinct"):
            shamir.lagrange_coeffs([3, 3], 0)


def test_evidence_key_is_kept_per_object_and_not_copied_by_replace() -> None:
    """``certify._evidence_key`` keeps its digest on the evidence object; an evidence made
    by ``dataclasses.replace`` (how a Byzantine node alters one) gets its own."""
    import dataclasses

    import numpy as np

    from asfl.impl import certify
    from asfl.impl.messages import ClusterEvidence

    def make() -> ClusterEvidence:
        v = np.arange(6, dtype=np.uint64)
        return ClusterEvidence(
            1,
            ((0, bytes(32)), (2, b"\x01" * 32)),
            b"\x02" * 32,
            ((0, b"\x03" * 64),),
            v,
            ((1, v, b"\x04" * 64),),
        )

    ev, twin = make(), make()
    key = certify._evidence_key(3, ev)
    assert ev._key == key[2] and certify._evidence_key(3, ev) == key == certify._evidence_key(3, twin)
    assert certify._evidence_key(4, ev) == (4, 1, key[2])
    changed = dataclasses.replace(ev, masked_sum=ev.masked_sum + np.uint64(1))
    assert changed._key is None and certify._evidence_key(3, changed) != key


def test_signing_again_gives_the_signature_ed25519_gives() -> None:
    """A message this key signed recently gets the remembered signature: the same bytes a
    fresh Ed25519 signature has (RFC 8032 signing is deterministic), and only for that key."""
    a, b = _keys(4), _keys(5)
    msg = crypto.digest(b"signed-memo", b"again")
    sig = a.sign(msg)
    assert a.sign(msg) == sig == a.sign_key.sign(msg)
    assert b.sign(msg) == b.sign_key.sign(msg) != sig
    assert crypto._SIGNED[(b.sign_pub, msg)] == b.sign(msg)


def test_shared_secret_is_computed_once_per_pair_and_is_the_exchange() -> None:
    """``NodeKeys.exchange`` keeps each pair's X25519 secret for both sides (``_SHARED``):
    the other side's lookup gives the secret its own exchange would, and a malformed key
    still raises (nothing is kept for it)."""
    import pytest
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

    a, b = _keys(6), _keys(7)
    secret = a.exchange(b.kx_pub)
    pair = tuple(sorted((a.kx_pub, b.kx_pub)))
    assert crypto._SHARED[pair] == secret
    assert b.exchange(a.kx_pub) == secret == b.kx_key.exchange(X25519PublicKey.from_public_bytes(a.kx_pub))
    n = len(crypto._SHARED)
    with pytest.raises(crypto.CryptoError):
        a.exchange(bytes(32))  # the all-zero point: low order
    assert len(crypto._SHARED) == n


def test_simulated_node_keys_are_shared_by_runs_of_one_seed() -> None:
    """``sim.run.node_keys`` is a function of (seed, name): memoised, the same object."""
    from asfl.impl.sim.run import node_keys

    assert node_keys(9, "A0") is node_keys(9, "A0")
    assert node_keys(9, "A0").sign_pub != node_keys(9, "A1").sign_pub != node_keys(10, "A1").sign_pub
