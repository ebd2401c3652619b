"""The whole system: honest nodes of :mod:`model.protocol`, a network of messages in
flight delivered in any order, crashed clients, and Byzantine aggregators whose
behaviour is a menu of nondeterministic sends.

``enabled(p, s)`` lists the actions possible in state ``s``; ``step(p, s, a)`` is the
pure transition function. Reliable asynchronous links (§1): any message in flight may
be delivered next; a message to a crashed client is discarded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from asfl.model.params import Params
from asfl.model.protocol import (
    Ctx,
    agg_receive,
    announce_defect,
    attested_before,
    body_wanted,
    client_can_step,
    client_done,
    client_fetch,
    client_receive,
    client_step,
    fetch_targets,
    head_wanted,
    idx,
    initial_aggregator,
    offer_defect,
    serve_defect,
)
from asfl.model.types import (
    BODY_FULL,
    BODY_NONE,
    BODY_WRONG,
    GENESIS,
    Action,
    AggState,
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
    got = _NODE_INDEX.get(name)
    if got is None:
        got = _NODE_INDEX[name] = int(name[1:])
    return got


_NODE_INDEX: dict[str, int] = {}


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
# Hash-consing for the explorer
# ------------------------------------------------------------------------------------


class Memo:
    """Hash-consed states and memoised local transitions (explorer only, events off).

    Every node state and message of a state the explorer holds is the one canonical
    object of its value (:meth:`state`), so a node's transition on a message, a
    message's no-op test and its sort key are looked up by object identity: the model
    computes each only once per distinct input. The canonical objects live as long as
    the memo, so an identity is never reused for another value while it is a key.
    :meth:`fingerprint` hashes a canonical state through those identities only."""

    def __init__(self, p: Params, mode: Mode) -> None:
        assert mode.explorer and not mode.events
        self.p = p
        self.mode = mode
        self.alive: dict[int, object] = {}  # id -> canonical object (keeps it alive)
        self._aggs: dict[AggState, AggState] = {}
        self._clients: dict[ClientState, ClientState] = {}
        self._msgs: dict[Msg, Msg] = {}
        self._atts: dict[frozenset[Model], frozenset[Model]] = {}
        self.local: dict[tuple, tuple[object, tuple[Msg, ...]]] = {}
        self.noop: dict[tuple[int, int], bool] = {}
        self.keys: dict[int, tuple] = {}
        self._nets: dict[frozenset[int], frozenset[Msg]] = {}
        self._deliveries: dict[int, tuple[Action, ...]] = {}
        self._client_acts: dict[tuple[int, int], tuple[Action, ...]] = {}
        self._byz_acts: dict[int, Action] = {}
        self._deliver_acts: dict[int, Action] = {}
        self._part_canon: dict[tuple[int, ...], tuple[Msg, ...]] = {}
        self._menus: dict[tuple[int, ...], tuple[Msg, ...]] = {}
        self._menu_acts: dict[int, tuple[Action, ...]] = {}
        self.attested: dict[tuple[int, ...], frozenset[Model]] = {}
        self.menu: dict[tuple, tuple[Msg, ...]] = {}
        self._plans: dict[tuple, tuple] = {}
        self.att_items: dict[tuple[int, ...], tuple[tuple[Model, frozenset[int]], ...]] = {}
        self.att_canon: dict[tuple, tuple] = {}
        self.norm: dict[int, bool] = {}  # model.por.normalize's per-client test
        self.viol: dict[tuple, object] = {}  # model.invariants.violations's parts
        self.viol_certs: dict[tuple, tuple] = {}
        self.viol_cross: dict[tuple[int, ...], list[tuple[str, str]]] = {}
        self.viol_clients: dict[tuple, list[tuple[str, str]]] = {}
        self.por: dict[tuple, dict[tuple[int, int], bool]] = {}  # model.por.select's per-action tests
        self.slots: dict[int, tuple] = {}  # model.por.select's reading of an action

    def _canon(self, table: dict, x: object) -> object:
        if id(x) in self.alive:
            return x
        y = table.setdefault(x, x)
        self.alive[id(y)] = y
        return y

    def msg(self, m: Msg) -> Msg:
        return m if id(m) in self.alive else self._canon(self._msgs, m)  # type: ignore[return-value]

    def state(self, s: SysState) -> SysState:
        """The canonical object of every part of ``s`` (``s`` itself if they all are)."""
        alive = self.alive
        aggs, clients, net, byz_sent = s
        if not all(a is None or id(a) in alive for a in aggs):
            aggs = tuple(None if a is None else self._canon(self._aggs, a) for a in aggs)  # type: ignore[misc]
        if not all(id(c) in alive for c in clients):
            clients = tuple(self._canon(self._clients, c) for c in clients)  # type: ignore[misc]
        if not all(id(m) in alive for m in net):
            net = frozenset(self.msg(m) for m in net)
        net = self.net(net)
        if not all(id(m) in alive for m in byz_sent):
            byz_sent = frozenset(self.msg(m) for m in byz_sent)
        if aggs is s.aggs and clients is s.clients and net is s.net and byz_sent is s.byz_sent:
            return s
        return SysState(aggs, clients, net, byz_sent)

    def fingerprint(self, s: SysState) -> int:
        """A 64-bit hash of a canonical state (:meth:`state`): equal states get equal
        fingerprints; distinct ones collide with probability about 2^-64 per pair."""
        byz_sent = frozenset(map(id, s.byz_sent))
        return hash((tuple(map(id, s.aggs)), tuple(map(id, s.clients)), id(s.net), byz_sent))

    def attested_of(self, s: SysState) -> frozenset[Model]:
        key = tuple(map(id, s.aggs))
        got = self.attested.get(key)
        if got is None:
            got = self._canon(self._atts, frozenset(honest_attestations(s)))  # type: ignore[assignment]
            self.attested[key] = got  # type: ignore[assignment]
        return got  # type: ignore[return-value]

    def is_noop(self, s: SysState, m: Msg) -> bool:
        d = node_index(m.dst)
        st = s.aggs[d] if m.dst[0] == "A" else s.clients[d]
        key = (id(st), id(self.msg(m)))
        got = self.noop.get(key)
        if got is None:
            got = self.noop[key] = is_noop(self.p, s, m)
        return got

    def msg_key(self, m: Msg) -> tuple:
        c = self.msg(m)
        got = self.keys.get(id(c))
        if got is None:
            got = self.keys[id(c)] = msg_key(c)
        return got

    def net(self, net: frozenset[Msg]) -> frozenset[Msg]:
        """The canonical object of a set of canonical messages."""
        return self._nets.setdefault(frozenset(map(id, net)), net)

    def deliveries(self, net: frozenset[Msg]) -> tuple[Action, ...]:
        """The deliveries of a canonical net (:meth:`net`), in :func:`msg_key` order."""
        got = self._deliveries.get(id(net))
        if got is None:
            got = self._deliveries[id(net)] = tuple(map(self._deliver, sorted(net, key=self.msg_key)))
        return got

    def client_actions(self, i: int, cs: ClientState) -> tuple[Action, ...]:
        """:func:`client_actions` of a canonical client state, its messages canonical."""
        key = (i, id(cs))
        got = self._client_acts.get(key)
        if got is None:
            acts = client_actions(self.p, i, cs)
            got = tuple(a if a.msg is None else a._replace(msg=self.msg(a.msg)) for a in acts)
            self._client_acts[key] = got
        return got

    def menu_parts(self, s: SysState, plan: list[MenuPart]) -> list[tuple[Msg, ...]]:
        """:func:`byz_menu` of canonical ``s`` per receiver: the messages of ``plan`` to
        each honest aggregator and to each client, canonical, without the no-ops. A
        receiver's part is a function of its state and the keys of its families: it is
        computed once per both and looked up afterwards."""
        mine: dict[str, list[MenuPart]] = {}
        shared = []
        for e in plan:
            if e[1] is None:
                shared.append(e)
            else:
                mine.setdefault(e[1], []).append(e)
        keys = tuple(e[0] for e in shared)
        sid = id(self._plans.setdefault(keys, keys))  # kept alive: an identity is a key
        table = self.menu
        parts = []
        for j in self.p.honest:
            h = f"A{j}"
            own = mine.pop(h, [])
            st = s.aggs[j]
            k: tuple = (h, id(st), sid, tuple(e[0] for e in own))
            got = table.get(k)
            if got is None:
                got = table[k] = self._menu_part(s, shared + own, [h])
            parts.append(got)
        for dst, fam in mine.items():
            k = (dst, id(s.clients[node_index(dst)]), tuple(e[0] for e in fam))
            got = table.get(k)
            if got is None:
                got = table[k] = self._menu_part(s, fam, None)
            parts.append(got)
        return parts

    def _menu_part(self, s: SysState, fam: list[MenuPart], to: list[str] | None) -> tuple[Msg, ...]:
        """One receiver's part (canonical: one object per sequence of messages)."""
        msgs = []
        for _key, d, build, pre, post in fam:
            msgs += build(*pre, to, *post) if d is None else build(*pre, *post)
        part = tuple(x for x in map(self.msg, msgs) if not self.is_noop(s, x))
        return self._part_canon.setdefault(tuple(map(id, part)), part)

    def menu_of(self, s: SysState, plan: list[MenuPart]) -> tuple[Msg, ...]:
        """The messages of :meth:`menu_parts`, in :func:`msg_key` order: one object per
        combination of parts, whose actions :meth:`byz_actions` looks up."""
        parts = self.menu_parts(s, plan)
        key = tuple(map(id, parts))
        got = self._menus.get(key)
        if got is None:
            got = self._menus[key] = tuple(sorted((m for part in parts for m in part), key=self.msg_key))
            self._menu_acts[id(got)] = tuple(map(self._byz_action, got))
        return got

    def byz_actions(self, menu: Sequence[Msg]) -> tuple[Action, ...]:
        """The Byzantine sends of a menu of canonical messages, in :func:`msg_key` order
        (looked up for a menu of :meth:`menu_of`: its identity is a key while it lives)."""
        got = self._menu_acts.get(id(menu))
        return got if got is not None else tuple(map(self._byz_action, sorted(menu, key=self.msg_key)))

    def _deliver(self, m: Msg) -> Action:
        a = self._deliver_acts.get(id(m))
        if a is None:
            a = self._deliver_acts[id(m)] = Action("deliver", m.dst, m)
        return a

    def _byz_action(self, m: Msg) -> Action:
        a = self._byz_acts.get(id(m))
        if a is None:
            a = self._byz_acts[id(m)] = Action("byz", m.src, m)
        return a

    def transition(
        self, s: SysState, a: Action, m: Msg | None, d: int, to_agg: bool
    ) -> tuple[object, tuple[Msg, ...]]:
        """The local transition of the node ``a`` changes (its new state and its sends),
        computed by :mod:`model.protocol` the first time and looked up afterwards."""
        if a.kind == "step":
            st: object = s.clients[d]
            key: tuple = (0, d, id(st))
        elif a.kind == "fire":
            st = s.clients[d]
            key = (3, d, id(st), id(self.msg(m)))  # type: ignore[arg-type]
        elif to_agg:
            st = s.aggs[d]
            key = (1, d, id(st), id(self.msg(m)))  # type: ignore[arg-type]
        else:
            st = s.clients[d]
            att = self.attested_of(s)
            key = (2, d, id(st), id(self.msg(m)), id(att))  # type: ignore[arg-type]
        got = self.local.get(key)
        if got is None:
            ctx = Ctx(self.p, ev=None, abstract_final=True)
            if a.kind == "step":
                new: object = client_step(ctx, d, st)  # type: ignore[arg-type]
                new = self._canon(self._clients, new)
            elif a.kind == "fire":
                assert m is not None
                new = client_fetch(ctx, d, st, m.tau, node_index(m.dst))  # type: ignore[arg-type]
                new = self._canon(self._clients, new)
            elif to_agg:
                new = self._canon(self._aggs, agg_receive(ctx, d, st, m))  # type: ignore[arg-type]
            else:
                ctx.attested = att
                new = self._canon(self._clients, client_receive(ctx, d, st, m))  # type: ignore[arg-type]
            got = self.local[key] = (new, tuple(self.msg(x) for x in ctx.out))
            self.alive[id(st)] = st
        return got

    def local_step(self, s: SysState, a: Action) -> tuple[object, object, tuple[Msg, ...]]:
        """For a delivery or Byzantine send ``a`` in canonical ``s``: the receiver's state
        before and after it (canonical objects: the same object iff the same value) and
        its sends, without building the successor (:func:`step` builds it from these)."""
        m = a.msg
        assert m is not None and a.kind in ("deliver", "byz")
        d = node_index(m.dst)
        to_agg = m.dst[0] == "A"
        old = s.aggs[d] if to_agg else s.clients[d]
        if old is None:
            return None, None, ()
        new, out = self.transition(s, a, m, d, to_agg)
        return old, new, out


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


