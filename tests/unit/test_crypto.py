"""Unit and property tests for impl.crypto (Decision D-2)."""

import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asfl.impl import crypto
from asfl.impl.crypto import CryptoError, NodeKeys
from asfl.impl.field import P

SEED_A = bytes(range(32))
SEED_B = bytes(range(32, 64))


def test_digest_is_length_prefixed_sha256() -> None:
    want = hashlib.sha256((2).to_bytes(8, "little") + b"ab" + (1).to_bytes(8, "little") + b"c").digest()
    assert crypto.digest(b"ab", b"c") == want
    assert crypto.digest(b"ab", b"c") != crypto.digest(b"a", b"bc")
    assert crypto.digest() == hashlib.sha256(b"").digest()


def test_node_keys_deterministic_and_sign_verify() -> None:
    a1, a2, b = NodeKeys.from_seed(SEED_A), NodeKeys.from_seed(SEED_A), NodeKeys.from_seed(SEED_B)
    assert a1.sign_pub == a2.sign_pub and a1.kx_pub == a2.kx_pub
    assert a1.sign_pub != b.sign_pub and a1.kx_pub != b.kx_pub
    assert len(a1.sign_pub) == 32 and len(a1.kx_pub) == 32
    sig = a1.sign(b"msg")
    assert len(sig) == 64
    assert crypto.verify(a1.sign_pub, b"msg", sig)
    assert not crypto.verify(a1.sign_pub, b"msh", sig)
    assert not crypto.verify(b.sign_pub, b"msg", sig)
    g = NodeKeys.generate()
    assert crypto.verify(g.sign_pub, b"", g.sign(b""))
    with pytest.raises(ValueError):
        NodeKeys.from_seed(b"short")


@settings(max_examples=100)
@given(st.binary(max_size=40), st.binary(max_size=80), st.binary(max_size=80))
def test_verify_never_raises_on_garbage(pub: bytes, msg: bytes, sig: bytes) -> None:
    assert crypto.verify(pub, msg, sig) is False


def test_verify_rejects_wrong_types() -> None:
    k = NodeKeys.from_seed(SEED_A)
    sig = k.sign(b"m")
    assert crypto.verify(k.sign_pub, b"m", sig)
    assert not crypto.verify(k.sign_pub, "m", sig)  # type: ignore[arg-type]
    assert not crypto.verify(None, b"m", sig)  # type: ignore[arg-type]
    assert not crypto.verify(k.sign_pub, b"m", sig[:-1] + bytes([sig[-1] ^ 1]))


def test_pair_key_symmetric_and_context_bound() -> None:
    a, b = NodeKeys.from_seed(SEED_A), NodeKeys.from_seed(SEED_B)
    k_ab = crypto.pair_key(a, b.kx_pub, b"ctx1")
    assert k_ab == crypto.pair_key(b, a.kx_pub, b"ctx1")
    assert len(k_ab) == 32
    assert k_ab != crypto.pair_key(a, b.kx_pub, b"ctx2")
    assert crypto.pair_key(a, b.kx_pub, b"ctx1") == k_ab  # cached path


def test_pair_key_invalid_public_key() -> None:
    a = NodeKeys.from_seed(SEED_A)
    for bad in (b"", b"\x01" * 31, bytes(32)):  # wrong length; low-order point (all zero)
        with pytest.raises(CryptoError):
            crypto.pair_key(a, bad, b"ctx")


@settings(max_examples=50)
@given(st.binary(max_size=200), st.binary(max_size=40), st.data())
def test_seal_open_and_tamper(pt: bytes, aad: bytes, data: st.DataObject) -> None:
    key = crypto.pair_key(NodeKeys.from_seed(SEED_A), NodeKeys.from_seed(SEED_B).kx_pub, b"c")
    ct = crypto.seal(key, pt, aad)
    assert crypto.open_sealed(key, ct, aad) == pt
    i = data.draw(st.integers(0, len(ct) - 1))
    bit = data.draw(st.integers(0, 7))
    tampered = ct[:i] + bytes([ct[i] ^ (1 << bit)]) + ct[i + 1 :]
    assert crypto.open_sealed(key, tampered, aad) is None
    assert crypto.open_sealed(key, ct, aad + b"x") is None
    assert crypto.open_sealed(key, ct[:-1], aad) is None
    assert crypto.open_sealed(bytes(32), ct, aad) is None


def test_open_sealed_never_raises() -> None:
    assert crypto.open_sealed(b"short", b"x" * 40, b"") is None
    assert crypto.open_sealed(bytes(32), b"", b"") is None


def test_prg_deterministic_prefix_and_domain() -> None:
    a = crypto.prg_field_vector(SEED_A, 1000, b"d")
    assert a.dtype == np.uint64 and a.shape == (1000,)
    assert int(a.max()) < P
    assert np.array_equal(a[:10], crypto.prg_field_vector(SEED_A, 10, b"d"))
    assert not np.array_equal(a, crypto.prg_field_vector(SEED_A, 1000, b"e"))
    assert not np.array_equal(a, crypto.prg_field_vector(SEED_B, 1000, b"d"))
    assert crypto.prg_field_vector(SEED_A, 0, b"d").shape == (0,)
    with pytest.raises(ValueError):
        crypto.prg_field_vector(b"short", 4, b"d")


def test_prg_roughly_uniform() -> None:
    v = crypto.prg_field_vector(SEED_B, 200_000, b"u").astype(np.float64) / P
    assert abs(v.mean() - 0.5) < 0.01
    hist, _ = np.histogram(v, bins=16, range=(0.0, 1.0))
    assert hist.min() > 0.9 * 200_000 / 16
