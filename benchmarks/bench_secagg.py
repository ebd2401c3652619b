#!/usr/bin/env python
"""One round's secure-aggregation cost of asfl, against plain summation and Flower's SecAgg+.

Usage (from the repository root, in the project's virtual environment)::

    python benchmarks/bench_secagg.py [--dims 1e5,1e6] [--clients 50] [--aggregators 4]
                                      [--repeat 3] [--profile] [--flwr-path DIR]

What is measured, all in this one process with ``time.perf_counter`` (medians):

* asfl, on the real node code (``impl.client.Client`` / ``impl.aggregator.Aggregator``):
  every client builds its ``submit`` with ``Client._submit`` (clip, noise, quantise,
  ChaCha20 mask, Shamir sharing, ChaCha20-Poly1305 encryption of the n_a shares,
  Ed25519 signature, wire encoding); then every message of the round is delivered,
  FIFO, to the real ``handle`` of its receiver: coordinator ingest and ``propose``,
  endorsement (``_on_propose``: k client signatures, k decryptions, two sums),
  certificates, ``release``, reconstruction by consistent quorum (D-4) with one
  Byzantine aggregator releasing a wrong share sum, unmasking, robust aggregation and
  the offers, their stateless recheck and attestation by every aggregator (R-17) and the
  compact ``announce`` (header, t_a + 1 attestations, the body only for the clients
  whose pusher the aggregator is, ``i mod n_a = j``, D-18, R-14; FIFO delivers every
  pusher's body, so no D-22 fetch timer fires); a sample of clients then verifies the announcements
  (certification, R-15: signatures and one digest). Per-method times are exclusive (a
  method's time excludes the methods it calls that are timed separately). The cluster
  results are checked against a plain sum of the very same quantised vectors (P-1).
* the plain baseline: the sum of the same n_c update vectors, float64 and uint64 mod P.
* Flower SecAgg+ (optional, ``flwr==1.41.0``): the client stages of ``secaggplus_mod``
  (setup, share keys, collect masked vectors) and the server's collect and unmask
  stages of ``SecAggPlusWorkflow``, replayed with Flower's own primitives
  (``flwr.common.secure_aggregation.*``, ``flwr.supercore.primitives.asymmetric``) in
  the order Flower calls them, for all n clients, no dropouts. The result is checked
  against the plain mean.

Byte counts are the lengths of the real encodings (asfl: the encoded envelopes the
nodes emit; Flower: the payload bytes its stages return, without gRPC/protobuf framing).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import importlib
import importlib.util
import io
import json
import math
import os
import platform
import pstats
import random
import statistics
import sys
import time
import types
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asfl.impl.messages as msg_mod  # noqa: E402
from asfl.impl import crypto, shamir  # noqa: E402
from asfl.impl import field as gf  # noqa: E402
from asfl.impl.aggregator import Aggregator  # noqa: E402
from asfl.impl.certify import cluster_mean, cluster_result, decode_releases  # noqa: E402
from asfl.impl.client import Client  # noqa: E402
from asfl.impl.config import ProtocolConfig  # noqa: E402
from asfl.impl.learning.noise import add_noise, noisy_update  # noqa: E402
from asfl.impl.learning.quantize import clip_l2, dequantize, quantize  # noqa: E402
from asfl.impl.messages import Envelope, Release, Submit, share_context, submission_digest  # noqa: E402
from asfl.impl.node import PublicKeys, Send, aggregator_name, broadcast, client_name  # noqa: E402
from asfl.impl.sim.run import node_keys  # noqa: E402

SEED = 20260101


def now() -> tuple[float, float]:
    """(wall, cpu): ``time.perf_counter`` and this process's CPU time (all threads).

    Both are kept because the machine may be shared: wall time then includes time spent
    waiting for a core, CPU time does not.
    """
    return time.perf_counter(), time.process_time()


def since(t0: tuple[float, float]) -> tuple[float, float]:
    w, c = now()
    return w - t0[0], c - t0[1]


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


Pair = dict[str, float]  # {"wall": ms, "cpu": ms}


def pair(samples: list[tuple[float, float]]) -> Pair:
    """Medians of (wall, cpu) samples in seconds, as milliseconds."""
    return {
        "wall": 1e3 * median([w for w, _ in samples]),
        "cpu": 1e3 * median([c for _, c in samples]),
    }


def timed(fn: Callable[[], Any], repeat: int) -> tuple[Pair, Any]:
    """Median (wall, cpu) in ms of ``repeat`` calls, and the last result."""
    samples, out = [], None
    for _ in range(repeat):
        t0 = now()
        out = fn()
        samples.append(since(t0))
    return pair(samples), out


# --------------------------------------------------------------------------------------
# machine information
# --------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    flags: list[str] = []
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("flags"):
                have = set(line.split(":", 1)[1].split())
                flags = [f for f in ("sha_ni", "avx2", "avx512f", "aes") if f in have]
                break
    import cryptography

    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "cpu_flags": flags,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cryptography": cryptography.__version__,
        "platform": platform.platform(),
        "loadavg_start": list(os.getloadavg()),
    }


# --------------------------------------------------------------------------------------
# asfl: nodes, the round driver and its exclusive-time instrumentation
# --------------------------------------------------------------------------------------


@dataclass
class Record:
    node: str
    label: str
    kind: str  # kind of the message being handled ("submit" for the client build)
    cluster: int | None
    wall: float  # exclusive, seconds
    cpu: float  # exclusive, seconds
    hashed: int = 0  # bytes through crypto.digest (SHA-256), exclusive


class Instrument:
    """Wraps methods of node *instances* (the impl files are untouched) to time them.

    Times are exclusive: a wrapped call's time excludes the wrapped calls it makes.
    """

    def __init__(self) -> None:
        self.stack: list[list[float]] = []
        self.records: list[Record] = []
        self.kind = ""
        self.cluster: int | None = None
        self.outside = 0  # bytes hashed outside any wrapped call

    @contextlib.contextmanager
    def count_hashing(self) -> Iterator[None]:
        """Count the bytes every ``crypto.digest`` call hashes (SHA-256 is a large part of
        the cost) and charge them to the innermost wrapped call."""
        original = crypto.digest

        def counting(*parts: crypto.Buffer | list[crypto.Buffer]) -> bytes:
            chunks = [c for p in parts for c in (p if isinstance(p, list) else [p])]
            n = sum(crypto.nbytes(c) for c in chunks)
            if self.stack:
                self.stack[-1][2] += n
            else:
                self.outside += n
            return original(*parts)

        crypto.digest = counting
        try:
            yield
        finally:
            crypto.digest = original

    def wrap(self, node: str, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            frame = [0.0, 0.0, 0]  # child wall, child cpu, own hashed bytes
            self.stack.append(frame)
            t0 = now()
            try:
                return fn(*args, **kwargs)
            finally:
                dw, dc = since(t0)
                self.stack.pop()
                if self.stack:
                    self.stack[-1][0] += dw
                    self.stack[-1][1] += dc
                self.records.append(
                    Record(node, label, self.kind, self.cluster, dw - frame[0], dc - frame[1], int(frame[2]))
                )

        return wrapper

    def instrument(self, obj: Any, node: str, labels: list[str]) -> None:
        for label in labels:
            setattr(obj, label, self.wrap(node, label, getattr(obj, label)))


AGG_METHODS = [
    "handle",
    "_on_submit",
    "_try_close",
    "_on_propose",
    "_check_entry",
    "_on_endorse",
    "_on_release",
    "_certify",
    "_release",
    "_reconstruct",
    "_advance",
    "_offer_next",
    "_on_offer",
    "_on_attest",
    "_announce",
]


@dataclass
class AsflWorld:
    cfg: ProtocolConfig
    agg_keys: list[crypto.NodeKeys]
    cli_keys: list[crypto.NodeKeys]
    public: PublicKeys
    momenta: list[np.ndarray]


_KEYS: dict[str, crypto.NodeKeys] = {}


def keys_of(name: str) -> crypto.NodeKeys:
    """Long-term keys, shared by every world of the run: their X25519 exchanges stay cached
    on the key objects, as on a node that has run earlier rounds (steady state)."""
    if name not in _KEYS:
        _KEYS[name] = node_keys(SEED, name)
    return _KEYS[name]


def make_world(n_c: int, n_a: int, t_a: int, d: int) -> AsflWorld:
    k_min = n_c // n_a
    cfg = ProtocolConfig(
        n_clients=n_c,
        n_aggregators=n_a,
        t_a=t_a,
        t_c=0,
        q_min=max(2, min(5, k_min)),
        rounds=1,
        dim=d,
    ).validate()
    agg_keys = [keys_of(aggregator_name(j)) for j in range(n_a)]
    cli_keys = [keys_of(client_name(i)) for i in range(n_c)]
    public = PublicKeys(
        tuple(k.sign_pub for k in agg_keys),
        tuple(k.kx_pub for k in agg_keys),
        tuple(k.sign_pub for k in cli_keys),
        tuple(k.kx_pub for k in cli_keys),
    )
    rng = np.random.default_rng(SEED)
    # A momentum per client (the local step itself is not part of secure aggregation).
    momenta = [rng.normal(0.0, 1.0 / math.sqrt(d), d) for _ in range(n_c)]
    return AsflWorld(cfg, agg_keys, cli_keys, public, momenta)


def _no_trainer(model: np.ndarray, rng: np.random.Generator) -> np.ndarray:  # pragma: no cover
    raise AssertionError("the benchmark never runs a local step")


def make_client(w: AsflWorld, i: int, rep: int) -> Client:
    c = Client(
        w.cfg,
        i,
        w.cli_keys[i],
        w.public,
        np.zeros(w.cfg.dim),
        _no_trainer,
        np.random.default_rng([SEED, rep, i]),
        os.urandom,
        ghost=False,
    )
    c.state.momentum = w.momenta[i]
    return c


def expected_x(w: AsflWorld, i: int, rep: int) -> tuple[np.ndarray, np.ndarray]:
    """The update and quantised vector client ``i`` submits in repetition ``rep`` (twin rng)."""
    cfg = w.cfg
    twin = np.random.default_rng([SEED, rep, i])
    noisy = add_noise(
        quantize(clip_l2(w.momenta[i], cfg.clip), cfg.frac_bits, cfg.quant_bound), cfg.client_noise_var, twin
    )
    return dequantize(noisy, cfg.frac_bits), gf.encode_signed(noisy)


def wrong_release(w: AsflWorld, send_: Send, byz: int, recipients: list[str]) -> list[Send]:
    """Byzantine aggregator ``byz`` replaces its release by a validly signed wrong one."""
    rel = Release.decode(Envelope.decode(send_.data).body, w.cfg.dims)
    noise = crypto.prg_field_vector(os.urandom(32), w.cfg.dim, b"byzantine")
    bad = Release(rel.tau, rel.cluster, rel.pd, gf.add(rel.share_sum, noise))
    return broadcast(w.agg_keys[byz], byz, recipients, bad)


@dataclass
class RoundResult:
    records: list[Record]
    submit_seconds: list[tuple[float, float]]
    bytes_sent: dict[tuple[str, str], int]  # (sender, kind) -> bytes
    bytes_recv: dict[tuple[str, str], int]  # (receiver, kind) -> bytes
    msgs_sent: dict[tuple[str, str], int]
    submit_bytes: list[int]
    announce_bytes: list[int]
    checked_clusters: int
    announce_clients: list[str]
    accepted: int
    # kept for the last round only (memory): cluster 0's share sums by aggregator, its
    # masked sum and size, and the clients' update and quantised vectors
    decode_inputs: dict[str, Any] = field(repr=False, default_factory=dict)
    xs: list[np.ndarray] = field(repr=False, default_factory=list)
    us: list[np.ndarray] = field(repr=False, default_factory=list)


def run_round(w: AsflWorld, rep: int, announce_sample: int, keep_state: bool = False) -> RoundResult:
    """One full round on the real nodes, FIFO delivery, one Byzantine releaser."""
    cfg = w.cfg
    n_c, n_a, t_a = cfg.n_clients, cfg.n_aggregators, cfg.t_a
    byz = n_a - 1 if t_a >= 1 else None
    inst = Instrument()
    genesis = np.zeros(cfg.dim)
    aggs = [Aggregator(cfg, j, w.agg_keys[j], w.public, genesis) for j in range(n_a)]
    for a in aggs:  # keep the round's results for the checks below (D-17 drops them once aggregated)
        a._retire = lambda tau: None  # type: ignore[method-assign]
        a._retire_cluster = lambda st: None  # type: ignore[method-assign]
    for j, a in enumerate(aggs):
        inst.instrument(a, aggregator_name(j), AGG_METHODS)
    clients = [make_client(w, i, rep) for i in range(n_c)]
    sample = {client_name(i) for i in range(min(announce_sample, n_c))}
    for i, c in enumerate(clients):
        if client_name(i) in sample:
            inst.instrument(c, client_name(i), ["handle"])
    nodes: dict[str, Any] = {aggregator_name(j): a for j, a in enumerate(aggs)}
    nodes.update({client_name(i): c for i, c in enumerate(clients)})
    all_aggs = [aggregator_name(j) for j in range(n_a)]

    bytes_sent: dict[tuple[str, str], int] = defaultdict(int)
    bytes_recv: dict[tuple[str, str], int] = defaultdict(int)
    msgs_sent: dict[tuple[str, str], int] = defaultdict(int)
    queue: deque[tuple[str, Send]] = deque()
    announce_bytes: list[int] = []

    def post(src: str, outs: list[Any]) -> None:
        sends = [o for o in outs if isinstance(o, Send)]
        if byz is not None and src == aggregator_name(byz) and sends and sends[0].kind == "release":
            sends = wrong_release(w, sends[0], byz, all_aggs)  # outside any timed region
        for s in sends:
            bytes_sent[(src, s.kind)] += len(s.data)
            bytes_recv[(s.to, s.kind)] += len(s.data)
            msgs_sent[(src, s.kind)] += 1
            if s.kind == "announce":
                if s.to == client_name(0):
                    announce_bytes.append(len(s.data))
                if s.to not in sample:
                    continue  # counted, not delivered (the per-client cost is measured on the sample)
            queue.append((src, s))

    hashing = contextlib.ExitStack()
    hashing.enter_context(inst.count_hashing())
    # 1. every client builds its submission (Client._submit, R-5)
    submit_seconds, submit_bytes = [], []
    for i, c in enumerate(clients):
        inst.kind, inst.cluster = "submit", cfg.cluster_of(0, i)
        t0 = now()
        outs = inst.wrap(client_name(i), "_submit", c._submit)(0)
        submit_seconds.append(since(t0))
        sends = [o for o in outs if isinstance(o, Send)]
        submit_bytes.append(len(sends[0].data))
        post(client_name(i), outs)

    # 2. deliver everything, FIFO, to the real handlers
    msg = 0
    while queue:  # noqa: SIM113
        src, s = queue.popleft()
        msg += 1
        inst.kind, inst.cluster = s.kind, s.cluster
        outs = nodes[s.to].handle(s.data, msg)
        post(s.to, outs)
        drops = [o for o in outs if getattr(o, "kind", None) == "drop"]
        for o in drops:
            reason = o.fields.get("reason", "")
            if "duplicate announce" not in reason:
                raise RuntimeError(f"{s.to} dropped {s.kind} from {src}: {reason}")

    hashing.close()
    # 3. checks: every honest aggregator finished, cluster sums equal the plain sums (P-1)
    us, xs = zip(*(expected_x(w, i, rep) for i in range(n_c)), strict=True)
    checked = 0
    for j, a in enumerate(aggs):
        if j == byz:
            continue
        if a.round < 1:
            raise RuntimeError(f"A{j} did not finish the round: {a.diagnose()}")
        mine = 0
        for (_, c), st in a.clusters.items():
            if st.result is None or st.result.mean is None:
                continue  # not reconstructed, or reconstructed after the round was aggregated (D-17)
            members = st.accepted.clients
            plain = gf.vsum([xs[i] for i in members], cfg.dim)
            if not np.array_equal(st.result.mean, cluster_mean(cfg, plain, len(members))):
                raise RuntimeError(f"A{j}: cluster {c} result differs from the plain sum")
            mine += 1
        if mine < cfg.n_aggregators - cfg.t_a:  # R-13 aggregated at least n_a - t_a of them
            raise RuntimeError(f"A{j}: only {mine} cluster results checked against the plain sum")
        checked += mine
    accepted = sum(1 for name in sample if nodes[name].state.accepted(cfg.rounds))
    if accepted != len(sample):
        raise RuntimeError("a sampled client did not accept a model")
    return RoundResult(
        inst.records,
        submit_seconds,
        dict(bytes_sent),
        dict(bytes_recv),
        dict(msgs_sent),
        submit_bytes,
        announce_bytes,
        checked,
        sorted(sample),
        accepted,
        decode_inputs=_decode_inputs(aggs) if keep_state else {},
        xs=list(xs) if keep_state else [],
        us=list(us) if keep_state else [],
    )


def _decode_inputs(aggs: list[Aggregator]) -> dict[str, Any]:
    st0 = aggs[0].clusters[(0, 0)]
    return {
        "share_sums": {j: a.clusters[(0, 0)].accepted.share_sum for j, a in enumerate(aggs)},
        "masked_sum": st0.accepted.masked_sum,
        "size": len(st0.accepted.members),
    }


def summarise_rounds(w: AsflWorld, rounds: list[RoundResult]) -> dict[str, Any]:
    """Turn the records of several rounds into per-role medians, {"wall", "cpu"} in ms."""
    cfg = w.cfg
    n_a, byz = cfg.n_aggregators, (cfg.n_aggregators - 1 if cfg.t_a >= 1 else None)
    honest = [aggregator_name(j) for j in range(n_a) if j != byz]

    def per_agg(rr: RoundResult, pred: Callable[[Record], bool]) -> list[tuple[float, float]]:
        out = {name: [0.0, 0.0] for name in honest}
        for r in rr.records:
            if r.node in out and pred(r):
                out[r.node][0] += r.wall
                out[r.node][1] += r.cpu
        return [(a, b) for a, b in out.values()]

    stages: dict[str, Callable[[Record], bool]] = {
        # coordinator role (its own cluster)
        "coord: open+verify+decode k submits": lambda r: r.kind == "submit" and r.label == "handle",
        "coord: check k submits (H(ct_j), sd, client sig)": lambda r: r.label == "_on_submit",
        "coord: close + build/sign n_a proposals": lambda r: r.label == "_try_close",
        # endorser role, over the n_a proposals it receives
        "endorse: open+verify+decode n_a proposals": lambda r: r.kind == "propose" and r.label == "handle",
        "endorse: check entries (sd+sig, h_j, decrypt)": lambda r: r.label == "_check_entry",
        "endorse: pd, sum y, H(Y), sum shares, endorse": lambda r: r.label == "_on_propose",
        "endorsements + certificates": lambda r: (
            r.label in ("_on_endorse", "_certify") or (r.kind == "endorse" and r.label == "handle")
        ),
        "release (encode + sign share sum)": lambda r: r.label == "_release",
        "receive releases (open+verify+decode)": lambda r: (
            r.label == "_on_release" or (r.kind == "release" and r.label == "handle")
        ),
        "decode (D-4) + unmask + evidence": lambda r: r.label == "_reconstruct",
        "aggregate (R-13) + build/sign the offer (R-17)": lambda r: r.label in ("_advance", "_offer_next"),
        # attester role, over the n_a offers it receives, its own included
        "attest: open+verify+decode n_a offers": lambda r: r.kind == "offer" and r.label == "handle",
        "attest: recheck evidence, recompute R-13, sign": lambda r: r.label == "_on_offer",
        "collect t_a + 1 attestations, announce (R-14, D-18)": lambda r: (
            r.label in ("_on_attest", "_announce") or (r.kind == "attest" and r.label == "handle")
        ),
    }
    per_stage = {name: pair([v for rr in rounds for v in per_agg(rr, pred)]) for name, pred in stages.items()}

    def hashed_per_agg(rr: RoundResult, pred: Callable[[Record], bool]) -> float:
        per = dict.fromkeys(honest, 0)
        for r in rr.records:
            if r.node in per and pred(r):
                per[r.node] += r.hashed
        return median(list(per.values()))

    hashed_stage = {name: hashed_per_agg(rounds[-1], pred) for name, pred in stages.items()}
    hashed_submit = median([r.hashed for r in rounds[-1].records if r.label == "_submit"])
    everything = lambda r: True  # noqa: E731
    totals = [v for rr in rounds for v in per_agg(rr, everything)]
    busiest = [max(per_agg(rr, everything), key=lambda v: v[1]) for rr in rounds]

    # one cluster: its clients' submits, and all aggregators' work on its messages
    cluster_tot: list[tuple[float, float]] = []
    for rr in rounds:
        by_c: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for r in rr.records:
            if r.cluster is None:
                continue
            if r.label == "_submit" or (r.node.startswith("A") and r.label != "_advance"):
                by_c[r.cluster][0] += r.wall
                by_c[r.cluster][1] += r.cpu
        cluster_tot += [(a, b) for a, b in by_c.values()]

    submit = [s for rr in rounds for s in rr.submit_seconds]
    certify, first_announce = [], []  # per sampled client
    for rr in rounds:
        for name in rr.announce_clients:
            recs = [r for r in rr.records if r.node == name and r.label == "handle"]
            certify.append((sum(r.wall for r in recs), sum(r.cpu for r in recs)))
            if recs:
                first_announce.append((recs[0].wall, recs[0].cpu))
    agg_all = [
        (
            sum(r.wall for r in rr.records if r.node.startswith("A")),
            sum(r.cpu for r in rr.records if r.node.startswith("A")),
        )
        for rr in rounds
    ]
    sub_all = [
        (sum(w_ for w_, _ in rr.submit_seconds), sum(c for _, c in rr.submit_seconds)) for rr in rounds
    ]
    cert = pair(certify)
    cert_all = {k: v * cfg.n_clients for k, v in cert.items()}  # extrapolated from the sample
    aggs_p, subs_p = pair(agg_all), pair(sub_all)
    round_p = {k: aggs_p[k] + subs_p[k] + cert_all[k] for k in ("wall", "cpu")}

    last = rounds[-1]
    agg_sent = [sum(v for (s, _), v in last.bytes_sent.items() if s == name) for name in honest]
    agg_recv = [sum(v for (s, _), v in last.bytes_recv.items() if s == name) for name in honest]
    sent_kind = {kind: v for (s, kind), v in last.bytes_sent.items() if s == honest[0]}
    recv_kind = {kind: v for (s, kind), v in last.bytes_recv.items() if s == honest[0]}
    return {
        "client_submit": pair(submit),
        "client_certify_all_announces": cert,
        "client_certify_first_announce": pair(first_announce),
        "aggregator_stages": per_stage,
        "aggregator_stages_bytes_hashed": hashed_stage,
        "client_submit_bytes_hashed": hashed_submit,
        "aggregator_total": pair(totals),
        "aggregator_busiest": pair(busiest),
        "cluster_round": pair(cluster_tot),
        "all_clients_submit": subs_p,
        "all_aggregators": aggs_p,
        "all_clients_certify_extrapolated": cert_all,
        "round_total": round_p,
        "bytes": {
            "client_submit": int(median(last.submit_bytes)),
            "client_receives_announce_each": int(median(last.announce_bytes)) if last.announce_bytes else 0,
            "client_receives_announces": sorted(last.announce_bytes),
            "client_receives_total": int(sum(last.announce_bytes)),
            "client_receives_over_model": sum(last.announce_bytes) / (8 * cfg.dim),
            "aggregator_sent": int(median(agg_sent)),
            "aggregator_received": int(median(agg_recv)),
            "aggregator_sent_by_kind": {k: sent_kind[k] for k in sorted(sent_kind)},
            "aggregator_received_by_kind": {k: recv_kind[k] for k in sorted(recv_kind)},
            "of_aggregator": honest[0],
        },
        "checked_cluster_results": last.checked_clusters,
        "announce_sample_clients": len(last.announce_clients),
        "rounds": len(rounds),
    }


NOISE_STEP = "Skellam noise (DP, D-9) + embed in GF(P)"


def client_breakdown(w: AsflWorld, repeat: int) -> dict[str, Pair]:
    """The steps of ``Client._submit`` one by one (same calls, same order).

    A replica for attribution only; the headline per-client figure is the real method.
    """
    cfg, i = w.cfg, 0
    keys = w.cli_keys[i]
    rng = np.random.default_rng([SEED, 99])
    acc: dict[str, list[tuple[float, float]]] = defaultdict(list)
    names = [
        "clip",
        "quantise (D-5)",
        NOISE_STEP,
        "mask PRG (ChaCha20, d words)",
        "y = x + r",
        "share_vector (coeff PRG + n_a evaluations)",
        "encrypt n_a shares",
        "H(ct_j) for j < n_a",
        "sd = H(.., H(y), h_*) + Ed25519",
        "encode body + H(envelope) + Ed25519",
        "encode envelope",
    ]
    for _ in range(repeat):
        t = [now()]
        clipped = clip_l2(w.momenta[i], cfg.clip)
        t.append(now())
        q = quantize(clipped, cfg.frac_bits, cfg.quant_bound)
        t.append(now())
        x = noisy_update(q, cfg.client_noise_var, rng)
        t.append(now())
        mask = crypto.prg_field_vector(os.urandom(32), cfg.dim, b"mask")
        t.append(now())
        y = gf.add(x, mask)
        t.append(now())
        shares = shamir.share_vector(mask, cfg.t_a, cfg.n_aggregators, os.urandom(32))
        t.append(now())
        cts = []
        for j, share in enumerate(shares):
            context = share_context(0, i, j)
            key = crypto.pair_key(keys, w.public.aggregator_kx[j], context)
            cts.append(crypto.seal(key, gf.words_view(share), context))
        t.append(now())
        digests = tuple(crypto.digest(ct) for ct in cts)
        t.append(now())
        sd = submission_digest(0, i, y, digests)
        sig = keys.sign(sd)
        t.append(now())
        env = msg_mod.seal(keys, i, Submit(0, i, y, digests, tuple(cts), sig))
        t.append(now())
        env.encode()
        t.append(now())
        for name, a, b in zip(names, t[:-1], t[1:], strict=True):  # noqa: B007
            acc[name].append((b[0] - a[0], b[1] - a[1]))
    out = {k: pair(v) for k, v in acc.items()}
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return out
    with threadpool_limits(1):  # what-if: np.linalg.norm's BLAS dot on one thread
        out["what-if: clip with BLAS limited to 1 thread"] = timed(
            lambda: clip_l2(w.momenta[i], cfg.clip), repeat
        )[0]
    return out


def decode_bench(w: AsflWorld, rr: RoundResult, repeat: int) -> dict[str, Pair]:
    """D-4 decoding of one cluster's mask sum from real share sums, with one wrong release."""
    cfg = w.cfg
    true = rr.decode_inputs["share_sums"]  # true share sums of cluster 0, A3's included
    masked_sum = rr.decode_inputs["masked_sum"]
    size = rr.decode_inputs["size"]
    wrong = gf.add(true[0], crypto.prg_field_vector(os.urandom(32), cfg.dim, b"wrong"))
    q = cfg.quorum
    quorum_only = {j: true[j] for j in range(q)}
    wrong_last = dict(true) | {cfg.n_aggregators - 1: wrong}  # the Byzantine one at x = n_a
    wrong_first = dict(true) | {0: wrong}  # worst position for the lexicographic search
    first_q_with_wrong = {j: wrong_first[j] for j in range(q)}

    def online() -> Any:
        # releases arrive one at a time; the first n_a - t_a include the wrong one
        assert decode_releases(cfg, first_q_with_wrong) is None
        return decode_releases(cfg, wrong_first)

    out: dict[str, Pair] = {
        "decode from n_a - t_a correct releases": timed(lambda: decode_releases(cfg, quorum_only), repeat)[0],
        "decode from n_a releases, 1 wrong at x = n_a": timed(
            lambda: decode_releases(cfg, wrong_last), repeat
        )[0],
        "decode from n_a releases, 1 wrong at x = 1 (worst)": timed(
            lambda: decode_releases(cfg, wrong_first), repeat
        )[0],
        "online: fail at n_a - t_a (1 wrong), succeed at n_a": timed(online, repeat)[0],
    }
    res = decode_releases(cfg, wrong_first)
    assert res is not None and res.inconsistent == (1,)
    assert np.array_equal(res.secret, decode_releases(cfg, quorum_only).secret)
    out["unmask: s = Y - rho, decode to the mean"] = timed(
        lambda: cluster_mean(cfg, cluster_result(masked_sum, res.secret), size), repeat
    )[0]
    return out


