"""Benchmark of the adversarial campaign (issue 4): which schedule strategy finds bugs faster.

For each zoo bug and each strategy (uniform random whole runs, PCT, targeted windows, the
stateful machine), runs ``--seeds`` independent campaigns of at most ``--budget`` seconds
(each in its own subprocess on a patched copy of ``impl``) and reports the median time
and number of examples to the first failure, the catch rate and the median shrunk
counterexample length. Also measures stateful steps per second of the model-driven
machine on the correct implementation, with and without online checking, in the same
process (``--only-speed`` for that alone). ``--coverage-seeds 10-19`` runs the coverage
test's campaign (``tests/stateful/test_coverage.py``: the deep setups, ``--coverage-examples``
examples) once per Hypothesis seed and prints, per seed, what it left unexercised or
misjudged (:class:`harness.coverage.CoverageReport`), its steps and its CPU rate; it exits 1
if any seed missed something.

    .venv/bin/python benchmarks/bench_campaign.py --seeds 3 --budget 60 --jobs 2 \
        --out runs/bench_campaign.json
    .venv/bin/python benchmarks/bench_campaign.py --coverage-seeds 10-19

``--against DIR`` (another checkout, e.g. ``git worktree add --detach DIR main``): the fixed
work of ``--speed-examples`` (default 8) with and without the online checker, seeds 0 and
1, each run in a subprocess on that tree and on this one alternately (``--repeat`` rounds),
prints steps per CPU second of both trees and their ratio per mode, with the load: a
before/after comparison under the same load (the two trees run the same steps when the
implementation's behaviour is unchanged; the line says whether they did).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from asfl.harness.campaign import DEEP_STEPS, STRATEGIES, deep_setups, run_campaign
from asfl.harness.coverage import CoverageReport
from asfl.harness.zoo import BUGS, BY_ID, hunt


def steps_per_second(
    seconds: float = 20.0, checker: bool = True, seed: int = 0, examples: int | None = None
) -> dict[str, Any]:
    """Stateful steps (implementation actions, every one judged online by the monitors)
    per second of the model-driven machine over :func:`deep_setups`, correct impl.
    ``checker=False`` leaves the online checker out (white-box oracles only). Reports
    wall-clock and CPU rates: on a shared machine the CPU rate is the comparable one.
    ``examples``: run exactly that many examples instead of for ``seconds`` (fixed work:
    the same steps in every tree and run, so two trees' rates compare step for step)."""
    old = os.environ.get("ASFL_HARNESS_CHECKER")
    os.environ["ASFL_HARNESS_CHECKER"] = "1" if checker else "0"
    budget, most = (seconds, 10_000) if examples is None else (float("inf"), examples)
    try:
        c0, t0 = time.process_time(), time.monotonic()
        res = run_campaign(
            "stateful", budget_s=budget, max_examples=most, seed=seed, setup_strategy=deep_setups()
        )
        cpu, wall = time.process_time() - c0, time.monotonic() - t0
    finally:
        if old is None:
            del os.environ["ASFL_HARNESS_CHECKER"]
        else:
            os.environ["ASFL_HARNESS_CHECKER"] = old
    if res.found:
        raise SystemExit(f"the correct implementation failed: {res.violation}")
    return {
        "checker": checker,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "examples": res.examples,
        "steps": res.steps,
        "steps_per_wall_s": round(res.steps / wall, 1),
        "steps_per_cpu_s": round(res.steps / cpu, 1),
    }


def speed(seconds: float, examples: int | None = None) -> dict[str, Any]:
    """With and without online checking, in this process, alternating (noise), and the
    ratio of their CPU rates; with the load average before and after. ``examples``: each
    of the four runs is that many examples (fixed work) instead of ``seconds / 4``."""
    import asfl.checker.replay  # noqa: F401 - imported once, outside the measured runs (scipy, dp-accounting)

    load0 = os.getloadavg()
    runs = [
        steps_per_second(seconds / 4, checker=c, seed=k, examples=examples)
        for k in range(2)
        for c in (True, False)
    ]
    with_c = [r for r in runs if r["checker"]]
    without = [r for r in runs if not r["checker"]]

    def rate(rs: list[dict[str, Any]], key: str) -> float:
        return sum(r["steps"] for r in rs) / sum(r[key] for r in rs)

    return {
        "loadavg_before": [round(x, 2) for x in load0],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "runs": runs,
        "with_checker_steps_per_cpu_s": round(rate(with_c, "cpu_s"), 1),
        "without_checker_steps_per_cpu_s": round(rate(without, "cpu_s"), 1),
        "with_checker_steps_per_wall_s": round(rate(with_c, "wall_s"), 1),
        "without_checker_steps_per_wall_s": round(rate(without, "wall_s"), 1),
        "checker_cost_ratio": round(rate(without, "cpu_s") / rate(with_c, "cpu_s"), 2),
    }


#: One fixed-work campaign in a subprocess (tree, checker 0/1, examples, seed): prints its
#: steps and the CPU seconds of the campaign alone (imports first, outside the measure).
_ONE = """
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
os.environ["ASFL_HARNESS_CHECKER"] = sys.argv[2]
import asfl.checker.replay  # scipy, dp-accounting: imported before the measured run
from asfl.harness.campaign import deep_setups, run_campaign
c0 = time.process_time()
res = run_campaign("stateful", budget_s=float("inf"), max_examples=int(sys.argv[3]),
                   seed=int(sys.argv[4]), setup_strategy=deep_setups())
print(json.dumps({"steps": res.steps, "cpu": time.process_time() - c0, "found": res.found}))
"""


def against(base: Path, examples: int, repeat: int) -> dict[str, Any]:
    """Alternate the fixed-work speed runs between ``base`` and this tree (see the module
    docstring); per mode (with / without the checker) both trees' steps per CPU second,
    summed over seeds 0 and 1 and the ``repeat`` rounds, and their ratio (this / base)."""
    import subprocess
    import sys

    here = Path(__file__).resolve().parent.parent
    trees = {"base": base.resolve(), "this": here}
    load0 = os.getloadavg()
    runs: list[dict[str, Any]] = []
    for _ in range(repeat):
        for checker in ("1", "0"):
            for seed in (0, 1):
                for name, tree in trees.items():
                    env = dict(os.environ, PYTHONPATH=str(tree))
                    cmd = [sys.executable, "-c", _ONE, str(tree), checker, str(examples), str(seed)]
                    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
                    got = json.loads(out.stdout.splitlines()[-1])
                    runs.append({"tree": name, "checker": checker == "1", "seed": seed, **got})
    result: dict[str, Any] = {"loadavg_before": [round(x, 2) for x in load0], "runs": runs}
    for checker, mode in ((True, "with_checker"), (False, "without_checker")):
        rate = {}
        for name in trees:
            rs = [r for r in runs if r["tree"] == name and r["checker"] == checker]
            rate[name] = sum(r["steps"] for r in rs) / sum(r["cpu"] for r in rs)
            result[f"{mode}_{name}_steps_per_cpu_s"] = round(rate[name], 1)
        result[f"{mode}_ratio"] = round(rate["this"] / rate["base"], 3)
        same = {(r["seed"], r["steps"]) for r in runs if r["checker"] == checker and r["tree"] == "base"} == {
            (r["seed"], r["steps"]) for r in runs if r["checker"] == checker and r["tree"] == "this"
        }
        print(
            f"{mode:16s} base {rate['base']:7.0f} steps/CPU s  this {rate['this']:7.0f}  "
            f"ratio {rate['this'] / rate['base']:.3f}x  ({'same' if same else 'DIFFERENT'} steps)",
            flush=True,
        )
    result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    print(f"load average {result['loadavg_before'][0]} -> {result['loadavg_after'][0]}", flush=True)
    return result


def coverage_sweep(seeds: list[int], examples: int = 4) -> list[dict[str, Any]]:
    """The coverage test's campaign once per Hypothesis seed: what each left unexercised
    or misjudged, with its examples, steps and CPU rate (one line per seed)."""
    rows = []
    for seed in seeds:
        c0 = time.process_time()
        res = run_campaign(
            "stateful",
            budget_s=3600.0,
            max_examples=examples,
            seed=seed,
            setup_strategy=deep_setups(),
            step_count=DEEP_STEPS,
        )
        cpu = time.process_time() - c0
        report = CoverageReport.of(res.coverage)
        row = {
            "seed": seed,
            "found": res.found,
            "unexercised": report.unexercised,
            "misjudged": report.misjudged,
            "replays": sum(report.replays.values()),
            "examples": res.examples,
            "steps": res.steps,
            "cpu_s": round(cpu, 1),
            "steps_per_cpu_s": round(res.steps / cpu, 1),
        }
        missed = report.unexercised + report.misjudged + ([] if row["replays"] else ["no replay"])
        row["missed"] = missed + (["a violation"] if res.found else [])
        rows.append(row)
        print(
            f"seed {seed:>3}: {'MISSES ' + ', '.join(row['missed']) if row['missed'] else 'ok'}"
            f" ({res.examples} examples, {res.steps} steps, {row['steps_per_cpu_s']} steps/CPU s)",
            flush=True,
        )
    return rows


def seed_range(text: str) -> list[int]:
    """``10-19`` or ``3,5,8``: non-negative seeds, at least one."""
    try:
        if "-" in text:
            low, high = text.split("-", 1)
            seeds = list(range(int(low), int(high) + 1))
        else:
            seeds = [int(s) for s in text.split(",") if s]
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is no seed range (10-19, low <= high) or list (3,5,8)")
    return seeds


def positive_int(text: str) -> int:
    """An integer of at least 1."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bugs", default="", help="comma-separated bug ids (default all)")
    ap.add_argument("--strategies", default=",".join(STRATEGIES))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budget", type=float, default=60.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("runs/bench_campaign.json"))
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--speed-seconds", type=float, default=80.0, help="budget of the speed measurement")
    ap.add_argument("--only-speed", action="store_true", help="measure the speed only (no zoo hunts)")
    ap.add_argument(
        "--speed-examples",
        type=positive_int,
        help="fixed work: each of the speed measurement's four runs is this many examples "
        "(not --speed-seconds / 4), so two trees run the same steps",
    )
    ap.add_argument("--against", type=Path, help="another checkout: alternate the fixed-work speed runs")
    ap.add_argument("--repeat", type=positive_int, default=2, help="rounds of alternation with --against")
    ap.add_argument("--coverage-seeds", type=seed_range, help="sweep the coverage campaign: 10-19 or 3,5")
    ap.add_argument("--coverage-examples", type=positive_int, default=4)
    args = ap.parse_args()
    if args.against is not None:
        if not (args.against / "asfl" / "harness" / "campaign.py").is_file():
            ap.error(f"--against {args.against}: not a checkout of asfl (no asfl/harness/campaign.py)")
        rows = against(args.against, args.speed_examples or 8, args.repeat)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"against": str(args.against), **rows}, indent=2), encoding="utf-8")
        return
    if args.coverage_seeds:
        rows = coverage_sweep(args.coverage_seeds, args.coverage_examples)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"coverage_sweep": rows}, indent=2), encoding="utf-8")
        bad = [r["seed"] for r in rows if r["missed"]]
        print(f"{len(rows) - len(bad)}/{len(rows)} seeds cover everything" + (f"; not: {bad}" if bad else ""))
        raise SystemExit(1 if bad else 0)
    bugs = [BY_ID[b] for b in args.bugs.split(",") if b] or list(BUGS)
    strategies = [s for s in args.strategies.split(",") if s]
    rates = {} if args.skip_speed else speed(args.speed_seconds, args.speed_examples)
    if rates:
        print(f"stateful speed: {json.dumps(rates, indent=1)}", flush=True)
    if args.only_speed:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"speed": rates}, indent=2), encoding="utf-8")
        return
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
        "speed": rates,
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
