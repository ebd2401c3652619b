"""The checker's state: what the trace has shown so far, per node, plus the abstract
model state of every honest aggregator (:class:`asfl.model.types.View` per
``(round, cluster)``), which the rule modules advance by the model's own actions
(specs/refinement.md). Every attribute is created in :meth:`CheckerBase.init_state`."""

from __future__ import annotations

from collections import deque
from typing import Any

from asfl.checker.obligations import TraceObligations
from asfl.checker.privacy import FreshNoise
from asfl.checker.records import (
    AcceptCount,
    Attestation,
    Author,
    CertInfo,
    Decoded,
    Envelope,
    FetchInfo,
    Mark,
    MaskUse,
    PendingOffer,
    RangeFields,
    Report,
    Sent,
    Stamped,
    Step,
    Submission,
    Unusable,
    Violation,
)
from asfl.checker.schema import TraceSchema
from asfl.checker.sigs import SignatureChecker
from asfl.model.params import Params
from asfl.model.types import Proposal, View

HISTORY_LIMIT = 40
#: histories keep the latest events only (memory bounded by the state, not the trace)
HISTORY_KEEP = 4 * HISTORY_LIMIT
#: ... for the most recently opened ``(round, cluster)`` keys only (D-21: a history is
#: context for a violation's report, no verdict reads it)
HISTORY_KEYS = 64
#: Upper bounds on the header's sizes (checked before anything is allocated).
MAX_CLIENTS = 100_000
MAX_AGGREGATORS = 10_000
MAX_ROUNDS = 100_000
MAX_DIM = 10_000_000
#: field sizes of a packed envelope author (:meth:`CheckerBase.pack_author`): kinds,
#: rounds + 1 and clusters + 1 (above the header's bounds)
AUTHOR_KINDS = 2**5
AUTHOR_ROUNDS = 2**20
AUTHOR_CLUSTERS = 2**14
#: packed authors decoded and kept (a broadcast's deliveries decode one author)
AUTHOR_CACHE = 4096


def ids(name: str) -> int:
    return int(name[1:])


