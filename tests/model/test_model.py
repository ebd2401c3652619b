"""Tests of the reference model: building blocks, invariants, explorer, broken variants."""

from __future__ import annotations

import pytest

from asfl.model import inclusion
from asfl.model.explore import explore
from asfl.model.params import Params, validity_errors
from asfl.model.protocol import decode
from asfl.model.shuffle import cluster_assignment, compute_shuffled_index, round_seed, shuffled_positions

SILENT: frozenset[str] = frozenset()


def test_shuffle_batched_equals_reference() -> None:
    seed = round_seed(bytes(32), 3)
    for n in (1, 2, 7, 40, 300):
        pos = shuffled_positions(n, seed)
        assert pos == [compute_shuffled_index(i, n, seed) for i in range(n)]
        assert sorted(pos) == list(range(n))


def test_clusters_partition_with_balanced_sizes() -> None:
    cl = cluster_assignment(10, 4, bytes(32), 0)
    assert sorted(i for c in cl for i in c) == list(range(10))
    sizes = [len(c) for c in cl]
    assert max(sizes) - min(sizes) <= 1


def test_inclusion_rule_defers_clients_ahead() -> None:
    counts = {0: 0, 1: 0, 2: 3, 3: 0}
    # m = 0 (t_c = 0), B = 1: client 2 is 3 ahead, not eligible
    assert inclusion.eligible(counts, 0, 1) == {0, 1, 3}
    # t_c = 0: the coordinator waits for every member, the deferred one included (D-7)
    assert not inclusion.close_condition(counts, {0, 1, 3}, 0)
    assert inclusion.close_condition(counts, {0, 1, 2, 3}, 0)
    assert inclusion.proposed_set(counts, {0, 1, 2, 3}, 0, 1, 2) == (0, 1, 3)
    # t_c = 1: any one member may be missing; top-up when H ∩ E is too small
    assert not inclusion.close_condition(counts, {0, 2}, 1)
    assert inclusion.close_condition(counts, {0, 1, 2}, 1)
    assert inclusion.proposed_set(counts, {0, 1, 2}, 1, 1, 2) == (0, 1)
    assert inclusion.proposed_set(counts, {0, 1, 2}, 1, 1, 3) == (0, 1, 2)  # topped up


def test_decode_symbolic() -> None:
    # n_a = 4, t_a = 1, quorum 3: wrong shares never decode
    assert decode([(0, False), (1, True), (2, True)], 3, 1) is None
    assert decode([(0, False), (1, True), (2, True), (3, True)], 3, 1) == (False, (1, 2, 3), (0,))
    # broken quorum t_a + 1 = 2: one good and one wrong point lie on a forged line
    got = decode([(0, False), (1, True)], 2, 1)
    assert got is not None and got[0] is True


def test_validity_r1() -> None:
    assert validity_errors(Params(4, 1, 8, 0, 2, 0, 1)) == []
    assert validity_errors(Params(3, 1, 8, 0, 2, 0, 1))  # n_a < 3 t_a + 1
    assert validity_errors(Params(4, 1, 6, 0, 2, 0, 1))  # n_c < 2 n_a
    # n_c >= 2 n_a is implied by 2 <= q_min <= k_min - t_c: relaxing it alone changes nothing
    assert validity_errors(Params(4, 1, 6, 0, 2, 0, 1), relax_clients=True)
    assert validity_errors(Params(4, 1, 8, 1, 2, 0, 1))  # q_min > k_min - t_c


@pytest.mark.parametrize(
    "p",
    [
        Params(n_a=1, t_a=0, n_c=3, t_c=1, q_min=2, B=0, R=2),
        Params(n_a=1, t_a=0, n_c=3, t_c=1, q_min=2, B=0, R=2, crashed=frozenset({2})),
        Params(n_a=2, t_a=0, n_c=4, t_c=0, q_min=2, B=0, R=1),
    ],
)
def test_correct_protocol_exhaustive_no_violation(p: Params) -> None:
    r = explore(p, behaviours=SILENT)
    assert r.exhaustive and r.ok, [v.render(p, r.behaviours) for v in r.violations]
    assert r.complete_states > 0 and r.deadlocks == 0
    assert r.nontrivial_sccs == 0  # the state graph is acyclic


