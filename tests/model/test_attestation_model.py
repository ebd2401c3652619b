"""The model's compact certified models (R-14, R-15, R-17, D-18, S-7): node transitions on
hand-built inputs, and the explorer on the broken attestation threshold."""

from __future__ import annotations

import dataclasses

from asfl.model.explore import explore
from asfl.model.invariants import violations
from asfl.model.params import Params
from asfl.model.protocol import (
    Ctx,
    agg_receive,
    client_receive,
    designated,
    initial_aggregator,
    offer_defect,
)
from asfl.model.system import BEHAVIOURS, Mode, initial_state
from asfl.model.types import BODY_NONE, BODY_WRONG, GENESIS, ClientState, Model, Msg

P = Params(4, 1, 8, 0, 2, 0, 2, byzantine=frozenset({0}))
W1 = Model(1, GENESIS, ((1, (0, 1), False), (2, (2, 3), False), (3, (4, 5), False)))
FORGED = Model(1, GENESIS, (), forged=True)


def announce(model: Model, attesters: set[int], body: str = "full", src: str = "A1") -> Msg:
    return Msg("announce", src, "C0", model.round, -1, model=model, attesters=frozenset(attesters), body=body)


def test_designation_gives_every_client_one_pusher() -> None:
    """D-18: exactly one pusher per client, ``i mod n_a`` (the others fetch, D-22)."""
    for i in range(P.n_c):
        senders = [j for j in range(P.n_a) if designated(P, i, j)]
        assert senders == [i % P.n_a]


def test_client_counts_attestations_not_evidence() -> None:
    """R-15 (d)/(e): t_a + 1 attesters and a matching body accept, whatever the model;
    t_a attesters or a wrong body are dropped with the reason; a header without body is
    verified (D-12) but not trained on, and its body from another sender is then accepted."""
    ctx = Ctx(P, attested=frozenset({W1}))
    st = ClientState()
    assert client_receive(ctx, 0, st, announce(W1, {0})) == st
    assert client_receive(ctx, 0, st, announce(W1, {0, 1}, BODY_WRONG)) == st
    assert [e[3] for e in ctx.ev or []] == ["too few attestations", "body digest"]
    head = client_receive(ctx, 0, st, announce(W1, {1, 2}, BODY_NONE))
    assert W1 in head.verified and len(head.accepted) == 1 and (0, 1) in head.seen
    full = client_receive(ctx, 0, head, announce(W1, {2, 3}, src="A2"))
    assert full.accepted == (GENESIS, W1)
    # the guard does not look at the evidence: t_a + 1 attesters certify even a forgery,
    # which is why an honest attester must check it and S-7 flags the acceptance
    bad = client_receive(ctx, 0, st, announce(FORGED, {0, 1}))
    assert bad.accepted[-1] == FORGED


def test_bodies_are_accepted_in_round_order() -> None:
    """R-15: a verified body of a round beyond the next is kept, not accepted, and is
    accepted right after the body of the round before it (regression: the implementation
    accepted round 2 before round 1; the model dropped round 2's body, so a client whose
    designated senders' round-2 announcements overtook round 1's never accepted round 2)."""
    p = dataclasses.replace(P, R=3)
    w2 = Model(2, W1, ((1, (0, 1), False), (2, (2, 3), False), (3, (4, 5), False)))
    ctx = Ctx(p, attested=frozenset({W1, w2}))
    head = client_receive(ctx, 0, ClientState(), announce(W1, {1, 2}, BODY_NONE))
    kept = client_receive(ctx, 0, head, announce(w2, {1, 2}))
    assert kept.accepted == (GENESIS,) and w2 in kept.verified and [b.tau for b in kept.ahead] == [2]
    again = client_receive(ctx, 0, kept, announce(w2, {2, 3}, src="A2"))
    assert again == kept  # one kept body per round
    both = client_receive(ctx, 0, kept, announce(W1, {2, 3}, src="A2"))
    assert both.accepted == (GENESIS, W1, w2) and not both.ahead
    assert [e[1:3] for e in ctx.ev or [] if e[0] == "accept"] == [("C0", W1), ("C0", w2)]


def test_offer_guard_and_once_per_producer_round() -> None:
    """R-17: forged evidence or an unattested previous model are refused; a valid offer is
    attested once, to its producer only; a second offer of that producer and round is
    dropped as a duplicate."""
    w2 = Model(2, W1, W1.parts)
    assert offer_defect(P, Msg("offer", "A0", "A1", 1, -1, model=FORGED)) == "invalid evidence"
    assert offer_defect(P, Msg("offer", "A2", "A1", 2, -1, model=w2, attesters=frozenset({0}))) == (
        "previous model not attested"
    )
    ctx = Ctx(P)
    st = agg_receive(ctx, 1, initial_aggregator(P), Msg("offer", "A2", "A1", 1, -1, model=W1))
    assert [(m.kind, m.dst) for m in ctx.out] == [("attest", "A2")]
    again = agg_receive(ctx, 1, st, Msg("offer", "A2", "A1", 1, -1, model=W1._replace(parts=())))
    assert again == st and ctx.ev is not None and ctx.ev[-1][3] == "duplicate offer"


def test_s7_flags_an_unattested_acceptance() -> None:
    s = initial_state(P, Mode(behaviours=frozenset(BEHAVIOURS)))
    c0 = s.clients[0]._replace(accepted=(GENESIS, W1))
    s = s._replace(clients=(c0,) + s.clients[1:])
    assert ("S-7", "C0 accepted a model of round 1 no honest aggregator attested") in violations(P, s)


def test_broken_attestation_threshold_found_by_the_explorer() -> None:
    """small-attest (t_a attestations certify): the search finds S-7 (an honest
    aggregator announces on its own attestation) and, searching on, a client accepting a
    forged model announced with the Byzantine attestation only (I-3)."""
    p = Params(4, 1, 4, 0, 1, 0, 1, byzantine=frozenset({0}), bug="small-attest")
    r = explore(p, behaviours=frozenset({"forge-announce"}), max_seconds=60)
    assert r.violations and r.violations[0].prop == "S-7"
    assert "shortest counterexample" in r.violations[0].render(p, r.behaviours)
    r = explore(p, behaviours=frozenset({"forge-announce"}), max_seconds=60, stop_at_first=False)
    assert ("I-3", "C0 accepted a model with invalid evidence") in {(v.prop, v.message) for v in r.violations}
    ok = explore(dataclasses.replace(p, bug="none"), behaviours=frozenset({"forge-announce", "forge-attest"}))
    assert ok.exhaustive and ok.ok and ok.complete_states > 0
