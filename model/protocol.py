"""Node transitions: what one honest node does with one input (sans-I/O, as in DESIGN §4).

Every transition is a pure function ``(params, node state, input) -> node state``; it
appends the messages it sends to ``ctx.out`` and its trace events to ``ctx.ev`` (events
are tuples ``(kind, node, ...)``, rendered by :mod:`model.emit`). Guards are named
predicates; a message that fails a guard is dropped and changes nothing (R-3).
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import combinations
from typing import TypeVar

from asfl.model import inclusion
from asfl.model.params import Params
from asfl.model.types import (
    BODY_FULL,
    BODY_NONE,
    BODY_WRONG,
    FINAL,
    FINAL_UNATTESTED,
    GENESIS,
    AggState,
    ClientState,
    Model,
    Msg,
    Proposal,
    Result,
    View,
)

Event = tuple
H = TypeVar("H")  # a header: a model (the model), a header digest (the checker)


@dataclass
class Ctx:
    """Outputs of one transition. ``ev is None`` skips building events (explorer).
    ``abstract_final``: forget which model a client accepts for the last round, keeping
    only whether an honest aggregator had attested it (S-7 reads that, nothing else reads
    the model; this merges states in the explorer). ``attested`` (ghost, set by the
    system for client inputs): the models honest aggregators have attested."""

    p: Params
    out: list[Msg] = field(default_factory=list)
    ev: list[Event] | None = field(default_factory=list)
    abstract_final: bool = False
    attested: frozenset[Model] = frozenset()

    def emit(self, *e: object) -> None:
        if self.ev is not None:
            self.ev.append(tuple(e))

    def drop(self, node: str, msg: Msg, reason: str) -> None:
        self.emit("drop", node, msg, reason)


def idx(p: Params, tau: int, c: int) -> int:
    return tau * p.n_a + c


def initial_aggregator(p: Params) -> AggState:
    return AggState(0, (GENESIS,), tuple(View() for _ in range(p.R * p.n_a)))


def _set_view(st: AggState, k: int, v: View) -> AggState:
    views = list(st.views)
    views[k] = v
    return st._replace(views=tuple(views))


def broadcast_aggs(ctx: Ctx, kind: str, src: str, tau: int, c: int, **kw: object) -> None:
    for a in ctx.p.aggregators:
        ctx.out.append(Msg(kind, src, a, tau, c, **kw))  # type: ignore[arg-type]


# =====================================================================================
# Client (R-4, R-5, D-13, R-15)
# =====================================================================================


def pending_rounds(p: Params, n_accepted: int, submitted: Iterable[int]) -> list[int]:
    """Rounds accepted (``0 .. n_accepted - 1``) but not yet submitted for (R-5, D-13),
    in increasing order: the submissions of the client's next local step."""
    done = set(submitted)
    return [t for t in range(min(n_accepted, p.R)) if t not in done]


def client_pending_rounds(p: Params, st: ClientState) -> list[int]:
    """Rounds accepted but not yet submitted for (R-5, D-13), in increasing order."""
    return pending_rounds(p, len(st.accepted), st.submitted)


def client_can_step(p: Params, st: ClientState) -> bool:
    return st.alive and bool(client_pending_rounds(p, st))


def client_step(ctx: Ctx, i: int, st: ClientState) -> ClientState:
    """A local step on the newest accepted model, then one submission per accepted but
    unsubmitted round, in increasing order (R-4, R-5, D-13 catch-up)."""
    me = f"C{i}"
    ctx.emit("local_step", me, len(st.accepted) - 1)
    for tau in client_pending_rounds(ctx.p, st):
        c = ctx.p.cluster_of(i, tau)
        st = st._replace(submitted=st.submitted | {tau})
        ctx.emit("submit", me, tau, c)
        ctx.out.append(Msg("submit", me, f"A{c}", tau, c))
    return st


def client_done(p: Params, st: ClientState) -> bool:
    return len(st.accepted) > p.R


def announce_valid(m: Model) -> bool:
    """R-17 (c)+(d), symbolically: the evidence of an offer is a set of certified cluster
    results and ``w`` is R-13 of them. Forged models fail it. Only attesters check it;
    a client checks attestations instead (R-15)."""
    return not m.forged


