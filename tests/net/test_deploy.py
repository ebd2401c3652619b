"""End-to-end deployments on loopback: OS processes, TCP, SIGKILL, merged traces (issue 10)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from asfl.cli import main
from asfl.impl.net.deploy import DeployConfig, Deployment

SMALL = dict(clients=12, aggregators=4, t_c=1, rounds=3, byzantine=0, crashed=0)


def test_deploy_kills_an_aggregator_and_a_client_and_the_merged_trace_validates(
    tmp_path: Path, flags: Callable[..., dict[str, Any]], deploy_config: Callable[..., DeployConfig]
) -> None:
    trace = tmp_path / "trace.jsonl"
    dep = deploy_config(
        tmp_path / "run", flags(**SMALL, trace_path=trace), kill_aggregators=1, kill_clients=1
    )
    result = Deployment(dep).run()
    assert sorted(n[0] for n in result.killed) == ["A", "C"], result.killed  # both SIGKILLs happened
    summary = result.summary
    assert summary.status == "complete", summary.detail
    honest_aggs = [n for n in summary.rounds_done if n[0] == "A"]
    assert len(honest_aggs) == 3 and all(summary.rounds_done[n] == 3 for n in honest_aggs)
    header = json.loads(trace.read_text().splitlines()[0])
    assert header["ghost"] is False and header["entropy"] == "os"
    assert not any('"ghost"' in line for line in trace.read_text().splitlines()[1:])
    killed_agg = next(n for n in result.killed if n[0] == "A")
    assert int(killed_agg[1:]) in header["byzantine"]
    assert main(["check", str(trace)]) == 0  # asfl check: exit 0, valid


def test_a_silent_pushers_clients_fetch_their_bodies_over_sockets(
    tmp_path: Path, flags: Callable[..., dict[str, Any]], deploy_config: Callable[..., DeployConfig]
) -> None:
    """D-22 on real sockets: with a silent Byzantine aggregator its clients (i mod n_a = j)
    get headers only; their asyncio timers fire, they fetch from an honest aggregator, which
    serves, and every correct client accepts every round (L-2)."""
    trace = tmp_path / "trace.jsonl"
    opts = dict(SMALL, rounds=1, byzantine=1, behaviour="silent")
    dep = deploy_config(tmp_path / "run", flags(**opts, trace_path=trace), fetch_timeout=0.3)
    result = Deployment(dep).run()
    assert result.summary.status == "complete", result.summary.detail
    events = [json.loads(line) for line in trace.read_text().splitlines()[1:]]
    (byz,) = json.loads(trace.read_text().splitlines()[0])["byzantine"]
    orphans = {f"C{i}" for i in range(12) if i % 4 == byz}
    fetches = [e for e in events if e["kind"] == "fetch"]
    assert orphans <= {e["node"] for e in fetches}
    served = {(e["client"], e["round"], e["node"]) for e in events if e["kind"] == "serve"}
    accepts = [e for e in events if e["kind"] == "accept" and e["node"] in orphans]
    assert len(accepts) == len(orphans)
    assert all((e["node"], e["round"], e["from"]) in served for e in accepts)
    assert main(["check", str(trace)]) == 0  # asfl check: exit 0, valid
