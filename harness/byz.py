"""Byzantine aggregators whose every outgoing message is an adversarial choice.

A :class:`HarnessByzantine` runs an honest :class:`impl.aggregator.Aggregator` core (so
it holds real keys, shares and submissions: an insider's attack) and decides, message by
message, what to do with what the core would send. In ``scripted`` mode the core's
messages wait in an outbox until the test (Hypothesis rules or a replayed schedule)
picks one and a *mutation*; in an automatic mode a named behaviour mutates every
message as it is produced. All randomness comes from explicit seeds, so a schedule
replays byte for byte.
"""

from __future__ import annotations

import dataclasses
import random

import numpy as np

from asfl.impl import field
from asfl.impl.aggregator import Aggregator
from asfl.impl.certify import attest_signature
from asfl.impl.messages import (
    Announce,
    Endorse,
    Envelope,
    Offer,
    ProposalEntry,
    Propose,
    Release,
    Submit,
    field_digest,
    model_digest,
)
from asfl.impl.node import Output, Send, send
from asfl.impl.sim.byzantine import _forwarded as forwarded  # real kind, digest and signature
from asfl.impl.wire import WireError

# Per-message mutations. Each applies to some message kinds and leaves the others honest.
MUTATIONS = (
    "honest",  # forward as the honest core would
    "drop",  # silence (omission)
    "wrong_share",  # release: a random share sum (D-4 must detect it)
    "forge_endorse",  # endorse: a (pd, md) that no proposal has
    "forge_model",  # announce: a forged model attested by itself only, or a wrong body
    "forge_offer",  # offer: a tampered masked sum (uncertified evidence) or a self-attested forged prev
    "equivocate",  # propose: a different valid set to this recipient
    "double",  # propose: the honest proposal and a different one, both to this recipient
    "censor",  # propose: only q_min of the held clients
    "undersize",  # propose: q_min - 1 clients (R-8 must refuse)
    "dup_entry",  # propose: one client listed twice (R-8 must refuse)
    "tamper_y",  # propose: one masked update altered, client signature kept (R-8 must refuse)
    "junk",  # any: truncated, bit-flipped, random or badly signed bytes (R-3 must drop)
)

# Automatic behaviours: which mutation each message kind gets.
AUTO: dict[str, dict[str, str]] = {
    "honest": {},
    "silent": {"*": "drop"},
    "equivocate": {"propose": "equivocate"},
    "double": {"propose": "double"},
    "wrong-shares": {"release": "wrong_share"},
    "forge": {"endorse": "forge_endorse", "announce": "forge_model", "offer": "forge_offer"},
    "censor": {"propose": "censor"},
    "undersize": {"propose": "undersize"},
    "dup-entry": {"propose": "dup_entry"},
    "tamper": {"propose": "tamper_y"},
    "malformed": {"*": "junk"},
    "replay": {},  # honest, plus forwarding and re-sending (see ``_replay``)
    "chaos": {},  # a random mutation per message
}
BEHAVIOURS = ("scripted", *AUTO)


