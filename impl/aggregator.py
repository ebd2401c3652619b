"""The aggregator, with its coordinator role (R-6 to R-14, R-17, D-6, D-12, D-18, D-22).

A pure state machine: ``handle(bytes, msg) -> outputs``. Everything it decides
is a rule of the spec, cited where it happens.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace

import numpy as np

from asfl.impl import crypto, inclusion
from asfl.impl import field as gf
from asfl.impl.certify import (
    EvidenceError,
    attest_signature,
    attesters,
    check_offer,
    cluster_mean,
    cluster_result,
    decode_releases,
    header_for,
    next_model,
    verified_cluster,
)
from asfl.impl.config import ProtocolConfig, client_ids
from asfl.impl.events import (
    AggregateEvent,
    AnnounceEvent,
    AttestEvent,
    CertifyEvent,
    DropEvent,
    EndorseEvent,
    EquivocationEvent,
    ProposeEvent,
    ReconstructEvent,
    ReleaseEvent,
    ServeEvent,
)
from asfl.impl.messages import (
    Announce,
    Attest,
    Attestation,
    ClusterEvidence,
    Endorse,
    Fetch,
    Header,
    Offer,
    ProposalEntry,
    Propose,
    Release,
    Submit,
    field_digest,
    model_digest,
    proposal_digest,
    share_context,
)
from asfl.impl.node import (
    Dropped,
    Output,
    PublicKeys,
    Send,
    aggregator_name,
    broadcast,
    client_name,
    open_envelope,
    send,
)
from asfl.impl.trace import b64

_RETIRED = np.zeros(0, dtype=gf.DTYPE)  # stands for a vector dropped after its last use


@dataclass
class AcceptedProposal:
    """The first valid proposal received for a ``(tau, c)``, with what this aggregator derived.

    ``entries`` is ``None`` once its round is aggregated: only the evidence of a round not yet
    aggregated reads it (R-12, R-13); the set itself stays, as a compact ``members`` array
    (D-12 and the run's reports read it; D-17)."""

    entries: tuple[tuple[int, bytes], ...] | None  # (client, sd_i) sorted by client: what pd commits to
    members: np.ndarray  # the proposed set's clients, sorted (uint32)
    pd: bytes
    md: bytes
    masked_sum: np.ndarray
    share_sum: np.ndarray  # this aggregator's share of the set's mask sum

    @property
    def clients(self) -> list[int]:
        return [int(i) for i in self.members.tolist()]


@dataclass
class ClusterResult:
    """A certified, reconstructed cluster result and the evidence that certifies it (R-12).

    ``mean`` and ``evidence`` are ``None`` once their round is aggregated (R-13 reads them
    for the current round only; see :meth:`Aggregator._retire`)."""

    mean: np.ndarray | None
    evidence: ClusterEvidence | None


@dataclass(frozen=True)
class Vote:
    """One aggregator's endorsement of ``(pd, md)`` and its envelope signature (R-9)."""

    pd: bytes
    md: bytes
    sig: bytes


@dataclass(frozen=True)
class Certificate:
    """``n_a - t_a`` endorsements on one ``(pd, md)``: endorser index -> signature (R-9)."""

    pd: bytes
    md: bytes
    sigs: dict[int, bytes]


@dataclass(frozen=True)
class ReleasedShare:
    """One aggregator's released share sum for proposal ``pd`` and its signature (R-10)."""

    pd: bytes
    share_sum: np.ndarray
    sig: bytes


@dataclass
class ClusterState:
    """Per-``(tau, c)`` state of one aggregator (§6)."""

    held: dict[int, Submit] = field(default_factory=dict)  # as coordinator, by client
    closed: bool = False
    accepted: AcceptedProposal | None = None
    endorsements: dict[int, Vote] = field(default_factory=dict)  # by endorser
    certificate: Certificate | None = None
    released: bool = False
    releases: dict[int, ReleasedShare] = field(default_factory=dict)  # by releaser
    result: ClusterResult | None = None


def _shared_ids(header: Header, ids: list[int]) -> Header:
    """``header`` with its sets' client ids the shared int objects of ``ids`` (equal values:
    the same header and digest). An aggregator keeps its own header of every round (R-17,
    D-22); its ids would otherwise keep one int object per client and round alive, decoded
    from the proposals whose entries D-17 drops."""
    sets = tuple(replace(s, clients=tuple(ids[i] for i in s.clients)) for s in header.sets)
    return replace(header, sets=sets)


def _superseded(st: ClusterState, n_aggregators: int, quorum: int) -> bool:
    """This node will never release (R-10) nor reconstruct (R-11) the proposal it accepted:
    the certificate names another one, or none can form any more (every aggregator not yet
    heard from endorsing one proposal would still leave it short of ``quorum``; a Byzantine
    coordinator equivocated)."""
    acc, cert = st.accepted, st.certificate
    if acc is None:
        return False
    if cert is not None:
        return acc.pd != cert.pd
    votes = Counter((v.pd, v.md) for v in st.endorsements.values())
    best = max(votes.values(), default=0)
    return best + n_aggregators - len(st.endorsements) < quorum


class Aggregator:
    """A correct aggregator ``A<index>``, coordinator of cluster ``index`` in every round (R-2)."""

    def __init__(
        self,
        cfg: ProtocolConfig,
        index: int,
        keys: crypto.NodeKeys,
        public: PublicKeys,
        genesis_model: np.ndarray,
        ghost: bool = False,
    ) -> None:
        self.cfg, self.index, self.keys, self.public, self.ghost = cfg, index, keys, public, ghost
        self.clusters: dict[tuple[int, int], ClusterState] = defaultdict(ClusterState)
        self.round = 0
        self.models: dict[int, np.ndarray] = {0: genesis_model}
        self.genesis_model = genesis_model
        self.headers: dict[int, Header] = {}  # my offered models' headers, by round (R-17)
        self.attestations: dict[int, dict[int, bytes]] = defaultdict(dict)  # round -> attester -> sig
        self.announced: dict[int, tuple[Attestation, ...]] = {}  # round -> the t_a + 1 announced
        self.unoffered: dict[int, tuple[ClusterEvidence, ...]] = {}  # computed, not yet offered (D-17)
        self.attested: set[tuple[int, int]] = set()  # (producer, round) I attested (R-17a)
        # client -> the rounds of its certified-and-held proposals, bit r for round r (D-12):
        # one int per client however many rounds, and a count view in O(1) per member
        self.inclusions: dict[int, int] = {}
        self.results_of: dict[int, set[int]] = defaultdict(set)  # round to aggregate -> result clusters
        # client -> the rounds whose fetch it answered, bit r for round r (D-22, D-17)
        self.served: dict[int, int] = {}
        self.all_aggregators = [aggregator_name(j) for j in range(cfg.n_aggregators)]
        self.all_clients = [client_name(i) for i in range(cfg.n_clients)]

    @property
    def done(self) -> bool:
        """It has announced its model for round ``R`` (R-13, R-14)."""
        return self.cfg.rounds in self.announced

    @property
    def rounds_done(self) -> int:
        return self.round

    def handle(self, data: bytes, msg: int) -> list[Output]:
        """Deliver one message; never raises, a failed guard becomes a ``drop`` (R-3)."""
        try:
            env, body = open_envelope(self.cfg, self.public, data)
            if isinstance(body, Submit):
                return self._on_submit(env.sender, body)
            if isinstance(body, Propose):
                return self._on_propose(env.sender, body)
            if isinstance(body, Endorse):
                return self._on_endorse(env.sender, body, env.sig)
            if isinstance(body, Release):
                return self._on_release(env.sender, body, env.sig)
            if isinstance(body, Offer):
                return self._on_offer(env.sender, body)
            if isinstance(body, Attest):
                return self._on_attest(env.sender, body)
            if isinstance(body, Fetch):
                return self._on_fetch(env.sender, body)
            raise Dropped(f"aggregators do not accept {env.kind}")
        except Dropped as exc:
            return [DropEvent(msg=msg, reason=str(exc))]

    # -- coordinator: R-6, R-7 -----------------------------------------------------

    def _on_submit(self, sender: int, sub: Submit) -> list[Output]:
        cfg = self.cfg
        if sender != sub.client:
            raise Dropped("submit signed by another client")
        if cfg.cluster_of(sub.tau, sub.client) != self.index:
            raise Dropped(f"client {sub.client} is not in my cluster in round {sub.tau} (R-2)")
        st = self.clusters[(sub.tau, self.index)]
        if st.closed:
            raise Dropped(f"cluster ({sub.tau}, {self.index}) already closed")
        if sub.client in st.held:
            raise Dropped("duplicate submission")
        if any(crypto.digest(ct) != h for ct, h in zip(sub.ciphertexts, sub.share_digests, strict=True)):
            raise Dropped("ciphertext does not match its digest")
        if not crypto.verify(self.public.client_sign[sub.client], sub.sd(), sub.client_sig):
            raise Dropped("bad client signature on submission digest")
        st.held[sub.client] = sub
        return self._try_close(sub.tau)

    def count_view(self, tau: int, members: list[int]) -> dict[int, int]:
        """``n(i)``: certified-and-held proposals of rounds before ``tau`` containing ``i`` (D-12)."""
        below = (1 << tau) - 1
        get = self.inclusions.get
        return {i: (get(i, 0) & below).bit_count() for i in members}

    def _try_close(self, tau: int) -> list[Output]:
        """Close ``(tau, me)`` if the inclusion rule allows it (R-6) and propose (R-7)."""
        cfg, st = self.cfg, self.clusters[(tau, self.index)]
        if st.closed or not st.held:
            return []
        members = cfg.clusters(tau)[self.index]
        if not inclusion.may_close(len(members), len(st.held), cfg.t_c):
            return []
        counts = self.count_view(tau, members)
        chosen = inclusion.proposed_set(
            members, counts, set(st.held), t_c=cfg.t_c, lead_bound=cfg.lead_bound, q_min=cfg.q_min
        )
        st.closed = True
        count_list = tuple(counts[i] for i in members)
        subs = [st.held[i] for i in chosen]
        out: list[Output] = []
        pd = proposal_digest(tau, self.index, [(s.client, s.sd()) for s in subs])
        for j in range(cfg.n_aggregators):
            entries = tuple(
                ProposalEntry(s.client, s.y, s.share_digests, s.ciphertexts[j], s.client_sig) for s in subs
            )
            proposal = Propose(tau, self.index, count_list, entries)
            out.append(send(self.keys, self.index, aggregator_name(j), proposal))
        event = ProposeEvent(
            tau, self.index, pd.hex(), list(chosen), list(members), list(count_list), sorted(st.held)
        )
        return [event, *out]

    # -- endorser: R-8 -------------------------------------------------------------

    def _on_propose(self, sender: int, prop: Propose) -> list[Output]:
        cfg = self.cfg
        if sender != prop.cluster:
            raise Dropped(f"proposal for cluster {prop.cluster} from A{sender}, not its coordinator (R-2)")
        st = self.clusters[(prop.tau, prop.cluster)]
        pd = prop.pd()
        if st.accepted is not None:
            if st.accepted.pd == pd:
                raise Dropped("duplicate proposal")
            return [
                EquivocationEvent(prop.tau, prop.cluster, st.accepted.pd.hex(), pd.hex()),
                DropEvent(reason="second proposal for (tau, c) (R-8)"),
            ]
        members = cfg.clusters(prop.tau)[prop.cluster]
        clients = [e.client for e in prop.entries]
        if len(set(clients)) != len(clients) or not set(clients) <= set(members):
            raise Dropped("proposal names a non-member or a client twice (R-8, S-4)")
        if len(clients) < cfg.q_min:
            raise Dropped(f"proposal of {len(clients)} clients < q_min = {cfg.q_min} (R-8, S-5)")
        if len(prop.counts) != len(members):
            raise Dropped("counts do not match the members")
        shares = [self._check_entry(prop.tau, e) for e in prop.entries]
        masked_sum = gf.vsum([e.y for e in prop.entries], cfg.dim)
        entries = tuple(sorted((e.client, e.sd(prop.tau)) for e in prop.entries))
        chosen = np.array([i for i, _ in entries], dtype=np.uint32)
        kept = entries if prop.tau >= self.round else None  # D-17: a round aggregated reads no evidence
        st.accepted = AcceptedProposal(
            kept, chosen, pd, field_digest(masked_sum), masked_sum, gf.vsum(shares, cfg.dim)
        )
        endorse = Endorse(prop.tau, prop.cluster, pd, st.accepted.md)
        return [
            EndorseEvent(prop.tau, prop.cluster, pd.hex(), st.accepted.md.hex(), sorted(clients)),
            *broadcast(self.keys, self.index, self.all_aggregators, endorse),
            *self._progress(prop.tau, prop.cluster),
        ]

    def _check_entry(self, tau: int, entry: ProposalEntry) -> np.ndarray:
        """Guards of R-8 on one entry; returns this aggregator's decrypted share."""
        j = self.index
        if crypto.digest(entry.ciphertext) != entry.share_digests[j]:
            raise Dropped(f"client {entry.client}: my ciphertext does not match h_{j}")
        if not crypto.verify(self.public.client_sign[entry.client], entry.sd(tau), entry.client_sig):
            raise Dropped(f"client {entry.client}: bad signature on submission digest")
        context = share_context(tau, entry.client, j)
        key = crypto.pair_key(self.keys, self.public.client_kx[entry.client], context)
        plain = crypto.open_sealed(key, entry.ciphertext, context)
        if plain is None:
            raise Dropped(f"client {entry.client}: share does not decrypt")
        try:
            return gf.from_bytes(plain, self.cfg.dim)
        except gf.FieldError as exc:
            raise Dropped(f"client {entry.client}: share is not a field vector: {exc}") from None

    # -- certificate, release, reconstruction: R-9 to R-12 -------------------------

    def _on_endorse(self, sender: int, endorse: Endorse, sig: bytes) -> list[Output]:
        st = self.clusters[(endorse.tau, endorse.cluster)]
        if sender in st.endorsements:
            raise Dropped(f"A{sender} already endorsed for ({endorse.tau}, {endorse.cluster})")
        st.endorsements[sender] = Vote(endorse.pd, endorse.md, sig)
        return self._progress(endorse.tau, endorse.cluster)

    def _on_release(self, sender: int, release: Release, sig: bytes) -> list[Output]:
        st = self.clusters[(release.tau, release.cluster)]
        if sender in st.releases:
            raise Dropped(f"A{sender} already released for ({release.tau}, {release.cluster})")
        unused = st.result is not None or _superseded(st, self.cfg.n_aggregators, self.cfg.quorum)
        share = _RETIRED if unused else release.share_sum
        st.releases[sender] = ReleasedShare(release.pd, share, sig)
        return self._progress(release.tau, release.cluster)

    def _progress(self, tau: int, c: int) -> list[Output]:
        """Advance ``(tau, c)`` as far as its state allows: certify, release, reconstruct, aggregate."""
        out = self._certify(tau, c) + self._release(tau, c) + self._reconstruct(tau, c) + self._advance()
        self._forget_if_superseded(self.clusters[(tau, c)])
        return out

    def _forget_if_superseded(self, st: ClusterState) -> None:
        """D-17: drop the vectors of a superseded ``(tau, c)`` (see :func:`_superseded`)."""
        cfg = self.cfg
        if st.accepted is None or st.accepted.masked_sum is _RETIRED:
            return
        if not _superseded(st, cfg.n_aggregators, cfg.quorum):
            return
        st.accepted = replace(st.accepted, masked_sum=_RETIRED, share_sum=_RETIRED)
        st.releases = {j: replace(r, share_sum=_RETIRED) for j, r in st.releases.items()}

    def _certify(self, tau: int, c: int) -> list[Output]:
        """R-9: ``n_a - t_a`` endorsements from distinct aggregators on one ``(pd, md)``."""
        st = self.clusters[(tau, c)]
        if st.certificate is not None:
            return []
        votes: dict[tuple[bytes, bytes], dict[int, bytes]] = defaultdict(dict)
        for j, vote in st.endorsements.items():
            votes[(vote.pd, vote.md)][j] = vote.sig
        for (pd, md), sigs in votes.items():
            if len(sigs) >= self.cfg.quorum:
                st.certificate = Certificate(pd, md, dict(sorted(sigs.items())))
                return [CertifyEvent(tau, c, pd.hex(), md.hex(), sorted(sigs))]
        return []

    def _release(self, tau: int, c: int) -> list[Output]:
        """R-10: release once, only for the certified proposal this aggregator holds."""
        st = self.clusters[(tau, c)]
        acc, cert = st.accepted, st.certificate
        if st.released or acc is None or cert is None or (acc.pd, acc.md) != (cert.pd, cert.md):
            return []
        st.released = True
        for client in acc.clients:  # D-12 count view
            self.inclusions[client] = self.inclusions.get(client, 0) | (1 << tau)
        release = Release(tau, c, acc.pd, acc.share_sum)
        return [
            ReleaseEvent(tau, c, acc.pd.hex(), field_digest(acc.share_sum).hex()),
            *broadcast(self.keys, self.index, self.all_aggregators, release),
        ]

    def _reconstruct(self, tau: int, c: int) -> list[Output]:
        """R-11, R-12: decode the mask sum from consistent releases and form the result."""
        st = self.clusters[(tau, c)]
        acc, cert = st.accepted, st.certificate
        if st.result is not None or acc is None or cert is None or (acc.pd, acc.md) != (cert.pd, cert.md):
            return []
        shares = {j: r.share_sum for j, r in st.releases.items() if r.pd == acc.pd}
        decoded = decode_releases(self.cfg, shares)
        if decoded is None:
            return []
        result = cluster_result(acc.masked_sum, decoded.secret)
        size = len(acc.members)
        support = [x - 1 for x in decoded.support]
        if tau < self.round or acc.entries is None:  # a late cluster of a round already aggregated:
            # R-13 will not read it (its entries are dropped from the round's aggregation on, D-17)
            st.result = ClusterResult(None, None)
            self._retire_cluster(st)
        else:
            evidence = ClusterEvidence(
                cluster=c,
                entries=acc.entries,
                md=acc.md,
                endorsements=tuple(cert.sigs.items()),
                masked_sum=acc.masked_sum,
                releases=tuple((j, st.releases[j].share_sum, st.releases[j].sig) for j in support),
            )
            st.result = ClusterResult(cluster_mean(self.cfg, result, size), evidence)
            self.results_of[tau].add(c)
        wrong = [x - 1 for x in decoded.inconsistent]
        ghost = {"sum": b64(result)} if self.ghost else None
        digest = field_digest(result).hex()
        return [ReconstructEvent(tau, c, acc.pd.hex(), support, wrong, size, digest, ghost)]

    # -- round completion: R-13; offer and attestation: R-17; announcement: R-14 ----------

    def _advance(self) -> list[Output]:
        """Aggregate every round for which ``n_a - t_a`` cluster results are held (R-13)."""
        out: list[Output] = []
        cfg = self.cfg
        while self.round < cfg.rounds:
            tau = self.round
            held = sorted(self.results_of.get(tau, ()))
            results = [(c, r) for c in held if (r := self.clusters[(tau, c)].result) is not None]
            if len(results) < cfg.quorum:
                break
            prev = self.models[tau]
            model = next_model(cfg, prev, [r.mean for _, r in results if r.mean is not None])
            self.models[tau + 1] = model
            self.round = tau + 1
            self.unoffered[tau + 1] = tuple(r.evidence for _, r in results if r.evidence is not None)
            clusters = [c for c, _ in results]
            out.append(
                AggregateEvent(
                    tau + 1, clusters, model_digest(model).hex(), model_digest(prev).hex(), cfg.rule
                )
            )
            self._retire(tau)
            out += self._offer_next()
        return out

    def _offer_next(self) -> list[Output]:
        """Offer my next computed model once the model it extends is attested (R-17)."""
        tau = len(self.headers) + 1  # offers go in round order, one per round
        evidence = self.unoffered.get(tau)
        if evidence is None or (tau > 1 and tau - 1 not in self.announced):
            return []
        del self.unoffered[tau]  # the evidence now travels in the offer (D-17)
        prev, model = self.models[tau - 1], self.models[tau]
        header = header_for(tau, model_digest(prev), model, self.cfg.rule, evidence)
        self.headers[tau] = _shared_ids(header, client_ids(self.cfg.n_clients))
        first = tau == 1
        offer = Offer(
            tau,
            self.cfg.rule,
            None if first else self.headers[tau - 1],
            () if first else self.announced[tau - 1],
            None if first else prev,
            evidence,
        )
        return list(broadcast(self.keys, self.index, self.all_aggregators, offer))

    def _on_offer(self, sender: int, offer: Offer) -> list[Output]:
        """R-17: check ``sender``'s offer statelessly and attest its header, once per
        ``(producer, round)``."""
        key = (sender, offer.tau)
        if key in self.attested:
            raise Dropped("duplicate offer")
        try:
            header, _ = check_offer(
                self.cfg, self.public.aggregator_sign, self.genesis_model, offer, self._verified_mean
            )
        except EvidenceError as exc:
            raise Dropped(f"invalid offer: {exc}") from None  # a drop changes no state
        self.attested.add(key)
        hd = header.digest()
        attest = Attest(offer.tau, sender, hd, attest_signature(self.keys, header))
        event = AttestEvent(
            offer.tau,
            aggregator_name(sender),
            header.model.hex(),
            header.prev.hex(),
            [s.cluster for s in header.sets],
            hd.hex(),
        )
        return [event, send(self.keys, self.index, aggregator_name(sender), attest)]

    def _verified_mean(self, tau: int, ev: ClusterEvidence) -> np.ndarray:
        """Recheck one cluster of an offer's evidence and return its mean (R-17c, I-2)."""
        return verified_cluster(self.cfg, self.public.aggregator_sign, tau, ev)

    def _on_attest(self, sender: int, attest: Attest) -> list[Output]:
        """R-17: keep a valid attestation on my own header; announce once ``t_a + 1`` (R-14)."""
        if attest.producer != self.index:
            raise Dropped(f"attestation for A{attest.producer}'s offer, not mine")
        header = self.headers.get(attest.tau)
        if header is None:
            raise Dropped(f"attestation for round {attest.tau}, which I have not offered")
        if attest.header_digest != header.digest():
            raise Dropped("attestation for another header")
        if sender in self.attestations[attest.tau]:
            raise Dropped(f"A{sender} already attested round {attest.tau}")
        if not attesters(self.public.aggregator_sign, header.digest(), [(sender, attest.sig)]):
            raise Dropped("bad attestation signature")
        self.attestations[attest.tau][sender] = attest.sig
        return self._announce()

    def _announce(self) -> list[Output]:
        """R-14 and D-18: announce my offered models that hold ``t_a + 1`` attestations, in
        round order, then offer the next one (R-17)."""
        out: list[Output] = []
        cfg = self.cfg
        while True:
            tau = len(self.announced) + 1
            sigs = self.attestations.get(tau, {})
            if tau not in self.headers or len(sigs) < cfg.t_a + 1:
                return out
            chosen = tuple(sorted(sigs.items())[: cfg.t_a + 1])
            self.announced[tau] = chosen
            header = self.headers[tau]
            out.append(
                AnnounceEvent(
                    tau, header.model.hex(), header.digest().hex(), [aggregator_name(j) for j, _ in chosen]
                )
            )
            n_a = cfg.n_aggregators
            pushed = self.all_clients[self.index :: n_a]  # D-18: I push the body to i mod n_a = me
            others = [c for i, c in enumerate(self.all_clients) if i % n_a != self.index]
            sends = (
                broadcast(self.keys, self.index, pushed, self._announcement(tau, body=True)) if pushed else []
            )
            if others:
                sends += broadcast(self.keys, self.index, others, self._announcement(tau, body=False))
            order = {name: k for k, name in enumerate(self.all_clients)}
            ordered: list[Send] = sorted(sends, key=lambda s: order[s.to])  # clients in index order
            out += ordered
            out += self._offer_next()

    def _announcement(self, tau: int, body: bool) -> Announce:
        """My round-``tau`` announcement (R-14), with the body or header-only (D-18)."""
        return Announce(self.headers[tau], self.announced[tau], self.models[tau] if body else None)

    def _on_fetch(self, client: int, fetch: Fetch) -> list[Output]:
        """D-22: answer a client's fetch of a round I announced under that header with my
        announcement again, with the body, once per ``(client, round)``."""
        tau = fetch.tau
        if tau not in self.announced:
            raise Dropped(f"fetch for round {tau}: not announced (D-22)")
        hd = self.headers[tau].digest()
        if fetch.header_digest != hd:
            raise Dropped(f"fetch for round {tau}: other header (D-22)")
        bits = self.served.get(client, 0)
        if bits >> tau & 1:
            raise Dropped(f"fetch for round {tau}: duplicate fetch (D-22)")
        self.served[client] = bits | 1 << tau
        name = client_name(client)
        return [
            ServeEvent(tau, name, hd.hex()),
            send(self.keys, self.index, name, self._announcement(tau, body=True)),
        ]

    def _retire(self, tau: int) -> None:
        """Round ``tau`` is aggregated: drop the payloads no rule reads any more (D-17), keep
        the digests, flags and senders that make late messages behave exactly as before
        (R-8's first proposal, the once-only release, duplicate drops)."""
        for (t, c), st in self.clusters.items():
            if t <= tau and c == self.index and st.closed and st.held:
                st.held = {}  # R-6 is done with them (clusters that closed late included)
        self.results_of.pop(tau, None)
        for c in range(self.cfg.n_aggregators):
            done = self.clusters.get((tau, c))
            if done is None or done.accepted is None:
                continue
            # R-13 has read round tau's evidence: no rule reads the entries (R-8 compares pd,
            # D-12 counts members, R-11/R-12 of a late reconstruction need the size only)
            done.accepted.entries = None
            if done.result is not None:  # else it may still be reconstructed
                self._retire_cluster(done)

    @staticmethod
    def _retire_cluster(st: ClusterState) -> None:
        """Drop a reconstructed cluster's vectors and evidence of a round already aggregated."""
        st.result = ClusterResult(None, None)
        st.releases = {j: replace(r, share_sum=_RETIRED) for j, r in st.releases.items()}
        if st.accepted is not None and st.released:
            st.accepted = replace(st.accepted, masked_sum=_RETIRED, share_sum=_RETIRED)

    # -- R-16 ------------------------------------------------------------------------

    def diagnose(self) -> str:
        """Why this aggregator cannot finish its current round, for a stalled run (R-16)."""
        cfg, tau = self.cfg, self.round
        if self.done:
            return f"A{self.index}: done"
        if self.round > len(self.announced):  # computed, waiting for attestations
            tau = len(self.announced) + 1
            n = len(self.attestations.get(tau, {}))
            return f"A{self.index} waits for attestations of its round-{tau} model: {n}/{cfg.t_a + 1} (R-17)"
        parts = []
        for c in range(cfg.n_aggregators):
            st = self.clusters.get((tau, c), ClusterState())
            if st.result is not None:
                parts.append(f"cluster {c}: result")
            elif st.accepted is None:
                parts.append(f"cluster {c}: no proposal from A{c}")
            elif st.certificate is None:
                mine = (st.accepted.pd, st.accepted.md)
                votes = sum(1 for v in st.endorsements.values() if (v.pd, v.md) == mine)
                parts.append(f"cluster {c}: {votes}/{cfg.quorum} endorsements")
            else:
                n = sum(1 for r in st.releases.values() if r.pd == st.accepted.pd)
                parts.append(f"cluster {c}: {n} releases, no {cfg.quorum} consistent")
        have = sum(1 for c in range(cfg.n_aggregators) if self.clusters.get((tau, c), ClusterState()).result)
        return f"A{self.index} stuck in round {tau}: {have}/{cfg.quorum} cluster results ({'; '.join(parts)})"