def plain_bench(us: list[np.ndarray], xs: list[np.ndarray], d: int, repeat: int) -> dict[str, Pair]:
    def fsum() -> np.ndarray:
        acc = np.zeros(d)
        for v in us:
            np.add(acc, v, out=acc)
        return acc

    return {
        "float64": timed(fsum, repeat)[0],
        "uint64 mod P (field.vsum)": timed(lambda: gf.vsum(xs, d), repeat)[0],
    }


# --------------------------------------------------------------------------------------
# what-if: hash each y once per node (memoised H(y)) instead of at every sd computation
# --------------------------------------------------------------------------------------


@contextlib.contextmanager
def hash_once() -> Iterator[None]:
    """What-if (monkeypatches in this process only; impl/ is untouched):

    1. ``H(y)`` memoised per array, as ``submission_digest`` sees it: what computing each
       ``sd_i`` once per node would cost (the coordinator recomputes it in ``pd()`` for
       each of the n_a proposals; an endorser in ``pd()``, ``_check_entry`` and
       ``_reconstruct``);
    2. the envelope digest computed once per sent message: ``impl.node.send`` signs
       ``H(envelope)`` in ``seal`` and then hashes the whole body again for
       ``Send.digest = env.digest()``.
    """
    import asfl.impl.node as node_mod

    original_fd, original_seal, original_digest = msg_mod.field_digest, node_mod.seal, Envelope.digest
    memo: dict[int, tuple[np.ndarray, bytes]] = {}

    def cached(vector: np.ndarray) -> bytes:
        hit = memo.get(id(vector))
        if hit is not None and hit[0] is vector:
            return hit[1]
        value = original_fd(vector)
        memo[id(vector)] = (vector, value)
        return value

    def seal_once(keys: crypto.NodeKeys, sender: int, message: Any) -> Envelope:
        body = message.encode()
        digest = msg_mod.envelope_digest(message.KIND, sender, body)
        env = Envelope(message.KIND, sender, body, keys.sign(digest))
        object.__setattr__(env, "_digest", digest)
        return env

    def digest_once(self: Envelope) -> bytes:
        return self.__dict__.get("_digest") or original_digest(self)

    msg_mod.field_digest, node_mod.seal, Envelope.digest = cached, seal_once, digest_once  # type: ignore[method-assign]
    try:
        yield
    finally:
        msg_mod.field_digest, node_mod.seal = original_fd, original_seal
        Envelope.digest = original_digest  # type: ignore[method-assign]
        memo.clear()