class HarnessByzantine:
    """A Byzantine aggregator wrapping an honest core (see the module docstring)."""

    done = True  # a Byzantine node has no obligations (L-1 concerns honest nodes)
    rounds_done = 0

    def __init__(self, core: Aggregator, mode: str, seed: int) -> None:
        if mode not in BEHAVIOURS:
            raise ValueError(f"unknown Byzantine mode {mode!r}; choose from {', '.join(BEHAVIOURS)}")
        self.core, self.mode = core, mode
        self.index = core.index
        self.name = f"A{core.index}"
        self.rng = random.Random(seed)
        self.outbox: list[Send] = []
        self.inbox: list[bytes] = []
        self._seen: set[bytes] = set()
        self.sent: list[Send] = []
        self.genuine_models: set[str] = set()  # digests of models the core computed (certified)
        self.sent_replays = 0  # forwarded messages
        self.submits: dict[tuple[int, int], Submit] = {}
        self.waiting: dict[tuple[int, int], list[tuple[Send, str, list[int], int]]] = {}

    # -- the node interface the simulator calls ------------------------------------

    def handle(self, data: bytes, msg: int) -> list[Output]:
        if data not in self._seen:
            self._seen.add(data)
            self.inbox.append(data)
            self._remember_submit(data)
        sends = [o for o in self.core.handle(data, msg) if isinstance(o, Send)]
        for s in sends:
            if s.kind == "announce":
                ann = Announce.decode(Envelope.decode(s.data).body, self.core.cfg.dims)
                self.genuine_models.add(ann.header.model.hex())
        if self.mode == "scripted":
            self.outbox += sends
            flushed = self._flush_waiting()
            self.sent += flushed
            return list(flushed)
        out: list[Send] = []
        rule = AUTO[self.mode]
        for s in sends:
            if self.mode == "chaos":
                how = MUTATIONS[self.rng.randrange(len(MUTATIONS))]
            else:
                how = rule.get(s.kind, rule.get("*", "honest"))
                if (
                    how in ("equivocate", "forge_offer")
                    and int(s.to[1:]) != (self.index + 1) % self.core.cfg.n_aggregators
                ):
                    how = "honest"  # one honest recipient gets the other set / a forged offer: the
                    # others certify the first / attest the genuine offer, so its announcements go out
            out += mutate(self, s, how, self.rng.randrange(2**32))
        if self.mode == "replay":
            out += self._replay(data)
        out += self._flush_waiting()
        self.sent += out
        return list(out)

    def _remember_submit(self, data: bytes) -> None:
        """Keep every signed submission received, also after closing: equivocation material."""
        try:
            env = Envelope.decode(data)
            if env.kind == "submit":
                sub = Submit.decode(env.body, self.core.cfg.dims)
                self.submits[(sub.tau, sub.client)] = sub
        except WireError:
            pass

    def _flush_waiting(self) -> list[Send]:
        """Send the equivocating proposals that waited for one more submission."""
        out: list[Send] = []
        for key, items in list(self.waiting.items()):
            tau, c = key
            members = set(self.core.cfg.clusters(tau)[c])
            have = {i for (t, i) in self.submits if t == tau and i in members}
            if have - set(items[0][2]):
                del self.waiting[key]
                for s, how, _clients, seed in items:
                    out += mutate(self, s, how, seed)
        return out

    def _replay(self, data: bytes) -> list[Send]:
        """Forward a new message to a random aggregator and client, and re-send an old one."""
        cfg = self.core.cfg
        self.sent_replays += 1
        out = [
            forwarded(f"A{self.rng.randrange(cfg.n_aggregators)}", data),
            forwarded(f"C{self.rng.randrange(cfg.n_clients)}", data),
        ]
        if self.sent:
            old = self.sent[self.rng.randrange(len(self.sent))]
            out.append(dataclasses.replace(old, to=f"A{self.rng.randrange(cfg.n_aggregators)}"))
        return out

    # -- scripted mode -------------------------------------------------------------

    def take(self, k: int) -> Send:
        return self.outbox.pop(k)

    def crafted(self, send_: Send, how: str, seed: int) -> list[Send]:
        out = mutate(self, send_, how, seed)
        self.sent += out
        return out


def forge_offer(b: HarnessByzantine, offer: Offer, seed: int) -> Offer:
    """An offer no honest aggregator may attest (R-17): its first cluster's masked sum
    changed (with a matching ``md``, so only the certificate betrays it), or, from round 2
    on and half of the time, a forged prev model whose header only this node attests."""
    gen = np.random.default_rng(seed)
    if offer.prev_model is not None and offer.prev_header is not None and seed % 2:
        prev = offer.prev_model + gen.normal(0.0, 1.0, size=offer.prev_model.shape)
        header = dataclasses.replace(offer.prev_header, model=model_digest(prev))
        own = ((b.index, attest_signature(b.core.keys, header)),) * (b.core.cfg.t_a + 1)
        return dataclasses.replace(offer, prev_header=header, prev_attestations=own, prev_model=prev)
    ev = offer.evidence[0]
    y = field.add(ev.masked_sum, np.ones_like(ev.masked_sum))
    return dataclasses.replace(
        offer, evidence=(dataclasses.replace(ev, masked_sum=y, md=field_digest(y)),) + offer.evidence[1:]
    )


def _reseal(b: HarnessByzantine, original: Send, message: object) -> Send:
    return send(b.core.keys, b.index, original.to, message)  # type: ignore[arg-type]


def _entries_for(b: HarnessByzantine, prop: Propose, to: int, clients: list[int]) -> tuple:
    """Entries for recipient ``to`` built from the core's held submissions of ``clients``."""
    held = {i: sub for (t, i), sub in b.submits.items() if t == prop.tau}
    held.update(b.core.clusters[(prop.tau, prop.cluster)].held)
    return tuple(
        ProposalEntry(s.client, s.y, s.share_digests, s.ciphertexts[to], s.client_sig)
        for s in (held[i] for i in sorted(clients))
    )


