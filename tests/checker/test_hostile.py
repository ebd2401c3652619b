"""Hostile input (issue 8): every unusable trace or flag is one line on stderr and
exit 2, naming the line or field; never a traceback, a hang or unbounded memory."""

from __future__ import annotations

import copy
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from asfl.checker.replay import Checker, Unusable
from asfl.cli import main

Trace = list[dict[str, Any]]


def write(tmp_path: Path, data: bytes) -> str:
    f = tmp_path / "t.jsonl"
    f.write_bytes(data)
    return str(f)


def lines(tr: Trace) -> bytes:
    return ("\n".join(json.dumps(e) for e in tr) + "\n").encode()


def unusable(path: str, capsys: pytest.CaptureFixture[str], *words: str) -> str:
    assert main(["check", path, "--no-z3"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, (w, err)
    return err


@pytest.mark.parametrize(
    "field, value, word",
    [
        ("t_a", 5, "config.t_a"),
        ("dim", 10**12, "config.dim"),
        ("aggregators", 10**9, "config.aggregators"),
        ("clients", 10**9, "config.clients"),
        ("rounds", 10**9, "config.rounds"),
    ],
)
def test_header_bounds(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    model_traces: dict[str, Trace],
    field: str,
    value: int,
    word: str,
) -> None:
    tr = copy.deepcopy(model_traces["all"])
    tr[0]["config"][field] = value
    unusable(write(tmp_path, lines(tr)), capsys, ":1:", word)


def test_deep_nesting_non_utf8_and_bad_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], model_traces: dict[str, Trace]
) -> None:
    body = lines(model_traces["all"]).split(b"\n")
    unusable(write(tmp_path, b"[" * 100_000 + b"\n"), capsys, ":1:", "nested too deeply")
    bad = b"\n".join(body[:5] + [b'{"seq": 5, "kind": "\xff"}'] + body[6:])
    unusable(write(tmp_path, bad), capsys, ":6:", "UTF-8")
    unusable(write(tmp_path, b"\n".join(body[:3] + [b"[1, 2]"] + body[4:])), capsys, ":4:", "JSON object")


def test_u2028_inside_a_string_is_not_a_line_break(tmp_path: Path, model_traces: dict[str, Trace]) -> None:
    tr = copy.deepcopy(model_traces["all"])
    tr[-1]["detail"] = "one\u2028two\u2029three\x85four"
    data = "\n".join(json.dumps(e, ensure_ascii=False) for e in tr).encode() + b"\n"
    rep = Checker(signatures="all", z3=False).check_file(write(tmp_path, data))
    assert rep.ok and rep.lines == len(tr) and rep.events == len(tr) - 1
    # and a violation still names the right line after such a string
    tr[-1]["rounds_done"]["A1"] = 0
    data = "\n".join(json.dumps(e, ensure_ascii=False) for e in tr).encode() + b"\n"
    rep = Checker(signatures="all", z3=False).check_file(write(tmp_path, data))
    assert {v.line for v in rep.violations if v.prop == "T-END"} == {len(tr)}


def test_bad_first_line_reads_nothing_else(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Streamed: a bad header is reported without reading (or holding) the rest."""
    path = write(tmp_path, b"{bad\n" + (b'{"seq": 1, "kind": "crash", "node": "C0"}\n' * 400_000))
    tracemalloc.start()
    with pytest.raises(Unusable) as e:
        Checker().check_file(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert e.value.line == 1 and peak < 2 * 2**20, peak
    unusable(path, capsys, ":1:", "invalid JSON")


@pytest.mark.parametrize(
    "flag, word",
    [
        (["--delta", "0"], "--delta"),
        (["--delta", "1"], "--delta"),
        (["--max-violations", "0"], "--max-violations"),
    ],
)
def test_flags_are_validated(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    model_traces: dict[str, Trace],
    flag: list[str],
    word: str,
) -> None:
    path = write(tmp_path, lines(model_traces["all"]))
    assert main(["check", path, *flag]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and word in err, err
    with pytest.raises(ValueError):
        Checker(delta=0.0)
    with pytest.raises(ValueError):
        Checker(max_violations=0)


def test_max_violations_one_still_judges(tmp_path: Path, model_traces: dict[str, Trace]) -> None:
    """--max-violations bounds the report; a valid trace stays valid."""
    path = write(tmp_path, lines(model_traces["all"]))
    assert main(["check", path, "--max-violations", "1", "--no-z3"]) == 0


def test_large_sizes_within_bounds_do_not_hang(tmp_path: Path, model_traces: dict[str, Trace]) -> None:
    """A header with 10,000 clients and 100 aggregators and no events: checked in
    seconds (Z3 per-trace obligations beyond their budget are skipped and said so)."""
    import time

    h = copy.deepcopy(model_traces["all"][0])
    h["config"].update(clients=10_000, aggregators=100, t_a=33, q_min=2)
    end = {"seq": 1, "kind": "end", "status": "step_limit", "rounds_done": {}, "detail": ""}
    t0 = time.perf_counter()
    rep = Checker().check_file(write(tmp_path, lines([h, end])))
    assert time.perf_counter() - t0 < 30
    assert rep.stats["z3"]["skipped"] and rep.liveness["verdict"] == "inconclusive (step limit)"
