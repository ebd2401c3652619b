"""One encoding (issue 8): the checker fires the model's own guards, so changing a
guard of ``model.protocol`` in a test double changes the checker's verdict."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from asfl.checker.replay import Checker
from asfl.model import protocol
from asfl.model.emit import emit_trace
from asfl.model.params import Params

Trace = list[dict[str, Any]]
GREEDY = Params(n_a=4, t_a=1, n_c=12, t_c=0, q_min=2, B=0, R=2, byzantine=frozenset({0}), bug="greedy-close")
REAL_CLOSE = protocol.close_choice


def props(tr: Trace) -> set[str]:
    rep = Checker(signatures="none", z3=False).check_lines([json.dumps(e) for e in tr])
    return {v.prop for v in rep.violations}


def greedy_close(p: Params, counts: Any, held: Any) -> tuple[int, ...] | None:
    """The double: R-6 replaced by 'close on q_min held submissions, propose them all'."""
    return REAL_CLOSE(dataclasses.replace(p, bug="greedy-close"), counts, held)


def traces(p: Params) -> list[Trace]:
    return [emit_trace(p, seed=s) for s in range(3)]


def test_close_guard_is_the_models(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = traces(GREEDY)
    right = traces(dataclasses.replace(GREEDY, bug="none"))
    assert any("F-1" in props(t) for t in broken)
    assert all(props(t) == set() for t in right)
    monkeypatch.setattr(protocol, "close_choice", greedy_close)
    # the checker now holds the greedy rule: the greedy model's traces pass, and R-6
    # traces that differ from greedy closing are rejected
    assert all(props(t) == set() for t in broken)
    assert any("F-1" in props(t) for t in right)


def test_proposal_guard_is_the_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tighten the model's proposal guard (q_min + 1): the checker rejects proposals the
    real guard accepts, under the same property ID the guard names."""
    p = dataclasses.replace(GREEDY, bug="none")
    tr = traces(p)[0]
    real = protocol.proposal_defects

    def strict(pp: Params, q: Any) -> tuple[protocol.Defect, ...]:
        return real(dataclasses.replace(pp, q_min=pp.q_min + 1), q)

    sizes = [len(e["clients"]) for e in tr[1:] if e["kind"] in ("propose", "endorse")]
    assert min(sizes) == p.q_min  # the trace has a proposal at the bound
    monkeypatch.setattr(protocol, "proposal_defects", strict)
    assert {"S-5", "R-8"} <= props(tr)


def test_count_view_is_the_models(monkeypatch: pytest.MonkeyPatch) -> None:
    p = dataclasses.replace(GREEDY, bug="none")
    tr = traces(p)[0]
    assert any(any(e["counts"]) for e in tr[1:] if e["kind"] == "propose")
    monkeypatch.setattr(protocol, "count_view", lambda views, before: {})
    assert "F-3" in props(tr)


# -- D-22: the fetch guard and the serve guard are the model's ---------------------------
FETCHING = Params(n_a=4, t_a=1, n_c=8, t_c=0, q_min=2, B=1, R=2, byzantine=frozenset({0}))
REAL_FETCH = protocol.fetch_defect
REAL_SERVE = protocol.serve_refusal


def fetch_not_lowest(
    p: Params, r: int, accepted: int, body_held: bool, fetched_from: Any, heads: Any, j: int, hd: Any
) -> protocol.FetchDefect | None:
    """The double: D-22's fetch guard that also forbids the lowest-index aggregator whose
    header-only announcement the client verified (the one an implementation picks)."""
    why = REAL_FETCH(p, r, accepted, body_held, fetched_from, heads, j, hd)
    if why is None and j == min(heads):
        return protocol.FetchDefect.NO_HEADER
    return why


def serve_refusing(client: int) -> Any:
    """The double: D-22's serve guard that also refuses every fetch of ``client``."""

    def guard(p: Params, i: int, r: int, announced: Any, hd: Any, served: Any) -> protocol.ServeDefect | None:
        why = REAL_SERVE(p, i, r, announced, hd, served)
        return protocol.ServeDefect.NOT_ANNOUNCED if why is None and i == client else why

    return guard


def fetch_lines(tr: Trace, kind: str) -> set[int]:
    """Checker lines (list index + 1) of the trace's ``kind`` events."""
    return {k + 1 for k, e in enumerate(tr) if k and e["kind"] == kind}