# --------------------------------------------------------------------------------------
# Flower SecAgg+
# --------------------------------------------------------------------------------------


@dataclass
class Flower:
    version: str
    mode: str
    quantize: Callable[..., Any]
    dequantize: Callable[..., Any]
    pseudo_rand_gen: Callable[..., Any]
    concat: Callable[..., Any]
    separate: Callable[..., Any]
    factor_combine: Callable[..., Any]
    factor_extract: Callable[..., Any]
    get_shape: Callable[..., Any]
    add: Callable[..., Any]
    sub: Callable[..., Any]
    mod: Callable[..., Any]
    mul: Callable[..., Any]
    create_shares: Callable[..., Any]
    combine_shares: Callable[..., Any]
    generate_shared_key: Callable[..., Any]
    encrypt: Callable[..., Any]
    decrypt: Callable[..., Any]
    generate_key_pairs: Callable[..., Any]
    private_key_to_bytes: Callable[..., Any]
    public_key_to_bytes: Callable[..., Any]
    bytes_to_private_key: Callable[..., Any]
    bytes_to_public_key: Callable[..., Any]
    ndarray_to_bytes: Callable[..., Any]
    bytes_to_ndarray: Callable[..., Any]


def _bind(mods: dict[str, Any], version: str, mode: str) -> Flower:
    q, u, a = mods["quantization"], mods["utils"], mods["arith"]
    s, e, k, p = mods["shamir"], mods["sym"], mods["asym"], mods["param"]
    return Flower(
        version,
        mode,
        q.quantize,
        q.dequantize,
        u.pseudo_rand_gen,
        u.share_keys_plaintext_concat,
        u.share_keys_plaintext_separate,
        a.factor_combine,
        a.factor_extract,
        a.get_parameters_shape,
        a.parameters_addition,
        a.parameters_subtraction,
        a.parameters_mod,
        a.parameters_multiply,
        s.create_shares,
        s.combine_shares,
        e.generate_shared_key,
        e.encrypt,
        e.decrypt,
        k.generate_key_pairs,
        k.private_key_to_bytes,
        k.public_key_to_bytes,
        k.bytes_to_private_key,
        k.bytes_to_public_key,
        p.ndarray_to_bytes,
        p.bytes_to_ndarray,
    )


