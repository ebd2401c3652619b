"""``asfl replay FILE``: replay a saved schedule and narrate it, citing the spec's rules.

Exit status 0 if the replay passes every monitor, 1 if it violates a property, 2 if the
file cannot be used. ``--bug`` replays a zoo counterexample against its bugged copy of
``impl`` (in a subprocess) instead of the correct implementation. ``--report OUT.html``
also writes the replay's trace (``OUT.jsonl``) and its checked HTML report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from asfl.cli_report import check_report_path

if TYPE_CHECKING:  # pragma: no cover
    from asfl.harness.schedule import Schedule


@click.command("replay")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--sends", is_flag=True, help="Also narrate every send event.")
@click.option(
    "--bug",
    "with_bug",
    is_flag=True,
    help="Replay against the zoo bug named in the file (a patched copy of impl).",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the replay's HTML report here (and its trace next to it, as .jsonl).",
)
def command(file: Path, sends: bool, with_bug: bool, report: Path | None) -> int:
    """Replay a schedule (tests/regressions/*.json) event by event."""
    from asfl.harness.schedule import Schedule

    if not file.exists():
        raise click.UsageError(f"no such file: {file}")
    check_report_path(report)
    try:
        sched = Schedule.load(file)
    except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise click.UsageError(f"{file}: not a usable schedule: {exc}") from None
    if with_bug:
        from asfl.harness.zoo import BY_ID, materialise, worker_env

        if sched.bug not in BY_ID:
            raise click.UsageError(f"{file} names no zoo bug (bug = {sched.bug!r})")
        with materialise(BY_ID[sched.bug]) as dest:
            env = {**os.environ, **worker_env(dest, BY_ID[sched.bug])}
            request = json.dumps({"op": "narrate", "file": str(file.resolve()), "sends": sends})
            proc = subprocess.run(
                [sys.executable, "-m", "asfl.harness.zoo_worker", request], cwd=dest, env=env
            )
        click.echo(f"(replayed against zoo bug {sched.bug})")
        if report is not None:
            return _report(file, sched, report, with_bug) or proc.returncode
        return proc.returncode
    from asfl.harness.narrate import narrate

    outcome = narrate(sched, out=click.echo, sends=sends)
    if report is not None:
        return _report(file, sched, report, with_bug) or (1 if outcome.failed else 0)
    return 1 if outcome.failed else 0


def _report(file: Path, sched: Schedule, out: Path, with_bug: bool) -> int:
    """Record the replay's trace (against the bugged copy with ``--bug``), check it and
    write its report; the harness monitors' violations join the checker's. 2 if the
    trace is unusable, else 0."""
    from asfl.checker.html.data import Finding
    from asfl.cli_report import write
    from asfl.harness.record import record, save

    trace = out.with_suffix(".jsonl")
    if with_bug:
        from asfl.harness.zoo import BY_ID, materialise, worker_env

        bug = BY_ID[str(sched.bug)]
        verdicts = out.with_suffix(".violations.json")
        with materialise(bug) as dest:
            env = {**os.environ, **worker_env(dest, bug)}
            request = {
                "file": str(file.resolve()),
                "trace": str(trace.resolve()),
                "violations": str(verdicts.resolve()),
            }
            proc = subprocess.run(
                [sys.executable, "-m", "asfl.harness.record", json.dumps(request)], cwd=dest, env=env
            )
        if proc.returncode != 0:
            click.echo(
                f"{file}: recording the replay under zoo bug {bug.id} failed (exit {proc.returncode})",
                err=True,
            )
            return 2
        violations = json.loads(verdicts.read_text(encoding="utf-8"))
        verdicts.unlink()
    else:
        events, violations = record(sched)
        save(events, trace)
    extra = [Finding(v["prop"], v["seq"], v["message"], (), f"harness {v['source']}") for v in violations]
    origin = f"replay of {file.name}" + (f" against zoo bug {sched.bug}" if with_bug else "")
    code = write(trace, out, title=f"asfl replay: {file.name}", origin=origin, extra=extra)
    return 2 if code == 2 else 0
