"""Subprocess entry point of the bug zoo: runs against whatever ``impl`` is first on the path.

``python -m harness.zoo_worker '<json request>'`` prints one JSON line. Requests:
``{"op": "campaign", "strategy", "budget_s", "seed", "shrink_budget_s"}`` and
``{"op": "replay", "schedule": {...}}``. When ``ASFL_ZOO_IMPL`` is set the worker refuses
to run unless the imported ``impl`` is that (patched) copy.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    request = json.loads((argv or sys.argv[1:])[0])
    import impl

    expected = os.environ.get("ASFL_ZOO_IMPL")
    got = Path(impl.__file__).resolve().parent
    if expected and got != Path(expected).resolve():
        print(f"zoo worker imported impl from {got}, not the patched copy {expected}", file=sys.stderr)
        return 3
    from harness.campaign import run_campaign
    from harness.schedule import Schedule, replay

    if request["op"] == "campaign":
        res = run_campaign(
            request["strategy"],
            budget_s=request["budget_s"],
            seed=request.get("seed", 0),
            shrink_budget_s=request.get("shrink_budget_s", 20.0),
        )
        out = res.to_json()
        if res.schedule is not None:
            out["schedule"] = res.schedule.to_json()
    elif request["op"] == "replay":
        outcome = replay(Schedule.from_json(request["schedule"]))
        out = {"failed": outcome.failed, "violations": [v.to_json() for v in outcome.violations[:5]]}
    else:
        raise SystemExit(f"unknown op {request['op']!r}")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
