"""D-22 body fetch and D-18's one pusher in the model: the client's fetch guard, the
aggregator's serve guard, the explorer's firing of timers, and liveness when a client's
pusher is Byzantine."""

from __future__ import annotations

import pytest

from asfl.model import system
from asfl.model.explore import explore
from asfl.model.params import Params
from asfl.model.protocol import (
    Ctx,
    agg_receive,
    client_fetch,
    client_receive,
    fetch_guard,
    fetch_targets,
    serve_defect,
)
from asfl.model.system import Mode, enabled, initial_state, is_noop, step
from asfl.model.types import BODY_FULL, BODY_NONE, GENESIS, AggState, ClientState, Model, Msg

P = Params(4, 1, 8, 0, 2, 0, 2, byzantine=frozenset({0}))
W1 = Model(1, GENESIS, ((1, (0, 1), False), (2, (2, 3), False), (3, (4, 5), False)))
W1B = Model(1, GENESIS, ((1, (0, 1), False), (2, (2, 3), False)))


def announce(model: Model, src: str, body: str, dst: str = "C0") -> Msg:
    return Msg("announce", src, dst, model.round, -1, model=model, attesters=frozenset({1, 2}), body=body)


def test_header_only_makes_its_sender_fetchable_once() -> None:
    """D-22: each verified header-only announcement of a round lacking a body makes its
    sender fetchable, also when the model was verified before (another sender); a second
    header of the same sender and round is dropped."""
    ctx = Ctx(P, attested=frozenset({W1}))
    st = client_receive(ctx, 0, ClientState(), announce(W1, "A1", BODY_NONE))
    st = client_receive(ctx, 0, st, announce(W1, "A2", BODY_NONE))
    assert [(r, j) for r, j, _ in fetch_targets(P, st)] == [(1, 1), (1, 2)]
    again = client_receive(ctx, 0, st, announce(W1B, "A2", BODY_NONE))
    assert again == st._replace(verified=st.verified | {W1B}, seen=again.seen)
    ctx.ev = []
    assert client_receive(ctx, 0, again, announce(W1, "A2", BODY_NONE)) == again
    assert ctx.ev == [("drop", "C0", announce(W1, "A2", BODY_NONE), "already verified")]


def test_fetch_guard() -> None:
    """D-22: no fetch of an accepted round, none while a verified body is held, none to
    an aggregator without a verified header-only announcement, none twice."""
    ctx = Ctx(P, attested=frozenset({W1}))
    st = client_receive(ctx, 0, ClientState(), announce(W1, "A1", BODY_NONE))
    assert fetch_guard(P, st, 1, 1)
    assert not fetch_guard(P, st, 1, 2)  # no header of A2
    assert not fetch_guard(P, st, 2, 1) and not fetch_guard(P, st, 3, 1)  # other rounds
    ctx.ev = []
    fetched = client_fetch(ctx, 0, st, 1, 1)
    assert ctx.ev == [("fetch", "C0", 1, "A1", W1)]
    assert ctx.out == [Msg("fetch", "C0", "A1", 1, -1, model=W1)]
    assert not fetch_guard(P, fetched, 1, 1)  # once per (aggregator, round)
    accepted = client_receive(ctx, 0, st, announce(W1, "A3", BODY_FULL))
    assert len(accepted.accepted) == 2 and not fetch_guard(P, accepted, 1, 1)
    assert not accepted.heads and not accepted.fetched  # forgotten with the body
    dead = st._replace(alive=False)
    assert not fetch_guard(P, dead, 1, 1)


def test_fetch_guard_with_a_kept_body() -> None:
    """D-22: a verified body of a later round kept for later (R-15) counts as held."""
    w2 = Model(2, W1, ((1, (0, 1), False), (2, (2, 3), False), (3, (4, 5), False)))
    ctx = Ctx(P, attested=frozenset({W1, w2}))
    st = client_receive(ctx, 0, ClientState(), announce(W1, "A1", BODY_NONE))
    st = client_receive(ctx, 0, st, announce(w2, "A2", BODY_NONE))
    assert fetch_guard(P, st, 2, 2)
    kept = client_receive(ctx, 0, st, announce(w2, "A3", BODY_FULL))
    assert len(kept.accepted) == 1 and kept.ahead
    assert not fetch_guard(P, kept, 2, 2) and fetch_guard(P, kept, 1, 1)


