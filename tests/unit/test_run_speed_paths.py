"""Stop 12's run-speed shortcuts against their plain references (D-14, D-20, spec §9):
the writer's coalesced buffers, the list-form length of a sorted set, a header's cached
compact encoding and the trace's shared JSON encoder give the bytes of the obvious code."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from asfl.impl import trace
from asfl.impl.messages import (
    SET_BITMAP,
    SET_LIST,
    ClusterSet,
    Header,
    _increasing_list_len,
    _set_form,
    _uint_len,
)
from asfl.impl.wire import Writer


def leb128(value: int) -> bytes:
    """D-14's unsigned LEB128, written out plainly."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


fields = st.lists(
    st.one_of(
        st.tuples(st.just("uint"), st.integers(0, 2**70)),
        st.tuples(st.just("blob"), st.binary(max_size=1500)),
        st.tuples(st.just("view"), st.binary(max_size=1500)),
    ),
    max_size=30,
)


@given(fields)
def test_writer_bytes_are_the_concatenated_fields(items: list[tuple[str, object]]) -> None:
    """Small fields coalesced, long blobs referenced: ``getvalue`` and the joined ``parts``
    are each field's encoding in order, and no long blob is copied before the join."""
    w, expected, long_views = Writer(), b"", []
    for kind, value in items:
        if kind == "uint":
            assert isinstance(value, int)
            w.uint(value)
            expected += leb128(value)
        else:
            assert isinstance(value, bytes)
            data = memoryview(value).toreadonly() if kind == "view" else value
            w.blob(data)
            expected += leb128(len(value)) + value
            if len(value) > Writer.SMALL:
                long_views.append(data)
    parts = w.parts()
    assert w.getvalue() == expected == b"".join(parts)
    assert all(any(p is v for p in parts) for v in long_views)


@given(st.lists(st.integers(0, 3 * 2**21), max_size=300, unique=True))
def test_list_length_of_a_sorted_set_is_the_sum_of_its_uints(ids: list[int]) -> None:
    clients = tuple(sorted(ids))
    assert _increasing_list_len(clients) == _uint_len(len(clients)) + sum(map(_uint_len, clients))


@given(st.lists(st.integers(-3, 5000), max_size=200))
def test_set_form_is_the_reference_choice(ids: list[int]) -> None:
    """D-20: the bitmap iff strictly increasing, non-negative and no longer than the list."""
    clients = tuple(ids)
    increasing = (
        all(a < b for a, b in zip(clients, clients[1:], strict=False)) and min(clients, default=0) >= 0
    )
    size = clients[-1] // 8 + 1 if clients else 0
    list_len = _uint_len(len(clients)) + sum(_uint_len(abs(i)) for i in clients)
    bitmap = increasing and _uint_len(size) + size <= list_len
    form, bits = _set_form(clients)
    assert form == (SET_BITMAP if bitmap else SET_LIST) and (bits is not None) == bitmap
    if bits is not None:
        got = np.flatnonzero(np.unpackbits(np.frombuffer(bits, dtype=np.uint8), bitorder="little"))
        assert tuple(got.tolist()) == clients and len(bits) == size


@given(st.lists(st.lists(st.integers(0, 3000), max_size=400, unique=True), min_size=1, max_size=4))
def test_cached_compact_header_is_its_encoding(sets: list[list[int]]) -> None:
    header = Header(
        3,
        b"p" * 32,
        b"m" * 32,
        "mean",
        tuple(ClusterSet(c, bytes([c]) * 32, tuple(sorted(s))) for c, s in enumerate(sets)),
    )
    for compact in (True, False):
        fresh = header._encode(compact)
        assert header.write(Writer(), compact).getvalue() == fresh
        assert header.write(Writer().uint(7), compact).getvalue() == b"\x07" + fresh  # appended
    assert header.write(Writer(), True).getvalue() == header._encode(True)  # cached: the same


def test_trace_encoder_is_json_dumps() -> None:
    record = {"seq": 1, "kind": "send", "node": "C1", "x": [1.5, None, True], "é": "ü\n", "n": 2**70}
    assert trace._ENCODE(record) == json.dumps(record, separators=(",", ":"))