def mutate(b: HarnessByzantine, s: Send, how: str, seed: int) -> list[Send]:
    """Apply mutation ``how`` to send ``s`` (honest if it does not apply to ``s.kind``)."""
    rng = random.Random(seed)
    cfg = b.core.cfg
    if how == "drop":
        return []
    if how == "junk":
        return [_junk(s, rng)]
    if s.kind not in ("propose", "endorse", "release", "offer", "announce"):
        return [s]
    try:
        env = Envelope.decode(s.data)
    except WireError:  # pragma: no cover - the core only sends well-formed messages
        return [s]
    if how == "wrong_share" and s.kind == "release":
        rel = Release.decode(env.body, cfg.dims)
        gen = np.random.default_rng(seed)
        junk = gen.integers(0, field.P, size=rel.share_sum.shape, dtype=np.uint64)
        return [_reseal(b, s, dataclasses.replace(rel, share_sum=junk))]
    if how == "forge_endorse" and s.kind == "endorse":
        end = Endorse.decode(env.body, cfg.dims)
        return [_reseal(b, s, Endorse(end.tau, end.cluster, rng.randbytes(32), rng.randbytes(32)))]
    if how == "forge_model" and s.kind == "announce":
        ann = Announce.decode(env.body, cfg.dims)
        gen = np.random.default_rng(seed)
        model = b.core.models[ann.tau]
        forged = model + gen.normal(0.0, 1.0, size=model.shape)
        if ann.body is not None and seed % 2:  # the attested header with a wrong body (R-15e)
            return [_reseal(b, s, dataclasses.replace(ann, body=forged))]
        header = dataclasses.replace(ann.header, model=model_digest(forged))  # attested by itself only,
        own = ((b.index, attest_signature(b.core.keys, header)),) * (cfg.t_a + 1)  # t_a + 1 times (R-15d)
        return [_reseal(b, s, Announce(header, own, forged))]
    if how == "forge_offer" and s.kind == "offer":
        return [_reseal(b, s, forge_offer(b, Offer.decode(env.body, cfg.dims), seed))]
    if s.kind != "propose" or how not in (
        "equivocate",
        "double",
        "censor",
        "undersize",
        "dup_entry",
        "tamper_y",
    ):
        return [s]
    prop = Propose.decode(env.body, cfg.dims)
    to = int(s.to[1:])
    clients = [e.client for e in prop.entries]
    members = set(cfg.clusters(prop.tau)[prop.cluster])
    held = sorted(
        set(b.core.clusters[(prop.tau, prop.cluster)].held)
        | {i for (t, i) in b.submits if t == prop.tau and i in members}
    )
    if how in ("equivocate", "double"):
        if len(clients) > cfg.q_min:
            chosen = [c for c in clients if c != clients[rng.randrange(len(clients))]]
        else:
            others = [i for i in held if i not in clients]
            if not others:  # wait for one more member's submission, then equivocate
                b.waiting.setdefault((prop.tau, prop.cluster), []).append((s, how, clients, seed))
                return []
            chosen = sorted(clients[1:] + [others[rng.randrange(len(others))]])
        entries = _entries_for(b, prop, to, chosen)
    elif how == "censor":
        entries = _entries_for(b, prop, to, rng.sample(held, min(cfg.q_min, len(held))))
    elif how == "undersize":
        entries = _entries_for(b, prop, to, clients[: cfg.q_min - 1])
    elif how == "dup_entry":
        entries = prop.entries + (prop.entries[rng.randrange(len(prop.entries))],)
    else:  # tamper_y
        k = rng.randrange(len(prop.entries))
        e = prop.entries[k]
        y = e.y.copy()
        at = rng.randrange(len(y))
        y[at] = (int(y[at]) + 1 + rng.randrange(1000)) % field.P
        entries = prop.entries[:k] + (dataclasses.replace(e, y=y),) + prop.entries[k + 1 :]
    variant = _reseal(b, s, dataclasses.replace(prop, entries=entries))
    return [s, variant] if how == "double" else [variant]


def _junk(s: Send, rng: random.Random) -> Send:
    data = bytearray(s.data)
    how = rng.randrange(4)
    if how == 0 and data:
        data = data[: rng.randrange(len(data))]
    elif how == 1 and data:
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif how == 2:
        data = bytearray(rng.randbytes(rng.randrange(1, 256)))
    else:
        try:
            env = Envelope.decode(bytes(data))
            data = bytearray(dataclasses.replace(env, sig=rng.randbytes(64)).encode())
        except WireError:
            data = bytearray(rng.randbytes(64))
    return Send(s.to, bytes(data), "junk", b"\0" * 32, b"\0" * 64, s.round, s.cluster)
