"""Checker tests: valid model traces pass; schema errors are unusable input (exit 2);
mutated traces are rejected with the right property ID."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from asfl import cli_check
from asfl.checker.replay import Checker, Unusable
from asfl.checker.report import as_json, render
from asfl.model.emit import emit_trace
from asfl.model.params import Params, validity_errors

Trace = list[dict[str, Any]]

P_BYZ = Params(n_a=4, t_a=1, n_c=9, t_c=0, q_min=2, B=1, R=3, byzantine=frozenset({0}))
P_CRASH = Params(
    n_a=4, t_a=1, n_c=12, t_c=1, q_min=2, B=0, R=3, byzantine=frozenset({2}), crashed=frozenset({5})
)
ALL_BYZ = "equivocate,forge-endorse,wrong-release,forge-announce"


class Signer:
    def __init__(self, p: Params) -> None:
        self.sk = {n: Ed25519PrivateKey.generate() for n in list(p.aggregators) + list(p.client_names)}
        self.keys = {
            n: {"sign": k.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex(), "kx": "00" * 32}
            for n, k in self.sk.items()
        }

    def __call__(self, node: str, digest: bytes) -> str:
        return self.sk[node].sign(digest).hex()


@pytest.fixture(scope="module")
def signed() -> Trace:
    s = Signer(P_BYZ)
    return emit_trace(P_BYZ, seed=1, behaviours=ALL_BYZ, signer=s, keys=s.keys)


def check(tr: Trace, signatures: str = "none") -> Any:
    lines = [json.dumps(e) for e in tr]
    return Checker(signatures=signatures).check_lines(lines)


def props(tr: Trace, signatures: str = "none") -> set[str]:
    return {v.prop for v in check(tr, signatures).violations}


def test_configs_are_valid() -> None:
    assert validity_errors(P_BYZ) == [] and validity_errors(P_CRASH) == []


def test_signed_trace_valid(signed: Trace) -> None:
    rep = check(signed, signatures="all")
    assert rep.ok, render(rep)
    assert rep.stats["signatures"]["verified"] > 0
    assert rep.liveness["verdict"] == "live"
    assert rep.certificates
    js = as_json(rep)
    assert js["valid"] and "epsilon" in js["fairness"]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("p, behaviours", [(P_BYZ, ALL_BYZ), (P_CRASH, ALL_BYZ), (P_BYZ, "")])
def test_model_traces_valid(p: Params, behaviours: str, seed: int) -> None:
    tr = emit_trace(p, seed=seed, behaviours=behaviours)
    rep = check(tr)
    assert rep.ok, render(rep)
    assert tr[-1]["status"] == "complete" and rep.liveness["verdict"] == "live"


def test_stall_beyond_bounds_is_not_a_violation() -> None:
    p = Params(n_a=4, t_a=1, n_c=8, t_c=0, q_min=2, B=0, R=2, byzantine=frozenset({0, 1}))
    tr = emit_trace(p, seed=0)  # two silent Byzantine aggregators: only 2 clusters complete
    assert tr[-1]["status"] == "stalled"
    rep = check(tr)
    assert rep.ok and "exceeded" in rep.liveness["verdict"]


def test_stall_within_bounds_is_l1() -> None:
    tr = emit_trace(
        Params(n_a=4, t_a=1, n_c=8, t_c=0, q_min=2, B=0, R=2, byzantine=frozenset({0, 1})), seed=0
    )
    tr[0]["byzantine"] = [0]  # claim only one Byzantine: A1's silence is now a liveness bug
    # A1 is then "honest" yet wrote no protocol event: L-1 (and L-3 for its undelivered mail)
    assert {"L-1", "L-2"} <= props(tr)


# -------------------------------------------------------------------------------------
# unusable input
# -------------------------------------------------------------------------------------


def _write(tmp_path: Path, lines: list[str]) -> str:
    f = tmp_path / "t.jsonl"
    f.write_text("\n".join(lines) + "\n")
    return str(f)


def test_unusable_inputs(tmp_path: Path, signed: Trace) -> None:
    good = [json.dumps(e) for e in signed[:30]]
    cases = {
        "bad json": (good[:5] + ["{not json"] + good[5:], 6, "invalid JSON"),
        "missing field": (
            good[:3] + [json.dumps({k: v for k, v in signed[3].items() if k != "node"})] + good[4:],
            4,
            "node",
        ),
        "wrong type": (good[:2] + [json.dumps({**signed[2], "seq": "x"})] + good[3:], 3, "seq"),
        "no header": (good[1:], 1, "header"),
        "bad digest": (
            good[:7]
            + [json.dumps({**signed[7], **({"sd": "XYZ"} if "sd" in signed[7] else {"digest": "XYZ"})})]
            + good[8:],
            8,
            "",
        ),
    }
    for name, (lines, line, word) in cases.items():
        with pytest.raises(Unusable) as e:
            Checker(signatures="none").check_lines(lines)
        assert e.value.line == line, name
        assert word in e.value.message, (name, e.value.message)
        path = _write(tmp_path, lines)
        assert cli_check.command.main([path], standalone_mode=False) == 2


def test_cli_exit_codes(tmp_path: Path, signed: Trace) -> None:
    path = _write(tmp_path, [json.dumps(e) for e in signed])
    assert cli_check.command.main([path], standalone_mode=False) == 0
    assert cli_check.command.main([path, "--json"], standalone_mode=False) == 0
    bad = copy.deepcopy(signed)
    _first(bad, lambda e: e["kind"] == "send" and e["node"] == "C0")["sig"] = "11" * 64
    path = _write(tmp_path, [json.dumps(e) for e in bad])
    assert cli_check.command.main([path], standalone_mode=False) == 1
    assert cli_check.command.main([path, "--no-signatures"], standalone_mode=False) == 0
    assert cli_check.command.main([str(tmp_path / "missing.jsonl")], standalone_mode=False) == 2


# -------------------------------------------------------------------------------------
# mutations
# -------------------------------------------------------------------------------------


def _first(tr: Trace, pred: Callable[[dict[str, Any]], bool], nth: int = 0) -> dict[str, Any]:
    hits = [e for e in tr[1:] if pred(e)]
    return hits[nth]


def _index(tr: Trace, pred: Callable[[dict[str, Any]], bool], nth: int = 0) -> int:
    return [k for k, e in enumerate(tr) if k > 0 and pred(e)][nth]


def _renumber(tr: Trace) -> Trace:
    for k, e in enumerate(tr[1:], 1):
        e["seq"] = k
    return tr


def _renumber_ids(tr: Trace) -> Trace:
    """Message ids 1, 2, ... in send order (D-19), after an edit inserted a send."""
    new = {e["msg"]: n for n, e in enumerate((e for e in tr[1:] if e["kind"] == "send"), 1)}
    for e in tr[1:]:
        if e["kind"] in ("send", "deliver", "drop"):
            e["msg"] = new.get(e["msg"], e["msg"])
    return tr


def kind(k: str, node: str | None = None) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["kind"] == k and (node is None or e.get("node") == node)


def m_duplicate(pred: Callable[[dict[str, Any]], bool]) -> Callable[[Trace], Trace]:
    def f(tr: Trace) -> Trace:
        k = _index(tr, pred)
        tr.insert(k + 1, copy.deepcopy(tr[k]))
        return _renumber(tr)

    return f


def m_delete(pred: Callable[[dict[str, Any]], bool]) -> Callable[[Trace], Trace]:
    def f(tr: Trace) -> Trace:
        del tr[_index(tr, pred)]
        return _renumber(tr)

    return f


def m_set(pred: Callable[[dict[str, Any]], bool], **changes: Any) -> Callable[[Trace], Trace]:
    def f(tr: Trace) -> Trace:
        e = _first(tr, pred)
        for k, v in changes.items():
            e[k] = v(e) if callable(v) else v
        return tr

    return f


def m_swap_before_trigger(pred: Callable[[dict[str, Any]], bool]) -> Callable[[Trace], Trace]:
    """Move a protocol event before the deliver that triggered it."""

    def f(tr: Trace) -> Trace:
        k = _index(tr, pred)
        j = max(x for x in range(1, k) if tr[x]["kind"] in ("deliver", "local_step"))
        tr.insert(j, tr.pop(k))
        return _renumber(tr)

    return f


def _other_pd(tr: Trace) -> str:
    return [e["pd"] for e in tr[1:] if e["kind"] == "propose"][-1]


def _bump_first(e: dict[str, Any]) -> list[int]:
    return [e["counts"][0] + 5] + e["counts"][1:]


def m_included_x(tr: Trace) -> Trace:
    """Change the ghost update of a client in an honestly proposed, reconstructed set."""
    rec = _first(tr, lambda e: e["kind"] == "reconstruct" and e["cluster"] != 0)
    prop = _first(tr, lambda e: e["kind"] == "propose" and e["pd"] == rec["pd"])
    i = prop["clients"][0]
    sub = _first(tr, lambda e: kind("submit", f"C{i}")(e) and e["round"] == rec["round"])
    sub["ghost"] = {"x": "AQAAAAEAAAA=", "r": sub["ghost"]["r"]}
    return tr


HONEST = lambda e: e.get("node") not in ("A0",)  # noqa: E731  (A0 is Byzantine in P_BYZ)

MUTATIONS: dict[str, tuple[Callable[[Trace], Trace], set[str]]] = {
    # message flow
    "duplicate deliver": (m_duplicate(kind("deliver")), {"T-FLOW"}),
    "deliver of unknown msg": (m_set(kind("deliver"), msg=10**9), {"T-FLOW"}),
    "deliver to wrong node": (m_set(kind("deliver"), node="C8"), {"T-FLOW"}),
    "deliver wrong sender": (m_set(kind("deliver"), **{"from": "A3"}), {"T-FLOW"}),
    "drop of undelivered msg": (m_set(kind("drop"), msg=10**9), {"T-FLOW"}),
    "delete a propose deliver": (
        m_delete(lambda e: e["kind"] == "deliver" and e["from"] == "A1" and e["node"] == "A2"),
        {"R-8", "T-STEP", "I-2", "T-FLOW"},
    ),
    # step structure
    "endorse before its trigger": (m_swap_before_trigger(kind("endorse")), {"T-STEP", "R-8"}),
    "Byzantine writes protocol event": (m_set(kind("endorse"), node="A0"), {"T-STEP"}),
    "missing broadcast send": (
        m_delete(lambda e: e["kind"] == "send" and e["type"] == "endorse"),
        {"R-8", "T-FLOW"},
    ),
    # S / P / I properties
    "second endorse (S-2)": (m_duplicate(lambda e: kind("endorse")(e) and HONEST(e)), {"S-2"}),
    "second release (S-3)": (m_duplicate(kind("release")), {"S-3"}),
    "release without certificate (S-3)": (
        m_delete(lambda e: kind("certify")(e) and e["node"] == _first_release_node[0]),
        {"S-3"},
    ),
    "certify other pd (S-1)": (m_set(kind("certify", "A1"), pd=lambda e: "ab" * 32), {"S-1", "I-2"}),
    "short certificate (I-2)": (m_set(kind("certify"), endorsers=lambda e: e["endorsers"][:-1]), {"I-2"}),
    "certificate names non-endorser (I-2)": (
        m_set(kind("certify"), endorsers=lambda e: sorted(set(range(4)) - {e["endorsers"][0]})[:3]),
        {"I-2"},
    ),
    "non-member proposed (S-4)": (
        m_set(kind("propose"), clients=lambda e: sorted(e["clients"] + [99])),
        {"S-4", "F-1"},
    ),
    "too few proposed (S-5)": (m_set(kind("propose"), clients=lambda e: e["clients"][:1]), {"S-5", "F-1"}),
    "held changed (F-1)": (m_set(kind("propose"), held=lambda e: e["held"][:1]), {"F-1"}),
    "endorsed set changed (I-2)": (
        m_set(lambda e: e["kind"] == "endorse" and HONEST(e), clients=lambda e: e["clients"][1:]),
        {"I-2", "R-8"},
    ),
    "counts inflated (F-3)": (m_set(kind("propose"), counts=_bump_first), {"F-3", "F-1"}),
    "wrong members (S-4)": (m_set(kind("propose"), members=lambda e: e["members"][1:]), {"S-4", "F-1"}),
    "ghost sum changed (P-1)": (
        m_set(kind("reconstruct"), ghost=lambda e: {"sum": "AAAAAAAAAAA="}),
        {"P-1"},
    ),
    "ghost x changed (P-1)": (m_included_x, {"P-1"}),
    "support too small (I-2)": (m_set(kind("reconstruct"), support=lambda e: e["support"][:-1]), {"I-2"}),
    "honest release called wrong (I-1)": (
        m_set(kind("reconstruct"), wrong=lambda e: [e["support"][-1]], support=lambda e: e["support"][:-1]),
        {"I-1", "I-2"},
    ),
    "result differs (I-1)": (m_set(kind("reconstruct", "A3"), result="cd" * 32), {"I-1"}),
    "revealed size below q_min (S-5)": (m_set(kind("reconstruct"), size=1), {"S-5", "I-2"}),
    "aggregate prev wrong (I-3)": (m_set(kind("aggregate"), prev="ef" * 32), {"I-3"}),
    "aggregate too few clusters (I-3)": (
        m_set(kind("aggregate"), clusters=lambda e: e["clusters"][:2]),
        {"I-3"},
    ),
    "aggregate unreconstructed cluster (I-2)": (
        m_set(kind("aggregate"), clusters=lambda e: sorted(set(range(4)))),
        {"I-2", "I-3"},
    ),
    "accept other model (I-3)": (
        m_set(lambda e: kind("accept")(e) and e["from"] != "A0", model="01" * 32),
        {"I-3"},
    ),
    "accept count inflated (F-3)": (m_set(kind("accept"), count=50), {"F-3"}),
    "submit to wrong cluster (R-2)": (
        m_set(kind("submit"), cluster=lambda e: (e["cluster"] + 1) % 4),
        {"R-2", "R-5"},
    ),
    "second submit (R-5)": (m_duplicate(kind("submit")), {"R-5"}),
    # liveness / end
    "end deleted": (lambda tr: tr[:-1], {"T-END"}),
    "end rounds_done wrong": (
        m_set(kind("end"), rounds_done=lambda e: {**e["rounds_done"], "A1": 0}),
        {"T-END"},
    ),
    "aggregate deleted, still complete (L-1)": (
        m_delete(lambda e: kind("aggregate")(e) and e["round"] == 3 and e["node"] == "A2"),
        {"L-1", "L-3", "T-END"},
    ),
}

_first_release_node: list[str] = [""]


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_mutation_rejected(name: str, signed: Trace) -> None:
    tr = copy.deepcopy(signed)
    _first_release_node[0] = _first(tr, kind("release"))["node"]
    mutate, expected = MUTATIONS[name]
    tr = mutate(tr)
    got = props(tr)
    assert got & expected, f"{name}: expected one of {expected}, got {got}"


def test_signature_mutations(signed: Trace) -> None:
    tr = copy.deepcopy(signed)
    _first(tr, lambda e: e["kind"] == "send" and e["node"] == "A1")["sig"] = "22" * 64
    assert "I-4" in props(tr, "all")
    tr = copy.deepcopy(signed)
    _first(tr, lambda e: e["kind"] == "send" and e["node"] == "C3")["digest"] = "33" * 32
    assert "I-4" in props(tr, "all")
    # a Byzantine node's send is checked too: a kind label claims a signed envelope
    # (issue 8: a junk send relabelled as a protocol kind is refuted)
    tr = copy.deepcopy(signed)
    _first(tr, lambda e: e["kind"] == "send" and e["node"] == "A0")["sig"] = "44" * 64
    assert "I-4" in props(tr, "all")


def test_repeated_envelopes_checked_once_yet_every_tamper_seen(signed: Trace) -> None:
    """An honest sender's envelope checked clean is not checked again when it is sent
    again, also after other envelopes (a broadcast alternates body and header-only
    announces): a later send that changes its signature or kind is checked afresh."""
    byz = {f"A{b}" for b in signed[0]["byzantine"]}
    seen: dict[tuple[str, str, str, str], int] = {}
    later = None  # a repeat of an envelope with another envelope sent in between
    for n, e in enumerate(signed):
        if e["kind"] != "send" or e["node"] in byz or e["type"] == "junk":
            continue
        env = (e["node"], e["type"], e["digest"], e["sig"])
        if env in seen and seen[env] < n - 1 and later is None:
            later = n
        seen[env] = n
    assert later is not None
    assert not check(signed, "all").violations
    for field, value in (
        ("sig", "55" * 64),
        ("type", "propose" if signed[later]["type"] != "propose" else "release"),
    ):
        tr = copy.deepcopy(signed)
        tr[later][field] = value
        assert any(v.prop == "I-4" and v.line == later + 1 for v in check(tr, "all").violations), field


def test_harmless_mutations(signed: Trace) -> None:
    """Mutations that change no checked fact are accepted, and why."""
    tr = copy.deepcopy(signed)
    _first(tr, kind("drop"))["reason"] = "some other words"  # reasons are free text
    _first(tr, kind("send"))["size"] = 12345  # sizes are informational
    tr[-1]["detail"] = "changed"  # the end's detail is free text
    assert props(tr) == set()


def test_report_shows_history(signed: Trace) -> None:
    tr = m_duplicate(kind("release"))(copy.deepcopy(signed))
    rep = check(tr)
    v = next(v for v in rep.violations if v.prop == "S-3")
    assert v.history and all(h < v.line for h in v.history)
    text = render(rep)
    assert "[S-3]" in text and "history" in text


@pytest.mark.parametrize(
    "bug, prop", [("double-release", "S-3"), ("release-without-cert", "S-3"), ("greedy-close", "F-1")]
)
def test_broken_model_traces_rejected(bug: str, prop: str) -> None:
    p = Params(n_a=4, t_a=1, n_c=12, t_c=0, q_min=2, B=0, R=2, byzantine=frozenset({0}), bug=bug)
    found = set()
    for seed in range(3):
        found |= props(emit_trace(p, seed=seed))
    assert prop in found


def test_implementation_trace_if_available(tmp_path: Path) -> None:
    """Cross-check: a small trace written by the implementation (impl/) checks valid.
    The checker never imports impl; this test only runs the CLI when it exists."""
    import subprocess
    import sys

    out = tmp_path / "impl.jsonl"
    cmd = [
        sys.executable,
        "-m",
        "asfl.cli",
        "run",
        "--clients",
        "8",
        "--rounds",
        "2",
        "--crashed",
        "0",
        "--t-c",
        "0",
    ]
    try:
        r = subprocess.run([*cmd, "--trace", str(out)], capture_output=True, timeout=120)
    except (subprocess.TimeoutExpired, OSError):
        pytest.skip("implementation not runnable")
    if r.returncode != 0 or not out.exists():
        pytest.skip("implementation run failed: " + r.stderr.decode()[-200:])
    rep = Checker(signatures="all").check_file(out)
    assert rep.ok, render(rep)


# -------------------------------------------------------------------------------------
# incremental (online) API
# -------------------------------------------------------------------------------------


def _online(tr: Trace, end_steps: bool = False) -> tuple[Any, list[Any]]:
    """Feed ``tr`` event by event; the report and the violations in the order returned."""
    ck = Checker(signatures="none")
    ck.start(tr[0])
    got: list[Any] = []
    for e in tr[1:]:
        if end_steps and e["kind"] in ("deliver", "local_step", "crash", "end"):
            got += ck.end_step()
        got += ck.feed(e)
    rep = ck.finish()
    return rep, got + rep.violations[len(got) :]


@pytest.mark.parametrize("name", ["second release (S-3)", "missing broadcast send", "end deleted"])
def test_feed_equals_check_lines(name: str, signed: Trace) -> None:
    """check_lines is a loop over start/feed/finish: same violations, same lines; feed
    returns every violation except the end-of-trace ones, which come from finish."""
    for tr in (copy.deepcopy(signed), MUTATIONS[name][0](copy.deepcopy(signed))):
        whole = check(tr)
        rep, returned = _online(tr)
        assert [v.as_dict() for v in rep.violations] == [v.as_dict() for v in whole.violations]
        assert [v.as_dict() for v in returned] == [v.as_dict() for v in whole.violations]
        assert rep.liveness == whole.liveness and rep.fairness == whole.fairness
        again, _ = _online(tr, end_steps=True)  # closing steps early changes nothing
        assert [v.as_dict() for v in again.violations] == [v.as_dict() for v in whole.violations]


def test_step_checks_reported_at_next_trigger_or_end_step(signed: Trace) -> None:
    tr = MUTATIONS["missing broadcast send"][0](copy.deepcopy(signed))
    k = _index(tr, kind("endorse"))  # its step now lacks one endorse send (R-8)
    ck = Checker(signatures="none")
    ck.start(tr[0])
    for e in tr[1 : k + 1]:
        assert ck.feed(e) == []
    rest = tr[k + 1 :]
    nxt = next(j for j, e in enumerate(rest) if e["kind"] in ("deliver", "local_step", "crash"))
    for e in rest[:nxt]:
        assert [v for v in ck.feed(e) if v.prop == "R-8"] == []
    late = ck.end_step()
    assert [v.prop for v in late] == ["R-8"]
    trigger = max(j for j in range(1, k) if tr[j]["kind"] in ("deliver", "local_step"))
    assert late[0].line == trigger + 1  # reported at the step's trigger line


def test_crash_event_is_authoritative() -> None:
    """A client crashed by the run (not planned in the header) is crashed: no T-STEP, and
    no liveness is owed for it."""
    tr = emit_trace(P_CRASH, seed=0, behaviours="")
    assert any(e["kind"] == "crash" for e in tr)
    tr[0]["crashed"] = []
    rep = check(tr)
    assert rep.ok, render(rep)
    assert rep.liveness["crashed"] == ["C5"] and rep.liveness["verdict"] == "live"
    tr2 = copy.deepcopy(tr)
    _first(tr2, kind("crash"))["node"] = "A1"
    assert "T-STEP" in props(tr2)  # only clients crash


def test_forwarded_envelope_counts_as_signers_message(signed: Trace) -> None:
    """A Byzantine node forwards honest A1's endorsement to A2 (real kind, digest and
    signature; no round or cluster on the forward): A2's certificate naming A1 is fine."""
    tr = copy.deepcopy(signed)
    cert = _first(tr, lambda e: kind("certify", "A2")(e) and 1 in e["endorsers"])
    tau, c = cert["round"], cert["cluster"]
    orig = _first(
        tr,
        lambda e: (
            kind("send", "A1")(e)
            and e["to"] == "A2"
            and e["type"] == "endorse"
            and (e["round"], e["cluster"]) == (tau, c)
        ),
    )
    k = _index(tr, lambda e: kind("deliver", "A2")(e) and e["msg"] == orig["msg"])
    orig["to"] = "A0"  # the original now goes to the Byzantine A0 ...
    fwd = {
        **{f: orig[f] for f in ("type", "size", "digest", "sig")},
        "seq": 0,
        "kind": "send",
        "node": "A0",
        "to": "A2",
        "msg": 10**6,
        "round": None,
        "cluster": None,
    }
    tr[k]["msg"], tr[k]["from"] = 10**6, "A0"  # ... which forwards it to A2
    tr.insert(k, fwd)
    assert props(_renumber_ids(_renumber(tr))) == set()
    tr[k]["digest"] = "77" * 32  # a different envelope: A1's endorsement never reached A2
    assert "I-2" in props(tr)