def designated(p: Params, i: int, j: int) -> bool:
    """D-18: aggregator ``j`` pushes client ``i`` the model's body iff ``i mod n_a == j``
    (one pusher per client; a client that lacks a body fetches it, D-22)."""
    return i % p.n_a == j


def attestation_quorum(p: Params, attesters: Iterable[int]) -> bool:
    """R-15 (d) / R-17 (b): attestations of at least ``t_a + 1`` distinct aggregators
    (one of them honest: the counting step, proved in ``checker/proofs/attest.py``)."""
    return len(set(attesters)) >= p.attest_quorum


def announce_defect(p: Params, msg: Msg) -> str | None:
    """R-15 (d)+(e), symbolically: why a client drops an announcement, or ``None``. The
    attestations of honest aggregators in ``msg.attesters`` are genuine (the adversary
    cannot sign for them; the Byzantine menu only names honest aggregators that did
    attest the model), so counting them is the whole check."""
    if not attestation_quorum(p, msg.attesters):
        return "too few attestations"
    if msg.body == BODY_WRONG:
        return "body digest"
    return None


def client_receive(ctx: Ctx, i: int, st: ClientState, msg: Msg) -> ClientState:
    """R-15: verify an announcement's header; accept the first verified model of each
    round that comes with its body (D-18)."""
    me = f"C{i}"
    m = msg.model
    assert m is not None
    if client_done(ctx.p, st):
        ctx.drop(me, msg, "done")
        return st
    why = announce_defect(ctx.p, msg)
    if why is not None:
        ctx.drop(me, msg, why)
        return st
    if m in st.verified:
        if body_wanted(st, msg):
            return _client_verify(ctx, i, st, msg)  # header verified before, body now
        if head_wanted(st, msg):
            return _client_head(st, msg)  # D-22: one more aggregator to fetch from
        ctx.drop(me, msg, "already verified")
        return st
    if m.prev not in st.verified:  # R-15 (b): wait, one buffered announce per sender+round
        keep = frozenset(b for b in st.buffer if (b.src, b.tau) != (msg.src, msg.tau))
        return st._replace(buffer=keep | {msg})
    st = _client_verify(ctx, i, st, msg)
    # verifying a model may release buffered announcements
    progress = True
    while progress and not client_done(ctx.p, st):
        progress = False
        for b in sorted(st.buffer):
            assert b.model is not None
            if b.model.prev in st.verified:
                st = st._replace(buffer=st.buffer - {b})
                st = _client_verify(ctx, i, st, b)
                progress = True
                break
    return st


def body_wanted(st: ClientState, msg: Msg) -> bool:
    """R-15: a verified body is taken if its round is not accepted yet and no body of that
    round is already kept for later."""
    m = msg.model
    assert m is not None
    return msg.body == BODY_FULL and lacks_body(st, m.round)


def lacks_body(st: ClientState, r: int) -> bool:
    """R-15 / D-22: round ``r`` is not accepted and no verified body of it is held."""
    return r >= len(st.accepted) and not holds_body(st, r)


def holds_body(st: ClientState, r: int) -> bool:
    """R-15: a verified body of round ``r`` is kept until its round is next."""
    return any(b.tau == r for b in st.ahead)


def head_wanted(st: ClientState, msg: Msg) -> bool:
    """D-22: a verified header-only announcement makes its sender fetchable for its
    round if the round lacks a body (:func:`lacks_body`) and no header-only announcement
    of that sender for the round was verified before (the first one is kept)."""
    m = msg.model
    assert m is not None
    if msg.body != BODY_NONE or not lacks_body(st, m.round):
        return False
    j = int(msg.src[1:])
    return all((r, k) != (m.round, j) for r, k, _ in st.heads)


def _client_head(st: ClientState, msg: Msg) -> ClientState:
    """D-22: remember the header-only announcement's sender and header (the model)."""
    m = msg.model
    assert m is not None
    return st._replace(heads=st.heads | {(m.round, int(msg.src[1:]), m)})


def _forget_fetch(st: ClientState, r: int) -> ClientState:
    """D-22: once a body of round ``r`` is held no fetch of ``r`` is enabled again: its
    headers and fetched bits are forgotten."""
    if any(t == r for t, _, _ in st.heads) or any(t == r for t, _ in st.fetched):
        st = st._replace(
            heads=frozenset(h for h in st.heads if h[0] != r),
            fetched=frozenset(f for f in st.fetched if f[0] != r),
        )
    return st


