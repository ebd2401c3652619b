"""Tamper campaign (issue 8): edits of valid traces of every Byzantine behaviour, by
kind. Every *detectable* kind is rejected every time; every *indistinguishable* kind
(docs/tamper.md says why, for each) is accepted, which confirms the classification.

Default run: at least 500 tamperings of every kind over small implementation traces
(one per behaviour) and model traces. ``ASFL_TAMPER_PER_KIND=N`` makes it bigger.
"""

from __future__ import annotations

import copy
import json
import os
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from trace_sets import Signer, impl_trace_set

from asfl.checker.flow import KINDS as ENVELOPE_KINDS
from asfl.checker.flow import SENDER_ROLE
from asfl.checker.replay import STATEFUL, Checker
from asfl.impl.config import ProtocolConfig
from asfl.impl.learning.data import Task
from asfl.model.emit import emit_trace
from asfl.model.params import Params
from asfl.model.system import BEHAVIOURS as MODEL_BEHAVIOURS

Trace = list[dict[str, Any]]
Edit = Callable[[random.Random, Trace], Trace | None]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "tamper.md"
PER_KIND = int(os.environ.get("ASFL_TAMPER_PER_KIND", "1"))
TINY = ProtocolConfig(n_clients=8, n_aggregators=4, t_a=1, t_c=0, q_min=2, rounds=1, batch_size=4)
P_TAMPER = Params(n_a=4, t_a=1, n_c=8, t_c=0, q_min=2, B=1, R=2, byzantine=frozenset({0}))

PROTOCOL = tuple(sorted(STATEFUL | {"local_step"}))
KINDS = tuple(sorted(ENVELOPE_KINDS))


# -- helpers ---------------------------------------------------------------------------
def byz(tr: Trace) -> set[str]:
    return {f"A{j}" for j in tr[0]["byzantine"]}


def pick(rng: random.Random, tr: Trace, pred: Callable[[dict[str, Any]], bool]) -> int | None:
    ks = [k for k in range(1, len(tr)) if pred(tr[k])]
    return rng.choice(ks) if ks else None


def renumber(tr: Trace) -> Trace:
    for k, e in enumerate(tr[1:], 1):
        e["seq"] = k
    return tr


