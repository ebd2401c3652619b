"""Byzantine aggregators whose every outgoing message is an adversarial choice.

A :class:`HarnessByzantine` runs an honest :class:`impl.aggregator.Aggregator` core (so
it holds real keys, shares and submissions: an insider's attack) and decides, message by
message, what to do with what the core would send. In ``scripted`` mode the core's
messages wait in an outbox until the test (Hypothesis rules or a replayed schedule)
picks one and a *mutation*; in an automatic mode a named behaviour mutates every
message as it is produced. All randomness comes from explicit seeds, so a schedule
replays byte for byte.

The mutations are the concrete side of the model's probe menu
(:data:`asfl.model.actions.PROBES`, one mutation per probe id, :data:`PROBE_MUTATIONS`);
the older mutation names (:data:`MUTATIONS`) stay valid for saved schedules.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from typing import Any

import numpy as np

from asfl.impl import crypto, field
from asfl.impl.aggregator import Aggregator
from asfl.impl.certify import attest_signature
from asfl.impl.messages import (
    CLIENT_KINDS,
    Announce,
    ClusterEvidence,
    Endorse,
    Envelope,
    Header,
    Offer,
    ProposalEntry,
    Propose,
    Release,
    Submit,
    field_digest,
    model_digest,
)
from asfl.impl.node import Dropped, Output, Send, open_envelope, send
from asfl.impl.wire import WireError
from asfl.model.actions import Flight, probes_for
from asfl.model.params import Params

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
    "withhold_body",  # announce: not sent if it carries the body (no push, no serve, D-18, D-22)
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
    "chaos": {},  # a random model probe per message, among those enabled on it
}
BEHAVIOURS = ("scripted", *AUTO)
#: automatic behaviours a zoo focus names (``harness.zoo.FOCUS``) that the campaigns'
#: uniform setup draws leave out (their draws, hence their saved seeds, stay as they were).
#: ``withhold``: D-22's adversary, header-only announcements sent, every body withheld (its
#: pushes, D-18, and its answers to fetches).
#: ``relay``: D-22's relaying adversary, honest but for every fetch it receives, which it
#: forwards verbatim to every other aggregator (no random draw: a relayed fetch's target
#: does not move when a schedule's other actions are deleted, as ``replay``'s do).
FOCUSED: dict[str, dict[str, str]] = {"withhold": {"announce": "withhold_body"}, "relay": {}}
ALL_BEHAVIOURS = (*BEHAVIOURS, *FOCUSED)
RULES = {**AUTO, **FOCUSED}


class HarnessByzantine:
    """A Byzantine aggregator wrapping an honest core (see the module docstring)."""

    done = True  # a Byzantine node has no obligations (L-1 concerns honest nodes)
    rounds_done = 0

    def __init__(self, core: Aggregator, mode: str, seed: int, params: Params) -> None:
        if mode not in ALL_BEHAVIOURS:
            raise ValueError(f"unknown Byzantine mode {mode!r}; choose from {', '.join(ALL_BEHAVIOURS)}")
        self.core, self.mode, self.params = core, mode, params
        self.index = core.index
        self.name = f"A{core.index}"
        self.rng = random.Random(seed)
        self.outbox: list[Send] = []
        self.inbox: list[bytes] = []
        self.inbox_kinds: list[tuple[str, str]] = []  # (kind, signer) of each inbox entry
        self._seen: dict[bytes, int] = {}  # envelope -> its position in the inbox
        self.sent: list[Send] = []
        self.genuine_models: set[str] = set()  # digests of models the core computed (certified)
        self.sent_replays = 0  # forwarded messages
        self.submits: dict[tuple[int, int], Submit] = {}
        self.waiting: dict[tuple[int, int], list[tuple[Send, str, list[int], int, str]]] = {}
        #: scripted mode: per send that waited (then went out with a delivery), in order,
        #: whether it is the core's message alone (an honest copy) and the probe that sent it
        self.flushed: list[tuple[bool, str]] = []

    # -- the node interface the simulator calls ------------------------------------

    def handle(self, data: bytes, msg: int) -> list[Output]:
        new = data not in self._seen
        if new:
            self._seen[data] = len(self.inbox)
            self.inbox.append(data)
            self.inbox_kinds.append(self._remember(data))
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
        rule = RULES[self.mode]
        for s in sends:
            if self.mode == "chaos":  # a probe the model enables on this message
                menu = probes_for(self.params, Flight(s.kind, self.name, s.to, s.round, s.cluster))
                how = menu[self.rng.randrange(len(menu))].id
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
        elif self.mode == "relay":
            out += self._relay(data, new)
        out += self._flush_waiting()
        self.sent += out
        return list(out)

    def _remember(self, data: bytes) -> tuple[str, str]:
        """Keep every signed submission received, also after closing: equivocation
        material. Returns the envelope's kind and signer, ``("junk", "?")`` unless it
        passes R-3 (a replay of it is then junk, whatever its kind field says)."""
        try:
            env, body = open_envelope(self.core.cfg, self.core.public, data)
        except Dropped:
            return ("junk", "?")
        if isinstance(body, Submit):
            self.submits[(body.tau, body.client)] = body
        return (env.kind, f"{'C' if env.kind in CLIENT_KINDS else 'A'}{env.sender}")

    def forward(self, k: int, to: str) -> Send:
        """A verbatim copy of the ``k``-th envelope received: the trace shows its real
        kind, digest and signature, or ``junk`` if it does not pass R-3."""
        data = self.inbox[k]
        if self.inbox_kinds[k][0] == "junk":
            return Send(to, data, "junk", b"\0" * 32, b"\0" * 64)
        env = Envelope.decode(data)
        return Send(to, data, env.kind, env.digest(), env.sig)

    def _flush_waiting(self) -> list[Send]:
        """Send the equivocating proposals that waited for one more submission."""
        out: list[Send] = []
        for key, items in list(self.waiting.items()):
            tau, c = key
            members = set(self.core.cfg.clusters(tau)[c])
            have = {i for (t, i) in self.submits if t == tau and i in members}
            if have - set(items[0][2]):
                del self.waiting[key]
                for s, how, _clients, seed, label in items:
                    sent = mutate(self, s, how, seed)
                    if self.mode == "scripted":
                        self.flushed += [(sent == [s], label) for _ in sent]
                    out += sent
        return out

    def _replay(self, data: bytes) -> list[Send]:
        """Forward a new message to a random aggregator and client, and re-send an old one."""
        cfg = self.core.cfg
        self.sent_replays += 1
        k = self._seen[data]
        out = [
            self.forward(k, f"A{self.rng.randrange(cfg.n_aggregators)}"),
            self.forward(k, f"C{self.rng.randrange(cfg.n_clients)}"),
        ]
        if self.sent:
            old = self.sent[self.rng.randrange(len(self.sent))]
            out.append(dataclasses.replace(old, to=f"A{self.rng.randrange(cfg.n_aggregators)}"))
        return out

    def _relay(self, data: bytes, new: bool) -> list[Send]:
        """A fetch (R-3-valid, so a client's), the first time it is received, forwarded to
        every other aggregator: each of them gets a fetch naming this one's header."""
        k = self._seen[data]
        if not new or self.inbox_kinds[k][0] != "fetch":
            return []
        self.sent_replays += 1
        n_a = self.core.cfg.n_aggregators
        return [self.forward(k, f"A{j}") for j in range(n_a) if j != self.index]

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


#: model probes that are one of the older mutations (same code, the model's name)
ALIASES = {
    "honest": "honest",
    "omit": "drop",
    "R-3.junk": "junk",
    "R-8.small": "undersize",
    "R-8.duplicate": "dup_entry",
    "R-8.client-sig": "tamper_y",
    "R-8.equivocation": "double",
    "R-8.other-set": "equivocate",
    "R-8.censor": "censor",
    "R-9.forged": "forge_endorse",
    "R-11.wrong-sum": "wrong_share",
}


def mutate(b: HarnessByzantine, s: Send, how: str, seed: int) -> list[Send]:
    """Apply mutation (or model probe) ``how`` to send ``s``; honest if it does not
    apply to ``s.kind``."""
    label, how = how, ALIASES.get(how, how)
    if how == "honest":  # the one mutation that draws nothing: no generator seeded
        return [s]
    rng = random.Random(seed)
    cfg = b.core.cfg
    if how == "drop":
        return []
    if how == "junk":
        return [_junk(s, rng)]
    if how == "withhold_body":
        if s.kind != "announce":
            return [s]
        return [] if Announce.decode(Envelope.decode(s.data).body, cfg.dims).body is not None else [s]
    if s.kind not in ("propose", "endorse", "release", "offer", "announce"):
        return [s]
    try:
        env = Envelope.decode(s.data)
    except WireError:  # pragma: no cover - the core only sends well-formed messages
        return [s]
    if how in _REWRITES and s.kind == _REWRITES[how][0]:
        kind_cls = _REWRITES[how][1]
        return [_reseal(b, s, _REWRITES[how][2](b, kind_cls.decode(env.body, cfg.dims), rng))]
    if how == "R-10.subset" and s.kind == "release":
        b.outbox = [o for o in b.outbox if o.data != s.data]  # the other recipients get none
        return [s]
    if how in ANNOUNCE_MUTATORS and s.kind == "announce":
        ann = Announce.decode(env.body, cfg.dims)
        return [_reseal(b, s, ANNOUNCE_MUTATORS[how](b, ann, rng))]
    if how in OFFER_MUTATORS and s.kind == "offer":
        offer = Offer.decode(env.body, cfg.dims)
        return [_reseal(b, s, OFFER_MUTATORS[how](b, offer, rng))]
    if how == "wrong_share" and s.kind == "release":
        rel = Release.decode(env.body, cfg.dims)
        gen = np.random.default_rng(seed)
        junk = gen.integers(0, field.P, size=rel.share_sum.shape, dtype=np.uint64)
        return [_reseal(b, s, dataclasses.replace(rel, share_sum=junk))]
    if how == "forge_endorse" and s.kind == "endorse":
        end = Endorse.decode(env.body, cfg.dims)
        return [_reseal(b, s, Endorse(end.tau, end.cluster, rng.randbytes(32), rng.randbytes(32)))]
    if how == "forge_model" and s.kind == "announce":  # the automatic forge: R-15e or R-15d
        ann = Announce.decode(env.body, cfg.dims)
        probe = "R-15e.body" if ann.body is not None and seed % 2 else "R-15d.forged"
        return [_reseal(b, s, ANNOUNCE_MUTATORS[probe](b, ann, rng))]
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
            left_out = clients[rng.randrange(len(clients))]  # one client: the set stays >= q_min
            chosen = [c for c in clients if c != left_out]
        else:
            others = [i for i in held if i not in clients]
            if not others:  # wait for one more member's submission, then equivocate
                b.waiting.setdefault((prop.tau, prop.cluster), []).append((s, how, clients, seed, label))
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


# -- model probes: one rewrite of a held message each (asfl.model.actions.PROBES) ----------


def _flip(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def _other(n: int, k: int, rng: random.Random) -> int:
    """Some index in ``range(n)`` other than ``k`` (``k`` itself if there is none: the
    model does not enable such a probe, a hand-written schedule may still name it)."""
    return (k + 1 + rng.randrange(n - 1)) % n if n >= 2 else k


def _entry(prop: Propose, k: int, **changes: object) -> Propose:
    """``prop`` with entry ``k`` changed."""
    e = dataclasses.replace(prop.entries[k], **changes)  # type: ignore[arg-type]
    return dataclasses.replace(prop, entries=prop.entries[:k] + (e,) + prop.entries[k + 1 :])


def _non_member(b: HarnessByzantine, prop: Propose, rng: random.Random) -> Propose:
    members = set(b.core.cfg.clusters(prop.tau)[prop.cluster])
    outside = [i for i in range(b.core.cfg.n_clients) if i not in members]
    return _entry(prop, rng.randrange(len(prop.entries)), client=outside[rng.randrange(len(outside))])


def _ct_hash(b: HarnessByzantine, prop: Propose, rng: random.Random) -> Propose:
    k = rng.randrange(len(prop.entries))
    return _entry(prop, k, ciphertext=_flip(prop.entries[k].ciphertext, rng))


def _undecryptable(b: HarnessByzantine, prop: Propose, rng: random.Random) -> Propose:
    k = rng.randrange(len(prop.entries))
    e = prop.entries[k]
    ct = rng.randbytes(len(e.ciphertext))
    hs = list(e.share_digests)
    hs[_recipient(e)] = crypto.digest(ct)
    return _entry(prop, k, ciphertext=ct, share_digests=tuple(hs))


def _recipient(e: ProposalEntry) -> int:
    """Which aggregator's ciphertext entry ``e`` carries: the ``h_j`` it hashes to."""
    h = crypto.digest(e.ciphertext)
    return next((j for j, d in enumerate(e.share_digests) if d == h), 0)


_REWRITES: dict[str, tuple[str, Any, Callable[[HarnessByzantine, Any, random.Random], object]]] = {
    "R-8.coordinator": (
        "propose",
        Propose,
        lambda b, m, rng: dataclasses.replace(m, cluster=_other(b.core.cfg.n_aggregators, m.cluster, rng)),
    ),
    "R-8.non-member": ("propose", Propose, _non_member),
    "R-8.counts": ("propose", Propose, lambda b, m, rng: dataclasses.replace(m, counts=(*m.counts, 0))),
    "R-8.ct-hash": ("propose", Propose, _ct_hash),
    "R-8.undecryptable": ("propose", Propose, _undecryptable),
    "R-9.equivocate-md": ("endorse", Endorse, lambda b, m, rng: dataclasses.replace(m, md=rng.randbytes(32))),
    "R-9.other-cluster": (
        "endorse",
        Endorse,
        lambda b, m, rng: dataclasses.replace(m, cluster=_other(b.core.cfg.n_aggregators, m.cluster, rng)),
    ),
    "R-10.uncertified": ("release", Release, lambda b, m, rng: dataclasses.replace(m, pd=rng.randbytes(32))),
    "R-10.other-cluster": (
        "release",
        Release,
        lambda b, m, rng: dataclasses.replace(m, cluster=_other(b.core.cfg.n_aggregators, m.cluster, rng)),
    ),
    "R-10.other-round": (
        "release",
        Release,
        lambda b, m, rng: dataclasses.replace(m, tau=_other(b.core.cfg.rounds, m.tau, rng)),
    ),
}


# -- one announcement or offer rewrite per clause (model.actions.ANNOUNCE_PROBES,
# model.actions.OFFER_PROBES) ----------------------------------------------------------------


def _first_cluster(offer: Offer, **changes: object) -> Offer:
    ev = dataclasses.replace(offer.evidence[0], **changes)  # type: ignore[arg-type]
    return dataclasses.replace(offer, evidence=(ev, *offer.evidence[1:]))


def _masked_sum(offer: Offer) -> Offer:
    y = offer.evidence[0].masked_sum.copy()
    y[0] = (int(y[0]) + 1) % field.P
    return _first_cluster(offer, masked_sum=y)


def _entries(offer: Offer, rng: random.Random) -> Offer:
    ev: ClusterEvidence = offer.evidence[0]
    (client, sd), *rest = ev.entries
    return _first_cluster(offer, entries=((client, _flip(sd, rng)), *rest))


def _other_rule(b: HarnessByzantine) -> str:
    return "coordinate_median" if b.core.cfg.rule != "coordinate_median" else "mean"


def _forged_announce(b: HarnessByzantine, ann: Announce, rng: random.Random) -> Announce:
    """A forged model whose header only this node attests (its one signature t_a + 1 times)."""
    base = ann.body if ann.body is not None else b.core.models[ann.tau]
    forged = base + np.random.default_rng(rng.randrange(2**32)).normal(0.0, 1.0, size=base.shape)
    header = dataclasses.replace(ann.header, model=model_digest(forged))
    own = ((b.index, attest_signature(b.core.keys, header)),) * (b.core.cfg.t_a + 1)
    return Announce(header, own, forged)


def _wrong_body(b: HarnessByzantine, ann: Announce, rng: random.Random) -> Announce:
    base = ann.body if ann.body is not None else b.core.models[ann.tau]
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0.0, 1.0, size=base.shape)
    return dataclasses.replace(ann, body=base + noise)


def _small_set(b: HarnessByzantine, ann: Announce) -> Announce:
    first, *rest = ann.header.sets
    cut = dataclasses.replace(first, clients=first.clients[: b.core.cfg.q_min - 1])
    return dataclasses.replace(ann, header=dataclasses.replace(ann.header, sets=(cut, *rest)))


def _forged_prev(b: HarnessByzantine, offer: Offer, rng: random.Random) -> Offer:
    """From round 2 on, a forged prev model only this node attests (:func:`forge_offer`); in
    round 1, a prev where the genesis model must be (R-17b)."""
    if offer.prev_model is not None:
        return forge_offer(b, offer, 2 * rng.randrange(2**31) + 1)
    genesis = b.core.models[0]
    header = Header(0, bytes(32), model_digest(genesis), offer.rule, ())
    own = ((b.index, attest_signature(b.core.keys, header)),) * (b.core.cfg.t_a + 1)
    return dataclasses.replace(offer, prev_header=header, prev_attestations=own, prev_model=genesis.copy())


ANNOUNCE_MUTATORS: dict[str, Callable[[HarnessByzantine, Announce, random.Random], Announce]] = {
    "R-15c.sets": lambda b, a, rng: dataclasses.replace(
        a, header=dataclasses.replace(a.header, sets=a.header.sets[: b.core.cfg.quorum - 1])
    ),
    "R-15c.small": lambda b, a, rng: _small_set(b, a),
    "R-15c.rule": lambda b, a, rng: dataclasses.replace(
        a, header=dataclasses.replace(a.header, rule=_other_rule(b))
    ),
    "R-15d.attesters": lambda b, a, rng: dataclasses.replace(
        a, attestations=a.attestations[: b.core.cfg.t_a]
    ),
    "R-15d.distinct": lambda b, a, rng: dataclasses.replace(
        a, attestations=a.attestations[:1] * (b.core.cfg.t_a + 1)
    ),
    "R-15d.forged": _forged_announce,
    "R-15e.body": _wrong_body,
}

OFFER_MUTATORS: dict[str, Callable[[HarnessByzantine, Offer, random.Random], Offer]] = {
    "R-17b.prev": lambda b, o, rng: _forged_prev(b, o, rng),
    "R-17c.clusters": lambda b, o, rng: dataclasses.replace(o, evidence=o.evidence[: b.core.cfg.quorum - 1]),
    "R-17c.certificate": lambda b, o, rng: _first_cluster(
        o, endorsements=o.evidence[0].endorsements[: b.core.cfg.quorum - 1]
    ),
    "R-17c.entries": lambda b, o, rng: _entries(o, rng),
    "R-17c.masked-sum": lambda b, o, rng: _masked_sum(o),
    "R-17c.releases": lambda b, o, rng: _first_cluster(
        o, releases=o.evidence[0].releases[: b.core.cfg.quorum - 1]
    ),
    "R-17c.rule": lambda b, o, rng: dataclasses.replace(o, rule=_other_rule(b)),
}

#: the model probes with a concrete mutation (a test checks this is every one of them)
PROBE_MUTATIONS = (
    frozenset(ALIASES)
    | frozenset(_REWRITES)
    | frozenset(ANNOUNCE_MUTATORS)
    | frozenset(OFFER_MUTATORS)
    | {"R-10.subset"}
)


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