def test_malformed_or_dropped_trigger(signed: Trace) -> None:
    """R-3 / I-4: junk delivered to an honest node is dropped; a dropped trigger changes
    nothing (no protocol event in its step)."""
    tr = copy.deepcopy(signed)
    k = _index(tr, lambda e: kind("endorse")(e) and HONEST(e))
    j = max(x for x in range(1, k) if tr[x]["kind"] in ("deliver", "local_step"))
    assert tr[j]["kind"] == "deliver"
    tr.insert(j + 1, {"seq": 0, "kind": "drop", "node": tr[j]["node"], "msg": tr[j]["msg"], "reason": "x"})
    assert "I-4" in props(_renumber(tr))
    tr = copy.deepcopy(signed)
    dropped = {e["msg"] for e in tr[1:] if e["kind"] == "drop"}
    d = _first(
        tr, lambda e: kind("deliver")(e) and HONEST(e) and e["from"] == "A0" and e["msg"] not in dropped
    )
    send = _first(tr, lambda e: kind("send")(e) and e["msg"] == d["msg"])
    send["type"] = "junk"  # bytes that do not decode, yet the receiver does not drop them
    rep = check(tr)
    assert any(v.prop == "I-4" and "did not drop" in v.message for v in rep.violations), render(rep)


def test_mask_reuse(signed: Trace) -> None:
    """D-2 fresh masks: two submissions with one mask reveal the difference of updates (P-2)."""
    tr = copy.deepcopy(signed)
    a = _first(tr, kind("submit"))
    b = _first(tr, lambda e: kind("submit")(e) and e["node"] != a["node"])
    b["ghost"] = {**b["ghost"], "r": a["ghost"]["r"]}
    assert "P-2" in props(tr)
