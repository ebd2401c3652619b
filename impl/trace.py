"""JSON Lines trace writer (spec §9, specs/trace.schema.json)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import IO, Any

import numpy as np

from asfl.impl import field
from asfl.impl.events import Event

SCHEMA = "asfl-trace/1"
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps's output, one encoder


def b64(vector: np.ndarray) -> str:
    """Ghost-field encoding of a field vector: base64 of its little-endian bytes (spec §9)."""
    return base64.b64encode(field.to_bytes(vector)).decode("ascii")


class TraceWriter:
    """Numbers events consecutively and writes one JSON object per line.

    With ``path=None`` events are kept in memory (``self.events``) for tests and for
    callers that read them, unless ``keep=False``: then they are only numbered, so a run
    without a trace holds no per-event state (memory flat in the number of rounds).
    """

    def __init__(self, path: Path | None = None, keep: bool = True) -> None:
        self.path = path
        self.keep = keep or path is not None
        self.events: list[dict[str, Any]] = []
        self._file: IO[str] | None = None
        self._seq = 0
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("w", encoding="utf-8")

    def header(self, fields: dict[str, Any]) -> None:
        self._write({"kind": "header", "schema": SCHEMA, **fields})

    def write(self, node: str | None, event: Event) -> None:
        """Number ``event`` and write it, performed by ``node`` (``None`` for the run's end)."""
        record = self._numbered(event.KIND, node)
        if record is not None:
            self._write(event.write_into(record))

    def relay(self, kind: str, node: str | None, fields: dict[str, Any]) -> None:
        """Number and write an event already in trace form: the merge of per-node traces
        (§9) re-writes the records the nodes' hosts wrote from their typed events."""
        record = self._numbered(kind, node)
        if record is not None:
            record.update(fields)
            self._write(record)

    def _numbered(self, kind: str, node: str | None) -> dict[str, Any] | None:
        """The next event's number, kind and node, its fields still to add (``None``: the
        event is numbered only, ``keep=False``)."""
        self._seq += 1
        if not self.keep:
            return None
        record: dict[str, Any] = {"seq": self._seq, "kind": kind}
        if node is not None:
            record["node"] = node
        return record

    def _write(self, record: dict[str, Any]) -> None:
        if self._file is None:
            if self.keep:
                self.events.append(record)
        else:
            self._file.write(_ENCODE(record) + "\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
