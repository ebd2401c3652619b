"""D-19: message ids increase in send order, a message is delivered once, and a drop names
its step's trigger or an announce a client holds (R-15b). The checker keeps only the
messages in flight and the announces clients may still drop (T-FLOW state bounded)."""

from __future__ import annotations

import copy
import json
from typing import Any

from asfl.checker.replay import Checker, Report
from asfl.model.emit import emit_trace
from asfl.model.params import Params

Trace = list[dict[str, Any]]
P = Params(n_a=4, t_a=1, n_c=8, t_c=0, q_min=2, B=1, R=2, byzantine=frozenset({0}))


def check(tr: Trace) -> tuple[Report, Checker]:
    c = Checker(signatures="none", z3=False)
    return c.check_lines([json.dumps(e) for e in tr]), c


def renumber(tr: Trace) -> Trace:
    for k, e in enumerate(tr[1:], 1):
        e["seq"] = k
    return tr


def trace() -> Trace:
    return emit_trace(P, seed=1, behaviours="equivocate")


def flow(rep: Report) -> list[str]:
    return [v.message for v in rep.violations if v.prop == "T-FLOW"]


def dropped_deliver(tr: Trace, role: str) -> tuple[int, int]:
    """(deliver index, drop index) of a message a ``role`` node dropped in its step."""
    for k in range(1, len(tr) - 1):
        e, d = tr[k], tr[k + 1]
        if e["kind"] == "deliver" and e["node"][0] == role and d["kind"] == "drop" and d["msg"] == e["msg"]:
            return k, k + 1
    raise AssertionError(f"no dropped deliver to a {role} node")


def later_step(tr: Trace, k: int, node: str) -> int:
    """Index just after the next deliver to ``node`` after line ``k``."""
    return next(j for j in range(k + 1, len(tr)) if tr[j]["kind"] == "deliver" and tr[j]["node"] == node) + 1


def move_drop(tr: Trace, role: str) -> Trace:
    """Move a ``role`` node's in-step drop to its next step (a late drop)."""
    k, d = dropped_deliver(tr, role)
    drop = tr.pop(d)
    tr.insert(later_step(tr, k, drop["node"]), drop)
    return renumber(tr)


def test_valid_trace_keeps_only_messages_in_flight() -> None:
    rep, c = check(trace())
    assert rep.ok, [v.as_dict() for v in rep.violations]
    in_flight = rep.liveness["undelivered_between_correct_nodes"]
    assert in_flight <= len(c.msgs) < 20  # messages to Byzantine nodes may stay in flight
    # announces verified but not first (no event) stay held: at most n_a - 1 per round
    assert all(len(h) <= (P.n_a - 1) * P.R for h in c.held.values())


def test_ids_not_increasing() -> None:
    tr = trace()
    sends = [e for e in tr[1:] if e["kind"] == "send"]
    a, b = sends[3], sends[4]
    for e in tr[1:]:  # swap the ids of two consecutive sends everywhere
        if e["kind"] in ("send", "deliver", "drop") and e["msg"] in (a["msg"], b["msg"]):
            e["msg"] = b["msg"] if e["msg"] == a["msg"] else a["msg"]
    assert any("not above the last id" in m for m in flow(check(tr)[0]))


def test_second_delivery() -> None:
    tr = trace()
    k = next(k for k, e in enumerate(tr) if k and e["kind"] == "deliver" and e["node"] == "A0")
    tr.insert(k + 1, copy.deepcopy(tr[k]))  # delivered to Byzantine A0 twice
    assert any("delivered before" in m for m in flow(check(renumber(tr))[0]))


def accepted_by(tr: Trace, j: int, node: str) -> int:
    """The newest round ``node`` accepted before index ``j`` (0: genesis only)."""
    return max((e["round"] for e in tr[:j] if e["kind"] == "accept" and e["node"] == node), default=0)


def test_client_drops_held_announce_later() -> None:
    """R-15b: a client may drop an announce it held since an earlier step, of a round it
    has not accepted yet (D-24)."""
    tr = trace()
    sends = {e["msg"]: e for e in tr[1:] if e["kind"] == "send"}
    k, j = next(
        (k, j)
        for k in range(1, len(tr) - 1)
        if tr[k]["kind"] == "deliver"
        and tr[k]["node"][0] == "C"
        and sends[tr[k]["msg"]]["type"] == "announce"
        and tr[k + 1]["kind"] != "drop"
        and (j := later_step(tr, k, tr[k]["node"]))
        and accepted_by(tr, j, tr[k]["node"]) < sends[tr[k]["msg"]]["round"]
    )
    tr.insert(j, {"seq": 0, "kind": "drop", "node": tr[k]["node"], "msg": tr[k]["msg"], "reason": "late"})
    rep, _ = check(renumber(tr))
    assert not flow(rep), flow(rep)


def test_client_drops_held_announce_of_accepted_round_refused() -> None:
    """D-24: once a client accepted round ``r`` (from any sender) it can no longer drop an
    announce of a round up to ``r`` that it holds; the checker forgot it at that accept."""
    tr = trace()
    k, d = dropped_deliver(tr, "C")
    node, j = tr[k]["node"], later_step(tr, k, tr[k]["node"])
    sends = {e["msg"]: e for e in tr[1:] if e["kind"] == "send"}
    assert accepted_by(tr, j, node) >= sends[tr[k]["msg"]]["round"]  # the round is accepted by then
    rep, _ = check(move_drop(tr, "C"))
    assert any("neither delivered by the step's trigger" in m for m in flow(rep)), flow(rep)


def test_aggregator_drops_only_its_trigger() -> None:
    rep, _ = check(move_drop(trace(), "A"))
    assert any("neither delivered by the step's trigger" in m for m in flow(rep))


def test_accepted_announce_cannot_be_dropped() -> None:
    """An accept settles the announces of its sender and round (D-19)."""
    tr = trace()
    sends = {e["msg"]: e for e in tr[1:] if e["kind"] == "send"}
    k = next(
        k
        for k in range(1, len(tr) - 1)
        if tr[k]["kind"] == "deliver"
        and tr[k + 1]["kind"] == "accept"
        and sends[tr[k]["msg"]]["node"] == tr[k + 1]["from"]
    )
    node = tr[k]["node"]
    drop = {"seq": 0, "kind": "drop", "node": node, "msg": tr[k]["msg"], "reason": "late"}
    tr.insert(later_step(tr, k, node), drop)
    assert any("neither delivered by the step's trigger" in m for m in flow(check(renumber(tr))[0]))


def test_flow_state_does_not_grow_with_messages() -> None:
    """After a complete trace without Byzantine nodes nothing is in flight, whatever the
    number of messages; clients hold at most ``n_a - 1`` announces per round."""
    for r in (2, 6):
        p = Params(n_a=4, t_a=1, n_c=8, t_c=0, q_min=2, B=1, R=r)
        tr = emit_trace(p, seed=1, behaviours="")
        rep, c = check(tr)
        assert rep.ok
        assert sum(e["kind"] == "send" for e in tr) > 100 * r
        assert not c.msgs
        assert all(len(h) <= (p.n_a - 1) * r for h in c.held.values())
