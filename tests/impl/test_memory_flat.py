"""What a process keeps beyond the nodes' protocol state is bounded independently of the
number of rounds, and reaches its bound within the first rounds (issue 11, item 2: peak
memory flat in ``R``); the objects nodes keep per round are shared, not copied (D-17).

Covers the Ed25519 memo (sized by the runtime to the span over which a signature is asked
about again; unicast envelopes not kept), the envelope memo (about two rounds of broadcasts),
the cluster-evidence memo (keyed by a digest, not by copies of the entries and vectors), the
announce check's D-12 lookup (no index by client), R-2's cached assignments (a byte of index
per client),
the clients' verified-digest tuples of a round with two models (one shared tuple), and the
aggregators' own headers (shared client ids). Behaviour is unchanged: the run's trace is
byte for byte the one of a run with none of it shared or bounded.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from asfl.impl import certify, config, crypto, node, round_records
from asfl.impl.aggregator import Aggregator
from asfl.impl.client import Client
from asfl.impl.config import ProtocolConfig, client_ids
from asfl.impl.learning.data import Task
from asfl.impl.messages import Envelope, Submit
from asfl.impl.node import Send
from asfl.impl.round_records import VerifiedDigests
from asfl.impl.sim.run import Built, RunConfig, build


def _cfg(rounds: int, n_clients: int = 24) -> ProtocolConfig:
    return ProtocolConfig(
        n_clients=n_clients, n_aggregators=4, t_a=1, t_c=1, q_min=2, batch_size=4, rounds=rounds
    )


def _run(
    task: Task,
    rounds: int,
    behaviour: str = "equivocate",
    trace: Path | None = None,
    n_clients: int = 24,
    seed: int = 4,
) -> Built:
    cfg = _cfg(rounds, n_clients)
    run = RunConfig(cfg, seed=seed, byzantine=1, behaviour=behaviour, crashed=1, trace=trace)
    built = build(run, task=task)
    assert built.sim.run(2_000_000) == "complete"
    return built


def test_ed25519_memo_is_sized_by_the_run_and_keeps_no_unicast(tiny_task: Task) -> None:
    """No S/P/I/L/F property (resource bound of issue 11): a simulated run sizes the
    process's Ed25519 memo to ``2 n_c + 64 n_a^2`` results, whatever ``R``, and never keeps a
    unicast envelope's signature (submit, propose, attest, fetch: one recipient asks, once),
    while the client signatures that a coordinator and every aggregator ask about are kept:
    in it, or (made in this process, as every signature of a simulated run is) among the
    process's own recent signatures, ``crypto._SIGNED``, bounded by ``SIGNED_MEMO``."""
    cfg = _cfg(6)
    built = build(RunConfig(cfg, seed=4, byzantine=1, crashed=1, keep_events=False), task=tiny_task)
    bound = 2 * cfg.n_clients + 64 * cfg.n_aggregators**2
    assert crypto._verified.cache_info().maxsize == bound
    unicast: list[bytes] = []
    client_sigs: list[bytes] = []

    def on_step(_: object) -> None:
        assert crypto._verified.cache_info().currsize <= bound
        assert len(crypto._SIGNED) <= crypto.SIGNED_MEMO

    def record(name: str, outputs: list[object], msg: int | None = None) -> None:
        for out in outputs:
            if isinstance(out, Send) and out.kind in ("submit", "propose", "attest", "fetch"):
                unicast.append(out.sig)
            if isinstance(out, Send) and out.kind == "submit":
                client_sigs.append(Submit.decode(_body(out.data), built.cfg.dims).client_sig)
        emit(name, outputs, msg)  # type: ignore[arg-type]

    emit = built.sim._emit
    built.sim._emit = record  # type: ignore[method-assign]
    assert built.sim.run(2_000_000, on_step=on_step) == "complete"
    kept_sigs = {key[2] for key in _memo_keys()}
    assert unicast and not kept_sigs & set(unicast)
    own = set(crypto._SIGNED.values())
    assert (kept_sigs | own) & set(client_sigs[-cfg.n_clients :])  # the last round's, asked again in R-8


def _body(data: bytes) -> memoryview:
    return Envelope.decode(data).body


