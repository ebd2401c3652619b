"""Honest aggregator events (R-6 .. R-13). Each event fires the model's action on the
aggregator's abstract state (its :class:`~asfl.model.types.View` per ``(round,
cluster)``): the model's guard must enable it and the event's fields must agree with
the model's post-state (specs/refinement.md). What the model cannot know is checked
here: digests recomputed from the trace's own fields, which messages were delivered,
ghost sums (P-1), per-trace Z3 obligations."""

from __future__ import annotations

from itertools import combinations
from math import comb
from typing import Any

import numpy as np

from asfl.checker.fetch import FetchRules
from asfl.checker.records import CertInfo, Decoded, Stamped
from asfl.model import protocol
from asfl.model.digests import proposal_digest
from asfl.model.field import P, from_b64
from asfl.model.types import Proposal, Result

SUBSET_SEARCH_LIMIT = 20000


class AggregatorRules(FetchRules):
    def honest_cluster_event(self, ev: dict[str, Any], key: tuple[int, int], what: str) -> int | None:
        """Record ``ev`` in the history of its ``(round, cluster)``; if an honest aggregator
        wrote it, place it in that node's current step and return the aggregator's index."""
        self.hist(ev, key)
        j = self.honest_agg(ev["node"])
        if j is not None:
            self.in_step(ev["node"], what)
        return j

    def check_pd(self, q: Proposal, pd: str, key: tuple[int, int], what: str) -> None:
        """R-7: ``pd`` is the digest of the set's signed submissions (their ``sd`` in
        this trace's ``submit`` events); a client with no submission cannot be in it."""
        entries = []
        for i in q.clients:
            sub = self.subs.get((q.tau, i))
            if sub is None:
                self.viol("I-2", f"{what} names C{i}, which made no submission for round {q.tau}", key=key)
                return
            entries.append((i, sub.sd))
        if proposal_digest(q.tau, q.c, entries) != pd:
            self.viol("I-2", f"{what}: pd {pd[:12]} is not the digest of its set's submissions", key=key)

    def defects(self, q: Proposal, key: tuple[int, int], rule: str | None = None) -> bool:
        """Report the model's R-8 defects of ``q`` (under ``rule`` if given)."""
        found = protocol.proposal_defects(self.p, q)
        for d in found:
            self.viol(rule or d.prop, d.reason, key=key)
        return bool(found)

    # -- R-6 / R-7 -------------------------------------------------------------------
    def on_propose(self, ev: dict[str, Any]) -> None:
        node, tau, c, pd = ev["node"], ev["round"], ev["cluster"], ev["pd"]
        key = (tau, c)
        j = self.honest_cluster_event(ev, key, "propose")
        if j is None:
            return
        if c != j:
            self.viol("R-2", f"{node} proposes for cluster {c}, it coordinates cluster {j}", key=key)
        if tau >= self.R:
            self.viol("R-3", f"{node} proposes for round {tau} >= R", key=key)
            return
        if key in self.proposed:
            self.viol("F-1", f"{node} closes (tau={tau}, c={c}) twice", key=key)
            if self.is_settled(tau, c):
                return  # D-21: what the other checks would read is forgotten
        self.proposed[key] = Stamped(pd, "", self.line)
        clients, members, counts, held = ev["clients"], ev["members"], ev["counts"], ev["held"]
        q = Proposal(tau, c, tuple(clients))
        self.props[pd] = q
        true_members = self.p.members(tau, c)
        if sorted(members) != list(true_members):
            self.viol("S-4", f"members {members} differ from R-2's {list(true_members)}", key=key)
        self.defects(q, key)
        self.check_pd(q, pd, key, f"{node}'s proposal")
        if len(counts) != len(members) or len(set(members)) != len(members):
            self.viol("F-1", "counts not aligned with members", key=key)
            return
        if not set(held) <= set(members):
            self.viol("F-1", f"held {held} not within members", key=key)
        for i in held:
            if not self.received(node, "submit", f"C{i}", tau, c):
                self.viol("F-1", f"{node} claims to hold C{i}'s submission, never delivered to it", key=key)
        # D-12 / F-3: the count view is the model's, over this aggregator's views
        view = protocol.count_view(self.views[j].values(), tau)
        for i, n in zip(members, counts, strict=True):
            if n != view.get(i, 0):
                self.viol("F-3", f"count view n(C{i}) = {n}, D-12 gives {view.get(i, 0)}", key=key)
        cmap = dict(zip(members, counts, strict=True))
        want = protocol.close_choice(self.p, cmap, held)
        if want is None:
            self.viol("F-1", f"closed without the close condition (counts {counts}, held {held})", key=key)
        elif tuple(clients) != want:
            self.viol("F-1", f"proposed {clients}, R-6 gives {list(want)}", key=key)
        self.expect("R-7", "propose", tau, c, self.n_a)

    # -- R-8 -------------------------------------------------------------------------
    def on_endorse(self, ev: dict[str, Any]) -> None:
        node, tau, c, pd, md = ev["node"], ev["round"], ev["cluster"], ev["pd"], ev["md"]
        key = (tau, c)
        j = self.honest_cluster_event(ev, key, "endorse")
        if j is None:
            return
        v = self.view(j, tau, c)
        q = Proposal(tau, c, tuple(ev["clients"]))
        if v.first is not None:  # the model's R-8 guard: first valid proposal only
            prev = self.endorsed[(j, tau, c)]
            self.viol(
                "S-2",
                f"{node} endorses a second proposal for (tau={tau}, c={c}) (first at line {prev.line})",
                key=key,
            )
            return
        self.defects(q, key, rule="R-8")
        self.check_pd(q, pd, key, f"{node}'s endorsement")
        self.endorsed[(j, tau, c)] = Stamped(pd, md, self.line)
        self.set_view(j, tau, c, v._replace(first=q, endorsed=v.endorsed + (q,)))
        known = self.props.get(pd)
        first = self.endorsed_sets.setdefault(pd, q)
        if (known is not None and known != q) or first != q:
            self.viol(
                "I-2",
                f"{node} endorses {pd[:12]} as set {list(q.clients)}, another event names another set",
                key=key,
            )
        if not self.received(node, "propose", f"A{c}", tau, c):
            self.viol("R-8", f"{node} endorses without a proposal from A{c} delivered", key=key)
        own = self.proposed.get(key)
        if c not in self.byz and own is not None and own.pd != pd:
            self.viol("R-8", f"{node} endorses {pd[:12]}, honest A{c} proposed {own.pd[:12]}", key=key)
        if c not in self.byz and own is None:
            self.viol("R-8", f"{node} endorses a proposal honest A{c} never made", key=key)
        old = self.md_of.setdefault(pd, md)
        if old != md:
            self.viol("I-2", f"two masked-sum digests for one proposal {pd[:12]}", key=key)
        self.endorsers.setdefault(pd, set()).add(j)
        self.expect("R-8", "endorse", tau, c, self.n_a)

    def on_equivocation(self, ev: dict[str, Any]) -> None:
        node, tau, c = ev["node"], ev["round"], ev["cluster"]
        key = (tau, c)
        self.hist(ev, key)
        j = self.honest_agg(node)
        if j is None:
            return
        self.in_step(node, "equivocation")
        if ev["first"] == ev["other"]:
            self.viol("R-8", "equivocation with two equal proposals", key=key)
        e = self.endorsed.get((j, tau, c))
        if e is not None and e.pd != ev["first"]:
            self.viol(
                "R-8", f"equivocation: first {ev['first'][:12]} is not the endorsed {e.pd[:12]}", key=key
            )
        if c not in self.byz:
            self.viol("R-8", f"{node} reports equivocation by honest A{c}", key=key)

    # -- R-9 -------------------------------------------------------------------------
    def on_certify(self, ev: dict[str, Any]) -> None:
        node, tau, c, pd, md = ev["node"], ev["round"], ev["cluster"], ev["pd"], ev["md"]
        key = (tau, c)
        j = self.honest_cluster_event(ev, key, "certify")
        if j is None:
            return
        v = self.view(j, tau, c)
        if v.cert is not None:  # the model's R-9 guard: certify once
            self.viol("R-9", f"{node} certifies (tau={tau}, c={c}) twice", key=key)
            return
        self.certified[(j, tau, c)] = Stamped(pd, md, self.line)
        self.set_view(j, tau, c, v._replace(cert=self.as_proposal(tau, c, pd)))
        ends = ev["endorsers"]
        if len(set(ends)) != len(ends):
            self.viol("I-2", f"certificate lists an endorser twice: {ends}", key=key)
        if len(set(ends)) < self.quorum:
            self.viol(
                "I-2", f"certificate has {len(set(ends))} < n_a - t_a = {self.quorum} endorsers", key=key
            )
        for e in set(ends):
            if not self.received(node, "endorse", f"A{e}", tau, c):
                self.viol("I-2", f"endorsement of A{e} never delivered to {node}", key=key)
            if e not in self.byz:
                got = self.endorsed.get((e, tau, c))
                if got is None or got.pd != pd or got.md != md:
                    self.viol(
                        "I-2",
                        f"certificate names honest A{e}, which did not endorse ({pd[:12]}, {md[:12]})",
                        key=key,
                    )
        old = self.md_of.get(pd)
        if old is not None and old != md:
            self.viol("I-2", f"certified md {md[:12]} differs from the endorsed {old[:12]}", key=key)
        pds = self.cert_pds.setdefault(key, {})
        pds.setdefault(pd, self.line)
        if len(pds) > 1:
            others = ", ".join(f"{p[:12]} (line {ln})" for p, ln in pds.items())
            self.viol("S-1", f"two proposals certified for (tau={tau}, c={c}): {others}", key=key)
        info = self.cert_info.setdefault(pd, CertInfo(tau, c, pd, md, sorted(set(ends))))
        info.certified_by.append(j)
        q = self.proposal_of(pd)
        if q is not None:
            self.check_certified_set(q, pd, key)

    def check_certified_set(self, q: Proposal, pd: str, key: tuple[int, int]) -> None:
        """S-4 / S-5 on a certified set (the model's proposal guards), P-2 ownership."""
        self.defects(q, key)
        for i in q.clients:
            o = self.owner.setdefault((q.tau, i), pd)
            if o != pd:
                self.viol("P-2", f"C{i} of round {q.tau} is in two certified sets", key=key)

    # -- R-10 ------------------------------------------------------------------------
    def on_release(self, ev: dict[str, Any]) -> None:
        node, tau, c, pd = ev["node"], ev["round"], ev["cluster"], ev["pd"]
        key = (tau, c)
        j = self.honest_cluster_event(ev, key, "release")
        if j is None:
            return
        v = self.view(j, tau, c)
        q = self.as_proposal(tau, c, pd)
        allowed = protocol.release_guard(self.p, v)
        if allowed != q:
            prev = self.released.get((j, tau, c))
            if prev is not None:
                why = f"releases twice for (tau={tau}, c={c}) (first at line {prev.line})"
            elif v.cert is None or self.certified[(j, tau, c)].pd != pd:
                why = f"releases for {pd[:12]} without holding its certificate"
            else:
                why = f"releases for {pd[:12]} without holding that proposal (R-10)"
            self.viol("S-3", f"{node} {why}", key=key)
        self.released.setdefault((j, tau, c), Stamped(pd, "", self.line))
        self.set_view(j, tau, c, v._replace(released=v.released + (q,)))
        self.expect("R-10", "release", tau, c, self.n_a)

    # -- R-11 / R-12 -----------------------------------------------------------------
    def on_reconstruct(self, ev: dict[str, Any]) -> None:
        node, tau, c, pd = ev["node"], ev["round"], ev["cluster"], ev["pd"]
        key = (tau, c)
        j = self.honest_cluster_event(ev, key, "reconstruct")
        if j is None:
            return
        v = self.view(j, tau, c)
        if v.result is not None:
            self.viol("R-11", f"{node} reconstructs (tau={tau}, c={c}) twice", key=key)
            return
        q = self.as_proposal(tau, c, pd)
        if protocol.reconstruct_guard(v) != q:
            if v.cert is None or self.certified[(j, tau, c)].pd != pd:
                self.viol("P-2", f"{node} reveals the sum of {pd[:12]}, not certified at {node}", key=key)
            else:
                self.viol("I-2", f"{node} reconstructs without holding the proposal {pd[:12]}", key=key)
        sup, wrong, size = ev["support"], ev["wrong"], ev["size"]
        if self.obligations is not None:
            res = self.obligations.for_reconstruction(size, sup)
            if res is not None and res.status != "proved":
                self.viol(
                    "P-1", f"Z3 {res.status}: masks do not cancel for this decoding: {res.detail}", key=key
                )
        if len(set(sup)) != len(sup) or len(set(sup)) != self.quorum:
            self.viol("I-2", f"decoding support {sup} is not {self.quorum} distinct releases", key=key)
        if set(sup) & set(wrong):
            self.viol(
                "I-2", f"aggregators both in support and wrong: {sorted(set(sup) & set(wrong))}", key=key
            )
        for s in set(sup) | set(wrong):
            if not self.received(node, "release", f"A{s}", tau, c):
                self.viol("I-2", f"release of A{s} never delivered to {node}", key=key)
            if s not in self.byz and s in sup:
                r = self.released.get((s, tau, c))
                if r is None or r.pd != pd:
                    self.viol(
                        "I-2", f"support names honest A{s}, which did not release for {pd[:12]}", key=key
                    )
        for s in wrong:
            if s not in self.byz:
                self.viol("I-1", f"{node} declares honest A{s}'s release wrong", key=key)
        if size < self.q_min:
            self.viol("S-5", f"revealed sum of {size} < q_min clients", key=key)
        old = self.results.setdefault(pd, ev["result"])
        if old != ev["result"]:
            self.viol("I-1", f"two honest aggregators decoded different results for {pd[:12]}", key=key)
        self.recon[(j, tau, c)] = Decoded(pd, ev["result"], self.line)
        self.set_view(j, tau, c, v._replace(result=Result(q, q.clients, False, len(sup))))
        cl = self.clients_of(pd)
        if cl is not None and len(cl) != size:
            self.viol("I-2", f"size {size} differs from the proposal's {len(cl)} clients", key=key)
        g = ev.get("ghost")
        if not self.ghost:
            if g is not None:
                self.viol(
                    "T-HEADER", f"{node}'s reconstruct carries ghost fields; the header says ghost: false"
                )
        elif g is None:
            self.viol(
                "P-1", f"{node}'s reconstruct has no ghost sum; the header declares ghost fields", key=key
            )
        else:
            self.check_p1(tau, c, pd, cl, size, g["sum"], key)
        info = self.cert_info.get(pd)
        if info is not None:
            info.reconstructed_by.append(j)
            info.size = size
            info.supports[node] = sorted(sup)
        self.settle_if_done(tau, c)  # D-21

    def check_p1(
        self, tau: int, c: int, pd: str, cl: tuple[int, ...] | None, size: int, b64: str, key: tuple[int, int]
    ) -> None:
        """P-1 with ghost fields: the revealed sum is sum x_i over the certified set."""
        try:
            total = from_b64(b64) % P
        except ValueError:
            self.viol("P-1", "ghost sum is not base64 of uint32s", key=key)
            return
        if total.shape != (self.dim,):
            self.viol("P-1", f"ghost sum has length {total.shape[0]}, not dim {self.dim}", key=key)
            return
        if cl is not None:
            subs = [self.subs.get((tau, i)) for i in cl]
            if any(s is not None and s.forgotten for s in subs):
                # D-21: a client of a settled cluster, not a member of this one: the
                # proposal guards (S-4, R-8) already refused the set
                return
            xs = [None if s is None else s.x for s in subs]
            if any(x is None for x in xs):
                self.viol(
                    "P-1", f"the set {list(cl)} holds a submission with no usable ghost update", key=key
                )
                return
            if not np.array_equal(self.vsum(xs), total):  # type: ignore[arg-type]
                self.viol("P-1", f"revealed sum != sum of x_i over {list(cl)} (mod P)", key=key)
            return
        # Byzantine coordinator, no honest endorser named the set: find the subsets of
        # the submissions to this cluster whose updates sum to the revealed sum.
        cand = sorted({i for i in self.sub_index.get(key, ()) if self.subs[(tau, i)].cluster == c})
        if comb(len(cand), size) > SUBSET_SEARCH_LIMIT:
            self.p1_unsearched += 1  # reported in the stats: not refuted, not confirmed
            return
        xs_all: dict[int, np.ndarray] = {}
        for i in cand:
            x = self.subs[(tau, i)].x
            if x is None:
                self.viol("P-1", f"cluster {c} holds a submission with no usable ghost update", key=key)
                return
            xs_all[i] = x
        found = [
            sub
            for sub in combinations(cand, size)
            if np.array_equal(self.vsum([xs_all[i] for i in sub]), total)
        ]
        if not found:
            self.viol("P-1", f"no {size} submitted updates of cluster {c} sum to the revealed sum", key=key)
        elif len(found) == 1:
            q = Proposal(tau, c, found[0])
            self.inferred[pd] = q
            self.check_certified_set(q, pd, key)

    def vsum(self, xs: list[np.ndarray]) -> np.ndarray:
        acc = np.zeros(self.dim, dtype=np.uint64)
        for x in xs:
            acc += x
        return acc % P

    # -- R-13 ------------------------------------------------------------------------
    def on_aggregate(self, ev: dict[str, Any]) -> None:
        node, r, clusters, model, prev = ev["node"], ev["round"], ev["clusters"], ev["model"], ev["prev"]
        self.hist(ev, None)
        j = self.honest_agg(node)
        if j is None:
            return
        self.in_step(node, "aggregate")
        chain = self.models[j]
        tau = r - 1
        if r > self.R or r < 1:
            self.viol("I-3", f"{node} produces a model for round {r} outside 1..R", node=node)
            return
        if tau != self.rounds[j]:
            self.viol("I-3", f"{node} produces round {r} while in round {self.rounds[j]}", node=node)
        elif prev != chain[-1]:
            self.viol(
                "I-3", f"{node}'s model for round {r} is not built on its own previous model", node=node
            )
        have = {cc for (t, cc), vv in self.views[j].items() if t == tau and vv.result is not None}
        missing = sorted(set(clusters) - have)
        want = protocol.aggregation_clusters(self.p, have)
        if missing:
            self.viol("I-2", f"{node} aggregates clusters {missing} it has not reconstructed", node=node)
        if len(set(clusters)) != len(clusters) or len(set(clusters)) < self.quorum:
            self.viol(
                "I-3", f"{node} aggregates {len(set(clusters))} < n_a - t_a distinct clusters", node=node
            )
        elif want is not None and tuple(sorted(clusters)) != want and not missing:
            self.viol(
                "I-3",
                f"{node} aggregates {sorted(clusters)}, R-13 takes all it holds: {list(want)}",
                node=node,
            )
        if ev["rule"] != self.rule:
            self.viol("I-3", f"{node} uses rule {ev['rule']!r}, configured {self.rule!r}", node=node)
        chain.append(model)
        self.rounds[j] = r
        self.agg_by[(j, r)] = model
        self.agg_models.setdefault((r, model), j)
        self.offer_if_due(j, r)