_FLWR_MODULES = {
    "quantization": "flwr.common.secure_aggregation.quantization",
    "utils": "flwr.common.secure_aggregation.secaggplus_utils",
    "arith": "flwr.common.secure_aggregation.ndarrays_arithmetic",
    "shamir": "flwr.common.secure_aggregation.crypto.shamir",
    "sym": "flwr.common.secure_aggregation.crypto.symmetric_encryption",
    "asym": "flwr.supercore.primitives.asymmetric",
    "param": "flwr.compat.common.parameter",
}


def _flwr_version() -> str:
    try:
        from importlib.metadata import version

        return version("flwr")
    except Exception:  # noqa: BLE001
        return "unknown"


def load_flower(flwr_path: str | None) -> tuple[Flower | None, list[str]]:
    """Import Flower's SecAgg+ primitives; return (primitives or None, notes)."""
    notes: list[str] = []
    if flwr_path:
        sys.path.insert(0, flwr_path)
    try:
        mods = {k: importlib.import_module(v) for k, v in _FLWR_MODULES.items()}
        return _bind(mods, _flwr_version(), "installed package"), notes
    except Exception as exc:  # noqa: BLE001
        notes.append(f"`import flwr` failed: {type(exc).__name__}: {exc}")
    for name in [m for m in sys.modules if m == "flwr" or m.startswith("flwr.")]:
        del sys.modules[name]
    spec = importlib.util.find_spec("flwr")  # does not execute flwr/__init__.py
    if spec is None or not spec.submodule_search_locations:
        notes.append("flwr is not installed (pip install 'flwr==1.41.0', or --flwr-path DIR)")
        return None, notes
    root = Path(list(spec.submodule_search_locations)[0])
    # Source-only mode: load the leaf modules of the SecAgg+ primitives from the installed
    # flwr sources under stub parent packages, so that flwr/__init__.py (gRPC, protobuf,
    # ...) is never executed. The primitives themselves need numpy, cryptography and
    # pycryptodome only. Stubs are left in sys.modules (this process is the benchmark).
    try:
        for pkg, sub in [
            ("flwr", ""),
            ("flwr.common", "common"),
            ("flwr.compat", "compat"),
            ("flwr.compat.common", "compat/common"),
            ("flwr.supercore", "supercore"),
            ("flwr.supercore.primitives", "supercore/primitives"),
        ]:
            m = types.ModuleType(pkg)
            m.__path__ = [str(root / sub) if sub else str(root)]
            sys.modules[pkg] = m
        typing_mod = importlib.import_module("flwr.compat.common.typing")
        common = sys.modules["flwr.common"]
        common.NDArrayInt = typing_mod.NDArrayInt  # type: ignore[attr-defined]
        common.NDArrayFloat = typing_mod.NDArrayFloat  # type: ignore[attr-defined]
        mods = {k: importlib.import_module(v) for k, v in _FLWR_MODULES.items()}
    except Exception as exc:  # noqa: BLE001
        notes.append(f"loading flwr's SecAgg+ sources failed too: {type(exc).__name__}: {exc}")
        return None, notes
    notes.append(f"using flwr's own SecAgg+ primitive sources from {root} (source-only mode)")
    return _bind(mods, _flwr_version(), "source-only (primitives loaded from flwr's files)"), notes


