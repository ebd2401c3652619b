"""The implementation's memos are pure-function caches: same outcome as the unmemoised
check on every input, a check in full on any input not seen before, bounded memory.

Covers :func:`asfl.impl.certify.verified_cluster` (R-17c's recheck of a cluster, I-2),
the envelope memo of :func:`asfl.impl.node.open_envelope` (R-3, I-4), their bounded
:class:`asfl.impl.memo.Memo`, and the cached
field layout of :attr:`asfl.impl.events.Event.fields` (spec §9).
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asfl.impl import certify, crypto, events, field
from asfl.impl.aggregator import Aggregator
from asfl.impl.certify import EvidenceError, verified_cluster, verify_cluster
from asfl.impl.config import ProtocolConfig
from asfl.impl.memo import Memo
from asfl.impl.messages import ClusterEvidence, Endorse, seal
from asfl.impl.node import Dropped, PublicKeys, _open, open_envelope
from asfl.impl.sim.run import Built, RunConfig, execute
from tests.conftest import SMALL, make_tiny_task


class _Recording(Aggregator):
    """Records every cluster evidence it rechecks for an offer (R-17c)."""

    seen: list[tuple[int, ClusterEvidence]] = []

    def _verified_mean(self, tau: int, ev: ClusterEvidence) -> np.ndarray:
        self.seen.append((tau, ev))
        return super()._verified_mean(tau, ev)


@cache
def _run() -> tuple[Built, tuple[tuple[int, ClusterEvidence], ...]]:
    """One fixed-seed run with a Byzantine aggregator sending wrong shares, and every
    cluster evidence its honest aggregators rechecked."""
    _Recording.seen = []
    run = RunConfig(SMALL, seed=5, byzantine=1, behaviour="wrong-shares", crashed=1)
    summary, built = execute(run, task=make_tiny_task(), aggregator_cls=_Recording)
    assert summary.status == "complete"
    return built, tuple(_Recording.seen)


def _agg_keys() -> tuple[bytes, ...]:
    return next(a for a in _run()[0].aggregators.values() if isinstance(a, Aggregator)).public.aggregator_sign


def _outcome(f: Any, tau: int, ev: ClusterEvidence) -> np.ndarray | str:
    try:
        return np.asarray(f(tau, ev))
    except EvidenceError as exc:
        return f"EvidenceError: {exc}"


def _same(a: np.ndarray | str, b: np.ndarray | str) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return bool(np.array_equal(a, b))


TAMPERINGS = ("none", "masked_sum", "release_vector", "drop_release", "drop_endorsement", "entries")


def _tamper(ev: ClusterEvidence, how: str, k: int) -> ClusterEvidence:
    """One way a Byzantine producer could change the evidence of a cluster (R-17c)."""
    if how == "masked_sum":
        y = ev.masked_sum.copy()
        y[k % len(y)] = (int(y[k % len(y)]) + 1) % field.P
        return dataclasses.replace(ev, masked_sum=y)
    if how == "release_vector":
        j, vec, sig = ev.releases[k % len(ev.releases)]
        bad = vec.copy()
        bad[0] = (int(bad[0]) + 1) % field.P
        i = k % len(ev.releases)
        return dataclasses.replace(ev, releases=ev.releases[:i] + ((j, bad, sig),) + ev.releases[i + 1 :])
    if how == "drop_release":
        i = k % len(ev.releases)
        return dataclasses.replace(ev, releases=ev.releases[:i] + ev.releases[i + 1 :])
    if how == "drop_endorsement":
        i = k % len(ev.endorsements)
        return dataclasses.replace(ev, endorsements=ev.endorsements[:i] + ev.endorsements[i + 1 :])
    if how == "entries":
        return dataclasses.replace(ev, entries=ev.entries[1:])
    assert how == "none"
    return ev


def test_recorded_run_rechecks_offers() -> None:
    """R-17c: the fixture run rechecks cluster evidence, valid and not, so the properties
    below are about real offers."""
    _, seen = _run()
    assert len(seen) >= 8
    keys = _agg_keys()
    outcomes = [_outcome(lambda t, e: verify_cluster(SMALL, keys, t, e), tau, ev) for tau, ev in seen]
    assert any(not isinstance(o, str) for o in outcomes)


@settings(max_examples=60)
@given(
    picks=st.lists(
        st.tuples(
            st.integers(0, 10_000),
            st.sampled_from(
                ["none", "masked_sum", "release_vector", "drop_release", "drop_endorsement", "entries"]
            ),
            st.integers(0, 1_000),
        ),
        min_size=1,
        max_size=12,
    ),
    capacity=st.integers(1, 6),
)
def test_verified_clusters_is_verify_cluster(picks: list[tuple[int, str, int]], capacity: int) -> None:
    """R-17c, I-2: over any sequence of genuine and tampered evidence, the memo gives exactly
    :func:`verify_cluster`'s outcome (mean, or the same failure reason), never a remembered
    outcome of other evidence, and keeps at most ``capacity`` outcomes."""
    built, seen = _run()
    keys = _agg_keys()
    memo = Memo[certify.EvidenceKey, np.ndarray | str](max_entries=capacity, max_bytes=1 << 30)
    with patch.object(certify, "_VERIFIED", memo):
        failures = _check_picks(keys, picks, memo)
    if all(how in ("masked_sum", "release_vector", "drop_endorsement") for _, how, _ in picks):
        assert failures == len(picks)  # these tamperings always fail R-9 / R-11 / md


def _check_picks(keys: tuple[bytes, ...], picks: list[tuple[int, str, int]], memo: Memo[Any, Any]) -> int:
    _, seen = _run()

    def memoised(t: int, e: ClusterEvidence) -> np.ndarray:
        return verified_cluster(SMALL, keys, t, e)

    def unmemoised(t: int, e: ClusterEvidence) -> np.ndarray:
        return verify_cluster(SMALL, keys, t, e)

    tampered_failures = 0
    for n, how, k in picks:
        tau, ev = seen[n % len(seen)]
        ev = _tamper(ev, how, k)
        want = _outcome(unmemoised, tau, ev)
        assert _same(_outcome(memoised, tau, ev), want)
        assert _same(_outcome(memoised, tau, ev), want)  # served from the memo the second time
        # another round: checked for that round, not served the remembered outcome
        assert _same(_outcome(memoised, tau + 1, ev), _outcome(unmemoised, tau + 1, ev))
        tampered_failures += how != "none" and isinstance(want, str)
        assert len(memo.entries) <= memo.max_entries
    return tampered_failures


# -- open_envelope (R-3) -------------------------------------------------------------------


def _keys() -> tuple[list[crypto.NodeKeys], PublicKeys, ProtocolConfig]:
    agg = [crypto.NodeKeys.from_seed(bytes([1, j]) + bytes(30)) for j in range(3)]
    public = PublicKeys(tuple(k.sign_pub for k in agg), tuple(k.kx_pub for k in agg), (), ())
    cfg = dataclasses.replace(ProtocolConfig(), n_clients=6, n_aggregators=3, t_a=0, rounds=4, dim=3)
    return agg, public, cfg


def _open_outcome(f: Any, cfg: ProtocolConfig, keys: PublicKeys, data: bytes) -> tuple[Any, ...] | str:
    try:
        env, body = f(cfg, keys, data)
    except Dropped as exc:
        return f"Dropped: {exc}"
    return (env, env.digest(), body.encode())


@settings(max_examples=80)
@given(
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 7)), max_size=3), other_keys=st.booleans()
)
def test_open_envelope_memo_is_open(flips: list[tuple[int, int]], other_keys: bool) -> None:
    """R-3, I-4: on genuine and bit-flipped envelopes, the memoised open gives exactly the
    unmemoised outcome (the same envelope and body, or the same drop reason), also when
    the same bytes are opened again and with other public keys."""
    agg, public, cfg = _keys()
    env = seal(agg[1], 1, Endorse(1, 2, b"\1" * 32, b"\2" * 32))
    data = bytearray(env.encode())
    for at, bit in flips:
        data[at % len(data)] ^= 1 << bit
    raw = bytes(data)
    keys = (
        dataclasses.replace(public, aggregator_sign=public.aggregator_sign[1:] + public.aggregator_sign[:1])
        if other_keys
        else public
    )
    _open_outcome(open_envelope, cfg, public, raw)  # whatever the memo now holds for these bytes
    want = _open_outcome(_open, cfg, keys, raw)
    assert _open_outcome(open_envelope, cfg, keys, raw) == want
    assert _open_outcome(open_envelope, cfg, keys, raw) == want
    if not flips:
        assert (want == "Dropped: bad signature on endorse from sender 1") == other_keys


def test_memo_bounded_and_context_checked() -> None:
    """D-17: a memo keeps at most ``max_entries`` outcomes and ``max_bytes`` of their sizes,
    forgets the least recently used first, and misses in another context."""
    memo = Memo[int, str](max_entries=3, max_bytes=100)
    for k in range(6):
        memo.put(k, "ctx", f"v{k}", 10)
        assert len(memo.entries) <= 3 and memo.bytes == 10 * len(memo.entries)
    assert memo.get(3, "ctx") == "v3" and memo.get(3, "other") is None
    memo.put(6, "ctx", "v6", 10)  # 4 is now the least recently used
    assert memo.get(4, "ctx") is None and memo.get(3, "ctx") == "v3"
    memo.put(7, "ctx", "big", 95)
    assert memo.bytes <= 100 and list(memo.entries) == [7]
    memo.put(7, "ctx", "small", 5)
    assert memo.bytes == 5


# -- Event.fields (spec §9) ----------------------------------------------------------------


def _reflected(ev: events.Event) -> dict[str, Any]:
    """The trace object by dataclass reflection, as before the layout cache."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(ev):
        value = getattr(ev, f.name)
        if value is None and f.metadata.get("optional"):
            continue
        out[f.name.rstrip("_")] = value
    return out


