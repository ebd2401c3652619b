"""The campaign's coverage guidance (``harness.coverage.ProbeGuide``, ``harness.campaign.guided``).

- a held message goes out as the enabled probe whose coverage item the campaign fired
  least (an item no earlier example fired first), honestly where no honest guard can
  refuse it (a message to a Byzantine node, the insider itself included) and on the
  offers an insider needs attested (``t_a`` honest attesters per round);
- a lone guided insider is attested every round, so both its announcements (R-15) and
  its other offers (R-17) are probed, and every probe owed a refusal reaches an honest
  node and is refused there by its guard;
- the background policy slows ``t_c + 1`` clients of one cluster until the campaign has
  fired the branches only lagging clients fire (D-13, R-6's deferral and top-up); a
  slowed client's step runs only when nothing else can.
"""

from __future__ import annotations

from asfl.harness.campaign import LAG_ROUND, LAGGING, guided
from asfl.harness.coverage import REFUSALS, CoverageReport, ProbeGuide
from asfl.harness.policies import Fifo, Slowed, UniformRandom
from asfl.harness.world import Setup, World
from asfl.model import actions
from asfl.model.actions import Flight

OFFER_IDS = {p.id for p in actions.OFFER_PROBES}


def test_the_least_fired_item_goes_first() -> None:
    """The campaign's counts (``prior``) plus this example's choices (``aimed``) rank the
    probes: an item fired 5 times less than the others is chosen until it caught up."""
    p = Setup(rounds=3, byzantine={1: "scripted"}).params()
    prior = {q.id: 5 for q in actions.PROBES} | {"R-17c.masked-sum": 0}
    guide = ProbeGuide(p, prior)
    to_probe = next(a for a in ("A0", "A2", "A3") if a not in guide.attesters("A1", 2))
    held = {"A1": (Flight("offer", "A1", to_probe, 2, None),)}
    got = [guide.choose(held, turn).probe.id for turn in range(6)]
    assert got[:5] == ["R-17c.masked-sum"] * 5  # whatever the turn's tie-break
    assert got[5] != "R-17c.masked-sum"  # caught up: the turn's rotation decides among ties
    assert guide.aimed["R-17c.masked-sum"] == 5


def test_no_refusal_probe_goes_where_no_honest_guard_can_refuse_it() -> None:
    p = Setup(rounds=3, byzantine={1: "scripted", 2: "forge"}).params()
    guide = ProbeGuide(p)  # nothing fired yet: every probe is wanted
    for dst in ("A1", "A2"):  # itself, another Byzantine aggregator
        for kind in ("offer", "attest"):  # what its core needs to go on: honest
            assert guide.choose({"A1": (Flight(kind, "A1", dst, 2, 0),)}).probe.id == "honest"
        for kind in ("propose", "endorse", "release", "announce"):  # a probe honest nodes absorb
            got = guide.choose({"A1": (Flight(kind, "A1", dst, 2, 0),)})
            assert got.probe.id not in REFUSALS, (kind, dst, got.probe.id)
    (attester,) = guide.attesters("A1", 2)  # t_a = 1 honest attester per round, it rotates
    assert attester in ("A0", "A3") and guide.attesters("A1", 3) != (attester,)
    assert guide.choose({"A1": (Flight("offer", "A1", attester, 2, None),)}).probe.id == "honest"
    assert guide.choose({"A1": (Flight("announce", "A1", "C4", 2, None),)}).probe.id in REFUSALS
    # the last round's attester is reserved only while some announcement probe was never chosen
    (last,) = guide.attesters("A1", 3)
    assert guide.choose({"A1": (Flight("offer", "A1", last, 3, None),)}).probe.id == "honest"
    announced = ProbeGuide(p, {q.id: 1 for q in actions.ANNOUNCE_PROBES})
    assert announced.choose({"A1": (Flight("offer", "A1", last, 3, None),)}).probe.id in OFFER_IDS


