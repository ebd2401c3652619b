"""The model's action menu (``model/actions.py``) and its concrete side (``harness``).

- every probe of the model's menu has a mutation, and the R-15 / R-17 probes and the
  announcement / offer rewrites name the same clauses (the menu is re-targeted in one place);
- ``enabled`` lists what the world can do: its deliveries, steps, crashes (within
  ``t_c``), one probe per enabled (held message, probe) pair, and the replays;
- each probe, sent once by a scripted Byzantine coordinator in an otherwise honest run,
  is refused by the guard it targets (the drop's clause, counted by the coverage
  monitor, exceeds the honest run's) and breaks no property: the run still completes.
"""

from __future__ import annotations

from collections import Counter
from functools import cache

import pytest

from asfl.harness import byz
from asfl.harness.coverage import REFUSALS, CoverageReport
from asfl.harness.monitor import drop_clause
from asfl.harness.world import Setup, World
from asfl.impl.sim.schedulers import Delivery
from asfl.model import actions
from asfl.model.actions import BY_ID, PROBES, ProbeSend


def test_every_probe_has_a_mutation() -> None:
    assert {p.id for p in PROBES} == byz.PROBE_MUTATIONS
    assert set(byz.ANNOUNCE_MUTATORS) == {p.id for p in actions.ANNOUNCE_PROBES}
    assert set(byz.OFFER_MUTATORS) == {p.id for p in actions.OFFER_PROBES}
    assert len(BY_ID) == len(PROBES)  # ids are unique


def test_enabled_lists_the_worlds_actions() -> None:
    w = World(Setup(rounds=2, seed=1, byzantine={0: "scripted"}))
    for _ in range(60):
        w.apply_index(0)
    env = w.env()
    acts = actions.enabled(w.params, env)
    kinds = {type(a) for a in acts}
    assert {actions.Deliver, actions.ProbeSend, actions.Replay} <= kinds
    n_deliveries = sum(1 for a in acts if isinstance(a, actions.Deliver))
    assert n_deliveries == len(env.in_flight) == sum(1 for a in w.pending() if hasattr(a, "dst"))
    assert sum(1 for a in acts if isinstance(a, actions.Crash)) == len(env.alive)  # t_c = 1, none crashed
    probes = [a for a in acts if isinstance(a, ProbeSend)]
    assert len(probes) == sum(len(actions.probes_for(w.params, m)) for m in env.held["A0"])
    assert actions.probe_choice(w.params, env, 3, 5) in probes
    assert actions.replay_choice(w.params, env, 2, 7) in acts
    w.apply(w.concrete(actions.crashes(w.params, env)[0]))
    assert not actions.crashes(w.params, w.env())  # t_c reached: no more crashes (§1)


@cache
def _probe_run(probe_id: str, kind: str, rounds: int) -> tuple[bool, World]:
    """A0 (scripted, coordinator of cluster 0) sends everything honestly except its
    first held ``kind`` message to another node, sent as ``probe_id``; FIFO otherwise."""
    w = World(Setup(rounds=rounds, seed=0, byzantine={0: "scripted"}))
    sent = False
    while True:
        held = w.env().held["A0"]
        k = next((i for i, m in enumerate(held) if m.kind == kind and m.dst != "A0"), None)
        if not sent and k is not None:
            w.apply(w.concrete(ProbeSend("A0", k, held[k], BY_ID[probe_id]), seed=1))
            sent = True
        elif held:
            w.apply(w.concrete(ProbeSend("A0", 0, held[0], BY_ID["honest"])))
        elif w.pending():
            w.apply_index(0)
        else:
            break
    w.complete()
    return sent, w


#: probe -> the coverage tag of the guard that must refuse it (None: no refusal is owed,
#: the honest nodes absorb it: a vote, a release or a set the Byzantine may choose)
REFUSED_BY = {p.id: REFUSALS.get(p.id) for p in PROBES}


def test_refusals_cover_the_menu() -> None:
    assert set(REFUSALS) <= {p.id for p in PROBES}
    assert {p.id for p in actions.ANNOUNCE_PROBES + actions.OFFER_PROBES} <= set(REFUSALS)


@pytest.mark.parametrize("probe_id", sorted(REFUSED_BY))
def test_probe_is_refused_by_its_guard(probe_id: str) -> None:
    probe = BY_ID[probe_id]
    kind = probe.kind if probe.kind != "*" else "propose"
    rounds = 2 if probe_id == "R-10.other-round" else 1
    sent, w = _probe_run(probe_id, kind, rounds)
    assert sent, f"no {kind} message held by A0"
    assert w.coverage[f"probe:{probe_id}"] >= 1  # "honest" also sends the rest
    assert not w.violations, w.violations[:3]
    assert w.status == "complete"  # one Byzantine aggregator: liveness holds (L-1, L-2)
    tag = REFUSED_BY[probe_id]
    if tag is not None:
        # the same run with the message sent honestly (junk: not sent, so its drop is extra)
        _, base = _probe_run("omit" if probe_id == "R-3.junk" else "honest", kind, rounds)
        assert w.coverage[tag] > base.coverage[tag], (tag, w.coverage[tag], base.coverage[tag])
        report = CoverageReport.of(w.coverage)  # every honest receiver refused it by that guard
        assert report.refused(probe_id) >= 1 and not report.misjudged, report.misjudged


