"""Unit and property tests for impl.field (Decision D-1)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asfl.impl import field
from asfl.impl.field import HALF, FieldError, P

elems = st.integers(min_value=0, max_value=P - 1)
vecs = st.lists(elems, min_size=0, max_size=40)
signed = st.lists(st.integers(min_value=-HALF, max_value=HALF), min_size=0, max_size=40)


def fv(xs: list[int]) -> np.ndarray:
    return np.array(xs, dtype=np.uint64)


@settings(max_examples=100)
@given(st.data())
def test_arithmetic_matches_python_ints(data: st.DataObject) -> None:
    a = data.draw(vecs)
    b = data.draw(st.lists(elems, min_size=len(a), max_size=len(a)))
    s = data.draw(st.integers(min_value=-(2**70), max_value=2**70))
    va, vb = fv(a), fv(b)
    assert field.add(va, vb).tolist() == [(x + y) % P for x, y in zip(a, b, strict=True)]
    assert field.sub(va, vb).tolist() == [(x - y) % P for x, y in zip(a, b, strict=True)]
    assert field.neg(va).tolist() == [(-x) % P for x in a]
    assert field.scale(va, s).tolist() == [(x * s) % P for x in a]
    for r in (field.add(va, vb), field.sub(va, vb), field.neg(va), field.scale(va, s)):
        assert r.dtype == np.uint64


@settings(max_examples=50)
@given(st.lists(vecs.filter(bool), min_size=0, max_size=8), st.integers(1, 5))
def test_vsum(rows: list[list[int]], d: int) -> None:
    rows = [(r * d)[:d] for r in rows]
    got = field.vsum([fv(r) for r in rows], d)
    want = [sum(col) % P for col in zip(*rows, strict=True)] if rows else [0] * d
    assert got.tolist() == want


def test_vsum_extremes_and_shape_check() -> None:
    top = np.full(3, P - 1, dtype=np.uint64)
    assert field.vsum([top] * 1000, 3).tolist() == [(1000 * (P - 1)) % P] * 3
    with pytest.raises(FieldError):
        field.vsum([np.zeros(2, dtype=np.uint64)], 3)


def test_inv() -> None:
    for x in (1, 2, 12345, P - 1, P + 5, -3):
        assert x * field.inv(x) % P == 1
    with pytest.raises(FieldError):
        field.inv(0)
    with pytest.raises(FieldError):
        field.inv(P)


@settings(max_examples=100)
@given(signed)
def test_signed_round_trip(xs: list[int]) -> None:
    enc = field.encode_signed(np.array(xs, dtype=np.int64))
    assert enc.dtype == np.uint64
    assert all(0 <= int(v) < P for v in enc)
    assert field.decode_signed(enc).tolist() == xs


def test_encode_signed_rejects_out_of_range() -> None:
    assert field.encode_signed(np.array([HALF, -HALF])).tolist() == [HALF, P - HALF]
    for bad in (HALF + 1, -HALF - 1):
        with pytest.raises(FieldError):
            field.encode_signed(np.array([0, bad], dtype=np.int64))


@settings(max_examples=100)
@given(vecs)
def test_bytes_round_trip(xs: list[int]) -> None:
    v = fv(xs)
    data = field.to_bytes(v)
    assert len(data) == 4 * len(xs)
    assert field.from_bytes(data).tolist() == xs
    assert field.from_bytes(data, len(xs)).tolist() == xs


def test_from_bytes_rejects_garbage() -> None:
    with pytest.raises(FieldError, match="multiple of 4"):
        field.from_bytes(b"\x00" * 5)
    with pytest.raises(FieldError, match="expected 3"):
        field.from_bytes(b"\x00" * 8, 3)
    with pytest.raises(FieldError, match=">= P"):
        field.from_bytes(P.to_bytes(4, "little"))
    with pytest.raises(FieldError):
        field.from_bytes(b"\xff\xff\xff\xff")
    with pytest.raises(FieldError):
        field.to_bytes(np.array([P], dtype=np.uint64))
    assert field.from_bytes(b"").tolist() == []
    assert issubclass(FieldError, ValueError)