class FetchDefect(StrEnum):
    """Why the D-22 fetch guard refuses a fetch of round ``r`` from aggregator ``j``
    (:func:`fetch_defect`): the clause that fails, first failing clause first."""

    ROUND = "round outside 1..R"
    ACCEPTED = "round accepted"
    BODY_HELD = "verified body held"
    FETCHED = "fetched before"
    NO_HEADER = "no header-only announcement verified"
    OTHER_HEADER = "other header"


def fetch_defect(
    p: Params,
    r: int,
    accepted: int,
    body_held: bool,
    fetched_from: Container[int],
    heads: Mapping[int, H | None],
    j: int,
    hd: H,
) -> FetchDefect | None:
    """D-22, the client's fetch guard on primitive facts: why a client may not send
    ``fetch(r, hd)`` to aggregator ``j``, or ``None``. Facts: ``accepted`` rounds
    (genesis included: ``len(accepted)``), whether a verified body of ``r`` is held,
    the aggregators fetched from for ``r``, and ``heads``: aggregator -> the header of
    its header-only announcement of ``r`` the client verified (``None``: not known, a
    Byzantine sender's in the explorer and the checker; any ``hd`` matches it). The
    round is ``<= R`` and not accepted, no body of it held (:func:`lacks_body`), ``j``
    not fetched from for it, ``j``'s header-only announcement verified, and ``hd`` the
    header it announced."""
    if not 1 <= r <= p.R:
        return FetchDefect.ROUND
    if r < accepted:
        return FetchDefect.ACCEPTED
    if body_held:
        return FetchDefect.BODY_HELD
    if j in fetched_from:
        return FetchDefect.FETCHED
    if j not in heads:
        return FetchDefect.NO_HEADER
    seen = heads[j]
    if seen is not None and seen != hd:
        return FetchDefect.OTHER_HEADER
    return None


def fetch_guard(p: Params, st: ClientState, r: int, j: int) -> bool:
    """D-22 on a client's state: alive, and :func:`fetch_defect` finds nothing for
    ``fetch(r, hd)`` to ``j``, ``hd`` the header ``j`` announced (what the client's
    timer sends, :func:`client_fetch`)."""
    if not st.alive:
        return False
    heads = {k: m for t, k, m in st.heads if t == r}
    body_held = holds_body(st, r)
    fetched_from = {k for t, k in st.fetched if t == r}
    return fetch_defect(p, r, len(st.accepted), body_held, fetched_from, heads, j, heads.get(j)) is None


def fetch_targets(p: Params, st: ClientState) -> list[tuple[int, int, Model | None]]:
    """D-22: every ``(round, aggregator, header model)`` the client may fetch now (the
    model lets its timer fire at any step, towards any of them; an implementation picks
    the lowest-index aggregator), sorted."""
    return sorted(((r, j, m) for r, j, m in st.heads if fetch_guard(p, st, r, j)), key=lambda x: (x[0], x[1]))


def client_fetch(ctx: Ctx, i: int, st: ClientState, r: int, j: int) -> ClientState:
    """D-22: the client's timer fires: send ``fetch(r, hd)`` to ``j`` (``hd`` the header
    ``j`` announced), once per ``(j, r)``. The caller checks :func:`fetch_guard`."""
    me = f"C{i}"
    m = next(h for t, k, h in st.heads if (t, k) == (r, j))
    ctx.emit("fetch", me, r, f"A{j}", m)
    ctx.out.append(Msg("fetch", me, f"A{j}", r, -1, model=m))
    return st._replace(fetched=st.fetched | {(r, j)})