def byz_menu(
    p: Params, s: SysState, behaviours: Iterable[str], latest_only: bool = False, memo: Memo | None = None
) -> Sequence[Msg]:
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

    Silence (sending nothing) is always possible. ``memo`` (the explorer, a canonical
    state): the menu is built per receiver (:meth:`Memo.menu_parts`), each receiver's
    part cached per its state, and the messages whose delivery would be a no-op
    (:func:`is_noop`) are left out."""
    bh = frozenset(behaviours)
    if not p.byzantine or not bh:
        return []
    plan = _menu_plan(p, s, bh, latest_only, memo)
    out: Sequence[Msg]
    if memo is not None:
        out = memo.menu_of(s, plan)
    else:
        honest = [f"A{j}" for j in p.honest]
        built: list[Msg] = []
        for _key, dst, build, pre, post in plan:
            built += build(*pre, honest, *post) if dst is None else build(*pre, *post)
        out = built
    if not s.byz_sent:
        return out
    return [m for m in out if m not in s.byz_sent]


#: One family of :func:`byz_menu`: ``(key, dst, build, pre, post)``, the messages
#: ``build(*pre, receivers, *post)`` to the honest aggregators ``receivers`` when ``dst``
#: is ``None``, else ``build(*pre, *post)``, all to node ``dst``; ``key`` (with the
#: receiver's state) determines them.
MenuPart = tuple[tuple, str | None, Callable[..., list[Msg]], tuple, tuple]


def _menu_plan(
    p: Params, s: SysState, bh: frozenset[str], latest_only: bool, memo: Memo | None
) -> list[MenuPart]:
    """The families of :func:`byz_menu` in ``s``, in its order."""
    rounds = sorted({t for cs in s.clients for t in cs.submitted})
    if latest_only:  # the emitter: only the newest round (keeps long runs fast)
        rounds = rounds[-1:]
    byz = frozenset(p.byzantine)
    plan: list[MenuPart] = []
    for b in sorted(p.byzantine):
        me = f"A{b}"
        for tau in rounds:
            if "equivocate" in bh:
                sub = tuple(i for i in p.members(tau, b) if tau in s.clients[i].submitted)
                plan.append((("propose", b, tau, sub), None, _equivocations, (p, me), (tau, sub)))
            for c in range(p.n_a):
                props = tuple(sorted(known_proposals(p, s, tau, c)))
                key = ("endorse", b, tau, c, props, bh)
                plan.append((key, None, _forged_cluster_msgs, (me,), (tau, c, props, bh)))
        if "forge-announce" in bh:
            att = _attestations(p, s, memo)
            for i, cs in enumerate(s.clients):
                args = (p, me, i, cs, att, byz)
                plan.append((("announce", b, i, id(att)), f"C{i}", _announcements, args, ()))
        if "forge-attest" in bh:
            for j in p.honest:
                a = s.aggs[j]
                assert a is not None
                plan.append((("attest", b, j), f"A{j}", _forged_attestations, (me, f"A{j}", a), ()))
            for tau in rounds:
                plan.append((("offer", b, tau), None, _forged_offers, (me,), (tau, byz)))
    return plan


# ------------------------------------------------------------------------------------
# Actions
# ------------------------------------------------------------------------------------


def enabled(p: Params, s: SysState, mode: Mode, memo: Memo | None = None) -> list[Action]:
    """All actions possible in ``s``: deliveries, client steps, crashes (emitter only),
    Byzantine sends. ``memo`` (the explorer, on a canonical state) caches the sort keys
    and no-op tests; the result is the same."""
    if memo is not None:
        acts = list(memo.deliveries(s.net))
        for i, cs in enumerate(s.clients):
            acts += memo.client_actions(i, cs)
        acts += memo.byz_actions(byz_menu(p, s, mode.behaviours, memo=memo))
        return acts
    acts = [Action("deliver", m.dst, m) for m in sorted(s.net, key=msg_key)]
    for i, cs in enumerate(s.clients):
        acts += client_actions(p, i, cs)
        if not mode.explorer and i in p.crashed and cs.alive:
            acts.append(Action("crash", f"C{i}"))
    menu = byz_menu(p, s, mode.behaviours)
    if mode.explorer:  # sent and delivered at once; no-ops are not offered
        menu = [m for m in menu if not is_noop(p, s, m)]
    acts += [Action("byz", m.src, m) for m in sorted(menu, key=msg_key)]
    return acts


def client_actions(p: Params, i: int, cs: ClientState) -> list[Action]:
    """Client ``i``'s own actions: its step (R-4, R-5, D-13) and its timer firings."""
    acts = [Action("step", f"C{i}")] if client_can_step(p, cs) else []
    if cs.heads:
        acts += fire_actions(p, i, cs)
    return acts


