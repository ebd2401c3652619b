"""Certified cluster results, offers, headers and attestations: one mechanism for producers
and checkers.

Aggregators use these functions to *produce* cluster results and models (R-12, R-13),
to *recheck* another aggregator's offer before attesting it (R-17), and to sign
attestations; clients check headers and attestations (R-15). Anyone holding an offer's
evidence can recheck it the same way (auditors).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from asfl.impl import crypto, field, shamir
from asfl.impl.config import ProtocolConfig
from asfl.impl.learning.robust import get_aggregator
from asfl.impl.memo import Memo
from asfl.impl.messages import (
    Attestation,
    ClusterEvidence,
    ClusterSet,
    Endorse,
    Header,
    Offer,
    Release,
    attestation_digest,
    envelope_digest,
    field_digest,
    model_digest,
    proposal_digest,
)


class EvidenceError(ValueError):
    """Evidence does not certify what it claims; the message says why."""


def cluster_result(masked_sum: np.ndarray, mask_sum: np.ndarray) -> np.ndarray:
    """``s = Y - rho`` in GF(P): the sum of the set's quantised updates (R-12, P-1)."""
    return field.sub(masked_sum, mask_sum)


def cluster_mean(cfg: ProtocolConfig, result: np.ndarray, size: int) -> np.ndarray:
    """Decode a cluster result to the mean real update of its ``size`` clients (R-12, D-5)."""
    return field.decode_signed(result).astype(np.float64) / (2.0**cfg.frac_bits * size)


def next_model(cfg: ProtocolConfig, prev: np.ndarray, means: Sequence[np.ndarray]) -> np.ndarray:
    """``w_{tau+1} = w_tau - eta * AGG_f(U)``, ``U`` the means ordered by cluster (R-13)."""
    stacked = np.stack(list(means))
    return prev - cfg.lr * get_aggregator(cfg.rule)(stacked, cfg.t_a)


def decode_releases(cfg: ProtocolConfig, releases: Mapping[int, np.ndarray]) -> shamir.DecodeResult | None:
    """Decode the mask sum from share sums keyed by aggregator index (D-4, R-11)."""
    points = {j + 1: vec for j, vec in releases.items()}
    return shamir.decode(points, cfg.t_a, cfg.quorum)


def endorsement_valid(sign_pub: bytes, sender: int, endorse: Endorse, sig: bytes) -> bool:
    """Whether ``sig`` is aggregator ``sender``'s envelope signature on ``endorse`` (R-9)."""
    return crypto.verify(sign_pub, envelope_digest(Endorse.KIND, sender, endorse.encode()), sig)


def release_valid(sign_pub: bytes, sender: int, release: Release, sig: bytes) -> bool:
    """Whether ``sig`` is aggregator ``sender``'s envelope signature on ``release`` (R-10)."""
    return crypto.verify(sign_pub, envelope_digest(Release.KIND, sender, release.encode()), sig)


def verify_cluster(
    cfg: ProtocolConfig, agg_keys: Sequence[bytes], tau: int, ev: ClusterEvidence
) -> np.ndarray:
    """Recheck one cluster of round ``tau`` and return its mean (R-9, R-11, R-12; I-2).

    Raises :class:`EvidenceError` if the certificate, the masked sum or the releases
    do not hold.
    """
    clients = [client for client, _ in ev.entries]
    if clients != sorted(set(clients)):
        raise EvidenceError(f"cluster {ev.cluster}: entries not sorted and distinct")
    members = set(cfg.clusters(tau)[ev.cluster])
    if not set(clients) <= members:
        raise EvidenceError(f"cluster {ev.cluster}: a listed client is not a member (R-2)")
    if len(clients) < cfg.q_min:
        raise EvidenceError(f"cluster {ev.cluster}: {len(clients)} clients < q_min (S-5)")
    pd = proposal_digest(tau, ev.cluster, list(ev.entries))
    if field_digest(ev.masked_sum) != ev.md:
        raise EvidenceError(f"cluster {ev.cluster}: masked sum does not match md")
    endorse = Endorse(tau, ev.cluster, pd, ev.md)
    endorsers = {j for j, sig in ev.endorsements if endorsement_valid(agg_keys[j], j, endorse, sig)}
    if len(endorsers) < cfg.quorum:
        raise EvidenceError(f"cluster {ev.cluster}: {len(endorsers)} valid endorsements < {cfg.quorum} (R-9)")
    shares = {
        j: vec
        for j, vec, sig in ev.releases
        if release_valid(agg_keys[j], j, Release(tau, ev.cluster, pd, vec), sig)
    }
    decoded = decode_releases(cfg, shares)
    if decoded is None:
        raise EvidenceError(f"cluster {ev.cluster}: releases do not decode (D-4)")
    return cluster_mean(cfg, cluster_result(ev.masked_sum, decoded.secret), len(clients))


