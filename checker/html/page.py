"""Assemble the self-contained page: the template with its style, script and data inline
(nothing is fetched when the page is viewed)."""

from __future__ import annotations

import html
import json
from importlib.resources import files
from pathlib import Path
from typing import Any


def _asset(name: str) -> str:
    return (files("asfl.checker.html") / "assets" / name).read_text(encoding="utf-8")


def render_page(data: dict[str, Any]) -> str:
    """The HTML text of the report for ``data`` (see :func:`.data.report_data`)."""
    blob = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return (
        _asset("report.html")
        .replace("{{title}}", html.escape(data["title"]))
        .replace("{{style}}", _asset("report.css"))
        .replace("{{data}}", blob)
        .replace("{{script}}", _asset("report.js"))
    )


def write_report(data: dict[str, Any], out: Path) -> Path:
    """Write the page to ``out`` (creating its directory)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_page(data), encoding="utf-8")
    return out
