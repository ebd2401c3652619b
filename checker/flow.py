"""Message flow (T-FLOW) and step structure (T-STEP): what the model cannot know about a
trace. Every ``send`` is checked for its kind and signature, Byzantine senders included
(I-4); every honest send is justified by a protocol event of its step and every
protocol event is followed by the sends its rule prescribes (R-5, R-7, R-8, R-10, R-14),
decided when the step closes."""

from __future__ import annotations

from collections.abc import Callable
from sys import intern
from typing import Any

from asfl.checker.base import CheckerBase, ids
from asfl.checker.records import Author, Envelope, Mark, RangeFields, Sent, Step
from asfl.model.digests import endorse_digest

#: kinds of signed envelopes (``junk``: bytes that are not one)
KINDS = frozenset({"submit", "propose", "endorse", "release", "offer", "attest", "announce", "fetch"})
#: envelopes remembered as checked clean (a broadcast alternates a few: body, header only)
CLEAN_ENVELOPES = 256
#: which role sends which kind (R-3)
SENDER_ROLE = {
    "submit": "C",
    "propose": "A",
    "endorse": "A",
    "release": "A",
    "offer": "A",
    "attest": "A",
    "announce": "A",
    "fetch": "C",
}
#: the rules that prescribe honest sends, by message kind
#: kinds whose ``round`` may be ``R`` (the model after the last round)
ROUND_PLUS_ONE = frozenset({"aggregate", "attest", "announce", "accept", "send", "fetch", "serve"})
PRESCRIBED = {
    "submit": "R-5",
    "propose": "R-7",
    "endorse": "R-8",
    "release": "R-10",
    "offer": "R-17",
    "attest": "R-17",
    "announce": "R-14",
    "fetch": "D-22",
}