def fire_actions(p: Params, i: int, cs: ClientState) -> list[Action]:
    """D-22: client ``i``'s timer may fire now towards any fetchable aggregator (the
    model allows every timeout; :func:`model.protocol.fetch_targets`)."""
    me = f"C{i}"
    return [Action("fire", me, Msg("fetch", me, f"A{j}", r, -1, model=m)) for r, j, m in fetch_targets(p, cs)]


def is_honest_action(a: Action) -> bool:
    """Deliveries, client steps and timer firings (D-22: every armed timer eventually
    fires, L-2) are the actions weak fairness and quiescence are about."""
    return a.kind in ("deliver", "step", "fire")


def is_noop(p: Params, s: SysState, m: Msg) -> bool:
    """Would delivering ``m`` change nothing (explorer pruning)? Conservative."""
    d = node_index(m.dst)
    if m.dst[0] == "A":
        a = s.aggs[d]
        if a is None:
            return True
        if m.kind == "offer":
            return offer_defect(p, m) is not None or attested_before(a, node_index(m.src), m.tau)
        if m.kind == "fetch":
            return m.src[0] != "C" or serve_defect(p, a, node_index(m.src), m.tau, m.model) is not None
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
    if head_wanted(cs, m):
        return False  # D-22: a header-only announcement makes its sender fetchable
    if m.body != BODY_FULL and m.tau >= p.R:
        return True  # a last-round header: the explorer does not record it (abstract_final)
    if m.model in cs.verified:
        return not body_wanted(cs, m)  # only a wanted body changes a verified header's client
    return False


