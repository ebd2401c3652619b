"""``asfl node``: run the nodes named by ``--id`` of a deployment described by a roster.

Each node listens on its roster address, talks TCP to its peers, writes its own trace
(``TRACE_DIR/<name>.jsonl``) and prints JSON status lines on stdout. It exits when every
hosted node is done and every message it sent is acknowledged (after ``--linger``
seconds), on SIGTERM, or, with exit code 1, when ``--max-seconds`` pass first.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from pathlib import Path
from typing import Any

import click

from asfl.cli_keygen import roster_run
from asfl.cli_types import number, seconds
from asfl.impl.net.compose import final_report, hosted, scenario
from asfl.impl.net.host import FETCH_TIMEOUT, Host, KillPoint
from asfl.impl.net.keys import KeyFileError, load_private, load_roster
from asfl.impl.net.links import LinkFaults, Partition


def _pairs(values: tuple[str, ...], flag: str) -> dict[str, str]:
    out = {}
    for v in values:
        name, sep, rest = v.partition("=")
        if not sep:
            raise click.BadParameter(f"{v!r} is not NAME=VALUE", param_hint=flag)
        out[name] = rest
    return out


def _kill_points(values: tuple[str, ...]) -> dict[str, KillPoint]:
    out = {}
    for name, spec in _pairs(values, "--die-at").items():
        try:
            r, s = (int(x) for x in spec.split(":"))
        except ValueError:
            raise click.BadParameter(f"{spec!r} is not ROUND:STEP", param_hint="--die-at") from None
        out[name] = KillPoint(r, s)
    return out


def _listen(roster_peers: Any, names: list[str], fds: dict[str, str]) -> dict[str, socket.socket]:
    """Inherited listening sockets (``asfl deploy``), or bind each roster address here."""
    socks = {}
    for name in names:
        if name in fds:
            socks[name] = socket.socket(fileno=int(fds[name]))
            continue
        peer = roster_peers[name]
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((peer.host, peer.port))
        except OSError as exc:
            s.close()
            raise click.UsageError(
                f"{name}: cannot listen on {peer.host}:{peer.port}: {exc.strerror or exc}"
            ) from None
        s.listen(128)
        socks[name] = s
    return socks


FETCH_TIMEOUT_OPTION = click.option(
    "--fetch-timeout",
    type=seconds(),
    default=FETCH_TIMEOUT,
    show_default=True,
    help="seconds a client waits for a body before fetching it (D-22)",
)
"""``asfl node``'s and ``asfl deploy``'s D-22 timer flag."""


def _emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def _log(line: str) -> None:
    sys.stderr.write(f"asfl node: {line}\n")
    sys.stderr.flush()


@click.command("node")
@click.option("--roster", "roster_path", type=click.Path(path_type=Path), required=True, help="roster.json")
@click.option("--id", "ids", multiple=True, required=True, help="node to run (repeat for several)")
@click.option("--keys", "keys_dir", type=click.Path(path_type=Path), required=True, help="key directory")
@click.option(
    "--trace-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("runs/nodes"),
    show_default=True,
    help="where each node writes NAME.jsonl",
)
@click.option(
    "--linger",
    type=seconds(allow_zero=True),
    default=5.0,
    show_default=True,
    help="seconds to stay once done and drained (peers may still need this node)",
)
@click.option(
    "--max-seconds",
    type=seconds(),
    default=None,
    help="watchdog: give up (exit 1) after this long",
)
@FETCH_TIMEOUT_OPTION
@click.option("--stay", is_flag=True, hidden=True, help="run until SIGTERM (asfl deploy)")
@click.option("--listen-fd", multiple=True, hidden=True, help="NAME=FD inherited listening socket")
@click.option("--die-at", multiple=True, hidden=True, help="NAME=ROUND:STEP: SIGKILL there")
@click.option("--delay-ms", type=number(0, 60_000), default=0.0, hidden=True, help="mean link delay")
@click.option(
    "--split",
    default=None,
    hidden=True,
    help="NAMES,...: one side of a partition that SIGUSR1 cuts and SIGUSR2 heals",
)
@click.option(
    "--task",
    "task_path",
    type=click.Path(path_type=Path),
    default=None,
    hidden=True,
    help="the learning task as saved by asfl deploy (saves loading scikit-learn)",
)
def command(
    roster_path: Path,
    ids: tuple[str, ...],
    keys_dir: Path,
    trace_dir: Path,
    linger: float,
    max_seconds: float | None,
    fetch_timeout: float,
    stay: bool,
    listen_fd: tuple[str, ...],
    die_at: tuple[str, ...],
    delay_ms: float,
    split: str | None,
    task_path: Path | None,
) -> int:
    """Run one or more nodes of a deployment (see asfl keygen)."""
    try:
        roster = load_roster(roster_path)
    except KeyFileError as exc:
        raise click.UsageError(str(exc)) from None
    names = list(dict.fromkeys(ids))
    unknown = [n for n in names if n not in roster.peers]
    if unknown:
        raise click.BadParameter(f"{unknown[0]} is not in {roster_path}", param_hint="--id")
    run = roster_run(roster, roster_path)
    try:
        keys = {n: load_private(keys_dir, n, roster) for n in names}
    except KeyFileError as exc:
        raise click.UsageError(str(exc)) from None
    kills = _kill_points(die_at)
    side = Partition(frozenset(split.split(","))) if split is not None else None
    faults = LinkFaults(delay=delay_ms / 1000, seed=run.seed, split=side)
    socks = _listen(roster.peers, names, _pairs(listen_fd, "--listen-fd"))
    sc = scenario(run, task_path)
    nodes = {n: hosted(sc, roster, n, keys[n], trace_dir, kills.get(n)) for n in names}
    host = Host(
        roster,
        nodes,
        faults,
        _emit,
        _log,
        lambda: final_report(sc, nodes),
        listen=socks,
        linger=None if stay else linger,
        max_seconds=max_seconds,
        fetch_timeout=fetch_timeout,
    )
    asyncio.run(host.run())
    if host.timed_out:
        return 1
    return 0


def main() -> int:
    """``python -m asfl.cli_node``: what ``asfl deploy`` spawns (imports only this command)."""
    try:
        return int(command.main(prog_name="asfl node", standalone_mode=False) or 0)
    except click.ClickException as exc:
        click.echo(f"asfl node: error: {exc.format_message()}", err=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