def _client_verify(ctx: Ctx, i: int, st: ClientState, msg: Msg) -> ClientState:
    """The header is verified (R-15 b, D-12); its body, the first of its round, is accepted
    if its round is the next one, else kept until it is; accepting a round accepts the
    kept body of the next one (R-15: models are accepted in round order)."""
    m = msg.model
    assert m is not None
    last = m.round == ctx.p.R and ctx.abstract_final
    if not last:
        seen = st.seen | {(m.round - 1, c) for c, cl, _ in m.parts if i in cl}
        st = st._replace(verified=st.verified | {m}, seen=seen)
    if head_wanted(st, msg):
        return _client_head(st, msg)
    if not body_wanted(st, msg):
        return st
    st = _forget_fetch(st, m.round)
    if m.round > len(st.accepted):
        return st._replace(ahead=st.ahead | {msg})
    while True:
        st = _client_accept(ctx, i, st, msg)
        nxt = [b for b in st.ahead if b.tau == len(st.accepted)]
        if not nxt:
            return st
        msg = nxt[0]
        st = st._replace(ahead=st.ahead - {msg})


def _client_accept(ctx: Ctx, i: int, st: ClientState, msg: Msg) -> ClientState:
    """R-15: train on ``msg``'s body: the accepted model of the next round."""
    m = msg.model
    assert m is not None and m.round == len(st.accepted)
    last = m.round == ctx.p.R and ctx.abstract_final
    final = FINAL if m in ctx.attested else FINAL_UNATTESTED
    st = st._replace(accepted=st.accepted + ((final if last else m),))
    ctx.emit("accept", f"C{i}", m, msg.src, len(st.seen), msg.attesters)
    return st


# =====================================================================================
# Aggregator (R-6 ..)
# =====================================================================================


def count_view(views: Iterable[View], before: int) -> dict[int, int]:
    """D-12 over any views of one aggregator: ``n(i)`` = number of certified proposals of
    rounds ``< before`` containing ``i`` for which it holds the certificate *and* the
    proposal."""
    n: dict[int, int] = {}
    for v in views:
        if v.cert is not None and v.first == v.cert and v.cert.tau < before:
            for i in v.cert.clients:
                n[i] = n.get(i, 0) + 1
    return n


def count_views(p: Params, st: AggState, before: int) -> dict[int, int]:
    """D-12 for an aggregator's whole state (see :func:`count_view`)."""
    return count_view(st.views[: min(before, p.R) * p.n_a], before)


@dataclass(frozen=True)
class Defect:
    """Why a proposal fails the R-8 guards: the property the clause protects and why."""

    prop: str
    reason: str


def proposal_defects(p: Params, prop: Proposal) -> tuple[Defect, ...]:
    """The R-8 guards on a proposal's set (signatures and ciphertexts are abstracted as
    valid), each failed clause named: round in ``[0, R)`` (R-3), members of cluster
    ``c`` of round ``tau`` (R-2, S-4), each once (S-4), sorted (R-7), at least ``q_min``
    of them (S-5)."""
    cl = prop.clients
    if not 0 <= prop.tau < p.R or not 0 <= prop.c < p.n_a:
        return (Defect("R-3", f"(tau={prop.tau}, c={prop.c}) out of range"),)
    out = []
    members = set(p.members(prop.tau, prop.c))
    if not set(cl) <= members:
        out.append(Defect("S-4", f"set {list(cl)} names non-members of cluster {prop.c}"))
    if len(set(cl)) != len(cl):
        out.append(Defect("S-4", f"set {list(cl)} names a client twice"))
    if list(cl) != sorted(cl):
        out.append(Defect("R-7", f"set {list(cl)} not sorted"))
    if len(set(cl)) < p.q_min:
        out.append(Defect("S-5", f"set of {len(set(cl))} < q_min = {p.q_min} clients"))
    return tuple(out)


def valid_proposal(p: Params, prop: Proposal) -> bool:
    """R-8: a proposal is valid iff it has no :func:`proposal_defects`."""
    return not proposal_defects(p, prop)


def close_choice(p: Params, counts: Mapping[int, int], held: Iterable[int]) -> tuple[int, ...] | None:
    """R-6: the set a coordinator proposes now from its count view and held submissions,
    or ``None`` (it does not close yet)."""
    if p.bug == "greedy-close":  # BROKEN: ignores the inclusion rule
        h = tuple(sorted(set(held)))
        return h if len(h) >= p.q_min else None
    return inclusion.close_decision(counts, held, p.t_c, p.B, p.q_min)


