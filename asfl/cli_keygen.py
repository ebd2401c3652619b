"""``asfl keygen DIR``: fresh per-node keys (OS entropy) and the public roster of a deployment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from asfl.cli_run import config_options, run_config
from asfl.cli_types import count
from asfl.impl.net.keys import ROSTER_FILE, Roster, keygen, node_names
from asfl.impl.sim.run import RunConfig


def roster_flags(opts: dict[str, Any]) -> dict[str, Any]:
    """The configuration flags as the roster stores them (JSON; no trace path)."""
    return {k: v for k, v in opts.items() if k != "trace_path"}


def roster_run(roster: Roster, path: Path) -> RunConfig:
    """The run configuration a roster stores; a usage error naming the file if it is incomplete."""
    try:
        return run_config({**roster.run, "trace_path": None})
    except KeyError as exc:
        raise click.UsageError(f"{path}: the roster's run lacks the flag {exc.args[0]!r}") from None


@click.command("keygen")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="host of every node (edit the roster per node)"
)
@click.option(
    "--base-port",
    type=count(1, 65535),
    default=7100,
    show_default=True,
    help="A0 listens on BASE, A1 on BASE+1, ..., then C0, C1, ...",
)
@config_options
def command(directory: Path, host: str, base_port: int, **opts: Any) -> int:
    """Write each node's Ed25519 and X25519 private keys and a public roster to DIRECTORY."""
    run = run_config({**opts, "trace_path": None})
    cfg = run.protocol
    names = node_names(cfg.n_aggregators, cfg.n_clients)
    if base_port + len(names) - 1 > 65535:
        raise click.BadParameter(
            f"{len(names)} nodes do not fit above port {base_port}", param_hint="--base-port"
        )
    try:
        keygen(directory, roster_flags(opts), {n: (host, base_port + k) for k, n in enumerate(names)})
    except OSError as exc:
        raise click.FileError(str(directory), hint=exc.strerror or str(exc)) from None
    click.echo(f"{len(names)} nodes: private keys and {directory / ROSTER_FILE} written")
    click.echo(f"run a node with: asfl node --roster {directory / ROSTER_FILE} --keys {directory} --id A0")
    return 0


command.params = [p for p in command.params if p.name != "trace_path"]
