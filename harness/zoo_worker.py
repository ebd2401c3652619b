"""Subprocess entry point of the bug zoo: runs against a patched copy of ``asfl.impl``.

``python -m asfl.harness.zoo_worker '<json request>'`` prints one JSON line. Requests:
``{"op": "campaign", "strategy", "budget_s", "seed", "shrink_budget_s", "focus"}`` (``seed``
also offsets every setup's simulation seed, :func:`directed_setups`, and every random or
targeted policy's seed, :func:`harness.campaign.policies`; ``focus``:
``null`` or ``{"modes", "rounds", "shape", "byzantine"}``, see :class:`harness.zoo.Focus`),
``{"op": "replay", "schedule": {...}}``, ``{"op": "narrate", "file", "sends"}`` (prints
the narration instead) and ``{"op": "serve"}`` (:func:`serve`). When ``ASFL_ZOO_IMPL``
names a directory, that copy is installed
as ``asfl.impl`` before anything imports the implementation, and the worker refuses to run
unless the imported ``asfl.impl`` is that copy.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
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


def reshaped(setup: Any, shape: dict[str, int]) -> Any:
    """``setup`` with a focus's fixed fields (:meth:`harness.zoo.Focus.shape`): its
    Byzantine aggregators and planned crashes kept only where the new shape has room
    (ids in range, at most ``t_a`` and ``t_c`` of them)."""
    import dataclasses

    s = dataclasses.replace(setup, **shape)
    byz = dict(sorted((j, m) for j, m in s.byzantine.items() if j < s.n_aggregators)[: s.t_a])
    crash = dict(sorted((i, k) for i, k in s.crash_after.items() if i < s.n_clients)[: s.t_c])
    return dataclasses.replace(s, byzantine=byz, crash_after=crash)


def directed_setups(focus: dict[str, Any] | None, strategy: str, offset: int = 0) -> Any:
    """The setups of a campaign: three in four from the bug's focus (each Byzantine
    aggregator given one of its behaviours, its round counts), the rest from every
    configuration (the campaign's own default setups); ``None`` (the defaults alone)
    without a focus and offset. ``offset`` is added to every drawn setup's simulation
    seed: Hypothesis's first example is the same minimal draw under every Hypothesis
    seed, so a campaign seeded ``k`` passes ``offset = k`` to differ from it on."""
    if not focus and not offset:
        return None
    import dataclasses

    from hypothesis import strategies as st

    from asfl.harness.campaign import setups

    stateful = strategy == "stateful"  # the machine scripts Byzantine actions and crashes itself
    every = setups(modes=every_mode(stateful), crashes=not stateful)
    drawn = every
    if focus:
        base = setups(rounds=tuple(focus["rounds"]), modes=every_mode(stateful), crashes=not stateful)
        if focus.get("shape"):
            base = base.map(lambda s: reshaped(s, focus["shape"]))
        if focus.get("byzantine"):  # these aggregators Byzantine, with the drawn behaviour
            ids = tuple(focus["byzantine"])

            def byzantine(s: Any) -> Any:
                mode = next(iter(s.byzantine.values()), "honest")
                return dataclasses.replace(s, byzantine=dict.fromkeys(ids, mode))

            base = base.map(byzantine)
        if focus["modes"]:
            base = st.tuples(base, st.sampled_from(tuple(focus["modes"]))).map(
                lambda sm: dataclasses.replace(sm[0], byzantine=dict.fromkeys(sm[0].byzantine, sm[1]))
            )
        drawn = st.one_of(base, base, base, every)
    return drawn.map(lambda s: dataclasses.replace(s, seed=s.seed + offset)) if offset else drawn


def every_mode(stateful: bool) -> tuple[str, ...] | None:
    """The Byzantine behaviours a campaign's setups draw from (``None``: the campaign's
    default, every automatic one; the stateful machine scripts them all itself)."""
    from asfl.harness.byz import BEHAVIOURS

    return tuple(BEHAVIOURS) if stateful else None


def serve() -> int:
    """The correct implementation's oracle for a shrinker in another process: one
    schedule (JSON) per line on stdin, one line ``{"violation": ... | null, "cpu": s}``
    back (``cpu``: this process's CPU seconds so far)."""
    from asfl.harness.schedule import Schedule, replay

    for line in sys.stdin:
        first = replay(Schedule.from_json(json.loads(line))).first()
        got = {"violation": None if first is None else first.to_json(), "cpu": time.process_time()}
        print(json.dumps(got), flush=True)
    return 0


class CleanOracle:
    """A :func:`serve` process on the correct ``impl`` (``ASFL_ZOO_CLEAN``, set by
    :func:`harness.zoo.run_worker`), asked by the bugged worker's shrinker."""

    def __init__(self) -> None:
        import subprocess

        clean = os.environ.get("ASFL_ZOO_CLEAN", "")
        if not clean:
            raise RuntimeError("ASFL_ZOO_CLEAN (the correct impl's directory) is not set")
        env = dict(os.environ, ASFL_ZOO_IMPL=clean, ASFL_ZOO_BUG="")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "asfl.harness.zoo_worker", json.dumps({"op": "serve"})],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        self.cpu = 0.0  # the oracle's CPU seconds, as of its last reply

    def first(self, sched: Any) -> Any:
        """The correct implementation's first violation on ``sched`` (``None``: it passes)."""
        from asfl.harness.monitor import Violation

        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(sched.to_json()) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the correct implementation's oracle died (exit {self.proc.poll()})")
        reply = json.loads(line)
        self.cpu = float(reply["cpu"])
        got = reply["violation"]
        if got is None:
            return None
        return Violation(got["prop"], got["message"], got.get("seq"), got.get("source", ""))

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def shrunk_both_ways(sched: Any, violation: Any, budget_s: float) -> tuple[Any, Any]:
    """``sched`` shrunk (:func:`harness.schedule.shrink`) keeping only candidates that
    fail this bugged copy with ``violation``'s property and pass the correct
    implementation; and the correct implementation's violation when ``sched`` itself
    fails it too (then unshrunk: a real bug, :func:`harness.zoo.hunt` saves it).
    ``budget_s`` counts the CPU seconds of this process and the oracle's, not wall time:
    on a loaded machine the shrink takes longer and ends with the same witness."""
    from asfl.harness.schedule import shrink

    oracle = CleanOracle()
    try:
        clean = oracle.first(sched)
        if clean is not None:
            return sched, clean
        return shrink(
            sched,
            violation,
            budget_s=budget_s,
            passes=lambda c: oracle.first(c) is None,
            clock=lambda: time.process_time() + oracle.cpu,  # CPU seconds: load-independent
        ), None
    finally:
        oracle.close()


