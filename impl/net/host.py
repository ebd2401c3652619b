"""One OS process hosting one or more sans-I/O nodes on TCP (the networked runtime, D-16).

For each hosted node the host listens on its roster address, feeds every delivered
envelope to the node (``handle``), runs the local steps a client requests, fires the fetch
timers it arms (D-22: an asyncio timer of ``fetch_timeout`` seconds, cancelled when the
client cancels it), and writes the
node's own trace (spec §9, per-node traces): one JSON line per step, written and flushed
*before* the step's frames are handed to the links, so a killed process never leaves a
delivered message without its ``send``. Receivers de-duplicate retransmissions by message
id and envelope digest and acknowledge a frame only once its step is traced. The host
never raises on what a peer sends: bad frames close that connection, bad envelopes are
dropped by the node (R-3).

Status goes to ``status`` (a callback, JSON lines on stdout for ``asfl node``): rounds,
done, per-peer send and delivery counters (for quiescence detection, R-16), diagnoses.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import resource
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np

from asfl.impl import crypto
from asfl.impl.net import frames
from asfl.impl.net.keys import Roster
from asfl.impl.net.links import LinkFaults, OutLink
from asfl.impl.node import CancelTimer, Event, Output, RequestLocalStep, Send, Timer

NODE_TRACE_SCHEMA = "asfl-node-trace/1"
QUEUE_BYTES = 256 * 1024 * 1024  # unacknowledged bytes per process before inputs pause
STATUS_PERIOD = 0.2
HELLO_TIMEOUT = 10.0  # a connection that does not authenticate in time is closed
FETCH_TIMEOUT = 2.0  # seconds before a client's D-22 timer fires (asfl node --fetch-timeout)


class NetNode(Protocol):
    @property
    def done(self) -> bool: ...

    @property
    def rounds_done(self) -> int: ...

    def handle(self, data: bytes, msg: int) -> list[Output]: ...


@dataclass(frozen=True)
class KillPoint:
    """SIGKILL this process at the ``step``-th traced step the node takes while in ``round``."""

    round: int
    step: int


@dataclass
class Hosted:
    """A node of this process and what its runtime counts."""

    name: str
    node: NetNode
    keys: crypto.NodeKeys
    honest: bool
    trace: IO[str]
    crash_after: int | None = None  # local steps before a (clean) crash, clients of --crashed
    kill: KillPoint | None = None
    crashed: bool = False
    stepping: bool = False
    # D-22 timers armed, not fired and not cancelled, by round: while any is, the node is busy
    timers: dict[int, asyncio.TimerHandle] = field(default_factory=dict)
    local_steps: int = 0
    steps: int = 0
    steps_in_round: dict[int, int] = field(default_factory=dict)
    counter: int = 0
    sent: dict[str, int] = field(default_factory=dict)
    delivered: dict[str, int] = field(default_factory=dict)
    seen: dict[tuple[str, int], bytes] = field(default_factory=dict)


def node_uid(name: str, n_aggregators: int) -> int:
    """A node's number: ``A<j>`` is ``j``, ``C<i>`` is ``n_a + i``; message ids are
    ``(uid + 1) << 32 | k`` for the node's ``k``-th send, unique without coordination."""
    return int(name[1:]) + (n_aggregators if name[0] == "C" else 0)


