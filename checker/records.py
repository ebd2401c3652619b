"""Typed records of the checker: its verdicts (:class:`Violation`, :class:`Report`), the
unusable-input error, and what it remembers of the trace's events. The records built
per event (:class:`Sent`, ``Envelope``, :class:`Author`, :class:`Mark`, ...) are
never modified once built, yet not ``frozen``: a frozen dataclass's ``__init__`` costs
about 5x a plain one's (``object.__setattr__`` per field)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from asfl.model.protocol import ServeDefect


class Unusable(Exception):
    """The input cannot be checked (exit 2)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass
class Violation:
    """A property (or rule) ``prop`` violated at trace line ``line``; ``history`` are the
    lines of the earlier events it depends on."""

    prop: str
    line: int
    message: str
    history: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"property": self.prop, "line": self.line, "message": self.message, "history": self.history}


@dataclass
class Report:
    """The verdict on one trace (the public surface of ``Checker.check_file``)."""

    path: str
    lines: int = 0
    events: int = 0
    violations: list[Violation] = field(default_factory=list)
    liveness: dict[str, Any] = field(default_factory=dict)
    fairness: dict[str, Any] = field(default_factory=dict)
    certificates: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    raw: list[str] = field(default_factory=list)  # the trace lines, when checked in memory
    excerpts: dict[int, str] = field(default_factory=dict)  # lines cited, when streamed

    @property
    def ok(self) -> bool:
        return not self.violations

    def text(self, line: int) -> str | None:
        """The text of trace line ``line`` (1-based), if the report holds it."""
        if self.raw:
            return self.raw[line - 1] if 0 < line <= len(self.raw) else None
        return self.excerpts.get(line)

    def cited(self) -> set[int]:
        """Lines the violations cite (their own and their histories)."""
        return {ln for v in self.violations for ln in (v.line, *v.history)}


@dataclass(frozen=True, slots=True)
class RangeFields:
    """The fields of one event kind that the range checks read (R-3, S-4, I-2);
    ``round_limit`` None: the kind has no round."""

    nodes: tuple[str, ...]
    cluster: bool
    round_limit: int | None
    client_lists: tuple[str, ...]
    agg_lists: tuple[str, ...]


@dataclass(slots=True)
class Sent:
    """A ``send`` event: the message ``id`` it put on the wire."""

    src: str
    dst: str
    type: str
    round: int | None
    cluster: int | None
    line: int
    digest: str
    key: bytes  # the digest's bytes (the key of its author, D-21)


#: what a ``send`` claims about a signed envelope (I-4): sender, kind, digest, sig (a
#: tuple: a broadcast compares each send's with the last one checked)
Envelope = tuple[str, str, str, str]


@dataclass(slots=True)
class Author:
    """Who signed an envelope (by its digest) and what its first send said it was."""

    signer: str
    type: str
    round: int | None
    cluster: int | None


@dataclass(slots=True)
class Submission:
    """An honest client's ``submit`` event; ``x`` its decoded ghost update (if any),
    ``forgotten`` once its cluster settled (D-21)."""

    cluster: int
    sd: str
    x: np.ndarray | None
    line: int
    forgotten: bool = False


@dataclass(frozen=True, slots=True)
class Stamped:
    """A digest an honest aggregator acted on (``pd``, with ``md`` when it has one), at
    a trace line."""

    pd: str
    md: str
    line: int


@dataclass(frozen=True, slots=True)
class Decoded:
    """An honest ``reconstruct``: the proposal decoded and its result digest."""

    pd: str
    result: str
    line: int


@dataclass(slots=True)
class MaskUse:
    """The first submission that used a ghost mask (P-2 / D-2)."""

    client: str
    round: int
    line: int


@dataclass(slots=True)
class AcceptCount:
    """A client's reported inclusion count at an ``accept`` (checked against F-3)."""

    line: int
    client: int
    round: int
    count: int


@dataclass(slots=True)
class Mark:
    """An event in the history of a ``(round, cluster)``: protocol or wire event."""

    line: int
    node: str
    protocol: bool


@dataclass(slots=True)
class CertInfo:
    """A certified proposal, for the report."""

    round: int
    cluster: int
    pd: str
    md: str
    endorsers: list[int]
    certified_by: list[int] = field(default_factory=list)
    reconstructed_by: list[int] = field(default_factory=list)
    size: int | None = None
    supports: dict[str, list[int]] = field(default_factory=dict)

    def as_dict(self, clients: tuple[int, ...] | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "round": self.round,
            "cluster": self.cluster,
            "pd": self.pd,
            "md": self.md,
            "certified_by": self.certified_by,
            "endorsers": self.endorsers,
        }
        if self.reconstructed_by:
            out.update(reconstructed_by=self.reconstructed_by, size=self.size, supports=self.supports)
        out["clients"] = list(clients) if clients else None
        return out


@dataclass(slots=True)
class Step:
    """The open step: its node, trigger line and what it owes (T-STEP, R-n)."""

    node: str | None = None
    line: int = 0
    msg: int | None = None  # the message delivered by the step's trigger
    junk: bool = False  # ... sent as junk (bytes that do not decode) to an honest node
    wild: bool = False  # ... junk from a Byzantine node (it may have carried any envelope)
    dropped: bool = False  # ... dropped by its receiver in the step
    announce: tuple[str, int | None] | None = None  # ... an announce to a client: (src, round)
    accepted: list[tuple[str, int]] = field(default_factory=list)  # accepts: (from, round)
    protocol: list[str] = field(default_factory=list)  # state-changing protocol events
    expect: dict[tuple[str, str, int | None, int | None], int] = field(default_factory=dict)
    sent: dict[tuple[str, int | None, int | None], int] = field(default_factory=dict)
    submits_due: list[int] = field(default_factory=list)  # D-13: rounds the local step owes
    fetch: tuple[str, int, str] | None = None  # D-22: a timer step's fetch (to, round, header)
    fetch_in: PendingFetch | None = None  # ... a fetch delivered to an honest aggregator
    announce_body: bool | None = None  # ... the delivered announce carried a body (None: unknown)
    announce_header: str | None = None  # ... its header digest (honest sender)


@dataclass(frozen=True, slots=True)
class FetchInfo:
    """A client's ``fetch`` envelope (D-22), by its digest: who fetches which round under
    which header (from the client's ``fetch`` event)."""

    client: int
    round: int
    header: str


@dataclass(slots=True)
class PendingFetch:
    """A fetch delivered to an honest aggregator in the open step: the serve guard's
    verdict (``None``: it holds, else the drop reason) and whether a ``serve`` followed."""

    info: FetchInfo
    guard: ServeDefect | None
    served: bool = False


@dataclass(frozen=True, slots=True)
class Attestation:
    """An honest ``attest`` (R-17): the model and header it signs, at a trace line."""

    model: str
    header: str
    line: int


@dataclass(frozen=True, slots=True)
class PendingOffer:
    """An honest producer's offer delivered to an honest aggregator, not yet attested or
    dropped (owed at quiescence, R-17)."""

    node: str
    producer: str
    round: int
    line: int
