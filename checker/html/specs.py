"""Statements of properties (``specs/properties.md``) and titles of rules and decisions
(``specs/protocol.md``), read from the package data, for the report's verdict."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files

_ROW = re.compile(r"^\|\s*([A-Z]+-[A-Z0-9]+)\s*\|\s*(.+?)\s*\|\s*(.+?)\s*\|\s*$")
_HEAD = re.compile(r"^###\s+((?:R|D)-\d+)\s+(.+?)\s*$")


def _spec(name: str) -> str:
    return (files("asfl") / "specs" / name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def statements() -> dict[str, str]:
    """ID -> statement: every property row of properties.md (S-, P-, I-, L-, F-, T-) and
    every rule or decision heading of protocol.md (R-n, D-n; the heading's title)."""
    out: dict[str, str] = {}
    for line in _spec("properties.md").splitlines():
        m = _ROW.match(line)
        if m and m.group(1) != "ID":
            out[m.group(1)] = m.group(2)
    for line in _spec("protocol.md").splitlines():
        m = _HEAD.match(line)
        if m:
            out.setdefault(m.group(1), f"{m.group(1)} {m.group(2)} (specs/protocol.md)")
    return out


def statement(prop: str) -> str:
    """The statement of ``prop``; an ID the specs do not define says so."""
    return statements().get(prop, f"{prop}: not defined in specs/properties.md or specs/protocol.md")
