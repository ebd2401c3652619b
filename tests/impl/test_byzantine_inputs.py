"""Robustness of honest nodes to Byzantine input (I-4, R-3).

Hypothesis feeds honest :class:`Aggregator` and :class:`Client` nodes arbitrary bytes and
mutations of real envelopes captured from a small simulated run: bit flips, truncations,
extensions, field swaps, splices, wrong claimed senders, exact replays (including old-round
messages) and semantic mutations of decoded bodies *re-signed with the Byzantine
aggregator's real key*, so that they pass the signature check and reach the deeper guards
(R-8, R-15). Every input must be handled without raising; an input the node drops must
leave its observable state unchanged; and the run must still complete afterwards.
"""

from __future__ import annotations

import copy
import dataclasses
import random
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from asfl.impl import client as client_module
from asfl.impl import field as gf
from asfl.impl.aggregator import Aggregator
from asfl.impl.certify import attest_signature, check_offer
from asfl.impl.client import Client
from asfl.impl.config import ProtocolConfig
from asfl.impl.learning.data import Task
from asfl.impl.messages import (
    KINDS,
    Announce,
    Endorse,
    Envelope,
    Offer,
    Propose,
    Release,
    Submit,
    envelope_digest,
    model_digest,
    same_model,
    seal,
)
from asfl.impl.node import Event, RequestLocalStep, Send, aggregator_name, client_name
from asfl.impl.sim import byzantine as byzantine_module
from asfl.impl.sim.run import Built, DeterministicEntropy, RunConfig, build, execute
from asfl.impl.sim.schedulers import ControlledScheduler, Delivery, FifoScheduler
from asfl.impl.wire import WireError

FUZZ_MSG = 1_000_000  # message ids of injected inputs, far above the simulator's


# -- observable state ---------------------------------------------------------------------


def _vec(v: np.ndarray | None) -> bytes | None:
    return None if v is None else np.ascontiguousarray(v).tobytes()


def aggregator_snapshot(agg: Aggregator) -> dict[str, Any]:
    """Round, models, count view and every per-cluster field (empty cluster states omitted)."""
    clusters = {}
    for key, st_ in agg.clusters.items():
        acc = st_.accepted
        snap = (
            tuple(sorted((i, s.sd()) for i, s in st_.held.items())),
            st_.closed,
            None if acc is None else (acc.pd, acc.md, _vec(acc.masked_sum), _vec(acc.share_sum)),
            tuple(sorted((j, v.pd, v.md, v.sig) for j, v in st_.endorsements.items())),
            None
            if st_.certificate is None
            else (st_.certificate.pd, st_.certificate.md, tuple(sorted(st_.certificate.sigs.items()))),
            st_.released,
            tuple(sorted((j, r.pd, _vec(r.share_sum), r.sig) for j, r in st_.releases.items())),
            None
            if st_.result is None
            else (_vec(st_.result.mean), st_.result.evidence and st_.result.evidence.md),
        )
        if snap != ((), False, None, (), None, False, (), None):
            clusters[key] = snap
    return {
        "round": agg.round,
        "models": {r: _vec(m) for r, m in agg.models.items()},
        "clusters": clusters,
        "inclusions": {i: bits for i, bits in agg.inclusions.items() if bits},  # rounds as bits (D-12)
        "headers": {r: h.digest() for r, h in agg.headers.items()},
        "attestations": {r: tuple(sorted(a.items())) for r, a in agg.attestations.items() if a},
        "announced": dict(agg.announced),
        "unoffered": sorted(agg.unoffered),
        "attested": sorted(agg.attested),
    }


def client_snapshot(client: Client) -> dict[str, Any]:
    """Accepted and verified models, pending announcements, submission progress, inclusions."""
    s = client.state
    return {
        "momentum": _vec(s.momentum),
        "model": _vec(s.model),
        "verified": {r: tuple(sorted(ds)) for r, ds in s.verified.items()},
        "accepted": (s.latest, s.latest_digest),
        "pending": {
            k: (p.announce.header.digest(), _vec(p.announce.body), p.checked.sender, p.msg)
            for k, p in s.pending.items()
        },
        "next_submit": s.next_submit,
        "stepping": s.stepping,
        "included": tuple(sorted(s.included)),
        "rng": repr(client.rng.bit_generator.state),
    }


def snapshot(node: Aggregator | Client) -> dict[str, Any]:
    return aggregator_snapshot(node) if isinstance(node, Aggregator) else client_snapshot(node)


def was_dropped(outputs: list[Any], msg: int) -> bool:
    return any(isinstance(o, Event) and o.kind == "drop" and o.fields.get("msg", msg) == msg for o in outputs)


def deliver_checked(node: Aggregator | Client, data: bytes, msg: int) -> tuple[list[Any], bool]:
    """I-4: ``handle`` never raises, and a drop changes nothing and emits nothing else."""
    before = snapshot(node)
    outputs = node.handle(data, msg)  # must not raise
    dropped = was_dropped(outputs, msg)
    if dropped:
        assert snapshot(node) == before, "a dropped message changed the node's state"
        assert all(isinstance(o, Event) and o.kind in ("drop", "equivocation") for o in outputs), outputs
    return outputs, dropped


# -- mutations ------------------------------------------------------------------------------


def raw_seal(keys: Any, kind: str, sender: int, body: bytes) -> bytes:
    """An envelope over arbitrary body bytes, validly signed by ``keys``."""
    return Envelope(kind, sender, body, keys.sign(envelope_digest(kind, sender, body))).encode()


