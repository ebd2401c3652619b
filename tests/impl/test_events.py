"""Every trace event record of impl/events.py matches its kind in specs/trace.schema.json.

The implementation writes events only through these records, so a field renamed, dropped
or added on either side fails here before any trace is checked.
"""

from __future__ import annotations

import dataclasses
import json
from importlib import resources
from typing import Any

import pytest

from asfl.impl.events import KINDS, DropEvent, Event, SendEvent
from asfl.impl.sim.run import RunConfig, execute

SCHEMA = json.loads((resources.files("asfl") / "specs" / "trace.schema.json").read_text(encoding="utf-8"))
DEFS: dict[str, Any] = SCHEMA["$defs"]
EVENT_KINDS = sorted(ref["$ref"].rsplit("/", 1)[1] for ref in SCHEMA["oneOf"])
EVENT_KINDS.remove("header")  # the header is the trace's first line, not an event
ADDED_BY_WRITER = {"seq", "kind", "node"}


def names(cls: type[Event]) -> dict[str, dataclasses.Field[Any]]:
    return {f.name.rstrip("_"): f for f in dataclasses.fields(cls)}


def test_one_record_per_event_kind() -> None:
    """Trace format (spec §9): every event kind of the schema has exactly one record."""
    assert sorted(KINDS) == EVENT_KINDS
    assert all(kind == cls.KIND and dataclasses.is_dataclass(cls) for kind, cls in KINDS.items())
    assert all(cls.__dataclass_params__.frozen for cls in KINDS.values())  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", EVENT_KINDS)
def test_record_fields_are_the_schemas(kind: str) -> None:
    """Trace format (spec §9): a record's fields are its kind's schema properties; every
    required property is a field, and only optional properties (or ``msg`` of ``drop``,
    which the runtime fills) may be left out."""
    spec = DEFS[kind]
    required = set(spec.get("required", [])) - ADDED_BY_WRITER
    properties = set(spec.get("properties", {})) - ADDED_BY_WRITER
    fields = names(KINDS[kind])
    assert required <= set(fields) <= properties | required, (kind, sorted(fields), sorted(properties))
    for name, f in fields.items():
        optional = f.default is None and f.metadata.get("optional")
        if optional and name in required:
            assert (kind, name) == ("drop", "msg"), (kind, name)


def test_fields_spell_the_schema_names() -> None:
    """Trace format (spec §9): ``from_`` is written ``from``; an optional ``None`` is left out,
    a nullable one is written as null."""
    assert DropEvent(reason="r").fields == {"reason": "r"}
    assert KINDS["deliver"](3, "A1").fields == {"msg": 3, "from": "A1"}
    sent = SendEvent("A0", 1, "submit", 10, "d", "s").fields
    assert sent["round"] is None and sent["cluster"] is None


def test_a_run_writes_only_schema_events(small_cfg: Any, tiny_task: Any) -> None:
    """Trace format (spec §9): a simulated run's events are exactly the records' kinds and
    fields (the drops the nodes leave ``msg`` out of are filled by the simulator)."""
    run = RunConfig(small_cfg, seed=3, behaviour="equivocate", byzantine=1, crashed=1)
    _, built = execute(run, task=tiny_task)
    events = built.sim.trace.events
    seen = set()
    for e in events[1:]:
        cls = KINDS[e["kind"]]
        seen.add(e["kind"])
        keys = set(e) - ADDED_BY_WRITER
        assert keys <= set(names(cls)), e
        if e["kind"] == "drop":
            assert isinstance(e["msg"], int), e
    assert {"send", "deliver", "submit", "propose", "endorse", "certify", "release"} <= seen
    assert {"reconstruct", "aggregate", "accept", "local_step", "end"} <= seen
