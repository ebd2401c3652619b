"""``asfl fuzz --minutes N``: the deep adversarial campaign against the real implementation.

Runs Hypothesis campaigns (the stateful machine and the whole-run random, PCT and
targeted strategies, in turn, with fresh seeds) until the time is up. Every failure is
shrunk twice and written to ``--out`` (default ``runs/fuzz/``) as ``found-*.json``;
``--save-regressions`` also saves it to ``tests/regressions/``, which the default test
run replays. Exit status 1 if anything failed.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import click

from asfl.cli_types import SEED, number, seconds, writable_dir

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
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("runs/fuzz"),
    show_default=True,
    help="Directory the failing schedules are written to.",
)
@click.option(
    "--save-regressions",
    is_flag=True,
    help="Also save each failure to tests/regressions/ (the replayed corpus).",
)
def command(
    minutes: float, strategy: str, slice_s: float, seed: int | None, out_dir: Path, save_regressions: bool
) -> int:
    """Fuzz the implementation for N minutes (deep profile); save every failure."""
    from asfl.harness.campaign import STRATEGIES, run_campaign

    writable_dir(out_dir)
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
            name = f"found-{strat}-{int(time.time())}.json"
            path = res.schedule.save(out_dir / name)
            if save_regressions:
                res.schedule.save(REGRESSIONS / name)
            click.echo(f"FAILURE ({strat}): {res.violation}; saved {path}")
        else:
            click.echo(f"{strat}: {res.examples} examples, no failure")
    dt = time.monotonic() - t0
    click.echo(
        f"fuzz: {examples} examples, {steps} steps ({steps / max(dt, 1e-9):.0f} steps/s), "
        f"{failures} failures in {dt / 60:.1f} min"
    )
    return 1 if failures else 0