def mutate_value(draw: st.DrawFn, value: Any, dims: Any, depth: int = 0) -> Any:
    """A type-directed mutation of one field of a decoded body (recursing into tuples and
    dataclasses); results stay encodable but may violate any guard of R-3/R-8/R-15."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = [f.name for f in dataclasses.fields(value)]
        name = draw(st.sampled_from(names))
        return dataclasses.replace(value, **{name: mutate_value(draw, getattr(value, name), dims, depth + 1)})
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return draw(
            st.sampled_from(
                [0, 1, value + 1, max(value - 1, 0), dims.rounds, dims.n_aggregators, dims.n_clients, 2**32]
            )
        )
    if isinstance(value, bytes):
        how = draw(st.sampled_from(["flip", "random", "short", "empty"]))
        if how == "flip" and value:
            k = draw(st.integers(0, len(value) - 1))
            return value[:k] + bytes([value[k] ^ 1]) + value[k + 1 :]
        if how == "random":
            return draw(st.binary(min_size=len(value), max_size=len(value)))
        return value[: len(value) // 2] if how == "short" else b""
    if isinstance(value, str):
        return draw(st.sampled_from(["", "mean", "coordinate_median", "x" * 40, value + "!"]))
    if isinstance(value, np.ndarray):
        if value.dtype == np.uint64:
            n = draw(st.sampled_from([len(value), len(value) + 1, max(len(value) - 1, 0)]))
            return np.array(draw(st.lists(st.integers(0, gf.P - 1), min_size=n, max_size=n)), dtype=np.uint64)
        how = draw(st.sampled_from(["shift", "nan", "inf", "short"]))
        out = value.astype(np.float64).copy()
        if how == "short":
            return out[:-1]
        if len(out):
            out[draw(st.integers(0, len(out) - 1))] = {"shift": out[0] + 0.5, "nan": np.nan, "inf": np.inf}[
                how
            ]
        return out
    if isinstance(value, tuple):
        ops = ["drop", "dup", "reverse", "item"] if value else ["empty"]
        op = draw(st.sampled_from(ops))
        if op == "empty":
            return value
        k = draw(st.integers(0, len(value) - 1))
        if op == "drop":
            return value[:k] + value[k + 1 :]
        if op == "dup":
            return value[: k + 1] + value[k:]
        if op == "reverse":
            return value[::-1]
        if depth < 4:
            return value[:k] + (mutate_value(draw, value[k], dims, depth + 1),) + value[k + 1 :]
        return value
    return value


def semantic_mutation(draw: st.DrawFn, body: Any, dims: Any) -> bytes | None:
    """Encode a mutated copy of ``body``; ``None`` if the mutation is not encodable
    (e.g. a NaN the writer accepts but no sender could sign meaningfully is still fine)."""
    mutated = mutate_value(draw, body, dims)
    try:
        return mutated.encode()
    except (ValueError, OverflowError, gf.FieldError):
        return None


MUTATIONS = [
    "random",
    "bitflip",
    "truncate",
    "extend",
    "replay",
    "wrong-sender",
    "kind-swap",
    "splice",
    "resign-raw",
    "resign-semantic",
    "resign-semantic",
    "resign-semantic",
    "resign-replay",
    "noncanonical",
]


def make_input(
    draw: st.DrawFn, corpus: list[Delivery], ctx: dict[str, Any]
) -> tuple[str, bytes, Delivery | None]:
    """One hostile input derived from the real messages ``corpus`` sent so far in this run,
    with the message it was derived from."""
    how = draw(st.sampled_from(MUTATIONS)) if corpus else "random"
    if how == "random":
        return how, draw(st.binary(max_size=300)), None
    cfg, byz, keys = ctx["cfg"], ctx["byz"], ctx["byz_keys"]
    pool = corpus
    if how.startswith("resign") or how == "noncanonical":
        # only aggregator kinds are worth re-signing with an aggregator's key; half the time
        # start from the Byzantine node's own genuine messages (its proposals reach R-8)
        signed = [d for d in corpus if d.kind != "submit" and d.src.startswith("A")]
        own = [d for d in signed if d.src == aggregator_name(byz)]
        pool = own if own and draw(st.booleans()) else signed or corpus
    src = pool[draw(st.integers(0, len(pool) - 1))]
    how, payload = _mutate(draw, how, src.data, corpus, cfg, byz, keys)
    return how, payload, src


def _mutate(
    draw: st.DrawFn, how: str, base: bytes, corpus: list[Delivery], cfg: Any, byz: int, keys: Any
) -> tuple[str, bytes]:
    if how == "bitflip":
        k = draw(st.integers(0, 8 * len(base) - 1))
        return how, base[: k // 8] + bytes([base[k // 8] ^ (1 << (k % 8))]) + base[k // 8 + 1 :]
    if how == "truncate":
        return how, base[: draw(st.integers(0, len(base) - 1))]
    if how == "extend":
        return how, base + draw(st.binary(min_size=1, max_size=16))
    if how == "replay":
        return how, base
    try:
        env = Envelope.decode(base)
    except WireError:  # a Byzantine node's junk: use it as it is
        return "replay-junk", base
    if how == "wrong-sender":
        sender = draw(st.integers(0, cfg.n_clients + 2).filter(lambda s: s != env.sender))
        return how, dataclasses.replace(env, sender=sender).encode()
    if how == "kind-swap":
        kind = draw(st.sampled_from(sorted(set(KINDS) - {env.kind})))
        return how, dataclasses.replace(env, kind=kind).encode()
    if how == "splice":
        other = corpus[draw(st.integers(0, len(corpus) - 1))].data
        try:
            env2 = Envelope.decode(other)
        except WireError:
            return how, other
        field_ = draw(st.sampled_from(["body", "sig", "kind"]))
        return how, dataclasses.replace(env, **{field_: getattr(env2, field_)}).encode()
    if how == "resign-raw":
        body = bytearray(env.body)
        if body:
            k = draw(st.integers(0, len(body) - 1))
            body[k] ^= 1 << draw(st.integers(0, 7))
        return how, raw_seal(keys, env.kind, byz, bytes(body))
    try:
        decoded = KINDS[env.kind].decode(env.body, cfg.dims)
    except WireError:
        return "resign-undecodable", raw_seal(keys, env.kind, byz, env.body)
    if how == "resign-replay":
        # an old message's body (possibly of an old round) claimed and signed by the Byzantine node
        return how, raw_seal(keys, env.kind, byz, env.body)
    if how == "noncanonical":
        # same body with its first integer written with a redundant zero group (D-14)
        first = env.body[0] if env.body else 0
        body = bytes([first | 0x80, 0x00]) + env.body[1:] if first < 0x80 else env.body
        return how, raw_seal(keys, env.kind, byz, body)
    encoded = semantic_mutation(draw, decoded, cfg.dims)
    if encoded is None:
        return "resign-unencodable", raw_seal(keys, env.kind, byz, env.body)
    return how, raw_seal(keys, env.kind, byz, encoded)


# -- the interleaved fuzzing run ------------------------------------------------------------


class RecordingScheduler(ControlledScheduler):
    """A seeded random schedule that remembers every message sent (the fuzzing corpus)."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed)
        super().__init__(lambda pending: rng.randrange(len(pending)))
        self.log: list[Delivery] = []

    def push(self, action: Any) -> None:
        if isinstance(action, Delivery):
            self.log.append(action)
        super().push(action)


