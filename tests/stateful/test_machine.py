"""Model-based stateful testing of the implementation (issue 4, part 1; issue 9).

Hypothesis drives the implementation in the simulator through
:func:`harness.campaign.machine_class`: its rules are the actions the model enables
(:mod:`asfl.model.actions`): deliver a message in flight, run a client's local step,
crash a client (up to ``t_c``), make a scripted Byzantine aggregator send a held message
as a probe of the model's menu or replay an envelope it received, or let a drawn
background policy (uniform random, PCT or targeted) run; after every rule the new trace
events are checked online against the model by ``checker/`` (``Checker.feed``, step
checks closed after each action) and by the white-box oracles; teardown completes the
run fairly and the checker's end-of-trace checks judge liveness. What such a campaign
covers is asserted by ``test_coverage.py``.

A failure is saved, shrunk a second time, under ``tests/regressions/`` so that the
default test run replays it from then on.
"""

from __future__ import annotations

import time
from pathlib import Path

from hypothesis import settings

from asfl.harness.campaign import Recorder, machine_class
from asfl.harness.schedule import shrink

REGRESSIONS = Path(__file__).resolve().parents[1] / "regressions"


def _examples(ci: int) -> int:
    """``ci`` examples under the default profile; the profile's own count under ``deep``."""
    n = settings.default.max_examples
    return ci if n == 100 else n


def _run(recorder: Recorder, conf: settings) -> None:
    machine = machine_class(recorder)
    machine.TestCase.settings = conf
    test = machine.TestCase("runTest")
    try:
        test.runTest()
    except BaseException:
        if recorder.last is not None and recorder.violation is not None:
            sched = shrink(recorder.last, recorder.violation, budget_s=20.0)
            sched.note = "found by tests/stateful/test_machine.py against the real implementation"
            sched.save(REGRESSIONS / f"found-{int(time.time())}.json")
        raise


def test_protocol_machine() -> None:
    """Safety online and liveness at teardown under adversarial schedules and Byzantine actions."""
    rec = Recorder(shrink_budget=float("inf"))
    _run(rec, settings(max_examples=_examples(20), stateful_step_count=25, deadline=None))
    assert rec.examples > 0