ClusterVerifier = Callable[[int, ClusterEvidence], np.ndarray]
"""``verify(tau, evidence) -> mean``: :func:`verify_cluster` with the keys bound."""


EvidenceKey = tuple[int, int, bytes]
"""``(tau, cluster, H(every byte of the evidence))``: equal keys, equal evidence (SHA-256 over an
injective encoding, D-2's ``H``: two different evidences with one key would be a collision)."""

_VERIFIED: Memo[EvidenceKey, np.ndarray | str] = Memo(max_entries=256, max_bytes=64 << 20)


def _evidence_key(tau: int, ev: ClusterEvidence) -> EvidenceKey:
    """``(tau, evidence)`` as a key of 32 bytes: the memo keeps no copy of the entries and
    vectors it was asked about (they are the bulk of an offer, D-17), only their digest.
    Vectors count by dtype, shape and contents; each part is length-prefixed (``H``).
    The digest is kept on the evidence object (``_key``): the offer a broadcast delivers is
    one decoded object at every recipient (:func:`asfl.impl.node.open_envelope`)."""
    if ev._key is not None:
        return (tau, ev.cluster, ev._key)

    def vec(v: np.ndarray) -> list[bytes]:
        return [v.dtype.str.encode(), repr(v.shape).encode(), v.tobytes()]

    parts: list[bytes] = [_u64(len(ev.entries))]
    for i, sd in ev.entries:
        parts += [_u64(i), bytes(sd)]
    parts += [bytes(ev.md), _u64(len(ev.endorsements))]
    for j, sig in ev.endorsements:
        parts += [_u64(j), bytes(sig)]
    parts += [*vec(ev.masked_sum), _u64(len(ev.releases))]
    for j, v, sig in ev.releases:
        parts += [_u64(j), *vec(v), bytes(sig)]
    key = crypto.digest(*parts)
    object.__setattr__(ev, "_key", key)
    return (tau, ev.cluster, key)


def _u64(n: int) -> bytes:
    return n.to_bytes(8, "little")


def verified_cluster(
    cfg: ProtocolConfig, agg_keys: Sequence[bytes], tau: int, ev: ClusterEvidence
) -> np.ndarray:
    """:func:`verify_cluster`, memoised (R-17c, I-2): a pure function of the configuration,
    the keys, ``tau`` and the evidence's bytes, so its outcome (the mean, or the reason it
    fails) is kept under ``(tau, the digest of every byte of the evidence)``. The same cluster
    evidence in several producers' offers, at several attesters, or replayed, is checked once;
    evidence not seen before is checked in full. The mean returned is shared: read-only."""
    context = (cfg, agg_keys)
    try:
        key = _evidence_key(tau, ev)
    except (TypeError, AttributeError, ValueError, OverflowError):  # evidence built in memory
        return verify_cluster(cfg, agg_keys, tau, ev)  # with parts of other types (never off the wire)
    hit = _VERIFIED.get(key, context)
    if hit is None:
        try:
            hit = verify_cluster(cfg, agg_keys, tau, ev)
        except EvidenceError as exc:
            hit = str(exc)  # a failure is kept as its reason and raised again on every use
        _VERIFIED.put(key, context, hit, 128 + (len(hit) if isinstance(hit, str) else hit.nbytes))
    if isinstance(hit, str):
        raise EvidenceError(hit)
    return hit


def evidence_means(
    cfg: ProtocolConfig, verify: ClusterVerifier, tau: int, rule: str, evidence: Sequence[ClusterEvidence]
) -> list[np.ndarray]:
    """Recheck the evidence of a round-``tau`` model and return its cluster means, by cluster
    (R-17c). Raises :class:`EvidenceError` on the first failing condition."""
    clusters = [ev.cluster for ev in evidence]
    if clusters != sorted(set(clusters)):
        raise EvidenceError("evidence clusters not sorted and distinct (R-17c)")
    if len(clusters) < cfg.quorum:
        raise EvidenceError(f"evidence has {len(clusters)} clusters < {cfg.quorum} (R-13)")
    if rule != cfg.rule:
        raise EvidenceError(f"rule {rule!r} is not the configured {cfg.rule!r} (R-13)")
    return [verify(tau, ev) for ev in evidence]


