"""Partial-order reduction for the explorer: persistent sets for message passing, across
rounds.

The explorer runs the system ``S'`` = the model plus one extra action, *silence*: the
Byzantine aggregators stop for good (a flag in the explored state; afterwards the
Byzantine menu is empty). In ``S'`` a state is terminal when no honest action is enabled
and the adversary is silent or has nothing left to send, so every honest-quiescent state
of the model (the L-3 deadlock check) is one silence step away from a terminal state of
``S'``. The state graph is acyclic and every safety invariant of :mod:`model.invariants`
is monotone (it reads fields that are set once or only grow), so a reduction that keeps
every reachable terminal state keeps every verdict; persistent sets (Godefroid 1996) do.

Independence (why two actions commute and neither disables the other):

- *different nodes*: a delivery changes only its receiver; sends never disable anything;
  no-op pruning is monotone (a message that became a no-op stays one), so pruning early or
  late gives the same state; the Byzantine menu only grows.
- *one node, one view* ``(tau, c)`` (:func:`confluent_view`): with ``n_a >= 3 t_a + 1``
  at most one proposal can gather ``n_a - t_a`` endorsements (honest nodes endorse once,
  two quorums meet in an honest node), and no wrong share sum reaches a decoding support
  (I-1), so the certificate and the result are one value whatever the order:
  endorsements and releases (honest or forged) commute, and so do proposals of an honest
  coordinator (a Byzantine node cannot propose for cluster ``c``). Proposals of a
  Byzantine coordinator do not (R-8 holds the first valid one). ``double-release``
  (R-10 re-evaluated on each release) and ``small-quorum`` (garbage decodings depend on
  the order) break this, so no view is confluent under them.
- *one node, two views*: they touch disjoint fields except through R-13 (the ``n_a - t_a``
  first results of a round are aggregated: the last decodings race) and D-12 (a new
  certificate changes the counts R-6 uses for the coordinator's later rounds). An action is
  *global* when it may take part in either race (:func:`_global_now`).
- *one client*: R-15 for the last round only appends the abstract final model (done
  clients forget their buffer, see :func:`normalize`), so last-round announcements commute
  with each other and with the client's step.
- *fetches* (D-22): timers fire late. While an honest delivery or client step is enabled
  no firing is explored; once only firings (and Byzantine sends) are left they all are,
  and when only firings are left, those of one client (all its targets: firings of
  distinct clients are independent, and with the adversary silent nothing else can reach
  that client). Every terminal state stays reachable: a firing commutes with every
  action but the arrival of a body of its client and round, which disables it, so a path
  that fires early can fire at the same point later, unless a body arrived meanwhile;
  then the firing, its fetch and the fetched answer are left out, and the states agree
  in :func:`normalize`: the fetch and its served bit are forgotten once the body is
  held, the client had verified the fetched model's header before firing (the fetch
  guard), so ``verified`` and ``seen`` agree, and which of the two honest-attested
  bodies it accepted is abstracted (the last round always, earlier rounds when the
  adversary's attestations alone miss the quorum, :func:`_abstract_accepted`; otherwise
  firings are explored early too). With one round they fire after the Byzantine sends
  too, in the silent states: there the menu depends on a client only through its
  submissions and whether it accepted the round (no announcement follows the last
  round), so a firing and what it brings commute with every Byzantine send up to the
  same quotient (a relayed body, like an honest one, disables the firing). A firing is
  never taken alone. A fetch's delivery to an honest aggregator is: it reads the
  aggregator's announcement of its round, which exists already (the client fetches only
  after verifying that announcement's header, and announcements are set once), and reads
  and sets the one served bit of its (client, round), which nothing else touches (a
  client fetches a round from an aggregator once; a Byzantine node cannot sign a
  client's fetch). A firing followed by a body and the body alone differ only in that
  fetch (in flight, or its served bit and a no-op answer): once a client holds a body of
  a round it never fetches that round again, so :func:`normalize` forgets them, and a
  body delivery taken alone keeps every terminal state.
- *a client's step* (R-4, R-5, D-13) is taken alone, always. It stays enabled until taken
  (only it submits; announcements only add accepted rounds), it reads only which rounds
  the client accepted, and its submissions say only their round and cluster. Take any
  path ``beta . step . gamma`` from ``s`` where ``beta`` has no step of that client:
  ``step . beta . step' . gamma`` is a path too (``beta``'s actions are still enabled:
  announcements to the client ignore what it submitted, the Byzantine menu only grows,
  the earlier submissions in flight disable nothing) and reaches the same state, where
  ``step'`` submits the rounds accepted during ``beta`` (D-13 catch-up) and is left out
  when there are none. A message that ``beta`` made a no-op is pruned either way. So
  every terminal state reachable from ``s`` stays reachable from the step's successor.
  This is weaker than commuting (the step does not commute with a first announcement:
  catch-up merges two submissions into one step), and it is all the search needs: by
  induction on the height of a state in the acyclic graph, a search that takes at every
  state a set with this property (persistent sets have it) reaches every terminal state.

Persistent sets, tried in order (:func:`select`):

1. *alone*: a single action that commutes with everything that can ever happen at its
   node before it (:func:`_safe_alone`), a client's step, or an honest header-only
   announcement of a round before the last (:func:`_header_alone`);
2. *view*: all enabled actions of one aggregator's view that is closed (no honest node
   will ever send it more, the Byzantine menu for it is final: :func:`_closed_view`) and
   none of which is global now (only its own actions change it, so none becomes global
   before it is taken);
3. *component*: all enabled actions of one cluster ``(tau, c)``, Byzantine ones
   included, when closed (the members all submitted, the coordinator's counts are
   settled) and none is global now;
4. *node*: every action of one aggregator in its current, last round when all the
   round's views are closed: the R-13 race of its decodings is among them only;
5. every enabled action.

Silence joins any set holding a Byzantine action (silence disables them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from itertools import chain

from asfl.model.params import Params
from asfl.model.protocol import client_done, count_views, idx, lacks_body
from asfl.model.system import Memo, honest_attestations, node_index
from asfl.model.types import (
    BODY_NONE,
    FINAL,
    FINAL_UNATTESTED,
    Action,
    AggState,
    ClientState,
    Model,
    Msg,
    Proposal,
    SysState,
    View,
)

#: The explorer's extra action: the Byzantine aggregators stop sending for good.
SILENCE = Action("silence", "byz")

#: Bugs under which the views of honest coordinators stay confluent (``small-attest``
#: changes only R-14/R-15/R-17, after the cluster protocol).
_CONFLUENT_BUGS = ("none", "greedy-close", "release-without-cert", "small-attest")


def normalize(p: Params, s: SysState, memo: Memo | None = None, before: SysState | None = None) -> SysState:
    """Explorer quotient (a bisimulation; every invariant is invariant under it):

    - a client that accepted every round ignores all input (R-15): its buffer of waiting
      announcements is forgotten;
    - which honest releasers' correct share sums for one proposal an aggregator already
      holds, and which are still in flight to it, only matters through how many: R-11
      keeps one per releaser, D-4 needs a count of correct points, and a result records
      the support size only. The held ones are renamed to the smallest releaser ids;
    - the models a client accepted before the last round are kept as what the invariants
      read of them, when the adversary's attestations alone miss the quorum
      (:func:`_abstract_accepted`);
    - a fetch of a round of which its client already holds a body (in flight, and the
      served bit it set) is forgotten (D-22: nothing reads either again,
      :func:`_settled_fetches`), and so is the header a Byzantine aggregator's
      header-only announcement named (:func:`_byzantine_heads`).

    Returns ``s`` itself when it is already in normal form. ``memo`` (the explorer, on a
    canonical state, :meth:`model.system.Memo.state`): each client's two tests below are
    computed once per canonical client state. ``before`` (with ``memo``): a state in
    normal form of which ``s`` is a successor; only the clients ``s`` does not share with
    it are tested (a shared client passed both tests in ``before``). The result is the
    same."""
    if memo is not None:
        if before is None:
            changed: tuple[ClientState, ...] | list[ClientState] = s.clients
        elif s.clients is before.clients:
            changed = ()
        else:
            changed = [cs for cs, old in zip(s.clients, before.clients, strict=True) if cs is not old]
        if not any([_client_flags(p, cs, memo.norm) for cs in changed]):
            return _settled_fetches(p, _canonical_releases(p, s))
    if any(cs.buffer and client_done(p, cs) for cs in s.clients):
        clients = tuple(
            cs._replace(buffer=frozenset()) if cs.buffer and client_done(p, cs) else cs for cs in s.clients
        )
        s = s._replace(clients=clients)
    if any(_byzantine_heads(p, cs) for cs in s.clients):
        s = s._replace(
            clients=tuple(
                cs._replace(heads=frozenset((r, j, None if j in p.byzantine else m) for r, j, m in cs.heads))
                if _byzantine_heads(p, cs)
                else cs
                for cs in s.clients
            )
        )
    if _attestations_sound(p) and any(_concrete(p, cs) for cs in s.clients):
        att = honest_attestations(s)
        s = s._replace(
            clients=tuple(_abstract_accepted(p, cs, att) if _concrete(p, cs) else cs for cs in s.clients)
        )
    return _settled_fetches(p, _canonical_releases(p, s))


def _settled_fetches(p: Params, s: SysState) -> SysState:
    """The quotient of D-22's fetches: a fetch of client ``i`` for round ``r`` in flight,
    and an honest aggregator's served bit ``(i, r)``, are forgotten once ``i`` holds a
    body of ``r`` (accepted, or kept for later): the fetch guard of ``(i, r)`` never
    holds again (rounds are accepted once, a kept body is accepted in turn), so no later
    fetch reads the bit, and the fetch's answer would be a no-op at ``i``."""
    clients = s.clients

    def settled(i: int, r: int) -> bool:
        return not lacks_body(clients[i], r)

    stale = [m for m in s.net if m.kind == "fetch" and m.src[0] == "C" and settled(node_index(m.src), m.tau)]
    aggs = s.aggs
    if any(a is not None and a.served for a in aggs):
        new = tuple(
            a
            if a is None or not any(settled(i, r) for i, r in a.served)
            else a._replace(served=frozenset((i, r) for i, r in a.served if not settled(i, r)))
            for a in aggs
        )
        if any(x is not y for x, y in zip(new, aggs, strict=True)):
            aggs = new
    if not stale and aggs is s.aggs:
        return s
    return s._replace(aggs=aggs, net=s.net.difference(stale) if stale else s.net)


