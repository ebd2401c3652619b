"""Whole-run schedule strategies (issue 4, part 2): uniform random, PCT and targeted.

Each test draws a small setup (at most ``t_a`` Byzantine aggregators with a drawn
behaviour, at most ``t_c`` crashes) and a schedule policy, runs the implementation to
quiescence under it and checks every safety monitor online and liveness at the end.
PCT draws shrink to a few numbers while the realised schedule stays long: a failure is
shrunk again (:func:`harness.schedule.shrink`) and saved under the test's ``tmp_path``
(its path is in the failure message), or under ``tests/regressions/`` (the replayed
corpus) when ``ASFL_SAVE_REGRESSIONS=1`` asks for it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import settings

from asfl.harness.campaign import Recorder, whole_run_test
from asfl.harness.policies import PCT, Targeted, UniformRandom
from asfl.harness.schedule import Schedule, replay, shrink
from asfl.harness.world import Setup, World

REGRESSIONS = Path(__file__).resolve().parents[1] / "regressions"


def failure_dir(tmp_path: Path) -> Path:
    """Where a shrunk failure goes: the corpus only when explicitly asked, else tmp_path."""
    return REGRESSIONS if os.environ.get("ASFL_SAVE_REGRESSIONS") == "1" else tmp_path


def _examples(ci: int) -> int:
    n = settings.default.max_examples
    return ci if n == 100 else n


@pytest.mark.parametrize("family", ["random", "pct", "targeted"])
def test_whole_run_family(family: str, tmp_path: Path) -> None:
    rec = Recorder(shrink_budget=float("inf"))
    test = settings(max_examples=_examples(8), deadline=None)(whole_run_test(family, rec))
    try:
        test()
    except BaseException as exc:
        if rec.last is not None and rec.violation is not None:
            sched = shrink(rec.last, rec.violation, budget_s=20.0)
            sched.note = f"found by the {family} strategy against the real implementation"
            saved = sched.save(failure_dir(tmp_path) / f"found-{family}-{int(time.time())}.json")
            raise AssertionError(f"{exc}\nshrunk schedule saved to {saved}") from exc
        raise
    assert rec.examples > 0


def _policy_run(policy: object, setup: Setup) -> World:
    world = World(setup)
    world.complete(policy.choose)  # type: ignore[attr-defined]
    return world


def test_pct_is_deterministic_and_replays() -> None:
    """A realised PCT schedule replays byte for byte from its recorded actions."""
    setup = Setup(rounds=1, seed=2, byzantine={1: "equivocate"})
    nodes = [f"A{j}" for j in range(4)] + [f"C{i}" for i in range(12)]
    a = _policy_run(PCT(nodes[::-1], [40, 90]), setup)
    b = _policy_run(PCT(nodes[::-1], [40, 90]), setup)
    assert a.events == b.events and not a.violations and a.status == "complete"
    again = replay(Schedule(setup, a.actions))
    assert not again.failed
    assert again.world.events == a.events


def test_targeted_windows_take_effect() -> None:
    """A split proposal reaches A2, A3 only after everything else; a slow client is late."""
    setup = Setup(rounds=1, seed=0)
    world = World(setup)
    policy = Targeted([["split", 0, [2, 3]], ["slow", 5]], seed=1)
    world.complete(policy.choose)
    assert not world.violations and world.status == "complete"
    delivered = [
        ev
        for ev in world.events
        if ev["kind"] == "deliver" and ev["from"] == "A0" and ev["node"] in ("A2", "A3")
    ]
    assert delivered  # the delayed proposals were still delivered (fairness)
    steps = [ev["node"] for ev in world.events if ev["kind"] == "local_step"]
    assert steps[-1] == "C5"  # the slow client's step is always the last one


def test_uniform_random_policy_completes() -> None:
    world = _policy_run(UniformRandom(7), Setup(rounds=2, seed=1, byzantine={2: "wrong-shares"}))
    assert not world.violations and world.status == "complete"