def decode(
    releases: list[tuple[int, bool]], quorum: int, t_a: int
) -> tuple[bool, tuple[int, ...], tuple[int, ...]] | None:
    """D-4, symbolically. ``releases``: (releaser, good?) for the certified ``pd``.

    A set of ``quorum`` share sums lies on one polynomial of degree ``t_a`` iff all are
    good (they lie on the true polynomial), or it holds at most ``t_a`` good ones and at
    least one wrong one (the adversary can then pick a polynomial through them: with at
    most ``t_a`` true points the true polynomial is not determined). We let the adversary
    win whenever it can: the result is garbage if any consistent set holds a wrong
    point. With ``quorum = n_a - t_a`` and ``n_a >= 3 t_a + 1`` every set of ``quorum``
    points holds ``>= t_a + 1`` good ones, so garbage is impossible (I-1).

    Returns ``(garbage, support, wrong)`` or ``None`` (not decodable yet). The support
    shown is the lexicographically first consistent set of the chosen kind."""
    rel = sorted(releases)
    good = [k for k, g in rel if g]
    bad = [k for k, g in rel if not g]
    if bad:
        for a in range(min(len(good), t_a), -1, -1):
            b = quorum - a
            if 1 <= b <= len(bad):
                support = tuple(sorted(good[:a] + bad[:b]))
                wrong = tuple(k for k in good if k not in support)
                return True, support, wrong
    if len(good) >= quorum:
        for s in combinations(good, quorum):
            return False, tuple(s), tuple(bad)
    return None


def agg_receive(ctx: Ctx, j: int, st: AggState, msg: Msg) -> AggState:
    """Dispatch one delivered message (R-3: unknown kinds / wrong roles are dropped)."""
    me = f"A{j}"
    if msg.kind == "offer":
        return on_offer(ctx, j, st, msg)
    if msg.kind == "attest":
        return on_attest(ctx, j, st, msg)
    if msg.kind == "fetch":
        return on_fetch(ctx, j, st, msg)
    if not 0 <= msg.tau < ctx.p.R or not 0 <= msg.c < ctx.p.n_a:
        ctx.drop(me, msg, "round or cluster out of range")
        return st
    if msg.kind == "submit":
        return on_submit(ctx, j, st, msg)
    if msg.kind == "propose":
        return on_propose(ctx, j, st, msg)
    if msg.kind == "endorse":
        return on_endorse(ctx, j, st, msg)
    if msg.kind == "release":
        return on_release(ctx, j, st, msg)
    ctx.drop(me, msg, "unexpected kind")
    return st


class ServeDefect(StrEnum):
    """Why an honest aggregator drops a fetch (D-22, :func:`serve_refusal`); the values
    are the drop reasons traces carry."""

    NOT_ANNOUNCED = "not announced"
    OTHER_HEADER = "other header"
    DUPLICATE = "duplicate fetch"


def serve_refusal(
    p: Params, i: int, r: int, announced: H | None, hd: H, served: Container[tuple[int, int]]
) -> ServeDefect | None:
    """D-22, the aggregator's serve guard on primitive facts: why it drops client
    ``i``'s ``fetch(r, hd)``, or ``None``. ``announced``: the header of its announcement
    of round ``r`` (``None``: not announced), ``served``: the ``(client, round)`` it has
    served. It announced round ``r`` of ``1..R`` to a client ``i`` ("not announced"),
    with that header ("other header"), and has not served ``(i, r)`` ("duplicate
    fetch")."""
    if announced is None or not 1 <= r <= p.R or not 0 <= i < p.n_c:
        return ServeDefect.NOT_ANNOUNCED
    if announced != hd:
        return ServeDefect.OTHER_HEADER
    if (i, r) in served:
        return ServeDefect.DUPLICATE
    return None


def serve_defect(p: Params, st: AggState, i: int, r: int, m: Model | None) -> ServeDefect | None:
    """D-22 on an aggregator's state: :func:`serve_refusal` of client ``i``'s
    ``fetch(r, hd)`` (``hd`` standing for the model ``m``); round ``r`` is announced
    iff ``1 <= r < len(certs)``."""
    announced = st.models[r] if 1 <= r < len(st.certs) else None
    return serve_refusal(p, i, r, announced, m, st.served)