def _client_flags(p: Params, cs: ClientState, flags: dict[int, bool]) -> bool:
    """Does :func:`normalize` change client ``cs`` (a canonical object kept alive by the
    memo, so its identity is a key)? Cached in ``flags``."""
    got = flags.get(id(cs))
    if got is not None:
        return got
    got = (
        bool(cs.buffer and client_done(p, cs))
        or (_attestations_sound(p) and _concrete(p, cs))
        or _byzantine_heads(p, cs)
    )
    flags[id(cs)] = got
    return got


def _byzantine_heads(p: Params, cs: ClientState) -> bool:
    """D-22 quotient: which header a Byzantine aggregator's header-only announcement
    named does not matter (a fetch to it changes nothing but the client's fetched bit:
    a Byzantine node writes no state the model keeps), so it is forgotten."""
    return any(m is not None and j in p.byzantine for _, j, m in cs.heads)


def _concrete(p: Params, cs: ClientState) -> bool:
    return any(m.round != -1 for m in cs.accepted[1 : p.R])


def _abstract_accepted(p: Params, cs: ClientState, att: Mapping[Model, object]) -> ClientState:
    """The quotient for the models a client accepted for rounds ``1 .. R - 1``: what
    S-7 and I-3 read of them (attested by an honest aggregator? forged?), as for the last
    round (``abstract_final``). Nothing else reads which model it is: R-5 and R-15 read
    how many rounds were accepted, verification reads ``verified``, and the Byzantine
    menu's forged announcements built on ``accepted[-1]`` are dropped by R-15 (d) either
    way when the adversary's attestations alone miss the quorum (the only case where
    :func:`normalize` applies this). The attestations only grow, so "attested now", read
    right after the accepting step, is "attested when accepted"."""
    acc = tuple(
        m
        if k == 0 or m.round == -1 or k >= p.R
        else (FINAL if m in att and not m.forged else FINAL_UNATTESTED)
        for k, m in enumerate(cs.accepted)
    )
    return cs._replace(accepted=acc)