def assert_complete(built: Built) -> None:
    """L-1/L-2 after fuzzing: every honest aggregator and non-crashed client finished."""
    sim, cfg = built.sim, built.cfg
    assert not len(sim.scheduler)
    for name, agg in built.aggregators.items():
        assert agg.round == cfg.rounds, (name, agg.diagnose())
    for i in range(cfg.n_clients):
        name = client_name(i)
        if name not in sim.crashed:
            assert sim.nodes[name].state.accepted(cfg.rounds), name
    assert sim.complete()


def choose_target(draw: st.DrawFn, payload_src: Delivery | None, candidates: list[str]) -> str:
    """The message's real destination, or an honest node of the role its kind addresses, or any."""
    how = draw(st.sampled_from(["dst", "role", "any"])) if payload_src is not None else "any"
    if how == "dst" and payload_src is not None and payload_src.dst in candidates:
        return payload_src.dst
    if how == "role" and payload_src is not None:
        role = "C" if payload_src.kind == "announce" else "A"
        same = [n for n in candidates if n.startswith(role)]
        if same:
            return draw(st.sampled_from(same))
    aggs = [n for n in candidates if n.startswith("A")]
    pool = aggs if aggs and draw(st.booleans()) else candidates
    return draw(st.sampled_from(pool))


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(data=st.data())
def test_interleaved_fuzzing_never_raises_never_corrupts_and_run_completes(
    data: st.DataObject, small_cfg: ProtocolConfig, tiny_task: Task
) -> None:
    """I-4 (and L-1/L-2 afterwards): hostile inputs interleaved with a real run at random
    points, to random honest aggregators and clients: ``handle`` never raises, every dropped
    input leaves the node's state unchanged, accepted inputs are processed like any delivery,
    and once the remaining real messages are delivered the run completes."""
    seed = data.draw(st.integers(0, 3), label="run seed")
    behaviour = data.draw(st.sampled_from(sorted(byzantine_module.BEHAVIOURS)), label="behaviour")
    sched = RecordingScheduler(data.draw(st.integers(0, 2**16), label="schedule seed"))
    run = RunConfig(
        small_cfg, seed=seed, byzantine=small_cfg.t_a, behaviour=behaviour, crashed=small_cfg.t_c, ghost=False
    )
    built = build(run, tiny_task, sched)
    sim = built.sim
    byz = built.byzantine[0]
    ctx = {"cfg": built.cfg, "byz": byz, "byz_keys": sim.nodes[aggregator_name(byz)].core.keys}
    points = sorted(data.draw(st.lists(st.integers(0, 600), min_size=5, max_size=40), label="fuzz points"))
    sim.start()
    steps, msg = 0, FUZZ_MSG
    for point in points:
        while steps < point and sim.step():
            steps += 1
        how, payload, src = make_input(data.draw, sched.log, ctx)
        target = choose_target(data.draw, src, sorted(n for n in sim.honest if n not in sim.crashed))
        msg += 1
        outputs, dropped = deliver_checked(sim.nodes[target], payload, msg)
        event(f"{how} -> {target[0]}: {drop_reason(outputs).split(':')[0][:40] if dropped else 'accepted'}")
        if not dropped:  # accepted (e.g. an early copy of a real message): the run carries on with it
            sim._emit(target, outputs, msg)
    while sim.step():
        pass
    assert_complete(built)


# -- signed mutations against nodes frozen in the middle of a run ---------------------------


def clone(node: Aggregator | Client) -> Aggregator | Client:
    """A deep copy sharing only the immutable key material and configuration."""
    return copy.deepcopy(
        node, {id(node.keys): node.keys, id(node.public): node.public, id(node.cfg): node.cfg}
    )


