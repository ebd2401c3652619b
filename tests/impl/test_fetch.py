"""D-18 and D-22 in the implementation: one pusher per client, the client's fetch timer,
the aggregator's serve and its drop reasons, and runs whose pusher is silent."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from asfl.harness.world import Setup, World
from asfl.impl.aggregator import Aggregator
from asfl.impl.client import Client
from asfl.impl.config import ProtocolConfig
from asfl.impl.events import AcceptEvent, DropEvent, FetchEvent, ServeEvent
from asfl.impl.learning.data import Task
from asfl.impl.messages import Announce, Envelope, Fetch, seal
from asfl.impl.node import CancelTimer, Output, Send, Timer, aggregator_name, client_name
from asfl.impl.sim.run import DeterministicEntropy, RunConfig, build, execute
from asfl.impl.sim.schedulers import (
    ControlledScheduler,
    Delivery,
    FifoScheduler,
    LocalStep,
    RandomScheduler,
    Scheduler,
    TimedScheduler,
)
from asfl.impl.sim.schedulers import Timer as TimerAction
from asfl.impl.wire import Writer


class Logging(FifoScheduler):
    """FIFO, remembering every message sent."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[Delivery] = []

    def push(self, action: Any) -> None:
        if isinstance(action, Delivery):
            self.log.append(action)
        super().push(action)


@pytest.fixture(scope="module")
def run(small_cfg: ProtocolConfig, tiny_task: Task) -> dict[str, Any]:
    """A complete fault-free FIFO run and every message of it."""
    sched = Logging()
    summary, built = execute(
        RunConfig(small_cfg, seed=3, byzantine=0, crashed=0, ghost=False), task=tiny_task, scheduler=sched
    )
    assert summary.status == "complete"
    return {"built": built, "log": sched.log}


def announces_to(run: dict[str, Any], i: int, tau: int) -> dict[int, bytes]:
    """Aggregator -> the bytes of its first round-``tau`` announce to client ``i`` (R-14's)."""
    cfg = run["built"].cfg
    out: dict[int, bytes] = {}
    for d in run["log"]:
        to_me = d.kind == "announce" and d.dst == client_name(i)
        if to_me and Announce.decode(Envelope.decode(d.data).body, cfg.dims).tau == tau:
            out.setdefault(int(d.src[1:]), d.data)
    return out


def fresh_client(run: dict[str, Any], i: int) -> Client:
    built = run["built"]
    c = built.sim.nodes[client_name(i)]
    genesis = np.zeros(built.cfg.dim)
    rng = np.random.default_rng(0)
    return Client(built.cfg, i, c.keys, c.public, genesis, c.trainer, rng, DeterministicEntropy(0, "t"))


def fetch_bytes(run: dict[str, Any], i: int, tau: int, hd: bytes) -> bytes:
    keys = run["built"].sim.nodes[client_name(i)].keys
    return seal(keys, i, Fetch(tau, hd)).encode()


def test_one_pusher_per_client(run: dict[str, Any]) -> None:
    """D-18: the round announcement carries the body exactly for clients i mod n_a = j."""
    cfg = run["built"].cfg
    for i in range(cfg.n_clients):
        for j, data in announces_to(run, i, 1).items():
            body = Announce.decode(Envelope.decode(data).body, cfg.dims).body
            assert (body is not None) == (i % cfg.n_aggregators == j), (i, j)


