"""The report's data (checker/html/data.py): what the page embeds agrees with the trace
and the checker's report; the size cap keeps protocol events; statements come from specs;
the ShiViz export's vector clocks respect message causality."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from asfl.checker.html.build import build_report
from asfl.checker.html.data import KINDS, parse_lines, report_data
from asfl.checker.html.page import render_page
from asfl.checker.html.shiviz import shiviz_lines
from asfl.checker.html.specs import statement
from asfl.checker.replay import Checker, Unusable


def _data(trace: Path, **kw: object) -> dict:
    lines = trace.read_text().splitlines()
    rep = Checker(signatures="none", z3=False).check_file(trace)
    return report_data(lines, rep, **kw)  # type: ignore[arg-type]


def test_columns_match_the_trace(run_trace: Path) -> None:
    d = _data(run_trace)
    events = [e for _, e in parse_lines(run_trace.read_text().splitlines())[1:]]
    cols = d["events"]
    assert d["total_events"] == len(events) == len(cols["seq"]) and d["omitted_wire_events"] == 0
    assert all(len(v) == len(events) for v in cols.values())
    for k, e in enumerate(events):
        assert cols["seq"][k] == e["seq"] and KINDS[cols["k"][k]] == e["kind"]
        if "node" in e:
            assert d["nodes"][cols["n"][k]] == e["node"]
        if e["kind"] == "send":
            assert d["nodes"][cols["p"][k]] == e["to"] and cols["m"][k] == e["msg"]
    assert d["crashed"] == {
        f"C{i}": e["seq"] for e in events if e["kind"] == "crash" for i in [int(e["node"][1:])]
    }
    assert d["verdict"]["ok"] and d["verdict"]["findings"] == []


def test_rounds_chains_and_inclusions_agree_with_the_checker(run_trace: Path) -> None:
    d = _data(run_trace)
    rep = Checker(signatures="none", z3=False).check_file(run_trace)
    certified = {(c["round"], c["cluster"]): c["pd"] for c in rep.certificates}
    shown = {
        (r["round"], c["cluster"]): x["pd"]
        for r in d["rounds"]
        for c in r["clusters"]
        for x in c["certified"]
    }
    assert shown == certified and len(d["rounds"]) == 3 and all(len(r["clusters"]) == 4 for r in d["rounds"])
    members = sorted(i for c in d["rounds"][0]["clusters"] for i in c["members"])
    assert members == list(range(12))  # a partition of the clients
    last = d["inclusion"]["counts"][-1]
    assert {f"C{i}": n for i, n in enumerate(last)} == rep.fairness["inclusions"]
    chains = d["chains"]["chains"]
    assert "A2" not in chains and set(chains) == {"A0", "A1", "A3"}  # A2 is Byzantine
    for chain in chains.values():
        assert [m["round"] for m in chain] == list(range(1, len(chain) + 1))
        assert chain[0]["prev"] == d["chains"]["genesis"]


def test_violation_has_statement_and_history(cex_trace: Path) -> None:
    d = _data(cex_trace)
    f = d["verdict"]["findings"][0]
    assert f["prop"] == "S-3" and f["seq"] is not None and f["history"]
    assert f["statement"] == statement("S-3")
    assert "releases for `(tau, c)` at most once" in f["statement"]
    assert all(h < f["seq"] for h in f["history"])


def test_statements_from_specs() -> None:
    assert "Quorum intersection" in statement("S-6")
    assert statement("R-10").startswith("R-10 Release")
    assert "consecutive from 1" in statement("T-SEQ")
    assert "not defined" in statement("X-9")


def test_cap_keeps_protocol_events(run_trace: Path) -> None:
    full = _data(run_trace)
    wire = {KINDS.index(k) for k in ("send", "deliver", "drop")}
    n_proto = sum(1 for k in full["events"]["k"] if k not in wire)
    cap = n_proto + 50
    d = _data(run_trace, event_cap=cap)
    assert len(d["events"]["seq"]) == cap
    assert d["omitted_wire_events"] == full["total_events"] - cap
    assert sum(1 for k in d["events"]["k"] if k not in wire) == n_proto


def test_page_is_self_contained(run_trace: Path, tmp_path: Path) -> None:
    d = _data(run_trace)
    d["title"] = "a </script><b>title"
    page = render_page(d)
    assert page.count("</script>") == 2  # the data block and the script; the title is escaped
    assert "&lt;/script&gt;" in page
    for remote in ("http://", "https://", "src=", "@import"):
        assert remote not in page.replace("http://www.w3.org/2000/svg", ""), remote
    blob = page.split('<script id="data" type="application/json">')[1].split("</script>")[0]
    assert json.loads(blob.replace("<\\/", "</"))["title"] == d["title"]


def test_build_writes_report_and_shiviz(cex_trace: Path, tmp_path: Path) -> None:
    built = build_report(
        cex_trace, tmp_path / "r.html", signatures="none", z3=False, shiviz=tmp_path / "s.log"
    )
    assert built.html.exists() and [f.prop for f in built.findings] == ["S-3"]
    assert (tmp_path / "s.log").read_text().count("\n") == 2 * sum(
        1 for _, e in parse_lines(cex_trace.read_text().splitlines())[1:] if "node" in e
    )


def test_shiviz_clocks_are_causal(run_trace: Path) -> None:
    out = shiviz_lines(run_trace.read_text().splitlines())
    assert len(out) % 2 == 0
    events = [e for _, e in parse_lines(run_trace.read_text().splitlines())[1:] if "node" in e]
    clocks = [json.loads(ln.split(" ", 1)[1]) for ln in out[1::2]]
    at_send = {}
    last: dict[str, int] = {}
    for k, (e, vc) in enumerate(zip(events, clocks, strict=True)):
        assert out[2 * k].startswith(f"#{e['seq']} {e['kind']}")
        assert vc[e["node"]] == last.get(e["node"], 0) + 1  # own entry counts own events
        last[e["node"]] = vc[e["node"]]
        if e["kind"] == "send":
            at_send[e["msg"]] = vc
        if e["kind"] == "deliver":
            sent = at_send[e["msg"]]
            assert all(vc.get(k, 0) >= v for k, v in sent.items())  # the deliver follows its send


@settings(max_examples=12, deadline=None)
@given(st.data())
def test_report_of_any_checkable_trace(run_trace: Path, data: st.DataObject) -> None:
    """Whatever the checker accepts as a usable trace (out-of-range rounds, clusters, nodes,
    unknown messages: violations, not unusable input), the report is built."""
    events = [json.loads(ln) for ln in run_trace.read_text().splitlines()]
    for _ in range(data.draw(st.integers(1, 6))):
        k = data.draw(st.integers(1, len(events) - 1))
        ev = dict(events[k])
        field = data.draw(st.sampled_from(["round", "cluster", "node", "msg", "to", "from", "clients"]))
        if field in ev:
            ev[field] = data.draw(
                {
                    "round": st.integers(0, 50),
                    "cluster": st.integers(0, 50),
                    "node": st.sampled_from(["A99", "C99", "A0", "C0"]),
                    "msg": st.integers(0, 10**6),
                    "to": st.sampled_from(["A99", "C99", "A1"]),
                    "from": st.sampled_from(["A99", "C99", "A1"]),
                    "clients": st.lists(st.integers(0, 80), max_size=5),
                }[field]
            )
        events[k] = ev
    lines = [json.dumps(e) for e in events]
    try:
        rep = Checker(signatures="none", z3=False).check_lines(lines)
    except Unusable:
        return
    d = report_data(lines, rep)
    assert len(d["events"]["seq"]) == len(events) - 1
    json.dumps(d)