class CheckerBase:
    """Shared state and helpers of the rule modules (flow, clients, aggregators, end)."""

    rep: Report
    p: Params
    line: int
    events: int
    ended: bool
    end: dict[str, Any] | None
    end_line: int
    cur_node: str | None
    step: Step
    obligations: TraceObligations | None
    sigs: SignatureChecker
    delta: float
    use_z3: bool
    sig_mode: str
    schema: TraceSchema
    byz_names: frozenset[str]

    # -- header ----------------------------------------------------------------------
    def init_state(self, h: dict[str, Any]) -> None:
        """Bound-check the header (exit 2 naming the field), then create all state."""
        cfg = h["config"]
        for name, hi in (
            ("clients", MAX_CLIENTS),
            ("aggregators", MAX_AGGREGATORS),
            ("rounds", MAX_ROUNDS),
            ("dim", MAX_DIM),
        ):
            if cfg[name] > hi:
                raise Unusable(1, f"header config.{name} = {cfg[name]} exceeds the checker's bound {hi}")
        n_a, t_a, n_c = cfg["aggregators"], cfg["t_a"], cfg["clients"]
        if n_a < 3 * t_a + 1:
            raise Unusable(1, f"header config.t_a = {t_a} breaks n_a >= 3 t_a + 1 (n_a = {n_a}, R-1)")
        if cfg["t_c"] >= n_c:
            raise Unusable(1, f"header config.t_c = {cfg['t_c']} is not below config.clients = {n_c}")
        for j in h["byzantine"]:
            if not 0 <= j < n_a:
                raise Unusable(1, f"header byzantine id {j} out of range")
        for i in h["crashed"]:
            if not 0 <= i < n_c:
                raise Unusable(1, f"header crashed id {i} out of range")
        try:
            genesis = bytes.fromhex(cfg["genesis"])
        except ValueError:
            raise Unusable(1, "header config.genesis is not hex") from None
        self.p = Params(
            n_a=n_a,
            t_a=t_a,
            n_c=n_c,
            t_c=cfg["t_c"],
            q_min=cfg["q_min"],
            B=cfg["lead_bound"],
            R=cfg["rounds"],
            genesis=genesis,
            byzantine=frozenset(h["byzantine"]),
            crashed=frozenset(h["crashed"]),
        )
        self.n_a, self.t_a, self.n_c, self.t_c = n_a, t_a, n_c, cfg["t_c"]
        self.q_min, self.R, self.dim, self.rule = cfg["q_min"], cfg["rounds"], cfg["dim"], cfg["rule"]
        self.z: float = cfg["noise_multiplier"]
        self.quorum = n_a - t_a
        self.byz = set(h["byzantine"])
        self.byz_names = frozenset(f"A{b}" for b in self.byz)
        self.crashed_cfg = set(h["crashed"])
        self.header: dict[str, Any] = h
        self.ghost: bool = h["ghost"]
        self.genesis_model: str = h["genesis_model"]
        self.honest_aggs = [j for j in range(n_a) if j not in self.byz]
        self.sigs = SignatureChecker(h["keys"], enabled=self.sig_mode == "all")
        self.obligations = TraceObligations(n_a, t_a) if self.use_z3 else None
        self.line = 1
        self.events = 0
        self.ended = False
        self.end = None
        self.end_line = 0
        self.cur_node = None
        self.step = Step()
        # range checks: the fields each kind has, node names already found in range
        self.range_fields: dict[str, RangeFields] = {}
        self.known_nodes: set[str] = set()
        # kind -> what ``Checker.feed`` reads (its range test is generated from the header)
        self.plans: dict[str, tuple[Any, ...]] = {}
        # wire (T-FLOW, D-19): the messages in flight only, the last id sent, and per
        # client the announces it holds from earlier steps (R-15b), which it may drop later
        self.msgs: dict[int, Sent] = {}
        self.delivered: Sent | None = None  # the message of the deliver being checked
        self.last_id: int | None = None
        # the latest envelopes whose send checked clean as their sender's own (I-4, at
        # most flow.CLEAN_ENVELOPES, oldest forgotten first): a broadcast's later sends of
        # them are not checked again (the author an envelope's check reads is never
        # replaced, its signature verifies or not forever: the same verdict)
        self.clean_envelopes: dict[Envelope, None] = {}
        self.held: dict[str, dict[int, tuple[str, int | None]]] = {}  # client -> id -> (src, round)
        # envelope digest -> its author: the honest node that signed it (signature
        # verified), else the Byzantine node that sent it first. A forwarded copy of the
        # envelope counts as the signer's message. Kept for every envelope (D-21), so
        # packed: the digest's 32 bytes -> one int (:meth:`pack_author`, :meth:`author_of`)
        self.author: dict[bytes, int | Author] = {}
        self.byz_author: dict[bytes, int | Author] = {}
        self.kind_code: dict[str, int] = {}  # envelope kind -> its code in a packed author
        self.kind_names: list[str] = []
        self.authors_unpacked: dict[int, Author] = {}  # the last ones decoded (bounded)
        # per (round, cluster) (cluster None: offers, attestations): the line of each honest
        # node's first send of a kind, and which honest aggregator got which kind from whom
        # (the facts :meth:`received` reads; forgotten when the cluster settles, D-21)
        self.first_sent: dict[tuple[int | None, int | None], dict[tuple[str, str], int]] = {}
        # node -> line of its last opaque Byzantine deliver it did not drop
        self.last_wild: dict[str, int] = {}
        self.got: dict[tuple[int | None, int | None], set[tuple[str, str, str]]] = {}
        self.got_announce: set[tuple[str, str]] = set()  # (client, aggregator)
        self.releases_got: dict[tuple[str, int, int], set[int]] = {}  # (node,tau,c) -> releasers
        # D-21: the settled clusters (every rule reading their facts is disabled): per
        # cluster c every round below settled_below[c], and the later ones
        self.settled_below: list[int] = [0] * n_a
        self.settled_above: set[tuple[int, int]] = set()
        # clients
        self.crashed_at: dict[str, int] = {}
        self.masks: dict[bytes, MaskUse] = {}  # fingerprint of a ghost mask -> first use (P-2)
        self.fresh = FreshNoise(h)  # P-5, decided online on fingerprints
        self.sub_index: dict[tuple[int, int], list[int]] = {}  # (tau, c) -> clients submitted
        self.accepted: dict[int, list[str]] = {i: [self.genesis_model] for i in range(n_c)}
        self.submitted: dict[int, set[int]] = {i: set() for i in range(n_c)}
        self.accept_counts: list[AcceptCount] = []
        self.unmatched_accepts = 0
        self.subs: dict[tuple[int, int], Submission] = {}  # (tau, i)
        # aggregators: the model's views of each honest aggregator, and digests
        self.views: dict[int, dict[tuple[int, int], View]] = {j: {} for j in self.honest_aggs}
        self.rounds: dict[int, int] = dict.fromkeys(self.honest_aggs, 0)  # model AggState.round
        self.models: dict[int, list[str]] = {j: [self.genesis_model] for j in self.honest_aggs}
        self.proposed: dict[tuple[int, int], Stamped] = {}  # (tau, c) -> honest proposal
        self.props: dict[str, Proposal] = {}  # pd -> proposal (honest propose)
        self.endorsed_sets: dict[str, Proposal] = {}  # pd -> proposal named by honest endorsers
        self.inferred: dict[str, Proposal] = {}  # pd -> proposal found from ghost sums
        self.endorsed: dict[tuple[int, int, int], Stamped] = {}  # (j, tau, c)
        self.endorsers: dict[str, set[int]] = {}  # pd -> honest endorsers
        self.md_of: dict[str, str] = {}
        self.certified: dict[tuple[int, int, int], Stamped] = {}
        self.cert_pds: dict[tuple[int, int], dict[str, int]] = {}  # (tau,c) -> pd -> first line
        self.cert_info: dict[str, CertInfo] = {}
        self.owner: dict[tuple[int, int], str] = {}  # (tau, i) -> certified pd containing it
        self.released: dict[tuple[int, int, int], Stamped] = {}
        self.recon: dict[tuple[int, int, int], Decoded] = {}
        self.results: dict[str, str] = {}  # pd -> result digest
        self.p1_unsearched = 0  # revealed sums of unnamed sets beyond the subset budget
        self.agg_models: dict[tuple[int, str], int] = {}  # (round, model digest) -> producer
        self.agg_by: dict[tuple[int, int], str] = {}  # (j, round) -> model digest
        # attestations and announcements of honest aggregators
        self.attest_by: dict[tuple[int, str, int], Attestation] = {}  # (k, producer, round)
        self.honest_attested: dict[tuple[int, str], set[int]] = {}  # (round, model) -> attesters
        self.headers: dict[str, tuple[int, str]] = {}  # header digest -> (round, model)
        self.announced: dict[tuple[int, int], int] = {}  # (j, round) -> line
        self.offer_wait: dict[int, int] = {}  # j -> round aggregated, offered once r-1 announced
        self.pending_offers: dict[int, PendingOffer] = {}  # message id -> offer owed an answer
        # D-22 / D-18: what the trace shows of headers, bodies and fetches
        self.ann_header: dict[tuple[int, int], str] = {}  # (j, round) -> header announced
        self.heads: dict[tuple[int, int], dict[int, str | None]] = {}  # (i, r) -> j -> header
        self.body_held: dict[tuple[int, int], str] = {}  # (i, r) -> sender of a verified body
        # i -> round -> models it verified (as far as shown; rounds below its newest accepted
        # one forgotten at the accept, D-22: only round r - 1's models decide a body of r)
        self.client_models: dict[int, dict[int, set[str]]] = {}
        self.fetched: dict[tuple[int, int], set[int]] = {}  # (i, r) -> aggregators fetched from
        self.fetch_env: dict[str, FetchInfo] = {}  # digest of a fetch envelope -> what it asks
        self.served: dict[int, dict[tuple[int, int], int]] = {j: {} for j in self.honest_aggs}
        # ^ j -> (i, r) served -> line of the serve (model AggState.served)
        self.served_msgs: set[int] = set()  # ids of served announces in flight
        self.served_got: set[tuple[int, int, int]] = set()  # (j, i, r): a served body delivered
        # histories
        self.hist_tc: dict[tuple[int, int], deque[Mark]] = {}
        self.hist_node: dict[str, deque[int]] = {}

    # -- reporting -------------------------------------------------------------------
    def viol(self, prop: str, msg: str, key: tuple[int, int] | None = None, node: str | None = None) -> None:
        hist: list[int] = []
        if key is not None:
            # protocol events of every node on (tau, c), wire events of this node only
            me = self.cur_node
            hist = [
                m.line
                for m in self.hist_tc.get(key, ())
                if m.line < self.line and (m.protocol or m.node == me)
            ]
        elif node is not None:
            hist = [x for x in self.hist_node.get(node, ()) if x < self.line]
        self.rep.violations.append(Violation(prop, self.line, msg, hist[-HISTORY_LIMIT:]))

    def viol_at(self, line: int, prop: str, msg: str, **kw: Any) -> None:
        """A violation attributed to an earlier line (step and end-of-trace checks)."""
        saved, self.line = self.line, line
        self.viol(prop, msg, **kw)
        self.line = saved

    def hist(self, ev: dict[str, Any], key: tuple[int, int] | None) -> None:
        if key is not None:
            self.mark(key, Mark(self.line, ev["node"], True))
        h = self.hist_node.get(ev["node"])
        if h is None:  # (not setdefault: that builds a deque per event)
            h = self.hist_node[ev["node"]] = deque(maxlen=HISTORY_KEEP)
        h.append(self.line)

    def mark(self, key: tuple[int, int], m: Mark) -> None:
        below, c = self.settled_below, key[1]  # is_settled, inlined (a mark per wire event)
        if 0 <= c < len(below) and (key[0] < below[c] or key in self.settled_above):
            return  # D-21: a settled cluster's history is gone
        tc = self.hist_tc
        h = tc.get(key)
        if h is None:
            if len(tc) >= HISTORY_KEYS:  # D-21: the oldest opened history goes first
                del tc[next(iter(tc))]
            h = tc[key] = deque(maxlen=HISTORY_KEEP)
        h.append(m)

    # -- D-21: what the checker forgets ----------------------------------------------
    def is_settled(self, tau: int, c: int) -> bool:
        below = self.settled_below
        return 0 <= c < len(below) and (tau < below[c] or (tau, c) in self.settled_above)

    def settle_if_done(self, tau: int, c: int) -> None:
        """D-21: once every honest aggregator has reconstructed ``(tau, c)`` (and an honest
        coordinator has proposed it) no model guard on it is enabled again, so every
        later honest event on it is refused by the guard it fails; the facts only those
        events read are forgotten: the ghost updates of its submissions (P-1; P-2 and P-5
        keep fingerprints), who received what and the first sends on it (T-FLOW's
        :meth:`received`), the releases delivered (R-11 at quiescence), its history."""
        if c >= self.n_a or self.is_settled(tau, c):
            return
        if c not in self.byz and (tau, c) not in self.proposed:
            return
        key = (tau, c)
        for j in self.honest_aggs:
            v = self.views[j].get(key)
            if v is None or v.result is None:
                return
        for i in self.sub_index.pop(key, ()):
            s = self.subs.get((tau, i))
            if s is not None and s.cluster == c and not s.forgotten:
                self.subs[(tau, i)] = Submission(s.cluster, s.sd, None, s.line, forgotten=True)
        self.got.pop(key, None)
        self.first_sent.pop(key, None)
        self.hist_tc.pop(key, None)
        for j in self.honest_aggs:
            self.releases_got.pop((f"A{j}", tau, c), None)
        above, below = self.settled_above, self.settled_below
        above.add(key)
        while (below[c], c) in above:
            above.discard((below[c], c))
            below[c] += 1

    def forget_accepted(self, i: int, old: int, r: int) -> None:
        """Client ``i`` accepted round ``r`` (it had accepted ``old`` rounds, genesis
        included). D-22's records of rounds ``old .. r`` (header-only announcements
        verified, aggregators fetched from, a verified body held, served bodies delivered)
        are read only by the fetch guard of a round not accepted (its ``accepted`` clause
        comes first), by L-2 for the next round, and by R-15's accept of that very round
        (a second accept of it is refused first): all dead now. Of the models it verified
        only those of round ``r`` and later can be a ``prev`` it checks again. The
        announces it held of rounds up to ``r`` can no longer be dropped (D-24)."""
        heads, fetched, body, served = self.heads, self.fetched, self.body_held, self.served_got
        for t in range(old, r + 1):
            heads.pop((i, t), None)
            fetched.pop((i, t), None)
            body.pop((i, t), None)
            if served:
                for j in self.honest_aggs:
                    served.discard((j, i, t))
        known = self.client_models.get(i)
        if known:
            for t in [t for t in known if t < r]:
                del known[t]
        held = self.held.get(f"C{i}")
        if held:
            for mid in [k for k, (_, t) in held.items() if isinstance(t, int) and t <= r]:
                del held[mid]

    # -- envelope authors (D-21: one record per signed envelope, packed) ---------------
    def pack_author(self, a: Author) -> int | Author:
        """``a`` as one int: signer (role bit and index), kind code, round + 1 and cluster
        + 1 (0: none) in fields of 5, 20 and 14 bits under the signer; ``a`` itself when a
        field does not fit (a round or cluster no valid trace has)."""
        code = self.kind_code.get(a.type)
        if code is None:
            code = self.kind_code[a.type] = len(self.kind_names)
            self.kind_names.append(a.type)
        r, c = a.round, a.cluster
        r1 = 0 if r is None else r + 1 if type(r) is int and 0 <= r < AUTHOR_ROUNDS - 1 else -1
        c1 = 0 if c is None else c + 1 if type(c) is int and 0 <= c < AUTHOR_CLUSTERS - 1 else -1
        if r1 < 0 or c1 < 0 or code >= AUTHOR_KINDS:
            return a
        who = 2 * ids(a.signer) + (a.signer[0] == "C")
        return ((who * AUTHOR_KINDS + code) * AUTHOR_ROUNDS + r1) * AUTHOR_CLUSTERS + c1

    def unpack_author(self, v: int | Author) -> Author:
        if isinstance(v, Author):
            return v
        cache = self.authors_unpacked
        a = cache.get(v)
        if a is None:
            if len(cache) >= AUTHOR_CACHE:
                cache.clear()
            w, c1 = divmod(v, AUTHOR_CLUSTERS)
            w, r1 = divmod(w, AUTHOR_ROUNDS)
            who, code = divmod(w, AUTHOR_KINDS)
            signer = f"{'AC'[who & 1]}{who >> 1}"
            kind = self.kind_names[code]
            a = cache[v] = Author(signer, kind, r1 - 1 if r1 else None, c1 - 1 if c1 else None)
        return a

    def author_of(self, key: bytes, byz: bool = True) -> Author | None:
        """The author of the envelope whose digest is ``key`` (its bytes): its honest
        signer's, else (if ``byz``) the one its first Byzantine send recorded."""
        v = self.author.get(key)
        if v is None:
            v = self.byz_author.get(key) if byz else None
            if v is None:
                return None
        if type(v) is int:  # the common case, inlined
            a = self.authors_unpacked.get(v)
            if a is not None:
                return a
        return self.unpack_author(v)

    # -- who is who ------------------------------------------------------------------
    def is_byz(self, node: str) -> bool:
        return node in self.byz_names

    def honest_agg(self, node: str) -> int | None:
        """Aggregator id of an honest aggregator, else report and return None."""
        if node[0] != "A":
            self.viol("T-STEP", f"{node} is not an aggregator")
            return None
        j = ids(node)
        if j in self.byz:
            self.viol("T-STEP", f"Byzantine {node} wrote a protocol event")
            return None
        return j

    def in_step(self, node: str, what: str) -> bool:
        if self.step.node != node:
            self.viol("T-STEP", f"{what} by {node} outside a step of {node} (step of {self.step.node})")
            return False
        if node in self.crashed_at:
            self.viol("T-STEP", f"{what} by {node} after its crash")
            return False
        return True

    def received(self, node: str, typ: str, src: str, tau: int, c: int | None) -> bool:
        """Was a ``typ`` message of ``src`` for (tau, c) delivered to ``node``? Also
        true when ``src`` had sent one (to anyone) before a Byzantine node delivered
        to ``node`` a message labelled junk that ``node`` did not drop: the trace does
        not say what such a message carried, so it may have been ``src``'s envelope
        (any Byzantine node can carry any Byzantine node's signed message). A dropped
        message changed nothing (R-3)."""
        got = self.got.get((tau, c))
        if got is not None and (node, typ, src) in got:
            return True
        wild = self.last_wild.get(node, 0)
        st = self.step
        if st.wild and st.node == node and not st.dropped:  # this step's, not dropped (yet)
            wild = st.line
        if self.is_byz(src):  # colluding Byzantine nodes sign anything
            return wild > 0
        first = self.first_sent.get((tau, c))
        sent = None if first is None else first.get((src, typ))
        return sent is not None and wild > sent

    # -- proposals -------------------------------------------------------------------
    def clusters(self, tau: int) -> tuple[tuple[int, ...], ...]:
        return self.p.clusters(tau)

    def proposal_of(self, pd: str) -> Proposal | None:
        """The proposal a digest stands for: from the honest coordinator's ``propose``,
        else from an honest ``endorse`` (Byzantine coordinators), else inferred from
        ghosts."""
        return self.props.get(pd) or self.endorsed_sets.get(pd) or self.inferred.get(pd)

    def clients_of(self, pd: str) -> tuple[int, ...] | None:
        q = self.proposal_of(pd)
        return None if q is None else q.clients

    def as_proposal(self, tau: int, c: int, pd: str) -> Proposal:
        """The model's value for ``pd``; a digest whose set no event names stands for the
        empty set, which no honest aggregator holds (so the model's guards refuse it)."""
        return self.proposal_of(pd) or Proposal(tau, c, ())

    def view(self, j: int, tau: int, c: int) -> View:
        return self.views[j].get((tau, c)) or View()

    def set_view(self, j: int, tau: int, c: int, v: View) -> None:
        self.views[j][(tau, c)] = v
