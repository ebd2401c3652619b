"""``asfl merge``: one trace from the per-node traces of a deployment run with ``asfl node``."""

from __future__ import annotations

from pathlib import Path

import click

from asfl.cli_keygen import roster_run
from asfl.impl.net.compose import merged_header, scenario
from asfl.impl.net.keys import KeyFileError, load_roster
from asfl.impl.net.merge import MergeError, merge


@click.command("merge")
@click.option("--roster", "roster_path", type=click.Path(path_type=Path), required=True, help="roster.json")
@click.argument("trace_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--trace",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("runs/merged.jsonl"),
    show_default=True,
)
def command(roster_path: Path, trace_dir: Path, out: Path) -> int:
    """Merge TRACE_DIR/<node>.jsonl of every roster node into one trace that asfl check validates.

    A node whose trace has no clean end died: an aggregator counts as Byzantine, a client
    as crashed. The run is complete (exit 0) if every other honest node finished every
    round, else stalled (exit 1).
    """
    try:
        roster = load_roster(roster_path)
    except KeyFileError as exc:
        raise click.UsageError(str(exc)) from None
    sc = scenario(roster_run(roster, roster_path))
    traces = {n: trace_dir / f"{n}.jsonl" for n in roster.peers}
    header = merged_header(sc, roster, traces)
    try:
        merged = merge(header, traces, set(sc.plan.byzantine), None, "merged by asfl merge", out)
    except MergeError as exc:
        raise click.UsageError(str(exc)) from None
    died = ", ".join(sorted(merged.died)) or "none"
    click.echo(f"{out}: {len(traces)} node traces merged, {merged.status}; died: {died}")
    return 0 if merged.status == "complete" else 1