def _memo_keys() -> list[tuple[bytes, bytes, bytes]]:
    """The ``(public key, message, signature)`` arguments the Ed25519 memo holds."""
    import gc

    cache = next(r for r in gc.get_referents(crypto._verified) if isinstance(r, dict))
    return [k[:3] for k in cache]  # lru_cache's keys: the positional arguments, flattened


def test_evidence_memo_keys_are_digests(tiny_task: Task) -> None:
    """No S/P/I/L/F property (resource bound of issue 11; R-17c's memo): the evidence memo
    keys each outcome by ``(tau, cluster, 32-byte digest)``, so it holds no copy of an offer's
    entries and vectors after the offer is gone; equal evidence, equal key; a changed entry,
    another key."""
    _run(tiny_task, 3)
    keys = list(certify._VERIFIED.entries)
    assert keys and all(isinstance(k[2], bytes) and len(k[2]) == 32 for k in keys)
    ev = _some_evidence(tiny_task)
    assert certify._evidence_key(1, ev) == certify._evidence_key(1, replace(ev))
    (i, sd), *rest = ev.entries
    other = replace(ev, entries=((i, bytes(32)), *rest))
    assert certify._evidence_key(1, other) != certify._evidence_key(1, ev)
    assert certify._evidence_key(2, ev) != certify._evidence_key(1, ev)


def _some_evidence(task: Task) -> certify.ClusterEvidence:
    """A genuine cluster evidence of round 0, as a producer offers it."""

    class Keeping(Aggregator):
        kept: list[certify.ClusterEvidence] = []

        def _verified_mean(self, tau: int, ev: certify.ClusterEvidence):  # type: ignore[no-untyped-def]
            Keeping.kept.append(ev)
            return super()._verified_mean(tau, ev)

    run = RunConfig(_cfg(1), seed=4, byzantine=0, crashed=0, keep_events=False)
    built = build(run, task=task, aggregator_cls=Keeping)
    assert built.sim.run(2_000_000) == "complete"
    return Keeping.kept[0]


def test_cluster_assignments_share_client_ids() -> None:
    """No S/P/I/L/F property (R-2's cache): every round's clusters refer to the same int
    objects (one list slot a client and round), and the client -> cluster index is a byte a
    client, agreeing with the clusters."""
    cfg = ProtocolConfig(n_clients=600)
    ids = client_ids(600)
    for tau in (0, 1, 7):
        clusters = cfg.clusters(tau)
        assert sorted(i for m in clusters for i in m) == list(range(600))
        assert all(i is ids[i] for m in clusters for i in m)
        index = config._cluster_index(600, cfg.n_aggregators, config.round_seed(cfg.genesis, tau))
        assert isinstance(index, bytes) and len(index) == 600
        assert all(cfg.cluster_of(tau, i) == c for c, m in enumerate(clusters) for i in m)


def test_verified_digests_of_two_models_share_one_tuple() -> None:
    """No S/P/I/L/F property (D-17, R-15b): clients that verified the same two models of a
    round in the same order hold one tuple object between them, and answer as before."""
    a, b = bytes([1]) * 32, bytes([2]) * 32
    first, second = VerifiedDigests(bytes(32)), VerifiedDigests(bytes(32))
    for v in (first, second):
        assert v.add(1, a) and v.add(1, bytes(b)) and not v.add(1, a)
    assert first._by_round[1] is second._by_round[1]
    assert first.has(1, a) and first.has(1, b) and not first.has(1, bytes(32))
    assert dict(first.items())[1] == (a, b)
    for k in range(2 * round_records._TUPLES_KEPT):  # the interning table stays bounded
        round_records._shared((bytes([k % 256]) * 32, k.to_bytes(32, "little")))
    assert len(round_records._TUPLES) <= round_records._TUPLES_KEPT


def _cores(built: Built) -> list[Aggregator]:
    return [getattr(n, "core", n) for name, n in built.sim.nodes.items() if name.startswith("A")]