@dataclass
class FlowerClientState:
    nid: int
    sk1: bytes = b""
    pk1: bytes = b""
    sk2: bytes = b""
    pk2: bytes = b""
    rd_seed: bytes = b""
    rd_seed_share: dict[int, bytes] = field(default_factory=dict)
    sk1_share: dict[int, bytes] = field(default_factory=dict)
    ss2: dict[int, bytes] = field(default_factory=dict)
    pubkeys: dict[int, tuple[bytes, bytes]] = field(default_factory=dict)


def flower_round(
    F: Flower, us: list[np.ndarray], num_shares: int, threshold: int, rep: int
) -> dict[str, Any]:
    """One SecAgg+ round: the stages of secaggplus_mod (client) and SecAggPlusWorkflow
    (server), same primitives, same order, Flower's default quantisation settings."""
    n, d = len(us), us[0].shape[0]
    clipping_range, target_range, mod_range, max_weight = 8.0, 1 << 22, 1 << 32, 1000.0
    num_examples = 100
    ids = list(range(1, n + 1))
    random.Random(rep).shuffle(ids)
    if n != num_shares and num_shares % 2 == 0:
        num_shares += 1  # as SecAggPlusWorkflow.setup_stage does
    half = num_shares >> 1
    nbrs = {nid: {ids[(idx + off) % n] for off in range(-half, half + 1)} for idx, nid in enumerate(ids)}
    states = {nid: FlowerClientState(nid) for nid in ids}
    t_setup, t_share, t_mask, t_unmask_c = {}, {}, {}, {}
    sent: dict[int, int] = defaultdict(int)
    recv: dict[int, int] = defaultdict(int)

    # stage 0: setup (two SECP384R1 key pairs, PEM)
    for nid in ids:
        st = states[nid]
        t0 = now()
        sk1, pk1 = F.generate_key_pairs()
        sk2, pk2 = F.generate_key_pairs()
        st.sk1, st.pk1 = F.private_key_to_bytes(sk1), F.public_key_to_bytes(pk1)
        st.sk2, st.pk2 = F.private_key_to_bytes(sk2), F.public_key_to_bytes(pk2)
        t_setup[nid] = since(t0)
        sent[nid] += len(st.pk1) + len(st.pk2)

    # stage 1: share keys (Shamir of the mask seed and of sk1, Fernet to each neighbour)
    inbox: dict[int, list[tuple[int, bytes]]] = defaultdict(list)
    for nid in ids:
        st = states[nid]
        keys = {m: (states[m].pk1, states[m].pk2) for m in nbrs[nid]}
        recv[nid] += sum(len(a) + len(b) for a, b in keys.values())
        t0 = now()
        st.pubkeys = keys
        if len(keys) < threshold:
            raise ValueError("Available neighbours number smaller than threshold")
        pks = [k for pair in keys.values() for k in pair]
        if len(set(pks)) != len(pks):
            raise ValueError("Some public keys are identical")
        st.rd_seed = os.urandom(32)
        b_shares = F.create_shares(st.rd_seed, threshold, num_shares)
        sk1_shares = F.create_shares(st.sk1, threshold, num_shares)
        outgoing = []
        for idx, (m, (_, pk2)) in enumerate(keys.items()):
            if m == nid:
                st.rd_seed_share[nid] = b_shares[idx]
                st.sk1_share[nid] = sk1_shares[idx]
            else:
                key = F.generate_shared_key(F.bytes_to_private_key(st.sk2), F.bytes_to_public_key(pk2))
                st.ss2[m] = key
                ct = F.encrypt(key, F.concat(nid, m, b_shares[idx], sk1_shares[idx]))
                outgoing.append((m, ct))
        t_share[nid] = since(t0)
        for m, ct in outgoing:
            inbox[m].append((nid, ct))
            sent[nid] += len(ct) + 8
            recv[m] += len(ct) + 8

    # stage 2: collect masked vectors (decrypt shares, quantise, private + pairwise masks)
    payloads: dict[int, list[bytes]] = {}
    for idx, nid in enumerate(ids):
        st = states[nid]
        u = us[idx]
        t0 = now()
        available = []
        for src, ct in inbox[nid]:
            actual_src, dst, b_share, sk1_share = F.separate(F.decrypt(st.ss2[src], ct))
            available.append(src)
            if src != actual_src or dst != nid:
                raise ValueError("misrouted share")
            st.rd_seed_share[src] = b_share
            st.sk1_share[src] = sk1_share
        ratio = num_examples / max_weight
        q_ratio = round(ratio * target_range)
        dq_ratio = q_ratio / target_range
        params = F.mul([u], dq_ratio)
        qp = F.quantize(params, clipping_range, target_range)
        qp = F.factor_combine(q_ratio, qp)
        dims = [a.shape for a in qp]
        qp = F.add(qp, F.pseudo_rand_gen(st.rd_seed, mod_range, dims))
        for m in available:
            key = F.generate_shared_key(
                F.bytes_to_private_key(st.sk1), F.bytes_to_public_key(st.pubkeys[m][0])
            )
            pw = F.pseudo_rand_gen(key, mod_range, dims)
            qp = F.add(qp, pw) if nid > m else F.sub(qp, pw)
        qp = F.mod(qp, mod_range)
        payloads[nid] = [F.ndarray_to_bytes(a) for a in qp]
        t_mask[nid] = since(t0)
        sent[nid] += sum(len(b) for b in payloads[nid])
        recv[nid] += sum(len(ct) + 8 for _, ct in inbox[nid])

    # server: collect_masked_vectors_stage sums the masked vectors
    t0 = now()
    masked = None
    for nid in ids:
        vec = [F.bytes_to_ndarray(b) for b in payloads[nid]]
        masked = vec if masked is None else F.add(masked, vec)
    masked = F.mod(masked, mod_range)
    t_collect = since(t0)

    # stage 3, client side: shares of the mask seeds of its (active) neighbours
    replies: dict[int, tuple[list[int], list[bytes]]] = {}
    for nid in ids:
        st = states[nid]
        t0 = now()
        active = list(nbrs[nid])
        replies[nid] = (active, [st.rd_seed_share[m] for m in active])
        t_unmask_c[nid] = since(t0)
        sent[nid] += sum(len(s) for s in replies[nid][1]) + 8 * len(active)

    # server: unmask_stage (reconstruct every mask seed, regenerate and remove the masks)
    t0 = now()
    collected: dict[int, list[bytes]] = {nid: [] for nid in ids}
    for owners, shares in replies.values():
        for owner, share in zip(owners, shares, strict=True):
            collected[owner].append(share)
    for share_list in collected.values():
        if len(share_list) < threshold:
            raise ValueError("not enough shares")
        secret = F.combine_shares(share_list)
        masked = F.sub(masked, F.pseudo_rand_gen(secret, mod_range, F.get_shape(masked)))
    recon = F.mod(masked, mod_range)
    q_total, recon = F.factor_extract(recon)
    inv_dq_total = target_range / q_total
    agg = F.dequantize(recon, clipping_range, target_range)
    offset = -(n - 1) * clipping_range
    for vec in agg:
        vec += offset
        vec *= inv_dq_total
    t_unmask = since(t0)

    # check against the plain mean of the clipped updates
    plain = np.mean([np.clip(u, -clipping_range, clipping_range) for u in us], axis=0)
    err = float(np.max(np.abs(agg[0] - plain)))
    if not err < 1e-4:
        raise RuntimeError(f"Flower SecAgg+ replay is wrong: max error {err}")
    per_client = [
        tuple(map(sum, zip(t_setup[i], t_share[i], t_mask[i], t_unmask_c[i], strict=True))) for i in ids
    ]
    server = tuple(map(sum, zip(t_collect, t_unmask, strict=True)))
    round_all = tuple(map(sum, zip(*per_client, server, strict=True)))
    model_bytes = len(F.ndarray_to_bytes(np.zeros(d)))  # the global model it downloads (float64)
    return {
        "num_shares": num_shares,
        "neighbours": num_shares - 1,
        "threshold": threshold,
        "clients": n,
        "client_setup": pair(list(t_setup.values())),
        "client_share_keys": pair(list(t_share.values())),
        "client_mask": pair(list(t_mask.values())),
        "client_total": pair(per_client),
        "server_collect": pair([t_collect]),
        "server_unmask": pair([t_unmask]),
        "server_total": pair([server]),
        "round_total": pair([round_all]),
        "max_abs_error_vs_plain_mean": err,
        "bytes": {
            "client_sent": int(median([sent[i] for i in ids])),
            "client_sent_masked_vector": int(sum(len(b) for b in payloads[ids[0]])),
            "client_received": int(median([recv[i] for i in ids])) + model_bytes,
            "server_received": int(sum(sent.values())),
            "server_sent": int(sum(recv.values())) + n * model_bytes,
        },
    }


