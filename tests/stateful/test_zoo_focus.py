"""Issue 9, deliverable 4: the zoo's directed search (``harness.zoo.FOCUS``) and the
completion-order rules that keep counterexamples short (``harness.schedule.Ordered``)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings

from asfl.harness.byz import BEHAVIOURS
from asfl.harness.campaign import STRATEGIES
from asfl.harness.monitor import Violation
from asfl.harness.schedule import Schedule, check_order, order_candidates, replay
from asfl.harness.world import Setup
from asfl.harness.zoo import BY_ID, FOCUS
from asfl.harness.zoo_worker import directed_setups


def test_every_focus_names_a_bug_behaviours_and_a_strategy() -> None:
    assert set(FOCUS) <= set(BY_ID)
    for bug, focus in FOCUS.items():
        assert set(focus.modes) <= set(BEHAVIOURS), bug
        assert focus.strategy is None or focus.strategy in (*STRATEGIES, "ordered"), bug
        assert focus.rounds and all(r >= 1 for r in focus.rounds), bug


def test_directed_setups_draw_the_focus_three_times_in_four() -> None:
    """Most setups carry the focus's behaviour and rounds; the rest are unrestricted."""
    seen: list[Setup] = []

    @settings(max_examples=80, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(directed_setups({"modes": ["forge"], "rounds": [2]}, "random"))
    def draw(setup: Setup) -> None:
        setup.protocol().validate()
        assert len(setup.byzantine) == 1 and len(setup.crash_after) <= setup.t_c
        seen.append(setup)

    draw()
    focused = [s for s in seen if s.rounds == 2 and set(s.byzantine.values()) == {"forge"}]
    others = [s for s in seen if set(s.byzantine.values()) != {"forge"}]
    assert len(focused) >= len(seen) // 2 and others, (len(focused), len(seen))
    assert directed_setups(None, "stateful") is None


def test_order_rules_replay_a_slow_client_in_one_line() -> None:
    """``["last", "step", "C6"]``: C6's step runs once nothing else can, after both rounds
    completed without it, so it catches up (D-13: one step submits rounds 0 and 1, in
    order) and the run completes."""
    sched = Schedule(Setup(rounds=2, seed=1), [], order=[["last", "step", "C6"]])
    again = Schedule.from_json(json.loads(sched.dumps()))
    assert again.order == sched.order
    out = replay(again)
    assert not out.violations and out.world.status == "complete"
    steps = [k for k, ev in enumerate(out.world.events) if ev["kind"] == "local_step" and ev["node"] == "C6"]
    assert len(steps) == 1 and out.world.events[steps[0]]["model_round"] == 2
    subs = [
        ev["round"] for ev in out.world.events[steps[0] :] if ev["kind"] == "submit" and ev["node"] == "C6"
    ]
    assert subs[:2] == [0, 1]
    fifo = replay(Schedule(Setup(rounds=2, seed=1), []))
    assert fifo.world.events != out.world.events  # the rule changed the schedule


@pytest.mark.parametrize("bad", [[["soon", "step", "C1"]], [["last", "via", "C1"]], [["last", "step"]], "x"])
def test_bad_order_rules_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="order"):
        check_order(bad)


def test_order_candidates_start_with_the_named_nodes() -> None:
    v = Violation("D-13", "C6 submits round 1; A2 said so")
    got = order_candidates(Setup(byzantine={3: "forge"}), v)
    assert got[0] == ["last", "step", "C6"]
    assert ["first", "from", "A2"] in got and got[-1] == ["first", "from", "A3"]
    assert len(got) == len({tuple(r) for r in got})


def test_ordered_family_draws_valid_rules() -> None:
    """The zoo's ``ordered`` search family: one valid rule per drawn policy."""
    from asfl.harness.schedule import orders

    drawn: list[tuple[str, str, str]] = []

    @settings(max_examples=30, database=None, derandomize=True)
    @given(orders(Setup()))
    def draw(policy: object) -> None:
        (rule,) = policy.rules  # type: ignore[attr-defined]
        check_order([list(rule)])
        drawn.append(rule)

    draw()
    assert any(r[:2] == ("last", "step") for r in drawn) and any(r[1] in ("from", "to") for r in drawn)
