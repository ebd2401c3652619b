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
