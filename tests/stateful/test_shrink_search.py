"""Issue 9 (stop 11): the second-stage shrinker's search. Each distinct candidate is
judged once; the correct implementation is asked lazily (the input and the result when
it passes everything); the Byzantine sends alone and a bisected window of departures
are tried before delta debugging. Stand-in failures that read a candidate's actions
(no replay), so that the number of checks is exact and cheap to count."""

from __future__ import annotations

import pytest

from asfl.harness.monitor import Violation
from asfl.harness.policies import UniformRandom
from asfl.harness.schedule import GOAL, Schedule, _as_departures, _key, first_triples, length, shrink
from asfl.harness.world import Act, Setup, World

STAND_IN = Violation("X-1", "stand-in")


def _random_run() -> Schedule:
    setup = Setup(seed=0)
    world = World(setup)
    world.complete(UniformRandom(3).choose)
    return Schedule(setup, list(world.actions))


def _unique_departures(sched: Schedule) -> list[Act]:
    deps = [a for a in _as_departures(sched).actions if "fifo" not in a]
    return [a for a in deps if deps.count(a) == 1]


def _needing(need: list[Act], calls: list[str]):  # noqa: ANN202 - a stand-in ``fails``
    def fails(cand: Schedule) -> Violation | None:
        calls.append(_key(cand))
        return STAND_IN if all(n in cand.actions for n in need) else None

    return fails


def test_each_candidate_judged_once_and_the_correct_implementation_asked_lazily() -> None:
    """Only the result is judged twice (checked afresh at the end); a correct
    implementation that passes everything is asked about the input and the result only."""
    sched = _random_run()
    need = _unique_departures(sched)[10:12]
    calls: list[str] = []
    asked: list[str] = []

    def passes(cand: Schedule) -> bool:
        asked.append(_key(cand))
        return True

    out = shrink(sched, STAND_IN, budget_s=120, fails=_needing(need, calls), passes=passes)
    assert [a for a in out.actions if "fifo" not in a] == need
    repeated = {k for k in calls if calls.count(k) > 1}
    assert repeated == {_key(out)} and calls.count(_key(out)) == 2
    assert asked == [_key(sched), _key(out)]


def test_a_window_of_departures_is_found_by_bisection() -> None:
    """Four consecutive departures out of ~230 are all the stand-in needs: the result is
    exactly them, in fewer checks than delta debugging alone took (50 on this run)."""
    sched = _random_run()
    need = _unique_departures(sched)[30:34]
    calls: list[str] = []
    out = shrink(sched, STAND_IN, budget_s=120, fails=_needing(need, calls))
    assert [a for a in out.actions if "fifo" not in a] == need
    assert len(calls) <= 40, len(calls)


def _byzantine_run() -> Schedule:
    """A random run in which scripted Byzantine A0 sends each held message as it is."""
    setup = Setup(seed=2, byzantine={0: "scripted"})
    world = World(setup)
    policy = UniformRandom(5)
    while len(world.sim.scheduler) and not world.violations:
        world.apply_index(policy.choose(world))
        for held in list(world.byz["A0"].outbox):
            world.apply({"byz": "A0", "out": [held.kind, held.to, 0], "do": "honest", "seed": 0})
    return Schedule(setup, list(world.actions))


def test_the_byzantine_sends_alone_are_tried_before_delta_debugging() -> None:
    """A stand-in failure needing two Byzantine sends: the first candidate after the
    order rules is those sends with every delivery and step left to FIFO."""
    sched = _byzantine_run()
    sends = [a for a in sched.actions if "byz" in a]
    assert len(sends) >= 4 and any("deliver" in a for a in sched.actions)
    need = sends[1:3]
    calls: list[str] = []
    out = shrink(sched, STAND_IN, budget_s=120, fails=_needing(need, calls))
    assert all("deliver" not in a and "step" not in a for a in out.actions)
    assert need[0] in out.actions and need[1] in out.actions
    adversary_only = [k for k in calls if '"deliver"' not in k and '"step"' not in k and '"byz"' in k]
    assert calls.index(adversary_only[0]) <= 4, calls[:5]


@pytest.mark.parametrize("over", [True, False], ids=["over-goal", "within-goal"])
def test_three_aggregator_rules_are_tried_only_for_a_witness_over_the_goal(over: bool) -> None:
    """Step (4): a result over :data:`GOAL` scheduled actions is replaced by three
    aggregator "first" rules and no action, if they fail; a result within it never has
    them asked about."""
    triple = first_triples(Setup())[7]
    sched = _random_run()
    need = _unique_departures(sched)[5 : 5 + (GOAL + 5 if over else 2)]
    calls: list[str] = []
    counted = _needing(need, calls)

    def fails(cand: Schedule) -> Violation | None:
        return STAND_IN if cand.order == triple and not cand.actions else counted(cand)

    out = shrink(sched, STAND_IN, budget_s=120, fails=fails)
    asked = [k for k in calls if k.startswith('[[],[["first"')]
    if over:
        assert out.order == triple and out.actions == [] and length(out) == 3
        before = [_key(sched.but([], t)) for t in first_triples(Setup())[:7]]
        assert asked == before  # the seven before it, in their fixed order, each once
    else:
        assert not asked and [a for a in out.actions if "fifo" not in a] == need