def test_kept_rounds_share_their_objects(tiny_task: Task) -> None:
    """No S/P/I/L/F property (D-17): after a run in which an equivocating coordinator made
    the honest aggregators announce two models in some rounds, the clients' round slots
    holding two digests are shared tuples (as many distinct objects as distinct pairs), and
    every id in an aggregator's own headers is the shared int object of its client."""
    built = _run(tiny_task, 6, n_clients=40, seed=5)  # a seed whose equivocation splits rounds
    clients = [n for n in built.sim.nodes.values() if isinstance(n, Client)]
    pairs = [s for c in clients for s in c.state.verified._by_round if isinstance(s, tuple)]
    assert pairs  # the equivocation split some round
    assert len({id(p) for p in pairs}) == len(set(pairs))
    ids = client_ids(built.cfg.n_clients)
    for agg in _cores(built):
        assert agg.headers
        for header in agg.headers.values():
            assert all(i is ids[i] for s in header.sets for i in s.clients)


@pytest.mark.parametrize("behaviour, seed", [("equivocate", 5), ("replay", 4)])
def test_sharing_changes_no_trace(tmp_path: Path, tiny_task: Task, behaviour: str, seed: int) -> None:
    """No S/P/I/L/F property (behaviour unchanged): with the memos disabled (every signature
    and evidence checked afresh, R-2 recomputed) and nothing interned, a run writes byte for
    byte the trace it writes with them."""
    traces = []
    for plain in (False, True):
        path = tmp_path / f"{behaviour}-{plain}.jsonl"
        if plain:
            with _nothing_shared():
                _run(tiny_task, 6, behaviour, path, 40, seed).sim.trace.close()
        else:
            _run(tiny_task, 6, behaviour, path, 40, seed).sim.trace.close()
        traces.append(path.read_bytes())
    assert traces[0] == traces[1]


class _nothing_shared:
    """No memo hit, no interning, for the duration of a ``with`` block."""

    def __enter__(self) -> None:
        from unittest.mock import patch

        self._patches = [
            patch.object(crypto, "set_verify_memo", lambda entries: None),
            patch.object(crypto, "_verified", crypto._verify),
            patch.object(certify, "verified_cluster", certify.verify_cluster),
            patch.object(round_records, "_shared", lambda t: tuple(t)),
            patch("asfl.impl.aggregator._shared_ids", lambda header, ids: header),
            patch("asfl.impl.aggregator.verified_cluster", certify.verify_cluster),
            patch.object(config, "_assignment", config._assignment.__wrapped__),
        ]
        for p in self._patches:
            p.start()

    def __exit__(self, *exc: object) -> None:
        for p in reversed(self._patches):
            p.stop()


def test_envelope_memo_is_sized_by_the_run(tiny_task: Task) -> None:
    """No S/P/I/L/F property (resource bound of issue 11): a simulated run keeps the openings
    of at most ``4 n_a (n_a + 1)`` broadcasts (about two rounds' worth) at every step."""
    cfg = _cfg(5)
    built = build(RunConfig(cfg, seed=4, byzantine=1, crashed=1, keep_events=False), task=tiny_task)
    bound = 4 * cfg.n_aggregators * (cfg.n_aggregators + 1)
    most = [0]

    def on_step(_: object) -> None:
        most[0] = max(most[0], len(node._OPENED.entries))

    assert built.sim.run(2_000_000, on_step=on_step) == "complete"
    assert node._OPENED.max_entries == bound and 0 < most[0] <= bound


def test_sets_with_is_membership(tiny_task: Task) -> None:
    """No S/P/I/L/F property (D-12's count view as the client reads it): for every announce a
    run's clients checked and every client id, ``sets_with`` is the ``(cluster, pd)`` of the
    header's sets listing it, in set order, one shared pair object per set; the check builds
    no index by client."""
    built = _run(tiny_task, 3)
    checker = built.sim.nodes["C0"].checker  # type: ignore[attr-defined]
    checked = [c for c in checker._announces.values() if not isinstance(c, str)]
    assert checked
    for c in checked:
        sets = c.announce.header.sets
        for i in range(-1, built.cfg.n_clients + 1):
            got = c.sets_with(i)
            assert got == [(s.cluster, s.pd) for s in sets if i in s.clients]
            assert all(k is c.sets_with(i)[n] for n, k in enumerate(got))
        assert not any(isinstance(v, dict) for v in vars(c).values())
