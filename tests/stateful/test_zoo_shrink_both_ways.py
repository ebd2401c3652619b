"""Issue 9, deliverables 4 and 6 (stop 10): the shrinker keeps only candidates that fail
the bugged implementation *and* pass the correct one; ``hunt`` saves a counterexample the
correct implementation fails too (a real bug) where the user says; the smallest R-6 focus
catches ``deferral-ignored`` at once with a short witness."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import asfl.harness.schedule as schedule_mod
from asfl.harness import zoo
from asfl.harness.monitor import Violation
from asfl.harness.policies import UniformRandom
from asfl.harness.schedule import Outcome, Schedule, replay, shrink
from asfl.harness.world import Setup, World

STAND_IN = Violation("X-1", "stand-in")


def _random_run(seed: int = 0) -> Schedule:
    setup = Setup(seed=seed)
    world = World(setup)
    world.complete(UniformRandom(3).choose)
    return Schedule(setup, list(world.actions))


def _first_endorse_a1_a2(cand: Schedule) -> Violation | None:
    """The stand-in bug: the first endorse delivered is A1's to A2."""
    acts = replay(cand).world.actions
    endorse = next(a["deliver"] for a in acts if a.get("deliver", [""])[0] == "endorse")
    return STAND_IN if endorse[1:3] == ["A1", "A2"] else None


def test_shrinker_refuses_candidates_the_correct_implementation_fails() -> None:
    """The stand-in "correct implementation" fails every schedule as short as what the
    shrinker reaches without it; with it, the result stays longer, still fails the
    stand-in bug, and the oracle was asked about (and refused) shorter candidates."""
    sched = _random_run()
    assert _first_endorse_a1_a2(sched) is not None
    free = shrink(sched, STAND_IN, budget_s=120, fails=_first_endorse_a1_a2)  # ends when done;
    # the budget is wall-clock and only bounds a loaded machine (4 s missed under load)
    asked: list[int] = []

    def passes(cand: Schedule) -> bool:
        asked.append(len(cand.actions))
        return len(cand.actions) > len(free.actions)

    both = shrink(sched, STAND_IN, budget_s=120, fails=_first_endorse_a1_a2, passes=passes)
    assert _first_endorse_a1_a2(both) is not None and len(both.actions) > len(free.actions)
    assert any(n <= len(free.actions) for n in asked), "the oracle never refused a candidate"


def test_shrinker_returns_a_schedule_the_correct_implementation_fails_as_it_is() -> None:
    sched = _random_run()
    got = shrink(sched, STAND_IN, budget_s=2, fails=_first_endorse_a1_a2, passes=lambda c: False)
    assert got is sched


def test_hunt_saves_a_counterexample_failing_the_correct_implementation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A counterexample that the correct implementation fails too is a real bug: saved as
    ``real-<bug>.json`` (bug null, the correct implementation's violation) to the output
    directory, and to the corpus only when asked."""
    sched = Schedule(Setup(), [])
    reply = {"found": True, "time_to_first": 1.0, "examples_to_first": 1, "raw_length": 9}
    reply |= {"shrunk_length": 0, "violation": {"prop": "F-1", "message": "m"}, "schedule": sched.to_json()}
    monkeypatch.setattr(zoo, "run_worker", lambda bug, request, timeout: reply)
    real = Violation("R-15", "C11 accepts round 2 before round 1")
    monkeypatch.setattr(schedule_mod, "replay", lambda s: Outcome([real], World(s.setup), 0))
    corpus = tmp_path / "corpus"
    monkeypatch.setattr(zoo, "CORPUS", corpus)
    monkeypatch.setattr(zoo, "REPO", tmp_path)
    bug = zoo.BY_ID["deferral-ignored"]
    res = zoo.hunt(bug, out_dir=tmp_path / "out")
    assert res.error is not None and "correct implementation" in res.error
    assert res.real_bug_file == str(tmp_path / "out" / "real-deferral-ignored.json")
    saved = json.loads(Path(res.real_bug_file).read_text(encoding="utf-8"))
    assert saved["bug"] is None and saved["violation"]["prop"] == "R-15"
    assert not corpus.exists()
    res = zoo.hunt(bug, out_dir=None, save_regression=True)
    assert (corpus / "real-deferral-ignored.json").is_file() and res.real_bug_file == res.corpus_file


def test_smallest_r6_focus_catches_deferral_ignored_with_a_short_witness(tmp_path: Path) -> None:
    """The R-6 focus (one aggregator, 6 clients, t_c = 1, B = 0): ``deferral-ignored``
    caught within a few examples; its witness is at most 20 scheduled actions, fails the
    bugged copy with F-1 and passes the correct implementation."""
    bug = zoo.BY_ID["deferral-ignored"]
    res = zoo.hunt(bug, "stateful", budget_s=60, seed=0, shrink_budget_s=5, out_dir=tmp_path)
    assert res.caught and res.error is None, res
    assert res.examples_to_first is not None and res.examples_to_first <= 20
    assert res.saved_file is not None
    saved = Schedule.load(Path(res.saved_file))
    assert saved.setup.n_aggregators == 1 and saved.setup.n_clients == 6
    assert len(saved.actions) + len(saved.order) <= 20
    assert res.shrunk_length == len(saved.actions) + len(saved.order)  # order rules counted too
    assert not replay(saved).violations
    again = zoo.replay_under_bug(bug, saved.to_json())
    assert again["failed"] and again["violations"][0]["prop"] == "F-1", again