def header_for(
    tau: int, prev: bytes, model: np.ndarray, rule: str, evidence: Sequence[ClusterEvidence]
) -> Header:
    """The header of the round-``tau`` model aggregated from ``evidence`` (§4, R-17d)."""
    sets = tuple(
        ClusterSet(
            ev.cluster,
            proposal_digest(tau - 1, ev.cluster, list(ev.entries)),
            tuple(i for i, _ in ev.entries),
        )
        for ev in evidence
    )
    return Header(tau, prev, model_digest(model), rule, sets)


def attest_signature(keys: crypto.NodeKeys, header: Header) -> bytes:
    """Aggregator's attestation on ``header``: Ed25519 on ``H("asfl/attest", hd)`` (§4)."""
    return keys.sign(attestation_digest(header.digest()))


def attesters(
    agg_keys: Sequence[bytes], header_digest: bytes, attestations: Sequence[Attestation]
) -> set[int]:
    """The distinct aggregators with a valid attestation on ``header_digest`` (R-15d, R-17b)."""
    signed = attestation_digest(header_digest)
    return {j for j, sig in attestations if j < len(agg_keys) and crypto.verify(agg_keys[j], signed, sig)}


def check_attested(
    cfg: ProtocolConfig, agg_keys: Sequence[bytes], header: Header, attestations: Sequence[Attestation]
) -> set[int]:
    """The distinct valid attesters on ``header`` if there are at least ``t_a + 1`` of them
    (R-15d, R-17b); raise otherwise."""
    valid = attesters(agg_keys, header.digest(), attestations)
    n = len(valid)
    if n < cfg.t_a + 1:
        raise EvidenceError(f"{n} valid attestations < t_a + 1 = {cfg.t_a + 1}")
    return valid


def check_sets(cfg: ProtocolConfig, header: Header) -> None:
    """R-15c: at least ``n_a - t_a`` distinct sorted clusters, each set a sorted, distinct
    subset of its members (R-2) of at least ``q_min`` clients, the configured rule."""
    clusters = [s.cluster for s in header.sets]
    if clusters != sorted(set(clusters)):
        raise EvidenceError("header sets not sorted and distinct by cluster (R-15c)")
    if len(clusters) < cfg.quorum:
        raise EvidenceError(f"header has {len(clusters)} sets < {cfg.quorum} (R-15c)")
    if header.rule != cfg.rule:
        raise EvidenceError(f"rule {header.rule!r} is not the configured {cfg.rule!r} (R-15c)")
    membership = cfg.clusters(header.tau - 1)
    for s in header.sets:
        if list(s.clients) != sorted(set(s.clients)):
            raise EvidenceError(f"cluster {s.cluster}: set not sorted and distinct (R-15c)")
        if len(s.clients) < cfg.q_min:
            raise EvidenceError(f"cluster {s.cluster}: {len(s.clients)} clients < q_min (R-15c)")
        if not set(s.clients) <= set(membership[s.cluster]):
            raise EvidenceError(f"cluster {s.cluster}: a listed client is not a member (R-2)")


def check_offer(
    cfg: ProtocolConfig,
    agg_keys: Sequence[bytes],
    genesis_model: np.ndarray,
    offer: Offer,
    verify: ClusterVerifier | None = None,
) -> tuple[Header, np.ndarray]:
    """R-17 (b)-(d), statelessly: the header and model an honest aggregator attests for
    ``offer``, or :class:`EvidenceError` naming the first failing condition. ``verify``
    rechecks one cluster (default :func:`verify_cluster` with ``agg_keys``)."""
    tau = offer.tau - 1
    if tau < 0:
        raise EvidenceError("offer for round 0 (R-17)")
    if tau == 0:
        if offer.prev_header is not None or offer.prev_model is not None or offer.prev_attestations:
            raise EvidenceError("a round-1 offer extends the genesis model: no prev (R-17b)")
        prev_model: np.ndarray = genesis_model
    else:
        head = offer.prev_header
        if head is None or offer.prev_model is None:
            raise EvidenceError(f"offer for round {offer.tau} without its prev model (R-17b)")
        prev_model = offer.prev_model
        if head.tau != tau:
            raise EvidenceError(f"prev header is for round {head.tau}, not {tau} (R-17b)")
        if model_digest(prev_model) != head.model:
            raise EvidenceError("prev model does not match its header (R-17b)")
        check_attested(cfg, agg_keys, head, offer.prev_attestations)
    if verify is None:
        verify = lambda t, ev: verify_cluster(cfg, agg_keys, t, ev)  # noqa: E731
    means = evidence_means(cfg, verify, tau, offer.rule, offer.evidence)
    model = next_model(cfg, prev_model, means)
    return header_for(offer.tau, model_digest(prev_model), model, offer.rule, offer.evidence), model