@pytest.fixture(scope="module")
def mid_run(small_cfg: ProtocolConfig, tiny_task: Task) -> dict[str, Any]:
    """Copies of every honest node at several points of one run with the messages sent so far,
    and fresh nodes with every message of the run."""
    sched = RecordingScheduler(1)
    built = build(
        RunConfig(small_cfg, seed=5, byzantine=1, behaviour="replay", crashed=0, ghost=False),
        tiny_task,
        sched,
    )
    sim = built.sim
    fresh = {n: clone(sim.nodes[n]) for n in sorted(sim.honest)}
    sim.start()
    frozen, steps = [], 0
    for point in (120, 260, 420, 10**9):
        while steps < point and sim.step():
            steps += 1
        nodes = {n: clone(sim.nodes[n]) for n in sorted(sim.honest)}
        frozen.append((nodes, list(sched.log)))
    # fresh nodes against every message of the run: the guards of a first proposal/announce
    frozen.append((fresh, list(sched.log)))
    byz = built.byzantine[0]
    assert any(
        st_.accepted
        for agg in frozen[1][0].values()
        if isinstance(agg, Aggregator)
        for st_ in agg.clusters.values()
    )
    return {
        "built": built,
        "frozen": frozen,
        "ctx": {"cfg": built.cfg, "byz": byz, "byz_keys": sim.nodes[aggregator_name(byz)].core.keys},
    }


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_hostile_input_to_a_mid_run_node(data: st.DataObject, mid_run: dict[str, Any]) -> None:
    """I-4, R-3: every hostile input (garbage, corrupted or spliced envelopes, wrong claimed
    senders, replays, and semantically mutated bodies validly signed by the Byzantine
    aggregator so that they reach the R-8/R-15 guards) to an honest node taken at some point
    of a run never raises, and if dropped leaves the node's state unchanged. Unsigned
    corruptions are always dropped."""
    nodes, corpus = mid_run["frozen"][data.draw(st.integers(0, len(mid_run["frozen"]) - 1))]
    how, payload, src = make_input(data.draw, corpus, mid_run["ctx"])
    target = choose_target(data.draw, src, sorted(nodes))
    node = clone(nodes[target])
    outputs, dropped = deliver_checked(node, payload, FUZZ_MSG)
    event(f"{how} -> {target[0]}: {drop_reason(outputs).split(':')[0][:40] if dropped else 'accepted'}")
    if how in ("random", "bitflip", "truncate", "extend", "wrong-sender", "kind-swap"):
        assert dropped, (how, outputs)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_signed_mutations_of_first_proposals_offers_and_announcements(
    data: st.DataObject, mid_run: dict[str, Any]
) -> None:
    """I-4, R-8, R-15, R-17: type-directed mutations of the Byzantine coordinator's genuine
    proposal and round-1 offer (to a fresh honest aggregator) and of an honest round-1
    announcement (to a fresh client), validly re-signed by the Byzantine aggregator so that
    they pass R-3 and reach the endorsement, attestation and acceptance guards: never raise,
    and a drop changes nothing. An accepted mutation must still be a proposal R-8 allows, an
    offer whose attested header lists only sets of the genuine one, or an announcement of the
    genuine attested header with its genuine body (I-3)."""
    fresh, corpus = mid_run["frozen"][-1]
    ctx = mid_run["ctx"]
    cfg, byz, keys = ctx["cfg"], ctx["byz"], ctx["byz_keys"]
    kind = data.draw(st.sampled_from(["propose", "offer", "announce"]))
    if kind in ("propose", "offer"):
        pool = [
            d
            for d in corpus
            if d.kind == kind
            and d.src == aggregator_name(byz)
            and d.dst in fresh
            and KINDS[kind].decode(Envelope.decode(d.data).body, cfg.dims).tau <= 1
        ]
    else:
        pool = [
            d
            for d in corpus
            if d.kind == "announce"
            and d.src != aggregator_name(byz)
            and d.dst in fresh
            and Announce.decode(Envelope.decode(d.data).body, cfg.dims).tau == 1
        ]
    src = pool[data.draw(st.integers(0, len(pool) - 1))]
    body = genuine = KINDS[kind].decode(Envelope.decode(src.data).body, cfg.dims)
    for _ in range(data.draw(st.integers(1, 3))):
        body = mutate_value(data.draw, body, cfg.dims)
    try:
        encoded = body.encode()
    except (ValueError, OverflowError, gf.FieldError):
        return
    node = clone(fresh[src.dst])
    outputs, dropped = deliver_checked(node, raw_seal(keys, kind, byz, encoded), FUZZ_MSG)
    event(f"{kind}: {drop_reason(outputs).split(':')[0][:50] if dropped else 'accepted'}")
    if dropped:
        return
    if kind == "propose":  # endorsed: it must satisfy every guard of R-8 (S-4, S-5)
        prop = Propose.decode(encoded, cfg.dims)
        clients = [e.client for e in prop.entries]
        assert prop.cluster == byz and len(clients) >= cfg.q_min and len(set(clients)) == len(clients)
        assert set(clients) <= set(cfg.clusters(prop.tau)[prop.cluster])
        assert any(isinstance(o, Event) and o.kind == "endorse" for o in outputs)
    elif kind == "offer":  # attested: R-17's checks hold and it certifies only genuine sets (I-2)
        assert isinstance(genuine, Offer)
        offer = Offer.decode(encoded, cfg.dims)
        header, _ = check_offer(cfg, node.public.aggregator_sign, node.genesis_model, offer)
        wanted, _ = check_offer(cfg, node.public.aggregator_sign, node.genesis_model, genuine)
        assert set(header.sets) <= set(wanted.sets) and header.prev == wanted.prev
        assert any(isinstance(o, Event) and o.kind == "attest" for o in outputs)
    else:  # accepted or buffered: the genuine attested header, its genuine body if any (I-3)
        assert isinstance(genuine, Announce)
        ann = Announce.decode(encoded, cfg.dims)
        assert ann.header == genuine.header
        if ann.body is not None:
            assert model_digest(ann.body) == genuine.header.model


# -- targeted deeper guards, with inputs signed by the Byzantine aggregator ---------------


@pytest.fixture(scope="module")
def captured(small_cfg: ProtocolConfig, tiny_task: Task) -> dict[str, Any]:
    """A complete FIFO run (the Byzantine node behaves honestly but replays) and every message."""
    sched = RecordingScheduler(2)
    summary, built = execute(
        RunConfig(small_cfg, seed=7, byzantine=1, behaviour="replay", crashed=0, ghost=False),
        task=tiny_task,
        scheduler=sched,
    )
    assert summary.status == "complete"
    byz = built.byzantine[0]
    return {"built": built, "log": sched.log, "byz": byz, "byz_node": built.sim.nodes[aggregator_name(byz)]}


