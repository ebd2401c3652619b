"""The data a report page embeds, from a trace's lines and the checker's report.

Events are encoded column-wise (one integer array per field, node and kind names as
indices into small tables), so an event costs about 30 bytes of JSON. What is bounded and
how (see :data:`EVENT_CAP`): every protocol event is kept; wire events (``send``,
``deliver``, ``drop``) are kept up to the cap, those of ``announce`` messages (the bulk of
a large run: ``n_a`` per client and round) dropped first, and the page states how many it
omitted. Hover details (fields, digests) are kept for protocol events and drops; ghost
vectors are reduced to their length.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from asfl.checker.html.specs import statement
from asfl.checker.privacy import epsilon, release_of
from asfl.checker.replay import Report
from asfl.model.shuffle import cluster_assignment

EVENT_CAP = 250_000
HISTORY_CAP = 60
KINDS = (
    "send",
    "deliver",
    "drop",
    "crash",
    "local_step",
    "submit",
    "propose",
    "endorse",
    "certify",
    "release",
    "reconstruct",
    "aggregate",
    "attest",
    "announce",
    "accept",
    "fetch",
    "serve",
    "equivocation",
    "end",
)
WIRE = frozenset({"send", "deliver", "drop"})
MSG_TYPES = ("submit", "propose", "endorse", "release", "announce", "junk", "offer", "attest", "fetch")
MODEL_MSGS = frozenset({"offer", "attest", "announce", "fetch"})
# the rule (specs/protocol.md) each trace event is the step of
RULES = {
    "local_step": "R-4, D-13",
    "submit": "R-5",
    "propose": "R-6, R-7",
    "endorse": "R-8",
    "equivocation": "R-8",
    "certify": "R-9",
    "release": "R-10",
    "reconstruct": "R-11, R-12",
    "aggregate": "R-13, R-17",
    "attest": "R-17",
    "announce": "R-14, D-18",
    "accept": "R-15",
    "fetch": "D-22",
    "serve": "D-22",
    "drop": "R-3",
    "crash": "§1 crash",
    "send": "§4",
    "deliver": "§1 links",
    "end": "R-16",
}


@dataclass(frozen=True)
class Finding:
    """One verdict item: a property (or rule) ID, where (event ``seq``, ``None`` for the
    whole run), why, the earlier events it depends on (seqs), and who found it."""

    prop: str
    seq: int | None
    message: str
    history: tuple[int, ...] = ()
    source: str = "checker"


@dataclass
class _Columns:
    seq: list[int] = field(default_factory=list)
    k: list[int] = field(default_factory=list)
    n: list[int] = field(default_factory=list)
    p: list[int] = field(default_factory=list)
    m: list[int] = field(default_factory=list)
    r: list[int] = field(default_factory=list)
    c: list[int] = field(default_factory=list)
    t: list[int] = field(default_factory=list)

    def add(self, *vals: int) -> None:
        for col, v in zip(
            (self.seq, self.k, self.n, self.p, self.m, self.r, self.c, self.t), vals, strict=True
        ):
            col.append(v)


def parse_lines(lines: list[str]) -> list[tuple[int, dict[str, Any]]]:
    """(line number, event) for every non-blank line; the checker has validated them."""
    return [(n, json.loads(raw)) for n, raw in enumerate(lines, 1) if raw.strip()]


def checker_findings(rep: Report, line_seq: dict[int, int]) -> list[Finding]:
    """The checker's violations as findings (its lines mapped to event seqs)."""
    return [
        Finding(
            v.prop,
            line_seq.get(v.line),
            v.message,
            tuple(line_seq[ln] for ln in v.history[-HISTORY_CAP:] if ln in line_seq),
        )
        for v in rep.violations
    ]


def _detail(ev: dict[str, Any]) -> str:
    out = {k: v for k, v in ev.items() if k not in ("seq", "kind", "node")}
    ghost = out.pop("ghost", None)
    if ghost:
        out["ghost"] = {k: f"{len(v) * 3 // 4} bytes (base64 in the trace)" for k, v in ghost.items()}
    out.pop("sig", None)
    return json.dumps(out, separators=(",", ":"))


def _keep(events: list[dict[str, Any]], types: dict[int, str], cap: int) -> tuple[set[int], int]:
    """Indices of wire events that are left out to respect ``cap`` (announce first)."""
    if len(events) <= cap:
        return set(), 0
    wire = [k for k, e in enumerate(events) if e["kind"] in WIRE]
    budget = cap - (len(events) - len(wire))
    announce = [k for k in wire if types.get(events[k].get("msg", -1)) == "announce"]
    others = [k for k in wire if types.get(events[k].get("msg", -1)) != "announce"]
    order = others + announce  # kept first ... dropped first
    drop = set(order[max(budget, 0) :])
    return drop, len(drop)


