"""Signatures verified ahead (checker/sigs.py ``Ahead``, ``Checker.feed_ahead``): a whole
trace checked with its lines read a batch ahead and its signatures verified on a worker
thread gives exactly the report of feeding it event by event (the online API, as the
harness does), whatever the positions of bad signatures, Byzantine senders included, and
an unusable line is reported in its turn; what is read ahead stays within two batches."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from trace_sets import Signer

from asfl.checker import replay
from asfl.checker.replay import Checker, Report, Unusable
from asfl.model.emit import emit_trace
from asfl.model.params import Params
from asfl.model.system import BEHAVIOURS

Trace = list[dict[str, Any]]
#: two colluding Byzantine aggregators (a send may carry the other's signature, I-4)
P_COLLUDE = Params(n_a=7, t_a=2, n_c=9, t_c=0, q_min=2, B=1, R=2, byzantine=frozenset({0, 1}))
#: batches this small put many batch boundaries inside a short trace
LINES = 7


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay, "AHEAD_LINES", LINES)


@pytest.fixture(scope="module")
def colluders() -> Trace:
    s = Signer(P_COLLUDE)
    return emit_trace(P_COLLUDE, seed=2, behaviours=",".join(BEHAVIOURS), signer=s, keys=s.keys)


def online(lines: list[str], most: int = 1000) -> Report:
    """The reference: ``start``, ``feed`` per non-blank line (signatures verified on
    the feeding thread as each send is fed), ``finish``; stop after ``most`` violations."""
    c = Checker(signatures="all", z3=False, max_violations=most)
    c.start(Checker.parse(lines[0], 1))
    last = 1
    for n, raw in enumerate(lines[1:], 2):
        last = n
        if raw.strip():
            c.feed(Checker.parse(raw, n), line=n)
            if len(c.rep.violations) >= most:
                break
    return c.finish(lines=last)


def verdict(rep: Report) -> dict[str, Any]:
    """Everything in a report but its timings and the count of results taken ahead."""
    stats = {k: v for k, v in rep.stats.items() if k not in ("seconds", "replay_seconds")}
    stats["signatures"] = {k: v for k, v in stats["signatures"].items() if k not in ("seconds", "ahead")}
    return {
        "violations": [v.as_dict() for v in rep.violations],
        "lines": rep.lines,
        "events": rep.events,
        "liveness": rep.liveness,
        "fairness": rep.fairness,
        "certificates": rep.certificates,
        "stats": stats,
    }


def same(lines: list[str], most: int = 1000) -> Report:
    """Check ``lines`` both ways; assert the same report; the pipelined one."""
    rep = Checker(signatures="all", z3=False, max_violations=most).check_lines(lines)
    assert verdict(rep) == verdict(online(lines, most))
    return rep


def dumps(tr: Trace) -> list[str]:
    return [json.dumps(e) for e in tr]


def spoil(tr: Trace, k: int) -> None:
    """A signature of line ``k + 1`` that does not verify (one hex digit changed)."""
    s = tr[k]["sig"]
    tr[k]["sig"] = ("1" if s[0] == "0" else "0") + s[1:]


def sends(tr: Trace, byz: bool | None = None) -> list[int]:
    """Indices of signed sends (of Byzantine senders only, honest only, or all)."""
    bad = set(tr[0]["byzantine"])
    return [
        k
        for k, e in enumerate(tr)
        if e["kind"] == "send"
        and e["type"] != "junk"
        and (byz is None or (e["node"][0] == "A" and int(e["node"][1:]) in bad) == byz)
    ]


def test_clean_traces_and_every_worker_result_taken(model_traces: dict[str, Trace], colluders: Trace) -> None:
    for tr in [*model_traces.values(), colluders]:
        rep = same(dumps(tr))
        sig = rep.stats["signatures"]
        assert sig["verified"] > 0 and 0 < sig["ahead"] <= sig["verified"]


@pytest.mark.parametrize("where", ["first", "last", "byzantine", "spread"])
def test_bad_signatures_anywhere(model_traces: dict[str, Trace], colluders: Trace, where: str) -> None:
    for base in (model_traces["all"], colluders):
        tr = json.loads(json.dumps(base))
        honest, byz = sends(tr, byz=False), sends(tr, byz=True)
        picks = {
            "first": honest[:1],
            "last": honest[-1:],
            "byzantine": byz[::3],
            "spread": honest[:: max(1, len(honest) // 25)] + byz[1::7],
        }[where]
        for k in picks:
            spoil(tr, k)
        lines = dumps(tr)
        if where == "last":
            lines = lines[: picks[0] + 1]  # the bad signature on the trace's last line
        rep = same(lines)
        assert {v.line for v in rep.violations if v.prop == "I-4"} >= {k + 1 for k in picks}


def test_bad_signature_on_the_first_event_line(model_traces: dict[str, Trace]) -> None:
    tr = json.loads(json.dumps(model_traces["all"]))
    k = sends(tr, byz=False)[3]
    spoil(tr, k)
    rep = same(dumps([tr[0], *tr[k:]]))
    assert any(v.prop == "I-4" and v.line == 2 for v in rep.violations)


@pytest.mark.parametrize("most", [1, 2, 5, 30])
def test_stop_at_max_violations(model_traces: dict[str, Trace], most: int) -> None:
    tr = json.loads(json.dumps(model_traces["all"]))
    for k in sends(tr)[5::4]:
        spoil(tr, k)
    lines = dumps(tr)
    rep = same(lines, most)
    assert len(rep.violations) >= most and rep.lines < len(lines)
    # a line that does not parse after the stop is never reported
    broken = lines[: rep.lines] + ["{not json", *lines[rep.lines :]]
    assert verdict(same(broken, most)) == verdict(rep)


def test_unusable_lines_in_their_turn(model_traces: dict[str, Trace]) -> None:
    lines = dumps(model_traces["all"])
    tr = json.loads(json.dumps(model_traces["all"]))
    spoil(tr, sends(tr)[2])
    spoilt = dumps(tr)
    for k in (3, LINES, LINES + 1, 2 * LINES + 3, len(lines) - 1):
        for bad in ("{not json", "[1, 2]", json.dumps({**json.loads(lines[k]), "kind": "nonsense"})):
            for src in (lines, spoilt):
                tried = src[:k] + [bad] + src[k + 1 :]
                with pytest.raises(Unusable) as want:
                    online(tried)
                with pytest.raises(Unusable) as got:
                    Checker(signatures="all", z3=False).check_lines(tried)
                assert want.value.line == k + 1
                assert (got.value.line, got.value.message) == (want.value.line, want.value.message)


def test_reader_errors_in_their_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_traces: dict[str, Trace]
) -> None:
    """A line the reader refuses (too long) is reported after the lines before it are
    checked: an earlier unusable line is reported instead, a stop before it hides it."""
    monkeypatch.setattr(replay, "MAX_LINE_BYTES", 4000)
    tr = json.loads(json.dumps(model_traces["all"]))
    long_at = 3 * LINES + 2
    tr[long_at]["detail"] = "x" * 5000
    f = tmp_path / "t.jsonl"
    f.write_text("\n".join(dumps(tr)) + "\n")
    with pytest.raises(Unusable) as e:
        Checker(signatures="all", z3=False).check_file(f)
    assert e.value.line == long_at + 1 and "longer than" in e.value.message
    early = json.loads(json.dumps(tr))
    early[long_at - 3]["kind"] = "nonsense"  # in the batch fed while the long line is read
    f.write_text("\n".join(dumps(early)) + "\n")
    with pytest.raises(Unusable) as e:
        Checker(signatures="all", z3=False).check_file(f)
    assert e.value.line == long_at - 2 and "nonsense" in e.value.message
    for k in sends(tr)[:3]:
        spoil(tr, k)
    f.write_text("\n".join(dumps(tr)) + "\n")
    rep = Checker(signatures="all", z3=False, max_violations=1).check_stream(replay._lines(f))
    assert rep.lines == sends(tr)[0] + 1 < long_at
    assert [(v.prop, v.line) for v in rep.violations[:1]] == [("I-4", rep.lines)]


def test_read_ahead_is_two_batches(monkeypatch: pytest.MonkeyPatch, model_traces: dict[str, Trace]) -> None:
    """While a line is fed, at most two batches of lines are read and not yet fed, by
    count (``AHEAD_LINES``) and by bytes (``AHEAD_BYTES`` plus one line each)."""
    lines = dumps(model_traces["all"])
    longest = max(len(x) for x in lines)
    for size in (10**9, 300):
        monkeypatch.setattr(replay, "AHEAD_BYTES", size)
        c = Checker(signatures="all", z3=False)
        ahead: list[tuple[int, int]] = []
        read = [0]

        def source(c: Checker = c, ahead: list[tuple[int, int]] = ahead, read: list[int] = read) -> Iterator:
            fed_bytes = [0] * (len(lines) + 2)
            for n, raw in enumerate(lines, 1):
                read[0] += len(raw)
                fed_bytes[n] = read[0]
                ahead.append((n - c.line, read[0] - fed_bytes[c.line]))
                yield n, raw

        rep = c.check_stream(source())
        assert rep.lines == len(lines) and rep.ok
        assert max(a for a, _ in ahead) <= 2 * LINES
        if size < 10**9:
            assert max(b for _, b in ahead) <= 2 * (size + longest)
            assert max(a for a, _ in ahead) < 2 * LINES  # the byte bound cut some batches
        else:
            assert max(a for a, _ in ahead) == 2 * LINES  # and it is reached