def proto(tr: Trace, *kinds: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["kind"] in (kinds or PROTOCOL)


def hexflip(h: str) -> str:
    return ("0" if h[0] != "0" else "1") + h[1:]


def step_start(tr: Trace, k: int) -> int:
    """The trigger line of the step holding event ``k`` (deliver, local_step, crash)."""
    while tr[k]["kind"] not in ("deliver", "local_step", "crash"):
        k -= 1
    return k


def included(tr: Trace) -> set[tuple[int, int]]:
    """(round, client) of the submissions in some honest endorse's set."""
    return {(e["round"], i) for e in tr[1:] if e["kind"] == "endorse" for i in e["clients"]}


def certified_x(tr: Trace) -> set[tuple[int, int]]:
    """(round, client) in a set some honest aggregator reconstructed."""
    sets = {e["pd"]: e["clients"] for e in tr[1:] if e["kind"] == "endorse"}
    return {(e["round"], i) for e in tr[1:] if e["kind"] == "reconstruct" for i in sets.get(e["pd"], ())}


# -- detectable edits ------------------------------------------------------------------
def delete(pred_of: Callable[[Trace], Callable[[dict[str, Any]], bool]]) -> Edit:
    def edit(rng: random.Random, tr: Trace) -> Trace | None:
        k = pick(rng, tr, pred_of(tr))
        if k is None:
            return None
        del tr[k]
        return renumber(tr)

    return edit


def duplicate(rng: random.Random, tr: Trace) -> Trace | None:
    k = pick(rng, tr, lambda e: e["kind"] != "end")
    if k is None:
        return None
    tr.insert(k + 1, copy.deepcopy(tr[k]))
    return renumber(tr)


def before_trigger(rng: random.Random, tr: Trace) -> Trace | None:
    k = pick(rng, tr, lambda e: e["kind"] in PROTOCOL[1:] and e["kind"] != "local_step")
    if k is None:
        return None
    s = step_start(tr, k)  # (a local_step is its own trigger: moving it changes nothing)
    tr.insert(s, tr.pop(k))
    return renumber(tr)


def bad_seq(rng: random.Random, tr: Trace) -> Trace | None:
    k = pick(rng, tr, lambda e: True)
    assert k is not None
    tr[k]["seq"] += rng.choice([1, 2, -1, 7])
    return tr


def set_field(kinds: tuple[str, ...], field: str, change: Callable[[Any, dict[str, Any]], Any]) -> Edit:
    def edit(rng: random.Random, tr: Trace) -> Trace | None:
        k = pick(rng, tr, lambda e: e["kind"] in kinds and field in e)
        if k is None:
            return None
        new = change(tr[k][field], tr[k])
        if new == tr[k][field]:
            return None
        tr[k][field] = new
        return tr

    return edit


def alter_sd_included(rng: random.Random, tr: Trace) -> Trace | None:
    inc = included(tr)
    k = pick(rng, tr, lambda e: e["kind"] == "submit" and (e["round"], int(e["node"][1:])) in inc)
    if k is None:
        return None
    tr[k]["sd"] = hexflip(tr[k]["sd"])
    return tr


def _fresh_byzantine_envelopes(tr: Trace) -> set[int]:
    """Lines of Byzantine sends of a signed kind whose envelope is sent only that once."""
    sends = [e for e in tr[1:] if e["kind"] == "send"]
    times = Counter(e["digest"] for e in sends)
    return {
        e["seq"] for e in sends if e["node"] in byz(tr) and e["type"] != "junk" and times[e["digest"]] == 1
    }


def relabel(rng: random.Random, tr: Trace) -> Trace | None:
    """A send's kind label changed: junk, an honest send, or a Byzantine forward/replay
    of a known envelope (see :func:`relabel_fresh_byzantine` for the rest)."""
    fresh = _fresh_byzantine_envelopes(tr)
    k = pick(rng, tr, lambda e: e["kind"] == "send" and e["seq"] not in fresh)
    if k is None:
        return None
    e = tr[k]
    if e["type"] == "junk":
        e["type"] = rng.choice(KINDS)
    elif e["node"] in byz(tr):
        e["type"] = rng.choice([t for t in KINDS if t != e["type"]])
    else:
        e["type"] = rng.choice([t for t in (*KINDS, "junk") if t != e["type"]])
    return tr


def relabel_fresh_byzantine(rng: random.Random, tr: Trace) -> Trace | None:
    """A Byzantine node's new envelope, which its receiver dropped (or is Byzantine),
    labelled with another aggregator kind."""
    fresh = _fresh_byzantine_envelopes(tr)
    dropped = {e["msg"] for e in tr[1:] if e["kind"] == "drop"}
    k = pick(
        rng,
        tr,
        lambda e: e["kind"] == "send" and e["seq"] in fresh and (e["msg"] in dropped or e["to"] in byz(tr)),
    )
    if k is None:
        return None
    e = tr[k]
    # an aggregator kind: a client kind (submit, fetch) is an I-4 violation, hence detected
    e["type"] = rng.choice([t for t in KINDS if t != e["type"] and SENDER_ROLE[t] == "A"])
    return tr


def move_node(rng: random.Random, tr: Trace) -> Trace | None:
    k = pick(rng, tr, proto(tr))
    assert k is not None
    e = tr[k]
    honest = [n for n in tr[0]["keys"] if n[0] == e["node"][0] and n not in byz(tr) and n != e["node"]]
    e["node"] = rng.choice(honest)
    return tr


def shift_round_or_cluster(rng: random.Random, tr: Trace) -> Trace | None:
    k = pick(rng, tr, proto(tr, "submit", "propose", "endorse", "certify", "release", "reconstruct"))
    assert k is not None
    e = tr[k]
    f = rng.choice(["round", "cluster"]) if tr[0]["config"]["rounds"] > 1 else "cluster"
    n = tr[0]["config"]["rounds" if f == "round" else "aggregators"]
    e[f] = (e[f] + rng.randrange(1, n)) % n
    return tr


def alter_set(rng: random.Random, tr: Trace) -> Trace | None:
    k = pick(rng, tr, proto(tr, "propose", "endorse"))
    assert k is not None
    cl = tr[k]["clients"]
    n_c = tr[0]["config"]["clients"]
    if rng.random() < 0.5 and len(cl) > 1:
        cl.pop(rng.randrange(len(cl)))
    else:
        extra = [i for i in range(n_c) if i not in cl]
        cl.append(rng.choice(extra))
        cl.sort()
    return tr


def alter_counts(rng: random.Random, tr: Trace) -> Trace | None:
    k = pick(rng, tr, proto(tr, "propose"))
    assert k is not None
    c = tr[k]["counts"]
    c[rng.randrange(len(c))] += 1
    return tr


def alter_support(rng: random.Random, tr: Trace) -> Trace | None:
    k = pick(rng, tr, proto(tr, "reconstruct"))
    assert k is not None
    e = tr[k]
    n_a = tr[0]["config"]["aggregators"]
    if rng.random() < 0.5:
        e["support"] = e["support"][:-1]
    else:
        out = [j for j in range(n_a) if j not in e["support"] and j not in e["wrong"]]
        honest = [j for j in e["support"] if f"A{j}" not in byz(tr)]
        if not out:
            e["wrong"] = [*e["wrong"], honest[0]]
            e["support"] = [j for j in e["support"] if j != honest[0]]
        else:
            e["support"] = sorted([j for j in e["support"] if j != honest[0]] + [out[0]])
    return tr


def alter_end(rng: random.Random, tr: Trace) -> Trace | None:
    e = tr[-1]
    if rng.random() < 0.3:
        e["status"] = "stalled"
    else:
        name = rng.choice(sorted(n for n in e["rounds_done"] if n not in byz(tr)))
        e["rounds_done"][name] += rng.choice([-1, 1])
    return tr


def alter_ghost_x(rng: random.Random, tr: Trace) -> Trace | None:
    cx = certified_x(tr)
    k = pick(rng, tr, lambda e: e["kind"] == "submit" and (e["round"], int(e["node"][1:])) in cx)
    if k is None:
        return None
    g = tr[k]["ghost"]
    g["x"] = ("B" if g["x"][0] != "B" else "C") + g["x"][1:]
    return tr


def alter_ghost_sum(rng: random.Random, tr: Trace) -> Trace | None:
    k = pick(rng, tr, proto(tr, "reconstruct"))
    assert k is not None
    g = tr[k]["ghost"]
    g["sum"] = ("B" if g["sum"][0] != "B" else "C") + g["sum"][1:]
    return tr


def delete_ghost(rng: random.Random, tr: Trace) -> Trace | None:
    k = pick(rng, tr, lambda e: "ghost" in e)
    assert k is not None
    del tr[k]["ghost"]
    return tr


def truncate(rng: random.Random, tr: Trace) -> Trace | None:
    return tr[: rng.randrange(2, len(tr))]


def header_byzantine(rng: random.Random, tr: Trace) -> Trace | None:
    h = tr[0]
    n_a = h["config"]["aggregators"]
    writers = {e["node"] for e in tr[1:] if e["kind"] in PROTOCOL and e["node"][0] == "A"}
    if rng.random() < 0.5 or not h["byzantine"]:
        cand = [j for j in range(n_a) if j not in h["byzantine"] and f"A{j}" in writers]
        h["byzantine"] = sorted([*h["byzantine"], rng.choice(cand)])
    else:
        h["byzantine"] = h["byzantine"][1:]
        if not any(e["kind"] == "send" and e["node"] not in byz(tr) for e in tr):
            return None
    return tr


def header_ghost(rng: random.Random, tr: Trace) -> Trace | None:
    tr[0]["ghost"] = False
    return tr


# -- indistinguishable edits -----------------------------------------------------------
def alter_sd_excluded(rng: random.Random, tr: Trace) -> Trace | None:
    inc = included(tr)
    k = pick(rng, tr, lambda e: e["kind"] == "submit" and (e["round"], int(e["node"][1:])) not in inc)
    if k is None:
        return None
    tr[k]["sd"] = hexflip(tr[k]["sd"])
    return tr


def alter_md_certified(rng: random.Random, tr: Trace) -> Trace | None:
    """md of an honest endorse or certify of a certified pd."""
    cert = {e["pd"] for e in tr[1:] if e["kind"] == "certify"}
    k = pick(rng, tr, lambda e: e["kind"] in ("endorse", "certify") and e["pd"] in cert)
    if k is None:
        return None
    tr[k]["md"] = hexflip(tr[k]["md"])
    return tr


def alter_md_endorse(rng: random.Random, tr: Trace) -> Trace | None:
    """md of an honest endorse event, of a pd nobody certified where there is one (its
    envelope digest is recomputed from ``(tau, c, pd, md)``, D-14)."""
    cert = {e["pd"] for e in tr[1:] if e["kind"] == "certify"}
    k = pick(rng, tr, lambda e: e["kind"] == "endorse" and e["pd"] not in cert)
    if k is None:
        k = pick(rng, tr, lambda e: e["kind"] == "endorse")
    if k is None:
        return None
    tr[k]["md"] = hexflip(tr[k]["md"])
    return tr


def delete_dropped_byz_deliver(rng: random.Random, tr: Trace) -> Trace | None:
    """A message from a Byzantine node that its honest receiver dropped: its deliver and
    drop deleted (it stays in flight), seq renumbered."""
    cand = [
        k
        for k in range(1, len(tr) - 1)
        if tr[k]["kind"] == "deliver"
        and tr[k]["from"] in byz(tr)
        and tr[k]["node"] not in byz(tr)
        and tr[k + 1]["kind"] == "drop"
        and tr[k + 1]["msg"] == tr[k]["msg"]
    ]
    if not cand:
        return None
    k = rng.choice(cand)
    del tr[k : k + 2]
    return renumber(tr)


def fresh_mask(rng: random.Random, tr: Trace) -> Trace | None:
    k = pick(rng, tr, lambda e: e["kind"] == "submit")
    assert k is not None
    g = tr[k]["ghost"]
    g["r"] = ("B" if g["r"][0] != "B" else "C") + g["r"][1:]
    return tr


def byz_dropped_as_junk(rng: random.Random, tr: Trace) -> Trace | None:
    """A Byzantine protocol-kind send whose (honest) receiver dropped it, relabelled junk."""
    sends = {e["msg"]: k for k, e in enumerate(tr) if k and e["kind"] == "send"}
    dropped = {e["msg"] for e in tr[1:] if e["kind"] == "drop"}
    cand = [
        k
        for m, k in sends.items()
        if m in dropped and tr[k]["node"] in byz(tr) and tr[k]["type"] in KINDS and tr[k]["to"] not in byz(tr)
    ]
    if not cand:
        return None
    tr[rng.choice(cand)]["type"] = "junk"
    return tr


def compound(rng: random.Random, tr: Trace) -> Trace | None:
    first, second = rng.sample([k for k in TAMPERS if k.detectable and k.name != "compound"], 2)
    out = first.edit(rng, tr)
    if out is None:
        return None
    return second.edit(rng, out) or out


def alter_attested_model(rng: random.Random, tr: Trace) -> Trace | None:
    """The model digest of an honest announce, or of an honest attest of an honest
    producer's offer."""
    k = pick(
        rng,
        tr,
        lambda e: (
            (e["kind"] == "announce" or (e["kind"] == "attest" and e["producer"] not in byz(tr)))
            and e["node"] not in byz(tr)
        ),
    )
    if k is None:
        return None
    tr[k]["model"] = hexflip(tr[k]["model"])
    return tr


def drop_attester(rng: random.Random, tr: Trace) -> Trace | None:
    """An honest announce names one attester fewer (t_a of them)."""
    k = pick(rng, tr, lambda e: e["kind"] == "announce")
    if k is None:
        return None
    tr[k]["attesters"] = tr[k]["attesters"][1:]
    return tr


def drop_accept_attester(rng: random.Random, tr: Trace) -> Trace | None:
    """An accept names only ``t_a`` of the attesters it counted (R-15d refused it). A
    Byzantine announcement may name more than ``t_a + 1``, so it keeps the last ``t_a``
    (dropping one of them could leave a quorum: no tampering)."""
    k = pick(rng, tr, lambda e: e["kind"] == "accept")
    if k is None:
        return None
    t_a = tr[0]["config"]["t_a"]
    names = tr[k]["attesters"]
    tr[k]["attesters"] = names[len(names) - t_a :]
    return tr


def delete_serve(rng: random.Random, tr: Trace) -> Trace | None:
    """D-22: an honest aggregator's serve event deleted (its fetch stays unanswered)."""
    k = pick(rng, tr, lambda e: e["kind"] == "serve")
    if k is None:
        return None
    del tr[k]
    return renumber(tr)


def fetch_to_pusher(rng: random.Random, tr: Trace) -> Trace | None:
    """D-22: a fetch (event and send) redirected to the client's pusher, which announced
    it a body, not a header only."""
    n_a = tr[0]["config"]["aggregators"]
    k = pick(rng, tr, lambda e: e["kind"] == "fetch" and e["to"] != f"A{int(e['node'][1:]) % n_a}")
    if k is None:
        return None
    to = f"A{int(tr[k]['node'][1:]) % n_a}"
    tr[k]["to"] = to
    if tr[k + 1]["kind"] == "send":
        tr[k + 1]["to"] = to
    return tr


def second_serve(rng: random.Random, tr: Trace) -> Trace | None:
    """D-22: a serve event repeated in its step (a fetch answered twice)."""
    k = pick(rng, tr, lambda e: e["kind"] == "serve")
    if k is None:
        return None
    tr.insert(k + 1, copy.deepcopy(tr[k]))
    return renumber(tr)


def accept_unserved(rng: random.Random, tr: Trace) -> Trace | None:
    """D-18 / D-22: an accept's ``from`` moved to an honest aggregator that is neither
    the client's pusher nor served it a fetch of that round."""
    n_a = tr[0]["config"]["aggregators"]
    served = {(e["node"], e["client"], e["round"]) for e in tr[1:] if e["kind"] == "serve"}

    def others(e: dict[str, Any]) -> list[str]:
        i = int(e["node"][1:])
        return [
            f"A{j}"
            for j in range(n_a)
            if f"A{j}" not in byz(tr) and j != i % n_a and (f"A{j}", e["node"], e["round"]) not in served
        ]

    k = pick(rng, tr, lambda e: e["kind"] == "accept" and bool(others(e)))
    if k is None:
        return None
    tr[k]["from"] = rng.choice(others(tr[k]))
    return tr


def _announced_to(tr: Trace, k: int, client: str, r: int) -> set[str]:
    """Aggregators whose announce of round ``r`` was delivered to ``client`` before line ``k``."""
    sent = {
        e["msg"]: e["node"]
        for e in tr[1:k]
        if e["kind"] == "send" and e["type"] == "announce" and e["round"] == r
    }
    return {
        sent[e["msg"]] for e in tr[1:k] if e["kind"] == "deliver" and e["node"] == client and e["msg"] in sent
    }


def fetch_to_non_announcer(rng: random.Random, tr: Trace) -> Trace | None:
    """D-22: a fetch (event and send) redirected to an aggregator whose announcement of
    that round the client never received before (its header was never verified)."""
    n_a = tr[0]["config"]["aggregators"]

    def others(k: int) -> list[str]:
        e = tr[k]
        got = _announced_to(tr, k, e["node"], e["round"])
        return [f"A{j}" for j in range(n_a) if f"A{j}" not in got]

    k = pick(rng, tr, lambda e: e["kind"] == "fetch")
    if k is None or not others(k):
        return None
    to = rng.choice(others(k))
    tr[k]["to"] = to
    if tr[k + 1]["kind"] == "send":
        tr[k + 1]["to"] = to
    return tr


def serve_without_fetch(rng: random.Random, tr: Trace) -> Trace | None:
    """D-22: a copy of a serve event inserted into a step of the same aggregator whose
    trigger delivered it no fetch."""
    k = pick(rng, tr, lambda e: e["kind"] == "serve")
    if k is None:
        return None
    node = tr[k]["node"]
    sends = {e["msg"]: e["type"] for e in tr[1:] if e["kind"] == "send"}
    ds = [
        d
        for d in range(1, len(tr))
        if tr[d]["kind"] == "deliver" and tr[d]["node"] == node and sends.get(tr[d]["msg"]) != "fetch"
    ]
    if not ds:
        return None
    tr.insert(rng.choice(ds) + 1, copy.deepcopy(tr[k]))
    return renumber(tr)


def fetch_again(rng: random.Random, tr: Trace) -> Trace | None:
    """D-22: a client's fetch (event and send) repeated as a step of its own right after
    the first: a second fetch of that round from that aggregator. The copy's message id
    follows the first's, later ids shifted by one (ids increase, D-19)."""
    k = pick(rng, tr, lambda e: e["kind"] == "fetch")
    if k is None or tr[k + 1]["kind"] != "send":
        return None
    mid = tr[k + 1]["msg"]
    for e in tr[1:]:
        if e["kind"] in ("send", "deliver", "drop") and e["msg"] > mid:
            e["msg"] += 1
    tr[k + 2 : k + 2] = [copy.deepcopy(tr[k]), dict(copy.deepcopy(tr[k + 1]), msg=mid + 1)]
    return renumber(tr)


@dataclass(frozen=True)
class Tamper:
    name: str
    detectable: bool
    edit: Edit


TAMPERS: list[Tamper] = [
    Tamper("delete-protocol-event", True, delete(lambda tr: proto(tr))),
    Tamper(
        "delete-honest-send",
        True,
        delete(lambda tr: lambda e: e["kind"] == "send" and e["node"] not in byz(tr)),
    ),
    Tamper(
        "delete-deliver-between-honest-nodes",
        True,
        delete(
            lambda tr: (
                lambda e: e["kind"] == "deliver" and e["node"] not in byz(tr) and e["from"] not in byz(tr)
            )
        ),
    ),
    Tamper("duplicate-event", True, duplicate),
    Tamper("protocol-event-before-trigger", True, before_trigger),
    Tamper("bad-seq", True, bad_seq),
    Tamper(
        "alter-pd",
        True,
        set_field(("propose", "endorse", "certify", "release", "reconstruct"), "pd", lambda v, e: hexflip(v)),
    ),
    Tamper("alter-md-certified", True, alter_md_certified),
    Tamper("alter-md-endorse", True, alter_md_endorse),
    Tamper("alter-sd-included", True, alter_sd_included),
    Tamper(
        "alter-signature",
        True,
        set_field(("send",), "sig", lambda v, e: v if e["type"] == "junk" else hexflip(v)),
    ),
    Tamper(
        "alter-send-digest",
        True,
        set_field(("send",), "digest", lambda v, e: v if e["type"] == "junk" else hexflip(v)),
    ),
    Tamper("relabel-send", True, relabel),
    Tamper("protocol-event-to-other-node", True, move_node),
    Tamper("shift-round-or-cluster", True, shift_round_or_cluster),
    Tamper("alter-proposed-set", True, alter_set),
    Tamper("alter-counts", True, alter_counts),
    Tamper("alter-support", True, alter_support),
    Tamper("alter-end", True, alter_end),
    Tamper("alter-ghost-x-certified", True, alter_ghost_x),
    Tamper("alter-ghost-sum", True, alter_ghost_sum),
    Tamper("delete-ghost", True, delete_ghost),
    Tamper("truncate", True, truncate),
    Tamper("header-byzantine", True, header_byzantine),
    Tamper("header-ghost-false", True, header_ghost),
    Tamper("compound", True, compound),
    Tamper("alter-attested-model", True, alter_attested_model),
    Tamper("announce-with-t_a-attesters", True, drop_attester),
    Tamper("accept-with-t_a-attesters", True, drop_accept_attester),
    Tamper("alter-attested-prev", True, set_field(("attest",), "prev", lambda v, e: hexflip(v))),
    Tamper("delete-serve", True, delete_serve),
    Tamper("fetch-to-pusher", True, fetch_to_pusher),
    Tamper("second-serve", True, second_serve),
    Tamper("accept-unserved-non-designated", True, accept_unserved),
    Tamper("alter-fetch-header", True, set_field(("fetch",), "header", lambda v, e: hexflip(v))),
    Tamper("fetch-to-non-announcer", True, fetch_to_non_announcer),
    Tamper("serve-without-fetch", True, serve_without_fetch),
    Tamper("alter-serve-header", True, set_field(("serve",), "header", lambda v, e: hexflip(v))),
    Tamper("fetch-again", True, fetch_again),
    Tamper("alter-drop-reason", False, set_field(("drop",), "reason", lambda v, e: v + " (edited)")),
    Tamper("alter-send-size", False, set_field(("send",), "size", lambda v, e: v + 1)),
    Tamper("alter-end-detail", False, set_field(("end",), "detail", lambda v, e: v + " (edited)")),
    Tamper(
        "delete-deliver-to-byzantine",
        False,
        delete(lambda tr: lambda e: e["kind"] == "deliver" and e["node"] in byz(tr)),
    ),
    Tamper("alter-sd-excluded", False, alter_sd_excluded),
    Tamper("delete-dropped-byzantine-message", False, delete_dropped_byz_deliver),
    Tamper("fresh-ghost-mask", False, fresh_mask),
    Tamper("byzantine-dropped-send-as-junk", False, byz_dropped_as_junk),
    Tamper("relabel-fresh-byzantine-envelope", False, relabel_fresh_byzantine),
]


# -- the campaign ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory, tiny_task: Task) -> dict[str, Trace]:
    """One small implementation trace per Byzantine behaviour (real signatures, ghosts)."""
    return impl_trace_set(tmp_path_factory.mktemp("tamper"), TINY, tiny_task, seed=3, crashed=0)


def verdict(tr: Trace) -> set[str]:
    rep = Checker(signatures="all", z3=False, max_violations=1).check_lines([json.dumps(e) for e in tr])
    return {v.prop for v in rep.violations}


def test_docs_classify_every_kind() -> None:
    text = DOCS.read_text()
    for t in TAMPERS:
        row = next((ln for ln in text.splitlines() if ln.startswith(f"| `{t.name}` |")), None)
        assert row is not None, f"docs/tamper.md has no row for {t.name}"
        assert ("| detectable |" in row) == t.detectable, row
        if not t.detectable:
            assert len(row.split("|")[3].strip()) > 20, f"no reason for {t.name}"


def test_tamper_campaign(traces: dict[str, Trace]) -> None:
    s = Signer(P_TAMPER)
    model = {b: emit_trace(P_TAMPER, seed=2, behaviours=b, signer=s, keys=s.keys) for b in MODEL_BEHAVIOURS}
    # a client fetches from the Byzantine A0, which announced it a header only (D-22)
    model["forge-announce-fetch"] = emit_trace(
        P_TAMPER, seed=0, behaviours="forge-announce", byz_prob=0.3, signer=s, keys=s.keys
    )
    assert any(
        e["kind"] == "fetch" and e["to"] in byz(model["forge-announce-fetch"])
        for e in model["forge-announce-fetch"]
    )
    corpus = {**{f"impl/{b}": t for b, t in traces.items()}, **{f"model/{b}": t for b, t in model.items()}}
    for name, tr in corpus.items():
        assert verdict(tr) == set(), name
    rng = random.Random(8)
    done: dict[str, int] = {}
    missed: list[str] = []
    over: list[str] = []
    for t in TAMPERS:
        for name, base in corpus.items():
            reps = PER_KIND * (2 if t.detectable and name.startswith("impl/") else 1)
            for _ in range(reps):
                tr = t.edit(rng, copy.deepcopy(base))
                if tr is None:
                    continue
                done[t.name] = done.get(t.name, 0) + 1
                got = verdict(tr)
                if t.detectable and not got:
                    missed.append(f"{t.name} on {name}")
                if not t.detectable and got:
                    over.append(f"{t.name} on {name}: {got}")
    total = sum(done.values())
    assert total >= 500 and len(done) >= 15, (total, done)
    assert {t.name for t in TAMPERS} <= set(done), {t.name for t in TAMPERS} - set(done)
    assert not missed, f"{len(missed)} detectable tamperings accepted: {missed[:10]}"
    assert not over, f"indistinguishable tamperings rejected (misclassified): {over[:10]}"


def test_uncertified_endorse_md_detected() -> None:
    """The case docs/tamper.md once listed as indistinguishable: the md of an honest
    endorsement nobody certified. Its envelope digest is recomputed from (tau, c, pd, md)
    by D-14's wire format, so every such edit is an R-8 violation."""
    s = Signer(P_TAMPER)
    tr = emit_trace(P_TAMPER, seed=5, behaviours="equivocate", signer=s, keys=s.keys)
    cert = {e["pd"] for e in tr[1:] if e["kind"] == "certify"}
    ks = [k for k, e in enumerate(tr) if k and e["kind"] == "endorse" and e["pd"] not in cert]
    assert ks, "the equivocation trace has no uncertified honest endorsement"
    for k in ks:
        t = copy.deepcopy(tr)
        t[k]["md"] = hexflip(t[k]["md"])
        assert "R-8" in verdict(t), k
