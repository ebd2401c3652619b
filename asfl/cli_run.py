"""``asfl run``: a complete simulated training with progress and a summary."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from threadpoolctl import threadpool_limits

from asfl.cli_types import SEED, count, number, writable_file, writing
from asfl.impl.config import RULES, ConfigError, ProtocolConfig
from asfl.impl.learning.data import TASKS
from asfl.impl.learning.models import MODELS
from asfl.impl.sim.byzantine import BEHAVIOURS
from asfl.impl.sim.run import RunConfig, RunSummary, build, summarise
from asfl.impl.sim.schedulers import DEFAULT_FETCH_TIMEOUT, SCHEDULERS
from asfl.impl.sim.simulator import Simulator

DEFAULT = ProtocolConfig()
# Upper bounds of the simulated sizes: every run also stops at RunConfig.max_steps.
MAX_CLIENTS = 100_000  # the checker's header bound (checker/base.py)
MAX_AGGREGATORS = 100
MAX_ROUNDS = 1000


def config_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The flags shared by every command that takes a configuration."""
    options = [
        click.option(
            "--clients",
            type=count(1, MAX_CLIENTS),
            default=DEFAULT.n_clients,
            show_default=True,
            help="number of clients n_c",
        ),
        click.option(
            "--aggregators",
            type=count(1, MAX_AGGREGATORS),
            default=DEFAULT.n_aggregators,
            show_default=True,
            help="number of aggregators n_a",
        ),
        click.option(
            "--byzantine",
            type=count(0, MAX_AGGREGATORS),
            default=1,
            show_default=True,
            help="how many aggregators behave Byzantine",
        ),
        click.option(
            "--behaviour",
            type=click.Choice(sorted(BEHAVIOURS)),
            default="equivocate",
            show_default=True,
            help="what the Byzantine aggregators do",
        ),
        click.option(
            "--crashed",
            type=count(0, MAX_CLIENTS),
            default=2,
            show_default=True,
            help="how many clients crash during the run",
        ),
        click.option("--rounds", type=count(1, MAX_ROUNDS), default=DEFAULT.rounds, show_default=True),
        click.option("--seed", type=SEED, default=0, show_default=True),
        click.option("--scheduler", type=click.Choice(SCHEDULERS), default="random", show_default=True),
        click.option(
            "--trace",
            "trace_path",
            type=click.Path(dir_okay=False, path_type=Path),
            default=Path("runs/latest.jsonl"),
            show_default=True,
            help="where the JSONL trace goes",
        ),
        click.option(
            "--t-a",
            "t_a",
            type=count(0, MAX_AGGREGATORS),
            default=None,
            help="Byzantine bound t_a [default: floor((n_a - 1) / 3)]",
        ),
        click.option(
            "--t-c",
            "t_c",
            type=count(0, MAX_CLIENTS),
            default=DEFAULT.t_c,
            show_default=True,
            help="crash bound t_c",
        ),
        click.option(
            "--q-min",
            "q_min",
            type=count(1, MAX_CLIENTS),
            default=None,
            help="smallest revealed set [default: half a cluster, within R-1]",
        ),
        click.option(
            "--rule",
            type=click.Choice(RULES),
            default=DEFAULT.rule,
            show_default=True,
            help="robust inter-cluster aggregator",
        ),
        click.option(
            "--noise-multiplier",
            type=number(0, 1e6),
            default=DEFAULT.noise_multiplier,
            show_default=True,
        ),
        click.option(
            "--partition", type=click.Choice(["iid", "dirichlet"]), default="iid", show_default=True
        ),
        click.option(
            "--alpha",
            type=number(0, 1e6, low_open=True),
            default=0.5,
            show_default=True,
            help="Dirichlet concentration for --partition dirichlet",
        ),
        click.option(
            "--task",
            type=click.Choice(TASKS),
            default="digits",
            show_default=True,
            help="data set: scikit-learn digits (1,347 training samples) or MNIST-1D (16,000)",
        ),
        click.option(
            "--model",
            type=click.Choice(sorted(MODELS)),
            default="softmax",
            show_default=True,
            help="softmax regression or a 2x100 ReLU MLP",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def run_config(opts: dict[str, Any]) -> RunConfig:
    """Turn the shared flags into a validated :class:`RunConfig` (R-1); ``click.UsageError`` if invalid."""
    n_a, n_c = opts["aggregators"], opts["clients"]
    t_a = opts["t_a"] if opts["t_a"] is not None else (n_a - 1) // 3
    k_min = n_c // max(n_a, 1)
    q_min = (
        opts["q_min"] if opts["q_min"] is not None else max(2, min(k_min - opts["t_c"], math.ceil(k_min / 2)))
    )
    protocol = replace(
        DEFAULT,
        n_clients=n_c,
        n_aggregators=n_a,
        t_a=t_a,
        t_c=opts["t_c"],
        q_min=q_min,
        rounds=opts["rounds"],
        rule=opts["rule"],
        noise_multiplier=opts["noise_multiplier"],
    )
    try:
        protocol.validate()
    except ConfigError as exc:
        raise click.UsageError(f"invalid configuration: {exc}") from None
    if opts["byzantine"] > n_a:
        raise click.UsageError(f"--byzantine {opts['byzantine']} exceeds --aggregators {n_a}")
    if opts["crashed"] > n_c:
        raise click.UsageError(f"--crashed {opts['crashed']} exceeds --clients {n_c}")
    return RunConfig(
        protocol,
        seed=opts["seed"],
        scheduler=opts["scheduler"],
        byzantine=opts["byzantine"],
        behaviour=opts["behaviour"],
        crashed=opts["crashed"],
        partition=opts["partition"],
        alpha=opts["alpha"],
        trace=opts["trace_path"],
        task=opts["task"],
        model=opts["model"],
        keep_events=False,  # built without a trace path (keygen, deploy): keep no events
    )


def summary_table(summary: RunSummary, run: RunConfig, console: Console) -> None:
    cfg = run.protocol
    byz = ", ".join(f"A{j}" for j in summary.byzantine) or "none"
    crashed = ", ".join(f"C{i}" for i in summary.crashed) or "none"
    console.print(f"[bold]status[/]: {summary.status} — {summary.detail}")
    console.print(f"Byzantine ({run.behaviour}): {byz}; crashed clients: {crashed}")
    table = Table(title="honest aggregators")
    table.add_column("aggregator")
    table.add_column("rounds completed", justify="right")
    table.add_column("test accuracy", justify="right")
    for name, acc in summary.accuracy.items():
        table.add_row(name, f"{summary.rounds_done[name]}/{cfg.rounds}", f"{acc:.3f}")
    console.print(table)
    correct = {i: n for i, n in summary.inclusions.items() if i not in summary.crashed}
    console.print(inclusion_line(summary.inclusions))
    if correct:
        lo, hi = min(correct.values()), max(correct.values())
        eps = [summary.epsilons[i] for i in correct]
        console.print(
            f"correct clients: inclusions {lo}..{hi} (spread {hi - lo}); "
            f"privacy spent epsilon {min(eps):.1f}..{max(eps):.1f} at delta 1e-5 "
            f"(noise multiplier {cfg.noise_multiplier})"
        )
    sent = sum(summary.bytes_by_kind.values())
    console.print(f"{summary.steps} steps, {summary.messages} messages, {sent / 1e6:.1f} MB on the wire")
    if summary.received is not None:
        console.print(summary.received.line())
    console.print(f"trace: {summary.trace}  (check it with: asfl check {summary.trace})")


#: above this many clients the summary gives how many clients have each inclusion count
LIST_LIMIT = 48


def inclusion_line(inclusions: dict[int, int]) -> str:
    """Inclusion counts (D-10): per client for a small run, else how many clients have each
    count (a 10,000-client run would print 10,000 entries; ``--json`` has them all)."""
    if len(inclusions) <= LIST_LIMIT:
        counts = ", ".join(f"C{i}:{n}" for i, n in inclusions.items())
        return f"inclusion counts per client: {counts}"
    tally = Counter(inclusions.values())
    shown = ", ".join(f"{k} client{'s' * (k > 1)} at {n}" for n, k in sorted(tally.items()))
    return f"inclusion counts ({len(inclusions)} clients; per client with --json): {shown}"


def summary_json(summary: RunSummary, extra: dict[str, Any] | None = None) -> str:
    """The summary as one JSON object (``--json``)."""
    return json.dumps(
        {
            "status": summary.status,
            "detail": summary.detail,
            "rounds_done": summary.rounds_done,
            "accuracy": summary.accuracy,
            "inclusions": summary.inclusions,
            "epsilons": summary.epsilons,
            "byzantine": summary.byzantine,
            "crashed": summary.crashed,
            "trace": str(summary.trace),
            "messages": summary.messages,
            "bytes_by_kind": summary.bytes_by_kind,
            "received_per_client_round": None
            if summary.received is None
            else {
                "mean": summary.received.mean,
                "max": summary.received.max,
                "model_bytes": summary.received.model,
            },
            **(extra or {}),
        }
    )


@contextmanager
def rounds_progress(console: Console, rounds: int) -> Iterator[tuple[Progress, TaskID]]:
    """The progress bar of a run (simulated or deployed): rounds of the slowest honest aggregator."""
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        yield progress, progress.add_task("rounds (slowest honest aggregator)", total=rounds)


@click.command("run")
@config_options
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
@click.option(
    "--ghost/--no-ghost",
    default=True,
    show_default=True,
    help="write ghost fields (plaintext updates and masks, for the checker's P-1)",
)
@click.option(
    "--fetch-timeout",
    type=number(0, 1e9, low_open=True),
    default=DEFAULT_FETCH_TIMEOUT,
    show_default=True,
    help="D-22 body-fetch timer of --scheduler timed, in virtual time (median link delay 1.0); "
    "random and fifo fire a timer once nothing is in flight to its client",
)
def command(as_json: bool, ghost: bool, fetch_timeout: float, **opts: Any) -> int:
    """Run a complete multi-round training in the deterministic simulator."""
    run = replace(run_config(opts), ghost=ghost, fetch_timeout=fetch_timeout)
    if run.trace is not None:  # an unusable trace path is one line before the run, not a traceback
        writable_file(run.trace)
    console = Console(stderr=as_json)
    with rounds_progress(console, run.protocol.rounds) as (progress, bar):
        honest: list[str] = []

        def on_step(sim: Simulator) -> None:
            if not honest:  # once: scanning every node each time is quadratic in n_c
                honest.extend(n for n in sim.honest if n.startswith("A"))
            progress.update(bar, completed=min((sim.nodes[n].rounds_done for n in honest), default=0))

        try:  # for instance more clients than the task has training samples
            built = build(run)
        except ValueError as exc:
            raise click.UsageError(f"invalid configuration: {exc}") from None
        # the simulator is sequential; BLAS threads on small products only contend
        with writing(run.trace or "trace"), threadpool_limits(1):  # the trace is the run's only output
            summary = summarise(built, built.sim.run(run.max_steps, on_step))
    if as_json:
        click.echo(summary_json(summary))
    else:
        summary_table(summary, run, console)
    return 0 if summary.status == "complete" else 1
