"""Liveness of the implementation under every scheduler and Byzantine behaviour (L-1, L-2, L-3).

Runs the real nodes in the deterministic simulator (``impl.sim.run.execute``) on a small
configuration: 16 clients, 4 aggregators, ``t_a = t_c = 1``, ``q_min = 2``, 2 rounds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

import pytest

from asfl.impl.config import ProtocolConfig
from asfl.impl.learning.data import Task
from asfl.impl.node import aggregator_name, client_name
from asfl.impl.sim.byzantine import BEHAVIOURS
from asfl.impl.sim.run import Built, RunConfig, RunSummary, execute
from asfl.impl.sim.schedulers import SCHEDULERS, Action, ControlledScheduler, Delivery


def assert_live(summary: RunSummary, built: Built) -> None:
    """L-1 and L-2 on the end state of a run within the fault bounds."""
    cfg = built.cfg
    assert summary.status == "complete", summary.detail
    byzantine = {aggregator_name(j) for j in built.byzantine}
    crashed = {client_name(i) for i in built.crashed}
    honest_aggs = [
        aggregator_name(j) for j in range(cfg.n_aggregators) if aggregator_name(j) not in byzantine
    ]
    assert sorted(built.aggregators) == sorted(honest_aggs)
    for name in honest_aggs:
        agg = built.aggregators[name]
        assert summary.rounds_done[name] == cfg.rounds
        assert agg.round == cfg.rounds
        assert sorted(agg.models) == list(range(cfg.rounds + 1))  # a model for every round 1..R
    for i in range(cfg.n_clients):
        name = client_name(i)
        if name in crashed and name in built.sim.crashed:
            continue
        client = built.sim.nodes[name]
        assert summary.rounds_done[name] == cfg.rounds, name
        assert client.state.latest == cfg.rounds, name  # L-2: every round (accepted in order, R-15)
        assert client.state.next_submit == cfg.rounds, name  # submitted for every round


@pytest.mark.parametrize("behaviour", sorted(BEHAVIOURS))
@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_every_scheduler_and_behaviour_completes(
    scheduler: str, behaviour: str, small_cfg: ProtocolConfig, tiny_task: Task
) -> None:
    """L-1, L-2: with t_a Byzantine aggregators (each behaviour) and t_c crashed clients,
    every scheduler ends complete: every honest aggregator produced its model for every
    round and every non-crashed client accepted a model for every round."""
    seed = SCHEDULERS.index(scheduler) * 100 + sorted(BEHAVIOURS).index(behaviour)
    run = RunConfig(
        small_cfg,
        seed=seed,
        scheduler=scheduler,
        byzantine=small_cfg.t_a,
        behaviour=behaviour,
        crashed=small_cfg.t_c,
        ghost=False,
        slow_fraction=0.25,
    )
    summary, built = execute(run, task=tiny_task)
    assert len(built.byzantine) == small_cfg.t_a and len(built.crashed) == small_cfg.t_c
    assert_live(summary, built)


# -- the ControlledScheduler hook: hostile but fair schedules --------------------------


class Hook:
    """Counts the hook's calls so a test can prove the simulator really used it."""

    def __init__(self, policy: Callable[[Sequence[Action]], int]) -> None:
        self.policy, self.calls = policy, 0

    def __call__(self, pending: Sequence[Action]) -> int:
        self.calls += 1
        return self.policy(pending)


def newest_first(pending: Sequence[Action]) -> int:
    """LIFO: always the action produced last (starves old messages as long as it can)."""
    return len(pending) - 1


def half_partition(slow_half: set[str], rng: random.Random) -> Callable[[Sequence[Action]], int]:
    """Deliver to the fast half (and run local steps) first; the slow half only gets the
    oldest message addressed to it when nothing else is pending."""

    def choose(pending: Sequence[Action]) -> int:
        fast = [k for k, a in enumerate(pending) if not (isinstance(a, Delivery) and a.dst in slow_half)]
        if fast:
            return fast[rng.randrange(len(fast))]
        return 0

    return choose