@pytest.mark.parametrize("kind", sorted(events.KINDS))
def test_event_fields_match_reflection(kind: str) -> None:
    """Spec §9: the cached layout gives the same keys, in the same order, with optional
    fields omitted exactly when ``None``, for every event kind."""
    cls = events.KINDS[kind]
    fs = dataclasses.fields(cls)
    for fill_optional in (False, True):
        kw = {f.name: (None if f.metadata.get("optional") and not fill_optional else 1) for f in fs}
        ev = cls(**kw)
        assert list(ev.fields.items()) == list(_reflected(ev).items())


# -- R-13's index of reconstructed clusters -------------------------------------------------


class _ScanningAggregator(Aggregator):
    """Checks, at every aggregation attempt, the index against a scan of every cluster."""

    checks = 0

    def _advance(self) -> list[Any]:
        if self.round < self.cfg.rounds:
            scanned = {c for (t, c), s in self.clusters.items() if t == self.round and s.result is not None}
            assert set(self.results_of.get(self.round, ())) == scanned
            _ScanningAggregator.checks += 1
        return super()._advance()


@pytest.mark.parametrize("behaviour", ["wrong-shares", "equivocate", "replay", "silent"])
def test_results_index_is_the_scan(behaviour: str) -> None:
    """R-13: the clusters R-13 aggregates, read from the index of reconstructed clusters,
    are exactly those a scan of every cluster state finds, at every step of runs with
    crashes and a Byzantine aggregator (late results of aggregated rounds included)."""
    _ScanningAggregator.checks = 0
    run = RunConfig(SMALL, seed=11, byzantine=1, behaviour=behaviour, crashed=1, scheduler="random")
    summary, _ = execute(run, task=make_tiny_task(), aggregator_cls=_ScanningAggregator)
    assert summary.status == "complete"
    assert _ScanningAggregator.checks > 50