def _canonical_releases(p: Params, s: SysState) -> SysState:
    pending: dict[tuple[int, int, int, Proposal], list[Msg]] = {}
    for m in s.net:
        if m.kind == "release" and m.good and m.prop is not None and m.src[0] == "A":
            pending.setdefault((node_index(m.dst), m.tau, m.c, m.prop), []).append(m)
    if not pending:
        return s
    aggs = list(s.aggs)
    net = set(s.net)
    changed = False
    for (j, tau, c, q), msgs in pending.items():
        a = aggs[j]
        if a is None or not (0 <= tau < p.R and 0 <= c < p.n_a):
            continue
        k = idx(p, tau, c)
        v = a.views[k]
        held = sorted(r for x, r, g in v.releases if g and x == q and r not in p.byzantine)
        flying = sorted(node_index(m.src) for m in msgs)
        if not held or held[-1] < flying[0]:
            continue  # already canonical
        ids = sorted(held + flying)
        new_held, new_flying = ids[: len(held)], ids[len(held) :]
        rel = frozenset(e for e in v.releases if not (e[2] and e[0] == q and e[1] in held))
        rel |= frozenset((q, r, True) for r in new_held)
        views = list(a.views)
        views[k] = v._replace(releases=rel)
        aggs[j] = a._replace(views=tuple(views))
        net.difference_update(msgs)
        net.update(msgs[0]._replace(src=f"A{r}") for r in new_flying)
        changed = True
    if not changed:
        return s
    return s._replace(aggs=tuple(aggs), net=frozenset(net))


