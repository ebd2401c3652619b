"""``asfl fuzz --minutes N``: the deep adversarial campaign against the real implementation.

Runs Hypothesis campaigns (the model-driven stateful machine and the whole-run random,
PCT and targeted strategies, in turn, with fresh seeds) over configurations that exercise
every rule (``harness.campaign.deep_setups``: 3 or 4 rounds, clusters of 3 to 5 clients,
up to ``t_a`` Byzantine aggregators, crashes) until the time is up. Every failure is
shrunk twice and written to ``--out`` (default ``runs/fuzz/``) as ``found-*.json``;
``--save-regressions`` also saves it to ``tests/regressions/``, which the default test
run replays. At the end it prints the coverage report per rule ID
(``harness.coverage``) and writes it to ``--out``/``coverage.json``; a probe some
honest receiver did not refuse with the guard it targets is MISJUDGED: counted, named,
and not a failure. Exit status (stated in ``--help``): 0 clean, 1 a failure, 3 no failure
but misjudged probes, 2 bad usage.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from pathlib import Path

import click

from asfl.cli_types import SEED, number, seconds, writable_dir, writing

REGRESSIONS = Path(__file__).resolve().parents[1] / "tests" / "regressions"
MISJUDGED_EXIT = 3  # no failure, but some probe misjudged (see the command's help)


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
    """Fuzz the implementation for N minutes (deep profile); save every failure.

    \b
    Exit status:
      0  no failure and no misjudged probe
      1  some run violated a property (each failure saved under --out)
      3  no failure, but some probe was MISJUDGED (an honest receiver did not
         refuse it with the guard it targets; the coverage report names it)
      2  bad usage (one line on stderr)
    """
    from asfl.harness.campaign import DEEP_STEPS, STRATEGIES, deep_setups, run_campaign
    from asfl.harness.coverage import CoverageReport

    writable_dir(out_dir)
    coverage: Counter[str] = Counter()
    strategies = list(STRATEGIES) if strategy == "all" else [strategy]
    rng = random.Random(seed)
    end = time.monotonic() + 60 * minutes
    failures, examples, steps, k = 0, 0, 0, 0
    t0 = time.monotonic()
    while time.monotonic() < end:
        strat = strategies[k % len(strategies)]
        k += 1
        budget = min(slice_s, end - time.monotonic())
        res = run_campaign(
            strat,
            budget_s=budget,
            max_examples=2000,
            seed=rng.randrange(2**32),
            setup_strategy=deep_setups(),
            step_count=DEEP_STEPS,
        )
        examples += res.examples
        steps += res.steps
        coverage.update(res.coverage)
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
    report = CoverageReport.of(coverage)
    for line in report.lines():
        click.echo(line)
    cov_path = out_dir / "coverage.json"
    with writing(cov_path):
        cov_path.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    click.echo(f"coverage written to {cov_path}")
    misjudged = len(report.misjudged)
    click.echo(
        f"fuzz: {examples} examples, {steps} steps ({steps / max(dt, 1e-9):.0f} steps/s), "
        f"{failures} failures, {misjudged} misjudged probes in {dt / 60:.1f} min"
    )
    return 1 if failures else MISJUDGED_EXIT if misjudged else 0
