"""The whole system: honest nodes of :mod:`model.protocol`, a network of messages in
flight delivered in any order, crashed clients, and Byzantine aggregators whose
behaviour is a menu of nondeterministic sends.

``enabled(p, s)`` lists the actions possible in state ``s``; ``step(p, s, a)`` is the
pure transition function. Reliable asynchronous links (§1): any message in flight may
be delivered next; a message to a crashed client is discarded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations

from asfl.model.params import Params
from asfl.model.protocol import (
    Ctx,
    agg_receive,
    announce_defect,
    attested_before,
    client_can_step,
    client_done,
    client_receive,
    client_step,
    idx,
    initial_aggregator,
    offer_defect,
)
from asfl.model.types import (
    BODY_FULL,
    BODY_NONE,
    BODY_WRONG,
    GENESIS,
    Action,
    ClientState,
    Model,
    Msg,
    Proposal,
    SysState,
)

#: Byzantine behaviours, each a family of nondeterministic sends (see :func:`byz_menu`).
BEHAVIOURS = ("equivocate", "forge-endorse", "wrong-release", "forge-announce", "forge-attest")


@dataclass(frozen=True)
class Mode:
    """How the system is run. The explorer prunes messages whose delivery can no longer
    change anything (a sound reduction: such a delivery is a no-op) and forgets the
    last-round model a client accepts; the trace emitter keeps everything."""

    behaviours: frozenset[str] = field(default_factory=lambda: frozenset(BEHAVIOURS))
    explorer: bool = False
    events: bool = True


def initial_state(p: Params, mode: Mode) -> SysState:
    aggs = tuple(None if j in p.byzantine else initial_aggregator(p) for j in range(p.n_a))
    dead = p.crashed if mode.explorer else frozenset()  # explorer: crashed = silent from start
    clients = tuple(ClientState(alive=i not in dead) for i in range(p.n_c))
    return SysState(aggs, clients, frozenset(), frozenset())


def node_index(name: str) -> int:
    return int(name[1:])


def msg_key(m: Msg) -> tuple:
    """A total order on messages (for deterministic exploration)."""
    return (
        m.kind,
        m.src,
        m.dst,
        m.tau,
        m.c,
        m.prop or (),
        m.good,
        (m.model.round, m.model.forged, repr(m.model)) if m.model else (),
        tuple(sorted(m.attesters)),
        m.body,
    )


def honest_attestations(s: SysState) -> dict[Model, frozenset[int]]:
    """R-17: the honest aggregators that attested each model (their signatures exist,
    so the adversary may include them in what it sends)."""
    out: dict[Model, set[int]] = {}
    for k, a in enumerate(s.aggs):
        if a is not None:
            for _producer, m in a.attested:
                out.setdefault(m, set()).add(k)
    return {m: frozenset(ks) for m, ks in out.items()}


# ------------------------------------------------------------------------------------
# Byzantine menu
# ------------------------------------------------------------------------------------


def known_proposals(p: Params, s: SysState, tau: int, c: int) -> set[Proposal]:
    """Proposals for (tau, c) that exist so far (held by honest nodes or sent)."""
    out = set()
    for a in s.aggs:
        if a is not None:
            v = a.views[idx(p, tau, c)]
            if v.first is not None:
                out.add(v.first)
            if v.proposed is not None:
                out.add(v.proposed)
    for m in s.byz_sent:
        if m.kind == "propose" and m.tau == tau and m.c == c and m.prop is not None:
            out.add(m.prop)
    return out


def byz_menu(p: Params, s: SysState, behaviours: Iterable[str], latest_only: bool = False) -> list[Msg]:
    """Messages a Byzantine aggregator may send now (each at most once):

    - ``equivocate``: as coordinator, any proposal over submissions it could hold
      (any subset of the submitted members, of size >= q_min, plus one invalid
      singleton), to each honest aggregator separately;
    - ``forge-endorse``: endorsements of any existing proposal, to anyone;
    - ``wrong-release``: a wrong share sum for any existing proposal, to anyone;
    - ``forge-announce``: announcements to a client of a forged model with Byzantine-only
      attestations, and of every model honest aggregators attested (their attestations
      and the Byzantine ones) without body, with a wrong body, or with its body (a relay);
    - ``forge-attest``: attestations of any honest aggregator's unannounced model and of
      a forged one, to its producer; forged offers (Byzantine-only attestations of their
      previous model) to every honest aggregator (R-17).

    Silence (sending nothing) is always possible."""
    bh = set(behaviours)
    if not p.byzantine or not bh:
        return []
    honest = [f"A{j}" for j in p.honest]
    rounds = sorted({t for cs in s.clients for t in cs.submitted})
    if latest_only:  # the emitter: only the newest round (keeps long runs fast)
        rounds = rounds[-1:]
    out: list[Msg] = []
    for b in sorted(p.byzantine):
        me = f"A{b}"
        for tau in rounds:
            if "equivocate" in bh:
                sub = [i for i in p.members(tau, b) if tau in s.clients[i].submitted]
                cands = [
                    Proposal(tau, b, cl) for r in range(p.q_min, len(sub) + 1) for cl in combinations(sub, r)
                ]
                if sub and p.q_min > 1:
                    cands.append(Proposal(tau, b, (sub[0],)))  # invalid: too small
                out += [Msg("propose", me, h, tau, b, prop=q) for q in cands for h in honest]
            for c in range(p.n_a):
                props = sorted(known_proposals(p, s, tau, c))
                if "forge-endorse" in bh:
                    out += [Msg("endorse", me, h, tau, c, prop=q) for q in props for h in honest]
                if "wrong-release" in bh:
                    out += [Msg("release", me, h, tau, c, prop=q, good=False) for q in props for h in honest]
        byz = frozenset(p.byzantine)
        if "forge-announce" in bh:
            att = honest_attestations(s)
            for i, cs in enumerate(s.clients):
                r = len(cs.accepted)
                if cs.alive and r <= p.R:
                    fm = Model(r, cs.accepted[-1], (), forged=True)  # on a model it verified
                    out.append(Msg("announce", me, f"C{i}", r, -1, model=fm, attesters=byz))
                    for m, ks in sorted(att.items(), key=lambda x: repr(x[0])):
                        if m.round == r:
                            out += [
                                Msg("announce", me, f"C{i}", r, -1, model=m, attesters=ks | byz, body=body)
                                for body in (BODY_NONE, BODY_WRONG, BODY_FULL)
                            ]
        if "forge-attest" in bh:
            for j in p.honest:
                a = s.aggs[j]
                assert a is not None
                for r in range(len(a.certs), len(a.models)):  # its unannounced models
                    for m in (a.models[r], Model(r, None, (), forged=True)):
                        out.append(Msg("attest", me, f"A{j}", r, -1, model=m))
            for tau in rounds:
                fm = Model(tau + 1, GENESIS if tau == 0 else None, (), forged=True)
                out += [Msg("offer", me, h, tau + 1, -1, model=fm, attesters=byz) for h in honest]
    return [m for m in out if m not in s.byz_sent]


# ------------------------------------------------------------------------------------
# Actions
# ------------------------------------------------------------------------------------


def enabled(p: Params, s: SysState, mode: Mode) -> list[Action]:
    """All actions possible in ``s``: deliveries, client steps, crashes (emitter only),
    Byzantine sends."""
    acts = [Action("deliver", m.dst, m) for m in sorted(s.net, key=msg_key)]
    for i, cs in enumerate(s.clients):
        if client_can_step(p, cs):
            acts.append(Action("step", f"C{i}"))
        if not mode.explorer and i in p.crashed and cs.alive:
            acts.append(Action("crash", f"C{i}"))
    menu = byz_menu(p, s, mode.behaviours)
    if mode.explorer:  # sent and delivered at once; useless (no-op) ones are not offered
        menu = [m for m in menu if not is_noop(p, s, m)]
    acts += [Action("byz", m.src, m) for m in sorted(menu, key=msg_key)]
    return acts


def is_honest_action(a: Action) -> bool:
    return a.kind in ("deliver", "step")


def is_noop(p: Params, s: SysState, m: Msg) -> bool:
    """Would delivering ``m`` change nothing (explorer pruning)? Conservative."""
    d = node_index(m.dst)
    if m.dst[0] == "A":
        a = s.aggs[d]
        if a is None:
            return True
        if m.kind == "offer":
            return offer_defect(p, m) is not None or attested_before(a, node_index(m.src), m.tau)
        if m.kind == "attest":
            r = m.tau
            return (
                not 1 <= r < len(a.models)
                or a.models[r] != m.model
                or r < len(a.certs)
                or (r, node_index(m.src)) in a.attests
            )
        if not (0 <= m.tau < p.R and 0 <= m.c < p.n_a):
            return True
        v = a.views[idx(p, m.tau, m.c)]
        if m.kind == "submit":
            return v.proposed is not None or node_index(m.src) in v.held
        if m.kind == "propose":
            return v.first is not None
        if m.kind == "endorse":
            return v.cert is not None or (m.prop, node_index(m.src)) in v.endorsements
        if m.kind == "release":
            return v.result is not None
        return False
    cs = s.clients[d]
    if not cs.alive or client_done(p, cs) or m.model is None or announce_defect(p, m) is not None:
        return True
    if m.body != BODY_FULL and m.tau >= p.R:
        return True  # a last-round header: the explorer does not record it (abstract_final)
    if m.model in cs.verified:
        return m.body != BODY_FULL or m.tau != len(cs.accepted)
    return False


def step(p: Params, s: SysState, a: Action, mode: Mode) -> tuple[SysState, list[tuple]]:
    """The transition function. Returns the new state and the events of the step in
    trace order: the trigger, the node's protocol events, then its sends."""
    ctx = Ctx(p, ev=[] if mode.events else None, abstract_final=mode.explorer)
    if a.msg is not None and a.msg.dst[0] == "C":  # ghost for S-7 (the explorer's last round)
        ctx.attested = frozenset(honest_attestations(s))
    aggs, clients, net, byz_sent = s
    trigger: list[tuple] = []
    node = a.node
    if a.kind == "deliver":
        m = a.msg
        assert m is not None
        net = net - {m}
        trigger.append(("deliver", m.dst, m))
        d = node_index(m.dst)
        if m.dst[0] == "A":
            ag = aggs[d]
            if ag is not None:
                aggs = _put(aggs, d, agg_receive(ctx, d, ag, m))
        else:
            clients = _put(clients, d, client_receive(ctx, d, clients[d], m))
    elif a.kind == "step":
        i = node_index(node)
        clients = _put(clients, i, client_step(ctx, i, clients[i]))
    elif a.kind == "crash":
        i = node_index(node)
        trigger.append(("crash", node))
        clients = _put(clients, i, clients[i]._replace(alive=False))
        net = frozenset(m for m in net if m.dst != node)
    elif a.kind == "byz" and mode.explorer:
        # explorer: a Byzantine message is sent and delivered in one action (it could
        # as well have been sent just before its delivery); nothing to remember
        m = a.msg
        assert m is not None
        trigger += [("send", m.src, m), ("deliver", m.dst, m)]
        d = node_index(m.dst)
        if m.dst[0] == "A":
            ag = aggs[d]
            assert ag is not None
            aggs = _put(aggs, d, agg_receive(ctx, d, ag, m))
        else:
            clients = _put(clients, d, client_receive(ctx, d, clients[d], m))
        node = m.dst
    elif a.kind == "byz":
        m = a.msg
        assert m is not None
        trigger.append(("send", m.src, m))
        byz_sent = byz_sent | {m}
        net = net | {m}
    s2 = SysState(aggs, clients, net, byz_sent)
    if ctx.out:
        new = []
        for m in ctx.out:
            dst = node_index(m.dst)
            if m.dst[0] == "C" and not s2.clients[dst].alive:
                continue  # discarded: the receiver crashed
            if mode.explorer and is_noop(p, s2, m):
                continue
            new.append(m)
        net = s2.net | frozenset(new)
        s2 = s2._replace(net=net)
    if mode.explorer and a.kind in ("deliver", "byz"):
        stale = [m for m in s2.net if m.dst == node and is_noop(p, s2, m)]
        if stale:
            s2 = s2._replace(net=s2.net - frozenset(stale))
    events = trigger + (ctx.ev or []) + [("send", m.src, m) for m in ctx.out]
    return s2, events


