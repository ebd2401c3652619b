"""Regression (stop 10): a Byzantine node that first sends an envelope signed by a
colluding Byzantine node made the checker record the *sender* as its author, so the
signer's own later sends of that envelope were refused with a false I-4 ("signature
does not verify"). The author is the key that verified (R-3, I-4)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from asfl.checker.replay import Checker
from asfl.model.emit import emit_trace
from asfl.model.params import Params
from tests.checker.test_checker import ALL_BYZ, Signer

Trace = list[dict[str, Any]]
P = Params(n_a=7, t_a=2, n_c=21, t_c=0, q_min=2, B=1, R=1, byzantine=frozenset({0, 1}))


@pytest.fixture(scope="module")
def signed() -> Trace:
    s = Signer(P)
    return emit_trace(P, seed=5, behaviours=ALL_BYZ, signer=s, keys=s.keys)  # 5 relayed-first envelopes


def violations(tr: Trace) -> list[tuple[int, str]]:
    rep = Checker(signatures="all", z3=False).check_lines([json.dumps(e) for e in tr])
    return [(v.line, v.prop) for v in rep.violations]


def relayed_first(tr: Trace, limit: int) -> list[Trace]:
    """Traces in which A1 sends, first, an envelope A0 signed and sends again later."""
    out: list[Trace] = []
    seen: set[str] = set()
    for k, e in enumerate(tr):
        if e["kind"] != "send" or e["node"] != "A0" or e["digest"] in seen:
            continue
        seen.add(e["digest"])
        again = any(
            x["kind"] == "send" and x["node"] == "A0" and x["digest"] == e["digest"] for x in tr[k + 1 :]
        )
        if not again:
            continue
        t = copy.deepcopy(tr)
        t[k]["node"] = "A1"
        for x in t:
            if x["kind"] == "deliver" and x.get("msg") == e["msg"]:
                x["from"] = "A1"
        out.append(t)
        if len(out) == limit:
            break
    return out


def test_a_colluder_relaying_first_does_not_make_the_signer_a_forger(signed: Trace) -> None:
    assert violations(signed) == []
    cases = relayed_first(signed, 3)
    assert len(cases) == 3
    for t in cases:
        assert violations(t) == []


def test_a_relay_of_a_bad_signature_is_still_refused(signed: Trace) -> None:
    t = relayed_first(signed, 1)[0]
    k = next(
        i
        for i, e in enumerate(t)
        if e["kind"] == "send"
        and e["node"] == "A1"
        and e["digest"] in {x["digest"] for x in signed if x["kind"] == "send" and x["node"] == "A0"}
    )
    t[k]["sig"] = "0" * 128
    assert (k + 1, "I-4") in violations(t)