class Host:
    """Runs the nodes of one process until stopped (SIGTERM) or, with ``linger``, until
    every node is done and every link drained for ``linger`` seconds."""

    def __init__(
        self,
        roster: Roster,
        nodes: dict[str, Hosted],
        faults: LinkFaults,
        status: Callable[[dict[str, Any]], None],
        log: Callable[[str], None],
        final: Callable[[], dict[str, Any]],
        listen: dict[str, socket.socket] | None = None,
        linger: float | None = None,
        max_seconds: float | None = None,
        fetch_timeout: float = FETCH_TIMEOUT,
    ) -> None:
        self.roster, self.nodes, self.faults = roster, nodes, faults
        self.status, self.log, self.final = status, log, final
        self.listen = listen or {}
        self.linger, self.max_seconds = linger, max_seconds
        self.fetch_timeout = fetch_timeout
        self.n_a = len(roster.aggregators)
        self.links: dict[tuple[str, str], OutLink] = {}
        self.pending = 0
        self.room = asyncio.Event()
        self.room.set()
        self.stop = asyncio.Event()
        self.kinds: dict[str, list[int]] = {}  # message kind -> [count, bytes]
        self.timed_out = False
        self.inbound: set[asyncio.Task[Any]] = set()

    # -- the steps of a node -----------------------------------------------------------

    def _step(self, h: Hosted, trigger: list[dict[str, Any]], outputs: list[Output], msg: int | None) -> None:
        """Trace the step (trigger, protocol events, sends), then hand the sends to the links."""
        events = list(trigger)
        local = False
        timers: list[Timer | CancelTimer] = []
        for out in outputs:
            if isinstance(out, Timer | CancelTimer):
                timers.append(out)
            elif isinstance(out, Event) and h.honest:
                fields = (
                    out.fields if out.kind != "drop" or "msg" in out.fields else {"msg": msg, **out.fields}
                )
                events.append({"kind": out.kind, "node": h.name, **fields})
            elif isinstance(out, RequestLocalStep):
                local = True
        sends: list[tuple[Send, int]] = []
        for out in outputs:
            if isinstance(out, Send):
                h.counter += 1
                mid = (node_uid(h.name, self.n_a) + 1) << 32 | h.counter
                sends.append((out, mid))
                events.append(
                    {
                        "kind": "send",
                        "node": h.name,
                        "to": out.to,
                        "msg": mid,
                        "type": out.kind,
                        "size": len(out.data),
                        "digest": out.digest.hex(),
                        "sig": out.sig.hex(),
                        "round": out.round,
                        "cluster": out.cluster,
                    }
                )
        h.trace.write(json.dumps({"t": time.time(), "events": events}, separators=(",", ":")) + "\n")
        h.trace.flush()
        h.steps += 1
        r = h.node.rounds_done
        h.steps_in_round[r] = h.steps_in_round.get(r, 0) + 1
        if h.kill is not None and h.kill.round == r and h.kill.step == h.steps_in_round[r]:
            os.kill(os.getpid(), signal.SIGKILL)  # fault injection: a crash at a protocol point
        for out, mid in sends:
            h.sent[out.to] = h.sent.get(out.to, 0) + 1
            stat = self.kinds.setdefault(out.kind, [0, 0])
            stat[0] += 1
            stat[1] += len(out.data)
            if out.to in self.roster.peers:
                self._link(h.name, out.to).enqueue(mid, out.data)
                self.pending += len(out.data)
        if self.pending > QUEUE_BYTES:
            self.room.clear()
        if local and not h.stepping:
            h.stepping = True
            asyncio.get_running_loop().call_soon(self._local_step, h)
        for t in timers:  # in the order the node output them
            if isinstance(t, Timer):
                h.timers[t.round] = asyncio.get_running_loop().call_later(
                    self.fetch_timeout, self._fire, h, t.round
                )
            elif (handle := h.timers.pop(t.round, None)) is not None:
                handle.cancel()  # D-22: cancelled, it never fires

    def _fire(self, h: Hosted, round: int) -> None:
        """D-22: a client's timer fired; the step is traced like any other (its trigger is
        the client's ``fetch`` event), and nothing is traced if it fetches nothing."""
        h.timers.pop(round, None)
        if h.crashed:
            return
        outputs = h.node.fire_timer(round)  # type: ignore[attr-defined]
        if outputs:
            self._step(h, [], outputs, None)

    def _local_step(self, h: Hosted) -> None:
        h.stepping = False
        if h.crashed:
            return
        if h.crash_after is not None and h.local_steps == h.crash_after:
            h.crashed = True
            self._step(h, [{"kind": "crash", "node": h.name}], [], None)
            return
        h.local_steps += 1
        self._step(h, [], h.node.local_step(), None)  # type: ignore[attr-defined]

    def _deliver(self, h: Hosted, src: str, msg: int, payload: bytes) -> bool:
        """Deliver one DATA frame at most once; ``False`` if it conflicts with an earlier one."""
        digest = hashlib.sha256(payload).digest()
        seen = h.seen.get((src, msg))
        if seen is not None:
            return seen == digest
        h.seen[(src, msg)] = digest
        h.delivered[src] = h.delivered.get(src, 0) + 1
        trigger = [{"kind": "deliver", "node": h.name, "msg": msg, "from": src}]
        self._step(h, trigger, h.node.handle(payload, msg), msg)
        return True

    def _acked(self, size: int) -> None:
        self.pending -= size
        if self.pending <= QUEUE_BYTES:
            self.room.set()

    def _link(self, src: str, dst: str) -> OutLink:
        link = self.links.get((src, dst))
        if link is None:
            peer = self.roster.peers[dst]
            rng = np.random.default_rng([self.faults.seed, node_uid(src, self.n_a), node_uid(dst, self.n_a)])
            keys = self.nodes[src].keys
            link = OutLink(src, dst, peer.host, peer.port, self.faults, rng, keys.sign, self._acked, self.log)
            self.links[(src, dst)] = link
        return link

    # -- inbound connections -------------------------------------------------------------

    async def _serve(self, h: Hosted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One inbound connection: HELLO naming a roster node, then DATA frames, each acked."""
        peer = "?"
        try:
            nonce = os.urandom(frames.NONCE)
            writer.write(frames.challenge(nonce))
            async with asyncio.timeout(HELLO_TIMEOUT):
                first = await frames.read_frame(reader)
            if first.type != frames.HELLO:
                raise frames.FrameError("first frame is not a hello")
            claimed, receiver, sig = frames.hello_fields(first)
            if claimed not in self.roster.peers or receiver != h.name:
                raise frames.FrameError(f"hello from {claimed!r} to {receiver!r}")
            if not crypto.verify(
                self.roster.peers[claimed].sign, frames.hello_digest(claimed, receiver, nonce), sig
            ):
                raise frames.FrameError(f"hello claiming to be {claimed} is not signed by {claimed}")
            peer = claimed
            while not h.crashed:
                await self.room.wait()
                frame = await frames.read_frame(reader)
                if frame.type != frames.DATA:
                    raise frames.FrameError(f"frame type {frame.type} on an incoming link")
                if h.crashed:
                    break  # a crashed client receives nothing more (T-FLOW)
                if not self._deliver(h, peer, frame.msg, frame.payload):
                    raise frames.FrameError(f"message {frame.msg} retransmitted with different bytes")
                if writer.is_closing():
                    break  # the peer went away; it will retransmit, and we de-duplicate
                writer.write(frames.ack(frame.msg))
                await writer.drain()
        except frames.FrameError as exc:
            self.log(f"{h.name}: closed connection from {peer}: {exc}")
        except (asyncio.IncompleteReadError, OSError, ConnectionError, asyncio.CancelledError):
            pass  # the peer went away, stayed silent (timeout), or this host is shutting down
        finally:
            writer.close()

    # -- the process ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        nodes = {}
        for name, h in self.nodes.items():
            diagnose = getattr(h.node, "diagnose", None)
            nodes[name] = {
                "rounds": h.node.rounds_done,
                "done": h.node.done,
                "crashed": h.crashed,
                "busy": h.stepping or bool(h.timers),
                "sent": h.sent,
                "delivered": h.delivered,
                "steps": h.steps,
                "diag": diagnose() if h.honest and diagnose is not None and not h.node.done else None,
            }
        usage = resource.getrusage(resource.RUSAGE_SELF)
        unacked = sum(len(link.unacked) for link in self.links.values())
        return {
            "kind": "status",
            "nodes": nodes,
            "unacked": unacked,
            "cut": sum(link.cut for link in self.links.values()),
            "cpu": usage.ru_utime + usage.ru_stime,
            "kinds": self.kinds,
        }

    def _drained(self) -> bool:
        return all(h.node.done or h.crashed for h in self.nodes.values()) and not any(
            link.unacked for link in self.links.values()
        )

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        split = self.faults.split
        if split is not None:  # fault injection: SIGUSR1 cuts the partition, SIGUSR2 heals it
            loop.add_signal_handler(signal.SIGUSR1, lambda: setattr(split, "active", True))
            loop.add_signal_handler(signal.SIGUSR2, lambda: setattr(split, "active", False))
        servers = []
        for name, h in self.nodes.items():

            async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, h: Hosted = h) -> None:
                task = asyncio.current_task()
                assert task is not None
                self.inbound.add(task)
                try:
                    await self._serve(h, r, w)
                finally:
                    self.inbound.discard(task)

            sock = self.listen.get(name)
            if sock is not None:
                servers.append(await asyncio.start_server(handler, sock=sock))
            else:
                peer = self.roster.peers[name]
                servers.append(await asyncio.start_server(handler, peer.host, peer.port))
        for h in self.nodes.values():
            start = getattr(h.node, "start", None)
            if start is not None:
                for out in start():
                    if isinstance(out, RequestLocalStep) and not h.stepping:
                        h.stepping = True
                        loop.call_soon(self._local_step, h)
        began, drained_since = time.monotonic(), None
        last = None
        while not self.stop.is_set():
            snap = self.snapshot()
            if {**snap, "cpu": None} != last:
                self.status(snap)
                last = {**snap, "cpu": None}
            now = time.monotonic()
            if self.linger is not None:
                drained_since = (drained_since or now) if self._drained() else None
                if drained_since is not None and now - drained_since >= self.linger:
                    break
            if self.max_seconds is not None and now - began > self.max_seconds:
                stuck = [
                    s["diag"] or f"{n} at round {s['rounds']}"
                    for n, s in snap["nodes"].items()
                    if not s["done"] and not s["crashed"]
                ]
                self.log(
                    f"watchdog after {self.max_seconds:.0f} s: {' | '.join(stuck) or 'links not drained'}"
                )
                self.timed_out = True
                break
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stop.wait(), STATUS_PERIOD)
        self.status(self.snapshot())
        self.status({"kind": "final", **self.final()})
        for server in servers:
            server.close()
        tasks = [*self.inbound, *(link.close() for link in self.links.values())]
        for task in self.inbound:
            task.cancel()
        pending = [t for t in tasks if t is not None]
        if pending:
            await asyncio.wait(pending, timeout=5.0)
        for h in self.nodes.values():
            h.trace.write(json.dumps({"kind": "node-end", "t": time.time()}) + "\n")
            h.trace.close()


def open_node_trace(path: Path, name: str, header: dict[str, Any]) -> IO[str]:
    """Start ``name``'s own trace: a node header line, then one line per step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    f = path.open("w", encoding="utf-8")
    f.write(json.dumps({"kind": "node-header", "schema": NODE_TRACE_SCHEMA, "node": name, **header}) + "\n")
    f.flush()
    return f
