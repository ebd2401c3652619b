"""What every sans-I/O node shares: the interface runtimes drive, node names, outputs,
and envelope checking (R-3).

A node is a pure state machine: it takes one input (a delivered byte string or a
local step) and returns a list of outputs. It performs no I/O, reads no clock
and draws no randomness of its own: runtimes (the simulator, a networked runtime)
inject all of that through :class:`Node` and :class:`ClientNode`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from asfl.impl import crypto
from asfl.impl.config import ProtocolConfig
from asfl.impl.events import Event
from asfl.impl.memo import Memo
from asfl.impl.messages import CLIENT_KINDS, KINDS, Attest, Body, Envelope, Fetch, Propose, Submit, seal
from asfl.impl.wire import WireError, Writer


def aggregator_name(j: int) -> str:
    return f"A{j}"


def client_name(i: int) -> str:
    return f"C{i}"


@dataclass(frozen=True)
class Send:
    """Send ``data`` to node ``to``; the metadata feeds the trace's ``send`` event."""

    to: str
    data: bytes
    kind: str
    digest: bytes
    sig: bytes
    round: int | None = None
    cluster: int | None = None


@dataclass(frozen=True)
class RequestLocalStep:
    """A client asks its runtime to run a local step (R-4) when the runtime sees fit."""


@dataclass(frozen=True)
class Timer:
    """A client arms its local fetch timer for ``round`` (D-22): the runtime calls
    ``fire_timer(round)`` once, after a timeout of its choosing."""

    round: int


@dataclass(frozen=True)
class CancelTimer:
    """A client no longer needs its armed fetch timer for ``round`` (D-22: the round has a
    verified body, so a firing would do nothing): the runtime forgets it and never calls
    ``fire_timer(round)`` for it. A client cancels only a timer it armed and that has not
    fired; a runtime ignores a cancel of a timer it does not hold."""

    round: int


Output = Send | Event | RequestLocalStep | Timer | CancelTimer


@runtime_checkable
class Node(Protocol):
    """What a runtime drives: deliver bytes, read progress (R-3, R-16)."""

    @property
    def done(self) -> bool: ...

    @property
    def rounds_done(self) -> int: ...

    def handle(self, data: bytes, msg: int) -> list[Output]: ...


@runtime_checkable
class ClientNode(Node, Protocol):
    """A client also starts (round 0), runs the local steps it requests (R-4) and is told
    when a timer it armed, and did not cancel, fires (D-22)."""

    def start(self) -> list[Output]: ...

    def local_step(self) -> list[Output]: ...

    def fire_timer(self, round: int) -> list[Output]: ...


class Dropped(Exception):
    """An input fails a guard; the node emits a ``drop`` event with this reason (R-3)."""


@dataclass(frozen=True)
class PublicKeys:
    """Every node's public keys, known to all before round 0 (§1)."""

    aggregator_sign: tuple[bytes, ...]
    aggregator_kx: tuple[bytes, ...]
    client_sign: tuple[bytes, ...]
    client_kx: tuple[bytes, ...]


Opening = tuple[Envelope, Body] | str
"""What opening a byte string gave: the envelope and body, or the reason it was dropped."""

# Decoded bodies are shared between the nodes of one process: they are frozen records,
# and no node writes into their vectors. Only kinds that are broadcast (one byte string
# delivered to several nodes) are kept: a submit, a proposal, an attestation or a fetch is
# addressed to one node (R-5, R-7, R-17, D-22), so keeping it would cost memory and evict the
# broadcasts, and save nothing; nor is its signature's result kept (crypto.verify, once).
# Sized by the runtime for the broadcasts of about two rounds (set_open_memo; ~40 distinct a
# round at n_a = 4).
_OPENED: Memo[bytes, Opening] = Memo(max_entries=256, max_bytes=64 << 20)
_UNICAST = tuple(
    Writer().text(kind).getvalue() for kind in (Submit.KIND, Propose.KIND, Attest.KIND, Fetch.KIND)
)


def set_open_memo(entries: int) -> None:
    """Keep the openings of the ``entries`` most recently used broadcasts. A runtime sizes
    it to the broadcasts of about two rounds, ``O(n_a^2)`` a round (endorsements and releases
    of every cluster by every aggregator, offers, announcements): their copies are delivered
    within that span, and a larger memo only fills up round after round."""
    _OPENED.max_entries = entries


def open_envelope(cfg: ProtocolConfig, keys: PublicKeys, data: bytes) -> tuple[Envelope, Body]:
    """Decode and authenticate an envelope and its body, or raise :class:`Dropped` (R-3).
    Memoised per byte string (:mod:`asfl.impl.memo`); a failure is raised again with its reason."""
    data = data if type(data) is bytes else bytes(data)
    if data.startswith(_UNICAST):  # a kind with one recipient (its prefix, D-14): not kept
        return _open(cfg, keys, data, once=True)
    context = (cfg.dims, keys)
    outcome = _OPENED.get(data, context)
    if outcome is None:
        try:
            outcome = _open(cfg, keys, data)
        except Dropped as exc:
            outcome = str(exc)
        _OPENED.put(data, context, outcome, len(data))
    if isinstance(outcome, str):
        raise Dropped(outcome)
    return outcome


def _open(cfg: ProtocolConfig, keys: PublicKeys, data: bytes, once: bool = False) -> tuple[Envelope, Body]:
    """:func:`open_envelope` without the memo: every check of R-3. ``once``: the envelope's
    signature is asked about by its one recipient only (a unicast kind), so its result is not
    memoised (:func:`asfl.impl.crypto.verify`)."""
    try:
        env = Envelope.decode(data)
    except WireError as exc:
        raise Dropped(f"malformed envelope: {exc}") from None
    is_client_kind = env.kind in CLIENT_KINDS
    senders = keys.client_sign if is_client_kind else keys.aggregator_sign
    if env.sender >= len(senders):
        raise Dropped(f"unknown sender {env.sender} for {env.kind}")
    if not crypto.verify(senders[env.sender], env.digest(), env.sig, once=once):
        raise Dropped(f"bad signature on {env.kind} from sender {env.sender}")
    try:
        body = KINDS[env.kind].decode(env.body, cfg.dims)
    except WireError as exc:
        raise Dropped(f"malformed {env.kind}: {exc}") from None
    return env, body


def send(keys: crypto.NodeKeys, sender: int, to: str, message: Body, *, cluster: int | None = None) -> Send:
    """Seal ``message`` and address it (R-3)."""
    env = seal(keys, sender, message)
    return Send(
        to=to,
        data=env.encode(),
        kind=env.kind,
        digest=env.digest(),
        sig=env.sig,
        round=getattr(message, "tau", None),
        cluster=cluster if cluster is not None else getattr(message, "cluster", None),
    )


def broadcast(keys: crypto.NodeKeys, sender: int, names: list[str], message: Body) -> list[Send]:
    """Seal once and address a copy to every node in ``names``."""
    first = send(keys, sender, names[0], message)
    return [first] + [
        Send(n, first.data, first.kind, first.digest, first.sig, first.round, first.cluster)
        for n in names[1:]
    ]