def starve_clients(slow: set[str]) -> Callable[[Sequence[Action]], int]:
    """Local steps of ``slow`` clients and every message to them run only when nothing else can."""

    def choose(pending: Sequence[Action]) -> int:
        for k, a in enumerate(pending):
            node = a.dst if isinstance(a, Delivery) else a.client  # a local step or a timer
            if node not in slow:
                return k
        return 0

    return choose


POLICIES: dict[str, Callable[[], Callable[[Sequence[Action]], int]]] = {
    "newest-first": lambda: newest_first,
    "half-partition": lambda: half_partition({"A0", "A1"}, random.Random(5)),
    "half-partition-other": lambda: half_partition({"A2", "A3"}, random.Random(6)),
    "starve-clients": lambda: starve_clients({client_name(i) for i in range(0, 16, 3)}),
}


CONTROLLED_CASES = [
    ("newest-first", "equivocate"),
    ("newest-first", "wrong-shares"),
    ("half-partition", "silent"),
    ("half-partition-other", "equivocate"),
    ("starve-clients", "silent"),
    ("starve-clients", "censor"),
]


@pytest.mark.parametrize("policy,behaviour", CONTROLLED_CASES)
def test_controlled_scheduler_hostile_but_fair(
    policy: str, behaviour: str, small_cfg: ProtocolConfig, tiny_task: Task
) -> None:
    """L-1, L-2 under adversarial schedules that still deliver every message eventually:
    newest-first, one half of the aggregators served long after the other, slow clients.
    Also checks that ``execute(..., scheduler=...)`` really uses the hook (regression: an
    empty injected scheduler used to be replaced by the default one because it is falsy)."""
    hook = Hook(POLICIES[policy]())
    sched = ControlledScheduler(hook)
    run = RunConfig(
        small_cfg, seed=11, byzantine=small_cfg.t_a, behaviour=behaviour, crashed=small_cfg.t_c, ghost=False
    )
    summary, built = execute(run, task=tiny_task, scheduler=sched)
    assert built.sim.scheduler is sched
    assert hook.calls == summary.steps > 0
    assert_live(summary, built)


# -- L-3: beyond the fault bounds, the run stalls and says why -------------------------


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_too_many_byzantine_stalls_and_reports(
    scheduler: str, small_cfg: ProtocolConfig, tiny_task: Task
) -> None:
    """L-3, R-16: with t_a + 1 silent aggregators no certificate can form; the run reaches
    quiescence quickly as ``stalled`` and the detail names the stuck round and the exceeded
    bound, for every honest aggregator."""
    run = RunConfig(
        small_cfg,
        seed=3,
        scheduler=scheduler,
        byzantine=small_cfg.t_a + 1,
        behaviour="silent",
        crashed=0,
        ghost=False,
        max_steps=50_000,
    )
    start = time.monotonic()
    summary, built = execute(run, task=tiny_task)
    assert time.monotonic() - start < 15
    assert summary.status == "stalled"
    assert summary.steps < 2_000  # quiescence, not the step limit
    assert "cannot progress" in summary.detail
    for name, agg in built.aggregators.items():
        assert agg.round == 0
        assert f"{name} stuck in round 0" in summary.detail
    assert f"{small_cfg.t_a + 1} Byzantine aggregators exceed t_a = {small_cfg.t_a}" in summary.detail
    assert f"0/{small_cfg.quorum} cluster results" in summary.detail
    end = built.sim.trace.events[-1]
    assert end["kind"] == "end" and end["status"] == "stalled" and end["detail"] == summary.detail


def test_within_bounds_never_reports_a_stall(small_cfg: ProtocolConfig, tiny_task: Task) -> None:
    """L-3: a quiescent run within the fault bounds is complete (no spurious stall), and the
    trace's end event says so."""
    run = RunConfig(
        small_cfg, seed=4, byzantine=small_cfg.t_a, behaviour="silent", crashed=small_cfg.t_c, ghost=False
    )
    summary, built = execute(run, task=tiny_task)
    assert summary.status == "complete"
    end = built.sim.trace.events[-1]
    assert end["kind"] == "end" and end["status"] == "complete"
    assert not len(built.sim.scheduler)
