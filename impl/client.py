"""The client: local steps, masked submissions, attested-model acceptance and body fetches
(R-4, R-5, R-15, D-12, D-13, D-22)."""

from __future__ import annotations

from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from asfl.impl import crypto, shamir
from asfl.impl import field as gf
from asfl.impl.certify import EvidenceError, check_attested, check_sets
from asfl.impl.config import ProtocolConfig
from asfl.impl.events import AcceptEvent, DropEvent, FetchEvent, LocalStepEvent, SubmitEvent
from asfl.impl.learning.noise import noisy_update
from asfl.impl.learning.quantize import clip_l2, quantize
from asfl.impl.messages import (
    Announce,
    Fetch,
    Submit,
    model_digest,
    same_model,
    share_context,
    submission_digest,
)
from asfl.impl.node import (
    CancelTimer,
    Dropped,
    Output,
    PublicKeys,
    RequestLocalStep,
    Timer,
    aggregator_name,
    open_envelope,
    send,
)
from asfl.impl.round_records import Inclusions, SetKey, VerifiedDigests
from asfl.impl.trace import b64

Trainer = Callable[[np.ndarray, np.random.Generator], np.ndarray]
"""``trainer(model, rng) -> stochastic gradient`` on the client's own data (injected)."""

Entropy = Callable[[int], bytes]
"""``entropy(n) -> n random bytes`` for mask and coefficient seeds (injected, D-2)."""


@dataclass
class PendingAnnounce:
    """An announcement that passed R-15 (a), (c)-(e) but whose ``prev`` is not yet verified
    (R-15b)."""

    checked: CheckedAnnounce
    msg: int

    @property
    def announce(self) -> Announce:
        return self.checked.announce


class CheckedAnnounce:
    """An ``announce`` that passed every check its bytes alone determine (R-15 a, c, d, e),
    whoever receives it: R-3, the round range, the header's sets and rule, ``t_a + 1``
    valid attestations from distinct aggregators, and the body's digest."""

    def __init__(self, sender: int, announce: Announce, attesters: set[int]) -> None:
        self.sender, self.announce = sender, announce
        self.attesters = sorted(attesters)  # the valid attesters R-15d counted
        self.model_digest = announce.header.model
        self._body_ok: bool | None = None  # R-15e's outcome, once checked
        self._keys: list[SetKey] | None = None

    def check_body(self) -> None:
        """R-15e: a body's model digest is the header's, or raise :class:`Dropped`. Hashed
        once per message (a body can be megabytes), on first need: see ``Client._check_body``."""
        if self._body_ok is None:
            body = self.announce.body
            self._body_ok = body is None or model_digest(body) == self.model_digest
        if not self._body_ok:
            raise Dropped("body digest does not match the header (R-15e)")

    def sets_with(self, client: int) -> list[SetKey]:
        """The ``(cluster, pd)`` of the header's sets that list ``client`` (D-12): one pair
        object per set, shared by the clients it lists (they keep it, D-17). A set's clients
        are sorted and distinct (R-15c, checked), so membership is a binary search: no index
        by client is built (it cost about 170 bytes per listed client and message, kept by
        the shared checker for its most recent messages)."""
        sets = self.announce.header.sets
        if self._keys is None:
            self._keys = [(s.cluster, s.pd) for s in sets]
        out = []
        for s, key in zip(sets, self._keys, strict=True):
            k = bisect_left(s.clients, client)
            if k < len(s.clients) and s.clients[k] == client:
                out.append(key)
        return out


