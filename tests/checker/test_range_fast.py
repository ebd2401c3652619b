"""The generated per-kind range tests (``FlowRules.range_test``) against ``in_range``:
a test is true of an event only if ``in_range`` is true of it and changes nothing (no
violation, no node newly known), so deciding the common case by the test leaves every
verdict as it was; and it is true of the model's events once their nodes are known."""

from __future__ import annotations

import copy
from typing import Any

from asfl.checker.replay import Checker
from asfl.model.emit import emit_trace
from asfl.model.params import Params

P = Params(n_a=4, t_a=1, n_c=40, t_c=2, q_min=5, B=1, R=2, byzantine=frozenset({3}), crashed=frozenset({7}))
TRACE = emit_trace(P, seed=1, behaviours="equivocate,forge-endorse,wrong-release", dim=4)
EVENTS = [e for e in TRACE[1:] if e["kind"] != "end"]
#: one event of each kind (and message type)
SAMPLES = list({(e["kind"], e.get("type")): e for e in EVENTS}.values())
FIELDS = ["node", "to", "from", "producer", "client", "cluster", "round"]
LISTS = ["clients", "members", "held", "endorsers", "support", "wrong", "clusters"]
ODD: list[Any] = [None, True, False, 0, 1, 2, 3, 4, 39, 40, -1, 1.0, "A1", "A4", "C39", "C40", "A0", "C0"]


def checker() -> Checker:
    c = Checker(signatures="none", z3=False)
    c.start(TRACE[0])
    return c


def agrees(c: Checker, ev: dict[str, Any]) -> bool:
    """The range test's verdict; when true, ``in_range`` is true and changes nothing."""
    ok = c.range_test(ev["kind"])(ev)
    if ok:
        known = set(c.known_nodes)
        n0 = len(c.rep.violations)
        assert c.in_range(ev), ev
        assert len(c.rep.violations) == n0 and c.known_nodes == known, ev
    return bool(ok)


def test_every_model_event_passes_once_its_nodes_are_known() -> None:
    c = checker()
    for ev in EVENTS:
        assert c.in_range(ev), ev
    assert not c.rep.violations
    for ev in EVENTS:
        assert agrees(c, ev), ev


def test_range_test_true_only_if_in_range_is() -> None:
    """Every kind's events with each range field replaced by each odd value (in and just
    out of range, of other JSON types), with no node known and with every node known."""
    cold, warm = checker(), checker()
    for e in EVENTS:
        warm.in_range(e)
    n0 = len(warm.rep.violations)
    for ev in SAMPLES:
        for field in FIELDS + LISTS:
            if field not in ev:
                continue
            for value in ODD:
                bad = copy.deepcopy(ev)
                bad[field] = [*ev[field], value] if field in LISTS else value
                for c in (cold, warm):
                    agrees(c, bad)
    assert len(warm.rep.violations) == n0
