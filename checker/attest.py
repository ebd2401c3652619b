"""Offers, attestations and announcements (R-17, R-14, D-18, S-7): each honest event fires
the model's guard (:func:`model.protocol.attestation_quorum`,
:func:`model.protocol.aggregation_clusters`, :func:`model.protocol.designated`) on what
the trace shows (specs/refinement.md). What the model abstracts is checked here: which
offers and attestations were delivered, that the honest attestations an announcement
names exist, the previous model's honest attestation (the counting step: ``t_a + 1``
attesters include an honest one), and what is owed at quiescence."""

from __future__ import annotations

from typing import Any

from asfl.checker.base import ids
from asfl.checker.clients import ClientRules
from asfl.checker.records import AcceptCount, Attestation, PendingOffer
from asfl.model import protocol


class AttestRules(ClientRules):
    def header_of(self, header: str, r: int, model: str, node: str) -> None:
        """A header digest stands for one (round, model) in the whole trace (I-3)."""
        old = self.headers.setdefault(header, (r, model))
        if old != (r, model):
            self.viol(
                "I-3", f"{node}: header {header[:12]} names model {model[:12]} and {old[1][:12]}", node=node
            )

    def offer_if_due(self, j: int, r: int) -> None:
        """R-17: an honest aggregator offers its model of round ``r`` to every aggregator
        once it has it and has announced round ``r - 1`` (genesis needs nothing), in the
        step where the later of the two happens."""
        if r == 1 or (j, r - 1) in self.announced:
            self.expect("R-17", "offer", r, None, self.n_a)
        else:
            self.offer_wait.setdefault(j, r)  # offers go in round order: the earliest waits

    # -- R-17 ------------------------------------------------------------------------
    def on_attest(self, ev: dict[str, Any]) -> None:
        node, r, producer, model, prev = ev["node"], ev["round"], ev["producer"], ev["model"], ev["prev"]
        self.hist(ev, None)
        k = self.honest_agg(node)
        if k is None:
            return
        self.in_step(node, "attest")
        if producer[0] != "A":
            self.viol("R-17", f"{node} attests an offer of {producer}, not an aggregator", node=node)
            return
        if not 1 <= r <= self.R:
            self.viol("R-17", f"{node} attests a model of round {r} outside 1..R", node=node)
            return
        key = (k, producer, r)
        first = self.attest_by.get(key)
        if first is not None:  # the model's guard attested_before: once per (producer, round)
            self.viol(
                "R-17",
                f"{node} attests a second offer of {producer} for round {r} (first at line {first.line})",
                node=node,
            )
        if not self.received(node, "offer", producer, r, None):
            self.viol(
                "R-17", f"{node} attests round {r} of {producer} without its offer delivered", node=node
            )
        self.check_prev_attested(node, r, prev)
        clusters = ev["clusters"]
        if clusters != sorted(set(clusters)) or protocol.aggregation_clusters(self.p, clusters) is None:
            self.viol(
                "I-3",
                f"{node} attests a model of clusters {clusters}: not >= n_a - t_a distinct, sorted",
                node=node,
            )
        for c in set(clusters):
            if not any((s, r - 1, c) in self.released for s in self.honest_aggs):
                self.viol(
                    "I-2",
                    f"{node} attests a model using cluster {c} of round {r - 1}, which no honest "
                    "aggregator released for (no certified result)",
                    node=node,
                )
        if not self.is_byz(producer):
            p = ids(producer)
            mine = self.agg_by.get((p, r))
            if mine != model:
                self.viol(
                    "I-3",
                    f"{node} attests {model[:12]} of {producer}, which made {str(mine)[:12]}",
                    node=node,
                )
            elif prev != self.models[p][r - 1]:
                self.viol(
                    "I-3", f"{node} attests a model whose prev is not {producer}'s previous model", node=node
                )
        self.header_of(ev["header"], r, model, node)
        self.attest_by[key] = Attestation(model, ev["header"], self.line)
        self.honest_attested.setdefault((r, model), set()).add(k)
        if self.step.msg is not None:
            self.pending_offers.pop(self.step.msg, None)
        self.expect("R-17", "attest", r, None, 1)

    def check_prev_attested(self, node: str, r: int, prev: str) -> None:
        """R-17 (b): the previous model is genesis, or carries ``t_a + 1`` attestations of
        distinct aggregators, one of them honest (the counting step): some honest
        aggregator attested it earlier in the trace (S-7)."""
        if r == 1:
            if prev != self.genesis_model:
                self.viol(
                    "I-3", f"{node} attests a round-1 model whose prev is not the genesis model", node=node
                )
        elif not self.honest_attested.get((r - 1, prev)):
            self.viol(
                "S-7",
                f"{node} attests a model of round {r} on {prev[:12]}, which no honest aggregator "
                "attested: its t_a + 1 attestations cannot all be valid",
                node=node,
            )

    # -- R-14 ------------------------------------------------------------------------
    def on_announce(self, ev: dict[str, Any]) -> None:
        node, r, model = ev["node"], ev["round"], ev["model"]
        self.hist(ev, None)
        j = self.honest_agg(node)
        if j is None:
            return
        self.in_step(node, "announce")
        if not 1 <= r <= self.R:
            self.viol("R-14", f"{node} announces a model of round {r} outside 1..R", node=node)
            return
        if (j, r) in self.announced:
            self.viol(
                "R-14",
                f"{node} announces round {r} twice (first at line {self.announced[(j, r)]})",
                node=node,
            )
            return
        if self.agg_by.get((j, r)) != model:
            self.viol(
                "I-3", f"{node} announces {model[:12]} for round {r}, not the model it aggregated", node=node
            )
        if r > 1 and (j, r - 1) not in self.announced:
            self.viol("R-17", f"{node} announces round {r} before its round {r - 1} was attested", node=node)
        names = ev["attesters"]
        att = [ids(a) for a in names if a[0] == "A" and ids(a) < self.n_a]
        if len(att) != len(names) or names != sorted(set(names), key=ids):
            self.viol(
                "R-14",
                f"{node} announces with attesters {names}: not distinct aggregators, sorted",
                node=node,
            )
        if not protocol.attestation_quorum(self.p, att):
            self.viol(
                "S-7",
                f"{node} announces round {r} with {len(set(att))} < t_a + 1 = {self.t_a + 1} attestations",
                node=node,
            )
        honest = self.honest_attested.get((r, model), set())
        for k in sorted(set(att)):
            if not self.received(node, "attest", f"A{k}", r, None):
                self.viol(
                    "S-7", f"{node} names A{k}'s attestation of round {r}, never delivered to it", node=node
                )
            elif k not in self.byz and k not in honest:
                self.viol("S-7", f"{node} names honest A{k}, which never attested {model[:12]}", node=node)
        self.header_of(ev["header"], r, model, node)
        self.announced[(j, r)] = self.line
        self.ann_header[(j, r)] = ev["header"]
        self.expect("R-14", "announce", r, None, self.n_c)
        if self.offer_wait.get(j) == r + 1:
            del self.offer_wait[j]
            self.expect("R-17", "offer", r + 1, None, self.n_a)
            if (j, r + 2) in self.agg_by:  # aggregated meanwhile: waits for this offer's announce
                self.offer_wait[j] = r + 2

    # -- R-15 ------------------------------------------------------------------------
    def on_accept(self, ev: dict[str, Any]) -> None:
        node, r, frm, model = ev["node"], ev["round"], ev["from"], ev["model"]
        self.hist(ev, None)
        i = self.client(node, "accept")
        if i is None:
            return
        self.in_step(node, "accept")
        acc = self.accepted[i]
        old = len(acc)
        if r == 0 or r > self.R:
            self.viol("R-15", f"{node} accepts a model of round {r} outside 1..R", node=node)
            return
        if r < len(acc):
            self.viol("R-15", f"{node} accepts a second model for round {r}", node=node)
            return
        if r > len(acc):
            self.viol("R-15", f"{node} accepts round {r} before round {len(acc)}", node=node)
        if (node, frm) not in self.got_announce and not self.received(node, "announce", frm, r, None):
            self.viol("R-15", f"{node} accepts from {frm} without an announce from it", node=node)
        if frm[0] == "A":
            self.accept_from(node, i, frm, r, model)
        self.accept_attesters(node, r, model, ev["attesters"])
        while len(acc) < r:
            acc.append("?")
        acc.append(model)
        self.client_models.setdefault(i, {}).setdefault(r, set()).add(model)  # D-22: a verified model
        self.accept_counts.append(AcceptCount(self.line, i, r, ev["count"]))
        self.forget_accepted(i, old, r)

    def accept_from(self, node: str, i: int, frm: str, r: int, model: str) -> None:
        """R-15 / D-18 / S-7 of an ``accept``: from an honest aggregator, the model it
        announced, and only if it is one of the client's body senders (D-18); from a
        Byzantine one, a model some honest aggregator attested (S-7: the t_a + 1
        attestations R-15 (d) counts include an honest one)."""
        if not self.is_byz(frm):
            j = ids(frm)
            mine = self.agg_by.get((j, r))
            if mine != model:
                self.viol(
                    "I-3",
                    f"{node} accepts model {model[:12]} from {frm}, which made {str(mine)[:12]} for {r}",
                    node=node,
                )
            elif (j, r) not in self.announced:
                self.viol("R-15", f"{node} accepts round {r} from {frm}, which never announced it", node=node)
            if not protocol.designated(self.p, i, j) and (j, i, r) not in self.served_got:
                self.viol(
                    "D-18",
                    f"{node} accepts round {r} from {frm}, not its pusher, which served it no fetch (D-22)",
                    node=node,
                )
        elif not self.honest_attested.get((r, model)):
            self.viol(
                "S-7",
                f"{node} accepts {model[:12]} of round {r} from {frm}; no honest aggregator attested it",
                node=node,
            )
        if (r, model) not in self.agg_models:
            self.unmatched_accepts += 1  # an honest-attested model no honest aggregate shows

    def accept_attesters(self, node: str, r: int, model: str, names: list[str]) -> None:
        """R-15 (d) of an ``accept``, whoever relayed the announcement: the attesters the
        client counted are distinct aggregators, a quorum (the model's
        ``attestation_quorum``), and every honest one among them attested this very model
        earlier in the trace (an honest aggregator's attestation cannot be forged)."""
        if any(not (isinstance(a, str) and a[:1] == "A" and ids(a) < self.n_a) for a in names):
            self.viol("R-15", f"{node} counts attestations of {names}, not all aggregators", node=node)
            return
        ks = [ids(a) for a in names]
        if ks != sorted(set(ks)):
            self.viol("R-15", f"{node} lists attesters {names}: not sorted and distinct", node=node)
        if not protocol.attestation_quorum(self.p, ks):
            self.viol(
                "R-15",
                f"{node} accepts round {r} on {len(set(ks))} attestations"
                f" < t_a + 1 = {self.p.attest_quorum} (R-15d)",
                node=node,
            )
        honest = self.honest_attested.get((r, model), set())
        forged = [f"A{k}" for k in sorted(set(ks)) if k not in self.byz and k not in honest]
        if forged:
            self.viol(
                "S-7",
                f"{node} counts attestations of {', '.join(forged)} on round {r}'s {model[:12]},"
                " which they never made",
                node=node,
            )

    # -- wire hooks --------------------------------------------------------------------
    def on_deliver(self, ev: dict[str, Any]) -> None:
        super().on_deliver(ev)
        m = self.delivered  # the flow check's (it forgets the message, D-19)
        if m is None or m.type != "offer" or self.is_byz(ev["node"]) or ev["node"][0] != "A":
            return
        orig = self.author_of(m.key, byz=False)
        if orig is not None and orig.type == "offer" and isinstance(orig.round, int):
            self.pending_offers[ev["msg"]] = PendingOffer(ev["node"], orig.signer, orig.round, self.line)

    def on_drop(self, ev: dict[str, Any]) -> None:
        super().on_drop(ev)
        self.pending_offers.pop(ev["msg"], None)

    def owed_attestations(self) -> None:
        """At quiescence: every honest offer delivered to an honest aggregator was attested
        or dropped (R-17); an honest aggregator holding ``t_a + 1`` delivered honest
        attestations of its model announced it (R-14)."""
        for po in self.pending_offers.values():
            self.viol_at(
                po.line,
                "R-17",
                f"{po.node} neither attests nor drops {po.producer}'s offer of round {po.round}",
                node=po.node,
            )
        for (j, r), model in sorted(self.agg_by.items()):
            node = f"A{j}"
            if (j, r) in self.announced:
                continue
            got = [
                k
                for k in self.honest_attested.get((r, model), ())
                if self.received(node, "attest", f"A{k}", r, None)
            ]
            if protocol.attestation_quorum(self.p, got):
                self.viol(
                    "R-14",
                    f"{node} holds attestations of {sorted(got)} for round {r}, never announces",
                    node=node,
                )
