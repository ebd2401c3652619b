"""An honest node never crashes on what a peer sends: bad frames close one connection,
bad envelopes are dropped by the node (R-3, I-4), retransmissions are delivered once."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from asfl import cli_run
from asfl.cli_keygen import roster_flags
from asfl.impl.net import frames
from asfl.impl.net import host as host_module
from asfl.impl.net.compose import hosted, scenario
from asfl.impl.net.host import Host
from asfl.impl.net.keys import keygen, load_private, node_names
from asfl.impl.net.links import LinkFaults

OPTS = dict(clients=8, aggregators=4, t_c=0, rounds=1, byzantine=0, crashed=0)


async def _exchange(port: int, raw: Callable[[bytes], bytes]) -> bytes:
    """Connect, read the challenge, send ``raw(nonce)`` and read what comes back until the
    host closes (then ``b"closed"`` is appended) or 2 s pass."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    nonce = (await frames.read_frame(reader)).payload
    writer.write(raw(nonce))
    await writer.drain()
    got = b""
    try:
        async with asyncio.timeout(2.0):
            while chunk := await reader.read(65536):
                got += chunk
            got += b"closed"
    except TimeoutError:
        pass
    writer.close()
    return got


def test_bad_frames_and_junk_envelopes_never_crash_an_honest_aggregator(
    tmp_path: Path, flags: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(host_module, "HELLO_TIMEOUT", 0.5)
    opts = flags(**OPTS, trace_path=None)
    sc = scenario(cli_run.run_config(opts))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = sock.getsockname()[1]
    addrs = {n: ("127.0.0.1", port if n == "A0" else 1) for n in node_names(4, 8)}
    roster = keygen(tmp_path / "keys", roster_flags(opts), addrs)
    node = hosted(sc, roster, "A0", load_private(tmp_path / "keys", "A0", roster), tmp_path / "t", None)
    logs: list[str] = []
    host = Host(roster, {"A0": node}, LinkFaults(), lambda _: None, logs.append, dict, listen={"A0": sock})
    c1 = load_private(tmp_path / "keys", "C1", roster)
    c2 = load_private(tmp_path / "keys", "C2", roster)

    def hello(nonce: bytes, signer: Any = c1) -> bytes:
        return frames.hello("C1", "A0", signer.sign(frames.hello_digest("C1", "A0", nonce)))

    async def scenario_() -> list[bytes]:
        task = asyncio.get_running_loop().create_task(host.run())
        await asyncio.sleep(0.2)
        replies = [
            await _exchange(
                port, lambda n: (frames.MAX_FRAME + 1).to_bytes(4, "big") + b"x" * 64
            ),  # oversized
            await _exchange(port, lambda n: b"\x00\x00\x00\x02\x09z"),  # unknown frame type
            await _exchange(port, lambda n: frames.hello("Z9", "A0", bytes(64))),  # not a roster node
            await _exchange(port, lambda n: hello(n, c2) + frames.data(7, b"junk")),  # C2 posing as C1
            await _exchange(port, lambda n: hello(bytes(32)) + frames.data(7, b"junk")),  # replayed hello
            await _exchange(
                port, lambda n: hello(n) + frames.data(7, b"junk")
            ),  # junk envelope: dropped, acked
            await _exchange(port, lambda n: hello(n) + frames.data(7, b"junk") + frames.data(7, b"other")),
            await _exchange(port, lambda n: hello(n) + frames.ack(3)),  # an ack on an incoming link
            await _exchange(port, lambda n: b""),  # a silent peer: disconnected after HELLO_TIMEOUT
        ]
        host.stop.set()
        await task
        return replies

    replies = asyncio.run(scenario_())
    assert replies[:5] == [b"closed"] * 5
    assert replies[5] == frames.ack(7)  # stays open: the peer may send more
    assert replies[6] == frames.ack(7) + b"closed"  # the retransmission is acked, the conflict closes
    assert replies[7:] == [b"closed", b"closed"]
    assert any("exceeds" in m or "outside" in m for m in logs) and any("Z9" in m for m in logs)
    assert sum("not signed by C1" in m for m in logs) == 2  # wrong key, and a stale challenge
    assert any("different bytes" in m for m in logs)
    steps = [json.loads(line) for line in (tmp_path / "t" / "A0.jsonl").read_text().splitlines()[1:]]
    events = [ev for s in steps if "events" in s for ev in s["events"]]
    delivers = [ev for ev in events if ev["kind"] == "deliver"]
    assert len(delivers) == 1 and delivers[0]["from"] == "C1"  # once, despite the retransmission
    assert [ev["kind"] for ev in events] == ["deliver", "drop"]
    assert steps[-1]["kind"] == "node-end"
