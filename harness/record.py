"""Record the trace of a schedule's replay, for its report (``asfl replay --report``).

The replay stops at the first violation the monitors report (the trace then ends with an
``end`` event of status ``step_limit``: the run was cut there, liveness is not judged);
otherwise it is completed fairly as in :func:`harness.schedule.replay`.
``python -m asfl.harness.record '<json request>'`` does the same in a zoo worker's
environment (``ASFL_ZOO_IMPL`` names the patched copy of ``impl`` to adopt), with the
request ``{"file": schedule, "trace": out.jsonl, "violations": out.json}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from asfl.harness.schedule import Schedule


def record(sched: Schedule) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The trace events (header first) and the monitors' violations of replaying ``sched``."""
    from asfl.harness.schedule import replay  # after a worker adopted its copy of impl

    outcome = replay(sched)
    world = outcome.world
    if world.events[-1]["kind"] != "end":
        world.finish("step_limit")
    return world.events, [v.to_json() for v in outcome.violations]


def save(events: list[dict[str, Any]], path: Path) -> Path:
    """Write ``events`` as a JSON Lines trace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    request = json.loads((argv or sys.argv[1:])[0])
    from asfl.harness.zoo_worker import use_patched_impl

    if not use_patched_impl("record worker"):
        return 3
    from asfl.harness.schedule import Schedule

    events, violations = record(Schedule.load(Path(request["file"])))
    save(events, Path(request["trace"]))
    Path(request["violations"]).write_text(json.dumps(violations), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