def confluent_view(p: Params, c: int, kind: str) -> bool:
    """Deliveries of ``kind`` to one view of cluster ``c`` commute with every delivery to
    that view (module docstring). Needs a broken variant that keeps R-8..R-12 order-free
    and ``n_a >= 3 t_a + 1``: at most one proposal can gather ``n_a - t_a`` endorsements
    (honest nodes endorse once, quorums meet in an honest node: S-1), and no wrong share
    sum gets into a decoding support (I-1). Only proposals of a Byzantine coordinator do
    not commute (R-8: the first valid one is held)."""
    if p.bug not in _CONFLUENT_BUGS or p.n_a < 3 * p.t_a + 1:
        return False
    return c not in p.byzantine or kind != "propose"


def _own_release_needed(p: Params) -> bool:
    """Every honest share sum is needed to decode (``n_a - |byz| == n_a - t_a``, no
    garbage): an aggregator cannot decode before its own release reached it, so neither a
    proposal nor a certifying endorsement can complete a decoding (R-10 releases after
    both)."""
    return len(p.honest) == p.cert_quorum and p.bug in ("none", "greedy-close", "small-attest")


def counts_settled(p: Params, a: AggState, tau: int) -> bool:
    """D-12: the counts for round ``tau`` can no longer change at this aggregator (every
    earlier view has its certificate and its first proposal, both set once)."""
    return all(
        a.views[k].cert is not None and a.views[k].first is not None for k in range(min(tau, p.R) * p.n_a)
    )


def _all_eligible(p: Params, a: AggState, tau: int, c: int) -> bool:
    """R-6 with ``t_c = 0`` and every member eligible: the cluster closes exactly when all
    members are held, on the full member set, whatever the order of the submissions."""
    if p.t_c != 0 or p.bug == "greedy-close":
        return False
    members = p.members(tau, c)
    n = count_views(p, a, tau)
    counts = [n.get(i, 0) for i in members]
    return max(counts) <= min(counts) + p.B


def _later_open(p: Params, j: int, a: AggState, tau: int) -> bool:
    """Does aggregator ``j`` coordinate a view of a round after ``tau`` still open (so that
    a new certificate of round ``tau`` could change when it closes, D-12/R-6)?"""
    return any(a.views[idx(p, t, j)].proposed is None for t in range(tau + 1, p.R))


def _global_now(p: Params, s: SysState, a: Action, s2: SysState, byz_can_propose: bool) -> bool:
    """Did ``a`` (taken, giving ``s2``) decode a result its receiver may aggregate (R-13
    race), or give it a new counted certificate while a later own view is open (D-12
    race), or is it an announcement of a round before the last (R-15: first verified wins,
    and it feeds D-12 on the client)?"""
    m = a.msg
    if m is None:
        return a.kind == "step"
    if m.dst[0] == "C":
        return m.tau < p.R
    return _global_change(p, s, m, s2.aggs[node_index(m.dst)], byz_can_propose)


def _global_change(p: Params, s: SysState, m: Msg, new: AggState | None, byz_can_propose: bool) -> bool:
    """:func:`_global_now` for a message ``m`` to an aggregator, whose state after the
    step is ``new`` (all it reads of the successor; :func:`normalize` leaves the result,
    certificate and first proposal of a view as they are)."""
    j = node_index(m.dst)
    old = s.aggs[j]
    if old is None or new is None or not (0 <= m.tau < p.R and 0 <= m.c < p.n_a):
        return False
    k = idx(p, m.tau, m.c)
    ov, nv = old.views[k], new.views[k]
    if ov.result is None and nv.result is not None and old.round <= m.tau:
        return not race_free(p, old, m.tau, byz_can_propose)
    return _counted(ov) != _counted(nv) and _later_open(p, j, old, m.tau)


