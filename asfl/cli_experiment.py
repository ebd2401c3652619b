"""``asfl experiment NAME``: the learning experiments (experiments/catalog.py).

Each writes CSV files and a PNG plot to ``--out`` (default runs/experiments/NAME/).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from asfl.cli_types import SEED, count, number, parse_list, writable_dir, writing
from asfl.experiments.catalog import EXPERIMENTS, Options, run_experiment

MAX_ROUNDS = 1000


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return value


@click.command("experiment")
@click.argument("name", type=click.Choice(list(EXPERIMENTS)))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="output directory [default: runs/experiments/NAME]",
)
@click.option("--full", is_flag=True, help="more seeds and rounds (takes longer)")
@click.option("--seeds", type=str, default=None, help="comma-separated seeds [default: 0; --full: 0,1,2]")
@click.option("--rounds", type=count(1, MAX_ROUNDS), default=None, help="rounds per run")
@click.option(
    "--beta",
    type=number(0, 1, high_open=True),
    default=None,
    help="client momentum beta for every run [default: 0.9]",
)
@click.option(
    "--values",
    type=str,
    default=None,
    help="comma-separated noise multipliers (noise), betas (momentum) or target epsilons (dp-vs-ldp)",
)
@click.option("--rules", type=str, default=None, help="comma-separated rules (forgery)")
def command(
    name: str,
    out: Path | None,
    full: bool,
    seeds: str | None,
    rounds: int | None,
    beta: float | None,
    values: str | None,
    rules: str | None,
) -> int:
    """Run a learning experiment through the simulated protocol: inclusion, noise, forgery, momentum,
    inclusion-at-scale, async-vs-sync."""
    opts = Options(
        out=out or Path("runs/experiments") / name,
        full=full,
        seeds=parse_list(seeds, SEED, "--seeds"),
        rounds=rounds,
        beta=beta,
        values=parse_list(values, number(0, 1e6), "--values"),
        rules=rules.split(",") if rules else None,
        log=lambda line: click.echo(line, err=True),
    )
    writable_dir(opts.out)
    try:
        with writing(opts.out):
            summary = run_experiment(name, opts)
    except ValueError as exc:  # an invalid rule or configuration
        raise click.UsageError(str(exc)) from None
    click.echo(json.dumps(_jsonable(summary), indent=1))
    click.echo(f"wrote {', '.join(sorted(p.name for p in opts.out.iterdir()))} to {opts.out}", err=True)
    return 0
