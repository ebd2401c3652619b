"""Safety invariants of the model, named by property ID (specs/properties.md).

``violations(p, s)`` returns every ``(property, explanation)`` that fails in state
``s``. The explorer calls it on every state; each check reads only the state (ghost
fields included), never the history."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from asfl.model import inclusion
from asfl.model.params import Params
from asfl.model.protocol import idx
from asfl.model.types import FINAL, FINAL_UNATTESTED, AggState, ClientState, Model, Proposal, SysState

if TYPE_CHECKING:
    from asfl.model.system import Memo


def _honest(s: SysState) -> Iterator[tuple[int, AggState]]:
    for j, a in enumerate(s.aggs):
        if a is not None:
            yield j, a


def violations(p: Params, s: SysState, memo: Memo | None = None) -> list[tuple[str, str]]:
    """Every failing check of ``s``, in a fixed order. ``memo`` (the explorer, on a
    canonical state): each aggregator's part is computed once per canonical node state,
    the cross-aggregator checks once per combination of the aggregators' certified
    proposals, and the clients' part once per combination of client states and set of
    honest-attested models; the result is the same."""
    if memo is None:
        parts = [_aggregator_part(p, j, a) for j, a in _honest(s)]
    else:
        parts = []
        for j, a in _honest(s):
            key = (j, id(a))
            part = memo.viol.get(key)
            if part is None:
                found, certs, models = _aggregator_part(p, j, a)
                c = tuple(certs)
                part = memo.viol[key] = (found, memo.viol_certs.setdefault(c, c), models)  # type: ignore[assignment]
            parts.append(part)  # type: ignore[arg-type]
    out = [x for found, _certs, _models in parts for x in found]
    if memo is None:
        out += _certified_checks([certs for _found, certs, _models in parts])
        attested: frozenset[Model] = frozenset().union(*(models for _found, _certs, models in parts))
        return out + _clients_part(s, attested)
    ckey = tuple(id(certs) for _found, certs, _models in parts)
    cross = memo.viol_cross.get(ckey)
    if cross is None:
        cross = memo.viol_cross[ckey] = _certified_checks([certs for _found, certs, _models in parts])
    attested = memo.attested_of(s)
    ids = (tuple(map(id, s.clients)), id(attested))
    clients = memo.viol_clients.get(ids)
    if clients is None:
        clients = memo.viol_clients[ids] = _clients_part(s, attested)
    return out + cross + clients


def _certified_checks(certs: list[Sequence[tuple[int, int, Proposal]]]) -> list[tuple[str, str]]:
    """S-1 and P-2 over the certified proposals ``(tau, c, proposal)`` of every honest
    aggregator."""
    out = []
    certified: dict[tuple[int, int], set[Proposal]] = {}
    for part in certs:
        for tau, c, q in part:
            certified.setdefault((tau, c), set()).add(q)
    # S-1: at most one certified proposal per (tau, c)
    for (tau, c), props in certified.items():
        if len(props) > 1:
            sets = " and ".join(str(list(q.clients)) for q in sorted(props))
            out.append(("S-1", f"two proposals certified for (tau={tau}, c={c}): {sets}"))
    # P-2: no (client, round) in two certified sets
    owner: dict[tuple[int, int], Proposal] = {}
    for (tau, _c), props in certified.items():
        for q in props:
            for i in q.clients:
                o = owner.setdefault((i, tau), q)
                if o != q:
                    out.append(("P-2", f"client {i} of round {tau} in two certified sets"))
    return out


def _clients_part(s: SysState, attested: frozenset[Model]) -> list[tuple[str, str]]:
    """The clients' checks (:func:`_client_part`) of every client that accepted a model."""
    accepted = [(i, cs) for i, cs in enumerate(s.clients) if len(cs.accepted) > 1]
    return [x for i, cs in accepted for x in _client_part(i, cs, attested)]


