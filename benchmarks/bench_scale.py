"""Scaling of a simulated run: CPU time and peak RSS against the number of clients and of rounds.

Each point runs in its own process (peak RSS is per process) on MNIST-1D with softmax
regression (``d = 410``), 4 aggregators (1 equivocating), no crashes, the random
scheduler, a trace written to a temporary file, as ``asfl run --task mnist1d`` does.
The data set is generated once and handed to every point. Reported per point: setup and
run CPU seconds (process time, so the load of other processes on the machine matters
less than for wall time), CPU seconds per round, wall seconds, peak RSS, the part of it the
run added after setup ("run RSS": the interpreter, libraries and data set are about 150 MB
whatever the size), and the bytes a client sends and receives per round. The growth
exponents are least-squares slopes of log(run CPU per round), log(peak RSS) and log(run RSS)
against log(n_c) and log(R); the R sweep also gives peak RSS's slope in MB per round.

    python benchmarks/bench_scale.py                    # default sweep, a few minutes
    python benchmarks/bench_scale.py --clients 500,1000,2000,4000 --rounds-sweep 2,4,8,16
    python benchmarks/bench_scale.py --save             # also keep the JSON under benchmarks/results/

``--per-round N_C,R`` is the regression guard for per-round work that grows with the round
(issue 11, "memory bounded in rounds"): one run, its CPU and peak RSS split by round (the
round a step belongs to is the number of submissions so far over ``n_c``), the least-squares
slope of per-round CPU against the round as a fraction of the mean, and the growth of peak
RSS per round; it exits 1 if the CPU slope exceeds ``--max-cpu-slope`` (default 3 % of a
round's mean per round) or the RSS growth ``--max-rss-slope`` MB per round.

``--heap N_C,R`` is the traced heap's growth between rounds ``R/2`` and ``R`` by source line;
``--structures N_C,R`` the same growth by owning structure (each aggregator field, each
client-state field, the process's memos and caches, the simulator's own records: the bytes
reachable from each, every object counted once), with the traced heap and peak RSS at the
start of every round.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from asfl.impl.config import ConfigError, ProtocolConfig

RESULTS = Path(__file__).resolve().parent / "results"


def child(n_clients: int, rounds: int, data: Path) -> dict[str, Any]:
    """One point, in this process: build, run, and measure."""
    from threadpoolctl import threadpool_limits

    from asfl.impl.learning.data import Task
    from asfl.impl.sim.run import RunConfig, build, summarise

    arrays = np.load(data)
    task = Task(arrays["X_train"], arrays["y_train"], arrays["X_test"], arrays["y_test"], 40, 10, "mnist1d")
    cfg = _config(n_clients, rounds)
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(1):
        t0, c0 = time.perf_counter(), time.process_time()
        built = build(RunConfig(cfg, trace=Path(tmp) / "trace.jsonl", byzantine=1, crashed=0), task=task)
        c1 = time.process_time()
        setup_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        status = built.sim.run(50_000_000)
        c2, t2 = time.process_time(), time.perf_counter()
        summary = summarise(built, status)
    by_kind = summary.bytes_by_kind
    return {
        "n_clients": n_clients,
        "rounds": rounds,
        "status": status,
        "setup_cpu_s": c1 - c0,
        "run_cpu_s": c2 - c1,
        "cpu_per_round_s": (c2 - c1) / rounds,
        "wall_s": t2 - t0,
        "peak_rss_mb": (peak := resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "setup_rss_mb": setup_rss,
        "run_rss_mb": peak - setup_rss,
        "client_sent_per_round_b": by_kind.get("submit", 0) / (n_clients * rounds),
        "client_received_per_round_b": by_kind.get("announce", 0) / (n_clients * rounds),
        "messages": summary.messages,
        "accuracy": min(summary.accuracy.values()),
    }


def _config(n_clients: int, rounds: int) -> ProtocolConfig:
    """The protocol parameters of one point (q_min as ``asfl run`` picks it)."""
    k_min = n_clients // 4
    return replace(
        ProtocolConfig(),
        n_clients=n_clients,
        rounds=rounds,
        q_min=max(2, min(k_min - 2, -(-k_min // 2))),
    )


def per_round(n_clients: int, rounds: int) -> dict[str, Any]:
    """One run in this process, its CPU seconds and peak RSS split by round."""
    from threadpoolctl import threadpool_limits

    from asfl.impl.learning.data import load_mnist1d_task
    from asfl.impl.sim.run import RunConfig, build
    from asfl.impl.sim.simulator import Simulator

    cpu: list[float] = [0.0] * (rounds + 1)
    rss: list[float] = [0.0] * (rounds + 1)
    last = [0.0]

    def on_step(sim: Simulator) -> None:
        now = time.process_time()
        tau = min(rounds, sim.stats.count_by_kind.get("submit", 0) // n_clients)
        cpu[tau] += now - last[0]
        rss[tau] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        last[0] = now

    task = load_mnist1d_task()
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(1):
        run = RunConfig(_config(n_clients, rounds), trace=Path(tmp) / "trace.jsonl", byzantine=1, crashed=0)
        built = build(run, task=task)
        last[0] = time.process_time()
        status = built.sim.run(50_000_000, on_step=on_step)
    full = list(range(rounds))  # round R holds only the tail (the last announcements)
    mean = sum(cpu[t] for t in full) / rounds
    return {
        "n_clients": n_clients,
        "rounds": rounds,
        "status": status,
        "cpu_by_round_s": [round(c, 2) for c in cpu],
        "peak_rss_by_round_mb": [round(r) for r in rss],
        "cpu_slope_per_round": float(np.polyfit(full, [cpu[t] for t in full], 1)[0]) / mean,
        "rss_slope_mb_per_round": float(np.polyfit(full[1:], [rss[t] for t in full[1:]], 1)[0]),
    }


def heap(n_clients: int, rounds: int, top: int = 25) -> dict[str, Any]:
    """One run in this process under ``tracemalloc`` (started after setup, one frame): the
    traced heap when round ``R // 2`` starts and when round ``R`` starts (a step's round as in
    :func:`per_round`), its growth per round and per client and round, and the source lines
    (file:line) that grew most between the two."""
    import tracemalloc

    from asfl.impl.sim.simulator import Simulator

    marks = (rounds // 2, rounds)
    snaps: dict[int, tracemalloc.Snapshot] = {}

    def on_step(sim: Simulator) -> None:
        tau = min(rounds, sim.stats.count_by_kind.get("submit", 0) // n_clients)
        if tau in marks and tau not in snaps:
            own = tracemalloc.Filter(False, tracemalloc.__file__)
            snaps[tau] = tracemalloc.take_snapshot().filter_traces([own])

    status = _traced_run(n_clients, rounds, lambda built: on_step(built.sim))
    first, last = (snaps[m] for m in marks)
    span = marks[1] - marks[0]
    size = {m: sum(s.size for s in snaps[m].statistics("filename")) for m in marks}
    growth = sorted(last.compare_to(first, "lineno"), key=lambda d: -d.size_diff)[:top]
    return {
        "n_clients": n_clients,
        "rounds": rounds,
        "status": status,
        "marks": list(marks),
        "traced_mb": [round(size[m] / 2**20, 1) for m in marks],
        "growth_mb_per_round": (size[marks[1]] - size[marks[0]]) / span / 2**20,
        "growth_b_per_client_round": (size[marks[1]] - size[marks[0]]) / span / n_clients,
        "top_lines": [
            {
                "line": f"{d.traceback[0].filename.split('/asfl/')[-1]}:{d.traceback[0].lineno}",
                "b_per_client_round": round(d.size_diff / span / n_clients, 1),
                "blocks_per_client_round": round(d.count_diff / span / n_clients, 2),
            }
            for d in growth
        ],
    }


def structures(built: Any) -> dict[str, int]:
    """Bytes reachable from each structure that can outlive a round, each object counted
    once, for the first structure (in this order) that reaches it: ``sys.getsizeof`` of every
    object, numpy arrays by their own buffers. Configuration, keys, types, modules and
    functions are not counted (shared, fixed in ``R``)."""
    import types

    from asfl.impl import certify, config, crypto, node
    from asfl.impl.client import Client

    skip = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.CodeType)
    nodes = built.sim.nodes
    cores = [getattr(n, "core", n) for name, n in nodes.items() if name.startswith("A")]
    clients = [n for n in nodes.values() if isinstance(n, Client)]
    seen: set[int] = set()
    shared = [built.cfg, clients[0].public if clients else None, built.task]
    shared += [n.keys for n in [*cores, *clients]] + [c.genesis_model for c in cores]
    for obj in shared:  # fixed in R: mark them (and what they reach) as seen, uncounted
        _reach([obj], seen, skip)
    roots: list[tuple[str, list[object]]] = []
    for attr in vars(cores[0]):
        if attr not in ("cfg", "public", "keys", "genesis_model", "ghost", "index"):
            roots.append((f"aggregator.{attr}", [getattr(a, attr) for a in cores]))
    for n in nodes.values():
        if hasattr(n, "core"):
            roots.append(("byzantine.sent+seen", [n.sent, n.seen]))
    if clients:
        for attr in vars(clients[0].state):
            roots.append((f"client.state.{attr}", [getattr(c.state, attr) for c in clients]))
        roots.append(("client.checker (shared announce memo)", [clients[0].checker]))
        roots.append(("client.rest", [c for c in clients]))
    roots.append(("memo: node._OPENED (envelopes)", [node._OPENED]))
    roots.append(("memo: certify._VERIFIED (evidence)", [certify._VERIFIED]))
    roots.append(("lru: crypto._verified (Ed25519)", [crypto._verified]))
    roots.append(("lru: config._assignment (R-2)", [config._assignment]))
    sim = built.sim
    roots.append(("sim.stats", [sim.stats]))
    roots.append(("sim.scheduler", [sim.scheduler]))
    roots.append(("sim.rest", [sim.crashed, sim.local_steps, sim.trace]))
    out: dict[str, int] = {}
    for name, objs in roots:
        out[name] = out.get(name, 0) + _reach(objs, seen, skip)
    return out


def _reach(roots: list[object], seen: set[int], skip: tuple[type, ...]) -> int:
    """Bytes of the objects reachable from ``roots`` not in ``seen`` (added to it)."""
    import gc

    total, stack = 0, list(roots)
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, skip):
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            total += sys.getsizeof(obj) if obj.base is None else 112
            continue
        total += sys.getsizeof(obj)
        if not isinstance(obj, bytes | str | int | float):
            stack.extend(gc.get_referents(obj))
    return total


def by_structure(n_clients: int, rounds: int) -> dict[str, Any]:
    """One run in this process; at the start of every round (a step's round as in
    :func:`per_round`) the bytes of each structure (:func:`structures`), the traced heap
    (``tracemalloc``, one frame, started after setup) and peak RSS; each structure's growth
    per client and round between round ``R // 2`` and round ``R``."""
    import tracemalloc

    rows: dict[int, dict[str, int]] = {}
    traced: dict[int, int] = {}
    rss: dict[int, float] = {}

    def on_step(built: Any) -> None:
        tau = min(rounds, built.sim.stats.count_by_kind.get("submit", 0) // n_clients)
        if tau not in rows:
            traced[tau] = tracemalloc.get_traced_memory()[0]
            rows[tau] = structures(built)
            rss[tau] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    status = _traced_run(n_clients, rounds, on_step)
    lo, hi = rounds // 2, rounds
    span = (hi - lo) * n_clients
    names = list(rows[hi])
    growth = {k: (rows[hi].get(k, 0) - rows[lo].get(k, 0)) / span for k in names}
    return {
        "n_clients": n_clients,
        "rounds": rounds,
        "status": status,
        "traced_mb_by_round": {t: round(v / 2**20, 2) for t, v in sorted(traced.items())},
        "peak_rss_mb_by_round": {t: round(v) for t, v in sorted(rss.items())},
        "structures_kb_by_round": {k: [round(rows[t].get(k, 0) / 1024) for t in sorted(rows)] for k in names},
        "growth_b_per_client_round": dict(sorted(growth.items(), key=lambda kv: -abs(kv[1]))),
        "traced_growth_b_per_client_round": (traced[hi] - traced[lo]) / span,
    }


def _traced_run(n_clients: int, rounds: int, on_step: Callable[[Any], None]) -> str:
    """One run of a point under ``tracemalloc`` (one frame, started after setup), calling
    ``on_step(built)`` every 200 steps; its status."""
    import tracemalloc

    from threadpoolctl import threadpool_limits

    from asfl.impl.learning.data import load_mnist1d_task
    from asfl.impl.sim.run import RunConfig, build

    task = load_mnist1d_task()
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(1):
        run = RunConfig(_config(n_clients, rounds), trace=Path(tmp) / "trace.jsonl", byzantine=1, crashed=0)
        built = build(run, task=task)
        tracemalloc.start(1)
        status = built.sim.run(50_000_000, on_step=lambda _: on_step(built))
        tracemalloc.stop()
    return status


def compare(baseline: Path, n_clients: int, rounds: list[int], modes: set[str]) -> None:
    """``--compare``: the per-round RSS run at each ``R`` and the heap run at the largest, on
    the baseline tree's code and this tree's, alternating, each in its own process (the
    baseline's through ``PYTHONPATH``, this file's measuring code in both)."""
    trees = {"baseline": baseline.resolve(), "this": Path(__file__).resolve().parents[1]}

    def point(tree: Path, mode: str, r: int) -> dict[str, Any]:
        env = {**os.environ, "PYTHONPATH": str(tree)}
        cmd = [sys.executable, __file__, mode, f"{n_clients},{r}", "--max-rss-slope", "1e9"]
        cmd += ["--max-cpu-slope", "1e9"]
        load = os.getloadavg()[0]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        if not lines:
            err = out.stderr.strip()[-400:]
            raise SystemExit(f"bench_scale: {mode} {n_clients},{r} on {tree} failed: {err}")
        return {**json.loads(lines[0]), "load_start": load, "load_end": os.getloadavg()[0]}

    for r in rounds if "rss" in modes else []:
        for name, tree in trees.items():
            p = point(tree, "--per-round", r)
            print(
                f"rss  {name:>8} {n_clients} x {r:>2}: peak RSS {max(p['peak_rss_by_round_mb']):>4} MB, "
                f"{p['rss_slope_mb_per_round']:+.2f} MB/round, run CPU {sum(p['cpu_by_round_s']):.0f} s, "
                f"{p['status']} (load {p['load_start']:.1f}-{p['load_end']:.1f})",
                flush=True,
            )
    for name, tree in trees.items() if "heap" in modes else []:
        h = point(tree, "--heap", max(rounds))
        print(
            f"heap {name:>8} {n_clients} x {h['rounds']}: "
            f"traced {h['traced_mb'][0]} MB at round {h['marks'][0]}, "
            f"{h['traced_mb'][1]} MB at round {h['marks'][1]}: {h['growth_mb_per_round']:+.2f} MB/round, "
            f"{h['growth_b_per_client_round']:.0f} B per client and round, {h['status']} "
            f"(load {h['load_start']:.1f}-{h['load_end']:.1f})",
            flush=True,
        )
        for t in h["top_lines"]:
            b, blocks = t["b_per_client_round"], t["blocks_per_client_round"]
            print(f"    {b:>8.1f} B {blocks:>6.2f} blocks per client and round  {t['line']}")


def run_point(n_clients: int, rounds: int, data: Path) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", f"{n_clients},{rounds}", "--data", str(data)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=dict(os.environ))
    return json.loads(out.stdout.strip().splitlines()[-1])


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log(y) against log(x): the growth exponent (NaN if some y is 0:
    a run that stayed below the setup's RSS high-water mark)."""
    if min(ys) <= 0:
        return float("nan")
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", default="250,500,1000,2000", help="n_c sweep at --rounds")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rounds-sweep", default="2,4,8", help="R sweep at --sweep-clients")
    ap.add_argument("--sweep-clients", type=int, default=400)
    ap.add_argument("--per-round", metavar="N_C,R", help="the per-round regression guard (one run)")
    ap.add_argument("--max-cpu-slope", type=float, default=0.03, help="per-round CPU slope limit (fraction)")
    ap.add_argument("--max-rss-slope", type=float, default=8.0, help="peak RSS growth limit (MB per round)")
    ap.add_argument("--heap", metavar="N_C,R", help="traced heap at rounds R/2 and R, top lines (one run)")
    ap.add_argument("--structures", metavar="N_C,R", help="bytes per owning structure, every round (one run)")
    ap.add_argument("--compare", type=Path, metavar="TREE", help="alternate runs with TREE's code")
    ap.add_argument("--compare-rounds", default="10,20", help="R values of --compare (at --compare-clients)")
    ap.add_argument("--compare-clients", type=int, default=2000)
    ap.add_argument("--compare-modes", default="rss,heap", help="what --compare runs: rss, heap or both")
    ap.add_argument("--save", action="store_true", help="write the sweep's JSON under benchmarks/results/")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    try:
        _dispatch(ap, args)
    except ConfigError as e:  # a size the protocol refuses
        ap.error(str(e))


def _ints(ap: argparse.ArgumentParser, flag: str, value: str, count: int | None = None) -> list[int]:
    """The comma-separated positive integers of ``flag`` (``count`` of them if given), or
    one line naming the flag (exit 2)."""
    try:
        out = [int(v) for v in value.split(",")]
    except ValueError:
        out = []
    if not out or min(out) < 1 or (count is not None and len(out) != count):
        what = f"{count} comma-separated positive integers" if count else "positive integers, comma-separated"
        ap.error(f"{flag}: {value!r} is not {what}")
    return out


def _dispatch(ap: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.compare:
        if not (args.compare / "asfl" / "__main__.py").is_file():
            ap.error(f"--compare: {args.compare} is not an asfl source tree (no asfl/__main__.py)")
        rounds = _ints(ap, "--compare-rounds", args.compare_rounds)
        modes = set(args.compare_modes.split(","))
        if not modes <= {"rss", "heap"}:
            ap.error(f"--compare-modes: {args.compare_modes!r}; choose rss, heap or rss,heap")
        compare(args.compare, args.compare_clients, rounds, modes)
        return
    if args.structures:
        n_c, r = _ints(ap, "--structures", args.structures, 2)
        print(json.dumps(by_structure(n_c, r)))
        return
    if args.heap:
        n_c, r = _ints(ap, "--heap", args.heap, 2)
        print(json.dumps(heap(n_c, r)))
        return
    if args.per_round:
        n_c, r = _ints(ap, "--per-round", args.per_round, 2)
        load = os.getloadavg()[0]
        point = per_round(n_c, r)
        point["load"] = [load, os.getloadavg()[0]]
        print(json.dumps(point))
        ok = point["cpu_slope_per_round"] <= args.max_cpu_slope
        ok = ok and point["rss_slope_mb_per_round"] <= args.max_rss_slope
        print(
            f"per-round CPU slope {100 * point['cpu_slope_per_round']:+.1f} % of the mean per round "
            f"(limit {100 * args.max_cpu_slope:.0f} %), peak RSS {point['rss_slope_mb_per_round']:+.1f} MB "
            f"per round (limit {args.max_rss_slope:.0f}): {'ok' if ok else 'REGRESSION'}"
        )
        raise SystemExit(0 if ok else 1)
    if args.child:
        n_c, r = (int(v) for v in args.child.split(","))
        print(json.dumps(child(n_c, r, args.data)))
        return

    clients, sweep = _ints(ap, "--clients", args.clients), _ints(ap, "--rounds-sweep", args.rounds_sweep)
    from asfl.impl.learning.data import load_mnist1d_task

    load = os.getloadavg()[0]
    task = load_mnist1d_task()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "mnist1d.npz"
        np.savez(data, X_train=task.X_train, y_train=task.y_train, X_test=task.X_test, y_test=task.y_test)
        by_clients = [run_point(n, args.rounds, data) for n in clients]
        by_rounds = [run_point(args.sweep_clients, r, data) for r in sweep]
    for label, rows in (("n_c", by_clients), ("R", by_rounds)):
        print(f"\n-- against {label} --")
        print(
            f"{'n_c':>6} {'R':>3} {'setup s':>8} {'run cpu s':>9} {'cpu/round':>9} {'wall s':>7} "
            f"{'RSS MB':>7} {'run RSS':>7} {'sent/cl/rd':>10} {'recv/cl/rd':>10} {'acc':>5} status"
        )
        for p in rows:
            print(
                f"{p['n_clients']:>6} {p['rounds']:>3} {p['setup_cpu_s']:>8.1f} {p['run_cpu_s']:>9.1f} "
                f"{p['cpu_per_round_s']:>9.2f} {p['wall_s']:>7.1f} {p['peak_rss_mb']:>7.0f} "
                f"{p['run_rss_mb']:>7.0f} "
                f"{p['client_sent_per_round_b']:>10.0f} {p['client_received_per_round_b']:>10.0f} "
                f"{p['accuracy']:>5.2f} {p['status']}"
            )
    exponents = {
        f"{y}_vs_{label}": slope([p[x] for p in rows], [p[y] for p in rows])
        for label, x, rows in (("n_c", "n_clients", by_clients), ("R", "rounds", by_rounds))
        for y in ("cpu_per_round_s", "run_cpu_s", "peak_rss_mb", "run_rss_mb")
    }
    print("\ngrowth exponents (log-log slopes):", json.dumps({k: round(v, 3) for k, v in exponents.items()}))
    rss_by_r = np.polyfit([p["rounds"] for p in by_rounds], [p["peak_rss_mb"] for p in by_rounds], 1)[0]
    print(f"peak RSS against R at {args.sweep_clients} clients: {rss_by_r:+.2f} MB per round (least squares)")
    print(f"load average at start: {load:.2f}, at end: {os.getloadavg()[0]:.2f}")
    if not args.save:
        return
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"bench_scale-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(
        json.dumps({"by_clients": by_clients, "by_rounds": by_rounds, "exponents": exponents, "load": load})
    )
    print(f"results: {out}")


if __name__ == "__main__":
    main()