def main(argv: list[str] | None = None) -> int:
    request = json.loads((argv or sys.argv[1:])[0])
    if not use_patched_impl("zoo worker"):
        return 3
    import asfl.checker.replay  # noqa: F401 - the online checker's imports (dp-accounting,

    # scipy: 3 s idle, 20-30 s on a loaded machine) before the search clock starts, not
    # charged to the campaign's first example
    from asfl.harness.campaign import run_campaign
    from asfl.harness.schedule import Schedule, length, replay

    if request["op"] == "narrate":
        from asfl.harness.narrate import narrate

        return 1 if narrate(Schedule.load(Path(request["file"])), sends=request["sends"]).failed else 0
    if request["op"] == "campaign":
        res = run_campaign(
            request["strategy"],
            budget_s=request["budget_s"],
            seed=request.get("seed", 0),
            shrink_budget_s=0.0,  # departures only: the shrinking below also asks the correct impl
            setup_strategy=directed_setups(
                request.get("focus"), request["strategy"], offset=request.get("seed", 0)
            ),
            policy_offset=request.get("seed", 0),  # the random policy's first draw differs too
        )
        out = res.to_json()
        if res.schedule is not None and res.violation is not None:
            sched, clean = shrunk_both_ways(res.schedule, res.violation, request.get("shrink_budget_s", 20.0))
            out["schedule"] = sched.to_json()
            out["shrunk_length"] = length(sched)  # actions and order rules, as GOAL counts
            out["clean_violation"] = None if clean is None else clean.to_json()
    elif request["op"] == "replay":
        outcome = replay(Schedule.from_json(request["schedule"]))
        out = {"failed": outcome.failed, "violations": [v.to_json() for v in outcome.violations[:5]]}
    elif request["op"] == "serve":
        return serve()
    else:
        raise SystemExit(f"unknown op {request['op']!r}")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