def _aggregator_part(
    p: Params, j: int, a: AggState
) -> tuple[list[tuple[str, str]], list[tuple[int, int, Proposal]], frozenset[Model]]:
    """Aggregator ``j``'s own checks, its certified proposals ``(tau, c, proposal)`` (for
    S-1 and P-2) and the models it attested (for S-7)."""
    out: list[tuple[str, str]] = []
    certs: list[tuple[int, int, Proposal]] = []
    # S-7: an honest aggregator attests only checked models (R-17 c, d), announces only
    # with attestations of t_a + 1 distinct aggregators
    for _producer, m in a.attested:
        if m.forged:
            out.append(("S-7", f"A{j} attested a model of round {m.round} with invalid evidence"))
    for rnd, cert in enumerate(a.certs[1:], 1):
        if len(cert) < p.t_a + 1:
            out.append(("S-7", f"A{j} announced round {rnd} with {len(cert)} < t_a + 1 attestations"))
    for tau in range(p.R):
        for c in range(p.n_a):
            v = a.views[idx(p, tau, c)]
            where = f"A{j} on (tau={tau}, c={c})"
            # S-2: endorse at most one proposal per (tau, c)
            if len(v.endorsed) > 1:
                out.append(("S-2", f"{where} endorsed {len(v.endorsed)} proposals"))
            # S-3: release at most once, and only for the certified proposal
            if len(v.released) > 1:
                out.append(("S-3", f"{where} released {len(v.released)} times"))
            for q in v.released:
                if v.cert != q:
                    out.append(("S-3", f"{where} released for uncertified I={list(q.clients)}"))
            if v.cert is not None:
                certs.append((tau, c, v.cert))
                # S-4: members only, each once
                cl = v.cert.clients
                if len(set(cl)) != len(cl) or not set(cl) <= set(p.members(tau, c)):
                    out.append(("S-4", f"{where} certified non-members {list(cl)}"))
                # S-5: at least q_min clients
                if len(cl) < p.q_min:
                    out.append(("S-5", f"{where} certified only {len(cl)} < q_min clients"))
            r = v.result
            if r is not None:
                # I-2: the result is of the certified proposal, with a full support
                if v.cert is None or r.prop != v.cert:
                    out.append(("I-2", f"{where} decoded an uncertified proposal"))
                if r.support < p.quorum:
                    out.append(("I-2", f"{where} decoded from {r.support} < n_a - t_a releases"))
                # P-1 (and I-1): the masks cancel: the sum is exactly that of I
                if r.garbage or r.clients != r.prop.clients:
                    out.append(("P-1", f"{where} decoded a sum that is not sum x_i over I"))
            # F-1: an honest coordinator's proposal follows R-6
            if v.proposed is not None and v.snapshot is not None:
                counts = dict(zip(p.members(tau, c), v.snapshot[0], strict=True))
                held = v.snapshot[1]
                if not inclusion.close_condition(counts, held, p.t_c):
                    out.append(("F-1", f"{where} closed without the close condition"))
                elif v.proposed.clients != inclusion.proposed_set(counts, held, p.t_c, p.B, p.q_min):
                    out.append(("F-1", f"{where} proposed {list(v.proposed.clients)}, not R-6"))
    # I-3: each model is R-13 of the previous model and >= n_a - t_a own results
    for k in range(1, len(a.models)):
        m = a.models[k]
        if m.prev != a.models[k - 1] or len(m.parts) < p.quorum:
            out.append(("I-3", f"A{j} model of round {k} not built on enough results"))
        for c, cl, garbage in m.parts:
            r = a.views[idx(p, k - 1, c)].result
            if r is None or r.clients != cl or r.garbage != garbage:
                out.append(("I-3", f"A{j} model of round {k} uses a result it lacks"))
    return out, certs, frozenset(m for _producer, m in a.attested)


def _client_part(i: int, cs: ClientState, attested: set[Model] | frozenset[Model]) -> list[tuple[str, str]]:
    """I-3 (clients): accept only certified models; S-7: ... attested by an honest
    aggregator."""
    out = []
    for m in cs.accepted[1:]:
        if m.forged:
            out.append(("I-3", f"C{i} accepted a model with invalid evidence"))
        if m is FINAL_UNATTESTED or (m is not FINAL and m not in attested):
            out.append(("S-7", f"C{i} accepted a model of round {m.round} no honest aggregator attested"))
    return out
