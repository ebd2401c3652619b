"""The client's compact per-round records answer exactly what the structures they replaced
answered (D-17, issue 11): ``verified`` was ``dict[round, set[digest]]`` (R-15b),
``included`` a ``set[(round, cluster, pd)]`` (D-12), ``accepted`` a ``dict[round, digest]``
filled in round order (R-15, R-16, D-13)."""

from __future__ import annotations

import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from asfl.impl.client import ClientState
from asfl.impl.round_records import Inclusions, VerifiedDigests

DIGESTS = st.sampled_from([bytes([i]) * 32 for i in range(4)])
ROUNDS = st.integers(0, 6)
PROBES = st.integers(-2, 8)  # rounds never recorded, below and above, are asked too


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.tuples(ROUNDS, DIGESTS), max_size=30), st.lists(st.tuples(PROBES, DIGESTS), max_size=20))
def test_verified_digests_answer_as_a_dict_of_sets(
    adds: list[tuple[int, bytes]], probes: list[tuple[int, bytes]]
) -> None:
    """No S/P/I/L/F property (resource bound, D-17); R-15b reads: after any insertions,
    ``add`` says whether the digest was new, ``has`` equals membership in the old
    ``dict[round, set]`` for every round asked (recorded or not), and ``items`` lists the
    same sets."""
    genesis = b"g" * 32
    old: dict[int, set[bytes]] = {0: {genesis}}
    new = VerifiedDigests(genesis)
    for tau, d in adds:
        was_new = d not in old.get(tau, set())
        old.setdefault(tau, set()).add(d)
        assert new.add(tau, d) == was_new
        for t, p in [*probes, (tau, d), (0, genesis)]:
            assert new.has(t, p) == (p in old.get(t, set())), (t, p)
    assert {t: set(ds) for t, ds in new.items()} == old
    assert all(len(ds) == len(set(ds)) for _, ds in new.items())


KEYS = st.tuples(st.integers(0, 3), st.sampled_from([bytes([i]) * 32 for i in range(3)]))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.tuples(ROUNDS, KEYS), max_size=30), st.lists(st.tuples(PROBES, KEYS), max_size=20))
def test_inclusions_answer_as_a_set_of_triples(
    adds: list[tuple[int, tuple[int, bytes]]], probes: list[tuple[int, tuple[int, bytes]]]
) -> None:
    """No S/P/I/L/F property (resource bound, D-17); D-12 reads: after any insertions
    (equal keys as distinct objects too), ``len`` is the old set's size (the count D-12
    reports), ``add`` says whether the set was new, ``has`` equals set membership, and
    iteration yields the old set's triples."""
    old: set[tuple[int, int, bytes]] = set()
    new = Inclusions()
    for tau, (cluster, pd) in adds:
        triple = (tau, cluster, pd)
        was_new = triple not in old
        old.add(triple)
        assert new.add(tau, (cluster, bytes(pd))) == was_new  # an equal, distinct object
        assert len(new) == len(old)
        for t, key in [*probes, (tau, (cluster, pd))]:
            assert new.has(t, key) == ((t, *key) in old)
    assert sorted(new) == sorted(old) and len(list(new)) == len(old)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(DIGESTS, max_size=12), st.lists(PROBES, max_size=12))
def test_accepted_rounds_answer_as_a_dict_filled_in_order(chain: list[bytes], probes: list[int]) -> None:
    """No S/P/I/L/F property (resource bound, D-17); R-15/R-16 read: models are accepted in
    round order, so ``latest``, ``latest_digest`` and ``accepted(tau)`` equal ``max``, the
    newest entry and membership of the old ``dict[round, digest]``."""
    genesis = b"g" * 32
    old = {0: genesis}
    state = ClientState(np.zeros(1), np.zeros(1), VerifiedDigests(genesis), latest=0, latest_digest=genesis)
    for d in chain:
        tau = state.latest + 1  # what Client._accept asserts
        old[tau] = d
        state.latest, state.latest_digest = tau, d
        assert state.latest == max(old) and state.latest_digest == old[max(old)]
        for t in [*probes, tau, tau + 1, 0]:
            assert state.accepted(t) == (t in old)


def test_a_round_costs_a_slot_not_a_set() -> None:
    """No S/P/I/L/F property (resource bound of issue 11, D-17): a round with one verified
    digest and one set adds a list slot (8 bytes, plus the list's over-allocation) to each
    record, shared objects aside; the set and tuples they replaced cost over 300."""
    digest, key = b"d" * 32, (1, b"p" * 32)
    verified, included = VerifiedDigests(digest), Inclusions()
    before = sys.getsizeof(verified._by_round) + sys.getsizeof(included._by_round)
    for tau in range(1, 101):
        verified.add(tau, digest)
        included.add(tau - 1, key)
    per_round = (sys.getsizeof(verified._by_round) + sys.getsizeof(included._by_round) - before) / 100
    assert per_round <= 2 * 8 * 1.25, per_round
    old_per_round = sys.getsizeof({digest}) + sys.getsizeof((0, *key))
    assert old_per_round > 250, old_per_round