def report_data(
    lines: list[str],
    rep: Report,
    findings: list[Finding] | None = None,
    title: str = "",
    origin: str = "",
    event_cap: int = EVENT_CAP,
) -> dict[str, Any]:
    """Everything the page shows, JSON-able. ``findings`` (default: the checker's) are
    the verdict items; the first with an event is the one highlighted."""
    parsed = parse_lines(lines)
    header = parsed[0][1]
    events = [e for _, e in parsed[1:]]
    line_seq = {n: e["seq"] for n, e in parsed[1:] if "seq" in e}
    if findings is None:
        findings = checker_findings(rep, line_seq)
    cfg = header["config"]
    n_a, n_c, rounds = cfg["aggregators"], cfg["clients"], cfg["rounds"]
    names = [f"A{j}" for j in range(n_a)] + [f"C{i}" for i in range(n_c)]
    idx = {nm: k for k, nm in enumerate(names)}
    kind_ix = {k: n for n, k in enumerate(KINDS)}
    type_ix = {t: n for n, t in enumerate(MSG_TYPES)}
    sends: dict[int, dict[str, Any]] = {e["msg"]: e for e in events if e["kind"] == "send"}
    types = {mid: e["type"] for mid, e in sends.items()}
    left_out, omitted = _keep(events, types, event_cap)
    cols = _Columns()
    details: dict[str, str] = {}
    digests: dict[str, str] = {}
    crashed: dict[str, int] = {}
    for k, ev in enumerate(events):
        kind = ev["kind"]
        if kind == "crash":
            crashed[ev["node"]] = ev["seq"]
        if k in left_out:
            continue
        mid = ev.get("msg", -1)
        snd = sends.get(mid) if kind in WIRE else None
        peer = ev.get("to") if kind == "send" else ev.get("from")
        rnd = ev.get("round")
        if kind == "local_step":
            rnd = ev["model_round"]
        elif kind in ("aggregate", "attest", "announce", "accept", "fetch", "serve"):
            rnd = ev["round"] - 1  # the round whose results made the model
        elif snd is not None:
            rnd = snd.get("round")
            if snd["type"] in MODEL_MSGS and isinstance(rnd, int):
                rnd -= 1  # offer / attest / announce of the model those results made
        clu = snd.get("cluster") if snd is not None else ev.get("cluster")
        cols.add(
            ev["seq"],
            kind_ix[kind],
            idx.get(ev.get("node", ""), -1),
            idx.get(peer, -1) if isinstance(peer, str) else -1,
            mid if kind in WIRE else -1,
            rnd if isinstance(rnd, int) else -1,
            clu if isinstance(clu, int) else -1,
            type_ix.get(snd["type"], -1) if snd is not None else -1,
        )
        if kind == "send":
            digests[str(ev["seq"])] = ev["digest"][:16]
        elif kind != "deliver":
            details[str(ev["seq"])] = _detail(ev)
    return {
        "title": title or "asfl trace report",
        "origin": origin,
        "config": cfg,
        "nodes": names,
        "n_a": n_a,
        "byzantine": sorted(header["byzantine"]),
        "behaviour": header.get("behaviour", ""),
        "crashed": crashed,
        "planned_crashes": sorted(header["crashed"]),
        "kinds": list(KINDS),
        "rules": RULES,
        "msg_types": list(MSG_TYPES),
        "events": asdict(cols),
        "total_events": len(events),
        "omitted_wire_events": omitted,
        "event_cap": event_cap,
        "details": details,
        "digests": digests,
        "rounds": _rounds(header, events, rep),
        "chains": _chains(events, header),
        "inclusion": _inclusion(rep, n_c, rounds, cfg),
        "verdict": _verdict(rep, findings),
    }