def test_drop_clauses() -> None:
    assert drop_clause("proposal for cluster 2 from A1, not its coordinator (R-2)") == "R-8.coordinator"
    assert drop_clause("client 3: bad signature on submission digest") == "R-8.client-sig"
    assert drop_clause("bad client signature on submission digest") == "R-6.client-sig"
    assert drop_clause("uncertified announce: 1 valid attestations < t_a + 1 = 2") == "R-15.attestations"
    assert drop_clause("invalid offer: prev model does not match its header (R-17b)") == "R-17.prev"
    assert drop_clause("invalid offer: 1 valid attestations < t_a + 1 = 2") == "R-17.prev"
    assert drop_clause("something no guard says") == "R-3.other"


def test_probe_schedules_replay_byte_for_byte() -> None:
    """A run driven by model actions (probes included) is a replayable schedule."""
    from asfl.harness.schedule import Schedule, replay

    _, w = _probe_run("R-8.equivocation", "propose", 1)
    again = replay(Schedule(w.setup, list(w.actions)))
    assert not again.failed and again.skipped == 0
    assert again.world.events == w.events


def test_other_set_leaves_out_one_client() -> None:
    """Regression (found by the campaign's refusal check): ``R-8.other-set`` on a proposal of
    more than ``q_min`` clients drew the client to leave out once per entry, so the "valid"
    other set could fall below ``q_min`` and was refused by R-8 instead of absorbed."""
    from asfl.impl.messages import Envelope, Propose

    w = World(Setup(n_clients=16, rounds=1, seed=0, q_min=2, byzantine={0: "scripted"}))
    while not any(m.kind == "propose" for m in w.env().held["A0"]):
        w.apply_index(0)
    b = w.byz["A0"]
    s = next(s for s in b.outbox if s.kind == "propose" and s.to != "A0")
    n = len(Propose.decode(Envelope.decode(s.data).body, b.core.cfg.dims).entries)
    assert n > b.core.cfg.q_min  # the branch under test
    for seed in range(40):
        (variant,) = byz.mutate(b, s, "R-8.other-set", seed)
        assert len(Propose.decode(Envelope.decode(variant.data).body, b.core.cfg.dims).entries) == n - 1


def test_descriptors_match_a_scan_of_the_pending_list() -> None:
    """``World.describe`` ranks a delivery by bisection (``IndexedScheduler``); it must give
    the scan's answer: its position among pending deliveries of the same kind, src, dst."""
    from asfl.harness.policies import UniformRandom

    w = World(Setup(rounds=2, seed=3, byzantine={1: "scripted"}, crash_after={2: 1}))
    policy, checked = UniformRandom(5), 0
    while w.pending() and checked < 400:
        items = w.pending()
        for k, a in enumerate(items):
            if isinstance(a, Delivery):
                key = (a.kind, a.src, a.dst)
                nth = sum(1 for b in items[:k] if isinstance(b, Delivery) and (b.kind, b.src, b.dst) == key)
                assert w.describe(k) == {"deliver": [*key, nth]}
                checked += 1
        w.apply_index(policy.choose(w))
        if w.holding():
            held = w.env().held["A1"]
            w.apply(w.concrete(ProbeSend("A1", 0, held[0], BY_ID["R-8.equivocation"])))
    assert checked >= 400


@pytest.mark.parametrize("order", ["all", "some"])
def test_pct_choice_matches_a_scan_of_the_pending_list(order: str) -> None:
    """``PCT.choose`` reads the scheduler's per-node bookkeeping (``IndexedScheduler``);
    it must give the plain scan's answer (the first pending action of the highest
    priority), through change points, crashes (discarded steps), cancelled timers and,
    with ``some``, nodes outside the order (priority 0)."""
    from asfl.harness.policies import PCT
    from asfl.harness.world import node_of

    setup = Setup(rounds=2, seed=4, byzantine={1: "equivocate"}, crash_after={3: 1})
    w = World(setup)
    nodes = [f"A{j}" for j in range(4)] + [f"C{i}" for i in range(12)]
    policy = PCT(nodes[::-1] if order == "all" else nodes[5:11], [3, 30, 200])
    steps = 0
    while len(w.sim.scheduler) and steps < 3000:
        items = w.pending()
        sched = w.scheduler
        assert sched.nodes == [node_of(a) for a in items]
        assert sched.per_node == dict(Counter(sched.nodes))
        expected = policy.reference_choice(items)
        assert policy.choose(w) == expected
        w.apply_index(expected)
        if steps == 50:
            w.apply({"crash": "C7"})
        steps += 1
    assert not w.violations and steps > 300 and not w.sim.scheduler.pending()
