"""``asfl report TRACE``: check a trace and write a self-contained HTML report of it
(space-time diagram, rounds, model chains, inclusion and epsilon plots, the verdict).

Exit status as ``asfl check``: 0 valid, 1 violation, 2 unusable input."""

from __future__ import annotations

from pathlib import Path

import click

from asfl.checker.html.build import Built, build_report
from asfl.checker.html.data import Finding
from asfl.checker.replay import Unusable
from asfl.checker.report import render_unusable


def default_out(trace: Path) -> Path:
    """Reports go under ``runs/reports/`` of the working directory unless ``-o`` says."""
    return Path("runs") / "reports" / f"{trace.stem}.html"


def check_report_path(report: Path | None) -> None:
    """``--report OUT``: the trace is written next to it as ``OUT.jsonl``, so OUT must not
    be a ``.jsonl`` file itself."""
    if report is not None and report.suffix == ".jsonl":
        raise click.UsageError(
            f"--report {report}: the trace goes next to the report as .jsonl; name it .html"
        )


def write(
    trace: Path,
    out: Path,
    *,
    signatures: str = "all",
    z3: bool = True,
    title: str = "",
    origin: str = "",
    extra: list[Finding] | None = None,
    shiviz: Path | None = None,
) -> int:
    """Check and report ``trace``; print where the report is. Bad input: the checker's
    one-line error on stderr and 2. Otherwise 0 valid, 1 a violation was found."""
    try:
        built: Built = build_report(
            trace, out, signatures=signatures, z3=z3, title=title, origin=origin, extra=extra, shiviz=shiviz
        )
    except OSError as e:
        click.echo(f"{trace}: unusable trace: {e.strerror}", err=True)
        return 2
    except UnicodeDecodeError:
        click.echo(f"{trace}: unusable trace: not UTF-8 text", err=True)
        return 2
    except Unusable as e:
        click.echo(render_unusable(str(trace), e), err=True)
        return 2
    n = len(built.findings)
    verdict = "VALID" if not n else f"INVALID: {n} violation(s), first {built.findings[0].prop}"
    click.echo(f"{trace}: {built.report.events} events, {verdict}")
    click.echo(f"report: {built.html}" + (f"  (ShiViz log: {shiviz})" if shiviz else ""))
    return 1 if n else 0


@click.command("report")
@click.argument("trace", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="HTML file to write [default: runs/reports/TRACE-NAME.html]",
)
@click.option(
    "--shiviz",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="also write a ShiViz log (events with vector clocks) to this file",
)
@click.option("--no-signatures", is_flag=True, help="do not verify signatures (I-4) while checking")
@click.option("--no-z3", is_flag=True, help="skip the per-trace Z3 obligations")
def command(trace: Path, out: Path | None, shiviz: Path | None, no_signatures: bool, no_z3: bool) -> int:
    """Check TRACE and write one self-contained HTML report of it (no network needed to
    view it). Exit 0 valid, 1 violation, 2 unusable input."""
    return write(
        trace,
        out or default_out(trace),
        signatures="none" if no_signatures else "all",
        z3=not no_z3,
        shiviz=shiviz,
    )
