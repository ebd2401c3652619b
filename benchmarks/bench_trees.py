"""Run speed of two source trees, alternating in one command: ``asfl run`` CPU seconds.

Each run is ``python -m asfl run`` in a child process whose ``PYTHONPATH`` is one tree
(this worktree, or a baseline such as ``git archive main | tar -x -C /tmp/base``), so both
trees run the same command under the same machine load, one after the other, ``--reps``
times (baseline first). Reported per run: the child's CPU seconds (user + system, from
``wait4``), wall seconds, peak RSS, simulator steps, and the load average when it began;
then the median CPU ratio tree / baseline per size. Sizes are ``N_CxR`` pairs.

With ``--count``, each tree also runs once instrumented: D-22 timer firings, those that
did nothing (no output), timers cancelled (``CancelTimer`` outputs; a tree without that
output reports 0), and ``run_cpu``, the CPU seconds of the simulation alone (without
generating the data set and building the nodes: what grows with ``n_c`` and ``R``).

    python benchmarks/bench_trees.py --base /tmp/base --sizes 1000x5,2000x5 --reps 2 --count
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent

_COUNT = """
import sys
import time
from asfl.cli import main
from asfl.impl.sim.simulator import Simulator
counts = {"firings": 0, "noop_firings": 0, "cancels": 0}
emit, run = Simulator._emit, Simulator.run
def _fire(self, action):
    node = self.nodes[action.client]
    if action.client not in self.crashed:
        counts["firings"] += 1
        out = node.fire_timer(action.round)
        counts["noop_firings"] += not out
        self._emit(action.client, out)
def _emit(self, name, outputs, msg=None):
    counts["cancels"] += sum(type(o).__name__ == "CancelTimer" for o in outputs)
    emit(self, name, outputs, msg)
def _run(self, *args, **kwargs):
    t0 = time.process_time()
    try:
        return run(self, *args, **kwargs)
    finally:
        counts["run_cpu"] = round(time.process_time() - t0, 2)
Simulator._fire, Simulator._emit, Simulator.run = _fire, _emit, _run
try:
    main(sys.argv[1:])
except SystemExit:
    pass
import json
print("COUNTS " + json.dumps(counts))
"""


def run_once(tree: Path, args: list[str], count: bool) -> dict[str, Any]:
    """One child ``asfl run`` on ``tree``; its CPU, wall, peak RSS and steps."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, "-c", _COUNT, *args] if count else [sys.executable, "-m", "asfl", *args]
    load = os.getloadavg()[0]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=tree, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)  # the child's own resource usage
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        text, errors = out.read(), err.read()
    code = os.waitstatus_to_exitcode(status)
    if code:
        raise SystemExit(f"{tree}: asfl run failed ({code}): {errors.strip()[-400:]}")
    steps = re.search(r"(\d+) steps, (\d+) messages", text)
    row: dict[str, Any] = {
        "tree": str(tree),
        "load": round(load, 2),
        "cpu": round(usage.ru_utime + usage.ru_stime, 2),
        "wall": round(wall, 2),
        "rss_mb": round(usage.ru_maxrss / 1024, 1),
        "steps": int(steps.group(1)) if steps else None,
    }
    counts = re.search(r"COUNTS (\{.*\})", text)
    if counts:
        row.update(json.loads(counts.group(1)))
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, required=True, help="the baseline source tree")
    ap.add_argument("--tree", type=Path, default=HERE, help="the tree measured (default: this one)")
    ap.add_argument("--sizes", default="1000x5,2000x5", help="N_CxR pairs, comma-separated")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--scheduler", default="random")
    ap.add_argument("--count", action="store_true", help="also one instrumented run per tree")
    ap.add_argument("--out", type=Path, help="write the rows as JSON here")
    opts = ap.parse_args()
    if opts.reps < 1:
        ap.error(f"--reps: {opts.reps} runs per tree; at least 1 is needed for a median")
    for t in (opts.base, opts.tree):
        if not (t / "asfl" / "__main__.py").is_file():
            ap.error(f"--base/--tree {t}: not an asfl source tree (no asfl/__main__.py)")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in opts.sizes.split(","):
            try:
                n, r = (int(x) for x in size.lower().split("x"))
            except ValueError:
                ap.error(f"--sizes: {size!r} is not N_CxR")
            args = ["run", "--clients", str(n), "--rounds", str(r), "--task", "mnist1d"]
            args += ["--scheduler", opts.scheduler, "--trace", str(Path(tmp) / "trace.jsonl")]
            cpu: dict[str, list[float]] = {"base": [], "tree": []}
            for rep in range(opts.reps):
                for name, tree in (("base", opts.base), ("tree", opts.tree)):
                    row = {"size": size, "rep": rep, "which": name, **run_once(tree, args, False)}
                    rows.append(row)
                    cpu[name].append(row["cpu"])
                    print(json.dumps(row), flush=True)
            ratio = statistics.median(cpu["tree"]) / statistics.median(cpu["base"])
            summary = {"size": size, "cpu_ratio_tree_over_base": round(ratio, 4), **cpu}
            rows.append(summary)
            print(json.dumps(summary), flush=True)
            if opts.count:
                for name, tree in (("base", opts.base), ("tree", opts.tree)):
                    row = {"size": size, "which": name, "counted": True, **run_once(tree, args, True)}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    if opts.out is not None:
        opts.out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
