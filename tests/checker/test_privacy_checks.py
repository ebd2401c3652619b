"""The checker's privacy checks on implementation traces (P-5 fresh noise, P-6 reported epsilon).

A simulated run writes the epsilon it reports per client in its ``end`` event; the checker
recomputes it from the released certified sets and the header's noise multiplier with its
own accountant code (checker/privacy.py) and rejects a lower report. On ghost traces it
rejects two submissions of one client with the same quantised update.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from asfl.checker import privacy
from asfl.checker.replay import Checker
from asfl.impl.config import ProtocolConfig
from asfl.impl.learning.data import Task
from asfl.impl.sim.run import RunConfig, execute

Trace = list[dict[str, Any]]


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory, small_cfg: ProtocolConfig, tiny_task: Task) -> Trace:
    """Four rounds, a quarter of the clients 10x slower: some local steps submit for two
    rounds (D-13 catch-up), where a reused noise draw would repeat the quantised update."""
    path = tmp_path_factory.mktemp("privacy") / "trace.jsonl"
    cfg = dataclasses.replace(small_cfg, rounds=4)
    run = RunConfig(cfg, seed=1, scheduler="timed", slow_fraction=0.25, trace=path, crashed=1)
    summary, _ = execute(run, task=tiny_task)
    assert summary.status == "complete"
    return [json.loads(line) for line in path.read_text().splitlines()]


def check(tr: Trace) -> Any:
    return Checker(signatures="none", z3=False).check_lines([json.dumps(e) for e in tr])


def found(tr: Trace) -> list[tuple[str, int]]:
    return [(v.prop, v.line) for v in check(tr).violations]


def with_epsilon(tr: Trace, name: str, value: float | None, drop: bool = False) -> Trace:
    """A copy of ``tr`` whose end event reports ``value`` for ``name`` (or omits it)."""
    out = json.loads(json.dumps(tr))
    eps = out[-1]["privacy"]["epsilon"]
    if drop:
        del eps[name]
    else:
        eps[name] = value
    return out


def catch_up_steps(tr: Trace) -> int:
    """Local steps that submit for more than one round."""
    steps, current = [], None
    for e in tr:
        if e["kind"] == "local_step":
            current = [e]
            steps.append(current)
        elif e["kind"] in ("deliver", "crash"):
            current = None
        elif e["kind"] == "submit" and current is not None:
            current.append(e)
    return sum(1 for s in steps if len(s) > 2)


def test_reported_epsilon_equals_the_checkers_own_figure(trace: Trace) -> None:
    """P-6 holds with equality on a correct run: the simulator's report (asfl run's summary)
    is the checker's independent figure for each client's released certified sets. P-5
    holds too, over catch-up submissions of one step."""
    rep = check(trace)
    assert rep.ok, [v.as_dict() for v in rep.violations[:3]]
    assert catch_up_steps(trace) >= 1 and privacy.collision_log2(trace[0]) < privacy.FALSE_ALARM_LOG2
    end, cfg = trace[-1], trace[0]["config"]
    reported = end["privacy"]["epsilon"]
    assert end["privacy"]["delta"] == 1e-5 and set(reported) == {f"C{i}" for i in range(cfg["clients"])}
    for name, count in rep.fairness["inclusions"].items():
        own = privacy.epsilon(count, privacy.release_of(cfg), 1e-5)
        assert reported[name] == pytest.approx(own, rel=1e-12)
    assert max(reported.values()) > 0 and len(set(reported.values())) > 1  # distinct counts covered


def test_an_under_reported_epsilon_is_rejected(trace: Trace) -> None:
    """P-6: a report below the accountant's figure (by 0.1 %), or missing a client, is a
    violation at the end event; a higher or unbounded (null) report is not."""
    end_line = len(trace)
    reported = trace[-1]["privacy"]["epsilon"]
    name = max(reported, key=lambda n: reported[n])
    assert found(with_epsilon(trace, name, reported[name] * 0.999)) == [("P-6", end_line)]
    assert found(with_epsilon(trace, name, None, drop=True)) == [("P-6", end_line)]
    assert found(with_epsilon(trace, "C999", 1.0)) == [("P-6", end_line)]
    assert found(with_epsilon(trace, name, reported[name] * 1.5)) == []
    assert found(with_epsilon(trace, name, None)) == []
    low_delta = json.loads(json.dumps(trace))
    low_delta[-1]["privacy"]["delta"] = 1e-3  # a laxer delta gives smaller epsilons
    assert found(low_delta) == []
    strict = json.loads(json.dumps(trace))
    strict[-1]["privacy"]["delta"] = 1e-9  # same epsilons claimed at a stricter delta: too low
    assert {p for p, _ in found(strict)} == {"P-6"}


def test_a_repeated_quantised_update_is_rejected(trace: Trace) -> None:
    """P-5: a client's submission carrying the same quantised update as its earlier one is
    a violation at the later submit (P-1 then also fails where the copied x is summed)."""
    tr = json.loads(json.dumps(trace))
    subs = [k for k, e in enumerate(tr) if e["kind"] == "submit"]
    first = tr[subs[0]]
    k = next(k for k in subs[1:] if tr[k]["node"] == first["node"])
    tr[k]["ghost"]["x"] = first["ghost"]["x"]
    assert ("P-5", k + 1) in found(tr)
    other = json.loads(json.dumps(trace))  # the same x at another client is no P-5
    k2 = next(k for k in subs if other[k]["node"] != first["node"])
    other[k2]["ghost"]["x"] = first["ghost"]["x"]
    assert "P-5" not in {p for p, _ in found(other)}


def test_fresh_noise_check_applies_only_with_enough_noise(trace: Trace) -> None:
    """P-5's false-alarm bound: on the test configuration two fresh draws collide with
    probability far below 2^-64; without noise (z = 0) repeats are legitimate (D-13
    catch-up of one step) and the check is off. By hand, at d = 32, frac_bits = 0, a clip
    norm of 1e-9 and q_min = 1: Delta_2 = sqrt(32)/2, each Poisson has mean 4 z^2, and
    p = 1/sqrt(2 pi (4 z^2 - 1)) <= 1/4 = 2^(-64/32) iff z >= 0.9415: on at 0.95, off at 0.93."""
    header = trace[0]
    assert privacy.collision_log2(header) < -64
    subs = [privacy.GhostSubmission(0, t, "AAAA", line) for t, line in ((0, 5), (1, 9))]
    assert [v.prop for v in privacy.check_fresh_noise(header, subs)] == ["P-5"]
    quiet = {**header, "config": {**header["config"], "noise_multiplier": 0.0}}
    assert privacy.collision_log2(quiet) == 0.0 and privacy.check_fresh_noise(quiet, subs) == []
    small = {"clients": 16, "aggregators": 4, "q_min": 1, "clip": 1e-9, "frac_bits": 0, "dim": 32}
    for z, applies in ((0.93, False), (0.95, True)):
        cfg = {**small, "noise_multiplier": z}
        assert (privacy.collision_log2({"config": cfg}) <= privacy.FALSE_ALARM_LOG2) is applies
    assert privacy.check_fresh_noise({**header, "ghost": False}, subs) == []


def test_a_run_without_noise_reports_unbounded_epsilon(
    tmp_path: Path, small_cfg: ProtocolConfig, tiny_task: Task
) -> None:
    """D-10 with z = 0: every included client's epsilon is unbounded, written as null, and
    the checker accepts it; P-5 is off (catch-up submissions may repeat without noise)."""
    path = tmp_path / "quiet.jsonl"
    cfg = dataclasses.replace(small_cfg, noise_multiplier=0.0)
    summary, _ = execute(RunConfig(cfg, seed=3, trace=path), task=tiny_task)
    tr = [json.loads(line) for line in path.read_text().splitlines()]
    reported = tr[-1]["privacy"]["epsilon"]
    assert {reported[f"C{i}"] for i, n in summary.inclusions.items() if n} == {None}
    assert {reported[f"C{i}"] for i, n in summary.inclusions.items() if not n} <= {0.0}
    assert check(tr).ok and privacy.collision_log2(tr[0]) == 0.0
    assert found(with_epsilon(tr, next(n for n, e in reported.items() if e is None), 1e6)) == [
        ("P-6", len(tr))
    ]
