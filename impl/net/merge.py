"""Merge per-node traces into one trace (D-16).

A deployment is a partial order: each node's trace is a sequence of steps, and a
``deliver`` happens after the ``send`` of the same message (identity: sender and the
sender's message id). The merged trace is a linearisation consistent with that
happens-before relation: steps are taken whole, in each node's order, a step triggered by
a ``deliver`` only once the matching ``send`` is in the output, and among the steps
allowed the earliest by the node's wall clock (ties by node name). Message ids are then
renumbered 1, 2, ... in the order of their sends and ``seq`` numbers assigned.

Faults: an aggregator killed during the run counts as Byzantine (it halted), so, as for
every Byzantine node, only its wire events (``send``, ``deliver``) are kept; a killed
client gets a ``crash`` event right after its last traced step. A final line cut short by
a kill is ignored: its step's frames were never sent (the host traces before it transmits).
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asfl.impl.events import EndEvent
from asfl.impl.trace import TraceWriter

_WIRE = frozenset({"send", "deliver"})


class MergeError(ValueError):
    """A per-node trace is unusable, or the traces admit no consistent linearisation."""


@dataclass(frozen=True)
class Step:
    node: str
    t: float
    events: list[dict[str, Any]]

    @property
    def waits_for(self) -> int | None:
        first = self.events[0] if self.events else None
        return first["msg"] if first is not None and first["kind"] == "deliver" else None


def read_steps(path: Path, name: str) -> tuple[list[Step], bool]:
    """The steps of one node's trace, and whether it ended cleanly (a ``node-end`` line);
    a cut-off last line is dropped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise MergeError(f"{name}: cannot read its trace {path}: {exc.strerror or exc}") from None
    steps, ended = [], False
    for n, raw in enumerate(lines[1:], start=2):
        try:
            rec = json.loads(raw)
            if rec.get("kind") == "node-end":
                ended = True
                continue
            steps.append(Step(name, float(rec["t"]), list(rec["events"])))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            if n == len(lines):
                break  # the process was killed while writing this line
            raise MergeError(f"{path}:{n}: not a step of an asfl node trace") from None
    return steps, ended


def linearise(
    steps: dict[str, list[Step]], byzantine: set[str], killed_clients: set[str]
) -> list[dict[str, Any]]:
    """One event list consistent with happens-before (see the module docstring)."""
    heads = dict.fromkeys(steps, 0)
    sent: set[int] = set()
    waiting: dict[int, str] = {}
    ready: list[tuple[float, str]] = []
    out: list[dict[str, Any]] = []

    def offer(node: str) -> None:
        i = heads[node]
        if i == len(steps[node]):
            if node in killed_clients:
                out.append({"kind": "crash", "node": node})
            return
        step = steps[node][i]
        mid = step.waits_for
        if mid is None or mid in sent:
            heapq.heappush(ready, (step.t, node))
        else:
            waiting[mid] = node

    for node in sorted(steps):
        offer(node)
    while ready:
        _, node = heapq.heappop(ready)
        step = steps[node][heads[node]]
        heads[node] += 1
        for ev in step.events:
            if node in byzantine and ev["kind"] not in _WIRE:
                continue
            out.append(ev)
            if ev["kind"] == "send":
                sent.add(ev["msg"])
                if ev["msg"] in waiting:
                    offer(waiting.pop(ev["msg"]))
        offer(node)
    if waiting:
        mid, node = next(iter(waiting.items()))
        raise MergeError(f"{node} delivered message {mid:#x}, which no node trace sends")
    return out


def renumber(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Message ids 1, 2, ... in send order."""
    ids: dict[int, int] = {}
    out = []
    for ev in events:
        if ev["kind"] == "send":
            ids[ev["msg"]] = len(ids) + 1
        if "msg" in ev:
            ev = {**ev, "msg": ids.get(ev["msg"], ev["msg"])}
        out.append(ev)
    return out


def rounds_done(events: list[dict[str, Any]], honest: list[str]) -> dict[str, int]:
    """Models produced (aggregators) and accepted (clients), from the events (T-END)."""
    done = dict.fromkeys(honest, 0)
    for ev in events:
        if ev["kind"] in ("aggregate", "accept") and ev["node"] in done:
            done[ev["node"]] += 1
    return done


@dataclass(frozen=True)
class Merged:
    """What a merge found: nodes whose trace has no ``node-end`` (killed), and ``rounds_done``."""

    died: set[str]
    byzantine: list[int]
    rounds_done: dict[str, int]
    status: str
    behaviour: str  # the header's: the configured behaviour and the killed aggregators


def merge(
    header: dict[str, Any],
    traces: dict[str, Path],
    byzantine: set[int],
    status: str | None,
    detail: str,
    out: Path,
) -> Merged:
    """Write the merged trace to ``out``. ``header`` lacks ``byzantine``: the configured
    Byzantine aggregators plus every aggregator whose trace has no ``node-end``. With
    ``status=None`` the run is ``complete`` if every honest node that neither died nor
    crashed finished every round, else ``stalled``."""
    read = {name: read_steps(path, name) for name, path in traces.items()}
    steps = {name: got[0] for name, got in read.items()}
    died = {name for name, got in read.items() if not got[1]}
    byz = sorted(byzantine | {int(n[1:]) for n in died if n[0] == "A"})
    byz_names = {f"A{j}" for j in byz}
    killed_clients = {n for n in died if n[0] == "C"}
    events = renumber(linearise(steps, byz_names, killed_clients))
    done = rounds_done(events, [n for n in traces if n not in byz_names])
    crashed = {ev["node"] for ev in events if ev["kind"] == "crash"}
    behind = sorted(n for n, r in done.items() if r < header["config"]["rounds"] and n not in crashed)
    if status is None:
        status = "stalled" if behind else "complete"
        detail += f"; behind: {', '.join(behind)}" if behind else ""
    writer = TraceWriter(out)
    behaviour = header["behaviour"]
    if any(n[0] == "A" for n in died):
        behaviour += "; killed: " + ", ".join(sorted(n for n in died if n[0] == "A"))
    writer.header({**header, "byzantine": byz, "behaviour": behaviour})
    for ev in events:
        fields = {k: v for k, v in ev.items() if k not in ("kind", "node")}
        writer.relay(ev["kind"], ev["node"], fields)
    writer.write(None, EndEvent(status, done, detail))
    writer.close()
    return Merged(died, byz, done, status, behaviour)
