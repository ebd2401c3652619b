"""Length-prefixed frames on a TCP stream (D-16).

A frame is ``length (4 bytes, big-endian) || type (1 byte) || body``; ``length`` counts
the type byte and the body and is at most :data:`MAX_FRAME`. Types:

- ``CHALLENGE``: 32 fresh random bytes, sent by the receiver when it accepts a connection;
- ``HELLO``: ``sender name || 0x00 || receiver name || 0x00 || signature``, the sender's
  Ed25519 signature on :func:`hello_digest` of the names and the challenge: the
  connection's peer is authenticated, so no node can inject frames in another's name;
- ``DATA``: ``message id (8 bytes, big-endian) || envelope bytes`` (R-3 envelopes, as-is);
- ``ACK``: ``message id`` of a DATA frame the receiver has delivered and traced.

Decoding is total: bad input raises :class:`FrameError`, which closes that connection only.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from asfl.impl import crypto

MAX_FRAME = 32 * 1024 * 1024
HELLO, DATA, ACK, CHALLENGE = 1, 2, 3, 4
_ID = 8
NONCE = 32
SIG = 64


class FrameError(ValueError):
    """A peer sent bytes that are not a valid frame."""


@dataclass(frozen=True)
class Frame:
    type: int
    msg: int = 0
    payload: bytes = b""


def hello_digest(sender: str, receiver: str, nonce: bytes) -> bytes:
    """What a HELLO's signature signs."""
    return crypto.digest(b"asfl/hello", sender.encode(), receiver.encode(), nonce)


def challenge(nonce: bytes) -> bytes:
    return _wrap(CHALLENGE, nonce)


def hello(sender: str, receiver: str, sig: bytes) -> bytes:
    return _wrap(HELLO, sender.encode() + b"\0" + receiver.encode() + b"\0" + sig)


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
        if len(body) < SIG + 2 or body[:-SIG].count(b"\0") != 2 or body[-SIG - 1] != 0:
            raise FrameError("hello frame is not sender, receiver and a signature")
        return Frame(HELLO, payload=body)
    if kind == CHALLENGE:
        if len(body) != NONCE:
            raise FrameError(f"challenge of {len(body)} bytes")
        return Frame(CHALLENGE, payload=body)
    if kind in (DATA, ACK):
        if len(body) < _ID or (kind == ACK and len(body) != _ID):
            raise FrameError(f"{'data' if kind == DATA else 'ack'} frame of {len(body)} bytes")
        return Frame(kind, int.from_bytes(body[:_ID], "big"), body[_ID:])
    raise FrameError(f"unknown frame type {kind}")


def hello_fields(frame: Frame) -> tuple[str, str, bytes]:
    """``(sender, receiver, signature)`` of a HELLO frame."""
    try:
        sender, receiver = frame.payload[: -SIG - 1].decode().split("\0")
    except UnicodeDecodeError:
        raise FrameError("hello frame is not UTF-8") from None
    return sender, receiver, frame.payload[-SIG:]


async def read_frame(reader: asyncio.StreamReader) -> Frame:
    """Read one frame; :class:`FrameError` on an oversized or malformed one,
    ``asyncio.IncompleteReadError`` when the stream ends."""
    length = int.from_bytes(await reader.readexactly(4), "big")
    if not 1 <= length <= MAX_FRAME:
        raise FrameError(f"frame length {length} outside [1, {MAX_FRAME}]")
    return parse(await reader.readexactly(length))