def flower_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over rounds of every timed figure."""
    out = dict(runs[-1])
    for key, value in runs[0].items():
        if isinstance(value, dict) and set(value) == {"wall", "cpu"}:
            out[key] = {k: median([r[key][k] for r in runs]) for k in ("wall", "cpu")}
    out["rounds"] = len(runs)
    return out


# --------------------------------------------------------------------------------------
# profiling
# --------------------------------------------------------------------------------------


def profile_text(fn: Callable[[], Any], top: int = 18) -> str:
    prof = cProfile.Profile(time.process_time)  # CPU time: robust to a shared machine
    prof.enable()
    fn()
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).strip_dirs().sort_stats("tottime").print_stats(top)
    lines = buf.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    head = [line for line in lines[:start] if "function calls" in line]
    return "\n".join(head + lines[start:]).rstrip()


def profile_propose(w: AsflWorld) -> str:
    """Profile an endorser handling one real proposal of cluster 0."""
    cfg = w.cfg
    genesis = np.zeros(cfg.dim)
    coord = Aggregator(cfg, 0, w.agg_keys[0], w.public, genesis)
    members = cfg.clusters(0)[0]
    proposal: bytes | None = None
    for i in members:
        for o in coord.handle(_submit_bytes(w, i), 0):
            if isinstance(o, Send) and o.kind == "propose" and o.to == aggregator_name(1):
                proposal = o.data
    assert proposal is not None
    endorser = Aggregator(cfg, 1, w.agg_keys[1], w.public, genesis)
    return profile_text(lambda: endorser.handle(proposal, 1))


def _submit_bytes(w: AsflWorld, i: int) -> bytes:
    outs = make_client(w, i, 9)._submit(0)
    return next(o.data for o in outs if isinstance(o, Send))


def print_summary(args: argparse.Namespace, out: dict[str, Any], F: Flower | None) -> None:
    print("\n=== summary: median CPU ms per round (wall ms in the JSON) ===")
    cols = ["d", "asfl submit", "asfl +certify", "asfl agg", "asfl round", "plain sum", "client sends"]
    shares = args.secagg_shares_list if F is not None else []
    for sh in shares:
        cols += [f"S+{sh - 1}nb client", f"S+{sh - 1}nb server", f"S+{sh - 1}nb sends"]
    print("  " + " ".join(f"{c:>15}" for c in cols))
    for r in out["results"]:
        a = r["asfl"]
        cert = a["client_submit"]["cpu"] + a["client_certify_all_announces"]["cpu"]
        vals = [
            f"{r['d']:,}",
            f"{a['client_submit']['cpu']:.1f}",
            f"{cert:.1f}",
            f"{a['aggregator_total']['cpu']:.1f}",
            f"{a['round_total']['cpu']:.0f}",
            f"{r['plain_sum']['float64']['cpu']:.1f}",
            fmt_bytes(a["bytes"]["client_submit"]),
        ]
        for fl in r["flower_secaggplus"]:
            vals += [
                f"{fl['client_total']['cpu']:.1f}",
                f"{fl['server_total']['cpu']:.1f}",
                fmt_bytes(fl["bytes"]["client_sent"]),
            ]
        print("  " + " ".join(f"{v:>15}" for v in vals))
    if F is None:
        print("  no Flower SecAgg+ columns: not run (see the note at the top)")


# --------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------


def fmt_bytes(n: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{int(n)} B"


W = 62  # label width


def row(label: str, p: Pair) -> str:
    return f"  {label:<{W}} {p['wall']:>10.1f} {p['cpu']:>10.1f}"


def ratio_row(label: str, num: Pair, den: Pair) -> str:
    return f"  {label:<{W}} {num['wall'] / den['wall']:>9.2f}x {num['cpu'] / den['cpu']:>9.2f}x"


def brow(label: str, n: float, extra: str = "") -> str:
    return f"  {label:<{W}} {fmt_bytes(n):>21}{extra}"


def header(title: str) -> str:
    return f"{title}\n  {'':<{W}} {'wall ms':>10} {'cpu ms':>10}"


def bench_dim(args: argparse.Namespace, d: int, F: Flower | None, out: dict[str, Any]) -> None:
    n_c, n_a, t_a = args.clients, args.aggregators, args.t_a
    print(
        f"\n=== d = {d:,}   n_c = {n_c}, n_a = {n_a}, t_a = {t_a}, k = n_c/n_a = {n_c / n_a:g} ===",
        flush=True,
    )
    w = make_world(n_c, n_a, t_a, d)
    res: dict[str, Any] = {"d": d}

    # asfl: full rounds on the real nodes (with --what-if, interleaved with patched rounds so
    # that both see the same machine load)
    rounds, keep, wi = [], None, []
    sections: dict[str, float] = defaultdict(float)  # wall seconds spent per section
    for rep in range(args.repeat):
        last = rep == args.repeat - 1
        t0 = time.perf_counter()
        rr = run_round(w, rep, args.announce_sample, keep_state=last)
        rounds.append(rr)
        keep = rr if last else keep
        gc.collect()
        sections["asfl rounds"] += time.perf_counter() - t0
        if args.what_if:
            t0 = time.perf_counter()
            with hash_once():
                wi.append(run_round(w, 1000 + rep, args.announce_sample))
            gc.collect()
            sections["what-if rounds"] += time.perf_counter() - t0
    t0 = time.perf_counter()
    asfl = summarise_rounds(w, rounds)
    asfl["client_submit_breakdown"] = client_breakdown(w, args.repeat)
    assert keep is not None
    asfl["decode"] = decode_bench(w, keep, args.repeat)
    plain = plain_bench(keep.us, keep.xs, d, args.repeat)
    sections["asfl micro-benchmarks"] += time.perf_counter() - t0
    us = keep.us
    del rounds, keep
    gc.collect()

    what_if = summarise_rounds(w, wi) if wi else None
    del wi

    flowers = []
    if F is not None:
        for shares in args.secagg_shares_list:
            t0 = time.perf_counter()
            threshold = args.secagg_threshold or (shares // 2 + 1)
            runs = [flower_round(F, us, shares, threshold, rep) for rep in range(args.repeat)]
            flowers.append(flower_summary(runs))
            gc.collect()
            sections[f"SecAgg+ rounds ({shares} shares)"] += time.perf_counter() - t0
    del us

    res.update(
        {
            "asfl": asfl,
            "plain_sum": plain,
            "flower_secaggplus": flowers,
            "what_if_hash_once": what_if,
            "section_wall_s": dict(sections),
        }
    )
    out["results"].append(res)
    report_dim(args, d, res, F)


def report_dim(args: argparse.Namespace, d: int, res: dict[str, Any], F: Flower | None) -> None:
    n_c = args.clients
    asfl, plain, flowers, what_if = (
        res["asfl"],
        res["plain_sum"],
        res["flower_secaggplus"],
        res["what_if_hash_once"],
    )
    pf = plain["float64"]
    print(
        header(
            f"asfl per client: Client._submit (build one submit), median of {n_c} clients x "
            f"{asfl['rounds']} rounds"
        )
    )
    print(
        row("build submit (the real method)", asfl["client_submit"])
        + f"   SHA-256 over {fmt_bytes(asfl['client_submit_bytes_hashed'])}"
    )
    for k, v in asfl["client_submit_breakdown"].items():
        print(row("  " + k, v))
    print(
        row(
            "certification: handle the n_a announces it receives (R-15)", asfl["client_certify_all_announces"]
        )
    )
    print(row("  of which the first one (fully verified)", asfl["client_certify_first_announce"]))
    print(
        header("asfl per honest aggregator (coordinates 1 cluster, endorses all n_a), median")
        + "   SHA-256 over"
    )
    for k, v in asfl["aggregator_stages"].items():
        print(row(k, v) + f"   {fmt_bytes(asfl['aggregator_stages_bytes_hashed'][k]):>10}")
    print(row("total per aggregator", asfl["aggregator_total"]))
    print(row("busiest aggregator", asfl["aggregator_busiest"]))
    print(header("asfl D-4 decoding of one cluster's mask sum (real share sums), unmasking"))
    for k, v in asfl["decode"].items():
        print(row(k, v))
    print(header("asfl whole round, summed over nodes"))
    print(row("one cluster: its k submits + all aggregators' work on it", asfl["cluster_round"]))
    print(row("all clusters: n_c clients' submits", asfl["all_clients_submit"]))
    print(row("all clusters: n_a aggregators", asfl["all_aggregators"]))
    print(
        row(
            f"all clusters: n_c clients' certification (sample x {n_c})",
            asfl["all_clients_certify_extrapolated"],
        )
    )
    print(row("whole round", asfl["round_total"]))
    print(header(f"plain summation of the same {n_c} vectors (baseline, same process)"))
    for k, v in plain.items():
        print(row(k, v))
    print("ratios (wall, cpu)")
    print(ratio_row("asfl per-client submit / plain float64 sum", asfl["client_submit"], pf))
    print(ratio_row("asfl per-aggregator total / plain float64 sum", asfl["aggregator_total"], pf))
    print(ratio_row("asfl one cluster / plain float64 sum", asfl["cluster_round"], pf))
    print(ratio_row("asfl whole round / plain float64 sum", asfl["round_total"], pf))
    b = asfl["bytes"]
    print("bytes per round (lengths of the real encodings)")
    print(
        brow(
            "asfl client sends: the submit envelope",
            b["client_submit"],
            f"  ({b['client_submit'] / d:.2f} B/coord)",
        )
    )
    sizes = ", ".join(fmt_bytes(x) for x in b["client_receives_announces"])
    print(
        brow(
            f"asfl client receives: n_a announces ({sizes}; its pusher's with the body, D-18)",
            b["client_receives_total"],
            f"  ({b['client_receives_over_model']:.2f}x the float64 model; target <= 2x)",
        )
    )
    print(brow(f"asfl aggregator sends ({b['of_aggregator']} by kind below)", b["aggregator_sent"]))
    for kind, v in b["aggregator_sent_by_kind"].items():
        print(brow("  " + kind, v))
    print(brow("asfl aggregator receives", b["aggregator_received"]))
    for kind, v in b["aggregator_received_by_kind"].items():
        print(brow("  " + kind, v))
    for fl in flowers:
        fb = fl["bytes"]
        print(
            header(
                f"Flower SecAgg+ (flwr {F.version if F else '?'}), n = {fl['clients']}, "
                f"num_shares {fl['num_shares']} ({fl['neighbours']} neighbours), threshold "
                f"{fl['threshold']}, median of {fl['rounds']} rounds"
            )
        )
        print(row("client: setup (2 SECP384R1 key pairs)", fl["client_setup"]))
        print(row("client: share keys (Shamir x 2; ECDH + Fernet per neighbour)", fl["client_share_keys"]))
        print(row("client: mask (quantise; private + pairwise PRG masks; encode)", fl["client_mask"]))
        print(row("client: total per round", fl["client_total"]))
        print(row("server: sum the masked vectors", fl["server_collect"]))
        print(row("server: unmask (Shamir combine + PRG per client)", fl["server_unmask"]))
        print(row("whole round (all clients + server)", fl["round_total"]))
        print(
            brow(
                "client sends",
                fb["client_sent"],
                f"  (masked vector {fmt_bytes(fb['client_sent_masked_vector'])})",
            )
        )
        print(brow("client receives (incl. the float64 model)", fb["client_received"]))
        print(brow("server receives", fb["server_received"]))
        print(f"asfl vs SecAgg+ ({fl['neighbours']} neighbours) (wall, cpu)")
        print(
            ratio_row(
                "asfl per-client submit / SecAgg+ per-client total", asfl["client_submit"], fl["client_total"]
            )
        )
        print(
            ratio_row(
                "asfl per-client submit / SecAgg+ client mask stage", asfl["client_submit"], fl["client_mask"]
            )
        )
        noise = asfl["client_submit_breakdown"][NOISE_STEP]
        no_noise = {k: asfl["client_submit"][k] - noise[k] for k in ("wall", "cpu")}
        print(
            ratio_row("asfl submit without the DP noise / SecAgg+ per-client", no_noise, fl["client_total"])
        )
        with_cert = {
            k: asfl["client_submit"][k] + asfl["client_certify_all_announces"][k] for k in ("wall", "cpu")
        }
        print(
            ratio_row("asfl submit + certification / SecAgg+ per-client total", with_cert, fl["client_total"])
        )
        print(ratio_row("asfl whole round / SecAgg+ whole round", asfl["round_total"], fl["round_total"]))
        sends = b["client_submit"] / fb["client_sent"]
        print(f"  {'asfl client sends / SecAgg+ client sends':<{W}} {sends:>9.2f}x")
        met = asfl["client_submit"]["cpu"] <= fl["client_total"]["cpu"]
        met_cert = with_cert["cpu"] <= fl["client_total"]["cpu"]
        fl["target_met_submit_cpu"], fl["target_met_submit_and_certification_cpu"] = met, met_cert
        print(
            f"  target 'asfl per-client cost <= SecAgg+', submit only: {'MET' if met else 'NOT MET'} "
            f"(cpu {asfl['client_submit']['cpu']:.1f} vs {fl['client_total']['cpu']:.1f} ms); "
            f"with certification: {'MET' if met_cert else 'NOT MET'} ({with_cert['cpu']:.1f} ms)"
        )
        recv = b["client_receives_total"] / fb["client_received"]
        print(f"  {'asfl client receives / SecAgg+ client receives':<{W}} {recv:>9.2f}x")
    over = b["client_receives_over_model"]
    bodies = sum(1 for x in b["client_receives_announces"] if x >= 8 * d)  # its pusher's (D-18)
    extra = b["client_receives_total"] - bodies * 8 * d  # headers, attestations, envelopes
    verdict = "MET" if over <= 2.0 else "MET up to the headers" if bodies <= 2 else "NOT MET"
    print(
        f"  target 'a client receives <= 2x the model per round': {verdict} ({over:.4f}x: "
        f"{bodies} bodies + {fmt_bytes(extra)} of headers, attestations and envelopes)"
    )
    if what_if is not None:
        print(
            header("what-if: sd_i / H(y) once per node, H(envelope) once per send (patched)")
            + "   was wall / cpu ms; SHA-256 bytes was -> now"
        )

        def hashed(x: dict[str, Any], k: str | None) -> float:
            return x["client_submit_bytes_hashed"] if k is None else x["aggregator_stages_bytes_hashed"][k]

        items = [("client: build submit", "client_submit", None)] + [
            (k, None, k) for k in asfl["aggregator_stages"]
        ]
        for label, key, stage in items:
            v = what_if[key] if key else what_if["aggregator_stages"][stage]
            was = asfl[key] if key else asfl["aggregator_stages"][stage]
            print(
                row(label, v) + f"   {was['wall']:.1f} / {was['cpu']:.1f};"
                f" {fmt_bytes(hashed(asfl, stage))} -> {fmt_bytes(hashed(what_if, stage))}"
            )
        v, was = what_if["aggregator_total"], asfl["aggregator_total"]
        print(row("total per aggregator", v) + f"   {was['wall']:.1f} / {was['cpu']:.1f}")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dims", default="1e5,1e6", help="comma-separated model dimensions")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--aggregators", type=int, default=4)
    ap.add_argument("--t-a", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="rounds / repetitions per figure")
    ap.add_argument(
        "--announce-sample",
        type=int,
        default=2,
        help="clients that verify the announcements (the rest is extrapolated)",
    )
    ap.add_argument(
        "--secagg-shares",
        default="",
        help="comma-separated SecAgg+ num_shares (neighbours + 1) to run; the first is "
        "the reference for the target; default '2*ceil(log2 n)+1,3'",
    )
    ap.add_argument("--secagg-threshold", type=int, default=0, help="default num_shares//2 + 1")
    ap.add_argument(
        "--flwr-path",
        default=os.environ.get("ASFL_FLWR_PATH"),
        help="extra sys.path entry holding flwr (and pycryptodome)",
    )
    ap.add_argument("--no-flower", action="store_true")
    ap.add_argument(
        "--what-if",
        action="store_true",
        help="also run rounds with H(y) memoised (what computing sd once per node "
        "would save), interleaved with the plain rounds; doubles the asfl time",
    )
    ap.add_argument("--profile", action="store_true", help="cProfile the client path at the largest d")
    ap.add_argument("--json", default=None, help="result file (default benchmarks/results/...)")
    args = ap.parse_args(argv)
    dims = [int(float(x)) for x in args.dims.split(",") if x.strip()]
    args.dims_list = dims
    if args.secagg_shares:
        shares = [int(x) for x in args.secagg_shares.split(",") if x.strip()]
    else:
        shares = [2 * math.ceil(math.log2(args.clients)) + 1, 3]
    args.secagg_shares_list = [min(args.clients, max(2, s)) for s in shares]

    t0 = time.perf_counter()
    out: dict[str, Any] = {
        "benchmark": "bench_secagg",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "params": {
            "dims": dims,
            "clients": args.clients,
            "aggregators": args.aggregators,
            "t_a": args.t_a,
            "repeat": args.repeat,
            "announce_sample": args.announce_sample,
        },
        "results": [],
    }
    m = out["machine"]
    print(
        f"machine: {m['nproc']} cores, {m['cpu_model']} ({' '.join(m['cpu_flags'])}), "
        f"Python {m['python']}, numpy {m['numpy']}, cryptography {m['cryptography']}, "
        f"load average {m['loadavg_start'][0]:.2f}"
    )

    F, notes = (None, ["skipped (--no-flower)"]) if args.no_flower else load_flower(args.flwr_path)
    out["flower"] = {
        "available": F is not None,
        "version": F.version if F else None,
        "mode": F.mode if F else None,
        "notes": notes,
        "num_shares": args.secagg_shares_list,
    }
    if F is None:
        print("Flower SecAgg+: NOT available, comparison skipped.")
    else:
        print(f"Flower SecAgg+: flwr {F.version}, {F.mode}")
    for note in notes:
        print(f"  note: {note}")

    # warm-up (not recorded): one round at a small d fills the X25519 caches of the
    # long-term keys and the allocator, as in any round after the first
    run_round(make_world(args.clients, args.aggregators, args.t_a, 1000), 0, args.announce_sample)
    for d in dims:
        bench_dim(args, d, F, out)

    print_summary(args, out, F)

    if args.profile:
        d = max(dims)
        w = make_world(args.clients, args.aggregators, args.t_a, d)
        clients = [make_client(w, i, 7) for i in range(min(10, args.clients))]
        text = profile_text(lambda: [c._submit(0) for c in clients])
        out["client_profile"] = {"d": d, "submits": len(clients), "text": text}
        print(f"\ncProfile of Client._submit x {len(clients)} at d = {d:,} (sorted by own time)")
        print(text)
        text = profile_propose(w)
        out["endorser_profile"] = {"d": d, "text": text}
        print(f"\ncProfile of one Aggregator.handle(propose) at d = {d:,} (sorted by own time)")
        print(text)

    out["machine"]["loadavg_end"] = list(os.getloadavg())
    import resource

    out["machine"]["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["cpu_s"] = time.process_time()
    out["wall_s"] = time.perf_counter() - t0
    path = (
        Path(args.json)
        if args.json
        else (ROOT / "benchmarks" / "results" / f"bench_secagg-{datetime.now():%Y%m%d-%H%M%S}.json")
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2, default=float) + "\n")
    print(
        f"\nwall time {out['wall_s']:.0f} s; load average at end "
        f"{out['machine']['loadavg_end'][0]:.2f}; results written to {path}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
