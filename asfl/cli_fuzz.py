"""``asfl fuzz --minutes N``: the deep adversarial campaign against the real implementation.

Runs Hypothesis campaigns (the stateful machine and the whole-run random, PCT and
targeted strategies, in turn, with fresh seeds) until the time is up. Every failure is
shrunk twice and saved to ``tests/regressions/found-*.json``, which the default test
run then replays. Exit status 1 if anything failed.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import click

from asfl.cli_types import SEED, number, seconds

REGRESSIONS = Path(__file__).resolve().parents[1] / "tests" / "regressions"


@click.command("fuzz")
@click.option(
    "--minutes",
    type=number(0, 7 * 24 * 60, low_open=True),
    default=5.0,
    show_default=True,
    help="Wall-clock budget.",
)
@click.option(
    "--strategy",
    type=click.Choice(["all", "stateful", "random", "pct", "targeted"]),
    default="all",
    show_default=True,
)
@click.option(
    "--slice",
    "slice_s",
    type=seconds(),
    default=120.0,
    show_default=True,
    help="Seconds per campaign before switching strategy and seed.",
)
@click.option("--seed", type=SEED, default=None, help="Seed of the seed sequence (default random).")
def command(minutes: float, strategy: str, slice_s: float, seed: int | None) -> int:
    """Fuzz the implementation for N minutes (deep profile); save every failure."""
    from asfl.harness.campaign import STRATEGIES, run_campaign

    strategies = list(STRATEGIES) if strategy == "all" else [strategy]
    rng = random.Random(seed)
    end = time.monotonic() + 60 * minutes
    failures, examples, steps, k = 0, 0, 0, 0
    t0 = time.monotonic()
    while time.monotonic() < end:
        strat = strategies[k % len(strategies)]
        k += 1
        budget = min(slice_s, end - time.monotonic())
        res = run_campaign(strat, budget_s=budget, max_examples=2000, seed=rng.randrange(2**32))
        examples += res.examples
        steps += res.steps
        if res.found and res.schedule is not None:
            failures += 1
            res.schedule.note = f"found by asfl fuzz ({strat}) against the real implementation"
            path = res.schedule.save(REGRESSIONS / f"found-{strat}-{int(time.time())}.json")
            click.echo(f"FAILURE ({strat}): {res.violation}; saved {path}")
        else:
            click.echo(f"{strat}: {res.examples} examples, no failure")
    dt = time.monotonic() - t0
    click.echo(
        f"fuzz: {examples} examples, {steps} steps ({steps / max(dt, 1e-9):.0f} steps/s), "
        f"{failures} failures in {dt / 60:.1f} min"
    )
    return 1 if failures else 0
