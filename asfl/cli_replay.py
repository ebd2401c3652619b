"""``asfl replay FILE``: replay a saved schedule and narrate it, citing the spec's rules.

Exit status 0 if the replay passes every monitor, 1 if it violates a property, 2 if the
file cannot be used. ``--bug`` replays a zoo counterexample against its bugged copy of
``impl`` (in a subprocess) instead of the correct implementation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click


@click.command("replay")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--sends", is_flag=True, help="Also narrate every send event.")
@click.option(
    "--bug",
    "with_bug",
    is_flag=True,
    help="Replay against the zoo bug named in the file (a patched copy of impl).",
)
def command(file: Path, sends: bool, with_bug: bool) -> int:
    """Replay a schedule (tests/regressions/*.json) event by event."""
    from asfl.harness.schedule import Schedule

    if not file.exists():
        raise click.UsageError(f"no such file: {file}")
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
        return proc.returncode
    from asfl.harness.narrate import narrate

    outcome = narrate(sched, out=click.echo, sends=sends)
    return 1 if outcome.failed else 0
