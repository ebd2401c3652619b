"""Deterministic replay and the trace format (spec §9, D-2, I-4 trace clause, R-16).

Same seed and scheduler give byte-identical trace files; another seed gives another trace;
every line of a trace validates against ``specs/trace.schema.json``.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from asfl.impl import crypto
from asfl.impl.config import ProtocolConfig
from asfl.impl.learning.data import Task
from asfl.impl.sim.run import RunConfig, execute
from asfl.impl.sim.schedulers import SCHEDULERS

SCHEMA_PATH = Path(str(resources.files("asfl") / "specs" / "trace.schema.json"))


def run_to(path: Path, cfg: ProtocolConfig, task: Task, **kw) -> bytes:
    summary, _ = execute(RunConfig(cfg, trace=path, **kw), task=task)
    assert summary.trace == path
    return path.read_bytes()


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_same_seed_same_trace_bytes(
    scheduler: str, tmp_path: Path, small_cfg: ProtocolConfig, tiny_task: Task
) -> None:
    """No S/P/I/L/F property (replayability of §9, on which the trace checks rest); Spec §9 / D-2
    (deterministic simulation): the same seed and scheduler produce byte-identical trace files, with
    a randomised Byzantine behaviour, crashes and ghosts."""
    kw = dict(seed=3, scheduler=scheduler, byzantine=1, behaviour="malformed", crashed=1, ghost=True)
    a = run_to(tmp_path / "a.jsonl", small_cfg, tiny_task, **kw)
    b = run_to(tmp_path / "b.jsonl", small_cfg, tiny_task, **kw)
    assert a == b
    assert a.count(b"\n") > 100


def test_different_seed_different_trace(tmp_path: Path, small_cfg: ProtocolConfig, tiny_task: Task) -> None:
    """No S/P/I/L/F property (replayability of §9); Spec §9 / D-2: another seed gives another trace
    (keys, masks, schedule all change)."""
    kw = dict(scheduler="random", byzantine=1, behaviour="equivocate", crashed=1, ghost=True)
    a = run_to(tmp_path / "a.jsonl", small_cfg, tiny_task, seed=1, **kw)
    b = run_to(tmp_path / "b.jsonl", small_cfg, tiny_task, seed=2, **kw)
    assert a != b
    head_a, head_b = (json.loads(x.split(b"\n", 1)[0]) for x in (a, b))
    assert head_a["keys"] != head_b["keys"]


@pytest.fixture(scope="module")
def schema() -> dict:
    loaded = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(loaded)
    return loaded


@pytest.fixture(scope="module")
def validator(schema: dict) -> Draft202012Validator:
    return Draft202012Validator(schema)


@pytest.fixture(scope="module")
def branch_validators(schema: dict) -> dict[str, Draft202012Validator]:
    """One validator per ``oneOf`` branch, keyed by the ``kind`` constant that branch pins.

    Every branch fixes ``kind`` to a distinct constant, so a record validates against the
    whole schema iff it validates against the branch of its kind; validating that branch
    alone is equivalent and an order of magnitude faster than trying all 16.
    """
    out = {}
    for branch in schema["oneOf"]:
        name = branch["$ref"].rsplit("/", 1)[1]
        out[name] = Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": schema["$defs"]})
    return out


@pytest.mark.parametrize(
    "behaviour,scheduler,seed",
    [
        ("equivocate", "random", 0),
        ("malformed", "timed", 1),
        ("replay", "fifo", 2),
        ("wrong-shares", "random", 3),
    ],
)
def test_every_trace_line_validates_against_the_schema(
    behaviour: str,
    scheduler: str,
    seed: int,
    tmp_path: Path,
    small_cfg: ProtocolConfig,
    tiny_task: Task,
    validator: Draft202012Validator,
    branch_validators: dict[str, Draft202012Validator],
) -> None:
    """I-4 and P-1 (the trace fields they are checked on), Spec §9 (trace.schema.json): every line
    of a run with ghost fields, crashes and a Byzantine behaviour validates; sequence numbers are
    consecutive from 1; the header comes first and the end event last; ghost fields are present;
    every protocol event kind occurs."""
    path = tmp_path / "t.jsonl"
    run_to(
        path,
        small_cfg,
        tiny_task,
        seed=seed,
        scheduler=scheduler,
        byzantine=1,
        behaviour=behaviour,
        crashed=small_cfg.t_c,
        ghost=True,
    )
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    seen: set[str] = set()
    for k, record in enumerate(records):
        assert record.get("kind") in branch_validators, f"line {k + 1}: unknown kind {record.get('kind')!r}"
        check = branch_validators[record["kind"]]
        if record["kind"] not in seen:  # the first line of each kind against the whole schema too
            seen.add(record["kind"])
            check = validator
        errors = sorted(check.iter_errors(record), key=lambda e: list(e.path))
        assert not errors, f"line {k + 1}: {record['kind']}: {errors[0].message}"
    assert records[0]["kind"] == "header" and records[-1]["kind"] == "end"
    assert [r["seq"] for r in records[1:]] == list(range(1, len(records)))
    assert {
        "send",
        "deliver",
        "local_step",
        "submit",
        "propose",
        "endorse",
        "certify",
        "release",
        "reconstruct",
        "aggregate",
        "accept",
        "end",
    } <= seen
    assert all("ghost" in r for r in records if r["kind"] in ("submit", "reconstruct"))
    if behaviour in ("malformed", "replay"):
        assert "drop" in seen


def test_schema_rejects_broken_events(validator: Draft202012Validator) -> None:
    """I-4 (trace), Spec §9: the schema is not vacuous: a send without signature, a drop without a
    reason, a bad digest and an unknown kind are rejected."""
    good = {"seq": 1, "kind": "drop", "node": "A0", "msg": 3, "reason": "x"}
    assert validator.is_valid(good)
    assert not validator.is_valid({k: v for k, v in good.items() if k != "reason"})
    assert not validator.is_valid({**good, "kind": "nonsense"})
    assert not validator.is_valid(
        {
            "seq": 2,
            "kind": "send",
            "node": "A0",
            "to": "A1",
            "msg": 1,
            "type": "endorse",
            "size": 3,
            "digest": "00" * 32,
        }
    )
    assert not validator.is_valid(
        {
            "seq": 2,
            "kind": "endorse",
            "node": "A0",
            "round": 0,
            "cluster": 0,
            "pd": "zz" * 32,
            "md": "00" * 32,
        }
    )


def test_honest_sends_carry_valid_signatures(small_cfg: ProtocolConfig, tiny_task: Task) -> None:
    """I-4 (trace clause): every send of an honest node in the trace carries a valid Ed25519
    signature of its sender on the traced digest, checked with the header's public keys."""
    summary, built = execute(
        RunConfig(small_cfg, seed=6, byzantine=1, behaviour="forge", crashed=1, ghost=False), task=tiny_task
    )
    events = built.sim.trace.events
    header, body = events[0], events[1:]
    byzantine = {f"A{j}" for j in header["byzantine"]}
    checked = 0
    for e in body:
        if e["kind"] == "send" and e["node"] not in byzantine:
            key = bytes.fromhex(header["keys"][e["node"]]["sign"])
            assert crypto.verify(key, bytes.fromhex(e["digest"]), bytes.fromhex(e["sig"])), e
            checked += 1
    assert checked > 100