def _put(t: tuple, k: int, v: object) -> tuple:
    return t[:k] + (v,) + t[k + 1 :]


# ------------------------------------------------------------------------------------
# Progress
# ------------------------------------------------------------------------------------


def complete(p: Params, s: SysState) -> bool:
    """R-16: every honest aggregator has its model for round R and every live client
    accepted one."""
    return all(a is None or a.round == p.R for a in s.aggs) and all(
        (not c.alive) or client_done(p, c) for c in s.clients
    )


def progress_report(p: Params, s: SysState) -> str:
    """Why a run is stuck: per honest aggregator, its round and what each cluster lacks."""
    lines = []
    for j, a in enumerate(s.aggs):
        if a is None or a.round >= p.R:
            continue
        tau = a.round
        lack = []
        for c in range(p.n_a):
            v = a.views[idx(p, tau, c)]
            if v.result is not None:
                continue
            if v.first is None:
                lack.append(f"c{c}: no proposal")
            elif v.cert is None:
                lack.append(f"c{c}: no certificate")
            elif v.first != v.cert:
                lack.append(f"c{c}: certificate for another proposal")
            else:
                lack.append(f"c{c}: not enough releases")
        lines.append(f"A{j} stuck in round {tau}: " + "; ".join(lack))
    for i, cs in enumerate(s.clients):
        if cs.alive and not client_done(p, cs):
            lines.append(f"C{i} accepted rounds 0..{len(cs.accepted) - 1}")
    return "\n".join(lines)
