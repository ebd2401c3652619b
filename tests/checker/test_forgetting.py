"""D-21: the checker forgets the facts of a settled cluster (every honest aggregator
reconstructed it): its ghost updates, its delivery and first-send facts, its releases
delivered and its history. The retained state of that kind stays bounded as rounds grow,
and an honest event on a settled cluster is still refused by the guard it fails."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from asfl.checker.replay import Checker, Report
from asfl.model.emit import emit_trace
from asfl.model.params import Params

Trace = list[dict[str, Any]]


def trace(rounds: int, byzantine: frozenset[int] = frozenset(), behaviours: str = "") -> Trace:
    p = Params(n_a=4, t_a=1, n_c=8, t_c=0, q_min=2, B=1, R=rounds, byzantine=byzantine)
    return emit_trace(p, seed=1, behaviours=behaviours, dim=16)


def check(tr: Trace) -> tuple[Report, Checker]:
    c = Checker(signatures="none", z3=False)
    return c.check_lines([json.dumps(e) for e in tr]), c


def retained(c: Checker) -> dict[str, int]:
    """The per-cluster facts D-21 forgets, counted."""
    return {
        "ghost vectors": sum(1 for s in c.subs.values() if s.x is not None),
        "delivery buckets": sum(1 for k in c.got if k[1] is not None),
        "first-send buckets": sum(1 for k in c.first_sent if k[1] is not None),
        "histories": len(c.hist_tc),
        "releases delivered": len(c.releases_got),
        "settled above the horizon": len(c.settled_above),
    }


def test_forgotten_state_does_not_grow_with_rounds() -> None:
    counts = {}
    for rounds in (4, 16):
        rep, c = check(trace(rounds))
        assert rep.ok, rep.violations[:3]
        counts[rounds] = retained(c)
        assert c.settled_below == [rounds] * 4, c.settled_below  # every cluster settled
    assert counts[16] == counts[4], counts
    assert counts[16]["ghost vectors"] == 0, counts


def test_unsettled_cluster_keeps_its_ghost_updates() -> None:
    """A silent Byzantine coordinator may still propose, and a certificate form, at any
    later time (D-17): the submissions to it keep their ghost updates for P-1, and only
    those (the other clusters settle)."""
    tr = trace(6, frozenset({3}), "wrong-release")
    rep, c = check(tr)
    assert rep.ok, rep.violations[:3]
    assert c.settled_below == [6, 6, 6, 0]
    to_byz = sum(1 for e in tr if e["kind"] == "submit" and e["cluster"] == 3)
    assert to_byz > 0 and retained(c)["ghost vectors"] == to_byz


def settled_event(tr: Trace, kind: str) -> Trace:
    """``tr`` with a copy of the first ``kind`` event of an honest aggregator in round 0
    inserted before the end event (the cluster long settled), ``seq`` renumbered."""
    ev = next(e for e in tr if e["kind"] == kind and e["round"] == 0 and e["node"] != "A3")
    out = copy.deepcopy(tr)
    end = next(k for k, e in enumerate(out) if e["kind"] == "end")
    out.insert(end, copy.deepcopy(ev))
    for k, e in enumerate(out[1:], 1):
        e["seq"] = k
    return out


@pytest.mark.parametrize(
    ("kind", "prop"), [("propose", "F-1"), ("endorse", "S-2"), ("certify", "R-9"), ("reconstruct", "R-11")]
)
def test_event_on_settled_cluster_refused(kind: str, prop: str) -> None:
    tr = trace(6, frozenset({3}), "equivocate")
    _, c = check(tr)
    assert c.is_settled(0, 0) and c.is_settled(0, 1)
    rep, _ = check(settled_event(tr, kind))
    assert prop in {v.prop for v in rep.violations}, rep.violations


def test_settled_reconstruct_with_wrong_ghost_sum_still_refused() -> None:
    """A reconstruct replayed on a settled cluster is refused (R-11) even though its
    ghost updates are forgotten."""
    tr = settled_event(trace(6, frozenset({3}), "equivocate"), "reconstruct")
    ev = next(e for e in reversed(tr) if e["kind"] == "reconstruct" and e["round"] == 0)
    ev["ghost"]["sum"] = "AAAAAA=="
    rep, _ = check(tr)
    assert "R-11" in {v.prop for v in rep.violations}


def client_records(c: Checker) -> dict[str, int]:
    """What D-24 bounds: the announces clients hold, D-22's records, the models verified."""
    return {
        "held announces": sum(len(h) for h in c.held.values()),
        "header-only announcements": len(c.heads),
        "fetched from": len(c.fetched),
        "bodies held": len(c.body_held),
        "served bodies delivered": len(c.served_got),
        "rounds of verified models": sum(len(m) for m in c.client_models.values()),
    }


@pytest.mark.parametrize("behaviours", ["", "equivocate"])
def test_client_records_do_not_grow_with_rounds(behaviours: str) -> None:
    """D-24: a client's accept of round ``r`` ends the announces it holds and D-22's
    records of rounds up to ``r``; what is left is the same after 4 rounds and after 16."""
    byz = frozenset({3}) if behaviours else frozenset()
    counts = {}
    for rounds in (4, 16):
        rep, c = check(trace(rounds, byz, behaviours))
        assert rep.ok, rep.violations[:3]
        counts[rounds] = client_records(c)
    assert counts[16] == counts[4], counts
    assert counts[16]["rounds of verified models"] <= 8 * 2, counts  # rounds R - 1 and R


def test_envelope_authors_packed_round_trip() -> None:
    """D-21 keeps one author per signed envelope: packed as one int per digest, decoded
    back to the same record; a field that does not fit keeps the record itself."""
    from asfl.checker.records import Author

    rep, c = check(trace(3, frozenset({3}), "equivocate"))
    assert rep.ok and c.author and all(type(v) is int for v in c.author.values())
    assert all(len(k) == 32 for k in c.author)
    for a in (
        Author("A0", "propose", 0, 0),
        Author("C99999", "submit", 99_999, None),
        Author("A3", "announce", None, None),
        Author("C7", "junk", 2**20, 3),  # round beyond the packed field: kept as is
        Author("A1", "endorse", 3, -1),
    ):
        v = c.pack_author(a)
        assert c.unpack_author(v) == a and c.unpack_author(v) == a, (a, v)  # decoded, then cached
        assert (type(v) is int) == (a.round != 2**20 and a.cluster != -1)
