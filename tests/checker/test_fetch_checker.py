"""D-22 body fetches in the checker: a model trace in which the clients of a silent
Byzantine pusher fetch their bodies is accepted; each edit that breaks one clause of the
fetch guard, the serve guard, D-18's acceptance or L-2 is rejected with its rule ID at
its line (checker line = list index + 1: the header is line 1)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from asfl.checker.replay import Checker
from asfl.model.emit import emit_trace
from asfl.model.params import Params

Trace = list[dict[str, Any]]
P = Params(n_a=4, t_a=1, n_c=8, t_c=0, q_min=2, B=1, R=1, byzantine=frozenset({0}))


@pytest.fixture(scope="module")
def base() -> Trace:
    return emit_trace(P, seed=0, behaviours="", byz_prob=0)


def found(tr: Trace) -> list[tuple[int, str, str]]:
    for k, e in enumerate(tr[1:], 1):
        e["seq"] = k
    rep = Checker(signatures="none", z3=False).check_lines([json.dumps(e) for e in tr])
    return [(v.line, v.prop, v.message) for v in rep.violations]


def at(tr: Trace, kind: str, **fields: Any) -> int:
    """Index of the first event of ``kind`` with ``fields``."""
    return next(
        k for k, e in enumerate(tr) if e["kind"] == kind and all(e.get(f) == v for f, v in fields.items())
    )


def has(got: list[tuple[int, str, str]], line: int, prop: str, words: str) -> bool:
    return any(g[0] == line and g[1] == prop and words in g[2] for g in got)


def test_base_trace_fetches_and_is_valid(base: Trace) -> None:
    fetches = [e for e in base if e["kind"] == "fetch"]
    serves = [e for e in base if e["kind"] == "serve"]
    # the clients whose pusher (i mod 4 == 0) is the silent Byzantine A0 fetch, once each
    assert sorted(e["node"] for e in fetches) == ["C0", "C4"] == sorted(e["client"] for e in serves)
    assert base[-1]["status"] == "complete"
    assert found(copy.deepcopy(base)) == []


def test_fetch_to_a_non_announcer(base: Trace) -> None:
    """The fetch guard's target clause: A0 (silent) never announced to C0."""
    tr = copy.deepcopy(base)
    k = at(tr, "fetch", node="C0")
    tr[k]["to"] = "A0"
    got = found(tr)
    assert has(got, k + 1, "D-22", "whose header-only announcement it never verified")
    assert has(got, k + 2, "D-22", "fetch event names A0, its fetch goes to")


def test_fetch_to_the_pusher_that_sent_the_body(base: Trace) -> None:
    """C5's pusher A1 sent it the body (no header-only announcement): not fetchable, and
    C5 accepted the round already."""
    tr = copy.deepcopy(base)
    k = at(tr, "fetch", node="C0")
    tr[k]["node"] = tr[k + 1]["node"] = "C5"
    tr[k]["to"] = tr[k + 1]["to"] = "A1"
    got = found(tr)
    assert has(got, k + 1, "D-22", "which it accepted already")


def test_fetch_with_another_header(base: Trace) -> None:
    tr = copy.deepcopy(base)
    k = at(tr, "fetch", node="C0")
    tr[k]["header"] = "ab" * 32
    got = found(tr)
    assert has(got, k + 1, "D-22", "which announced")


def test_fetch_after_the_body(base: Trace) -> None:
    """A client fetches a round it accepted: inserted after C0's accept."""
    tr = copy.deepcopy(base)
    k = at(tr, "accept", node="C0")
    last = max(e["msg"] for e in tr if e["kind"] == "send")
    hd = tr[at(tr, "fetch", node="C0")]["header"]
    fetch = {"seq": 0, "kind": "fetch", "node": "C0", "round": 1, "to": "A1", "header": hd}
    send = dict(tr[at(tr, "send", type="fetch")], node="C0", to="A1", msg=last + 1, digest="cd" * 32)
    tr[k + 1 : k + 1] = [fetch, send]
    got = found(tr)
    assert has(got, k + 2, "D-22", "which it accepted already")