def _may_be_global(p: Params, s: SysState, a: Action, byz_can_propose: bool) -> bool:
    """``False`` only if :func:`_global_now` is ``False`` for ``a`` whatever its
    successor: it reads the successor only through a new result, which matters only when
    the receiver's round is not past ``tau`` and its decodings race, and a new counted
    certificate, which matters only while a later own view is open."""
    m = a.msg
    if m is None or m.dst[0] == "C":
        return True
    j = node_index(m.dst)
    old = s.aggs[j]
    if old is None or not (0 <= m.tau < p.R and 0 <= m.c < p.n_a):
        return False
    if old.round <= m.tau and not race_free(p, old, m.tau, byz_can_propose):
        return True
    return _later_open(p, j, old, m.tau)


def race_free(p: Params, a: AggState, tau: int, byz_can_propose: bool) -> bool:
    """R-13 at this aggregator cannot depend on the order of its decodings of round
    ``tau``: at most ``n_a - t_a`` views of the round have or can still get a result, so it
    aggregates all of them at once. A view of a Byzantine coordinator can get one only
    once it holds a proposal, and it can get a proposal only while the adversary may still
    propose. Stable: a silent adversary stays silent, a held proposal stays held."""
    possible = 0
    for c in range(p.n_a):
        v = a.views[idx(p, tau, c)]
        if v.result is not None or v.first is not None or c not in p.byzantine or byz_can_propose:
            possible += 1
    return possible <= p.quorum


def _counted(v: View) -> bool:
    return v.cert is not None and v.first == v.cert


def _safe_alone(p: Params, s: SysState, a: Action, byz_can_propose: bool) -> bool:
    """Is ``{a}`` a persistent set: does ``a`` commute with every action that can happen
    at its node, in any future, before ``a`` is taken?"""
    if a.kind == "step":
        return True  # it joins every order of its node's actions (module docstring)
    m = a.msg
    if m is None or a.kind == "fire":
        return False  # a timer firing races with the body it would fetch (D-22)
    if m.kind in ("offer", "attest"):
        return _attestation_alone(p, s, m)
    if m.kind == "fetch":
        return True  # D-22: it reads and sets one served bit only (module docstring)
    if a.kind == "byz":
        # a forged endorsement or a wrong share sum for the one proposal of an honest
        # cluster: it commutes like an honest message of its kind (a wrong share sum
        # never completes a decoding: too few points on a wrong polynomial, D-4)
        if m.kind == "release" and s.aggs[node_index(m.dst)] is not None:
            return confluent_view(p, m.c, m.kind)
        if m.kind != "endorse":
            return False
    if m.dst[0] == "C":
        cs = s.clients[node_index(m.dst)]
        if a.kind == "deliver" and m.tau == p.R and _header_alone(p, cs, m, last=True):
            return True  # D-22: a last-round header only adds its sender's fetchable bit
        # last round: accepted models are all FINAL (every model passing R-15 is
        # honest-attested) unless the Byzantine attestations alone reach the quorum
        if not _attestations_sound(p):
            return False
        return m.tau == p.R or (a.kind == "deliver" and _header_alone(p, s.clients[node_index(m.dst)], m))
    j = node_index(m.dst)
    ag = s.aggs[j]
    if ag is None or not confluent_view(p, m.c, m.kind):
        return False
    tau = m.tau
    if m.kind == "submit":
        return counts_settled(p, ag, tau) and _all_eligible(p, ag, tau, m.c)
    if _later_open(p, j, ag, tau) and m.kind in ("propose", "endorse"):
        return False  # may complete a counted certificate (D-12 race)
    if ag.round > tau or race_free(p, ag, tau, byz_can_propose):
        return True  # the round is aggregated, or R-13 takes every result: no race
    return m.kind in ("propose", "endorse") and _own_release_needed(p)


def _header_alone(p: Params, cs: ClientState, m: Msg, last: bool = False) -> bool:
    """An honest aggregator's header-only announcement (D-18) of a round before the last,
    whose previous model the client verified, with the accepted models abstracted
    (:func:`normalize`): it adds its model to ``verified`` (and D-12's ghost ``seen``)
    and verifies the buffered announcements on that model, and does not accept anything
    itself. It commutes with every other announcement to the client: verification is a
    union, acceptance depends only on how many rounds were accepted when a body arrives,
    which the header does not change, and a buffered announcement it verifies would be
    verified on arrival after it. The one exception is a buffered announcement that a
    later one of the same sender and round replaces (R-15 b): only the Byzantine
    aggregators send two, and a path that sends the replaced one first and one that omits
    it reach the same state. Hence every terminal state stays reachable (see the step).
    ``last``: the same for a last-round header (the explorer does not record its model,
    ``abstract_final``): it only makes its sender fetchable (D-22), which a body of the
    round makes moot either way (the quotient forgets it), whoever attested what."""
    assert m.model is not None
    return m.body == BODY_NONE and (m.tau == p.R if last else m.tau < p.R) and m.model.prev in cs.verified