def test_guided_insider_probes_its_offers_and_announcements() -> None:
    """A lone scripted Byzantine aggregator, every held message chosen by the guide (FIFO
    otherwise): attested every round (R-17, R-14), it announces, and both its R-15 and
    its R-17 probes reach honest nodes and are refused there by the guard they target."""
    w = World(Setup(rounds=3, seed=2, byzantine={1: "scripted"}))
    guide = ProbeGuide(w.params)
    sent: list[actions.ProbeSend] = []
    while w.pending() or w.holding():
        if w.holding():
            sent.append(guide.choose(w.held(), len(w.actions)))
            w.apply(w.concrete(sent[-1], len(w.actions)))
        else:
            w.apply_index(0)
    w.complete()
    assert not w.violations, w.violations[:3]
    assert w.status == "complete"
    assert all(guide.honest(s.msg.dst) for s in sent if s.probe.id in REFUSALS)
    offers = [s for s in sent if s.msg.kind == "offer"]
    assert {s.msg.tau for s in offers} == {1, 2, 3}  # attested every round: offered every round
    for s in offers:
        if s.msg.dst == "A1" or (s.msg.tau < 3 and s.msg.dst in guide.attesters("A1", s.msg.tau)):
            assert s.probe.id == "honest"
    report = CoverageReport.of(w.coverage)
    assert all(report.refused(p.id) for p in actions.ANNOUNCE_PROBES)
    # n_a - 1 - t_a = 2 offers probed in rounds 1 and 2, all 3 in the last (the R-15 probes
    # were chosen on the earlier announcements), each the least-fired offer probe: all 7
    assert all(report.refused(p) for p in OFFER_IDS)
    assert not report.misjudged, report.misjudged


def test_prior_counts_each_probes_item() -> None:
    counter = {
        "probe:R-9.forged": 3,  # absorbed: its item is being sent
        "probe:R-17c.rule": 2,  # refused: its item is its refusal, not its sends
        "outcome:R-17c.rule:delivered": 1,
        "outcome:R-17c.rule:R-17.evidence": 1,
        "probe:R-17c.entries": 1,  # sent (to itself, say) but never refused: not fired
    }
    prior = ProbeGuide.of(Setup().params(), counter).prior
    assert prior["R-9.forged"] == 3 and prior["R-17c.rule"] == 1 and prior["R-17c.entries"] == 0
    assert set(prior) == {p.id for p in actions.PROBES}


def test_slowed_clients_step_only_when_nothing_else_can() -> None:
    w = World(Setup(rounds=2, seed=1))
    policy = Slowed(UniformRandom(4), frozenset({"C0", "C5"}))
    late = 0
    while len(w.sim.scheduler):
        k = policy.choose(w)
        if policy.delayed(w.scheduler.at(k)):
            assert all(policy.delayed(a) for a in w.pending())
            late += 1
        w.apply_index(k)
    w.complete()
    assert late > 0 and w.status == "complete" and not w.violations
    assert w.coverage["D-13"] > 0  # a slowed client accepted a later model while its step waited


def test_guided_slows_a_clusters_clients_until_the_lagging_branches_fired() -> None:
    w = World(Setup(n_clients=16, rounds=3, t_c=1))
    policy = guided(Fifo(), w, {}, example=2)
    assert isinstance(policy, Slowed) and len(policy.slow) == w.setup.t_c + 1
    assert {f"C{i}" for i in w.cfg.clusters(LAG_ROUND)[2]} >= policy.slow  # one cluster
    assert guided(Fifo(), w, {r: 1 for r in LAGGING}, example=2).name == "fifo"


def test_replays_one_envelope_of_each_kind_the_campaign_never_replayed() -> None:
    p = Setup(rounds=3, byzantine={1: "scripted"}).params()
    guide = ProbeGuide.of(p, {"probe:replay:submit": 4})  # an earlier example replayed a submission
    got = [("submit", "C3"), ("endorse", "A0"), ("submit", "C4"), ("endorse", "A2"), ("junk", "?")]
    received = {"A1": got[:3]}
    first = guide.replay(received, turn=0)
    assert first is not None and (first.byz, first.index, first.msg.kind) == ("A1", 1, "endorse")
    assert guide.honest(first.to) and first.to != "A1"
    assert guide.replay(received) is None  # nothing new received
    received["A1"] = got
    last = guide.replay(received, turn=7)
    assert last is not None and (last.index, last.msg.kind) == (4, "junk")
    assert guide.replay(received) is None and guide.replayed == {"submit", "endorse", "junk"}
    w = World(Setup(rounds=1, seed=1, byzantine={1: "scripted"}))
    for _ in range(80):
        w.apply_index(0)
        while w.holding():
            w.apply(w.concrete(guide.choose(w.held())))
    replay = ProbeGuide(w.params).replay({"A1": w.byz["A1"].inbox_kinds})
    assert replay is not None and w.apply(w.concrete(replay)) is not None
    assert w.coverage[f"probe:replay:{replay.msg.kind}"] == 1