def test_unserved_fetch_at_an_honest_aggregator(base: Trace) -> None:
    """The serve guard holds (A2 announced, same header, first fetch) and the serve is
    deleted: a D-22 violation at the fetch's delivery."""
    tr = copy.deepcopy(base)
    k = at(tr, "serve", client="C0")
    assert tr[k - 1]["kind"] == "deliver"
    del tr[k]
    got = found(tr)
    assert has(got, k, "D-22", "neither serves nor drops C0's fetch of round 1")


def test_second_serve(base: Trace) -> None:
    tr = copy.deepcopy(base)
    k = at(tr, "serve", client="C0")
    tr.insert(k + 1, dict(tr[k]))
    got = found(tr)
    assert has(got, k + 2, "D-22", "twice in one step")


def test_serve_without_a_fetch(base: Trace) -> None:
    """A serve in a step that delivered no fetch (moved into A2's announce step)."""
    tr = copy.deepcopy(base)
    k = at(tr, "serve", client="C0")
    ev = tr.pop(k)
    a = at(tr, "announce", node="A2")
    tr.insert(a + 1, ev)
    got = found(tr)
    assert has(got, a + 2, "D-22", "delivered it no fetch")


def test_accept_of_an_unserved_non_designated_body(base: Trace) -> None:
    """C2's pusher is A2 (2 mod 4); an accept from A1, which served C2 nothing: D-18."""
    tr = copy.deepcopy(base)
    k = at(tr, "accept", node="C2")
    assert tr[k]["from"] == "A2"
    tr[k]["from"] = "A1"
    got = found(tr)
    assert has(got, k + 1, "D-18", "not its pusher, which served it no fetch")


def test_fetch_envelope_signed_by_an_aggregator(base: Trace) -> None:
    """R-3 / I-4: a fetch is a client's message; an aggregator's envelope labelled fetch
    is refused."""
    tr = copy.deepcopy(base)
    k = at(tr, "serve", client="C0") + 1
    assert tr[k]["kind"] == "send" and tr[k]["type"] == "announce"
    tr[k]["type"] = "fetch"
    got = found(tr)
    assert has(got, k + 1, "I-4", "fetch envelope signed by A2, not a C node")


def test_timer_that_never_fires_is_an_l2_violation(base: Trace) -> None:
    """C4's fetch step and what follows it deleted, the end event says stalled: at
    quiescence C4 lacks its body while honest A3 is fetchable (L-2, D-22)."""
    tr = copy.deepcopy(base)
    k = at(tr, "fetch", node="C4")
    end = tr[-1]
    del tr[k:-1]
    end["status"] = "stalled"
    end["rounds_done"]["C4"] = 0
    got = found(tr)
    assert any(g[1] == "L-2" and "its timer never fetched" in g[2] and "C4" in g[2] for g in got), got


def test_fetch_header_to_a_byzantine_target() -> None:
    """The header of a fetch to a Byzantine aggregator: the fetch guard cannot compare it
    (a Byzantine announcement's header is not in the trace), the fetch envelope's digest
    recomputed from ``(round, header)`` (D-14, D-22) refutes it."""
    p = Params(n_a=4, t_a=1, n_c=8, t_c=0, q_min=2, B=1, R=2, byzantine=frozenset({0}))
    tr = emit_trace(p, seed=0, behaviours="forge-announce", byz_prob=0.3)
    assert found(copy.deepcopy(tr)) == []
    k = at(tr, "fetch", to="A0")
    tr[k]["header"] = ("0" if tr[k]["header"][0] != "0" else "1") + tr[k]["header"][1:]
    got = found(tr)
    assert [g[:2] for g in got] == [(k + 2, "D-22")], got
    assert "fetch envelope is not fetch(" in got[0][2]