def fresh_aggregator(cap: dict[str, Any], j: int) -> Aggregator:
    built = cap["built"]
    model = built.aggregators[aggregator_name(j)]
    return Aggregator(built.cfg, j, model.keys, model.public, np.zeros(built.cfg.dim))


def fresh_client(cap: dict[str, Any], i: int) -> Client:
    built = cap["built"]
    c = built.sim.nodes[client_name(i)]
    return Client(
        built.cfg,
        i,
        c.keys,
        c.public,
        np.zeros(built.cfg.dim),
        c.trainer,
        np.random.default_rng(0),
        DeterministicEntropy(0, "test"),
    )


def byz_proposal(cap: dict[str, Any], j: int) -> Propose:
    """The Byzantine coordinator's genuine round-0 proposal as sent to aggregator ``j``."""
    byz = cap["byz"]
    for d in cap["log"]:
        if d.kind == "propose" and d.src == aggregator_name(byz) and d.dst == aggregator_name(j):
            env = Envelope.decode(d.data)
            prop = Propose.decode(env.body, cap["built"].cfg.dims)
            if prop.tau == 0:
                return prop
    raise AssertionError("no proposal captured")


def byz_seal(cap: dict[str, Any], body: Any) -> bytes:
    return seal(cap["byz_node"].core.keys, cap["byz"], body).encode()


def honest_index(cap: dict[str, Any]) -> int:
    return next(j for j in range(cap["built"].cfg.n_aggregators) if j != cap["byz"])


def drop_reason(outputs: list[Any]) -> str:
    return " / ".join(o.fields["reason"] for o in outputs if isinstance(o, Event) and o.kind == "drop")


PROPOSAL_ATTACKS = {
    "non-member": (
        lambda p, cfg, other: dataclasses.replace(
            p,
            entries=(
                dataclasses.replace(
                    p.entries[0],
                    client=next(i for i in range(cfg.n_clients) if i not in cfg.clusters(0)[p.cluster]),
                ),
            )
            + p.entries[1:],
        ),
        "non-member or a client twice",
    ),
    "twice": (
        lambda p, cfg, other: dataclasses.replace(p, entries=p.entries + p.entries[:1]),
        "non-member or a client twice",
    ),
    "below-q-min": (
        lambda p, cfg, other: dataclasses.replace(p, entries=p.entries[: cfg.q_min - 1]),
        "q_min",
    ),
    "counts": (lambda p, cfg, other: dataclasses.replace(p, counts=p.counts[:-1]), "counts do not match"),
    "swapped-y": (
        lambda p, cfg, other: dataclasses.replace(
            p,
            entries=(
                dataclasses.replace(p.entries[0], y=p.entries[1].y),
                dataclasses.replace(p.entries[1], y=p.entries[0].y),
            )
            + p.entries[2:],
        ),
        "bad signature",
    ),
    "other-ciphertext": (
        lambda p, cfg, other: dataclasses.replace(
            p,
            entries=(dataclasses.replace(p.entries[0], ciphertext=other.entries[0].ciphertext),)
            + p.entries[1:],
        ),
        "my ciphertext does not match",
    ),
    "other-cluster": (
        lambda p, cfg, other: dataclasses.replace(p, cluster=(p.cluster + 1) % cfg.n_aggregators),
        "not its coordinator",
    ),
}


@pytest.mark.parametrize("attack", sorted(PROPOSAL_ATTACKS))
def test_byzantine_proposals_fail_the_endorsement_guards(attack: str, captured: dict[str, Any]) -> None:
    """I-4, R-8, S-4, S-5: a Byzantine coordinator's validly signed but invalid proposals
    (non-member, client twice, fewer than q_min, wrong counts, swapped masked updates,
    another recipient's ciphertext, another cluster) are dropped with the reason of the
    failed guard and change nothing; the untouched proposal is endorsed."""
    cfg, j = captured["built"].cfg, honest_index(captured)
    prop = byz_proposal(captured, j)
    other = byz_proposal(captured, next(k for k in range(cfg.n_aggregators) if k not in (j, captured["byz"])))
    assert len(prop.entries) >= 2
    mutate, reason = PROPOSAL_ATTACKS[attack]
    agg = fresh_aggregator(captured, j)
    outputs, dropped = deliver_checked(agg, byz_seal(captured, mutate(prop, cfg, other)), 1)
    assert dropped and reason in drop_reason(outputs), drop_reason(outputs)
    outputs, dropped = deliver_checked(agg, byz_seal(captured, prop), 2)
    assert not dropped and any(isinstance(o, Event) and o.kind == "endorse" for o in outputs)


def test_equivocating_second_proposal_is_traced_and_changes_nothing(captured: dict[str, Any]) -> None:
    """I-4, S-2, R-8: after endorsing a first proposal, a different valid proposal for the
    same (tau, c) yields an equivocation event and a drop, no endorsement, no state change."""
    j = honest_index(captured)
    prop = byz_proposal(captured, j)
    agg = fresh_aggregator(captured, j)
    outputs, dropped = deliver_checked(agg, byz_seal(captured, prop), 1)
    assert not dropped
    smaller = dataclasses.replace(prop, entries=prop.entries[:-1])
    assert len(smaller.entries) >= captured["built"].cfg.q_min
    outputs, dropped = deliver_checked(agg, byz_seal(captured, smaller), 2)
    assert dropped
    assert [o.kind for o in outputs if isinstance(o, Event)] == ["equivocation", "drop"]
    assert not any(isinstance(o, Send) for o in outputs)


