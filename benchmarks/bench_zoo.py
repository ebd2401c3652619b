"""Zoo benchmark (issue 9, deliverable 4): time to first failure per bug and search strategy.

For each bug, strategy and seed, one ``asfl zoo`` hunt (a subprocess on a patched copy of
``impl``, ``--budget`` seconds of search); one row each, printed (and written to ``--csv``
if given; nothing is written otherwise): caught, time and examples to the first failure,
the counterexample's length before and after shrinking (actions, plus its
completion-order rules), wall time and load. Then, per bug and strategy, the median and
worst time to the first failure over the seeds (a miss counts as the budget). Seed ``k``
is the Hypothesis seed and is also added to every drawn setup's simulation seed
(:func:`harness.zoo_worker.directed_setups`): Hypothesis's first example is the same
minimal draw under every seed, so without the offset the seeds of a bug caught on its
first example would measure timing noise.

Strategies: ``uniform`` (the stateful machine, setups drawn uniformly: the zoo before
issue 9), ``directed`` (the zoo's default: the bug's focus, ``harness.zoo.FOCUS``, then the
stateful machine for bugs without one), and the whole-run families ``random``, ``pct``
and ``targeted`` (undirected).

    python benchmarks/bench_zoo.py --bugs accept-uncertified-model,catch-up-reversed \\
        --strategies uniform,directed --seeds 3 --budget 60 --jobs 2 --csv runs/bench_zoo.csv
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import statistics
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from asfl.harness.zoo import BUGS, BY_ID, Bug, hunt

STRATEGIES = {
    "uniform": ("stateful", False),
    "directed": ("stateful", True),
    "random": ("random", False),
    "pct": ("pct", False),
    "targeted": ("targeted", False),
}
FIELDS = ["bug", "strategy", "seed", "caught", "time_to_first", "examples_to_first", "raw_length"]
FIELDS += ["shrunk_actions", "order_rules", "seconds", "load", "error"]


def one(bug: Bug, strategy: str, seed: int, budget: float, shrink: float) -> dict[str, Any]:
    """One hunt; its row (the counterexample is read back for its actions and order rules:
    ``ZooResult.shrunk_length`` counts both, :func:`harness.schedule.length`)."""
    family, directed = STRATEGIES[strategy]
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-zoo-") as tmp:
        try:
            r = hunt(bug, family, budget, seed, shrink, out_dir=Path(tmp), directed=directed)
        except Exception as exc:  # noqa: BLE001 - a failed worker is a row, not the end
            return {
                "bug": bug.id,
                "strategy": strategy,
                "seed": seed,
                "caught": False,
                "error": str(exc)[-200:],
            }
        saved = json.loads(Path(r.saved_file).read_text()) if r.saved_file else None
        acts = None if saved is None else len(saved["actions"])
        rules = None if saved is None else len(saved.get("order", []))
    return {
        "bug": bug.id,
        "strategy": strategy,
        "seed": seed,
        "caught": r.caught and r.error is None,
        "time_to_first": r.time_to_first,
        "examples_to_first": r.examples_to_first,
        "raw_length": r.raw_length,
        "shrunk_actions": acts,
        "order_rules": rules,
        "seconds": round(r.seconds, 1),
        "load": round(load, 2),
        "error": r.error,
    }


def summary(rows: list[dict[str, Any]], budget: float) -> list[str]:
    """Per bug and strategy: catches, median and worst time to first failure (miss = budget)."""
    out = []
    keys = sorted({(r["bug"], r["strategy"]) for r in rows})
    for bug, strat in keys:
        mine = [r for r in rows if (r["bug"], r["strategy"]) == (bug, strat)]
        times = [r["time_to_first"] if r["caught"] else budget for r in mine]
        caught = sum(1 for r in mine if r["caught"])
        lengths = [(r["shrunk_actions"] or 0) + (r["order_rules"] or 0) for r in mine if r["caught"]]
        out.append(
            f"{bug:32s} {strat:9s} caught {caught}/{len(mine)}  median {statistics.median(times):6.1f} s  "
            f"worst {max(times):6.1f} s  scheduled actions (max) {max(lengths) if lengths else '-'}"
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bugs", default="", help="comma-separated bug ids (default all)")
    ap.add_argument("--strategies", default="uniform,directed")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budget", type=float, default=60.0)
    ap.add_argument("--shrink", type=float, default=40.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--csv", type=Path, help="also write the rows here (nothing is written without it)")
    a = ap.parse_args()
    unknown = [b for b in a.bugs.split(",") if b and b not in BY_ID]
    strategies = [s for s in a.strategies.split(",") if s]
    if unknown or not set(strategies) <= set(STRATEGIES):
        ap.error(f"unknown bugs {unknown} or strategies (choose from {', '.join(STRATEGIES)})")
    bugs = [BY_ID[b] for b in a.bugs.split(",") if b] or list(BUGS)
    jobs = [(b, s, seed) for b in bugs for s in strategies for seed in range(a.seeds)]
    print(f"{len(jobs)} hunts, {a.jobs} at a time, load {os.getloadavg()[0]:.2f}", flush=True)
    rows: list[dict[str, Any]] = []
    with contextlib.ExitStack() as stack, ThreadPoolExecutor(a.jobs) as pool:
        w = None
        if a.csv is not None:
            a.csv.parent.mkdir(parents=True, exist_ok=True)
            f = stack.enter_context(a.csv.open("w", newline="", encoding="utf-8"))
            w = csv.DictWriter(f, FIELDS)
            w.writeheader()
        for row in pool.map(lambda job: one(job[0], job[1], job[2], a.budget, a.shrink), jobs):
            rows.append(row)
            if w is not None:
                w.writerow(row)
                f.flush()
            print(json.dumps(row), flush=True)
    print("\n".join(summary(rows, a.budget)))
    print(f"load {os.getloadavg()[0]:.2f}" + (f"; rows in {a.csv}" if a.csv is not None else ""))


if __name__ == "__main__":
    main()