def _rounds(header: dict[str, Any], events: list[dict[str, Any]], rep: Report) -> list[dict[str, Any]]:
    """Per round and cluster: members (R-2), proposals, endorsers, certificate (the
    checker's), decoding supports and the releases proved wrong (D-4), equivocations."""
    cfg = header["config"]
    n_a, n_c = cfg["aggregators"], cfg["clients"]
    genesis = bytes.fromhex(cfg["genesis"])
    cells: dict[tuple[int, int], dict[str, Any]] = {}

    def cell(t: int, c: int) -> dict[str, Any]:
        return cells.setdefault(
            (t, c),
            {
                "proposals": {},
                "endorsers": {},
                "supports": {},
                "wrong": {},
                "equivocations": [],
                "propose": None,
            },
        )

    for ev in events:
        kind = ev["kind"]
        if kind not in ("propose", "endorse", "reconstruct", "equivocation"):
            continue
        if ev["round"] >= cfg["rounds"] or ev["cluster"] >= n_a:
            continue  # out of range: the checker reports it
        x = cell(ev["round"], ev["cluster"])
        if kind == "propose":
            x["propose"] = {k: ev[k] for k in ("pd", "clients", "held", "counts")} | {"seq": ev["seq"]}
            x["proposals"].setdefault(ev["pd"], ev["clients"])
        elif kind == "endorse":
            x["proposals"].setdefault(ev["pd"], ev["clients"])
            x["endorsers"].setdefault(ev["pd"], []).append(ev["node"])
        elif kind == "reconstruct":
            x["supports"][ev["node"]] = ev["support"]
            if ev["wrong"]:
                x["wrong"][ev["node"]] = ev["wrong"]
        else:
            x["equivocations"].append({"node": ev["node"], "first": ev["first"], "other": ev["other"]})
    certs: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for cert in rep.certificates:
        certs.setdefault((cert["round"], cert["cluster"]), []).append(
            {
                k: cert.get(k)
                for k in ("pd", "md", "clients", "endorsers", "certified_by", "reconstructed_by", "size")
            }
        )
    out = []
    for t in range(cfg["rounds"]):
        members = cluster_assignment(n_c, n_a, genesis, t)
        row = []
        for c in range(n_a):
            x = cells.get((t, c)) or cell(t, c)
            row.append({"cluster": c, "members": list(members[c]), **x, "certified": certs.get((t, c), [])})
        out.append({"round": t, "clusters": row})
    return out


def _chains(events: list[dict[str, Any]], header: dict[str, Any]) -> dict[str, Any]:
    """Each honest aggregator's model chain (R-13) and, per round, whether they differ (D-11)."""
    chains: dict[str, list[dict[str, Any]]] = {}
    for ev in events:
        if ev["kind"] == "aggregate":
            chains.setdefault(ev["node"], []).append(
                {k: ev[k] for k in ("round", "model", "prev", "clusters", "rule", "seq")}
            )
    by_round: dict[int, dict[str, list[str]]] = {}
    for node, chain in chains.items():
        for m in chain:
            by_round.setdefault(m["round"], {}).setdefault(m["model"], []).append(node)
    return {
        "genesis": header["genesis_model"],
        "chains": chains,
        "differ": sorted(r for r, models in by_round.items() if len(models) > 1),
    }


def _inclusion(rep: Report, n_c: int, rounds: int, cfg: dict[str, Any]) -> dict[str, Any]:
    """Inclusion counts per client after each round, from the certified sets the checker
    rechecked, and the epsilon (D-10, the checker's accountant) of each count."""
    per_round = [[0] * n_c for _ in range(rounds)]
    for cert in rep.certificates:
        t = cert["round"]
        for i in cert.get("clients") or []:
            if 0 <= t < rounds and 0 <= i < n_c:
                per_round[t][i] += 1
    cum, run = [], [0] * n_c
    for row in per_round:
        run = [a + b for a, b in zip(run, row, strict=True)]
        cum.append(run)
    delta = rep.fairness.get("delta", 1e-5)
    top = max((max(r) for r in cum), default=0)
    return {
        "counts": cum,
        "epsilon_of_count": [round(epsilon(k, release_of(cfg), delta), 4) for k in range(top + 1)],
        "delta": delta,
        "noise_multiplier": cfg["noise_multiplier"],
        "unknown_sets": rep.fairness.get("unknown_sets", []),
    }


def _verdict(rep: Report, findings: list[Finding]) -> dict[str, Any]:
    fr = rep.fairness
    return {
        "ok": not findings,
        "file": rep.path,
        "events": rep.events,
        "findings": [
            {
                "prop": f.prop,
                "seq": f.seq,
                "message": f.message,
                "history": list(f.history),
                "source": f.source,
                "statement": statement(f.prop),
            }
            for f in findings
        ],
        "liveness": rep.liveness,
        "fairness": {
            k: fr.get(k) for k in ("min_correct", "max_correct", "spread_correct", "epsilon_correct")
        },
        "seconds": rep.stats.get("seconds"),
    }