def real_announce(cap: dict[str, Any], tau: int, to: int = 0, body: bool = True) -> tuple[Announce, str]:
    """An honest aggregator's round-``tau`` announcement to client ``to``, with or without a
    body (D-18 decides which aggregators send ``to`` the body)."""
    for d in cap["log"]:
        if d.kind == "announce" and d.src != aggregator_name(cap["byz"]) and d.dst == client_name(to):
            ann = Announce.decode(Envelope.decode(d.data).body, cap["built"].cfg.dims)
            if ann.tau == tau and (ann.body is not None) == body:
                return ann, d.src
    raise AssertionError("no announce captured")


def _with_sets(a: Announce, sets: Any) -> Announce:
    return dataclasses.replace(a, header=dataclasses.replace(a.header, sets=tuple(sets)))


def _self_attested(a: Announce, header: Any, keys: Any, byz: int) -> Announce:
    """``header`` with the Byzantine node's own attestation only (t_a = 1 valid signatures)."""
    return Announce(header, ((byz, attest_signature(keys, header)),), a.body)


NON_MEMBER = (0,)  # a client of another cluster than cluster 0's set in round 0 (checked below)

ANNOUNCE_ATTACKS = {
    # R-15c: the header's sets and rule, checked before any signature
    "duplicate-cluster": (
        lambda a, k, b: _with_sets(a, (a.header.sets[0],) * len(a.header.sets)),
        "sorted and distinct",
    ),
    "unsorted": (lambda a, k, b: _with_sets(a, a.header.sets[::-1]), "sorted and distinct"),
    "too-few-clusters": (lambda a, k, b: _with_sets(a, a.header.sets[:-1]), "sets <"),
    "rule": (
        lambda a, k, b: dataclasses.replace(a, header=dataclasses.replace(a.header, rule="mean")),
        "rule",
    ),
    "below-q-min": (
        lambda a, k, b: _with_sets(
            a,
            (dataclasses.replace(a.header.sets[0], clients=a.header.sets[0].clients[:1]),)
            + a.header.sets[1:],
        ),
        "q_min",
    ),
    "non-member": (
        lambda a, k, b: _with_sets(
            a,
            (
                dataclasses.replace(
                    a.header.sets[0], clients=tuple(sorted(NON_MEMBER + a.header.sets[0].clients[1:]))
                ),
            )
            + a.header.sets[1:],
        ),
        "not a member",
    ),
    # R-15d: t_a + 1 valid attestations from distinct aggregators on the header
    "one-attestation": (
        lambda a, k, b: dataclasses.replace(a, attestations=a.attestations[:1]),
        "valid attestations",
    ),
    "same-attester-twice": (
        lambda a, k, b: dataclasses.replace(a, attestations=a.attestations[:1] * 2),
        "valid attestations",
    ),
    "forged-model-self-attested": (
        lambda a, k, b: _self_attested(
            dataclasses.replace(a, body=a.body + 0.25),
            dataclasses.replace(a.header, model=model_digest(a.body + 0.25)),
            k,
            b,
        ),
        "valid attestations",
    ),
    "changed-prev": (
        lambda a, k, b: dataclasses.replace(a, header=dataclasses.replace(a.header, prev=b"\7" * 32)),
        "valid attestations",
    ),
    "wrong-round": (
        lambda a, k, b: dataclasses.replace(a, header=dataclasses.replace(a.header, tau=2)),
        "valid attestations / not a member",  # the sets name round-1 members: R-15c may see it first
    ),
    # R-15e: the body's digest
    "wrong-body": (lambda a, k, b: dataclasses.replace(a, body=a.body + 0.25), "body digest"),
}


@pytest.mark.parametrize("attack", sorted(ANNOUNCE_ATTACKS))
def test_unattested_announcements_are_refused(attack: str, captured: dict[str, Any]) -> None:
    """I-3, I-4, R-15 (c)-(e), S-7: a client refuses a validly signed announcement whose header
    breaks R-15c (duplicate, unsorted or too few sets, wrong rule, a set below q_min or with a
    non-member), that lacks t_a + 1 valid attestations from distinct aggregators (one, the
    same twice, a forged model attested by the Byzantine node alone, a changed prev or round),
    or whose body does not match the header, with no state change; it accepts the genuine one."""
    cfg, keys, byz = captured["built"].cfg, captured["byz_node"].core.keys, captured["byz"]
    ann, _ = real_announce(captured, 1)
    assert len(ann.header.sets) >= cfg.quorum and len(ann.attestations) == cfg.t_a + 1
    assert NON_MEMBER[0] not in cfg.clusters(0)[ann.header.sets[0].cluster]
    mutate, reason = ANNOUNCE_ATTACKS[attack]
    bad = mutate(ann, keys, byz)
    client = fresh_client(captured, 0)
    outputs, dropped = deliver_checked(client, byz_seal(captured, bad), 1)
    assert dropped and any(r in drop_reason(outputs) for r in reason.split(" / ")), drop_reason(outputs)
    outputs, dropped = deliver_checked(client, byz_seal(captured, ann), 2)
    assert not dropped and any(isinstance(o, Event) and o.kind == "accept" for o in outputs)
    assert any(isinstance(o, RequestLocalStep) for o in outputs)


