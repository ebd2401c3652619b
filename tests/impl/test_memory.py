"""State bounded in rounds and the shared announcement memo (issue 11).

What no rule reads any more is dropped (D-17), and sharing one AnnounceChecker between
clients changes no behaviour.

``retained_bytes`` walks everything reachable from the simulator's nodes and adds the
payload of every numpy array and byte string once. Running the same configuration for
more rounds must not grow it by more than the few digests, flags and model vectors per
round that the rules still need (D-17 in specs/protocol.md).
"""

from __future__ import annotations

import gc
import types
from dataclasses import replace

import numpy as np
import pytest

from asfl.impl.client import AnnounceChecker
from asfl.impl.config import ProtocolConfig
from asfl.impl.learning.data import Task, load_digits_task
from asfl.impl.sim.run import Built, RunConfig, build


@pytest.fixture(scope="module")
def digits_task() -> Task:
    return load_digits_task(seed=0)  # d = 650: vectors dominate what a round would leave behind


_SKIP = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.CodeType)


def retained_bytes(built: Built) -> int:
    """Payload bytes (numpy arrays, bytes) reachable from the nodes, each object once; the
    clients' shared :class:`AnnounceChecker` is bounded by its capacity and not counted."""
    seen: set[int] = set()
    stack: list[object] = list(built.sim.nodes.values())
    total = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (*_SKIP, AnnounceChecker)):
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            total += obj.nbytes if obj.base is None else 0
            continue
        if isinstance(obj, bytes | bytearray):
            total += len(obj)
            continue
        stack.extend(gc.get_referents(obj))
    return total


def _run(cfg: ProtocolConfig, task: Task, rounds: int) -> tuple[Built, int]:
    built = build(RunConfig(replace(cfg, rounds=rounds), seed=1, byzantine=1, crashed=1), task=task)
    assert built.sim.run(2_000_000) == "complete"
    return built, retained_bytes(built)


def test_node_state_does_not_grow_with_rounds(digits_task: Task) -> None:
    """No S/P/I/L/F property (resource bound of issue 11), D-17: from
    3 to 9 rounds the nodes' state grows per round by at most what the rules keep (each
    aggregator's model, per cluster its digests, signatures and client list, per client a few
    digests), not by the masked vectors, ciphertexts, shares and evidence of finished rounds."""
    cfg = ProtocolConfig(n_clients=16, n_aggregators=4, t_a=1, t_c=1, q_min=2, batch_size=4)
    _, short = _run(cfg, digits_task, 3)
    built, long = _run(cfg, digits_task, 9)
    per_round = (long - short) / 6
    d, n_a, n_c = built.cfg.dim, cfg.n_aggregators, cfg.n_clients
    kept = 8 * d * (n_a + 1) + 1_600 * n_a * n_a + 40 * n_c * (n_a + 2)
    assert per_round < 1.5 * kept, (per_round, kept)
    checker = built.sim.nodes["C0"].checker  # type: ignore[attr-defined]
    assert len(checker._announces) <= checker.capacity


def test_shared_announce_checker_changes_no_behaviour(
    tmp_path, small_cfg: ProtocolConfig, tiny_task: Task
) -> None:
    """No S/P/I/L/F property (R-3, R-15: the memo runs every check once per distinct message):
    clients sharing one AnnounceChecker, as the simulator builds them, write byte for byte the
    trace of clients that each check every announcement themselves, forged ones included."""
    traces = []
    for shared in (True, False):
        run = RunConfig(small_cfg, seed=2, byzantine=1, behaviour="forge", trace=tmp_path / f"{shared}.jsonl")
        built = build(run, task=tiny_task)
        if not shared:
            for name, node in built.sim.nodes.items():
                if name.startswith("C"):
                    node.checker = AnnounceChecker(built.cfg, node.public)  # type: ignore[attr-defined]
        assert built.sim.run(2_000_000) == "complete"
        built.sim.trace.close()
        traces.append((tmp_path / f"{shared}.jsonl").read_bytes())
    assert traces[0] == traces[1]
    assert traces[0].count(b"valid attestations < t_a + 1") > 0  # forged models were rejected (R-15d)
    assert traces[0].count(b"body digest does not match") > 0  # and wrong bodies (R-15e)


def test_a_run_without_a_trace_keeps_no_events(digits_task: Task) -> None:
    """No S/P/I/L/F property (resource bound of issue 11): a simulated run without a trace
    path (the scale experiments) used to keep every event in memory (the in-memory trace is
    for tests); with ``keep_events=False`` events are numbered as before and nothing is kept."""
    cfg = ProtocolConfig(n_clients=8, n_aggregators=4, t_a=1, t_c=0, q_min=2, batch_size=4, rounds=2)
    kept = build(RunConfig(cfg, seed=1), task=digits_task)
    dropped = build(RunConfig(cfg, seed=1, keep_events=False), task=digits_task)
    for b in (kept, dropped):
        assert b.sim.run(2_000_000) == "complete"
    assert len(kept.sim.trace.events) > 100 and dropped.sim.trace.events == []
    assert dropped.sim.trace._seq == kept.sim.trace._seq  # the same events, only not kept


def test_the_run_command_keeps_no_events() -> None:
    """A configuration the CLI builds without a trace path keeps no events."""
    from asfl.cli_run import DEFAULT, run_config

    opts = {
        "aggregators": 4, "clients": 8, "t_a": None, "t_c": 0, "q_min": None, "rounds": 2,
        "rule": DEFAULT.rule, "noise_multiplier": 0.0, "byzantine": 0, "crashed": 0, "seed": 0,
        "scheduler": "random", "behaviour": "equivocate", "partition": "iid", "alpha": 0.5,
        "trace_path": None, "task": "digits", "model": "softmax",
    }  # fmt: skip
    assert run_config(opts).keep_events is False