def test_client_timer_fetches_lowest_fetchable_then_rearms(run: dict[str, Any]) -> None:
    """D-22: header-only announces make their senders fetchable and arm one timer; each
    firing fetches from the lowest-index fetchable aggregator and re-arms while another
    remains; once the body is accepted the round's records are gone and a firing is a no-op."""
    cfg = run["built"].cfg
    i = 1  # pusher A1
    anns = announces_to(run, i, 1)
    client = fresh_client(run, i)
    first = client.handle(anns[3], 1)
    assert first == [Timer(1)]
    for k, j in enumerate((2, 0)):  # the same header again: no drop, a fetchable sender
        assert client.handle(anns[j], 2 + k) == []  # armed already: no second timer
    assert client.state.fetch[1].headers.keys() == {0, 2, 3}
    (drop,) = client.handle(anns[2], 4)  # that sender's header again: a duplicate
    assert isinstance(drop, DropEvent) and drop.reason == "duplicate announce"
    out = client.fire_timer(1)
    fetch, sent, rearm = out
    hd0 = Announce.decode(Envelope.decode(anns[0]).body, cfg.dims).header.digest()
    assert fetch == FetchEvent(1, "A0", hd0.hex())
    assert isinstance(sent, Send) and (sent.to, sent.kind, sent.round, sent.cluster) == (
        "A0",
        "fetch",
        1,
        None,
    )
    assert Fetch.decode(Envelope.decode(sent.data).body, cfg.dims) == Fetch(1, hd0)
    assert rearm == Timer(1)
    assert [type(o) for o in client.fire_timer(1)] == [FetchEvent, Send, Timer]  # A2, A3 left
    last = client.fire_timer(1)
    assert isinstance(last[0], FetchEvent) and last[0].to == "A3" and len(last) == 2  # none left
    assert client.fire_timer(1) == []  # nothing fetchable: no event
    accepted = client.handle(anns[1], 5)  # the pusher's body
    assert any(isinstance(o, AcceptEvent) for o in accepted)
    assert 1 not in client.state.fetch  # D-17: records dropped with the round
    assert client.fire_timer(1) == []


def test_no_timer_once_a_body_is_held(run: dict[str, Any]) -> None:
    """D-22: a header-only announce of a round already accepted arms nothing."""
    anns = announces_to(run, 2, 1)
    client = fresh_client(run, 2)
    assert any(isinstance(o, AcceptEvent) for o in client.handle(anns[2], 1))
    for k, j in enumerate((0, 1, 3)):
        out = client.handle(anns[j], 2 + k)
        assert [type(o) for o in out] == [DropEvent] and not client.state.fetch


def test_served_body_is_accepted(run: dict[str, Any]) -> None:
    """D-22 end to end on the nodes: the fetched aggregator serves its announcement with the
    body, once, and the client accepts it through R-15 naming that aggregator."""
    built = run["built"]
    cfg = built.cfg
    i = 1
    anns = announces_to(run, i, 1)
    client = fresh_client(run, i)
    client.handle(anns[0], 1)
    _, sent, *_ = client.fire_timer(1)
    agg = built.aggregators["A0"]
    served = dict(agg.served)
    try:
        serve, answer = agg.handle(sent.data, 9)
        assert isinstance(serve, ServeEvent) and (serve.round, serve.client) == (1, "C1")
        assert isinstance(answer, Send) and answer.to == "C1" and answer.kind == "announce"
        body = Announce.decode(Envelope.decode(answer.data).body, cfg.dims)
        assert body.body is not None and np.array_equal(body.body, agg.models[1])
        assert agg.served[i] >> 1 & 1 and agg.served[i] == served.get(i, 0) | 1 << 1  # one bit
        (drop,) = agg.handle(sent.data, 10)
        assert isinstance(drop, DropEvent) and "duplicate fetch" in drop.reason
        accept = [o for o in client.handle(answer.data, 11) if isinstance(o, AcceptEvent)]
        assert accept and accept[0].from_ == "A0" and accept[0].round == 1
    finally:
        agg.served = served


