"""Symmetry reduction for the explorer.

Exploited symmetry (single-round configurations, ``R == 1``): honest aggregators are
interchangeable *together with the clusters they coordinate and those clusters'
members*. A permutation ``pi`` of the honest aggregator ids is an automorphism of the
system when, for every honest ``j``, clusters ``j`` and ``pi(j)`` of round 0 have the
same size and the same crash pattern; clients are mapped by ``sigma``, the
order-preserving bijection from the members of cluster ``j`` onto those of ``pi(j)``
(order-preserving, so that R-6's ``(n(i), i)`` tie-break is respected), and the pair
must keep D-18's pushers (``designated``). Byzantine
aggregators and their clusters' members are fixed. With one round all counts are 0,
decoding is symmetric (the model keeps only the support size, not the support), and
models list their parts sorted by cluster, so ``step`` commutes with the relabelling.

Each state is stored as the smallest hash over its orbit (canonical representative by
hash), which merges symmetric states without building a canonical form explicitly.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import permutations

from asfl.model.params import Params
from asfl.model.protocol import designated, idx
from asfl.model.types import AggState, ClientState, Model, Msg, Proposal, Result, SysState, View


class Relabel:
    def __init__(self, p: Params, pi: dict[int, int], sigma: dict[int, int]) -> None:
        self.p = p
        self.pi = pi
        self.sigma = sigma
        self.names = {f"A{j}": f"A{k}" for j, k in pi.items()}
        self.names.update({f"C{i}": f"C{k}" for i, k in sigma.items()})
        self._models: dict[Model, Model] = {}

    def cl(self, cl: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(sorted(self.sigma[i] for i in cl))

    def prop(self, q: Proposal | None) -> Proposal | None:
        if q is None:
            return None
        return Proposal(q.tau, self.pi[q.c], self.cl(q.clients))

    def model(self, m: Model | None) -> Model | None:
        if m is None or not m.parts:
            return m
        got = self._models.get(m)
        if got is None:
            parts = tuple(sorted((self.pi[c], self.cl(cl), g) for c, cl, g in m.parts))
            got = Model(m.round, self.model(m.prev), parts, m.forged)
            self._models[m] = got
        return got

    def msg(self, m: Msg) -> Msg:
        return Msg(
            m.kind,
            self.names[m.src],
            self.names[m.dst],
            m.tau,
            self.pi[m.c] if m.c >= 0 else m.c,
            self.prop(m.prop),
            m.good,
            self.model(m.model),
            frozenset(self.pi[a] for a in m.attesters),
            m.body,
        )

    def view(self, v: View) -> View:
        if v == _EMPTY:
            return v
        rp = self.prop
        res = v.result
        return View(
            held=frozenset(self.sigma[i] for i in v.held),
            proposed=rp(v.proposed),
            snapshot=None
            if v.snapshot is None
            else (v.snapshot[0], tuple(sorted(self.sigma[i] for i in v.snapshot[1]))),
            first=rp(v.first),
            endorsed=tuple(rp(q) for q in v.endorsed),  # type: ignore[misc]
            endorsements=frozenset((rp(q), self.pi[e]) for q, e in v.endorsements),  # type: ignore[misc]
            cert=rp(v.cert),
            released=tuple(rp(q) for q in v.released),  # type: ignore[misc]
            releases=frozenset((rp(q), self.pi[x], g) for q, x, g in v.releases),  # type: ignore[misc]
            result=None
            if res is None
            else Result(rp(res.prop), self.cl(res.clients), res.garbage, res.support),  # type: ignore[arg-type]
        )

    def agg(self, a: AggState) -> AggState:
        p = self.p
        views = list(a.views)
        for tau in range(p.R):
            for c in range(p.n_a):
                views[idx(p, tau, self.pi[c])] = self.view(a.views[idx(p, tau, c)])
        return AggState(
            a.round,
            tuple(self.model(m) for m in a.models),  # type: ignore[misc]
            tuple(views),
            tuple(frozenset(self.pi[k] for k in c) for c in a.certs),
            frozenset((r, self.pi[k]) for r, k in a.attests),
            frozenset((self.pi[j], self.model(m)) for j, m in a.attested),  # type: ignore[misc]
            frozenset((self.sigma[i], r) for i, r in a.served),
        )

    def client(self, cs: ClientState) -> ClientState:
        return ClientState(
            cs.alive,
            tuple(self.model(m) for m in cs.accepted),  # type: ignore[misc]
            cs.submitted,
            frozenset(self.model(m) for m in cs.verified),  # type: ignore[misc]
            frozenset(self.msg(m) for m in cs.buffer),
            frozenset((t, self.pi[c]) for t, c in cs.seen),
            frozenset(self.msg(m) for m in cs.ahead),
            frozenset((r, self.pi[j], self.model(m)) for r, j, m in cs.heads),  # type: ignore[misc]
            frozenset((r, self.pi[j]) for r, j in cs.fetched),
        )

    def state(self, s: SysState) -> SysState:
        self._models.clear()
        aggs: list[AggState | None] = [None] * len(s.aggs)
        for j, a in enumerate(s.aggs):
            aggs[self.pi[j]] = None if a is None else self.agg(a)
        clients: list[ClientState] = [ClientState()] * len(s.clients)
        for i, cs in enumerate(s.clients):
            clients[self.sigma[i]] = self.client(cs)
        return SysState(
            tuple(aggs),
            tuple(clients),
            frozenset(self.msg(m) for m in s.net),
            frozenset(self.msg(m) for m in s.byz_sent),
        )


_EMPTY = View()


def symmetry_group(p: Params) -> list[Relabel]:
    """The non-identity automorphisms described in the module docstring (empty when
    ``R > 1``)."""
    if p.R != 1:
        return []
    members = p.clusters(0)

    def shape(j: int) -> tuple:
        return tuple(i in p.crashed for i in members[j])

    honest = list(p.honest)
    group = []
    for perm in permutations(honest):
        pi = {j: j for j in range(p.n_a)}
        pi.update(dict(zip(honest, perm, strict=True)))
        if all(pi[j] == j for j in range(p.n_a)):
            continue
        if any(shape(j) != shape(pi[j]) for j in honest):
            continue
        sigma = {i: i for i in range(p.n_c)}
        for j in honest:
            for a, b in zip(members[j], members[pi[j]], strict=True):
                sigma[a] = b
        if any(
            designated(p, i, j) != designated(p, sigma[i], pi[j]) for i in range(p.n_c) for j in range(p.n_a)
        ):
            continue  # D-18: who pushes a body to whom must be kept too
        group.append(Relabel(p, pi, sigma))
    return group


def canonical_hash(
    s: SysState,
    group: list[Relabel],
    norm: Callable[[SysState], SysState] | None = None,
    fingerprint: Callable[[SysState], int] = hash,
) -> int:
    """The smallest fingerprint over the orbit of ``s``; ``norm`` maps each image back to
    the explorer's quotient (:func:`model.por.normalize`) so that symmetric states meet."""
    h = fingerprint(s)
    for g in group:
        t = g.state(s)
        h = min(h, fingerprint(norm(t) if norm is not None else t))
    return h
