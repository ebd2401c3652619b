"""What the checker reuses to go faster (stop 10) never changes a verdict: a broadcast's
repeated envelope is checked once, yet a send among its copies with another signature
or kind is still refused (I-4); Z3 obligations decided once in the process are listed
for every trace that needs them."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from asfl.checker import obligations
from asfl.checker.obligations import TraceObligations
from asfl.checker.replay import Checker
from asfl.model.emit import emit_trace
from asfl.model.params import Params
from tests.checker.test_checker import ALL_BYZ, Signer

Trace = list[dict[str, Any]]
P = Params(n_a=4, t_a=1, n_c=9, t_c=0, q_min=2, B=1, R=2, byzantine=frozenset({0}))


@pytest.fixture(scope="module")
def signed() -> Trace:
    s = Signer(P)
    return emit_trace(P, seed=3, behaviours=ALL_BYZ, signer=s, keys=s.keys)


def i4(tr: Trace) -> list[int]:
    rep = Checker(signatures="all", z3=False).check_lines([json.dumps(e) for e in tr])
    return sorted(v.line for v in rep.violations if v.prop == "I-4")


def broadcasts(tr: Trace) -> list[list[int]]:
    """Runs of consecutive sends of one envelope by one honest node (index lists)."""
    runs: list[list[int]] = []
    for k, e in enumerate(tr):
        if e["kind"] != "send" or e["node"] == "A0":
            continue
        prev = tr[k - 1]
        same = prev["kind"] == "send" and all(prev[f] == e[f] for f in ("node", "type", "digest", "sig"))
        if same and runs and runs[-1][-1] == k - 1:
            runs[-1].append(k)
        else:
            runs.append([k])
    return [r for r in runs if len(r) >= 3]


def test_a_bad_copy_inside_a_broadcast_is_refused(signed: Trace) -> None:
    runs = broadcasts(signed)
    assert i4(signed) == [] and len(runs) >= 5
    for run in runs[:5]:
        for edit in ("sig", "type"):
            tr = copy.deepcopy(signed)
            mid = tr[run[1]]
            if edit == "sig":
                mid["sig"] = signed[run[0] - 1].get("sig", "0" * 128)
                if mid["sig"] == signed[run[1]]["sig"]:
                    mid["sig"] = "0" * 128
            else:
                mid["type"] = "attest" if mid["type"] != "attest" else "offer"
            # line numbers are 1-based: the bad copy, and only it (the next copies are the
            # original envelope again, checked afresh since the bad one broke the run)
            assert i4(tr) == [run[1] + 1], (edit, run)


def test_decided_obligations_are_listed_for_every_trace() -> None:
    obligations.DECIDED.clear()
    first = TraceObligations(4, 1)
    a = first.for_config()
    b = first.for_reconstruction(5, [0, 1, 2])
    assert first.reused == 0 and first.seconds > 0
    again = TraceObligations(4, 1)
    assert again.for_config() == a and again.for_reconstruction(7, [2, 1, 0]) is b
    s = again.summary()
    assert s["obligations"] == 4 and s["proved"] == 4 and s["reused"] == 4 and s["seconds"] == 0
    # a refuted obligation is reused as refuted: a bad configuration stays bad
    bad = [r.status for r in TraceObligations(3, 1).for_config()]
    assert bad == [r.status for r in TraceObligations(3, 1).for_config()] == ["refuted", "refuted", "proved"]


def test_histories_are_bounded_and_read_by_no_verdict(signed: Trace, monkeypatch: pytest.MonkeyPatch) -> None:
    """D-21: at most ``HISTORY_KEYS`` per-cluster histories are kept; with room for one
    only, a tampered trace gets the same verdicts (property and line) as with the default."""
    from asfl.checker import base

    tr = copy.deepcopy(signed)
    sub = next(e for e in tr if e["kind"] == "submit")
    sub["cluster"] = (sub["cluster"] + 1) % P.n_a  # the wrong cluster
    end = next(e for e in tr if e["kind"] == "reconstruct")
    end["size"] += 1  # I-2: the size differs from the set's

    def verdicts() -> tuple[list[tuple[str, int]], Checker]:
        c = Checker(signatures="none", z3=False)
        rep = c.check_lines([json.dumps(e) for e in tr])
        return sorted((v.prop, v.line) for v in rep.violations), c

    full, c = verdicts()
    assert {"R-2", "I-2"} <= {p for p, _ in full} and len(c.hist_tc) <= base.HISTORY_KEYS
    monkeypatch.setattr(base, "HISTORY_KEYS", 1)
    small, c = verdicts()
    assert small == full and len(c.hist_tc) <= 1