def on_fetch(ctx: Ctx, j: int, st: AggState, msg: Msg) -> AggState:
    """D-22: answer a client's fetch, once per (client, round), by re-sending its
    round's announcement with the body: the same header and attestations (R-14)."""
    me = f"A{j}"
    if msg.src[0] != "C":
        ctx.drop(me, msg, "not from a client")  # a fetch is a client's message
        return st
    i, r = int(msg.src[1:]), msg.tau
    why = serve_defect(ctx.p, st, i, r, msg.model)
    if why is not None:
        ctx.drop(me, msg, why.value)
        return st
    m = st.models[r]
    ctx.emit("serve", me, r, msg.src, m)
    ctx.out.append(Msg("announce", me, msg.src, r, -1, model=m, attesters=st.certs[r], body=BODY_FULL))
    return st._replace(served=st.served | {(i, r)})


def on_submit(ctx: Ctx, j: int, st: AggState, msg: Msg) -> AggState:
    """The coordinator holds at most one submission per member (R-6), then re-evaluates
    its close condition."""
    me, tau, c = f"A{j}", msg.tau, msg.c
    i = int(msg.src[1:])
    k = idx(ctx.p, tau, c)
    v = st.views[k]
    if c != j or i not in ctx.p.members(tau, c):
        ctx.drop(me, msg, "not a member of my cluster")
        return st
    if v.proposed is not None:
        ctx.drop(me, msg, "cluster already closed")
        return st
    if i in v.held:
        ctx.drop(me, msg, "duplicate submission")
        return st
    st = _set_view(st, k, v._replace(held=v.held | {i}))
    return try_close(ctx, j, st, tau)


def try_close(ctx: Ctx, j: int, st: AggState, tau: int) -> AggState:
    """R-6/R-7: close ``(tau, j)`` once, as soon as the close condition holds."""
    p = ctx.p
    k = idx(p, tau, j)
    v = st.views[k]
    if v.proposed is not None or not v.held:
        return st
    members = p.members(tau, j)
    view = count_views(p, st, tau)
    counts = {i: view.get(i, 0) for i in members}
    chosen = close_choice(p, counts, v.held)
    if chosen is None:
        return st
    prop = Proposal(tau, j, chosen)
    snap = (tuple(counts[i] for i in members), tuple(sorted(v.held)))
    # closed: later submissions are dropped; the snapshot keeps H for F-1
    st = _set_view(st, k, v._replace(proposed=prop, snapshot=snap, held=frozenset()))
    ctx.emit("propose", f"A{j}", prop, members, snap[0], snap[1])
    broadcast_aggs(ctx, "propose", f"A{j}", tau, j, prop=prop)
    return st


def on_propose(ctx: Ctx, j: int, st: AggState, msg: Msg) -> AggState:
    """R-8: endorse the first valid proposal from the coordinator, and only that one."""
    me, prop = f"A{j}", msg.prop
    assert prop is not None
    k = idx(ctx.p, msg.tau, msg.c)
    v = st.views[k]
    if msg.src != f"A{msg.c}" or prop.tau != msg.tau or prop.c != msg.c:
        ctx.drop(me, msg, "not from the coordinator")
        return st
    if v.first is not None:
        if prop != v.first:
            ctx.emit("equivocation", me, v.first, prop)
        ctx.drop(me, msg, "second proposal")
        return st
    if not valid_proposal(ctx.p, prop):
        ctx.drop(me, msg, "invalid proposal")
        return st
    st = _set_view(st, k, v._replace(first=prop, endorsed=v.endorsed + (prop,)))
    ctx.emit("endorse", me, prop)
    broadcast_aggs(ctx, "endorse", me, msg.tau, msg.c, prop=prop)
    st = maybe_release(ctx, j, st, k)
    return maybe_reconstruct(ctx, j, st, k)


def on_endorse(ctx: Ctx, j: int, st: AggState, msg: Msg) -> AggState:
    """R-9: certify on the first ``quorum`` distinct endorsements of one ``(pd, md)``."""
    me, prop = f"A{j}", msg.prop
    assert prop is not None
    k = idx(ctx.p, msg.tau, msg.c)
    v = st.views[k]
    e = int(msg.src[1:])
    if v.cert is not None:
        ctx.drop(me, msg, "already certified")
        return st
    if (prop, e) in v.endorsements:
        ctx.drop(me, msg, "duplicate endorsement")
        return st
    ends = v.endorsements | {(prop, e)}
    v = v._replace(endorsements=ends)
    endorsers = sorted(x for q, x in ends if q == prop)
    if len(endorsers) >= ctx.p.cert_quorum:
        # certified: the endorsements are no longer needed (later ones are dropped)
        v = v._replace(cert=prop, endorsements=frozenset())
        ctx.emit("certify", me, prop, tuple(endorsers))
    st = _set_view(st, k, v)
    st = maybe_release(ctx, j, st, k)
    return maybe_reconstruct(ctx, j, st, k)


