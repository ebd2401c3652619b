"""Fault injection in deployments: delays, a partition that heals, faults beyond the bounds (R-16)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from asfl.cli import main
from asfl.impl.net.deploy import DeployConfig, Deployment

SMALL = dict(clients=12, aggregators=4, t_c=1, rounds=2)


def test_delays_a_partition_that_heals_a_byzantine_and_a_crash_stay_within_bounds(
    tmp_path: Path, flags: Callable[..., dict[str, Any]], deploy_config: Callable[..., DeployConfig]
) -> None:
    trace = tmp_path / "trace.jsonl"
    opts = flags(**SMALL, byzantine=1, behaviour="equivocate", crashed=1, trace_path=trace)
    dep = deploy_config(tmp_path / "run", opts, delay_ms=10.0, split_at=0.5, split_for=2.0)
    result = Deployment(dep).run()
    assert result.cut_links > 0  # the partition did cut links
    assert result.summary.status == "complete", result.summary.detail
    assert main(["check", str(trace)]) == 0


def test_beyond_the_bounds_the_deployment_reports_who_is_stuck_where(
    tmp_path: Path, flags: Callable[..., dict[str, Any]], deploy_config: Callable[..., DeployConfig]
) -> None:
    trace = tmp_path / "trace.jsonl"
    opts = flags(**SMALL, byzantine=2, behaviour="silent", crashed=0, trace_path=trace)
    result = Deployment(deploy_config(tmp_path / "run", opts, timeout=120.0)).run()
    summary = result.summary
    assert summary.status == "stalled"
    assert "stuck in round 0" in summary.detail and "2 faulty aggregators exceed t_a = 1" in summary.detail
    assert main(["check", str(trace)]) == 0  # a valid trace of a run beyond the bounds
