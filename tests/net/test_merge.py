"""The merge of per-node traces is a linearisation consistent with happens-before (D-16)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asfl.impl.net.merge import MergeError, Step, linearise, read_steps, renumber

NODES = ["A0", "A1", "C0"]


@st.composite
def executions(draw: st.DrawFn) -> tuple[dict[str, list[Step]], list[dict[str, Any]]]:
    """A random message-passing execution, recorded per node with skewed clocks."""
    skew = {n: draw(st.floats(-5, 5)) for n in NODES}
    in_flight: list[tuple[int, str, str]] = []  # (msg, from, to)
    steps: dict[str, list[Step]] = {n: [] for n in NODES}
    real: list[dict[str, Any]] = []
    counter = 0
    for t in range(draw(st.integers(1, 40))):
        if in_flight and draw(st.booleans()):
            msg, src, node = in_flight[draw(st.integers(0, len(in_flight) - 1))]
            in_flight.remove((msg, src, node))
            events: list[dict[str, Any]] = [{"kind": "deliver", "node": node, "msg": msg, "from": src}]
        else:
            node = draw(st.sampled_from(NODES))
            events = [{"kind": "local_step", "node": node, "model_round": 0}]
        for to in draw(st.lists(st.sampled_from(NODES), max_size=2)):
            counter += 1
            events.append({"kind": "send", "node": node, "to": to, "msg": counter})
            in_flight.append((counter, node, to))
        steps[node].append(Step(node, t + skew[node], events))
        real += events
    return steps, real


@settings(max_examples=50)
@given(executions())
def test_linearisation_respects_happens_before_and_keeps_every_event(
    execution: tuple[dict[str, list[Step]], list[dict[str, Any]]],
) -> None:
    steps, real = execution
    out = linearise(steps, set(), set())
    assert sorted(map(json.dumps, out)) == sorted(map(json.dumps, real))  # nothing lost or added
    sent: set[int] = set()
    for ev in out:
        if ev["kind"] == "deliver":
            assert ev["msg"] in sent  # every deliver after its send
        elif ev["kind"] == "send":
            sent.add(ev["msg"])
    for node in NODES:  # each node's own order is kept, steps whole
        mine = [ev for ev in out if ev["node"] == node]
        assert mine == [ev for s in steps[node] for ev in s.events]
    ids = [ev["msg"] for ev in renumber(out) if ev["kind"] == "send"]
    assert ids == list(range(1, len(ids) + 1))


def test_a_deliver_whose_send_no_trace_has_is_an_error() -> None:
    steps = {"A0": [Step("A0", 0.0, [{"kind": "deliver", "node": "A0", "msg": 9, "from": "A1"}])], "A1": []}
    with pytest.raises(MergeError, match="delivered message 0x9"):
        linearise(steps, set(), set())


def test_killed_nodes_keep_wire_events_or_get_a_crash(tmp_path: Path) -> None:
    steps = {
        "A1": [
            Step(
                "A1",
                0.0,
                [
                    {"kind": "deliver", "node": "A1", "msg": 1, "from": "C0"},
                    {"kind": "endorse", "node": "A1"},
                    {"kind": "send", "node": "A1", "to": "C0", "msg": 2},
                ],
            )
        ],
        "C0": [
            Step(
                "C0",
                1.0,
                [
                    {"kind": "local_step", "node": "C0", "model_round": 0},
                    {"kind": "send", "node": "C0", "to": "A1", "msg": 1},
                ],
            )
        ],
    }
    out = linearise(steps, {"A1"}, {"C0"})
    assert [ev["kind"] for ev in out] == ["local_step", "send", "crash", "deliver", "send"]


def test_a_line_cut_short_by_a_kill_is_ignored_but_not_a_corrupt_one(tmp_path: Path) -> None:
    good = json.dumps({"t": 1.0, "events": [{"kind": "local_step", "node": "C0", "model_round": 0}]})
    path = tmp_path / "C0.jsonl"
    path.write_text("{}\n" + good + "\n" + good[:20])
    steps, ended = read_steps(path, "C0")
    assert len(steps) == 1 and not ended
    path.write_text("{}\n" + good[:20] + "\n" + good + "\n")
    with pytest.raises(MergeError, match=":2: not a step"):
        read_steps(path, "C0")
