"""The explorer's hash-consed representation (model/system.Memo, issue 9 deliverable 5):
memoised steps give the states the model computes afresh, canonical states of equal
value have one fingerprint, and a search with or without it visits the same states and
reaches the same verdicts."""

from __future__ import annotations

import random

from asfl.model.explore import explore
from asfl.model.params import Params
from asfl.model.por import normalize
from asfl.model.system import BEHAVIOURS, Memo, Mode, enabled, initial_state, step

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