class AnnounceChecker:
    """Checks ``announce`` messages: a memo of a pure function (R-3, R-15 a, c, d; e is
    :meth:`CheckedAnnounce.check_body`, run by the client when it needs it).

    These checks depend only on the bytes, the configuration and the public keys, so a
    runtime may share one checker between its clients: each check then runs once per
    distinct message instead of once per recipient, and still runs in full. Results are
    kept for the ``capacity`` most recently used messages, so memory does not grow with
    rounds.
    """

    def __init__(self, cfg: ProtocolConfig, public: PublicKeys, capacity: int = 64) -> None:
        self.cfg, self.public, self.capacity = cfg, public, capacity
        self._announces: OrderedDict[bytes, CheckedAnnounce | str] = OrderedDict()

    def check(self, data: bytes) -> CheckedAnnounce:
        """Check an announce's bytes (R-15 a, c, d) or raise :class:`Dropped`."""
        hit = self._announces.get(data)
        if hit is None:
            try:
                hit = self._open(data)
            except Dropped as exc:
                hit = str(exc)  # a failure is kept as its reason and raised again on every use
            self._announces[data] = hit
            if len(self._announces) > self.capacity:
                self._announces.popitem(last=False)
        else:
            self._announces.move_to_end(data)
        if isinstance(hit, str):
            raise Dropped(hit)
        return hit

    def _open(self, data: bytes) -> CheckedAnnounce:
        cfg = self.cfg
        env, ann = open_envelope(cfg, self.public, data)
        if not isinstance(ann, Announce):
            raise Dropped(f"clients accept only announce, got {env.kind}")
        if not 1 <= ann.tau <= cfg.rounds:
            raise Dropped(f"announce for round {ann.tau} outside [1, {cfg.rounds}]")
        try:
            check_sets(cfg, ann.header)
            valid = check_attested(cfg, self.public.aggregator_sign, ann.header, ann.attestations)
        except EvidenceError as exc:
            raise Dropped(f"uncertified announce: {exc}") from None
        return CheckedAnnounce(env.sender, ann, valid)


@dataclass
class FetchState:
    """D-22's records of one round not yet accepted: the aggregators whose header-only
    announcement the client verified (with that header's digest), those it fetched from,
    and whether its timer is armed. Dropped once the round is accepted (D-17)."""

    headers: dict[int, bytes] = field(default_factory=dict)  # aggregator -> header digest
    fetched: set[int] = field(default_factory=set)
    armed: bool = False

    def fetchable(self) -> list[int]:
        """D-22: verified header-only senders not fetched from yet, in index order."""
        return sorted(j for j in self.headers if j not in self.fetched)


@dataclass
class ClientState:
    """What a client remembers (§5, D-17). Models are accepted in round order (R-15), so the
    accepted rounds are ``0 .. latest``; only the newest one's digest is read (R-15e)."""

    momentum: np.ndarray
    model: np.ndarray  # the body of the newest accepted model (D-13 trains on it)
    verified: VerifiedDigests  # verified header model digests by round (R-15b)
    latest: int  # the newest accepted round (R-15, D-13, R-16)
    latest_digest: bytes  # the model digest of round ``latest``, trained on
    pending: dict[tuple[int, int], PendingAnnounce] = field(default_factory=dict)
    next_submit: int = 0  # rounds below this one are submitted
    stepping: bool = False  # a local step has been requested and not yet run
    included: Inclusions = field(default_factory=Inclusions)  # verified (round, c, pd) with me (D-12)
    ahead: dict[int, CheckedAnnounce] = field(default_factory=dict)  # verified bodies, rounds > next
    fetch: dict[int, FetchState] = field(default_factory=dict)  # rounds not accepted (D-22)

    def accepted(self, tau: int) -> bool:
        """Whether a model of round ``tau`` was accepted."""
        return 0 <= tau <= self.latest