def _attestation_alone(p: Params, s: SysState, m: Msg) -> bool:
    """R-17 deliveries commute with everything at their receiver. An offer touches only
    the receiver's ``attested`` entry of its (producer, round), which no other action
    touches: an honest producer offers a round once, and a Byzantine producer's forged
    offers are no-ops (pruned) unless the attestation quorum is broken. An attestation
    touches only its producer's ``attests``/``certs`` of that round; attestations of one
    round commute up to *which* ``t_a + 1`` attesters the announcement names, and no guard
    or invariant reads which (R-15 and R-17 (b) count them, S-7 reads ``attested``):
    the reduced graph is bisimilar to the full one for every verdict. Both commute with
    the cluster actions of R-8..R-13 (disjoint fields; the offer of the next round goes
    out when both its model and the previous announcement exist, in either order)."""
    if m.kind == "offer":
        return node_index(m.src) not in p.byzantine or _attestations_sound(p)
    return True


def _attestations_sound(p: Params) -> bool:
    """The Byzantine aggregators' attestations alone do not reach the quorum (S-7's
    counting step holds: fewer than ``t_a + 1`` of them, and the threshold not broken),
    so every model that passes R-15 or R-17 (b) was attested by an honest aggregator."""
    return len(p.byzantine) < p.attest_quorum


def _component(a: Action) -> tuple[int, int] | None:
    m = a.msg
    if m is None or m.dst[0] == "C" or m.c < 0:
        return None
    return (m.tau, m.c)


def _closed_component(p: Params, s: SysState, key: tuple[int, int]) -> bool:
    """Only the component's own actions can add to it: every live member submitted for
    ``tau`` (no new submission, no new Byzantine round), and the coordinator's view is
    closed or its counts are settled (no close triggered from outside)."""
    tau, c = key
    if not 0 <= tau < p.R or not 0 <= c < p.n_a:
        return True
    for i in p.members(tau, c):
        cs = s.clients[i]
        if cs.alive and tau not in cs.submitted:
            return False
    coord = s.aggs[c]
    if coord is None:
        return True
    return coord.views[idx(p, tau, c)].proposed is not None or counts_settled(p, coord, tau)