@pytest.mark.parametrize(
    ("tau", "digest", "reason"),
    [
        (0, None, "not announced"),
        (2, b"\x01" * 32, "other header"),
        (1, b"\x02" * 32, "other header"),
    ],
)
def test_aggregator_drop_reasons(run: dict[str, Any], tau: int, digest: bytes | None, reason: str) -> None:
    """D-22's drop reasons; and a drop changes no served bit."""
    agg: Aggregator = run["built"].aggregators["A2"]
    hd = agg.headers[tau].digest() if digest is None and tau in agg.headers else digest or b"\0" * 32
    before = dict(agg.served)
    (drop,) = agg.handle(fetch_bytes(run, 5, tau, hd), 1)
    assert isinstance(drop, DropEvent) and reason in drop.reason
    assert agg.served == before


def test_fetch_is_a_client_kind(run: dict[str, Any]) -> None:
    """R-3: a fetch is verified against the client keys; one signed by an aggregator is dropped."""
    agg = run["built"].aggregators["A2"]
    other = run["built"].aggregators["A1"]
    data = seal(other.keys, 1, Fetch(1, agg.headers[1].digest())).encode()
    (drop,) = agg.handle(data, 1)
    assert isinstance(drop, DropEvent) and "bad signature on fetch" in drop.reason
    (client_drop,) = fresh_client(run, 0).handle(fetch_bytes(run, 0, 1, b"\0" * 32), 1)
    assert isinstance(client_drop, DropEvent) and "clients accept only announce" in client_drop.reason


@given(body=st.binary(max_size=80), raw=st.binary(max_size=80))
def test_arbitrary_fetch_bytes_never_raise(run: dict[str, Any], body: bytes, raw: bytes) -> None:
    """A malformed fetch (any body, validly signed by a client) or arbitrary bytes: a drop or
    a serve, never an exception (R-3, I-4)."""
    agg = run["built"].aggregators["A3"]
    keys = run["built"].sim.nodes["C4"].keys
    env = Envelope("fetch", 4, body, b"")
    signed = Envelope("fetch", 4, body, keys.sign(env.digest())).encode()
    served = dict(agg.served)
    try:
        for data in (signed, raw, Writer().text("fetch").getvalue() + raw):
            out = agg.handle(data, 1)
            assert all(isinstance(o, DropEvent | ServeEvent | Send) for o in out)
            assert out and isinstance(out[0], DropEvent | ServeEvent)
    finally:
        agg.served = served


def test_gated_timers_wait_for_in_flight_messages() -> None:
    """fifo and random: a timer is due only while nothing is in flight to its client nor a
    fetch from it; it is pending work (``len``); a crashed client's timers are dropped."""
    for sched in (FifoScheduler(), RandomScheduler(0)):
        sched.push(Delivery(1, "A0", "C0", b"x", "announce", 1))
        sched.push(TimerAction("C0", 1))
        sched.push(LocalStep("C1"))
        assert len(sched) == 3
        order = [sched.pop() for _ in range(3)]
        kinds = [type(a) for a in order]
        assert kinds.index(TimerAction) > kinds.index(Delivery)  # the delivery to C0 first
        assert not len(sched)
        sched.push(TimerAction("C0", 2))
        sched.push(Delivery(2, "C0", "A1", b"f", "fetch", 2))  # its own fetch in flight
        assert isinstance(sched.pop(), Delivery)
        assert sched.pop() == TimerAction("C0", 2)
        sched.push(TimerAction("C0", 3))
        sched.drop_timers("C0")
        assert not len(sched)