class Client:
    """A correct client ``C<index>``: a pure state machine (inputs: start, local step, bytes)."""

    def __init__(
        self,
        cfg: ProtocolConfig,
        index: int,
        keys: crypto.NodeKeys,
        public: PublicKeys,
        genesis_model: np.ndarray,
        trainer: Trainer,
        rng: np.random.Generator,
        entropy: Entropy,
        ghost: bool = False,
        checker: AnnounceChecker | None = None,
    ) -> None:
        """``checker`` may be shared by the clients of one runtime (see :class:`AnnounceChecker`)."""
        self.cfg, self.index, self.keys, self.public = cfg, index, keys, public
        self.trainer, self.rng, self.entropy, self.ghost = trainer, rng, entropy, ghost
        self.checker = checker if checker is not None else AnnounceChecker(cfg, public)
        digest = model_digest(genesis_model)
        self.state = ClientState(
            momentum=np.zeros(cfg.dim),
            model=genesis_model,
            verified=VerifiedDigests(digest),
            latest=0,
            latest_digest=digest,
        )

    @property
    def done(self) -> bool:
        """Accepted a model for the last round and submitted for every round (R-16)."""
        return self.state.accepted(self.cfg.rounds) and self.state.next_submit >= self.cfg.rounds

    @property
    def rounds_done(self) -> int:
        return self.state.latest

    def start(self) -> list[Output]:
        """Round 0 trains on the genesis model: ask for the first local step."""
        self.state.stepping = True
        return [RequestLocalStep()]

    # -- R-4 / R-5 / D-13 ----------------------------------------------------------

    def local_step(self) -> list[Output]:
        """Train on the newest accepted model and submit for every round not yet submitted."""
        st, cfg = self.state, self.cfg
        st.stepping = False
        latest = st.latest
        out: list[Output] = [LocalStepEvent(latest)]
        gradient = self.trainer(st.model, self.rng)
        st.momentum = cfg.beta * st.momentum + (1.0 - cfg.beta) * gradient
        for tau in range(st.next_submit, min(latest, cfg.rounds - 1) + 1):
            out += self._submit(tau)
        st.next_submit = max(st.next_submit, min(latest, cfg.rounds - 1) + 1)
        return out

    def _submit(self, tau: int) -> list[Output]:
        """Mask, share, encrypt and sign one submission for round ``tau`` (R-5)."""
        cfg = self.cfg
        q = quantize(clip_l2(self.state.momentum, cfg.clip), cfg.frac_bits, cfg.quant_bound)
        x = noisy_update(q, cfg.client_noise_var, self.rng)  # D-9: Skellam after rounding
        mask = crypto.prg_field_vector(self.entropy(32), cfg.dim, b"mask")
        y = gf.add(x, mask)
        shares = shamir.share_vector(mask, cfg.t_a, cfg.n_aggregators, self.entropy(32))
        cts = []
        for j, share in enumerate(shares):
            context = share_context(tau, self.index, j)
            key = crypto.pair_key(self.keys, self.public.aggregator_kx[j], context)
            cts.append(crypto.seal(key, gf.words_view(share), context))
        digests = tuple(crypto.digest(ct) for ct in cts)
        sd = submission_digest(tau, self.index, y, digests)
        submit = Submit(tau, self.index, y, digests, tuple(cts), self.keys.sign(sd))
        cluster = cfg.cluster_of(tau, self.index)
        ghost = {"x": b64(x), "r": b64(mask)} if self.ghost else None
        return [
            SubmitEvent(tau, cluster, sd.hex(), ghost),
            send(self.keys, self.index, aggregator_name(cluster), submit, cluster=cluster),
        ]

    # -- R-15 ----------------------------------------------------------------------

    def handle(self, data: bytes, msg: int) -> list[Output]:
        """Deliver one message; never raises (R-3)."""
        try:
            return self._handle(data, msg)
        except Dropped as exc:
            return [DropEvent(msg=msg, reason=str(exc))]

    def _handle(self, data: bytes, msg: int) -> list[Output]:
        checked = self.checker.check(data)  # R-15 (a), (c), (d), once per distinct message
        self._check_body(checked)  # R-15 (e)
        ann, st = checked.announce, self.state
        if st.verified.has(ann.tau, checked.model_digest):
            if self._body_wanted(checked):  # the body of a verified header
                return self._take_body(checked)
            if self._fetchable(checked):  # D-22: another sender of a verified header
                return self._headless(checked)
            raise Dropped("duplicate announce")
        if (checked.sender, ann.tau) in st.pending:
            raise Dropped("duplicate announce")
        st.pending[(checked.sender, ann.tau)] = PendingAnnounce(checked, msg)
        return self._settle()

    def _check_body(self, checked: CheckedAnnounce) -> None:
        """R-15e, or raise :class:`Dropped`. A body byte for byte equal to the body this client
        accepted for its newest round, under the same header digest, has that digest: it is
        compared, not hashed (a second copy of the body accepted: a fetch answered late)."""
        ann, st = checked.announce, self.state
        if ann.body is None:
            return
        tau = ann.tau
        if tau == st.latest and st.latest_digest == checked.model_digest and same_model(ann.body, st.model):
            return
        checked.check_body()

    def _settle(self) -> list[Output]:
        """Verify every pending announcement whose ``prev`` is verified, repeatedly (R-15b)."""
        out: list[Output] = []
        progress = True
        while progress:
            progress = False
            for key, pending in sorted(self.state.pending.items()):
                ann = pending.announce
                if not self.state.verified.has(ann.tau - 1, ann.header.prev):
                    continue
                del self.state.pending[key]
                progress = True
                out += self._verify(pending.checked)
        return out

    def _verify(self, checked: CheckedAnnounce) -> list[Output]:
        """The header is verified: it counts for R-15b and D-12; train on its body if it is
        the first verified body of its round (R-15)."""
        st, ann = self.state, checked.announce
        if st.verified.add(ann.tau, checked.model_digest):  # not verified meanwhile
            for key in checked.sets_with(self.index):
                st.included.add(ann.tau - 1, key)
        if self._body_wanted(checked):
            return self._take_body(checked)
        return self._headless(checked)

    # -- D-22 ----------------------------------------------------------------------

    def _headless(self, checked: CheckedAnnounce) -> list[Output]:
        """D-22: a verified header that came without a body, of a round not accepted and
        of which no verified body is held, makes its sender fetchable; arm the timer if
        it is not armed."""
        if not self._fetchable(checked):
            return []
        tau = checked.announce.tau
        rec = self.state.fetch.setdefault(tau, FetchState())
        rec.headers[checked.sender] = checked.announce.header.digest()
        return self._arm(rec, tau)

    def _fetchable(self, checked: CheckedAnnounce) -> bool:
        """D-22: a header-only announcement whose round lacks a body, from a sender whose
        header-only announcement of that round was not verified before."""
        ann, st = checked.announce, self.state
        if ann.body is not None or not self._lacks_body(ann.tau):
            return False
        rec = st.fetch.get(ann.tau)
        return rec is None or checked.sender not in rec.headers

    @staticmethod
    def _arm(rec: FetchState, tau: int) -> list[Output]:
        """Arm round ``tau``'s timer if some aggregator is fetchable and it is not armed (D-22)."""
        if rec.armed or not rec.fetchable():
            return []
        rec.armed = True
        return [Timer(tau)]

    def _disarm(self, tau: int) -> list[Output]:
        """D-22: round ``tau`` now has a verified body, so a firing of its armed timer would
        do nothing: cancel it (the runtime never fires it). No protocol event."""
        rec = self.state.fetch.get(tau)
        if rec is None or not rec.armed:
            return []
        rec.armed = False
        return [CancelTimer(tau)]

    def fire_timer(self, round: int) -> list[Output]:
        """D-22: round ``round``'s timer fired. Fetch from the lowest-index fetchable
        aggregator and re-arm while others remain fetchable; nothing (no event) if a body
        is held or nothing is fetchable."""
        st = self.state
        rec = st.fetch.get(round)
        if rec is None:  # accepted meanwhile: its records are gone (D-17)
            return []
        rec.armed = False
        fetchable = rec.fetchable()
        if not self._lacks_body(round) or not fetchable:
            return []
        j = fetchable[0]
        rec.fetched.add(j)
        hd = rec.headers[j]
        return [
            FetchEvent(round, aggregator_name(j), hd.hex()),
            send(self.keys, self.index, aggregator_name(j), Fetch(round, hd)),
            *self._arm(rec, round),
        ]

    def _lacks_body(self, tau: int) -> bool:
        """R-15 / D-22: round ``tau`` is not accepted and no verified body of it is kept."""
        return not self.state.accepted(tau) and tau not in self.state.ahead

    def _body_wanted(self, checked: CheckedAnnounce) -> bool:
        """R-15: a verified body is taken if its round lacks one (:meth:`_lacks_body`)."""
        ann = checked.announce
        return ann.body is not None and self._lacks_body(ann.tau)

    def _take_body(self, checked: CheckedAnnounce) -> list[Output]:
        """R-15: models are accepted in round order. A body of the next round is accepted,
        then the kept body of the round after it, and so on; a body of a later round is
        kept until its round is next (one per round; dropped once accepted, D-17)."""
        st = self.state
        out = self._disarm(checked.announce.tau)  # D-22: its timer is no longer needed
        if checked.announce.tau > st.latest + 1:
            st.ahead[checked.announce.tau] = checked
            return out
        out += self._accept(checked)
        while st.latest + 1 in st.ahead:
            out += self._accept(st.ahead.pop(st.latest + 1))
        if not st.stepping and st.next_submit < self.cfg.rounds:
            st.stepping = True
            out.append(RequestLocalStep())
        return out

    def _accept(self, checked: CheckedAnnounce) -> list[Output]:
        st, ann, sender = self.state, checked.announce, checked.sender
        checked.check_body()  # checked when delivered: raises nothing here
        digest = checked.model_digest  # R-15e: the body's own digest
        assert ann.body is not None and ann.tau == st.latest + 1
        st.latest, st.latest_digest = ann.tau, digest
        st.fetch.pop(ann.tau, None)  # D-17: D-22's records end with the round
        st.model = ann.body
        attesters = [aggregator_name(k) for k in checked.attesters]
        return [AcceptEvent(ann.tau, aggregator_name(sender), digest.hex(), len(st.included), attesters)]
