"""``asfl replay``'s narration says how the replay completes after the scheduled actions:
a witness of order rules and no action (zoo ``serve-other-header``) is not "FIFO"."""

from __future__ import annotations

from pathlib import Path

from asfl.harness.narrate import describe_completion, narrate
from asfl.harness.schedule import Schedule

HERE = Path(__file__).parent


def test_plain_fifo_completion() -> None:
    assert describe_completion([]) == "FIFO completion"


def test_order_rules_are_listed() -> None:
    rules = [["first", "from", "A0"], ["last", "to", "A2"], ["first", "step", "C3"]]
    assert describe_completion(rules) == (
        "FIFO completion reordered (first deliveries from A0; last deliveries to A2; first local steps of C3)"
    )


def test_the_narration_names_a_witness_order_rules() -> None:
    sched = Schedule.load(HERE / "zoo-serve-other-header.json")
    assert sched.order and not sched.actions
    lines: list[str] = []
    outcome = narrate(sched, out=lines.append)
    assert lines[0].startswith(
        "schedule: 0 actions, then FIFO completion reordered (first deliveries from A0"
    )
    assert not outcome.failed  # the correct implementation passes it
