"""Regression tests for issue 8's "tried as an adversarial user" list: each edit of an
implementation trace that its own contents refute is rejected, with the right ID."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from asfl.checker.replay import Checker

Trace = list[dict[str, Any]]


def props(tr: Trace, signatures: str = "all") -> set[str]:
    rep = Checker(signatures=signatures, z3=False).check_lines([json.dumps(e) for e in tr])
    return {v.prop for v in rep.violations}


def renumber(tr: Trace) -> Trace:
    for k, e in enumerate(tr[1:], 1):
        e["seq"] = k
    return tr


def where(tr: Trace, pred: Callable[[dict[str, Any]], bool]) -> list[int]:
    return [k for k, e in enumerate(tr) if k and pred(e)]


def test_the_base_traces_are_valid(impl_traces: dict[str, Trace]) -> None:
    for b, tr in impl_traces.items():
        assert props(tr) == set(), b


def test_deleted_or_undecodable_member_ghost_is_p1(impl_traces: dict[str, Trace]) -> None:
    """A member's ghost deleted (or undecodable) no longer switches P-1 off; a forged
    revealed sum is then still caught."""
    for how in ("delete", "garble"):
        tr = copy.deepcopy(impl_traces["silent"])
        k = where(tr, lambda e: e["kind"] == "submit")[0]
        if how == "delete":
            del tr[k]["ghost"]
        else:
            tr[k]["ghost"]["x"] = "not base64!"
        r = where(tr, lambda e: e["kind"] == "reconstruct")[0]
        tr[r]["ghost"]["sum"] = "AAAAAA" + tr[r]["ghost"]["sum"][6:]
        assert "P-1" in props(tr), how


def test_deleted_last_round_submit_is_rejected(impl_traces: dict[str, Trace]) -> None:
    """An honest client's last-round submit event deleted, seq renumbered."""
    tr = copy.deepcopy(impl_traces["equivocate"])
    last = max(e["round"] for e in tr[1:] if e["kind"] == "submit")
    k = where(tr, lambda e: e["kind"] == "submit" and e["round"] == last)[-1]
    del tr[k]
    assert props(renumber(tr)) & {"T-STEP", "D-13"}


def test_deleted_late_reconstruct_is_rejected(impl_traces: dict[str, Trace]) -> None:
    """A reconstruct of round tau after its node aggregated round tau + 1 (it did not
    need it) deleted, seq renumbered: R-11 still owed it."""
    found = 0
    for tr0 in impl_traces.values():
        agg: dict[tuple[str, int], int] = {}
        for k, e in enumerate(tr0):
            if e.get("kind") == "aggregate":
                agg[(e["node"], e["round"])] = k
        late = [
            k
            for k, e in enumerate(tr0)
            if e.get("kind") == "reconstruct" and k > agg.get((e["node"], e["round"] + 1), len(tr0))
        ]
        if late:
            found += 1
            tr = copy.deepcopy(tr0)
            del tr[late[-1]]
            assert "R-11" in props(renumber(tr))
    assert found, "no trace has a late reconstruct"


@pytest.mark.parametrize("field", ["sd", "pd", "clients"])
def test_altered_digests_and_sets_are_rejected(impl_traces: dict[str, Trace], field: str) -> None:
    """sd, pd (consistently, in every event naming it) or the endorsed set altered."""
    tr = copy.deepcopy(impl_traces["silent"])
    if field == "sd":
        e = next(e for e in tr[1:] if e["kind"] == "propose")
        i = e["clients"][0]
        sub = next(
            s for s in tr[1:] if s["kind"] == "submit" and s["node"] == f"C{i}" and s["round"] == e["round"]
        )
        sub["sd"] = "0" * 64
    elif field == "pd":
        pd = next(e for e in tr[1:] if e["kind"] == "propose")["pd"]
        for e in tr[1:]:
            for f in ("pd", "first", "other"):
                if e.get(f) == pd:
                    e[f] = "1" * 64
    else:
        e = next(e for e in tr[1:] if e["kind"] == "endorse")
        for o in tr[1:]:
            if o["kind"] == "endorse" and o["pd"] == e["pd"]:
                o["clients"] = o["clients"][1:]
    assert "I-2" in props(tr)


def test_junk_relabelled_as_announce_is_rejected(impl_traces: dict[str, Trace]) -> None:
    """A Byzantine junk send relabelled as a protocol kind is refuted by its signature;
    the honest receiver that failed to drop it can no longer hide behind it."""
    tr = copy.deepcopy(impl_traces["malformed"])
    junk = where(tr, lambda e: e["kind"] == "send" and e["type"] == "junk")
    assert junk
    tr[junk[0]]["type"] = "announce"
    assert "I-4" in props(tr)


def test_end_lies_are_rejected(impl_traces: dict[str, Trace]) -> None:
    base = impl_traces["silent"]
    tr = copy.deepcopy(base)
    tr[-1]["status"] = "stalled"
    assert "T-END" in props(tr)
    tr = copy.deepcopy(base)
    name = next(n for n in tr[-1]["rounds_done"] if n.startswith("C"))
    del tr[-1]["rounds_done"][name]
    assert "T-END" in props(tr)


def test_d13_catch_up_order_is_checked(impl_traces: dict[str, Trace]) -> None:
    """D-13: a local step trains on the newest accepted model and submits every
    pending round; an older model_round or a skipped catch-up submission is refuted."""
    tr = copy.deepcopy(impl_traces["silent"])
    k = where(tr, lambda e: e["kind"] == "local_step" and e["model_round"] > 0)[0]
    tr[k]["model_round"] -= 1
    assert "D-13" in props(tr)
    tr = copy.deepcopy(impl_traces["silent"])
    k = where(tr, lambda e: e["kind"] == "submit")[0]
    send = k + 1
    assert tr[send]["kind"] == "send" and tr[send]["type"] == "submit"
    del tr[send]
    del tr[k]
    assert "D-13" in props(renumber(tr))


def test_ghost_false_with_ghost_fields_is_rejected(impl_traces: dict[str, Trace]) -> None:
    tr = copy.deepcopy(impl_traces["silent"])
    tr[0]["ghost"] = False
    assert "T-HEADER" in props(tr)
