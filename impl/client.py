"""The client: local steps, masked submissions, and certified-model acceptance (R-4, R-5, R-15, D-13)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from asfl.impl import crypto, shamir
from asfl.impl import field as gf
from asfl.impl.certify import EvidenceError, announce_means, check_model, verify_cluster
from asfl.impl.config import ProtocolConfig
from asfl.impl.events import AcceptEvent, DropEvent, LocalStepEvent, SubmitEvent
from asfl.impl.learning.noise import noisy_update
from asfl.impl.learning.quantize import clip_l2, quantize
from asfl.impl.messages import (
    Announce,
    ClusterEvidence,
    Submit,
    model_digest,
    share_context,
    submission_digest,
)
from asfl.impl.node import (
    Dropped,
    Output,
    PublicKeys,
    RequestLocalStep,
    aggregator_name,
    open_envelope,
    send,
)
from asfl.impl.trace import b64

Trainer = Callable[[np.ndarray, np.random.Generator], np.ndarray]
"""``trainer(model, rng) -> stochastic gradient`` on the client's own data (injected)."""

Entropy = Callable[[int], bytes]
"""``entropy(n) -> n random bytes`` for mask and coefficient seeds (injected, D-2)."""


@dataclass
class PendingAnnounce:
    """An announcement whose evidence verified but whose ``prev`` is not yet verified (R-15b)."""

    checked: CheckedAnnounce
    means: list[np.ndarray]
    msg: int

    @property
    def announce(self) -> Announce:
        return self.checked.announce


class CheckedAnnounce:
    """An ``announce`` that decoded, whose envelope signature verified and whose round is
    in range (R-3): what its bytes alone determine, whoever receives them."""

    def __init__(self, sender: int, announce: Announce) -> None:
        self.sender, self.announce = sender, announce
        self.model_digest = model_digest(announce.model)
        self._clusters_of: dict[int, list[int]] | None = None

    def clusters_with(self, client: int) -> list[int]:
        """The clusters of the evidence whose certified set lists ``client`` (D-12)."""
        if self._clusters_of is None:
            self._clusters_of = {}
            for ev in self.announce.evidence:
                for i, _ in ev.entries:
                    self._clusters_of.setdefault(i, []).append(ev.cluster)
        return self._clusters_of.get(client, [])


class AnnounceChecker:
    """Checks ``announce`` messages and cluster evidence: a memo of pure functions (R-3, R-15c).

    Decoding, the envelope signature and a cluster's evidence depend only on the bytes,
    the configuration and the public keys, so a runtime may share one checker between
    its clients: each check then runs once per distinct message or evidence instead of
    once per recipient, and still runs in full. Results are kept for the ``capacity``
    most recently used messages and evidences, so memory does not grow with rounds.
    """

    def __init__(self, cfg: ProtocolConfig, public: PublicKeys, capacity: int = 64) -> None:
        self.cfg, self.public, self.capacity = cfg, public, capacity
        self._announces: OrderedDict[bytes, CheckedAnnounce | str] = OrderedDict()
        self._clusters: OrderedDict[tuple[int, bytes], np.ndarray | str] = OrderedDict()

    def check(self, data: bytes) -> CheckedAnnounce:
        """Open and authenticate an announce (R-3) and check its round, or raise :class:`Dropped`."""
        return _memo(self._announces, data, lambda: self._open(data), Dropped, self.capacity)

    def _open(self, data: bytes) -> CheckedAnnounce:
        env, body = open_envelope(self.cfg, self.public, data)
        if not isinstance(body, Announce):
            raise Dropped(f"clients accept only announce, got {env.kind}")
        if not 1 <= body.tau <= self.cfg.rounds:
            raise Dropped(f"announce for round {body.tau} outside [1, {self.cfg.rounds}]")
        return CheckedAnnounce(env.sender, body)

    def cluster_mean(self, tau: int, ev: ClusterEvidence) -> np.ndarray:
        """Recheck one cluster's evidence (R-15c), once per distinct evidence: announcements
        of different aggregators often carry byte-identical evidence for a cluster."""
        verify = lambda: verify_cluster(self.cfg, self.public.aggregator_sign, tau, ev)  # noqa: E731
        return _memo(self._clusters, (tau, ev.digest()), verify, EvidenceError, self.capacity)


