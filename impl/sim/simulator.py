"""The deterministic simulator: sans-I/O nodes, a scheduler, crashes, timers and a trace.

Each step pops one action from the scheduler, feeds it to its node, and turns
the node's outputs into trace events and new pending actions. Same seed, same
scheduler, same trace, byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import cast

import numpy as np

from asfl.impl.events import CrashEvent, DeliverEvent, DropEvent, Event, SendEvent
from asfl.impl.node import CancelTimer, ClientNode, Node, Output, RequestLocalStep, Send
from asfl.impl.node import Timer as ArmTimer
from asfl.impl.sim.schedulers import Delivery, LocalStep, Scheduler, Timer
from asfl.impl.trace import TraceWriter


@dataclass
class ClientBytes:
    """Bytes delivered to each live client for each round (issue 11; D-18, D-22), stored as
    one row per round over the clients' indices: 9 bytes per (client, round) instead of a
    dictionary entry (about 120), so the reporting structure stays small in ``R``.
    """

    clients: dict[str, int]
    received: dict[int, np.ndarray] = field(default_factory=dict)  # round -> bytes per client
    seen: dict[int, np.ndarray] = field(default_factory=dict)  # round -> got a delivery at all

    def add(self, client: str, rnd: int | None, n: int) -> None:
        """Count ``n`` bytes delivered to ``client`` for round ``rnd`` (``None``: no round)."""
        if rnd is None:
            return
        row = self.received.get(rnd)
        if row is None:
            row = self.received[rnd] = np.zeros(len(self.clients), dtype=np.int64)
            self.seen[rnd] = np.zeros(len(self.clients), dtype=np.bool_)
        i = self.clients[client]
        row[i] += n
        self.seen[rnd][i] = True

    def per_pair(self, first: int, last: int) -> np.ndarray:
        """The byte counts of every (client, round) pair with a delivery, rounds ``first..last``."""
        rows = [row[self.seen[r]] for r, row in self.received.items() if first <= r <= last]
        return np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)


@dataclass
class Stats:
    client_bytes: ClientBytes
    steps: int = 0
    messages: int = 0
    bytes_by_kind: dict[str, int] = field(default_factory=dict)
    count_by_kind: dict[str, int] = field(default_factory=dict)


class Simulator:
    """Runs nodes under a scheduler until quiescence or a step limit (R-16)."""

    def __init__(
        self,
        nodes: dict[str, Node],
        scheduler: Scheduler,
        trace: TraceWriter,
        crash_after: dict[str, int] | None = None,
        honest: set[str] | None = None,
    ) -> None:
        self.nodes, self.scheduler, self.trace = nodes, scheduler, trace
        self.crash_after = dict(crash_after or {})  # client -> local steps before it crashes
        self.honest = honest if honest is not None else set(nodes)
        self.crashed: set[str] = set()
        self.local_steps: dict[str, int] = {}
        clients = [name for name in nodes if name[0] == "C"]  # client names (node.client_name)
        self.stats = Stats(ClientBytes({name: i for i, name in enumerate(clients)}))
        self._client_classes: dict[type, bool] = {}

    def start(self) -> None:
        for name, node in self.nodes.items():
            if isinstance(node, ClientNode):
                self._emit(name, node.start())

    def step(self) -> bool:
        """Run one action; ``False`` when nothing is pending (quiescence)."""
        if not len(self.scheduler):
            return False
        action = self.scheduler.pop()
        self.stats.steps += 1
        if isinstance(action, Delivery):
            if action.dst in self.crashed:
                return True
            self.trace.write(action.dst, DeliverEvent(action.msg, action.src))
            if action.dst in self.stats.client_bytes.clients:
                self.stats.client_bytes.add(action.dst, action.round, len(action.data))
            self._emit(action.dst, self.nodes[action.dst].handle(action.data, action.msg), action.msg)
        elif isinstance(action, Timer):
            self._fire(action)
        else:
            self._local_step(action)
        return True

    def _fire(self, action: Timer) -> None:
        """D-22: a client's timer fires; the step's trigger is the client's ``fetch`` event
        (a firing that fetches nothing writes nothing)."""
        if action.client in self.crashed:
            return
        self._emit(action.client, self._client(action.client).fire_timer(action.round))

    def _local_step(self, action: LocalStep) -> None:
        name = action.client
        if name in self.crashed:
            return
        done = self.local_steps.get(name, 0)
        if self.crash_after.get(name) == done:
            self.crashed.add(name)
            self.scheduler.drop_timers(name)  # a crashed client's timers never fire
            self.trace.write(name, CrashEvent())
            return
        self.local_steps[name] = done + 1
        self._emit(name, self._client(name).local_step())

    def _client(self, name: str) -> ClientNode:
        """Client ``name``: only clients request local steps (R-4) and arm timers (D-22).
        Checked once per node class (a runtime-checkable protocol's isinstance is slow)."""
        node = self.nodes[name]
        is_client = self._client_classes.get(type(node))
        if is_client is None:
            is_client = self._client_classes[type(node)] = isinstance(node, ClientNode)
        assert is_client, name
        return cast(ClientNode, node)

    def run(self, max_steps: int, on_step: Callable[[Simulator], None] | None = None) -> str:
        """Run to quiescence; returns ``complete``, ``stalled`` or ``step_limit`` (R-16)."""
        self.start()
        while self.stats.steps < max_steps:
            if not self.step():
                break
            if on_step is not None and self.stats.steps % 200 == 0:
                on_step(self)
        if len(self.scheduler):
            return "step_limit"
        return "complete" if self.complete() else "stalled"

    def complete(self) -> bool:
        return all(self.nodes[n].done for n in self.honest if n not in self.crashed)

    def _emit(self, name: str, outputs: list[Output], msg: int | None = None) -> None:
        """Write the node's protocol events, then its sends (spec §9), then schedule; timers
        are armed and cancelled in the order the node output them."""
        write_events = name in self.honest
        for out in outputs:
            if isinstance(out, Event) and write_events:
                if isinstance(out, DropEvent) and out.msg is None:
                    out = replace(out, msg=msg)
                self.trace.write(name, out)
            elif isinstance(out, RequestLocalStep):
                self.scheduler.push(LocalStep(name))
            elif isinstance(out, ArmTimer):
                self.scheduler.push(Timer(name, out.round))
            elif isinstance(out, CancelTimer):  # D-22: it would fire for nothing
                self.scheduler.cancel_timer(name, out.round)
        for out in outputs:
            if isinstance(out, Send):
                self._send(name, out)

    def _send(self, name: str, out: Send) -> None:
        self.stats.messages += 1
        msg = self.stats.messages
        kind = out.kind
        self.stats.bytes_by_kind[kind] = self.stats.bytes_by_kind.get(kind, 0) + len(out.data)
        self.stats.count_by_kind[kind] = self.stats.count_by_kind.get(kind, 0) + 1
        self.trace.write(
            name,
            SendEvent(
                out.to, msg, kind, len(out.data), out.digest.hex(), out.sig.hex(), out.round, out.cluster
            ),
        )
        if out.to in self.crashed:
            return
        self.scheduler.push(Delivery(msg, name, out.to, out.data, kind, out.round))