def select(
    p: Params,
    s: SysState,
    acts: list[Action],
    step1: Callable[[Action], SysState],
    byz_can_propose: bool,
    local_step: Callable[[Action], tuple[object, object, tuple]] | None = None,
    memo: Memo | None = None,
) -> tuple[list[tuple[Action, SysState]], str]:
    """A persistent set of ``acts`` (the enabled actions of ``s`` without silence) with
    their successors, and the rule that chose it (``alone`` / ``component`` / ``full``).
    ``byz_can_propose``: the adversary is not silent and may equivocate. The caller adds
    silence whenever a Byzantine action is in the set. ``local_step`` (optional, the
    explorer's memo): for a delivery or Byzantine send, the receiver's state before and
    after it and its sends, cheaper than ``step1``: candidates are tested on it before
    their successors are needed, and a Byzantine send that changes nothing at its
    receiver and sends nothing (its successor is ``s``) is not stepped; the result is
    the same. ``memo`` (the explorer, on a canonical state, with ``local_step``): the
    per-action tests, which read only the action and its receiver's state
    (:func:`_safe_alone`, and for a view or component candidate :func:`_may_be_global`
    and :func:`_global_change` on its local transition), are cached per receiver
    state (:func:`_cached_facts`); the result is the same."""
    succs: dict[Action, SysState] = {}

    def step(a: Action) -> SysState:
        got = succs.get(a)
        if got is None:
            got = succs[a] = step1(a)
        return got

    def new_agg(a: Action) -> AggState | None:
        """The receiver's state after ``a`` (to an aggregator), as cheaply as known."""
        m = a.msg
        assert m is not None and m.dst[0] == "A"  # views and components: aggregators only
        got = succs.get(a)
        if got is not None:
            return got.aggs[node_index(m.dst)]
        if local_step is None:
            return step(a).aggs[node_index(m.dst)]
        return local_step(a)[1]  # type: ignore[return-value]

    def is_global(a: Action) -> bool:
        """May ``a`` take part in a race (:func:`_global_now`)? An unchanged receiver is
        not global (and a self-loop is never a move)."""
        if not _may_be_global(p, s, a, byz_can_propose):
            return False
        m = a.msg
        assert m is not None
        return _global_change(p, s, m, new_agg(a), byz_can_propose)

    def self_loop(a: Action) -> bool:
        """Is ``a`` a Byzantine send after which ``s`` is unchanged (known cheaply)?"""
        if a.kind != "byz" or local_step is None:
            return False
        old, new, out = local_step(a)
        return new is old and not out

    def single(a: Action) -> bool:
        return _safe_alone(p, s, a, byz_can_propose) and not self_loop(a)

    glob: Callable[[Action], bool] = is_global
    cached = memo is not None and local_step is not None
    if cached:
        assert memo is not None
        glob = _cached_global(s, byz_can_propose, memo, is_global)

    fires = [a for a in acts if a.kind == "fire"]
    if fires:
        rest = [a for a in acts if a.kind != "fire"]
        honest_left = any(a.kind != "byz" for a in rest)
        if (honest_left and (p.R == 1 or _attestations_sound(p))) or (rest and p.R == 1):
            acts = rest  # timers fire late (module docstring, *fetches*)
        elif not rest:
            first = fires[0].node  # only timers left: one client's, all its targets
            return [(a, step(a)) for a in fires if a.node == first], "timer"
    views: dict[tuple[int, int, int], list[Action]] = {}
    comps: dict[tuple[int, int], list[Action]] = {}
    if cached:
        assert memo is not None
        singles: Iterable[Action] = _scan_cached(p, s, acts, byz_can_propose, memo, single, views, comps)
    else:
        honest = (a for a in acts if a.kind != "byz" and single(a))
        singles = chain(honest, (a for a in acts if a.kind == "byz" and single(a)))
    for a in singles:
        s2 = step(a)
        if s2 != s:  # a Byzantine duplicate changes nothing: it is no choice
            return [(a, s2)], "alone"
    if not cached:
        for a in acts:
            vk, ck = _groups(p, a)
            if vk is not None:
                views.setdefault(vk, []).append(a)
            if ck is not None:
                comps.setdefault(ck, []).append(a)

    def moves(cands: list[Action]) -> list[tuple[Action, SysState]]:
        """The candidates that change the state: a self-loop (a Byzantine message that
        changes nothing, sent again) is no choice, and a set of self-loops only would
        end the search at ``s`` (ignoring what the other actions lead to)."""
        return [(a, s2) for a in cands if not self_loop(a) and (s2 := step(a)) != s]

    def local(cands: list[Action]) -> list[tuple[Action, SysState]] | None:
        """``moves(cands)`` if it is non-empty and none of them is global now, else
        ``None``; the successors of the actions that cannot be global
        (:func:`_may_be_global`) are computed only when the set is taken."""
        if any(map(glob, cands)):
            return None
        return moves(cands) or None

    for key in sorted(views):
        if _closed_view(p, s, *key) and (succ := local(views[key])) is not None:
            return succ, "view"
    for ckey in sorted(comps):
        if not _closed_component(p, s, ckey):
            continue
        if (succ := local(comps[ckey])) is not None:
            return succ, "component"
    for j in sorted({key[0] for key in views}):
        node = _node_set(p, s, j, views)
        if node is not None and (succ := moves(node)):
            return succ, "node"
    return [(a, step(a)) for a in acts], "full"


def _groups(p: Params, a: Action) -> tuple[tuple[int, int, int] | None, tuple[int, int] | None]:
    """The view ``(aggregator, tau, c)`` and the component ``(tau, c)`` of ``a``, if any."""
    m = a.msg
    view = None
    if m is not None and m.dst[0] == "A" and 0 <= m.tau < p.R and 0 <= m.c < p.n_a:
        view = (node_index(m.dst), m.tau, m.c)
    return view, _component(a)


def _scan_cached(
    p: Params,
    s: SysState,
    acts: list[Action],
    byz_can_propose: bool,
    memo: Memo,
    single: Callable[[Action], bool],
    views: dict[tuple[int, int, int], list[Action]],
    comps: dict[tuple[int, int], list[Action]],
) -> list[Action]:
    """:func:`select`'s singleton candidates (``single``: honest actions first, each
    group in ``acts`` order), filling ``views`` and ``components`` on the way. For
    canonical ``s`` and actions of :func:`model.system.enabled` with ``memo``:
    ``single`` of a delivery or Byzantine send to an aggregator, which reads only the
    action and its receiver's state (:func:`_safe_alone`, and the receiver's transition
    for a self-loop), is cached in ``memo.por`` per action and receiver state (canonical
    objects, their identities keys), and an action's view and component per action.
    Checked against the uncached path in ``tests/model/test_memo.py``."""
    slots = memo.slots
    aggs, clients = s.aggs, s.clients
    table = memo.por.setdefault((0, byz_can_propose), {})
    honest: list[Action] = []
    byz: list[Action] = []
    for a in acts:
        info = slots.get(id(a))
        if info is None or info[0] is not a:  # an action the memo does not own
            info = slots[id(a)] = _slot(p, a)
        _a, code, d, vk, ck = info
        if code == 0:
            ok = single(a)  # constant, or a self-loop test reading the attestations
        else:
            key = (id(a), id(aggs[d] if code == 1 else clients[d]))
            ok = table.get(key)  # type: ignore[assignment]
            if ok is None:
                ok = table[key] = single(a)
        if ok:
            (byz if a.kind == "byz" else honest).append(a)
        if vk is not None:
            views.setdefault(vk, []).append(a)
        if ck is not None:
            comps.setdefault(ck, []).append(a)
    return honest + byz


