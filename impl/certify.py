"""Certified cluster results and certified models: one mechanism for producers and checkers.

Aggregators use these functions to *produce* cluster results and models
(R-12, R-13); clients use the same functions to *recheck* them from the
evidence of an announcement (R-15). Anyone holding the evidence can do the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from asfl.impl import crypto, field, shamir
from asfl.impl.config import ProtocolConfig
from asfl.impl.learning.robust import get_aggregator
from asfl.impl.messages import (
    Announce,
    ClusterEvidence,
    Endorse,
    Release,
    envelope_digest,
    field_digest,
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
"""``verify(tau, evidence) -> mean``: :func:`verify_cluster` with the keys bound (a client caches it)."""


def announce_means(
    cfg: ProtocolConfig, agg_keys: Sequence[bytes], ann: Announce, verify: ClusterVerifier | None = None
) -> list[np.ndarray]:
    """Recheck an announcement's evidence and return its cluster means, by cluster (R-15c).

    Raises :class:`EvidenceError` on the first failing condition.
    """
    tau = ann.tau - 1
    clusters = [ev.cluster for ev in ann.evidence]
    if clusters != sorted(set(clusters)):
        raise EvidenceError("evidence clusters not sorted and distinct (R-15c)")
    if len(clusters) < cfg.quorum:
        raise EvidenceError(f"evidence has {len(clusters)} clusters < {cfg.quorum} (R-13)")
    if ann.rule != cfg.rule:
        raise EvidenceError(f"rule {ann.rule!r} is not the configured {cfg.rule!r} (R-13)")
    if verify is None:
        return [verify_cluster(cfg, agg_keys, tau, ev) for ev in ann.evidence]
    return [verify(tau, ev) for ev in ann.evidence]


def check_model(
    cfg: ProtocolConfig, ann: Announce, prev_model: np.ndarray, means: Sequence[np.ndarray]
) -> None:
    """Recheck that ``ann.model`` is R-13 applied to ``prev_model`` and ``means`` (R-15d, I-3)."""
    if not np.array_equal(next_model(cfg, prev_model, means), ann.model):
        raise EvidenceError("model is not the aggregate of its evidence (I-3)")


def verify_announce(
    cfg: ProtocolConfig, agg_keys: Sequence[bytes], ann: Announce, prev_model: np.ndarray
) -> None:
    """Recheck an announcement whole, given the model it extends (R-15c, R-15d): what a client
    does in two steps (the second once ``prev`` is verified). Raises :class:`EvidenceError`."""
    check_model(cfg, ann, prev_model, announce_means(cfg, agg_keys, ann))