@pytest.mark.parametrize("scheduler", ["fifo", "random", "timed"])
def test_silent_pusher_clients_fetch_and_complete(
    small_cfg: ProtocolConfig, tiny_task: Task, scheduler: str
) -> None:
    """L-2 with a silent Byzantine pusher (D-22): its clients get headers only, fetch from an
    honest aggregator, accept every round, and each receives at most two bodies a round."""
    run = RunConfig(small_cfg, seed=4, scheduler=scheduler, byzantine=1, behaviour="silent", crashed=0)
    summary, built = execute(run, task=tiny_task)
    assert summary.status == "complete"
    (byz,) = built.byzantine
    orphans = {client_name(i) for i in range(small_cfg.n_clients) if i % small_cfg.n_aggregators == byz}
    events = built.sim.trace.events
    fetched = {e["node"] for e in events if e["kind"] == "fetch"}
    assert orphans <= fetched
    accepts = [e for e in events if e["kind"] == "accept" and e["node"] in orphans]
    assert len(accepts) == len(orphans) * small_cfg.rounds
    served = {(e["client"], e["round"], e["node"]) for e in events if e["kind"] == "serve"}
    assert all((e["node"], e["round"], e["from"]) in served for e in accepts)
    assert aggregator_name(byz) not in {e["from"] for e in accepts}
    assert summary.received is not None and summary.received.max <= 2 * summary.received.model + 4096


def test_timer_armed_before_the_body_is_cancelled_on_accept(run: dict[str, Any]) -> None:
    """D-22: a timer armed by a header-only announce is cancelled when the pushed body is
    accepted (its firing would do nothing), once; nothing is cancelled without a timer."""
    anns = announces_to(run, 1, 1)  # pusher A1
    client = fresh_client(run, 1)
    assert client.handle(anns[0], 1) == [Timer(1)]
    out = client.handle(anns[1], 2)
    assert [o for o in out if isinstance(o, Timer | CancelTimer)] == [CancelTimer(1)]
    assert any(isinstance(o, AcceptEvent) for o in out)
    assert out.index(CancelTimer(1)) < next(k for k, o in enumerate(out) if isinstance(o, AcceptEvent))
    unarmed = fresh_client(run, 1)  # the body first: no timer, so nothing to cancel
    assert not any(isinstance(o, Timer | CancelTimer) for o in unarmed.handle(anns[1], 1))


def test_timer_of_a_round_whose_body_is_kept_ahead_is_cancelled(run: dict[str, Any]) -> None:
    """D-22: a body of a later round, verified and kept until its round is next (R-15), also
    ends the need for that round's timer: cancelled when kept, not again when accepted."""
    i = 1
    first, second = announces_to(run, i, 1), announces_to(run, i, 2)
    client = fresh_client(run, i)
    assert client.handle(first[0], 1) == [Timer(1)]
    assert client.handle(second[0], 2) == [Timer(2)]  # round 2's header verified (prev known)
    assert client.handle(second[1], 3) == [CancelTimer(2)]  # its body kept ahead
    out = client.handle(first[1], 4)
    assert [o for o in out if isinstance(o, CancelTimer)] == [CancelTimer(1)]
    assert [o.round for o in out if isinstance(o, AcceptEvent)] == [1, 2]
    assert client.fire_timer(1) == [] and client.fire_timer(2) == []


def _recording_late_firings(client: Client, late: list[tuple[int, int]]) -> None:
    """Wrap ``client.fire_timer`` to record each firing for a round that already had a
    verified body (a firing that could only do nothing, D-22)."""
    fire = client.fire_timer

    def fire_timer(round: int) -> list[Output]:
        if not client._lacks_body(round):
            late.append((client.index, round))
        return fire(round)

    client.fire_timer = fire_timer  # type: ignore[method-assign]


def _counting_cancels(built: Any) -> Counter[str]:
    """Wrap the simulator's scheduler so that its ``cancel_timer`` calls are counted."""
    sched, counts = built.sim.scheduler, Counter[str]()
    inner = sched.cancel_timer

    def cancel(client: str, round: int) -> None:
        counts["cancel"] += 1
        inner(client, round)

    sched.cancel_timer = cancel
    return counts