def announced(j: int) -> AggState:
    """An aggregator that announced ``W1`` with attesters {1, 2}."""
    ctx = Ctx(P)
    a = agg_receive(ctx, j, _with_model(j), Msg("attest", "A1", f"A{j}", 1, -1, model=W1))
    a = agg_receive(ctx, j, a, Msg("attest", "A2", f"A{j}", 1, -1, model=W1))
    assert len(a.certs) == 2
    return a


def _with_model(j: int) -> AggState:
    from asfl.model.protocol import initial_aggregator

    a = initial_aggregator(P)
    return a._replace(round=1, models=(GENESIS, W1))


def test_serve_guard() -> None:
    """D-22: serve once per (client, round) a fetch of an announced round naming its
    header; drop "not announced", "other header", "duplicate fetch", and a fetch whose
    sender is not a client (R-3)."""
    a = _with_model(1)
    assert serve_defect(P, a, 0, 1, W1) == "not announced"
    a = announced(1)
    assert serve_defect(P, a, 0, 1, W1B) == "other header"
    assert serve_defect(P, a, 0, 2, W1) == "not announced"
    assert serve_defect(P, a, 0, 1, W1) is None
    ctx = Ctx(P)
    served = agg_receive(ctx, 1, a, Msg("fetch", "C0", "A1", 1, -1, model=W1))
    assert ctx.ev == [("serve", "A1", 1, "C0", W1)]
    assert ctx.out == [
        Msg("announce", "A1", "C0", 1, -1, model=W1, attesters=frozenset({1, 2}), body=BODY_FULL)
    ]
    assert serve_defect(P, served, 0, 1, W1) == "duplicate fetch"
    ctx = Ctx(P)
    assert agg_receive(ctx, 1, served, Msg("fetch", "C0", "A1", 1, -1, model=W1)) == served
    assert agg_receive(ctx, 1, a, Msg("fetch", "A2", "A1", 1, -1, model=W1)) == a
    assert [e[3] for e in ctx.ev or []] == ["duplicate fetch", "not from a client"]
    assert not ctx.out


def test_system_fires_any_fetchable_target_and_prunes_byzantine_fetches() -> None:
    """The explorer's timer: a ``fire`` action per fetchable target (any timeout); a
    fetch to a Byzantine aggregator is a no-op (it may ignore it)."""
    mode = Mode(explorer=True, events=False)
    s = initial_state(P, mode)
    cs = ClientState(heads=frozenset({(1, 0, W1), (1, 2, W1)}))
    aggs = s.aggs[:2] + (announced(2),) + s.aggs[3:]
    s = s._replace(aggs=aggs, clients=(cs,) + s.clients[1:])
    fires = [a for a in enabled(P, s, mode) if a.kind == "fire"]
    assert [(a.node, a.msg.dst) for a in fires if a.msg] == [("C0", "A0"), ("C0", "A2")]
    s2, _ = step(P, s, fires[0], mode)
    assert s2.clients[0].fetched == frozenset({(1, 0)}) and not s2.net  # to Byzantine A0: pruned
    s3, _ = step(P, s, fires[1], mode)
    assert s3.net == frozenset({Msg("fetch", "C0", "A2", 1, -1, model=W1)})
    assert is_noop(P, s3, Msg("fetch", "C0", "A0", 1, -1, model=W1))
    assert is_noop(P, s, Msg("fetch", "C0", "A3", 1, -1, model=W1))  # A3 announced nothing


def test_explorer_live_with_a_byzantine_pusher(monkeypatch: pytest.MonkeyPatch) -> None:
    """L-2 through D-22: with one pusher per client, the clients of a Byzantine pusher
    (silent: no behaviour) get their body only by fetching; the explorer finds no
    deadlock and the search is exhaustive. Without fetches (no timer ever fires: the
    broken variant) they deadlock, which the explorer reports as L-3."""
    p = Params(4, 1, 8, 0, 2, 0, 1, byzantine=frozenset({1}))
    res = explore(p, behaviours=frozenset(), max_seconds=120)
    assert res.exhaustive and res.ok, res.summary()
    assert res.complete_states > 0
    monkeypatch.setattr(system, "fire_actions", lambda *a, **k: [])
    broken = explore(p, behaviours=frozenset(), max_seconds=120)
    assert [v.prop for v in broken.violations] == ["L-3"]
