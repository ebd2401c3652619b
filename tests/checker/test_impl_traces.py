"""Every trace the implementation writes is accepted by the checker (issue 3, must hold).

One run per scheduler and Byzantine behaviour, with ``t_a`` Byzantine aggregators and
``t_c`` crashed clients, ghost fields and real signatures; the checker (which never
imports ``impl``) must find no violation of any property and judge the run live.
And a run with more faults than the bounds allow is a reported stall, not a violation.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from asfl.checker.replay import check
from asfl.impl.config import ProtocolConfig
from asfl.impl.learning.data import Task
from asfl.impl.sim.byzantine import BEHAVIOURS
from asfl.impl.sim.run import RunConfig, execute
from asfl.impl.sim.schedulers import SCHEDULERS


def run_and_check(tmp_path: Path, cfg: ProtocolConfig, task: Task, **kwargs: object) -> tuple[str, object]:
    trace = tmp_path / "trace.jsonl"
    summary, _ = execute(RunConfig(cfg, trace=trace, **kwargs), task=task)  # type: ignore[arg-type]
    return summary.status, check(trace)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("behaviour", sorted(BEHAVIOURS))
def test_every_impl_trace_is_accepted(
    tmp_path: Path, small_cfg: ProtocolConfig, tiny_task: Task, scheduler: str, behaviour: str
) -> None:
    """S-*, P-*, I-*, F-*, L-* and T-* all hold on the implementation's own traces."""
    status, report = run_and_check(
        tmp_path,
        small_cfg,
        tiny_task,
        seed=5,
        scheduler=scheduler,
        behaviour=behaviour,
        byzantine=1,
        crashed=1,
    )
    assert status == "complete"
    assert report.violations == [], [v.as_dict() for v in report.violations[:3]]  # type: ignore[attr-defined]
    assert report.liveness["verdict"] == "live"  # type: ignore[attr-defined]
    assert report.stats["z3"]["proved"] == report.stats["z3"]["obligations"] > 0  # type: ignore[attr-defined]


def test_a_stall_beyond_the_bounds_is_not_a_violation(
    tmp_path: Path, small_cfg: ProtocolConfig, tiny_task: Task
) -> None:
    """L-3: with t_a + 1 silent aggregators the run stalls; the checker reports it, violating nothing."""
    status, report = run_and_check(
        tmp_path, small_cfg, tiny_task, seed=1, behaviour="silent", byzantine=2, crashed=0
    )
    assert status == "stalled"
    assert report.violations == []  # type: ignore[attr-defined]
    assert report.liveness["faults_within_bounds"] is False  # type: ignore[attr-defined]
