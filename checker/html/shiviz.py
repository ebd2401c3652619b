"""Export a trace for ShiViz (https://bestchai.bitbucket.io/shiviz/): two lines per event,
a description, then ``host {vector clock as JSON}``, which ShiViz's default parser
reads with the regular expression ``(?<event>.*)\\n(?<host>\\S*) (?<clock>{.*})``.

Vector clocks (Fidge/Mattern): each node's own entry counts its events; a ``deliver``
first merges the clock its message's ``send`` carried (T-FLOW pairs them by message id).
Every event of the trace becomes a ShiViz event, its description naming the seq, the
kind, the rule (specs/protocol.md) and the fields the report shows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from asfl.checker.html.data import RULES, parse_lines

_SKIP = ("seq", "kind", "node", "sig", "ghost", "digest")


def _describe(ev: dict[str, Any]) -> str:
    fields = " ".join(f"{k}={json.dumps(v, separators=(',', ':'))}" for k, v in ev.items() if k not in _SKIP)
    return f"#{ev['seq']} {ev['kind']} [{RULES.get(ev['kind'], '')}] {fields}".rstrip()


def shiviz_lines(lines: list[str]) -> list[str]:
    """The ShiViz log of a trace's lines (the header and ``end`` are not node events)."""
    clocks: dict[str, dict[str, int]] = {}
    carried: dict[int, dict[str, int]] = {}
    out: list[str] = []
    for _, ev in parse_lines(lines)[1:]:
        node = ev.get("node")
        if node is None:
            continue
        vc = clocks.setdefault(node, {})
        if ev["kind"] == "deliver":
            for k, v in carried.get(ev["msg"], {}).items():
                vc[k] = max(vc.get(k, 0), v)
        vc[node] = vc.get(node, 0) + 1
        if ev["kind"] == "send":
            carried[ev["msg"]] = dict(vc)
        out.append(_describe(ev))
        out.append(f"{node} {json.dumps(vc, separators=(',', ':'), sort_keys=True)}")
    return out


def write_shiviz(lines: list[str], out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(shiviz_lines(lines)) + "\n", encoding="utf-8")
    return out
