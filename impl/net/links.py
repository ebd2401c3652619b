"""Reliable links over TCP (§1, D-16: a message between correct nodes is delivered exactly once).

An :class:`OutLink` carries one node's messages to one peer: every DATA frame stays in
its queue until the peer acknowledges it, so a dropped connection loses nothing; the link
reconnects with exponential backoff and retransmits what is unacknowledged, in order.
Receivers de-duplicate (see ``host``). Fault injection (seeded): an extra delay per frame,
drawn from an exponential distribution, reorders frames; a partition closes the connection
and holds frames until it heals.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from asfl.impl.net import frames

BACKOFF_START, BACKOFF_MAX = 0.05, 2.0
CONNECT_TIMEOUT = 5.0


@dataclass
class Partition:
    """While ``active``, links between ``side`` and the other nodes are down; the runtime
    switches it on and off (``asfl deploy`` signals the node processes), so it heals."""

    side: frozenset[str]
    active: bool = False

    def cuts(self, src: str, dst: str) -> bool:
        return self.active and ((src in self.side) != (dst in self.side))


@dataclass(frozen=True)
class LinkFaults:
    """Seeded link faults: mean extra delay per frame (seconds) and an optional partition."""

    delay: float = 0.0
    seed: int = 0
    split: Partition | None = None


@dataclass
class OutLink:
    """The queue and connection from ``src`` to ``dst`` at ``host:port``."""

    src: str
    dst: str
    host: str
    port: int
    faults: LinkFaults
    rng: np.random.Generator
    sign: Callable[[bytes], bytes]  # the sender's Ed25519 key, for the HELLO
    on_acked: Callable[[int], None]
    log: Callable[[str], None]
    unacked: dict[int, tuple[float, bytes]] = field(default_factory=dict)  # msg -> (due, payload)
    _due: list[tuple[float, int]] = field(default_factory=list)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _failures: int = 0
    _reported: bool = False
    _closed: bool = False
    cut: int = 0  # connections closed by the partition

    def enqueue(self, msg: int, payload: bytes) -> None:
        due = time.monotonic() + (self.rng.exponential(self.faults.delay) if self.faults.delay > 0 else 0.0)
        self.unacked[msg] = (due, payload)
        heapq.heappush(self._due, (due, msg))
        self._wake.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def close(self) -> asyncio.Task[None] | None:
        """Stop the link; returns its task to await."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
        return self._task

    def _cut(self) -> bool:
        split = self.faults.split
        return split is not None and split.cuts(self.src, self.dst)

    async def _run(self) -> None:
        backoff = BACKOFF_START
        while not self._closed:  # a flag as well as cancel(): a failed connect can absorb a cancel
            if self._cut():
                await asyncio.sleep(0.05)
                continue
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT):
                    reader, writer = await asyncio.open_connection(self.host, self.port)
            except (TimeoutError, OSError) as exc:
                self._failures += 1
                if self._failures == 20 and not self._reported:
                    self._reported = True
                    self.log(
                        f"{self.src}: cannot reach {self.dst} at {self.host}:{self.port} "
                        f"({type(exc).__name__}: {exc}); still retrying"
                    )
                await asyncio.sleep(backoff * (1 + self.rng.random()))
                backoff = min(backoff * 2, BACKOFF_MAX)
                continue
            backoff, self._failures = BACKOFF_START, 0
            await self._serve(reader, writer)
            await asyncio.sleep(BACKOFF_START)  # the connection dropped: reconnect shortly

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer the receiver's challenge with a signed HELLO, then send every unacknowledged
        frame in due order, until the connection drops."""
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                first = await frames.read_frame(reader)
            if first.type != frames.CHALLENGE:
                raise frames.FrameError(f"expected a challenge, got frame type {first.type}")
        except (frames.FrameError, asyncio.IncompleteReadError, OSError, TimeoutError) as exc:
            writer.close()
            if isinstance(exc, frames.FrameError):
                self.log(f"{self.src}: bad handshake from {self.dst} ({exc}); reconnecting")
            return
        self._due = sorted((due, msg) for msg, (due, _) in self.unacked.items())
        acks = asyncio.get_running_loop().create_task(self._read_acks(reader))
        try:
            writer.write(
                frames.hello(
                    self.src, self.dst, self.sign(frames.hello_digest(self.src, self.dst, first.payload))
                )
            )
            while not acks.done():
                now = time.monotonic()
                while self._due and self._due[0][0] <= now and not writer.is_closing():
                    _, msg = heapq.heappop(self._due)
                    if msg in self.unacked:
                        writer.write(frames.data(msg, self.unacked[msg][1]))
                await writer.drain()
                if self._cut():
                    self.cut += 1
                    break
                self._wake.clear()
                timeout = 0.5 if not self._due else max(0.0, min(0.5, self._due[0][0] - now))
                waiter = asyncio.ensure_future(self._wake.wait())
                await asyncio.wait({waiter, acks}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
        except (OSError, ConnectionError):
            pass
        finally:
            acks.cancel()
            writer.close()

    async def _read_acks(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                frame = await frames.read_frame(reader)
                if frame.type != frames.ACK:
                    raise frames.FrameError(f"frame type {frame.type} on an outgoing link")
                got = self.unacked.pop(frame.msg, None)
                if got is not None:
                    self.on_acked(len(got[1]))
        except frames.FrameError as exc:
            self.log(f"{self.src}: bad frame from {self.dst} ({exc}); reconnecting")
        except (asyncio.IncompleteReadError, OSError, ConnectionError):
            pass
