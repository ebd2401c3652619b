"""Compact certified models on traces (R-14, R-15, R-17, D-18, S-7): mutations of the new
events are rejected with their rule's ID, the broken attestation threshold is caught, and
the checker's attestation guards are the model's (one encoding)."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest
from trace_sets import Signer

from asfl.checker.replay import Checker
from asfl.model import protocol
from asfl.model.emit import emit_trace
from asfl.model.params import Params
from asfl.model.system import BEHAVIOURS

Trace = list[dict[str, Any]]
Event = dict[str, Any]
P = Params(n_a=4, t_a=1, n_c=9, t_c=0, q_min=2, B=1, R=3, byzantine=frozenset({0}))


@pytest.fixture(scope="module")
def trace() -> Trace:
    s = Signer(P)
    return emit_trace(P, seed=1, behaviours=",".join(BEHAVIOURS), signer=s, keys=s.keys)


def props(tr: Trace, signatures: str = "none") -> set[str]:
    rep = Checker(signatures=signatures, z3=False).check_lines([json.dumps(e) for e in tr])
    return {v.prop for v in rep.violations}


def where(kind: str, pred: Callable[[Event], bool] = lambda e: True) -> Callable[[Event], bool]:
    return lambda e: e["kind"] == kind and pred(e)


def _index(tr: Trace, pred: Callable[[Event], bool], nth: int = 0) -> int:
    return [k for k, e in enumerate(tr) if k > 0 and pred(e)][nth]


def _renumber(tr: Trace) -> Trace:
    for k, e in enumerate(tr[1:], 1):
        e["seq"] = k
    return tr


def m_set(pred: Callable[[Event], bool], **changes: Any) -> Callable[[Trace], Trace]:
    def f(tr: Trace) -> Trace:
        e = tr[_index(tr, pred)]
        for k, v in changes.items():
            e[k] = v(e) if callable(v) else v
        return tr

    return f


def m_delete(pred: Callable[[Event], bool], nth: int = 0) -> Callable[[Trace], Trace]:
    def f(tr: Trace) -> Trace:
        del tr[_index(tr, pred, nth)]
        return _renumber(tr)

    return f


def m_duplicate(pred: Callable[[Event], bool]) -> Callable[[Trace], Trace]:
    def f(tr: Trace) -> Trace:
        k = _index(tr, pred)
        tr.insert(k + 1, copy.deepcopy(tr[k]))
        return _renumber(tr)

    return f


def m_delete_attest_and_send(tr: Trace) -> Trace:
    """An honest aggregator silently ignores an honest offer: its attest event and the
    send that follows are gone (the offer is neither attested nor dropped)."""
    k = _index(tr, where("attest", lambda e: e["producer"] != "A0" and e["node"] != e["producer"]))
    assert tr[k + 1]["kind"] == "send" and tr[k + 1]["type"] == "attest"
    del tr[k : k + 2]
    return _renumber(tr)


def m_offer_never_delivered(tr: Trace) -> Trace:
    """An attestation whose step is not triggered by the producer's offer: the deliver
    of the offer becomes a deliver of some other message to that node."""
    k = _index(tr, where("attest", lambda e: e["producer"] != "A0" and e["node"] != e["producer"]))
    trig = max(x for x in range(1, k) if tr[x]["kind"] == "deliver")
    tr[k]["producer"] = "A3" if tr[k]["producer"] != "A3" else "A2"
    assert tr[trig]["node"] == tr[k]["node"]
    return tr


def m_header_of_other_round(tr: Trace) -> Trace:
    """An announcement's header digest is that of another round's model."""
    first = tr[_index(tr, where("announce", lambda e: e["round"] == 1))]
    later = tr[_index(tr, where("announce", lambda e: e["round"] == 2))]
    later["header"] = first["header"]
    return tr


def _honest_not_designated(e: Event) -> str:
    i = int(e["node"][1:])
    return next(f"A{j}" for j in (1, 2, 3) if not protocol.designated(P, i, j) and f"A{j}" != e["from"])


HONEST_ATTEST = where("attest", lambda e: e["node"] != "A0" and e["producer"] != "A0")

MUTATIONS: dict[str, tuple[Callable[[Trace], Trace], set[str]]] = {
    # the attester's checks
    "attest of a model the honest producer never made": (m_set(HONEST_ATTEST, model="01" * 32), {"I-3"}),
    "attest on an unattested prev (S-7)": (
        m_set(where("attest", lambda e: e["round"] == 2 and e["producer"] != "A0"), prev="02" * 32),
        {"S-7", "I-3"},
    ),
    "attest of a round-1 model not on genesis": (
        m_set(where("attest", lambda e: e["round"] == 1), prev="03" * 32),
        {"I-3"},
    ),
    "attest with too few clusters": (m_set(HONEST_ATTEST, clusters=lambda e: e["clusters"][:2]), {"I-3"}),
    "attest without the offer delivered": (m_offer_never_delivered, {"R-17", "I-3"}),
    "attest twice": (m_duplicate(HONEST_ATTEST), {"R-17", "T-STEP"}),
    "header names two models": (m_header_of_other_round, {"I-3"}),
    # the announcement
    "announce with t_a attesters (S-7)": (
        m_set(where("announce"), attesters=lambda e: e["attesters"][:1]),
        {"S-7"},
    ),
    "announce names an attester that never attested": (
        m_set(where("announce"), attesters=lambda e: sorted(set(e["attesters"]) ^ {"A1", "A2", "A3"})[:2]),
        {"S-7", "R-14"},
    ),
    "announce of another model": (m_set(where("announce"), model="06" * 32), {"I-3"}),
    "announce twice": (m_duplicate(where("announce")), {"R-14", "T-STEP"}),
    # R-15 / D-18 / S-7: the client
    "accept an unattested model from a Byzantine sender (S-7)": (
        m_set(where("accept"), model="07" * 32, **{"from": "A0"}),
        {"S-7", "R-15"},
    ),
    "accept from an honest non-designated sender (D-18)": (
        m_set(where("accept", lambda e: e["from"] != "A0"), **{"from": _honest_not_designated}),
        {"D-18", "I-3", "R-15"},
    ),
    # prescribed sends (T-STEP both ways) and quiescence
    "missing offer send": (
        m_delete(lambda e: e["kind"] == "send" and e["type"] == "offer"),
        {"R-17", "T-FLOW"},
    ),
    "missing attest send": (
        m_delete(lambda e: e["kind"] == "send" and e["type"] == "attest" and e["node"] != "A0"),
        {"R-17"},
    ),
    "missing announce send": (
        m_delete(lambda e: e["kind"] == "send" and e["type"] == "announce" and e["node"] != "A0"),
        {"R-14"},
    ),
    "offer neither attested nor dropped (R-17)": (m_delete_attest_and_send, {"R-17"}),
    "unprescribed attest send": (
        m_delete(where("attest", lambda e: e["node"] != "A0")),
        {"T-STEP", "R-17", "S-7"},
    ),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_mutation_rejected(name: str, trace: Trace) -> None:
    assert props(trace, "all") == set()
    mutate, expected = MUTATIONS[name]
    got = props(mutate(copy.deepcopy(trace)))
    assert got & expected, f"{name}: expected one of {expected}, got {got}"


def test_trace_exercises_the_new_rules(trace: Trace) -> None:
    """The base trace is not vacuous: it has attestations of every honest producer,
    Byzantine relays and forgeries dropped for each reason, and bodies per D-18 or served
    fetches (D-22)."""
    kinds = [e["kind"] for e in trace]
    assert kinds.count("attest") >= 9 * P.R // 3 and kinds.count("announce") == 3 * P.R
    reasons = {e["reason"] for e in trace if e["kind"] == "drop"}
    assert {"too few attestations", "invalid evidence"} <= reasons
    served = set()
    for e in trace:
        if e["kind"] == "serve":
            served.add((e["node"], e["client"], e["round"]))
        if e["kind"] == "accept" and e["from"] != "A0":
            pushed = protocol.designated(P, int(e["node"][1:]), int(e["from"][1:]))
            assert pushed or (e["from"], e["node"], e["round"]) in served  # D-18 / D-22
    assert served  # the clients of Byzantine A0 fetched their bodies


def test_broken_attestation_threshold_is_caught() -> None:
    """The small-attest variant (t_a attestations certify): a client accepts a forged
    model announced with Byzantine attestations only: S-7 (and I-3) on the trace and in
    the explorer; the correct protocol's traces under the same adversary are valid."""
    bad = dataclasses.replace(P, bug="small-attest", R=2)
    found: set[str] = set()
    for seed in range(4):
        found |= props(emit_trace(bad, seed=seed, behaviours="forge-announce", byz_prob=0.2))
        assert (
            props(emit_trace(dataclasses.replace(bad, bug="none"), seed=seed, behaviours="forge-announce"))
            == set()
        )
    assert "S-7" in found


def test_attestation_quorum_is_the_models(monkeypatch: pytest.MonkeyPatch, trace: Trace) -> None:
    """One encoding: require t_a + 2 attestations in the model and the checker rejects
    the honest announcements (t_a + 1 attesters) under S-7."""
    real = protocol.attestation_quorum
    monkeypatch.setattr(
        protocol, "attestation_quorum", lambda p, a: real(dataclasses.replace(p, t_a=p.t_a + 1), a)
    )
    assert "S-7" in props(copy.deepcopy(trace))


def test_designation_is_the_models(monkeypatch: pytest.MonkeyPatch, trace: Trace) -> None:
    """One encoding: D-18 shifted by one in the model and honest accepts violate D-18."""
    real = protocol.designated
    monkeypatch.setattr(protocol, "designated", lambda p, i, j: real(p, i + 1, j))
    assert "D-18" in props(copy.deepcopy(trace))
