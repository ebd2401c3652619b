"""One frozen record per trace event kind (spec §9, specs/trace.schema.json).

Nodes return these (R-3 to R-15) and runtimes write them (sends, deliveries, crashes,
the end of a run); :attr:`Event.fields` is the event's JSON object without ``seq``,
``kind`` and ``node``, which the trace writer adds. Field names are the schema's
(``from`` is spelled ``from_``); an optional field left ``None`` is omitted.
tests/impl/test_events.py checks every record against the schema.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

OPTIONAL = {"optional": True}  # field metadata: omitted from the trace when None


@dataclass(frozen=True)
class Event:
    """A trace event; subclasses set :attr:`KIND` and declare the schema's fields."""

    KIND: ClassVar[str] = ""

    @property
    def kind(self) -> str:
        return self.KIND

    @property
    def fields(self) -> dict[str, Any]:
        return self.write_into({})

    def write_into(self, record: dict[str, Any]) -> dict[str, Any]:
        """Add :attr:`fields` to ``record`` (in declaration order) and return it."""
        layout = _LAYOUTS.get(type(self)) or _layout(type(self))
        values = self.__dict__
        for name, key, optional in layout:
            value = values[name]
            if value is None and optional:
                continue
            record[key] = value
        return record


_LAYOUTS: dict[type[Event], tuple[tuple[str, str, bool], ...]] = {}


def _layout(cls: type[Event]) -> tuple[tuple[str, str, bool], ...]:
    """Per event class, in declaration order: attribute, trace key, whether optional (cached)."""
    layout = _LAYOUTS.get(cls)
    if layout is None:
        fs = dataclasses.fields(cls)
        layout = tuple((f.name, f.name.rstrip("_"), bool(f.metadata.get("optional"))) for f in fs)
        _LAYOUTS[cls] = layout
    return layout


# -- runtime events (the simulator, §9) --------------------------------------------------


@dataclass(frozen=True)
class SendEvent(Event):
    """A node sent message ``msg`` (R-3)."""

    KIND: ClassVar[str] = "send"
    to: str
    msg: int
    type: str
    size: int
    digest: str
    sig: str
    round: int | None = None  # null for messages of no round
    cluster: int | None = None


@dataclass(frozen=True)
class DeliverEvent(Event):
    """Message ``msg`` from ``from_`` delivered to the node."""

    KIND: ClassVar[str] = "deliver"
    msg: int
    from_: str


@dataclass(frozen=True)
class CrashEvent(Event):
    """The client crashed (silent from here on; bounded by t_c)."""

    KIND: ClassVar[str] = "crash"


@dataclass(frozen=True)
class EndEvent(Event):
    """The run ended: complete, stalled or step limit, with rounds per honest node (R-16)."""

    KIND: ClassVar[str] = "end"
    status: str
    rounds_done: dict[str, int]
    detail: str
    privacy: dict[str, Any] | None = field(default=None, metadata=OPTIONAL)  # D-10: epsilon per client


# -- node events (R-3 to R-15) -----------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class DropEvent(Event):
    """An input failed a guard (R-3); the runtime fills ``msg`` when the node leaves it out."""

    KIND: ClassVar[str] = "drop"
    msg: int | None = dataclasses.field(default=None, metadata=OPTIONAL)
    reason: str


@dataclass(frozen=True)
class LocalStepEvent(Event):
    """A client's local step on the model of ``model_round`` (R-4)."""

    KIND: ClassVar[str] = "local_step"
    model_round: int


@dataclass(frozen=True)
class SubmitEvent(Event):
    """A masked submission for ``(round, cluster)`` (R-5); ghost ``x``, ``r`` when asked."""

    KIND: ClassVar[str] = "submit"
    round: int
    cluster: int
    sd: str
    ghost: dict[str, str] | None = dataclasses.field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True)
class ProposalEvent(Event):
    """What the events about one proposal ``pd`` for ``(round, cluster)`` start with (R-7..R-12)."""

    round: int
    cluster: int
    pd: str


