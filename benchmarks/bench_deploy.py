"""``asfl deploy`` against ``asfl run`` at the same configuration.

    python benchmarks/bench_deploy.py [--clients 40] [--aggregators 4] [--rounds 20] [--json PATH]

Runs the simulator (``execute``) and a loopback deployment (``Deployment``) with the same
flags (defaults: ``asfl run``'s, i.e. 40 clients, 4 aggregators, 20 rounds, one
equivocating aggregator, two crashing clients), then prints: wall time and rounds per
second (deployment: from the first traced step to the last, and end to end including
process start-up, merge and shutdown), CPU seconds per node (deployment: per process
divided by the nodes it hosts; simulator: its process's CPU divided by the node count),
and bytes sent per client (submissions) and in total. Also the load average, since the
machine is shared: compare ratios from the same invocation.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from asfl import cli_run
from asfl.cli_deploy import default_flags
from asfl.cli_keygen import roster_flags
from asfl.impl.net.deploy import DeployConfig, Deployment
from asfl.impl.sim.run import execute


def _protocol_span(nodes: dict[str, Path]) -> float:
    """Seconds from the first traced step of any node to the last."""
    first, last = float("inf"), 0.0
    for path in nodes.values():
        for raw in path.read_text().splitlines()[1:]:
            rec = json.loads(raw)
            if "events" in rec:
                first, last = min(first, rec["t"]), max(last, rec["t"])
    return last - first


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=40)
    ap.add_argument("--aggregators", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        opts = default_flags(clients=args.clients, aggregators=args.aggregators, rounds=args.rounds)
        opts["trace_path"] = Path(tmp) / "sim.jsonl"
        run = cli_run.run_config(opts)
        cpu0, t0 = time.process_time(), time.perf_counter()
        sim, _ = execute(run)
        sim_wall, sim_cpu = time.perf_counter() - t0, time.process_time() - cpu0
        opts["trace_path"] = Path(tmp) / "deploy.jsonl"
        dep_run = cli_run.run_config(opts)
        t0 = time.perf_counter()
        result = Deployment(DeployConfig(dep_run, roster_flags(opts), Path(tmp) / "deploy")).run()
        dep_wall = time.perf_counter() - t0
        span = _protocol_span(result.node_traces)
    n_nodes = args.clients + args.aggregators
    dep = result.summary
    figures = {
        "config": {"clients": args.clients, "aggregators": args.aggregators, "rounds": args.rounds},
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "run": {
            "status": sim.status,
            "wall_s": sim_wall,
            "rounds_per_s": args.rounds / sim_wall,
            "cpu_per_node_s": sim_cpu / n_nodes,
            "submit_bytes_per_client": sim.bytes_by_kind.get("submit", 0) / args.clients,
            "bytes_total": sum(sim.bytes_by_kind.values()),
        },
        "deploy": {
            "status": dep.status,
            "wall_end_to_end_s": dep_wall,
            "wall_protocol_s": span,
            "rounds_per_s_protocol": args.rounds / span if span else None,
            "rounds_per_s_end_to_end": args.rounds / dep_wall,
            "cpu_per_node_s": {
                "aggregators": sum(v for n, v in result.cpu_by_node.items() if n[0] == "A")
                / args.aggregators,
                "clients": sum(v for n, v in result.cpu_by_node.items() if n[0] == "C") / args.clients,
            },
            "submit_bytes_per_client": dep.bytes_by_kind.get("submit", 0) / args.clients,
            "bytes_total": sum(dep.bytes_by_kind.values()),
        },
    }
    print(json.dumps(figures, indent=1))
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