def step(
    p: Params, s: SysState, a: Action, mode: Mode, memo: Memo | None = None
) -> tuple[SysState, list[tuple]]:
    """The transition function. Returns the new state and the events of the step in
    trace order: the trigger, the node's protocol events, then its sends. With ``memo``
    (the explorer, on a canonical state) the node's local transition and the no-op tests
    are looked up in it; the result is the same."""
    if memo is not None:
        return _step_memo(p, s, a, memo), []
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
    elif a.kind == "fire":
        m = a.msg
        assert m is not None
        i = node_index(node)
        clients = _put(clients, i, client_fetch(ctx, i, clients[i], m.tau, node_index(m.dst)))
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
        s2 = _send(p, s2, ctx.out, (lambda t, m: is_noop(p, t, m)) if mode.explorer else None)
    if mode.explorer and a.kind in ("deliver", "byz"):
        s2 = _prune(s2, node, lambda t, m: is_noop(p, t, m))
    events = trigger + (ctx.ev or []) + [("send", m.src, m) for m in ctx.out]
    return s2, events


def _send(
    p: Params, s: SysState, out: Iterable[Msg], noop: Callable[[SysState, Msg], bool] | None
) -> SysState:
    """Put a step's sends in flight (:func:`_sent`)."""
    net = _sent(s, s.net, out, noop)
    return s if net is s.net else s._replace(net=net)