def test_announcement_waits_for_its_prev_and_headers_without_body_are_not_trained_on(
    captured: dict[str, Any],
) -> None:
    """R-15b, R-15, D-12: a round-2 announcement reaching a fresh client first is buffered
    (no accept) until a round-1 header is verified; a header without body is verified (it
    releases the buffered round 2, and counts for D-12) but not trained on; round 2's body
    is then kept, not accepted, because models are accepted in round order (regression:
    the client used to accept round 2 before round 1, which the checker refuses as R-15;
    found by the zoo's attest-twice search against the correct implementation); the body
    of the same round-1 header then is accepted, and round 2's kept body right after it."""
    cfg = captured["built"].cfg
    client = fresh_client(captured, 0)
    second, _ = real_announce(captured, 2)
    outputs, dropped = deliver_checked(client, byz_seal(captured, second), 1)
    assert not dropped and not [o for o in outputs if isinstance(o, Event)]
    assert list(client.state.pending) == [(captured["byz"], 2)]
    first_header, _ = real_announce(captured, 1, body=False)
    first_body, _ = real_announce(captured, 1, body=True)
    assert first_header.header == first_body.header  # one honest model per round in this run
    outputs, dropped = deliver_checked(client, byz_seal(captured, first_header), 2)
    accepts = [o for o in outputs if isinstance(o, Event) and o.kind == "accept"]
    assert not dropped and not accepts  # round 2's body waits for round 1 (R-15, in order)
    assert list(client.state.ahead) == [2]
    assert not client.state.accepted(1) and client.state.verified.has(1, first_header.header.model)
    mine = {(1 - 1, s.cluster, s.pd) for s in first_header.header.sets if 0 in s.clients}
    mine |= {(2 - 1, s.cluster, s.pd) for s in second.header.sets if 0 in s.clients}
    assert set(client.state.included) == mine and len(client.state.included) == len(mine)
    outputs, dropped = deliver_checked(client, byz_seal(captured, first_body), 3)
    accepts = [o for o in outputs if isinstance(o, Event) and o.kind == "accept"]
    assert not dropped and [a.fields["round"] for a in accepts] == [1, 2]
    assert all(a.fields["count"] == len(mine) for a in accepts) and not client.state.ahead
    assert cfg.rounds >= 2


def test_designated_body_senders(captured: dict[str, Any]) -> None:
    """D-18: in its round announcement aggregator j pushes the body to client i iff
    i mod n_a = j (one pusher per client) and sends the header only to the others; a
    served fetch (D-22) is an announce with the body to a client of another pusher."""
    cfg = captured["built"].cfg
    seen: dict[tuple[str, str, int], bool] = {}
    for d in captured["log"]:
        if d.kind == "announce" and d.src != aggregator_name(captured["byz"]):
            ann = Announce.decode(Envelope.decode(d.data).body, cfg.dims)
            seen.setdefault((d.src, d.dst, ann.tau), ann.body is not None)  # the first: R-14's
    assert len({(s, d) for s, d, _ in seen}) == (cfg.n_aggregators - 1) * cfg.n_clients
    for (src, dst, _), has_body in seen.items():
        j, i = int(src[1:]), int(dst[1:])
        assert has_body == (i % cfg.n_aggregators == j), (src, dst)


def test_attester_refuses_bad_offers(captured: dict[str, Any]) -> None:
    """R-17 (b)-(d), I-4: an honest aggregator drops, with the reason and no state change, a
    validly signed offer whose prev model does not match its header, whose prev header lacks
    t_a + 1 attestations, whose evidence has too few clusters or another rule, or a round-1
    offer with a prev; it attests the genuine offer once and drops it as a duplicate after."""
    cfg, byz = captured["built"].cfg, captured["byz"]
    offers = {}
    for d in captured["log"]:
        if d.kind == "offer" and d.src == aggregator_name(byz):
            o = Offer.decode(Envelope.decode(d.data).body, cfg.dims)
            offers.setdefault(o.tau, o)
    first, second = offers[1], offers[2]
    assert second.prev_header is not None and second.prev_model is not None
    bad = {
        "prev model does not match": dataclasses.replace(second, prev_model=second.prev_model + 1.0),
        "valid attestations": dataclasses.replace(second, prev_attestations=second.prev_attestations[:1]),
        "clusters <": dataclasses.replace(first, evidence=first.evidence[: cfg.quorum - 1]),
        "rule": dataclasses.replace(first, rule="mean"),
        "no prev": dataclasses.replace(
            first,
            prev_header=second.prev_header,
            prev_attestations=second.prev_attestations,
            prev_model=second.prev_model,
        ),
        "without its prev": dataclasses.replace(second, prev_header=None, prev_model=None),
    }
    agg = fresh_aggregator(captured, honest_index(captured))
    for k, (reason, offer) in enumerate(bad.items()):
        outputs, dropped = deliver_checked(agg, byz_seal(captured, offer), k)
        assert dropped and reason in drop_reason(outputs), (reason, drop_reason(outputs))
    for k, offer in enumerate((first, second)):
        outputs, dropped = deliver_checked(agg, byz_seal(captured, offer), 10 + k)
        assert not dropped and [o.kind for o in outputs if isinstance(o, Event)] == ["attest"]
        assert [o.to for o in outputs if isinstance(o, Send)] == [aggregator_name(byz)]
        outputs, dropped = deliver_checked(agg, byz_seal(captured, offer), 20 + k)
        assert dropped and "duplicate offer" in drop_reason(outputs)


def test_replays_and_old_round_messages_are_dropped(captured: dict[str, Any]) -> None:
    """I-4, R-3: replaying every captured message to its destination after the run (old
    rounds included) changes no honest node's state: each is a duplicate or a late copy."""
    built = captured["built"]
    for k, d in enumerate(captured["log"]):
        node = built.sim.nodes[d.dst]
        if d.dst not in built.sim.honest:
            continue
        before = snapshot(node)
        outputs = node.handle(d.data, FUZZ_MSG + k)
        assert not any(isinstance(o, Send | RequestLocalStep) for o in outputs), d.kind
        assert snapshot(node) == before, d.kind