@dataclass(frozen=True)
class ProposeEvent(ProposalEvent):
    """A coordinator closed ``(round, cluster)`` on ``clients`` (R-6, R-7)."""

    KIND: ClassVar[str] = "propose"
    clients: list[int]
    members: list[int]
    counts: list[int]
    held: list[int]


@dataclass(frozen=True)
class EndorseEvent(ProposalEvent):
    """An aggregator endorsed the first valid proposal for ``(round, cluster)`` (R-8)."""

    KIND: ClassVar[str] = "endorse"
    md: str
    clients: list[int]


@dataclass(frozen=True)
class CertifyEvent(ProposalEvent):
    """``n_a - t_a`` endorsements on one ``(pd, md)`` (R-9)."""

    KIND: ClassVar[str] = "certify"
    md: str
    endorsers: list[int]


@dataclass(frozen=True)
class ReleaseEvent(ProposalEvent):
    """An aggregator released its share sum for the certified proposal (R-10)."""

    KIND: ClassVar[str] = "release"
    share_digest: str


@dataclass(frozen=True)
class ReconstructEvent(ProposalEvent):
    """A cluster result decoded from consistent releases (R-11, R-12); ghost ``sum``."""

    KIND: ClassVar[str] = "reconstruct"
    support: list[int]
    wrong: list[int]
    size: int
    result: str
    ghost: dict[str, str] | None = dataclasses.field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True)
class AggregateEvent(Event):
    """The model of ``round`` from ``n_a - t_a`` cluster results (R-13)."""

    KIND: ClassVar[str] = "aggregate"
    round: int
    clusters: list[int]
    model: str
    prev: str
    rule: str


@dataclass(frozen=True)
class AttestEvent(Event):
    """An aggregator checked ``producer``'s offer and attests its header (R-17)."""

    KIND: ClassVar[str] = "attest"
    round: int
    producer: str
    model: str
    prev: str
    clusters: list[int]
    header: str


@dataclass(frozen=True)
class AnnounceEvent(Event):
    """An aggregator announces its model of ``round`` with ``t_a + 1`` attesters (R-14)."""

    KIND: ClassVar[str] = "announce"
    round: int
    model: str
    header: str
    attesters: list[str]


@dataclass(frozen=True)
class AcceptEvent(Event):
    """A client accepted (trains on) an attested model with its body for ``round`` (R-15);
    ``attesters``: the aggregators whose valid attestations it counted (R-15d), sorted."""

    KIND: ClassVar[str] = "accept"
    round: int
    from_: str
    model: str
    count: int
    attesters: list[str]


@dataclass(frozen=True)
class FetchEvent(Event):
    """A client's timer fired: it fetches the body of ``round`` from ``to``, whose header
    ``header`` it verified without a body (D-22); the trigger of that step."""

    KIND: ClassVar[str] = "fetch"
    round: int
    to: str
    header: str


@dataclass(frozen=True)
class ServeEvent(Event):
    """An aggregator answers ``client``'s fetch of ``round``: its announcement again, with
    the body (D-22)."""

    KIND: ClassVar[str] = "serve"
    round: int
    client: str
    header: str


@dataclass(frozen=True)
class EquivocationEvent(Event):
    """A second, different proposal for ``(round, cluster)`` (R-8, S-2 evidence)."""

    KIND: ClassVar[str] = "equivocation"
    round: int
    cluster: int
    first: str
    other: str


KINDS: dict[str, type[Event]] = {
    cls.KIND: cls
    for cls in (
        SendEvent,
        DeliverEvent,
        CrashEvent,
        EndEvent,
        DropEvent,
        LocalStepEvent,
        SubmitEvent,
        ProposeEvent,
        EndorseEvent,
        CertifyEvent,
        ReleaseEvent,
        ReconstructEvent,
        AggregateEvent,
        AttestEvent,
        AnnounceEvent,
        AcceptEvent,
        FetchEvent,
        ServeEvent,
        EquivocationEvent,
    )
}