def _sent(
    s: SysState, net: frozenset[Msg], out: Iterable[Msg], noop: Callable[[SysState, Msg], bool] | None
) -> frozenset[Msg]:
    """``net`` with a step's sends in flight: those to a crashed client (in ``s``) are
    discarded, and the explorer drops those whose delivery would change nothing in ``s``
    (``noop``)."""
    new = []
    for m in out:
        if m.dst[0] == "C" and not s.clients[node_index(m.dst)].alive:
            continue  # discarded: the receiver crashed
        if noop is not None and noop(s, m):
            continue
        new.append(m)
    return net | frozenset(new) if new else net


def _prune(s: SysState, node: str, noop: Callable[[SysState, Msg], bool]) -> SysState:
    """Explorer: drop the messages to ``node`` that its step made no-ops."""
    stale = [m for m in s.net if m.dst == node and noop(s, m)]
    return s._replace(net=s.net - frozenset(stale)) if stale else s


def _step_memo(p: Params, s: SysState, a: Action, memo: Memo) -> SysState:
    """:func:`step` in explorer mode, its local transitions looked up in ``memo``; the
    successor is canonical (its net too, :meth:`Memo.net`)."""
    aggs, clients, net, byz_sent = s
    m = a.msg
    if a.kind in ("step", "fire"):
        node = a.node
        to_agg = False
    else:
        assert m is not None and a.kind in ("deliver", "byz")
        node = m.dst
        to_agg = node[0] == "A"
        if a.kind == "deliver":
            net = net - {m}
    d = node_index(node)
    out: tuple[Msg, ...] = ()
    old_state: object = aggs[d] if to_agg else clients[d]
    new_state = old_state
    if old_state is not None:
        new_state, out = memo.transition(s, a, m, d, to_agg)
        if new_state is not old_state:
            if to_agg:
                aggs = _put(aggs, d, new_state)
            else:
                clients = _put(clients, d, new_state)
    s2 = SysState(aggs, clients, net, byz_sent)
    if out:
        net = _sent(s2, net, out, memo.is_noop)
    if a.kind not in ("step", "fire") and new_state is not old_state:
        net = _pruned_memo(s2, net, node, new_state, memo)
    if net is s.net:
        return s2
    return SysState(aggs, clients, memo.net(net), byz_sent)


