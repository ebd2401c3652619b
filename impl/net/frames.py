"""Length-prefixed frames on a TCP stream (D-16).

A frame is ``length (4 bytes, big-endian) || type (1 byte) || body``; ``length`` counts
the type byte and the body and is at most :data:`MAX_FRAME`. Types:

- ``HELLO``: ``sender name || 0x00 || receiver name`` (UTF-8), first on every connection;
- ``DATA``: ``message id (8 bytes, big-endian) || envelope bytes`` (R-3 envelopes, as-is);
- ``ACK``: ``message id`` of a DATA frame the receiver has delivered and traced.

Decoding is total: bad input raises :class:`FrameError`, which closes that connection only.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

MAX_FRAME = 32 * 1024 * 1024
HELLO, DATA, ACK = 1, 2, 3
_ID = 8


class FrameError(ValueError):
    """A peer sent bytes that are not a valid frame."""


@dataclass(frozen=True)
class Frame:
    type: int
    msg: int = 0
    payload: bytes = b""


def hello(sender: str, receiver: str) -> bytes:
    return _wrap(HELLO, sender.encode() + b"\0" + receiver.encode())


def data(msg: int, payload: bytes) -> bytes:
    return _wrap(DATA, msg.to_bytes(_ID, "big") + payload)


def ack(msg: int) -> bytes:
    return _wrap(ACK, msg.to_bytes(_ID, "big"))


def _wrap(kind: int, body: bytes) -> bytes:
    if len(body) + 1 > MAX_FRAME:
        raise FrameError(f"frame of {len(body) + 1} bytes exceeds the {MAX_FRAME}-byte limit")
    return (len(body) + 1).to_bytes(4, "big") + bytes([kind]) + body


def parse(raw: bytes) -> Frame:
    """Decode a frame's type and body (without the length prefix)."""
    if not raw:
        raise FrameError("empty frame")
    kind, body = raw[0], raw[1:]
    if kind == HELLO:
        if body.count(b"\0") != 1:
            raise FrameError("hello frame without exactly one separator")
        return Frame(HELLO, payload=body)
    if kind in (DATA, ACK):
        if len(body) < _ID or (kind == ACK and len(body) != _ID):
            raise FrameError(f"{'data' if kind == DATA else 'ack'} frame of {len(body)} bytes")
        return Frame(kind, int.from_bytes(body[:_ID], "big"), body[_ID:])
    raise FrameError(f"unknown frame type {kind}")


def hello_names(frame: Frame) -> tuple[str, str]:
    """``(sender, receiver)`` of a HELLO frame."""
    try:
        sender, receiver = frame.payload.decode().split("\0")
    except UnicodeDecodeError:
        raise FrameError("hello frame is not UTF-8") from None
    return sender, receiver


async def read_frame(reader: asyncio.StreamReader) -> Frame:
    """Read one frame; :class:`FrameError` on an oversized or malformed one,
    ``asyncio.IncompleteReadError`` when the stream ends."""
    length = int.from_bytes(await reader.readexactly(4), "big")
    if not 1 <= length <= MAX_FRAME:
        raise FrameError(f"frame length {length} outside [1, {MAX_FRAME}]")
    return parse(await reader.readexactly(length))
