"""Abstract values of the model. All are immutable (NamedTuples / frozensets) so that
states can be hashed and shared between the states of the explorer.

Nodes are named as in traces: ``"A<j>"`` (aggregator j), ``"C<i>"`` (client i)."""

from __future__ import annotations

from typing import NamedTuple


class Proposal(NamedTuple):
    """A proposal for ``(tau, c)`` with client set ``I`` (sorted). The proposal digest
    ``pd`` (R-3) is a function of exactly these fields (clients submit once per round,
    so ``I`` determines the submissions), hence the proposal stands for its digest, and so
    does the masked sum ``Y`` (``md``)."""

    tau: int
    c: int
    clients: tuple[int, ...]


class Model(NamedTuple):
    """A model ``w_tau`` (symbolic). ``parts`` are the cluster results used (R-13):
    ``(cluster, clients whose updates the decoded sum contains, garbage?)``. A model is
    determined by its previous model and its parts, as R-13 is deterministic."""

    round: int
    prev: Model | None
    parts: tuple[tuple[int, tuple[int, ...], bool], ...]
    forged: bool = False


GENESIS = Model(0, None, ())
#: What the explorer remembers of a model accepted for the last round (only S-7 reads
#: it: whether an honest aggregator had attested the model, R-17).
FINAL = Model(-1, None, ())
#: ... of a last-round model no honest aggregator had attested (an S-7 violation).
FINAL_UNATTESTED = Model(-1, None, (), forged=True)

#: D-18: what an announcement carries besides header and attestations.
BODY_FULL = "full"  # the model's body, matching the header
BODY_NONE = "none"  # header and attestations only
BODY_WRONG = "wrong"  # a body whose digest is not the header's (Byzantine)


class Msg(NamedTuple):
    """A message in flight. ``tau``/``c`` as in the trace's ``round``/``cluster`` fields
    (offer, attest, announce: ``tau`` is the new model's round, ``c = -1``). ``good`` is
    meaningful for releases only (is the share sum correct?). ``attesters``: an offer's
    attestations of its previous model, an announcement's of its model (R-17, R-14);
    the adversary can only include honest aggregators that did attest that model
    (signatures are unforgeable), the menu of :mod:`model.system` builds them so.
    ``body``: D-18, announcements only. A ``fetch`` (D-22, client ``src`` to aggregator
    ``dst``) names the round ``tau`` and, in ``model``, the model of the header ``dst``
    announced (the header digest stands for it, as everywhere in the model)."""

    kind: str  # submit | propose | endorse | release | offer | attest | announce | fetch
    src: str
    dst: str
    tau: int
    c: int
    prop: Proposal | None = None
    good: bool = True
    model: Model | None = None
    attesters: frozenset[int] = frozenset()
    body: str = BODY_FULL


class Result(NamedTuple):
    """A decoded cluster result ``s = Y - rho`` (R-12), symbolically: the clients whose
    updates it sums. ``garbage`` when a wrong share sum got into the decoding support."""

    prop: Proposal
    clients: tuple[int, ...]
    garbage: bool
    support: int


class View(NamedTuple):
    """An honest aggregator's state for one ``(tau, c)``. Fields marked *ghost* record
    history for the invariants and never influence the protocol."""

    held: frozenset[int] = frozenset()  # coordinator: clients whose submission it holds
    proposed: Proposal | None = None  # coordinator: the proposal it sent
    snapshot: tuple | None = None  # ghost: (counts, held) when it closed (F-1)
    first: Proposal | None = None  # first valid proposal received, the one it holds
    endorsed: tuple[Proposal, ...] = ()  # ghost: proposals it endorsed (S-2)
    endorsements: frozenset[tuple[Proposal, int]] = frozenset()  # (proposal, endorser)
    cert: Proposal | None = None  # certified proposal
    released: tuple[Proposal, ...] = ()  # ghost: proposals it released for (S-3)
    releases: frozenset[tuple[Proposal, int, bool]] = frozenset()  # (pd, releaser, good)
    result: Result | None = None


class AggState(NamedTuple):
    """An honest aggregator: its round ``r_j``, its model chain, its views, and (R-17)
    the attestations of its models: ``certs[tau]`` the attesters its announcement of
    round ``tau`` named (``certs[0]`` genesis, none needed), ``attests`` the
    ``(round, attester)`` pairs it holds for a model not announced yet, ``attested`` the
    offers it attested: ``(producer, model)`` (once per producer and round)."""

    round: int
    models: tuple[Model, ...]  # models[tau] = its model of round tau
    views: tuple[View, ...]  # index tau * n_a + c
    certs: tuple[frozenset[int], ...] = (frozenset(),)
    attests: frozenset[tuple[int, int]] = frozenset()
    attested: frozenset[tuple[int, Model]] = frozenset()
    served: frozenset[tuple[int, int]] = frozenset()  # D-22: (client, round) served once


class ClientState(NamedTuple):
    alive: bool = True
    accepted: tuple[Model, ...] = (GENESIS,)  # accepted[tau]: first verified model of tau
    submitted: frozenset[int] = frozenset()
    verified: frozenset[Model] = frozenset({GENESIS})
    buffer: frozenset[Msg] = frozenset()  # announces waiting for their prev (R-15 b)
    seen: frozenset[tuple[int, int]] = frozenset()  # certified (tau, c) containing it (D-12)
    ahead: frozenset[Msg] = frozenset()  # verified bodies of rounds beyond the next
    # D-22, for the rounds not accepted and without a verified body only (forgotten when
    # one is held): (round, aggregator, model) of the first header-only announcement of
    # that aggregator verified for the round, and the (round, aggregator) fetched from
    heads: frozenset[tuple[int, int, Model]] = frozenset()
    fetched: frozenset[tuple[int, int]] = frozenset()


class SysState(NamedTuple):
    """The whole system: honest aggregators (``None`` for a Byzantine one), clients,
    the messages in flight (a set: every message is distinct), and the messages the
    Byzantine aggregators have already sent (each at most once, to keep the search
    finite)."""

    aggs: tuple[AggState | None, ...]
    clients: tuple[ClientState, ...]
    net: frozenset[Msg]
    byz_sent: frozenset[Msg]


class Action(NamedTuple):
    """``fire`` (D-22): client ``node``'s timer fires and it sends ``msg``, a ``fetch``."""

    kind: str  # deliver | step | crash | byz | fire
    node: str
    msg: Msg | None = None

    def __str__(self) -> str:
        m = self.msg
        if self.kind == "step":
            return f"{self.node}: local step"
        if self.kind == "fire" and m is not None:
            return f"{self.node}: timer fires, fetch(tau={m.tau}) to {m.dst}"
        if self.kind == "crash":
            return f"{self.node}: crash"
        assert m is not None
        what = f"{m.kind}(tau={m.tau}, c={m.c}"
        if m.prop is not None:
            what += f", I={list(m.prop.clients)}"
        if m.kind == "release":
            what += ", good" if m.good else ", WRONG"
        if m.model is not None:
            what += f", model round {m.model.round}" + (" FORGED" if m.model.forged else "")
        if m.kind in ("offer", "announce"):
            what += f", attesters={sorted(m.attesters)}"
        if m.kind == "announce" and m.body != BODY_FULL:
            what += f", body {m.body}"
        what += ")"
        if self.kind == "byz":
            return f"{m.src} (Byzantine) sends {what} to {m.dst}"
        return f"deliver {what} {m.src} -> {m.dst}"