def release_guard(p: Params, v: View) -> Proposal | None:
    """R-10: release once, holding both the certificate and the certified proposal."""
    if p.bug == "release-without-cert":  # BROKEN: no certificate needed
        return v.first if v.first is not None and not v.released else None
    if v.cert is None or v.first != v.cert:
        return None
    if p.bug == "double-release":  # BROKEN: releases again on the next occasion
        return v.cert if len(v.released) < 2 else None
    return v.cert if not v.released else None


def maybe_release(ctx: Ctx, j: int, st: AggState, k: int) -> AggState:
    v = st.views[k]
    prop = release_guard(ctx.p, v)
    if prop is None:
        return st
    st = _set_view(st, k, v._replace(released=v.released + (prop,)))
    ctx.emit("release", f"A{j}", prop, True)
    broadcast_aggs(ctx, "release", f"A{j}", prop.tau, prop.c, prop=prop, good=True)
    return st


def on_release(ctx: Ctx, j: int, st: AggState, msg: Msg) -> AggState:
    """R-11: collect releases (one per releaser and pd), decode as each arrives."""
    me, prop = f"A{j}", msg.prop
    assert prop is not None
    k = idx(ctx.p, msg.tau, msg.c)
    v = st.views[k]
    r = int(msg.src[1:])
    if v.result is not None:
        ctx.drop(me, msg, "already decoded")
        return st
    if any(q == prop and x == r for q, x, _ in v.releases):
        ctx.drop(me, msg, "duplicate release")
        return st
    st = _set_view(st, k, v._replace(releases=v.releases | {(prop, r, msg.good)}))
    if ctx.p.bug == "double-release":
        st = maybe_release(ctx, j, st, k)
    return maybe_reconstruct(ctx, j, st, k)


def reconstruct_guard(v: View) -> Proposal | None:
    """R-11: the proposal an aggregator may decode for: not decoded yet, holding the
    certificate and the certified proposal (P-2, I-2)."""
    if v.result is not None or v.cert is None or v.first != v.cert:
        return None
    return v.cert


def maybe_reconstruct(ctx: Ctx, j: int, st: AggState, k: int) -> AggState:
    """R-11/R-12: decode by D-4 once holding the certified proposal and enough releases."""
    v = st.views[k]
    cert = reconstruct_guard(v)
    if cert is None:
        return st
    rel = [(x, g) for q, x, g in v.releases if q == cert]
    dec = decode(rel, ctx.p.cert_quorum, ctx.p.t_a)
    if dec is None:
        return st
    garbage, support, wrong = dec
    res = Result(cert, () if garbage else cert.clients, garbage, len(support))
    # decoded: releases are no longer needed (later ones are dropped)
    st = _set_view(st, k, v._replace(result=res, releases=frozenset()))
    ctx.emit("reconstruct", f"A{j}", cert, support, wrong, res)
    return maybe_aggregate(ctx, j, st)


def aggregation_clusters(p: Params, decoded: Iterable[int]) -> tuple[int, ...] | None:
    """R-13: with results for ``>= n_a - t_a`` clusters of its round an aggregator takes
    all of them (sorted); ``None`` while it holds fewer."""
    got = tuple(sorted(set(decoded)))
    return got if len(got) >= p.quorum else None


def maybe_aggregate(ctx: Ctx, j: int, st: AggState) -> AggState:
    """R-13: with results for ``>= n_a - t_a`` clusters of its round, take all of them,
    make the next model, offer it (R-17) once its previous model is announced, move on."""
    p = ctx.p
    while st.round < p.R:
        tau = st.round
        results = {c: st.views[idx(p, tau, c)].result for c in range(p.n_a)}
        take = aggregation_clusters(p, {c for c, r in results.items() if r is not None})
        if take is None:
            break
        parts = tuple((c, r.clients, r.garbage) for c in take if (r := results[c]) is not None)
        model = Model(tau + 1, st.models[-1], parts)
        st = st._replace(round=tau + 1, models=st.models + (model,))
        ctx.emit("aggregate", f"A{j}", model)
        st = try_offer(ctx, j, st)
    return st


