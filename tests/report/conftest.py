"""Fixtures of the report tests: a counterexample of the explorer (a model bug that
releases twice, S-3) and a model trace with Byzantine behaviours, both as trace files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from asfl.model.emit import emit_trace, path_trace
from asfl.model.explore import explore
from asfl.model.params import Params

BYZ = frozenset({"equivocate", "forge-endorse", "wrong-release"})
P_BUG = Params(n_a=4, t_a=1, n_c=8, t_c=0, q_min=2, B=0, R=1, byzantine=frozenset({0}), bug="double-release")
P_RUN = Params(
    n_a=4, t_a=1, n_c=12, t_c=1, q_min=2, B=0, R=3, byzantine=frozenset({2}), crashed=frozenset({5})
)


def write_trace(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def cex_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    res = explore(P_BUG, behaviours=BYZ, max_seconds=60)
    assert res.violations and res.violations[0].prop == "S-3"
    events = path_trace(P_BUG, BYZ, res.violations[0].actions, "step_limit", "explorer counterexample")
    return write_trace(tmp_path_factory.mktemp("cex") / "cex.jsonl", events)


@pytest.fixture(scope="session")
def run_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    events = emit_trace(P_RUN, seed=3, behaviours="equivocate,wrong-release")
    return write_trace(tmp_path_factory.mktemp("run") / "run.jsonl", events)
