"""The explorer's hash-consed representation (model/system.Memo, issue 9 deliverable 5):
memoised steps give the states the model computes afresh, canonical states of equal
value have one fingerprint, and a search with or without it visits the same states and
reaches the same verdicts."""

from __future__ import annotations

import random
from collections.abc import Iterator

from asfl.model.explore import explore
from asfl.model.params import Params
from asfl.model.por import normalize
from asfl.model.system import BEHAVIOURS, Memo, Mode, enabled, initial_state, step
from asfl.model.types import Action, SysState

B = frozenset
P = Params(4, 1, 4, 0, 1, 0, 1, byzantine=B({0}))
MODE = Mode(behaviours=B(BEHAVIOURS), explorer=True, events=False)


def test_memoised_steps_and_menus_equal_the_models() -> None:
    memo = Memo(P, MODE)
    rng = random.Random(3)
    steps = 0
    for _walk in range(5):
        s = memo.state(normalize(P, initial_state(P, MODE)))
        for _ in range(60):
            acts = enabled(P, s, MODE, memo)
            assert acts == enabled(P, s, MODE)  # same actions, same order
            if not acts:
                break
            for a in acts:
                fast = memo.state(normalize(P, step(P, s, a, MODE, memo)[0]))
                slow = normalize(P, step(P, s, a, MODE)[0])
                assert fast == slow, str(a)
                # a state rebuilt from fresh objects gets the same canonical parts
                fresh = memo.state(slow)
                assert memo.fingerprint(fresh) == memo.fingerprint(fast)
                steps += 1
            s = memo.state(normalize(P, step(P, s, rng.choice(acts), MODE, memo)[0]))
    assert steps > 500


def test_search_with_and_without_hashconsing_agree() -> None:
    for p, bh in [(Params(1, 0, 3, 1, 2, 0, 2), B()), (P, B(BEHAVIOURS))]:
        a = explore(p, behaviours=bh, hashcons=True, stop_at_first=False)
        b = explore(p, behaviours=bh, hashcons=False, stop_at_first=False)
        assert a.exhaustive and b.exhaustive
        assert (a.states, a.transitions, a.depth, a.terminal, a.deadlocks) == (
            b.states,
            b.transitions,
            b.depth,
            b.terminal,
            b.deadlocks,
        )
        assert sorted(v.prop for v in a.violations) == sorted(v.prop for v in b.violations)


def _walk_states(
    p: Params, memo: Memo, mode: Mode, walks: int, length: int, seed: int
) -> Iterator[tuple[SysState | None, SysState]]:
    """States of seeded random walks in the explorer's representation, each with its
    predecessor (``None`` for the initial state)."""
    rng = random.Random(seed)
    for _walk in range(walks):
        prev, s = None, memo.state(normalize(p, initial_state(p, mode)))
        for _ in range(length):
            yield prev, s
            acts = enabled(p, s, mode, memo)
            if not acts:
                break
            t = step(p, s, rng.choice(acts), mode, memo)[0]
            prev, s = s, memo.state(normalize(p, t))


P2 = Params(4, 1, 8, 0, 2, 0, 2, byzantine=B({0}))


def test_memoised_normalize_invariants_and_select_equal_the_models() -> None:
    """The explorer's cached paths (normalize after a step, per-node invariant parts,
    POR decisions on the receiver's local transition) give what the model computes."""
    from asfl.model.invariants import violations

    checked = {"normalize": 0, "select": 0, "loops": 0}
    broken = [
        Params(4, 1, 8, 0, 2, 0, 1, byzantine=B({0}), bug=bug) for bug in ("small-attest", "small-quorum")
    ]
    found: set[str] = set()
    for p in (P, P2, *broken):
        memo = Memo(p, MODE)
        for prev, s in _walk_states(p, memo, MODE, walks=4, length=45, seed=5):
            got = violations(p, s, memo)
            assert got == violations(p, s)
            found |= {prop for prop, _ in got}
            acts = enabled(p, s, MODE, memo)
            assert acts == enabled(p, s, MODE)  # cached deliveries, client actions, menu parts
            for a in acts:
                t = step(p, s, a, MODE, memo)[0]
                assert normalize(p, t, memo, s) == normalize(p, t)
                checked["normalize"] += 1
                if a.kind == "byz":
                    old, new, out = memo.local_step(s, a)
                    if new is old and not out:  # what select skips: a true self-loop
                        assert normalize(p, t) == s
                        checked["loops"] += 1
            if prev is None or not acts:
                continue
            _same_selection(p, memo, s, acts)
            checked["select"] += 1
    assert checked["normalize"] > 2000 and checked["select"] > 200 and checked["loops"] > 50, checked
    assert {"P-1", "S-7"} <= found, found  # an aggregator's and a client's checks fail somewhere


def test_memoised_cross_aggregator_checks_equal_the_models() -> None:
    """S-1 and P-2 (cached per combination of certified proposals) on states where two
    honest aggregators certified different proposals for one cluster, and on the same
    states without: the memo's answers are the model's."""
    from asfl.model.invariants import violations
    from asfl.model.protocol import idx
    from asfl.model.types import Proposal

    memo = Memo(P2, MODE)
    props: dict[bool, set[str]] = {}
    for _prev, s in _walk_states(P2, memo, MODE, walks=2, length=30, seed=7):
        aggs = list(s.aggs)
        for j, cl in ((1, (2, 3)), (2, (2,))):
            a = aggs[j]
            assert a is not None
            k = idx(P2, 0, 1)
            views = list(a.views)
            views[k] = views[k]._replace(cert=Proposal(0, 1, cl))
            aggs[j] = a._replace(views=tuple(views))
        forked = memo.state(s._replace(aggs=tuple(aggs)))
        for t in (forked, s):
            got = violations(P2, t, memo)
            assert got == violations(P2, t)
            props.setdefault(t is forked, set()).update(prop for prop, _ in got)
    assert {"S-1", "P-2"} <= props[True] and not {"S-1", "P-2"} & props[False], props


def _same_selection(p: Params, memo: Memo, s: SysState, acts: list[Action]) -> None:
    """POR's choice with the receiver's memoised local transitions, and with its
    per-action tests cached in the memo, equals its choice with full successors only,
    whether or not the adversary may still propose."""
    from asfl.model.por import _safe_alone, _scan_cached, select

    def succ(a: Action) -> SysState:
        return memo.state(normalize(p, step(p, s, a, MODE, memo)[0]))

    def local(a: Action) -> tuple[object, object, tuple]:
        return memo.local_step(s, a)

    for bcp in (True, False):
        plain = select(p, s, acts, succ, bcp)
        assert select(p, s, acts, succ, bcp, local) == plain
        assert select(p, s, acts, succ, bcp, local, memo) == plain

        # the cached singleton candidates, in order, are the uncached ones
        def single(a: Action, bcp: bool = bcp) -> bool:
            if not _safe_alone(p, s, a, bcp):
                return False
            return a.kind != "byz" or local(a)[1] is not local(a)[0] or bool(local(a)[2])

        want = [a for a in acts if a.kind != "byz" and single(a)] + [
            a for a in acts if a.kind == "byz" and single(a)
        ]
        assert _scan_cached(p, s, acts, bcp, memo, single, {}, {}) == want