def test_noncanonical_integers_are_refused(captured: dict[str, Any]) -> None:
    """I-4, D-14 (regression): a body whose integers are not canonically encoded (a redundant
    zero LEB128 group), even validly signed, is dropped as malformed; otherwise an honest
    aggregator would store a signature that fails on the canonical re-encoding that clients
    recheck in the evidence, and every announcement using it would be refused."""
    cfg, j = captured["built"].cfg, honest_index(captured)
    keys, byz = captured["byz_node"].core.keys, captured["byz"]
    body = Endorse(0, byz, b"\1" * 32, b"\2" * 32).encode()
    assert body[0] == 0
    agg = fresh_aggregator(captured, j)
    outputs, dropped = deliver_checked(agg, raw_seal(keys, "endorse", byz, b"\x80\x00" + body[1:]), 1)
    assert dropped and "non-canonical" in drop_reason(outputs)
    release = Release(0, byz, b"\1" * 32, np.zeros(cfg.dim, dtype=np.uint64)).encode()
    outputs, dropped = deliver_checked(agg, raw_seal(keys, "release", byz, b"\x80\x00" + release[1:]), 2)
    assert dropped and "non-canonical" in drop_reason(outputs)


def noncanonical_behaviour(b: Any, s: Send) -> list[Send]:
    """A Byzantine aggregator that is honest except that it writes ``tau`` of its endorse and
    release bodies with a redundant zero LEB128 group and signs those bytes."""
    if s.kind not in ("endorse", "release"):
        return [s]
    env = Envelope.decode(s.data)
    body = bytes([env.body[0] | 0x80, 0x00]) + env.body[1:]
    digest = envelope_digest(env.kind, env.sender, body)
    sig = b.core.keys.sign(digest)
    return [
        Send(
            s.to,
            dataclasses.replace(env, body=body, sig=sig).encode(),
            s.kind,
            digest,
            sig,
            s.round,
            s.cluster,
        )
    ]


@pytest.mark.parametrize("seed", [1, 4, 5])
def test_noncanonical_byzantine_aggregator_cannot_stall_clients(
    seed: int, small_cfg: ProtocolConfig, tiny_task: Task, monkeypatch: pytest.MonkeyPatch
) -> None:
    """L-1, L-2, I-4 (regression): one Byzantine aggregator (within t_a) signing
    non-canonically encoded endorsements and releases used to stall every client at round 0
    for these seeds; now its messages are dropped and the run completes."""
    monkeypatch.setitem(byzantine_module.BEHAVIOURS, "noncanonical", noncanonical_behaviour)
    run = RunConfig(
        small_cfg, seed=seed, scheduler="fifo", byzantine=1, behaviour="noncanonical", crashed=0, ghost=False
    )
    summary, built = execute(run, task=tiny_task, scheduler=FifoScheduler())
    assert summary.status == "complete", summary.detail
    assert_complete(built)


def test_submissions_guarded(captured: dict[str, Any]) -> None:
    """I-4, R-3, R-2: a coordinator drops a submission sent to the wrong coordinator, one
    re-signed by an aggregator, and a duplicate; each leaves its state unchanged."""
    built = captured["built"]
    subs = [d for d in captured["log"] if d.kind == "submit" and d.dst in built.aggregators]
    d = subs[0]
    sub = Submit.decode(Envelope.decode(d.data).body, built.cfg.dims)
    coord = int(d.dst[1:])
    agg = fresh_aggregator(captured, coord)
    wrong = next(j for j in range(built.cfg.n_aggregators) if j not in (coord, captured["byz"]))
    outputs, dropped = deliver_checked(fresh_aggregator(captured, wrong), d.data, 1)
    assert dropped and "not in my cluster" in drop_reason(outputs)
    outputs, dropped = deliver_checked(agg, byz_seal(captured, sub), 2)
    assert dropped and "bad signature" in drop_reason(outputs)
    outputs, dropped = deliver_checked(agg, d.data, 3)
    assert not dropped
    outputs, dropped = deliver_checked(agg, d.data, 4)
    assert dropped and "duplicate" in drop_reason(outputs)


def test_second_body_of_an_accepted_round_is_compared_not_hashed(
    captured: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """R-15, R-15e: once a client accepted round 1, a second body of the same header (the
    designated second sender's, D-18) is dropped as a duplicate without hashing it: it is
    byte for byte the accepted body, so its digest is the header's. A body that differs
    (here by 0.25; or by the sign of a zero, equal as floats but not as bytes) is still
    hashed and dropped for its digest (R-15e), and leaves the accepted model alone."""
    ann, src = real_announce(captured, 1)
    honest = next(
        d.data
        for d in captured["log"]
        if d.kind == "announce"
        and (d.src, d.dst) == (src, "C0")
        and Announce.decode(Envelope.decode(d.data).body, captured["built"].cfg.dims).tau == 1
    )
    client = fresh_client(captured, 0)
    outputs, dropped = deliver_checked(client, byz_seal(captured, ann), 1)
    assert not dropped and any(isinstance(o, Event) and o.kind == "accept" for o in outputs)
    hashed: list[int] = []
    real_digest = client_module.model_digest

    def counting(model: np.ndarray) -> bytes:
        hashed.append(model.size)
        return real_digest(model)

    monkeypatch.setattr(client_module, "model_digest", counting)
    outputs, dropped = deliver_checked(client, honest, 2)  # the same body from another sender
    assert dropped and "duplicate announce" in drop_reason(outputs) and hashed == []
    before = client.state.model.copy()
    wrong = dataclasses.replace(ann, body=ann.body + 0.25)
    outputs, dropped = deliver_checked(client, byz_seal(captured, wrong), 3)
    assert dropped and "body digest" in drop_reason(outputs), drop_reason(outputs)
    assert np.array_equal(client.state.model, before)
    assert not same_model(np.array([0.0, 1.0]), np.array([-0.0, 1.0]))  # equal floats, other bytes
    assert same_model(ann.body, ann.body.copy())
    assert hashed  # the differing bodies were hashed
