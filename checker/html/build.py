"""Check a trace file and write its report: the pipeline shared by ``asfl report``,
``asfl replay --report`` and ``asfl explore --report``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from asfl.checker.html.data import Finding, checker_findings, parse_lines, report_data
from asfl.checker.html.page import write_report
from asfl.checker.html.shiviz import write_shiviz
from asfl.checker.replay import Checker, Report


@dataclass(frozen=True)
class Built:
    report: Report
    findings: list[Finding]
    html: Path


def merge(own: list[Finding], extra: list[Finding]) -> list[Finding]:
    """The checker's findings and those of another oracle (harness monitors, explorer),
    without repeats of one property at one event, ordered by event (whole-run ones last)."""
    seen = {(f.prop, f.seq) for f in own}
    out = own + [f for f in extra if (f.prop, f.seq) not in seen]
    return sorted(out, key=lambda f: (f.seq is None, f.seq or 0))


def build_report(
    trace: Path,
    out: Path,
    *,
    signatures: str = "all",
    z3: bool = True,
    title: str = "",
    origin: str = "",
    extra: list[Finding] | None = None,
    shiviz: Path | None = None,
) -> Built:
    """Check ``trace`` (raises the checker's ``Unusable``, ``OSError`` or
    ``UnicodeDecodeError`` on bad input) and write its report to ``out``."""
    rep = Checker(signatures=signatures, z3=z3).check_file(trace)
    lines = Path(trace).read_text(encoding="utf-8").splitlines()
    line_seq = {n: e["seq"] for n, e in parse_lines(lines)[1:] if "seq" in e}
    findings = merge(checker_findings(rep, line_seq), list(extra or []))
    data = report_data(lines, rep, findings, title=title or f"asfl report: {Path(trace).name}", origin=origin)
    write_report(data, out)
    if shiviz is not None:
        write_shiviz(lines, shiviz)
    return Built(rep, findings, out)