def _pruned_memo(s: SysState, net: frozenset[Msg], node: str, st: object, memo: Memo) -> frozenset[Msg]:
    """:func:`_prune` of ``net`` on a canonical state ``s`` whose receiver ``node`` is now
    in state ``st``. Called only when the receiver's state changed: :func:`is_noop` reads
    nothing but the receiver's state and the message, so otherwise every message to it is
    as it was, and the explorer's states hold no no-op message (sends are filtered,
    deliveries prune)."""
    noop = memo.noop
    sid = id(st)
    stale = []
    for m in net:
        if m.dst == node:
            got = noop.get((sid, id(m)))
            if got is None:
                got = memo.is_noop(s, m)
            if got:
                stale.append(m)
    return net.difference(stale) if stale else net


def _equivocations(p: Params, me: str, honest: list[str], tau: int, sub: tuple[int, ...]) -> list[Msg]:
    """``equivocate``: every proposal a Byzantine coordinator could make over the
    submitted members ``sub``, to each honest aggregator."""
    b = node_index(me)
    cands = [Proposal(tau, b, cl) for r in range(p.q_min, len(sub) + 1) for cl in combinations(sub, r)]
    if sub and p.q_min > 1:
        cands.append(Proposal(tau, b, (sub[0],)))  # invalid: too small
    return [Msg("propose", me, h, tau, b, prop=q) for q in cands for h in honest]


