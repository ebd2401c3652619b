"""Benchmark of the adversarial campaign (issue 4): which schedule strategy finds bugs faster.

For each zoo bug and each strategy (uniform random whole runs, PCT, targeted windows, the
stateful machine), runs ``--seeds`` independent campaigns of at most ``--budget`` seconds
(each in its own subprocess on a patched copy of ``impl``) and reports the median time
and number of examples to the first failure, the catch rate and the median shrunk
counterexample length. Also measures raw stateful steps per second on the correct
implementation.

    .venv/bin/python benchmarks/bench_campaign.py --seeds 3 --budget 60 --jobs 2 \
        --out runs/bench_campaign.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from asfl.harness.campaign import STRATEGIES, Recorder, machine_class
from asfl.harness.zoo import BUGS, BY_ID, hunt


def steps_per_second(seconds: float = 20.0) -> dict[str, float]:
    """Stateful steps (simulator actions, all monitors on) per second, correct impl."""
    from hypothesis import settings

    rec = Recorder(shrink_budget=float("inf"))
    rec.deadline = time.monotonic() + seconds
    machine = machine_class(rec)
    machine.TestCase.settings = settings(
        max_examples=10_000, stateful_step_count=30, deadline=None, database=None
    )
    t0 = time.monotonic()
    from asfl.harness.campaign import BudgetExhausted

    with contextlib.suppress(BudgetExhausted):
        machine.TestCase("runTest").runTest()
    dt = time.monotonic() - t0
    return {
        "seconds": round(dt, 1),
        "examples": rec.examples,
        "steps": rec.steps,
        "steps_per_s": round(rec.steps / dt, 1),
        "examples_per_s": round(rec.examples / dt, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bugs", default="", help="comma-separated bug ids (default all)")
    ap.add_argument("--strategies", default=",".join(STRATEGIES))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budget", type=float, default=60.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("runs/bench_campaign.json"))
    ap.add_argument("--skip-speed", action="store_true")
    args = ap.parse_args()
    bugs = [BY_ID[b] for b in args.bugs.split(",") if b] or list(BUGS)
    strategies = [s for s in args.strategies.split(",") if s]
    speed = {} if args.skip_speed else steps_per_second()
    if speed:
        print(f"stateful speed: {speed}", flush=True)
    jobs = [(b, s, seed) for b in bugs for s in strategies for seed in range(args.seeds)]

    def run(job: tuple[Any, str, int]) -> dict[str, Any]:
        bug, strat, seed = job
        try:
            r = hunt(bug, strat, budget_s=args.budget, seed=seed, shrink_budget_s=10.0)
            d = r.to_json()
        except Exception as exc:  # noqa: BLE001
            d = {"bug": bug.id, "strategy": strat, "caught": False, "error": str(exc)[-300:]}
        d["seed"] = seed
        print(
            json.dumps(
                {k: d.get(k) for k in ("bug", "strategy", "seed", "caught", "time_to_first", "shrunk_length")}
            ),
            flush=True,
        )
        return d

    with ThreadPoolExecutor(args.jobs) as pool:
        runs = list(pool.map(run, jobs))
    table: dict[str, dict[str, Any]] = {}
    for b in bugs:
        for s in strategies:
            rs = [r for r in runs if r["bug"] == b.id and r["strategy"] == s]
            hit = [r for r in rs if r.get("caught")]
            table.setdefault(b.id, {})[s] = {
                "caught": f"{len(hit)}/{len(rs)}",
                "median_time_to_first": statistics.median([r["time_to_first"] for r in hit]) if hit else None,
                "median_examples_to_first": statistics.median([r["examples_to_first"] for r in hit])
                if hit
                else None,
                "median_shrunk_length": statistics.median([r["shrunk_length"] for r in hit]) if hit else None,
            }
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "budget_s": args.budget,
        "seeds": args.seeds,
        "speed": speed,
        "table": table,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"{'bug':<30}" + "".join(f"{s:>22}" for s in strategies))
    for b, row in table.items():
        cells = []
        for s in strategies:
            c = row[s]
            t = c["median_time_to_first"]
            cells.append(
                f"{c['caught']:>5} {'-' if t is None else f'{t:.1f}s':>7} "
                f"len {c['median_shrunk_length'] if t is not None else '-':>3}"
            )
        print(f"{b:<30}" + "".join(f"{x:>22}" for x in cells))


if __name__ == "__main__":
    main()
