"""A library of Byzantine aggregator behaviours for the simulator.

A Byzantine aggregator runs an honest core (so it holds real keys, shares and
state, and its attacks are as strong as an insider's) and rewrites what that
core sends. It writes no protocol events: only the wire (sends, deliveries)
shows what it did.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from asfl.impl import field
from asfl.impl.aggregator import Aggregator
from asfl.impl.certify import attest_signature
from asfl.impl.messages import Announce, Attest, Endorse, Envelope, Propose, Release, model_digest
from asfl.impl.node import Output, Send, client_name, send
from asfl.impl.wire import WireError

Rewrite = Callable[["ByzantineAggregator", Send], list[Send]]


class ByzantineAggregator:
    """Wraps an honest :class:`Aggregator` and rewrites its sends with ``behaviour``."""

    def __init__(self, core: Aggregator, behaviour: str, rng: np.random.Generator) -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}; choose from {', '.join(BEHAVIOURS)}")
        self.core, self.behaviour, self.rng = core, behaviour, rng
        self.index = core.index
        self.sent: list[Send] = []
        self.seen: set[bytes] = set()

    done = True  # a Byzantine node has no obligations (L-1 concerns honest nodes)
    rounds_done = 0

    def handle(self, data: bytes, msg: int) -> list[Output]:
        sends = [o for o in self.core.handle(data, msg) if isinstance(o, Send)]
        out: list[Output] = []
        for s in sends:
            out += BEHAVIOURS[self.behaviour](self, s)
        if self.behaviour == "replay":
            out += self._replay(data)
        if self.behaviour == "replay":  # only the replaying adversary remembers what it sent
            self.sent += [o for o in out if isinstance(o, Send)]
        return out

    def _reseal(self, original: Send, message: Propose | Endorse | Release | Attest | Announce) -> Send:
        return send(self.core.keys, self.index, original.to, message)

    def _replay(self, data: bytes) -> list[Output]:
        """Forward every new message received to a random aggregator and client, and replay an old send."""
        if data in self.seen:
            return []
        self.seen.add(data)
        cfg = self.core.cfg
        out: list[Output] = []
        for to in (
            f"A{self.rng.integers(cfg.n_aggregators)}",
            client_name(int(self.rng.integers(cfg.n_clients))),
        ):
            out.append(_forwarded(to, data))
        if self.sent:
            old = self.sent[int(self.rng.integers(len(self.sent)))]
            out.append(dataclasses.replace(old, to=f"A{self.rng.integers(cfg.n_aggregators)}"))
        return out


def _forwarded(to: str, data: bytes) -> Send:
    """A verbatim copy of someone else's message: the trace shows its real kind, digest and signature."""
    try:
        env = Envelope.decode(data)
    except WireError:
        return Send(to, data, "junk", b"\0" * 32, b"\0" * 64)
    return Send(to, data, env.kind, env.digest(), env.sig)


def silent(b: ByzantineAggregator, s: Send) -> list[Send]:
    """Halts: sends nothing at all."""
    return []


def equivocate(b: ByzantineAggregator, s: Send) -> list[Send]:
    """As coordinator, proposes one set to half of the aggregators and a different one to the rest."""
    if s.kind != "propose" or int(s.to[1:]) < b.core.cfg.n_aggregators // 2:
        return [s]
    prop = Propose.decode(Envelope.decode(s.data).body, b.core.cfg.dims)
    if len(prop.entries) - 1 < b.core.cfg.q_min:
        return [s]
    return [b._reseal(s, dataclasses.replace(prop, entries=prop.entries[:-1]))]


def wrong_shares(b: ByzantineAggregator, s: Send) -> list[Send]:
    """Releases a random share sum instead of its true one (detected by D-4)."""
    if s.kind != "release":
        return [s]
    rel = Release.decode(Envelope.decode(s.data).body, b.core.cfg.dims)
    seed = np.random.default_rng(int(b.rng.integers(2**32)))
    junk = seed.integers(0, field.P, size=rel.share_sum.shape, dtype=np.uint64)
    return [b._reseal(s, dataclasses.replace(rel, share_sum=junk))]


def forge_announce(b: ByzantineAggregator, ann: Announce) -> Announce:
    """A forged announcement: its model perturbed, attested by this Byzantine node alone (its
    attestation listed t_a + 1 times: one distinct attester, R-15d refuses it), or, half of
    the time when the
    honest announcement carries a body, the honest header and attestations with a wrong
    body (R-15e refuses it)."""
    model = ann.body if ann.body is not None else b.core.models[ann.tau]
    forged = model + b.rng.normal(0.0, 1.0, size=model.shape)
    if ann.body is not None and b.rng.integers(2):
        return dataclasses.replace(ann, body=forged)
    header = dataclasses.replace(ann.header, model=model_digest(forged))
    own = (b.index, attest_signature(b.core.keys, header))
    return Announce(header, (own,) * (b.core.cfg.t_a + 1), forged)


def forge(b: ByzantineAggregator, s: Send) -> list[Send]:
    """Announces forged models, attests headers that do not exist and endorses proposals
    that do not exist."""
    cfg = b.core.cfg
    if s.kind == "announce":
        ann = Announce.decode(Envelope.decode(s.data).body, cfg.dims)
        return [b._reseal(s, forge_announce(b, ann))]
    if s.kind == "attest":
        att = Attest.decode(Envelope.decode(s.data).body, cfg.dims)
        junk = bytes(b.rng.bytes(32))
        return [b._reseal(s, dataclasses.replace(att, header_digest=junk, sig=b.core.keys.sign(junk)))]
    if s.kind == "endorse":
        end = Endorse.decode(Envelope.decode(s.data).body, cfg.dims)
        fake = Endorse(end.tau, end.cluster, bytes(b.rng.bytes(32)), bytes(b.rng.bytes(32)))
        return [b._reseal(s, fake)]
    return [s]


def censor(b: ByzantineAggregator, s: Send) -> list[Send]:
    """As coordinator, proposes only ``q_min`` clients, censoring the rest."""
    if s.kind != "propose":
        return [s]
    prop = Propose.decode(Envelope.decode(s.data).body, b.core.cfg.dims)
    return [b._reseal(s, dataclasses.replace(prop, entries=prop.entries[-b.core.cfg.q_min :]))]


def replay(b: ByzantineAggregator, s: Send) -> list[Send]:
    """Behaves honestly but also replays received and old messages (see ``_replay``)."""
    return [s]


def malformed(b: ByzantineAggregator, s: Send) -> list[Send]:
    """Replaces every message by a corrupted one: truncated, bit-flipped, junk or badly signed."""
    data = bytearray(s.data)
    how = int(b.rng.integers(4))
    if how == 0:
        data = data[: int(b.rng.integers(len(data)))]
    elif how == 1:
        k = int(b.rng.integers(len(data)))
        data[k] ^= 1 << int(b.rng.integers(8))
    elif how == 2:
        data = bytearray(b.rng.bytes(int(b.rng.integers(1, 256))))
    else:
        try:
            env = Envelope.decode(bytes(data))
            data = bytearray(dataclasses.replace(env, sig=bytes(b.rng.bytes(64))).encode())
        except WireError:
            pass
    return [Send(s.to, bytes(data), "junk", b"\0" * 32, b"\0" * 64, s.round, s.cluster)]


BEHAVIOURS: dict[str, Rewrite] = {
    "silent": silent,
    "equivocate": equivocate,
    "wrong-shares": wrong_shares,
    "forge": forge,
    "censor": censor,
    "replay": replay,
    "malformed": malformed,
}
