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

A failure is shrunk a second time and saved under the test's ``tmp_path`` (its path is
in the failure message), or under ``tests/regressions/`` (so that the default test run
replays it from then on) when ``ASFL_SAVE_REGRESSIONS=1`` asks for it.
"""

from __future__ import annotations

import os
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


def _run(recorder: Recorder, conf: settings, out: Path) -> None:
    machine = machine_class(recorder)
    machine.TestCase.settings = conf
    test = machine.TestCase("runTest")
    try:
        test.runTest()
    except BaseException as exc:
        if recorder.last is not None and recorder.violation is not None:
            sched = shrink(recorder.last, recorder.violation, budget_s=20.0)
            sched.note = "found by tests/stateful/test_machine.py against the real implementation"
            path = out / f"found-{int(time.time())}.json"
            sched.save(path)
            exc.add_note(f"shrunk schedule saved to {path}")
        raise


def test_protocol_machine(tmp_path: Path) -> None:
    """Safety online and liveness at teardown under adversarial schedules and Byzantine actions."""
    rec = Recorder(shrink_budget=float("inf"))
    out = REGRESSIONS if os.environ.get("ASFL_SAVE_REGRESSIONS") == "1" else tmp_path
    _run(rec, settings(max_examples=_examples(20), stateful_step_count=25, deadline=None), out)
    assert rec.examples > 0
