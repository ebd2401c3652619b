"""Per-trace Z3 obligations (issue 3 d): S-6, I-1 at the trace's sizes, P-1 per revealed sum."""

from __future__ import annotations

from asfl.checker.obligations import SIZE_CAP, TraceObligations
from asfl.checker.proofs import mask_cancellation


def test_config_obligations_hold_within_the_bound_and_fail_outside() -> None:
    """S-6 and I-1 are proved for n_a = 3 t_a + 1 and refuted for n_a = 3 t_a; S-7's
    counting step (t_a + 1 attesters include an honest one) needs no bound on n_a."""
    assert [r.status for r in TraceObligations(4, 1).for_config()] == ["proved"] * 3
    refuted = TraceObligations(3, 1).for_config()
    assert [(r.prop_id, r.status) for r in refuted] == [
        ("S-6", "refuted"),
        ("I-1", "refuted"),
        ("S-7", "proved"),
    ]
    assert all(r.counterexample for r in refuted[:2])


def test_reconstruction_obligation_is_cached_per_size_and_base() -> None:
    """P-1 is proved for the decoding base of a reconstruction, once per (size, base)."""
    obligations = TraceObligations(7, 2)
    first = obligations.for_reconstruction(6, [4, 0, 2, 5, 6])
    assert first is not None and first.status == "proved"
    assert first.params["quorums"] == 1
    again = obligations.for_reconstruction(6, [6, 2, 0, 4, 5])  # same base: the 3 smallest
    assert again is first
    assert obligations.summary()["obligations"] == 1
    # the identity is one term per client: any size shares the capped obligation
    assert first.params["N"] == SIZE_CAP
    assert obligations.for_reconstruction(250, [0, 2, 4]) is first
    assert obligations.summary()["obligations"] == 1


def test_capped_obligation_still_refutes_a_broken_decoding() -> None:
    """At the capped size a wrong Lagrange weight or a missing share is still refuted,
    as at any larger size (the residual names the client's mask)."""
    for n_clients in (SIZE_CAP, 5):
        assert mask_cancellation(n_clients, 1, 4, quorums=[(0, 1)], field="gf").status == "proved"
        bad = mask_cancellation(n_clients, 1, 4, quorums=[(0, 1)], field="gf", break_lagrange=True)
        assert bad.status == "refuted"
        assert mask_cancellation(n_clients, 1, 4, quorums=[(0, 1)], field="gf", drop_share_of=1).status == (
            "refuted"
        )


def test_malformed_support_is_left_to_the_replay() -> None:
    """A support too small or naming unknown aggregators is the replay's I-2, not a Z3 call."""
    obligations = TraceObligations(4, 1)
    assert obligations.for_reconstruction(5, [0]) is None
    assert obligations.for_reconstruction(5, [0, 9]) is None
    assert obligations.results == []
