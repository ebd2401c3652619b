"""Subprocess entry point of the bug zoo: runs against a patched copy of ``asfl.impl``.

``python -m asfl.harness.zoo_worker '<json request>'`` prints one JSON line. Requests:
``{"op": "campaign", "strategy", "budget_s", "seed", "shrink_budget_s", "focus"}`` (``focus``:
``null`` or ``{"modes", "rounds", "clients", "q_min"}``, see :class:`harness.zoo.Focus`),
``{"op": "replay", "schedule": {...}}`` and ``{"op": "narrate", "file", "sends"}`` (prints
the narration instead). When ``ASFL_ZOO_IMPL`` names a directory, that copy is installed
as ``asfl.impl`` before anything imports the implementation, and the worker refuses to run
unless the imported ``asfl.impl`` is that copy.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any


def adopt_impl(directory: Path) -> None:
    """Install the package at ``directory`` as ``asfl.impl`` (before its first import)."""
    import asfl

    spec = importlib.util.spec_from_file_location(
        "asfl.impl", directory / "__init__.py", submodule_search_locations=[str(directory)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["asfl.impl"] = module
    spec.loader.exec_module(module)
    asfl.impl = module  # type: ignore[attr-defined]


def use_patched_impl(role: str) -> bool:
    """Adopt the copy ``ASFL_ZOO_IMPL`` names (if set) and confirm it is what ``asfl.impl``
    now imports; False, with one line on stderr, if it is not."""
    expected = os.environ.get("ASFL_ZOO_IMPL")
    if expected:
        adopt_impl(Path(expected))
    import asfl.impl

    got = Path(asfl.impl.__file__).resolve().parent
    if expected and got != Path(expected).resolve():
        print(f"{role} imported impl from {got}, not the patched copy {expected}", file=sys.stderr)
        return False
    return True


def directed_setups(focus: dict[str, Any] | None, strategy: str) -> Any:
    """The setups of a campaign: three in four from the bug's focus (each Byzantine
    aggregator given one of its behaviours, its round counts), the rest from every
    configuration (the campaign's own default setups); ``None`` (the defaults alone)
    without a focus."""
    if not focus:
        return None
    import dataclasses

    from hypothesis import strategies as st

    from asfl.harness.byz import BEHAVIOURS
    from asfl.harness.campaign import setups

    stateful = strategy == "stateful"  # the machine scripts Byzantine actions and crashes itself
    every = tuple(BEHAVIOURS) if stateful else None
    base = setups(rounds=tuple(focus["rounds"]), modes=every, crashes=not stateful)
    if focus.get("clients"):
        size = {"n_clients": focus["clients"], "q_min": focus["q_min"]}
        base = base.map(lambda s: dataclasses.replace(s, **size))
    if focus["modes"]:
        base = st.tuples(base, st.sampled_from(tuple(focus["modes"]))).map(
            lambda sm: dataclasses.replace(sm[0], byzantine=dict.fromkeys(sm[0].byzantine, sm[1]))
        )
    return st.one_of(base, base, base, setups(modes=every, crashes=not stateful))


def main(argv: list[str] | None = None) -> int:
    request = json.loads((argv or sys.argv[1:])[0])
    if not use_patched_impl("zoo worker"):
        return 3
    import asfl.checker.replay  # noqa: F401 - the online checker's imports (dp-accounting,

    # scipy: 3 s idle, 20-30 s on a loaded machine) before the search clock starts, not
    # charged to the campaign's first example
    from asfl.harness.campaign import run_campaign
    from asfl.harness.schedule import Schedule, replay

    if request["op"] == "narrate":
        from asfl.harness.narrate import narrate

        return 1 if narrate(Schedule.load(Path(request["file"])), sends=request["sends"]).failed else 0
    if request["op"] == "campaign":
        res = run_campaign(
            request["strategy"],
            budget_s=request["budget_s"],
            seed=request.get("seed", 0),
            shrink_budget_s=request.get("shrink_budget_s", 20.0),
            setup_strategy=directed_setups(request.get("focus"), request["strategy"]),
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
