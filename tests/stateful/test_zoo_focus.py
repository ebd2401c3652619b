"""Issue 9, deliverable 4: the zoo's directed search (``harness.zoo.FOCUS``) and the
completion-order rules that keep counterexamples short (``harness.schedule.Ordered``)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asfl.harness.byz import ALL_BEHAVIOURS
from asfl.harness.campaign import STRATEGIES
from asfl.harness.monitor import Violation
from asfl.harness.schedule import Schedule, check_action, check_order, order_candidates, replay
from asfl.harness.world import Setup, World
from asfl.harness.zoo import BY_ID, FOCUS
from asfl.harness.zoo_worker import directed_setups


def test_every_focus_names_a_bug_behaviours_and_a_strategy() -> None:
    assert set(FOCUS) <= set(BY_ID)
    for bug, focus in FOCUS.items():
        assert set(focus.modes) <= set(ALL_BEHAVIOURS), bug
        assert len(focus.byzantine) <= (focus.t_a if focus.t_a is not None else 1), bug
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


def test_ordered_family_draws_valid_rules_and_remembers_them() -> None:
    """The zoo's ``ordered`` search family: one to three valid rules per drawn policy; the
    shrinker finds them again by the setup object (:func:`drawn_order`)."""
    from asfl.harness.schedule import drawn_order, orders

    drawn: list[tuple[str, str, str]] = []
    sizes: set[int] = set()

    @settings(max_examples=40, database=None, derandomize=True)
    @given(st.data())
    def draw(data: st.DataObject) -> None:
        setup = Setup(seed=data.draw(st.integers(0, 3)))
        policy = data.draw(orders(setup))
        check_order([list(r) for r in policy.rules])
        assert drawn_order(setup) == [list(r) for r in policy.rules]
        assert drawn_order(Setup(seed=setup.seed)) is None  # an equal setup is another run's
        drawn.extend(policy.rules)
        sizes.add(len(policy.rules))

    draw()
    assert any(r[:2] == ("last", "step") for r in drawn) and any(r[1] in ("from", "to") for r in drawn)
    assert sizes == {1, 2, 3}


def test_fifo_runs_replay_the_completion_order() -> None:
    """``{"fifo": n}`` runs n steps of the completion order: FIFO's whole run written as
    runs of it is FIFO's run; a run cannot be empty."""
    setup = Setup(seed=2)
    fifo = replay(Schedule(setup, []))
    n = len(fifo.world.actions)
    again = replay(Schedule.from_json(json.loads(Schedule(setup, [{"fifo": 5}, {"fifo": n}]).dumps())))
    assert again.world.actions == fifo.world.actions and again.world.status == "complete"
    with pytest.raises(ValueError, match="fifo"):
        check_action(0, {"fifo": 0})


def test_departures_keep_the_run_and_ddmin_keeps_the_property() -> None:
    """A recorded random run rewritten as departures from FIFO is the same run with fewer
    explicit actions; the shrinker starts from it and keeps a candidate only if it
    violates the same property ID (here a stand-in failure: the first endorse delivered is A1's to A2)."""
    from asfl.harness.policies import UniformRandom
    from asfl.harness.schedule import _as_departures, shrink

    setup = Setup(seed=0)
    world = World(setup)
    # policy seed 4 (3 until stop 12, whose cancelled timers changed the run: seed 3's run
    # then coincides with FIFO at single steps only, 275 actions both ways; 289 -> 288 before)
    world.complete(UniformRandom(4).choose)
    sched = Schedule(setup, list(world.actions))
    dep = _as_departures(sched)
    assert replay(dep).world.actions == world.actions
    assert 0 < sum(1 for a in dep.actions if "fifo" not in a) < len(sched.actions)

    def fails(cand: Schedule) -> Violation | None:
        acts = replay(cand).world.actions
        endorse = next(a["deliver"] for a in acts if a.get("deliver", [""])[0] == "endorse")
        return Violation("X-1", "stand-in") if endorse[1:3] == ["A1", "A2"] else None

    assert fails(sched) is not None and fails(Schedule(setup, [])) is None
    small = shrink(sched, Violation("X-1", "stand-in"), budget_s=10, fails=fails)
    assert fails(small) is not None and len(small.actions) <= len(dep.actions) < len(sched.actions)