def try_offer(ctx: Ctx, j: int, st: AggState) -> AggState:
    """R-17: offer the model of round ``r`` to every aggregator (itself included) with
    the attestations of its model of round ``r - 1``, as soon as both exist. Called when
    either appears, so each model is offered once."""
    r = len(st.certs)
    if r < len(st.models):
        m = st.models[r]
        broadcast_aggs(ctx, "offer", f"A{j}", r, -1, model=m, attesters=st.certs[r - 1])
    return st


def offer_defect(p: Params, msg: Msg) -> str | None:
    """R-17 (b)-(d), symbolically, statelessly: why an honest aggregator refuses to attest
    an offer, or ``None``. (b) the previous model is genesis or carries attestations of
    ``t_a + 1`` distinct aggregators (:func:`attestation_quorum`); (c)+(d) the evidence
    is certified and the model is R-13 of it (:func:`announce_valid`)."""
    m = msg.model
    if m is None or not 1 <= msg.tau <= p.R or m.round != msg.tau:
        return "round out of range"
    if msg.tau > 1 and not attestation_quorum(p, msg.attesters):
        return "previous model not attested"
    if not announce_valid(m):
        return "invalid evidence"
    return None


def attested_before(st: AggState, producer: int, r: int) -> bool:
    """R-17: an honest aggregator attests at most one offer per (producer, round)."""
    return any(pr == producer and m.round == r for pr, m in st.attested)


def on_offer(ctx: Ctx, k: int, st: AggState, msg: Msg) -> AggState:
    """R-17: attest a valid offer, once per (producer, round), to its producer only."""
    me = f"A{k}"
    producer = int(msg.src[1:])
    why = offer_defect(ctx.p, msg)
    if why is not None:
        ctx.drop(me, msg, why)
        return st
    if attested_before(st, producer, msg.tau):
        ctx.drop(me, msg, "duplicate offer")
        return st
    m = msg.model
    assert m is not None
    st = st._replace(attested=st.attested | {(producer, m)})
    ctx.emit("attest", me, m, producer)
    ctx.out.append(Msg("attest", me, msg.src, msg.tau, -1, model=m))
    return st


def on_attest(ctx: Ctx, j: int, st: AggState, msg: Msg) -> AggState:
    """R-14: collect attestations of its own model (one per attester), announce once it
    holds :func:`attestation_quorum` of them."""
    me, r = f"A{j}", msg.tau
    a = int(msg.src[1:])
    if not 1 <= r < len(st.models) or st.models[r] != msg.model:
        ctx.drop(me, msg, "not my model")
        return st
    if r < len(st.certs):
        ctx.drop(me, msg, "already announced")
        return st
    if (r, a) in st.attests:
        ctx.drop(me, msg, "duplicate attestation")
        return st
    return try_announce(ctx, j, st._replace(attests=st.attests | {(r, a)}))


def try_announce(ctx: Ctx, j: int, st: AggState) -> AggState:
    """R-14: announce the model of the next unannounced round once it holds attestations
    of ``t_a + 1`` distinct aggregators: header and those attestations to every client,
    the body to the clients it is designated for (D-18); then offer the next model."""
    p, me = ctx.p, f"A{j}"
    while len(st.certs) < len(st.models):
        r = len(st.certs)
        held = sorted(a for t, a in st.attests if t == r)
        if not attestation_quorum(p, held):
            break
        have = frozenset(held[: p.attest_quorum])  # the first t_a + 1, sorted
        m = st.models[r]
        st = st._replace(certs=st.certs + (have,), attests=frozenset(x for x in st.attests if x[0] != r))
        ctx.emit("announce", me, m, tuple(sorted(have)))
        for i, cn in enumerate(p.client_names):
            body = BODY_FULL if designated(p, i, j) else BODY_NONE
            ctx.out.append(Msg("announce", me, cn, r, -1, model=m, attesters=have, body=body))
        st = try_offer(ctx, j, st)
    return st
