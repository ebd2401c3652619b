"""Body fetches (D-22, D-18): the client's fetch guard and the aggregator's serve guard of
:mod:`model.protocol`, fired on the state the trace shows (specs/refinement.md).

The trace writes no event for a verified header-only announcement, nor whether an
announcement carried a body; both are rebuilt from what it does show (docs/tamper.md
lists what stays invisible): an announcement delivered to a client and not dropped in
that step is a verified header; an honest sender's announcement carries the body iff the
client is its pusher (``designated``, D-18) or it was sent in a ``serve`` step (D-22); a
Byzantine sender's is unknown, so it may have been header-only (its sender fetchable) and
never counts as a held body."""

from __future__ import annotations

from typing import Any

from asfl.checker.attest import AttestRules
from asfl.checker.base import ids
from asfl.checker.records import FetchInfo, PendingFetch
from asfl.model import protocol
from asfl.model.digests import fetch_digest
from asfl.model.protocol import FetchDefect, ServeDefect


class FetchRules(AttestRules):
    # -- the client: its timer fires -------------------------------------------------
    def on_fetch(self, ev: dict[str, Any]) -> None:
        """D-22: the trigger of a client step taken when its timer fires; the model's
        :func:`~model.protocol.fetch_defect` on the client's facts as the trace shows
        them, then one ``send`` of ``fetch`` to ``to``."""
        node, r, to, hd = ev["node"], ev["round"], ev["to"], ev["header"]
        self.new_step(node)
        self.hist(ev, None)
        i = self.client(node, "fetch")
        if i is None:
            return
        if node in self.crashed_at:
            self.viol("T-STEP", f"fetch by {node} after its crash", node=node)
        if to[0] != "A":
            self.viol("D-22", f"{node} fetches from {to}, not an aggregator", node=node)
            return
        j = ids(to)
        why = self.fetch_defect(i, r, j, hd)
        if why is not None:
            self.viol("D-22", self.fetch_refused(node, i, r, to, hd, why), node=node)
        if r >= len(self.accepted[i]):  # D-22: a fetch of an accepted round is refused, not kept
            self.fetched.setdefault((i, r), set()).add(j)
        self.step.fetch = (to, r, hd)
        self.expect("D-22", "fetch", r, None, 1)

    def fetch_defect(self, i: int, r: int, j: int, hd: str | None) -> FetchDefect | None:
        """:func:`model.protocol.fetch_defect` on what the trace shows of client ``i``:
        its accepted rounds, a verified body of ``r`` held (:meth:`note_announce`), the
        aggregators it fetched ``r`` from, the header-only announcements of ``r`` it kept
        (a Byzantine sender's header unknown: ``None``)."""
        return protocol.fetch_defect(
            self.p,
            r,
            len(self.accepted[i]),
            (i, r) in self.body_held,
            self.fetched.get((i, r), ()),
            self.heads.get((i, r), {}),
            j,
            hd,
        )

    def fetch_refused(self, node: str, i: int, r: int, to: str, hd: str, why: FetchDefect) -> str:
        """The violation's text for the fetch guard's failed clause ``why``."""
        if why is FetchDefect.ROUND:
            return f"{node} fetches round {r} outside 1..R"
        if why is FetchDefect.ACCEPTED:
            return f"{node} fetches round {r}, which it accepted already"
        if why is FetchDefect.BODY_HELD:
            return f"{node} fetches round {r} holding a verified body of it (from {self.body_held[(i, r)]})"
        if why is FetchDefect.FETCHED:
            return f"{node} fetches round {r} from {to} a second time"
        if why is FetchDefect.NO_HEADER:
            return f"{node} fetches round {r} from {to}, whose header-only announcement it never verified"
        seen = self.heads[(i, r)][ids(to)]
        return f"{node} fetches header {hd[:12]} from {to}, which announced {str(seen)[:12]}"

    # -- the aggregator: a fetch delivered ---------------------------------------------
    def serve_guard(self, j: int, f: FetchInfo) -> ServeDefect | None:
        """:func:`model.protocol.serve_refusal` on the trace's facts: the header ``j``
        announced for the round (if it did) and the ``(client, round)`` it served."""
        return protocol.serve_refusal(
            self.p, f.client, f.round, self.ann_header.get((j, f.round)), f.header, self.served[j]
        )

    def on_serve(self, ev: dict[str, Any]) -> None:
        """D-22: an honest aggregator answers the fetch its step delivered, if the serve
        guard holds; one ``send`` of ``announce`` (with the body) to the client follows."""
        node, r, client, hd = ev["node"], ev["round"], ev["client"], ev["header"]
        self.hist(ev, None)
        j = self.honest_agg(node)
        if j is None:
            return
        if not self.in_step(node, "serve"):
            return
        pf = self.step.fetch_in
        if pf is None:
            self.viol("D-22", f"{node} serves {client} in a step that delivered it no fetch", node=node)
            return
        f = pf.info
        if (f"C{f.client}", f.round, f.header) != (client, r, hd):
            self.viol(
                "D-22",
                f"{node} serves {client} round {r} header {hd[:12]}; the fetch delivered is "
                f"C{f.client}'s of round {f.round} header {f.header[:12]}",
                node=node,
            )
            return
        if pf.served:
            self.viol("D-22", f"{node} serves {client}'s fetch of round {r} twice in one step", node=node)
            return
        why = self.serve_guard(j, f)
        if why is not None:
            first = self.served[j].get((f.client, r))
            more = f" (served at line {first})" if first is not None else ""
            self.viol("D-22", f"{node} serves {client}'s fetch of round {r}: {why.value}{more}", node=node)
        pf.served = True
        self.served[j][(f.client, r)] = self.line
        self.expect("D-22", "announce", r, None, 1)

    # -- wire hooks ----------------------------------------------------------------------
    def on_send(self, ev: dict[str, Any]) -> None:
        super().on_send(ev)
        typ = ev["type"]
        if typ != "fetch" and typ != "announce":  # the kinds below only
            return
        node, st = ev["node"], self.step
        if st.node != node or node in self.byz_names:
            return
        if typ == "fetch" and st.fetch is not None:
            to, r, hd = st.fetch
            if ev["to"] != to:
                self.viol("D-22", f"{node}'s fetch event names {to}, its fetch goes to {ev['to']}", node=node)
            if fetch_digest(ids(node), r, hd) != ev["digest"]:
                what = f"fetch({r}, {hd[:12]})"
                self.viol("D-22", f"{node}'s fetch envelope is not {what} of its fetch event", node=node)
            self.fetch_env.setdefault(ev["digest"], FetchInfo(ids(node), r, hd))
        elif typ == "announce" and st.fetch_in is not None and st.fetch_in.served:
            client = f"C{st.fetch_in.info.client}"
            if ev["to"] != client:
                self.viol("D-22", f"{node} serves {client}'s fetch with an announce to {ev['to']}", node=node)
            else:
                self.served_msgs.add(ev["msg"])

    def on_deliver(self, ev: dict[str, Any]) -> None:
        mid, node = ev["msg"], ev["node"]
        super().on_deliver(ev)
        m = self.delivered  # the flow check's (it forgets the message, D-19)
        if m is None:
            return
        st, src, typ = self.step, m.src, m.type
        if typ == "announce" and node[0] == "C" and src[0] == "A" and isinstance(m.round, int):
            i, j, byz = ids(node), ids(src), src in self.byz_names
            if mid in self.served_msgs:
                self.served_msgs.discard(mid)
                if m.round >= len(self.accepted[i]):  # read by R-15's accept of that round
                    self.served_got.add((j, i, m.round))
                st.announce_body = True
            else:  # from an honest sender iff it is i's pusher (D-18); Byzantine: unknown
                st.announce_body = None if byz else protocol.designated(self.p, i, j)
            st.announce_header = None if byz else self.ann_header.get((j, m.round))
        elif typ == "fetch" and node[0] == "A" and node not in self.byz_names:
            f = self.fetch_env.get(m.digest)  # a relayed envelope is its signer's fetch
            if f is not None:
                st.fetch_in = PendingFetch(f, self.serve_guard(ids(node), f))

    def step_checks(self) -> None:
        """At a step's close: a client's verified announcement (delivered, not dropped)
        becomes a header (fetchable sender) or a held body; an honest aggregator's
        delivered fetch is served if its guard holds and dropped otherwise (T-STEP)."""
        st = self.step
        if st.announce is not None and not st.dropped and st.node is not None and st.node[0] == "C":
            self.note_announce(
                ids(st.node), st.announce[0], st.announce[1], st.announce_body, st.announce_header
            )
        pf = st.fetch_in
        if pf is not None and st.node is not None:
            f, why = pf.info, pf.guard
            if why is None and not pf.served:
                what = "drops" if st.dropped else "neither serves nor drops"
                msg = (
                    f"{st.node} {what} C{f.client}'s fetch of round {f.round}, which its serve guard enables"
                )
                self.viol_at(st.line, "D-22", msg, node=st.node)
            elif why is not None and not st.dropped and not pf.served:
                self.viol_at(
                    st.line,
                    "T-STEP",
                    f"{st.node} keeps C{f.client}'s fetch ({why}): not dropped",
                    node=st.node,
                )
        super().step_checks()

    def note_announce(self, i: int, src: str, r: int | None, body: bool | None, hd: str | None) -> None:
        """The client kept ``src``'s announcement of round ``r`` (not dropped): without a
        body ``src`` is fetchable (an over-approximation: R-15 (b) may hold it unverified
        for a while, docs/tamper.md). With a body (known for an honest sender only) the
        client holds a verified body of ``r`` if it had verified the sender's previous
        model (genesis, or a model it verified before as far as the trace shows:
        an under-approximation, so a fetch is never refused for a body still waiting)."""
        if not isinstance(r, int) or src[0] != "A" or r < len(self.accepted[i]):
            return
        if not body:
            self.heads.setdefault((i, r), {}).setdefault(ids(src), hd)
            return
        j = ids(src)
        model, prev = self.agg_by.get((j, r)), self.agg_by.get((j, r - 1))
        known = self.client_models.setdefault(i, {})
        if r == 1 or (prev is not None and prev in known.get(r - 1, ())):
            if model is not None:
                known.setdefault(r, set()).add(model)
            self.body_held.setdefault((i, r), src)

    def owed_fetches(self) -> None:
        """At quiescence (L-2, D-22): a correct client whose timer still has a fetchable
        honest announcer of its next round (:meth:`fetch_defect` finds nothing for the
        header it announced) never let the timer fire."""
        for i in range(self.n_c):
            node = f"C{i}"
            r = len(self.accepted[i])
            if node in self.crashed_at:
                continue
            for j, hd in sorted(self.heads.get((i, r), {}).items()):
                if not self.is_byz(f"A{j}") and self.fetch_defect(i, r, j, hd) is None:
                    self.viol(
                        "L-2",
                        f"{node} lacks round {r}'s body at quiescence; honest A{j}'s header-only "
                        "announcement makes it fetchable, and its timer never fetched from it (D-22)",
                        node=node,
                    )
                    break
