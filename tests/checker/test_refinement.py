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
