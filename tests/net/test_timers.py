"""D-22 timers in the networked runtime: an armed timer keeps its client busy (not
quiescent, R-16) until it fires; a cancelled one never fires and keeps nothing busy."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from asfl.impl import crypto
from asfl.impl.net.host import Host, Hosted
from asfl.impl.net.keys import Roster
from asfl.impl.net.links import LinkFaults
from asfl.impl.node import CancelTimer, Output, Timer

TIMEOUT = 0.05  # seconds: the host's fetch timeout in this test


class TimerClient:
    """A client that records which of its timers fire (and outputs nothing)."""

    done = False
    rounds_done = 0

    def __init__(self) -> None:
        self.fired: list[int] = []

    def handle(self, data: bytes, msg: int) -> list[Output]:
        return []

    def fire_timer(self, round: int) -> list[Output]:
        self.fired.append(round)
        return []


def test_cancelled_timers_never_fire_and_leave_the_node_quiescent() -> None:
    client = TimerClient()
    trace = io.StringIO()
    h = Hosted("C0", client, crypto.NodeKeys.from_seed(bytes(32)), True, trace)
    quiet = lambda _: None  # noqa: E731 - status and log callbacks
    host = Host(Roster({}, {}), {"C0": h}, LinkFaults(), quiet, quiet, dict, fetch_timeout=TIMEOUT)

    def busy() -> Any:
        return host.snapshot()["nodes"]["C0"]["busy"]

    async def scenario() -> list[tuple[str, Any]]:
        seen: list[tuple[str, Any]] = []
        host._step(h, [], [Timer(1), Timer(2)], None)
        seen.append(("armed", busy()))
        host._step(h, [], [CancelTimer(1)], None)
        seen.append(("one cancelled", busy()))
        host._step(h, [], [CancelTimer(2), CancelTimer(7)], None)  # 7 was never armed: ignored
        seen.append(("all cancelled", busy()))
        await asyncio.sleep(4 * TIMEOUT)
        seen.append(("fired after cancel", list(client.fired)))
        host._step(h, [], [Timer(3), CancelTimer(3), Timer(4)], None)  # in output order
        seen.append(("re-armed", busy()))
        await asyncio.sleep(4 * TIMEOUT)
        seen.append(("fired", list(client.fired)))
        seen.append(("after firing", busy()))
        return seen

    assert asyncio.run(scenario()) == [
        ("armed", True),
        ("one cancelled", True),
        ("all cancelled", False),
        ("fired after cancel", []),
        ("re-armed", True),
        ("fired", [4]),
        ("after firing", False),
    ]