def _forged_cluster_msgs(
    me: str, honest: list[str], tau: int, c: int, props: tuple[Proposal, ...], bh: frozenset[str]
) -> list[Msg]:
    """``forge-endorse`` and ``wrong-release`` for the known proposals of ``(tau, c)``."""
    out = []
    if "forge-endorse" in bh:
        out += [Msg("endorse", me, h, tau, c, prop=q) for q in props for h in honest]
    if "wrong-release" in bh:
        out += [Msg("release", me, h, tau, c, prop=q, good=False) for q in props for h in honest]
    return out


def _forged_attestations(me: str, h: str, a: AggState) -> list[Msg]:
    """``forge-attest``: attestations of ``a``'s unannounced models and of forged ones."""
    r0 = len(a.certs)
    return [
        Msg("attest", me, h, r, -1, model=m)
        for r in range(r0, len(a.models))
        for m in (a.models[r], Model(r, None, (), forged=True))
    ]


def _forged_offers(me: str, honest: list[str], tau: int, byz: frozenset[int]) -> list[Msg]:
    """``forge-attest``: forged offers of round ``tau + 1`` (Byzantine-only attestations
    of their previous model)."""
    fm = Model(tau + 1, GENESIS if tau == 0 else None, (), forged=True)
    return [Msg("offer", me, h, tau + 1, -1, model=fm, attesters=byz) for h in honest]


def _attestations(p: Params, s: SysState, memo: Memo | None) -> tuple[tuple[Model, frozenset[int]], ...]:
    """The models honest aggregators attested, with their attesters, in a fixed order
    (cached per aggregator states in ``memo``)."""
    key = tuple(map(id, s.aggs))
    if memo is not None and (got := memo.att_items.get(key)) is not None:
        return got
    items = tuple(sorted(honest_attestations(s).items(), key=lambda x: repr(x[0])))
    if memo is not None:
        memo.att_items[key] = items = memo.att_canon.setdefault(items, items)
    return items


def _announcements(
    p: Params,
    me: str,
    i: int,
    cs: ClientState,
    att: tuple[tuple[Model, frozenset[int]], ...],
    byz: frozenset[int],
) -> list[Msg]:
    """``forge-announce`` to client ``i``: a forged model on the last model it accepted,
    with Byzantine-only attestations, and every honest-attested model of its next round
    without body, with a wrong body, or with its body."""
    r = len(cs.accepted)
    if not cs.alive or r > p.R:
        return []
    fm = Model(r, cs.accepted[-1], (), forged=True)  # on a model it verified
    out = [Msg("announce", me, f"C{i}", r, -1, model=fm, attesters=byz)]
    for m, ks in att:
        if m.round == r:
            out += [
                Msg("announce", me, f"C{i}", r, -1, model=m, attesters=ks | byz, body=body)
                for body in (BODY_NONE, BODY_WRONG, BODY_FULL)
            ]
    return out


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