def test_a_focus_shape_reshapes_the_setups_validly() -> None:
    """A focus fixing the shape (R-6's one aggregator over 6 clients, t_a = 0): every
    focused setup has that shape, no Byzantine aggregator, at most t_c planned crashes
    inside the client range, and passes R-1's validation."""
    from asfl.harness.zoo import TINY_R6

    seen: list[Setup] = []

    @settings(max_examples=60, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(directed_setups(TINY_R6.to_json(), "random"))
    def draw(setup: Setup) -> None:
        setup.protocol().validate()
        assert all(j < setup.n_aggregators for j in setup.byzantine) and len(setup.byzantine) <= setup.t_a
        assert all(i < setup.n_clients for i in setup.crash_after) and len(setup.crash_after) <= setup.t_c
        seen.append(setup)

    draw()
    tiny = [s for s in seen if (s.n_aggregators, s.n_clients, s.q_min, s.lead_bound) == (1, 6, 3, 0)]
    assert len(tiny) >= len(seen) // 2 and all(not s.byzantine and s.rounds == 3 for s in tiny)
    assert any(s.crash_after for s in tiny), "no focused setup kept a planned crash"


def test_a_focus_names_its_byzantine_aggregators() -> None:
    """D-22's focus (stop 12): two withholding aggregators, A0 and A1, among 7 (t_a = 2);
    every focused setup has exactly those, valid, and the rest draw one as before."""
    focus = FOCUS["fetch-never-rearmed"]
    seen: list[Setup] = []

    @settings(max_examples=40, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(directed_setups(focus.to_json(), "ordered"))
    def draw(setup: Setup) -> None:
        setup.protocol().validate()
        seen.append(setup)

    draw()
    focused = [s for s in seen if s.byzantine == {0: "withhold", 1: "withhold"}]
    assert len(focused) >= len(seen) // 2
    assert all((s.n_aggregators, s.t_a, s.n_clients) == (7, 2, 14) for s in focused)
    others = [s for s in seen if s not in focused]
    assert all(len(s.byzantine) == 1 and "withhold" not in s.byzantine.values() for s in others)


def test_withholding_aggregator_sends_headers_only() -> None:
    """``withhold`` (D-22's adversary): its pushees get nothing from it, every other
    client its header-only announcement; under FIFO its pushees fetch from an honest
    aggregator and the run completes."""
    out = replay(Schedule(Setup(byzantine={0: "withhold"}), []))
    assert not out.violations and out.world.status == "complete"
    ev = out.world.events
    sent = [e for e in ev if e["kind"] == "send" and e["node"] == "A0" and e["type"] == "announce"]
    assert sent and {e["to"] for e in sent} == {f"C{i}" for i in range(12) if i % 4 != 0}
    fetched = {e["node"] for e in ev if e["kind"] == "fetch"}
    assert {"C0", "C4", "C8"} <= fetched  # A0's pushees fetch from an honest aggregator


def test_relaying_aggregator_forwards_each_fetch_to_every_other_aggregator() -> None:
    """``relay`` (serve-other-header's adversary, stop 14): honest, but every fetch it
    receives goes on, once and verbatim, to each other aggregator, with no random draw;
    the correct implementation drops each relayed copy (other header or duplicate) and
    the run completes."""
    out = replay(Schedule(Setup(byzantine={0: "relay"}), [], order=[["last", "from", "A1"]]))
    assert not out.violations and out.world.status == "complete"
    ev = out.world.events
    fetched = [e for e in ev if e["kind"] == "fetch" and e["to"] == "A0"]
    relayed = [e for e in ev if e["kind"] == "send" and e["node"] == "A0" and e["type"] == "fetch"]
    assert fetched and len(relayed) == 3 * len(fetched)
    assert {e["to"] for e in relayed} == {"A1", "A2", "A3"}
    assert out.world.byz["A0"].sent_replays == len(fetched)