def dropped_fetches(tr: Trace) -> set[int]:
    """Lines of the deliveries of fetches an aggregator dropped as "not announced" (the
    checker names the step, i.e. its trigger)."""
    gone = {e["msg"] for e in tr[1:] if e["kind"] == "drop" and e["reason"] == "not announced"}
    return {k + 1 for k, e in enumerate(tr) if k and e["kind"] == "deliver" and e["msg"] in gone}


def d22(tr: Trace) -> list[tuple[int, str]]:
    rep = Checker(signatures="none", z3=False).check_lines([json.dumps(e) for e in tr])
    return [(v.line, v.message) for v in rep.violations if v.prop == "D-22"]


def fetching_traces() -> list[Trace]:
    """Model traces in which the silent Byzantine A0's clients (C0, C4: D-18 pushers
    ``i mod 4``) fetch their bodies: every fetch and serve of the run is in the trace."""
    return [emit_trace(FETCHING, seed=s, behaviours="", byz_prob=0) for s in range(4)]


def test_fetch_guard_is_the_models(monkeypatch: pytest.MonkeyPatch) -> None:
    right = fetching_traces()
    for tr in right:
        assert fetch_lines(tr, "fetch") and fetch_lines(tr, "serve"), "the trace fetches nothing"
        assert props(tr) == set()
    monkeypatch.setattr(protocol, "fetch_defect", fetch_not_lowest)
    # the model now never fetches from the lowest-index header sender: its traces pass
    # the checker holding the same guard (and the real one: the double only forbids)
    narrow = fetching_traces()
    for tr in narrow:
        assert fetch_lines(tr, "fetch") and props(tr) == set()
    # the real model's fetches from the lowest-index sender are refused, at their lines
    refused = [ln for tr in right for ln, msg in d22(tr) if "never verified" in msg]
    assert refused
    assert all(ln in fetch_lines(tr, "fetch") for tr in right for ln, _ in d22(tr))
    monkeypatch.setattr(protocol, "fetch_defect", REAL_FETCH)
    assert all(props(tr) == set() for tr in narrow)


def test_serve_guard_is_the_models(monkeypatch: pytest.MonkeyPatch) -> None:
    right = fetching_traces()
    served_c0 = [tr for tr in right if any(e["kind"] == "serve" and e["client"] == "C0" for e in tr)]
    assert served_c0 and all(props(tr) == set() for tr in right)
    monkeypatch.setattr(protocol, "serve_refusal", serve_refusing(0))
    # every serve of C0 in the real model's traces is refused by the checker's guard
    for tr in served_c0:
        lines = {k + 1 for k, e in enumerate(tr) if k and e["kind"] == "serve" and e["client"] == "C0"}
        got = d22(tr)
        assert lines <= {ln for ln, msg in got if "C0's fetch of round" in msg and "not announced" in msg}
    # the model with the double drops C0's fetches; the checker holding the same guard
    # finds no D-22 violation (C0 then stalls the run: liveness, not the guard), the
    # checker with the real guard names every dropped fetch the guard would serve
    refusing = fetching_traces()
    drops = [dropped_fetches(tr) for tr in refusing]
    assert all(drops)
    assert all(d22(tr) == [] for tr in refusing)
    monkeypatch.setattr(protocol, "serve_refusal", REAL_SERVE)
    for tr, dl in zip(refusing, drops, strict=True):
        got = d22(tr)
        assert {ln for ln, msg in got if "drops C0's fetch" in msg and "serve guard enables" in msg} == dl


def test_impl_fetches_follow_the_models_guards(
    impl_traces: dict[str, Trace], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The implementation picks the lowest-index fetchable aggregator (D-22): under the
    double that forbids it, every fetch of its trace is a D-22 violation; under a serve
    guard refusing one client, exactly that client's serves are."""
    tr = impl_traces["silent"]
    fetches, serves = fetch_lines(tr, "fetch"), fetch_lines(tr, "serve")
    assert fetches and serves and props(tr) == set()
    monkeypatch.setattr(protocol, "fetch_defect", fetch_not_lowest)
    assert fetches <= {ln for ln, msg in d22(tr) if "never verified" in msg}
    monkeypatch.setattr(protocol, "fetch_defect", REAL_FETCH)
    client = next(e["client"] for e in tr[1:] if e["kind"] == "serve")
    monkeypatch.setattr(protocol, "serve_refusal", serve_refusing(int(client[1:])))
    mine = {k + 1 for k, e in enumerate(tr) if k and e["kind"] == "serve" and e["client"] == client}
    got = {ln for ln, msg in d22(tr) if f"{client}'s fetch" in msg and "not announced" in msg}
    assert mine == got
