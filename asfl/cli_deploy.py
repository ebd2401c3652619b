"""``asfl deploy``: a real deployment on loopback, one OS process per node, then the summary."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from asfl import cli_run
from asfl.cli_keygen import roster_flags
from asfl.cli_node import FETCH_TIMEOUT_OPTION
from asfl.cli_run import config_options, rounds_progress, run_config, summary_json, summary_table
from asfl.cli_types import DAY_SECONDS, count, number, seconds
from asfl.impl.net.deploy import DeployConfig, Deployment
from asfl.impl.net.merge import MergeError


def default_flags(**overrides: Any) -> dict[str, Any]:
    """``asfl run``'s configuration flags at their defaults, then ``overrides`` (tests, benchmarks)."""
    ctx = click.Context(cli_run.command)
    opts = {
        p.name: p.get_default(ctx)
        for p in cli_run.command.params
        if p.name not in ("as_json", "ghost", "fetch_timeout")
    }
    opts.update(overrides)
    return opts


@click.command("deploy")
@config_options
@click.option(
    "--kill-aggregators",
    type=count(0, 100),
    default=0,
    show_default=True,
    help="SIGKILL this many honest aggregators at seeded protocol points",
)
@click.option(
    "--kill-clients",
    type=count(0, 1000),
    default=0,
    show_default=True,
    help="SIGKILL this many clients at seeded protocol points",
)
@click.option(
    "--delay-ms",
    type=number(0, 60_000),
    default=0.0,
    show_default=True,
    help="mean seeded extra delay per message (exponential; reorders messages)",
)
@click.option(
    "--split-at",
    type=seconds(allow_zero=True),
    default=None,
    help="cut a seeded half of the nodes off the rest this many seconds after every node runs",
)
@click.option(
    "--split-for",
    type=seconds(allow_zero=True),
    default=2.0,
    show_default=True,
    help="seconds until the partition heals",
)
@click.option(
    "--clients-per-process",
    type=count(1, 1000),
    default=10,
    show_default=True,
    help="clients sharing one OS process (each with its own port and connections)",
)
@click.option(
    "--timeout",
    type=number(1, DAY_SECONDS),
    default=300.0,
    show_default=True,
    help="watchdog: stop and report after this many seconds",
)
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="keys and per-node traces [default: beside the trace, TRACE.d/]",
)
@FETCH_TIMEOUT_OPTION
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
def command(
    kill_aggregators: int,
    kill_clients: int,
    delay_ms: float,
    split_at: float | None,
    split_for: float,
    clients_per_process: int,
    timeout: float,
    fetch_timeout: float,
    workdir: Path | None,
    as_json: bool,
    **opts: Any,
) -> int:
    """Deploy n_a aggregators and n_c clients as OS processes on loopback (TCP), merge their traces."""
    run = run_config(opts)
    assert run.trace is not None
    try:
        run.trace.parent.mkdir(parents=True, exist_ok=True)
        run.trace.open("a").close()
    except OSError as exc:
        raise click.FileError(str(run.trace), hint=exc.strerror or str(exc)) from None
    dep = DeployConfig(
        run,
        roster_flags(opts),
        workdir if workdir is not None else run.trace.with_suffix(".d"),
        kill_aggregators,
        kill_clients,
        delay_ms,
        split_at,
        split_for,
        clients_per_process,
        timeout,
        fetch_timeout,
    )
    try:
        deployment = Deployment(dep)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    console = Console(stderr=as_json)
    with rounds_progress(console, run.protocol.rounds) as (progress, bar):
        deployment.progress = lambda r: progress.update(bar, completed=r)
        try:
            result = deployment.run()
        except (RuntimeError, MergeError) as exc:
            raise click.ClickException(str(exc)) from None
    summary = result.summary
    if as_json:
        click.echo(
            summary_json(summary, extra={"wall_seconds": result.wall, "cpu_by_node": result.cpu_by_node})
        )
    else:
        summary_table(summary, replace(run, behaviour=result.behaviour), console)
        cpu = sorted(result.cpu_by_node.values())
        console.print(
            f"deployment: {len(result.cpu_by_node)} nodes in {result.wall:.1f} s; CPU per node "
            f"{cpu[0]:.2f}..{cpu[-1]:.2f} s (median {cpu[len(cpu) // 2]:.2f}); per-node traces in "
            f"{dep.workdir / 'nodes'}"
            if cpu and not math.isnan(cpu[0])
            else ""
        )
    return 0 if summary.status == "complete" else 1