class FlowRules(CheckerBase):
    def in_range(self, ev: dict[str, Any]) -> bool:
        """Node names, clusters, rounds and client lists within the configuration; only
        the fields the event's kind has (its :class:`RangeFields`) are looked at."""
        kind = ev["kind"]
        rf = self.range_fields.get(kind)
        if rf is None:
            rf = self.range_fields[kind] = self.plan_range(kind)
        known = self.known_nodes
        for f in rf.nodes:
            n = ev.get(f)
            if n is not None and n not in known:
                if ids(n) >= (self.n_a if n[0] == "A" else self.n_c):
                    self.viol("R-3", f"unknown node {n} in field {f!r}")
                    return False
                known.add(n)
        if rf.cluster:
            c = ev.get("cluster")
            if isinstance(c, int) and c >= self.n_a:
                self.viol("R-3", f"cluster {c} out of range")
                return False
        lim = rf.round_limit
        if lim is not None:
            r = ev.get("round")
            if isinstance(r, int) and r >= lim:
                self.viol("R-3", f"round {r} out of range [0, {lim})")
                return False
        for f in rf.client_lists:
            if any(i >= self.n_c for i in ev.get(f, ())):
                self.viol("S-4", f"unknown client id in {f}: {ev[f]}", key=(ev["round"], ev["cluster"]))
                return False
        for f in rf.agg_lists:
            if any(i >= self.n_a for i in ev.get(f, ())):
                self.viol("I-2", f"unknown aggregator id in {f}: {ev[f]}")
                return False
        return True

    def range_test(self, kind: str) -> Callable[[dict[str, Any]], bool]:
        """A generated predicate for events of ``kind``, true only if :meth:`in_range`
        is true of the event and would change nothing (every node it names already
        known, every number an int in range); false sends the event to :meth:`in_range`,
        which decides and reports. One flat expression per kind: no per-event loop over
        the fields, no ``RangeFields`` lookup."""
        rf = self.range_fields.get(kind)
        if rf is None:
            rf = self.range_fields[kind] = self.plan_range(kind)
        parts = [f"((_n := o.get({f!r})) is None or _n in K)" for f in rf.nodes]
        if rf.cluster:
            parts.append("((_c := o.get('cluster')) is None or (type(_c) is int and _c < NA))")
        if rf.round_limit is not None:
            parts.append(f"((_r := o.get('round')) is None or (type(_r) is int and _r < {rf.round_limit}))")
        for f, lim in [(f, "NC") for f in rf.client_lists] + [(f, "NA") for f in rf.agg_lists]:
            parts.append(f"all(type(_i) is int and _i < {lim} for _i in o.get({f!r}, ()))")
        ns: dict[str, Any] = {"K": self.known_nodes, "NA": self.n_a, "NC": self.n_c}
        body = " and ".join(parts or ["True"])
        exec(compile(f"def f(o):\n    return {body}\n", "<range-test>", "exec"), ns)  # noqa: S102
        return ns["f"]  # type: ignore[no-any-return]

    def plan_range(self, kind: str) -> RangeFields:
        """Which of :meth:`in_range`'s fields the schema gives events of ``kind``."""
        has = self.schema.fields(kind)
        return RangeFields(
            nodes=tuple(f for f in ("node", "to", "from", "producer", "client") if f in has),
            cluster="cluster" in has and kind != "send",
            round_limit=None if "round" not in has else self.R + 1 if kind in ROUND_PLUS_ONE else self.R,
            client_lists=tuple(f for f in ("clients", "members", "held") if f in has),
            agg_lists=tuple(f for f in ("endorsers", "support", "wrong", "clusters") if f in has),
        )

    # -- steps -----------------------------------------------------------------------
    def new_step(self, node: str) -> None:
        self.step_checks()
        self.step = Step(node, self.line)

    def close_step(self) -> None:
        """Step checks, decided once the step is complete (reported at its trigger line)."""
        self.step_checks()
        self.step = Step()

    def step_checks(self) -> None:
        st = self.step
        if st.msg is None and not st.expect and not st.sent and not st.submits_due:
            return  # nothing owed, nothing sent, no trigger message: nothing to decide
        node = st.node or "?"
        cur, self.cur_node = self.cur_node, st.node  # histories are the step node's
        if st.wild and not st.dropped and st.node is not None:
            self.last_wild[st.node] = st.line
        ann = st.announce
        if ann and not st.dropped and ann not in st.accepted and st.node and st.msg is not None:
            r = ann[1]
            if not (type(r) is int and r < len(self.accepted[ids(st.node)])):  # D-24
                self.held.setdefault(st.node, {})[st.msg] = ann  # maybe in the R-15b buffer
        if st.msg is not None:
            if st.junk and not st.dropped:
                self.viol_at(
                    st.line, "I-4", f"{node} did not drop malformed message {st.msg} (R-3)", node=node
                )
            if st.dropped and st.protocol:
                self.viol_at(
                    st.line,
                    "I-4",
                    f"{node} dropped message {st.msg} yet performed {st.protocol} in that step (R-3)",
                    node=node,
                )
        for (rule, typ, tau, c), n in st.expect.items() if st.expect else ():
            got = st.sent.get((typ, tau, c), 0)
            if got < n:
                self.viol_at(
                    st.line,
                    rule,
                    f"step of {node}: {got} sends of {typ} (round {tau}, cluster {c}), expected {n}",
                    key=(tau, c) if c is not None else None,
                )
        for (typ, tau, c), n in st.sent.items() if st.sent else ():
            want = st.expect.get((PRESCRIBED.get(typ, "?"), typ, tau, c), 0)
            if typ == "announce":  # R-14's broadcast, or D-22's answer to a fetch
                want += st.expect.get(("D-22", typ, tau, c), 0)
            if n > want:
                self.viol_at(
                    st.line,
                    "T-STEP",
                    f"step of {node}: {n} sends of {typ} (round {tau}, cluster {c}), "
                    f"its protocol events prescribe {want}",
                    node=node,
                )
        if st.submits_due:
            self.viol_at(
                st.line,
                "D-13",
                f"local step of {node} submits no update for rounds {st.submits_due} (catch-up)",
                node=node,
            )
        self.cur_node = cur

    def expect(self, rule: str, typ: str, tau: int | None, c: int | None, n: int) -> None:
        k = (rule, typ, tau, c)
        self.step.expect[k] = self.step.expect.get(k, 0) + n

    # -- wire events -----------------------------------------------------------------
    def check_envelope(self, node: str, typ: str, digest: str, sig: str, key: bytes) -> str | None:
        """I-4: a kind label is a claim about a signed envelope, Byzantine senders
        included. A known envelope (forwarded or replayed) keeps its kind; a new one
        carries a valid signature of its sender, or of a colluding Byzantine node, of
        the kind's role (R-3). ``key``: the digest's bytes. Returns the signer found
        (None: none verifies)."""
        auth = self.author_of(key)
        verify = self.sigs.verify
        ok: str | None
        if auth is not None:
            if auth.type != typ:
                self.viol(
                    "I-4", f"{node} relabels a {auth.type} envelope of {auth.signer} as {typ}", node=node
                )
            ok = auth.signer if verify(auth.signer, digest, sig) else None
        elif not self.is_byz(node):
            ok = node if verify(node, digest, sig) else None
        else:  # colluding Byzantine nodes sign for each other
            signers = [node] + [f"A{b}" for b in sorted(self.byz) if f"A{b}" != node]
            ok = next((s for s in signers if verify(s, digest, sig)), None)
        if ok is None:
            who = "Byzantine" if self.is_byz(node) else "honest"
            self.viol(
                "I-4", f"{typ} send by {who} {node}: signature does not verify (not a {typ})", node=node
            )
        elif SENDER_ROLE[typ] != ok[0]:
            self.viol("I-4", f"{typ} envelope signed by {ok}, not a {SENDER_ROLE[typ]} node", node=node)
        return ok

    def check_endorse_envelope(self, node: str, tau: int, c: int, digest: str) -> None:
        """R-8: an honest endorse envelope is ``endorse(tau, c, pd, md)`` of its node's
        ``endorse`` event, its digest recomputed by D-14's wire format. Without that event
        the send is unjustified (T-STEP, decided when the step closes)."""
        e = self.endorsed.get((ids(node), tau, c))
        if e is not None and endorse_digest(ids(node), tau, c, e.pd, e.md) != digest:
            self.viol(
                "R-8",
                f"{node}'s endorse envelope is not endorse({tau}, {c}, {e.pd[:12]}, {e.md[:12]}) "
                f"of its endorse event (line {e.line})",
                key=(tau, c),
            )

    def on_send(self, ev: dict[str, Any]) -> None:
        # the strings kept are interned: one copy per node name, kind and digest, not
        # one per event (state bounded by what the trace names, not by its length)
        node, mid, typ, digest = intern(ev["node"]), ev["msg"], intern(ev["type"]), ev["digest"]
        key = bytes.fromhex(digest)
        byz = node in self.byz_names
        tau, c = ev.get("round"), ev.get("cluster")
        env: Envelope | None = None
        signer: str | None = node
        if typ in KINDS:
            sig = ev["sig"]
            env = (node, typ, digest, sig)
            if env in self.clean_envelopes:  # a broadcast repeats its envelopes: checked once
                env = None
            else:
                viols = self.rep.violations
                n0 = len(viols)
                signer = self.check_envelope(node, typ, digest, sig, key)
                if signer != node or len(viols) > n0:
                    env = None  # only a clean check of the sender's own signature is reused
        elif typ != "junk":
            self.viol("I-4", f"send by {node} of unknown kind {typ!r}", node=node)
        step = self.step
        if not byz:
            if step.node != node or node in self.crashed_at:  # what in_step refuses
                self.in_step(node, "send")
            if typ == "junk":
                self.viol("I-4", f"honest {node} sends junk", node=node)
            elif typ == "endorse" and type(tau) is int and type(c) is int:
                self.check_endorse_envelope(node, tau, c, digest)
        last = self.last_id
        if last is not None and mid <= last:
            self.viol("T-FLOW", f"message id {mid} not above the last id sent {last} (D-19)")
        else:
            self.last_id = mid
        self.msgs[mid] = Sent(node, ev["to"], typ, tau, c, self.line, digest, key)
        cell = type(tau) is int and type(c) is int
        if not byz:
            v = self.author.get(key)
            if v is None:
                auth = Author(node, typ, tau, c)
                self.author[key] = self.pack_author(auth)
            else:
                auth = self.unpack_author(v)
            if env is not None and auth.signer == node and auth.type == typ:
                # every later check of ``env`` reads this author (never replaced) and the
                # same signature: the same clean verdict
                clean = self.clean_envelopes
                if len(clean) >= CLEAN_ENVELOPES:
                    del clean[next(iter(clean))]
                clean[env] = None
            if not (cell and self.is_settled(tau, c)):  # type: ignore[arg-type]
                first = self.first_sent.get((tau, c))
                if first is None:
                    first = self.first_sent[(tau, c)] = {}
                if (node, typ) not in first:
                    first[(node, typ)] = self.line  # D-21
            if step.node == node:
                k = (typ, tau, c)
                sent = step.sent
                sent[k] = sent.get(k, 0) + 1
        elif typ in KINDS and key not in self.byz_author:
            # the author is the node whose key verified (a colluder's, R-3), not the sender
            self.byz_author[key] = self.pack_author(Author(signer or node, typ, tau, c))
        if cell and typ != "announce":
            self.mark((tau, c), Mark(self.line, node, False))  # type: ignore[arg-type]

    def on_deliver(self, ev: dict[str, Any]) -> None:
        """T-FLOW of a deliver; the message delivered is left in ``self.delivered`` (None:
        not in flight) for the rule modules' deliver hooks, which run after this one."""
        node, mid = intern(ev["node"]), ev["msg"]
        self.step_checks()  # new_step, inlined
        self.step = st = Step(node, self.line)
        if node in self.crashed_at:
            self.viol("T-STEP", f"deliver to {node} after its crash")
        self.delivered = m = self.msgs.pop(mid, None)
        if m is None:
            sent = self.last_id is not None and mid <= self.last_id
            why = "delivered before (D-19: a message is delivered once)" if sent else "never sent"
            self.viol("T-FLOW", f"deliver of message {mid}, not in flight: {why}")
            return
        if m.dst != node:
            self.viol("T-FLOW", f"message {mid} was sent to {m.dst}, delivered to {node}")
        if m.src != ev["from"]:
            self.viol("T-FLOW", f"message {mid} is from {m.src}, deliver says {ev['from']}")
        byz, typ = self.byz_names, m.type
        st.msg = mid
        announce = typ == "announce"
        if announce and node[0] == "C":
            st.announce = (m.src, m.round)
        st.junk = typ == "junk" and node not in byz
        # what :meth:`received` reads: deliveries to honest aggregators only (a client's
        # announces are ``got_announce``; Byzantine nodes write no events), and nothing
        # of a settled cluster (D-21)
        keep = node[0] == "A" and node not in byz
        if keep:
            self.remember_got(node, typ, m.src, m.round, m.cluster)
        st.wild = typ not in KINDS and m.src in byz
        orig = self.author_of(m.key)
        if orig is not None:
            # a signed envelope relayed (forwarded, replayed) by any node, its signer
            # included, is its signer's message for the round and cluster of the first send
            r, c = orig.round, orig.cluster
            if keep and (orig.type, orig.signer, r, c) != (typ, m.src, m.round, m.cluster):
                self.remember_got(node, orig.type, orig.signer, r, c)
            if orig.type == "announce":
                self.got_announce.add((node, orig.signer))
            if keep and orig.type == "release" and type(r) is int and type(c) is int:
                self.remember_release(node, r, c, ids(orig.signer))  # type: ignore[arg-type]
        if announce:
            self.got_announce.add((node, m.src))
        elif type(m.round) is int and type(m.cluster) is int:
            self.mark((m.round, m.cluster), Mark(self.line, node, False))  # type: ignore[arg-type]

    def remember_got(self, node: str, typ: str, src: str, tau: int | None, c: int | None) -> None:
        if typ == "announce" or (type(tau) is int and type(c) is int and self.is_settled(tau, c)):  # type: ignore[arg-type]
            return  # announces: ``got_announce``; a settled cluster: D-21
        self.got.setdefault((tau, c), set()).add((node, typ, src))

    def remember_release(self, node: str, tau: int, c: int, releaser: int) -> None:
        if not self.is_settled(tau, c):  # D-21: R-11 is owed for no settled cluster
            self.releases_got.setdefault((node, tau, c), set()).add(releaser)

    def on_drop(self, ev: dict[str, Any]) -> None:
        """D-19: a node drops the message its step's trigger delivered, or (a client,
        R-15b) an announce it has held since an earlier step; once."""
        mid, node, st = ev["msg"], ev["node"], self.step
        if mid == st.msg and node == st.node:
            if st.dropped:
                self.viol("T-FLOW", f"message {mid} dropped twice")
            st.dropped = True
            return
        held = self.held.get(node)
        if held is not None and mid in held:
            del held[mid]
        else:
            self.viol(
                "T-FLOW",
                f"drop of message {mid}: neither delivered by the step's trigger nor an announce "
                f"{node} holds from an earlier step (D-19, D-24)",
            )

    def release_held(self, node: str, src: str, tau: int) -> None:
        """An ``accept`` of ``src``'s round-``tau`` model: R-15b buffers one announce per
        sender and round, so every announce of ``src`` for ``tau`` that ``node`` held is
        settled (accepted now or verified before) and can no longer be dropped (D-19)."""
        self.step.accepted.append((src, tau))
        held = self.held.get(node)
        if held:
            for mid in [k for k, v in held.items() if v == (src, tau)]:
                del held[mid]

    def on_crash(self, ev: dict[str, Any]) -> None:
        node = ev["node"]
        self.new_step(node)
        # The crash event is authoritative: the header's ``crashed`` lists the planned
        # crashes, a run (e.g. a test harness) may crash other clients too.
        if node[0] != "C":
            self.viol("T-STEP", f"{node} crashed but only clients crash")
        if node in self.crashed_at:
            self.viol("T-STEP", f"{node} crashed twice")
        self.crashed_at[node] = self.line
