"""D-20: the compact wire form of the client sets inside an ``announce``.

The header digest stays the D-14 encoding's; the wire form round-trips, is canonical, and
every malformed set is a ``WireError`` (a drop with a reason at the node, R-3).
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asfl.impl import crypto
from asfl.impl.certify import attest_signature
from asfl.impl.client import AnnounceChecker
from asfl.impl.config import ProtocolConfig
from asfl.impl.messages import (
    SET_BITMAP,
    SET_LIST,
    Announce,
    ClusterSet,
    Dims,
    Envelope,
    Header,
    seal,
)
from asfl.impl.node import Dropped, PublicKeys, open_envelope
from asfl.impl.wire import Reader, WireError, Writer

N_C = 10_000
DIMS = Dims(n_clients=N_C, n_aggregators=4, rounds=20, dim=3)


def header_with(*client_sets: tuple[int, ...], tau: int = 2) -> Header:
    sets = tuple(ClusterSet(c, bytes([c]) * 32, clients) for c, clients in enumerate(client_sets))
    return Header(tau, b"\1" * 32, b"\2" * 32, "median", sets)


def announce_bytes(header: Header, body: np.ndarray | None = None) -> bytes:
    return Announce(header, ((0, b"\3" * 64),), body).encode()


def set_bytes(form: int, payload: bytes, tau: int = 2, rule: str = "median") -> bytes:
    """An announce body whose single set is written by hand (``uint(form)`` + ``payload``)."""
    head = Writer().uint(tau).blob(b"\1" * 32).blob(b"\2" * 32).text(rule).uint(1).uint(0).blob(b"\0" * 32)
    tail = Writer().uint(1).uint(0).blob(b"\3" * 64).uint(0)
    return head.getvalue() + Writer().uint(form).getvalue() + payload + tail.getvalue()


subsets = st.lists(st.integers(0, N_C - 1), max_size=300, unique=True).map(lambda xs: tuple(sorted(xs)))


@settings(max_examples=100, deadline=None)
@given(st.lists(subsets, min_size=0, max_size=4))
def test_round_trip_and_digest_unchanged(sets: list[tuple[int, ...]]) -> None:
    header = header_with(*sets)
    data = announce_bytes(header, np.array([0.5, -1.0, 2.0]))
    ann = Announce.decode(data, DIMS)
    assert ann.header == header and ann.header.digest() == header.digest()
    assert ann.encode() == data  # canonical: the decoded body re-encodes to the same bytes
    # the digest is still over the D-14 list form (§4), not over the wire form
    assert header.digest() == crypto.digest(b"header", header.write(Writer()).getvalue())


def test_a_dense_set_travels_as_a_bitmap() -> None:
    """About 2,500 of 10,000 ids, as in a cluster at n_c = 10^4, n_a = 4: at most n_c / 8 bytes."""
    rng = np.random.default_rng(0)
    clients = tuple(sorted(rng.choice(N_C, 2_500, replace=False).tolist()))
    listed = len(header_with(clients).write(Writer()).getvalue())
    compact = len(header_with(clients).write(Writer(), compact=True).getvalue())
    assert listed > 4_800 and compact <= listed - 4_800 + N_C // 8 + 3
    r = Reader(header_with(clients).write(Writer(), compact=True).getvalue())
    assert Header.read(r, DIMS, compact=True).sets[0].clients == clients


def test_sparse_unsorted_and_duplicate_sets_keep_the_list_form() -> None:
    """Any header stays expressible, so R-15c (not the wire) judges unsorted or repeated ids."""
    for clients in [(9_999,), (5, 3), (4, 4, 7), ()]:
        header = header_with(clients)
        ann = Announce.decode(announce_bytes(header), DIMS)
        assert ann.header.sets[0].clients == clients
    Announce.decode(set_bytes(SET_LIST, Writer().uint(1).uint(9_999).getvalue()), DIMS)
    Announce.decode(set_bytes(SET_BITMAP, Writer().blob(b"").getvalue()), DIMS)  # the empty set


@pytest.mark.parametrize(
    ("form", "payload", "reason"),
    [
        # a bitmap with a trailing zero byte: not max(I) // 8 + 1 bytes
        (SET_BITMAP, Writer().blob(b"\x0f\x00").getvalue(), "not max"),
        # longer than n_c bits
        (SET_BITMAP, Writer().blob(b"\xff" * (N_C // 8 + 2)).getvalue(), "more than"),
        # a bit for client 10,000 >= n_c in a bitmap of ceil(n_c / 8) bytes (n_c = 10,001)
        (SET_BITMAP, Writer().blob(b"\xff" * (N_C // 8) + b"\x03").getvalue(), "names client"),
        # a strictly increasing list that the bitmap would encode in fewer bytes
        (SET_LIST, Writer().uint(3).uint(0).uint(1).uint(2).getvalue(), "canonical"),
        # a sparse set sent as a bitmap
        (SET_BITMAP, Writer().blob(bytes(1_000) + b"\x01").getvalue(), "canonical"),
        # an unknown form
        (2, b"", "out of range"),
        # a truncated bitmap
        (SET_BITMAP, Writer().uint(200).getvalue() + b"\x01", "truncated"),
    ],
)
def test_malformed_sets_are_wire_errors(form: int, payload: bytes, reason: str) -> None:
    dims = Dims(n_clients=N_C + 1, n_aggregators=4, rounds=20, dim=3)
    with pytest.raises(WireError, match=reason):
        Announce.decode(set_bytes(form, payload), dims)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=40), st.integers(0, 200))
def test_any_corruption_decodes_or_is_a_wire_error(junk: bytes, cut: int) -> None:
    data = announce_bytes(header_with(tuple(range(0, 300, 2)), (1, 5, 9)))
    for mutated in (data[:cut] + junk + data[cut + len(junk) :], data[:cut] + junk):
        with contextlib.suppress(WireError):
            Announce.decode(mutated, DIMS)


def test_non_members_in_a_bitmap_are_dropped_by_the_client_with_a_reason(small_cfg: ProtocolConfig) -> None:
    """A well-formed bitmap naming a client outside its cluster reaches R-15c and is dropped
    there, with a reason; a malformed one is dropped by R-3. Neither raises."""
    cfg = small_cfg
    keys = [crypto.NodeKeys.from_seed(bytes([j]) * 32) for j in range(cfg.n_aggregators)]
    clients = [crypto.NodeKeys.from_seed(bytes([100 + i]) * 32) for i in range(cfg.n_clients)]
    public = PublicKeys(
        tuple(k.sign_pub for k in keys),
        tuple(k.kx_pub for k in keys),
        tuple(k.sign_pub for k in clients),
        tuple(k.kx_pub for k in clients),
    )
    members = cfg.clusters(0)
    outsider = next(i for i in range(cfg.n_clients) if i not in members[0])
    sets = [ClusterSet(c, bytes([c]) * 32, tuple(sorted(members[c]))) for c in range(cfg.quorum)]
    sets[0] = ClusterSet(0, sets[0].pd, tuple(sorted((*members[0], outsider))))
    header = Header(1, b"\1" * 32, b"\2" * 32, cfg.rule, tuple(sets))
    atts = tuple((j, attest_signature(keys[j], header)) for j in range(cfg.t_a + 1))
    data = seal(keys[0], 0, Announce(header, atts, None)).encode()
    assert Envelope.decode(data).kind == "announce"
    open_envelope(cfg, public, data)  # well-formed on the wire
    with pytest.raises(Dropped, match="not a member"):
        AnnounceChecker(cfg, public).check(data)
    bad = set_bytes(SET_BITMAP, Writer().blob(b"\x01\x00").getvalue(), tau=1, rule=cfg.rule)
    digest = crypto.digest(b"asfl/1", b"announce", (0).to_bytes(8, "little"), bad)
    raw = Writer().text("announce").uint(0).blob(bad).blob(keys[0].sign(digest)).getvalue()
    with pytest.raises(Dropped, match="malformed announce: set bitmap"):
        open_envelope(cfg, public, raw)