_K = TypeVar("_K")
_V = TypeVar("_V")


def _memo(
    cache: OrderedDict[_K, _V | str],
    key: _K,
    compute: Callable[[], _V],
    error: type[Exception],
    capacity: int,
) -> _V:
    """``compute()`` memoised in an LRU ``cache``; a failure is kept as its message and raised
    again as ``error`` on every later use."""
    hit = cache.get(key)
    if hit is None:
        try:
            hit = compute()
        except error as exc:
            hit = str(exc)
        cache[key] = hit
        if len(cache) > capacity:
            cache.popitem(last=False)
    else:
        cache.move_to_end(key)
    if isinstance(hit, str):
        raise error(hit)
    return hit


@dataclass
class ClientState:
    """What a client remembers (§5)."""

    momentum: np.ndarray
    verified: dict[int, dict[bytes, np.ndarray]]  # round -> model digest -> model
    accepted: dict[int, bytes] = field(default_factory=dict)  # round -> digest trained on
    pending: dict[tuple[int, int], PendingAnnounce] = field(default_factory=dict)
    next_submit: int = 0  # rounds below this one are submitted
    stepping: bool = False  # a local step has been requested and not yet run
    included: set[tuple[int, int]] = field(default_factory=set)  # certified (round, cluster) with me

    @property
    def latest(self) -> int:
        return max(self.accepted)


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
            momentum=np.zeros(cfg.dim), verified={0: {digest: genesis_model}}, accepted={0: digest}
        )

    @property
    def done(self) -> bool:
        """Accepted a model for the last round and submitted for every round (R-16)."""
        return self.cfg.rounds in self.state.accepted and self.state.next_submit >= self.cfg.rounds

    @property
    def rounds_done(self) -> int:
        return max(self.state.accepted)

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
        model = st.verified[latest][st.accepted[latest]]
        out: list[Output] = [LocalStepEvent(latest)]
        gradient = self.trainer(model, self.rng)
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
            cts.append(crypto.seal(key, gf.to_bytes(share), context))
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
        checked = self.checker.check(data)  # R-3 and the round range, once per distinct message
        ann, st = checked.announce, self.state
        if (checked.sender, ann.tau) in st.pending or checked.model_digest in st.verified.get(ann.tau, {}):
            raise Dropped("duplicate announce")
        try:
            means = announce_means(self.cfg, self.public.aggregator_sign, ann, self._verified_mean)
        except EvidenceError as exc:
            raise Dropped(f"uncertified announce: {exc}") from None
        st.pending[(checked.sender, ann.tau)] = PendingAnnounce(checked, means, msg)
        return self._settle()

    def _verified_mean(self, tau: int, ev: ClusterEvidence) -> np.ndarray:
        """Recheck one cluster's evidence (R-15c) with the (possibly shared) checker."""
        return self.checker.cluster_mean(tau, ev)

    def _settle(self) -> list[Output]:
        """Verify every pending announcement whose ``prev`` is verified, repeatedly (R-15b,d)."""
        out: list[Output] = []
        progress = True
        while progress:
            progress = False
            for key, pending in sorted(self.state.pending.items()):
                ann = pending.announce
                prev = self.state.verified.get(ann.tau - 1, {}).get(ann.prev)
                if prev is None:
                    continue
                del self.state.pending[key]
                progress = True
                try:
                    check_model(self.cfg, ann, prev, pending.means)
                except EvidenceError as exc:
                    out.append(DropEvent(msg=pending.msg, reason=str(exc)))
                    continue
                out += self._accept(pending.checked)
        return out

    def _accept(self, checked: CheckedAnnounce) -> list[Output]:
        st, ann, digest, sender = self.state, checked.announce, checked.model_digest, checked.sender
        st.verified.setdefault(ann.tau, {})[digest] = ann.model
        for cluster in checked.clusters_with(self.index):
            st.included.add((ann.tau - 1, cluster))
        if ann.tau in st.accepted:
            return []
        st.accepted[ann.tau] = digest
        out: list[Output] = [AcceptEvent(ann.tau, aggregator_name(sender), digest.hex(), len(st.included))]
        if not st.stepping and st.next_submit < self.cfg.rounds:
            st.stepping = True
            out.append(RequestLocalStep())
        return out