@pytest.mark.parametrize("scheduler", ["fifo", "random", "timed"])
def test_cancelled_timers_never_fire_in_the_simulator(
    small_cfg: ProtocolConfig, tiny_task: Task, scheduler: str
) -> None:
    """Every scheduler honours ``CancelTimer``: in a fault-free run where timers are armed
    before pushed bodies arrive, timers are cancelled, and no timer ever fires for a round
    that already had a verified body; the run completes (L-2) with every round accepted."""
    cfg = replace(small_cfg, rounds=3)
    rc = RunConfig(cfg, seed=5, scheduler=scheduler, byzantine=0, crashed=0, fetch_timeout=0.5)
    built = build(rc, task=tiny_task)
    clients = [n for n in built.sim.nodes.values() if isinstance(n, Client)]
    late: list[tuple[int, int]] = []
    for client in clients:
        _recording_late_firings(client, late)
    counts = _counting_cancels(built)
    assert built.sim.run(rc.max_steps) == "complete"
    assert counts["cancel"] > 0  # the run armed timers that bodies made useless
    assert late == []
    assert all(c.done for c in clients)


def _all_schedulers() -> list[Scheduler]:
    return [FifoScheduler(), RandomScheduler(0), TimedScheduler(0), ControlledScheduler(lambda items: 0)]


@pytest.mark.parametrize("sched", _all_schedulers(), ids=lambda s: s.name)
def test_every_scheduler_forgets_a_cancelled_timer(sched: Scheduler) -> None:
    """``cancel_timer`` in fifo, random, timed and the harness's controlled scheduler: the
    cancelled timer is no longer pending work (``len``, ``pending``) and is never popped;
    the client's other timers and other actions are kept; cancelling a timer not held (never
    armed, already cancelled or already fired) changes nothing."""
    sched.push(TimerAction("C0", 1))
    sched.push(TimerAction("C0", 2))
    sched.push(TimerAction("C1", 1))
    sched.push(LocalStep("C2"))
    sched.cancel_timer("C0", 1)
    sched.cancel_timer("C0", 1)
    sched.cancel_timer("C3", 1)
    assert len(sched) == 3
    assert TimerAction("C0", 1) not in sched.pending() and len(sched.pending()) == 3
    popped = [sched.pop() for _ in range(3)]
    assert not len(sched)
    assert sorted(map(repr, popped)) == sorted(
        map(repr, [TimerAction("C0", 2), TimerAction("C1", 1), LocalStep("C2")])
    )
    sched.cancel_timer("C0", 2)  # fired already
    sched.push(TimerAction("C0", 1))  # re-armed after the cancel: a new timer
    assert len(sched) == 1 and sched.pop() == TimerAction("C0", 1)


def test_cancelled_timer_is_not_an_action_of_the_harness() -> None:
    """harness/world.py: a client whose timer was armed before its pushed body arrives is in
    ``Env.timers`` (D-22's ``Fire`` is enabled) until the body is delivered, then not: the
    timer was cancelled, ``{"timer": C}`` no longer applies, and the run completes live."""
    world = World(Setup(n_clients=12, rounds=1, seed=2))

    def pushed_body(a: object) -> bool:
        return (
            isinstance(a, Delivery)
            and a.kind == "announce"
            and a.dst[0] == "C"
            and int(a.src[1:]) == int(a.dst[1:]) % world.cfg.n_aggregators
        )

    while True:  # everything but the pushers' announces, and no timer fired
        pending = world.pending()
        k = next(
            (k for k, a in enumerate(pending) if not (pushed_body(a) or isinstance(a, TimerAction))), None
        )
        if k is None:
            break
        assert world.apply_index(k) == []
    armed = set(world.env().timers)
    assert armed  # header-only announces of round 1 armed timers
    cancelled = 0
    while (k := next((k for k, a in enumerate(world.pending()) if pushed_body(a)), None)) is not None:
        client = world.pending()[k].dst  # type: ignore[union-attr]
        assert world.apply_index(k) == []
        assert client not in world.env().timers
        if client in armed:
            cancelled += 1
            assert world.apply({"timer": client}) is None  # nothing to fire
    assert cancelled == len(armed)
    assert world.complete() == [] and world.status == "complete"