_Slot = tuple[Action, int, int, tuple[int, int, int] | None, tuple[int, int] | None]


def _slot(p: Params, a: Action) -> _Slot:
    """What :func:`_scan_cached` reads of an action: itself, whether its singleton test
    is cached per aggregator (1) or client (2) receiver state or not at all (0), the
    receiver's index, its view and its component (:func:`_groups`)."""
    m = a.msg
    vk, ck = _groups(p, a)
    if m is None or a.kind == "fire":
        return a, 0, -1, vk, ck
    to_agg = m.dst[0] == "A"
    if not to_agg and a.kind == "byz":
        return a, 0, -1, vk, ck
    return a, 1 if to_agg else 2, node_index(m.dst), vk, ck


def _cached_global(
    s: SysState, byz_can_propose: bool, memo: Memo, is_global: Callable[[Action], bool]
) -> Callable[[Action], bool]:
    """``is_global`` of :func:`select` for a view or component candidate (a message to
    an aggregator), cached in ``memo.por`` per action and receiver state: it reads only
    these (and ``byz_can_propose``), the receiver's transition included
    (:meth:`model.system.Memo.transition` of an aggregator reads its state and the
    message only). Checked against the uncached test in ``tests/model/test_memo.py``."""
    aggs = s.aggs
    table = memo.por.setdefault((1, byz_can_propose), {})

    def get(a: Action) -> bool:
        m = a.msg
        assert m is not None
        key = (id(a), id(aggs[node_index(m.dst)]))
        got = table.get(key)
        if got is None:
            got = table[key] = is_global(a)
        return got

    return get


def _node_set(
    p: Params,
    s: SysState,
    j: int,
    views: dict[tuple[int, int, int], list[Action]],
) -> list[Action] | None:
    """Every enabled action of aggregator ``j`` in its current round, the last one, when
    every view of the round is closed: the R-13 race of its decodings is then among these
    actions only (nothing else can reach or change those views), and they commute with
    every other node's actions."""
    ag = s.aggs[j]
    if ag is None or ag.round != p.R - 1:
        return None
    tau = ag.round
    if any(not _closed_view(p, s, j, tau, c) for c in range(p.n_a)):
        return None
    out = [a for (k, t, _c), acts in views.items() if k == j and t == tau for a in acts]
    if len(out) != sum(len(acts) for (k, _t, _c), acts in views.items() if k == j):
        return None  # actions of earlier rounds too: leave them to the general rules
    return out or None


def _closed_view(p: Params, s: SysState, j: int, tau: int, c: int) -> bool:
    """No honest node will ever send aggregator ``j`` another message for ``(tau, c)``,
    and the Byzantine menu for it can no longer grow: the members all submitted, the
    coordinator proposed (or is Byzantine), every honest node holds its first proposal
    (it endorsed, and the known proposals are final) and released or never will (its
    certificate is another proposal, or its proposal cannot gather a quorum)."""
    if p.bug not in _CONFLUENT_BUGS:
        return False
    for i in p.members(tau, c):
        cs = s.clients[i]
        if cs.alive and tau not in cs.submitted:
            return False
    k = idx(p, tau, c)
    coord = s.aggs[c]
    if coord is not None and coord.views[k].proposed is None:
        return False
    firsts = []
    for a in s.aggs:
        if a is not None:
            if a.views[k].first is None:
                return False
            firsts.append(a.views[k].first)
    for a in s.aggs:
        if a is None:
            continue
        v = a.views[k]
        if v.released:
            continue
        if v.cert is not None and v.cert != v.first:
            continue
        if v.cert is None and firsts.count(v.first) + len(p.byzantine) < p.cert_quorum:
            continue
        return False
    return True