def test_reductions_preserve_verdicts() -> None:
    """POR and symmetry change the number of states, not what is found."""
    p = Params(n_a=2, t_a=0, n_c=4, t_c=0, q_min=2, B=0, R=1)
    full = explore(p, behaviours=SILENT, por=False, symmetry=False)
    red = explore(p, behaviours=SILENT, por=True, symmetry=True)
    sym = explore(p, behaviours=SILENT, por=False, symmetry=True)
    assert sym.ok and sym.exhaustive and sym.states < full.states
    assert full.ok and red.ok and full.exhaustive and red.exhaustive
    assert red.states < full.states
    assert (full.deadlocks, full.complete_states > 0) == (red.deadlocks, red.complete_states > 0)
    for bug, prop in [("double-release", "S-3"), ("release-without-cert", "S-3")]:
        pb = Params(n_a=2, t_a=0, n_c=4, t_c=0, q_min=2, B=0, R=1, bug=bug)
        a = explore(pb, behaviours=SILENT, por=False, symmetry=False)
        b = explore(pb, behaviours=SILENT)
        assert [v.prop for v in a.violations] == [v.prop for v in b.violations] == [prop]
        # BFS gives the shortest path of the graph it explores: POR may lengthen it
        assert len(a.violations[0].actions) <= len(b.violations[0].actions)


BYZ0 = frozenset({0})


@pytest.mark.parametrize(
    "p, behaviours, props, max_states",
    [
        (Params(4, 1, 8, 0, 2, 0, 1, byzantine=BYZ0, bug="double-release"), {"equivocate"}, {"S-3"}, 2_000),
        (
            Params(4, 1, 8, 0, 2, 0, 1, byzantine=BYZ0, bug="release-without-cert"),
            {"equivocate"},
            {"S-3"},
            100,
        ),
        (
            Params(4, 1, 9, 0, 2, 0, 1, byzantine=BYZ0, bug="small-quorum"),
            {"equivocate", "forge-endorse"},
            {"S-1", "P-2"},
            30_000,  # BFS is deterministic: S-1 is found at state 27,513
        ),
        (Params(1, 0, 3, 0, 2, 0, 2, bug="greedy-close"), set(), {"F-1"}, 100),
    ],
)
def test_broken_variants_are_caught(
    p: Params, behaviours: set[str], props: set[str], max_states: int
) -> None:
    """A deterministic budget in states (the wall-clock limit is only a hang guard), so a
    loaded machine makes the test slower, never wrong."""
    r = explore(p, behaviours=frozenset(behaviours), max_states=max_states, max_seconds=1800)
    assert r.violations, f"the broken variant was not caught within {max_states} states"
    assert r.states <= max_states
    assert r.violations[0].prop in props
    text = r.violations[0].render(p, r.behaviours)
    assert "shortest counterexample" in text


def test_too_few_aggregators_breaks_decoding() -> None:
    """n_a <= 3 t_a (here 2 <= 3): a wrong share sum gets into a decoding support, the
    revealed sum is not sum x_i (I-1 refuted, P-1 violated)."""
    p = Params(2, 1, 4, 0, 2, 0, 1, byzantine=BYZ0)
    assert validity_errors(p)
    r = explore(p, behaviours=frozenset({"wrong-release"}), max_seconds=30)
    assert r.violations and r.violations[0].prop == "P-1"


def test_deadlock_beyond_bounds_is_a_stall_not_a_violation() -> None:
    # t_c = 0 but a client is crashed: the coordinator waits for it for ever
    p = Params(n_a=1, t_a=0, n_c=3, t_c=0, q_min=2, B=0, R=1, crashed=frozenset({0}))
    r = explore(p, behaviours=SILENT)
    assert r.exhaustive and r.deadlocks > 0 and r.ok


def test_deadlock_within_bounds_is_l3() -> None:
    # q_min = 3 > k_min - t_c violates R-1: with one crash the cluster can never close
    p = Params(n_a=1, t_a=0, n_c=3, t_c=1, q_min=3, B=0, R=1, crashed=frozenset({0}))
    assert validity_errors(p)
    r = explore(p, behaviours=SILENT)
    assert r.violations and r.violations[0].prop == "L-3"
    assert "stuck" in r.violations[0].render(p, r.behaviours)
