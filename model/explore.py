"""Bounded exhaustive explorer (``asfl explore``).

Breadth-first search over the states of :mod:`model.system` for one small
configuration. Every discovered state is checked against the safety invariants of
:mod:`model.invariants`; every *honest-quiescent* state (no delivery or client step
enabled; Byzantine nodes may always stay silent) that is not complete is a deadlock,
i.e. an L-3 violation when the faults are within the bounds ``t_a`` / ``t_c``. Strongly
connected components of the explored graph reveal non-progress cycles; those that are
fair under weak fairness are L-3 violations too (the model's graph is acyclic: every
step grows a node's state or consumes a message, and Kahn's algorithm confirms it on
every exhaustive search before networkx looks for SCCs). Without reductions BFS order
makes every counterexample a shortest one; with them it is shortest in the reduced graph.

Reductions (each sound for the properties checked):

- *fingerprints*: only a 64-bit fingerprint of each state is stored (the collision
  bound is at :func:`_key`);
- *hash-consing* (:class:`model.system.Memo`, not a reduction: the same states): every
  node state and message is one canonical object, so each node's transition on a
  message, each no-op test and each part of the Byzantine menu is computed by the model
  once and looked up afterwards, and a fingerprint hashes object identities. On that
  representation a successor is built canonical and is not canonicalised again,
  no-op pruning scans only a receiver whose state changed, the quotient after a step
  tests only the clients the step changed, the invariants are evaluated per node state
  (their parts cached), and the partial-order reduction decides on the receiver's
  memoised local transition: a candidate set is rejected before its successors are
  built, and a Byzantine send that changes nothing is never stepped (each checked
  against the uncached computation in ``tests/model/test_memo.py``);
- *no-op pruning*: messages whose delivery can no longer change the receiver are
  dropped from the network (:func:`model.system.is_noop`);
- *quotient* (:func:`model.por.normalize`): done clients forget their buffer, which
  honest releasers' correct share sums an aggregator holds is canonicalised, and the
  models a client accepted before the last round are kept as what S-7 / I-3 read of them;
- *partial-order reduction* (:mod:`model.por`, any number of rounds): persistent sets
  (single commuting actions, closed views, closed cluster components, one aggregator's
  decoding race) and client steps and honest header-only announcements taken alone
  (every terminal state stays reachable) in the system extended with a *silence*
  action, so that deadlocks survive; silent states are explored after the others;
- *symmetry* (:mod:`model.symmetry`, ``--symmetry``): honest aggregators with their
  clusters and members are interchangeable in one-round configurations.
"""

from __future__ import annotations

import time
from array import array
from collections import deque
from dataclasses import dataclass, field

from asfl.model.invariants import violations
from asfl.model.params import Params
from asfl.model.por import SILENCE, normalize, select
from asfl.model.symmetry import Relabel, canonical_hash, symmetry_group
from asfl.model.system import (
    Memo,
    Mode,
    complete,
    enabled,
    initial_state,
    is_honest_action,
    progress_report,
    step,
)
from asfl.model.types import Action, SysState


@dataclass
class Counterexample:
    prop: str
    message: str
    actions: list[Action]

    def render(self, p: Params, behaviours: frozenset[str]) -> str:
        """The shortest history, replayed with its events."""
        mode = Mode(behaviours=behaviours, explorer=True, events=True)
        s = normalize(p, initial_state(p, mode))
        lines = [f"{self.prop}: {self.message}", f"shortest counterexample ({len(self.actions)} steps):"]
        for k, a in enumerate(self.actions, 1):
            if a == SILENCE:
                lines.append(f"  {k:3d}. the Byzantine aggregators fall silent for good")
                continue
            s, evs = step(p, s, a, mode)
            s = normalize(p, s)
            shown = [_ev(e) for e in evs if e[0] not in ("deliver", "send") or a.kind == "byz"]
            lines.append(f"  {k:3d}. {a}" + (f"   => {'; '.join(shown)}" if shown else ""))
        if self.prop == "L-3":
            lines.append("  stuck state:\n    " + progress_report(p, s).replace("\n", "\n    "))
        return "\n".join(lines)


def _ev(e: tuple) -> str:
    kind, node = e[0], e[1]
    if kind in ("propose", "endorse", "certify", "release", "reconstruct"):
        q = e[2]
        extra = ""
        if kind == "certify":
            extra = f" by {list(e[3])}"
        if kind == "reconstruct":
            extra = " GARBAGE" if e[5].garbage else f" sum of {list(e[5].clients)}"
        return f"{node} {kind} I={list(q.clients)}{extra}"
    if kind == "aggregate":
        return f"{node} aggregate round {e[2].round} from clusters {[c for c, _, _ in e[2].parts]}"
    if kind == "accept":
        return f"{node} accept round {e[2].round} from {e[3]}" + (" FORGED" if e[2].forged else "")
    if kind == "attest":
        return f"{node} attest round {e[2].round} of A{e[3]}"
    if kind == "announce":
        return f"{node} announce round {e[2].round} attested by {list(e[3])}"
    if kind == "equivocation":
        return f"{node} equivocation detected"
    if kind == "drop":
        return f"{node} drop ({e[3]})"
    if kind == "submit":
        return f"{node} submit round {e[2]} to A{e[3]}"
    if kind == "send":
        return f"{node} sends {e[2].kind} to {e[2].dst}"
    return f"{node} {kind}"


@dataclass
class ExploreResult:
    params: Params
    behaviours: frozenset[str]
    states: int = 0
    transitions: int = 0
    depth: int = 0
    seconds: float = 0.0
    exhaustive: bool = True
    terminal: int = 0
    complete_states: int = 0
    deadlocks: int = 0
    nontrivial_sccs: int = 0
    fair_cycles: int = 0
    violations: list[Counterexample] = field(default_factory=list)
    reductions: dict[str, bool] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.states / self.seconds if self.seconds else 0.0

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary(self) -> dict:
        p = self.params
        return {
            "config": {
                "n_a": p.n_a,
                "t_a": p.t_a,
                "n_c": p.n_c,
                "t_c": p.t_c,
                "q_min": p.q_min,
                "B": p.B,
                "R": p.R,
                "byzantine": sorted(p.byzantine),
                "crashed": sorted(p.crashed),
                "bug": p.bug,
                "behaviours": sorted(self.behaviours),
            },
            "states": self.states,
            "transitions": self.transitions,
            "depth": self.depth,
            "seconds": round(self.seconds, 3),
            "states_per_second": round(self.rate),
            "exhaustive": self.exhaustive,
            "terminal_states": self.terminal,
            "complete_states": self.complete_states,
            "deadlocks": self.deadlocks,
            "nontrivial_sccs": self.nontrivial_sccs,
            "fair_non_progress_cycles": self.fair_cycles,
            "reductions": self.reductions,
            "violations": [
                {"property": v.prop, "message": v.message, "length": len(v.actions)} for v in self.violations
            ],
        }


def explore(
    p: Params,
    behaviours: frozenset[str] | None = None,
    max_states: int = 2_000_000,
    max_seconds: float = 600.0,
    por: bool = True,
    symmetry: bool = False,
    cycles: bool = True,
    stop_at_first: bool = True,
    progress: bool = False,
    hashcons: bool = True,
) -> ExploreResult:
    """Explore ``p`` exhaustively (or up to ``max_states`` / ``max_seconds``).
    ``hashcons``: the hash-consed representation with memoised transitions
    (:class:`model.system.Memo`); off, every step is computed by the model afresh (the
    same states and verdicts, slower: kept to measure the representation against)."""
    mode = Mode(
        behaviours=frozenset(behaviours)
        if behaviours is not None
        else frozenset({"equivocate", "forge-endorse", "wrong-release"}),
        explorer=True,
        events=False,
    )
    group = symmetry_group(p) if symmetry else []
    res = ExploreResult(p, mode.behaviours)
    res.reductions = {
        "state_hashing": True,
        "noop_pruning": True,
        "symmetry": bool(group),
        "symmetry_group_size": len(group) + 1,  # type: ignore[dict-item]
        "partial_order": por,
    }
    rules: dict[str, int] = {"alone": 0, "view": 0, "component": 0, "node": 0, "timer": 0, "full": 0}
    t0 = time.perf_counter()
    memo = Memo(p, mode) if hashcons else None
    s0 = _canon(memo, normalize(p, initial_state(p, mode)))
    seen: dict[int, int] = {_key(p, memo, s0, False, group): 0}
    parent: list[int] = [-1]
    via: list[Action | None] = [None]
    depth: list[int] = [0]
    src_e: array[int] = array("l")
    dst_e: array[int] = array("l")
    queue: deque[tuple[int, SysState, bool]] = deque([(0, s0, False)])
    found_props: set[str] = set()

    def report(prop: str, msg: str, n: int) -> None:
        if prop in found_props:
            return
        found_props.add(prop)
        res.violations.append(Counterexample(prop, msg, _path(n, via, parent)))

    for prop, msg in violations(p, s0):
        report(prop, msg, 0)
    next_report = 1.0
    later: deque[tuple[int, SysState, bool]] = deque()  # silent states: after the others
    while (queue or later) and not (stop_at_first and res.violations):
        n, s, silent = queue.popleft() if queue else later.popleft()
        acts = enabled(p, s, mode, memo)
        if silent:
            acts = [a for a in acts if a.kind != "byz"]
        if not any(is_honest_action(a) for a in acts):
            res.terminal += 1
            if complete(p, s):
                res.complete_states += 1
            else:
                res.deadlocks += 1
                if p.within_bounds:
                    report("L-3", "deadlock: quiescent, incomplete, faults within bounds", n)
        if not acts:
            continue

        def succ1(a: Action, s: SysState = s) -> SysState:
            if memo is None:
                return normalize(p, step(p, s, a, mode)[0])
            t = step(p, s, a, mode, memo)[0]  # canonical parts only
            n = normalize(p, t, memo, s)
            return t if n is t else memo.state(n)

        if por:
            bcp = not silent and "equivocate" in mode.behaviours
            local = None if memo is None else lambda a, s=s: memo.local_step(s, a)  # type: ignore[misc]
            succ, rule = select(p, s, acts, succ1, bcp, local, memo)
            rules[rule] += 1
        else:
            succ = [(a, succ1(a)) for a in acts]
        nexts = [(a, s2, silent) for a, s2 in succ if s2 != s]
        if por and not silent and any(a.kind == "byz" for a, _ in succ):
            nexts.append((SILENCE, s, True))  # silence disables every Byzantine action
        for a, s2, sil in nexts:
            h = _key(p, memo, s2, sil, group)
            m = seen.get(h)
            res.transitions += 1
            if m is None:
                m = len(parent)
                seen[h] = m
                parent.append(n)
                via.append(a)
                depth.append(depth[n] + 1)
                if s2 is not s:
                    for prop, msg in violations(p, s2, memo):
                        report(prop, msg, m)
                (later if sil else queue).append((m, s2, sil))
            src_e.append(n)
            dst_e.append(m)
        if len(parent) >= max_states or time.perf_counter() - t0 > max_seconds:
            res.exhaustive = False
            break
        if progress and time.perf_counter() - t0 > next_report:
            next_report += 5.0
            print(f"  ... {len(parent)} states, queue {len(queue)}, depth {depth[n]}", flush=True)
    if res.violations and stop_at_first:
        res.exhaustive = False
    res.states = len(parent)
    res.depth = max(depth)
    res.reductions["por_rules"] = dict(rules)  # type: ignore[assignment]
    if cycles and res.exhaustive:
        _check_cycles(p, res, src_e, dst_e, via, parent, mode)
    res.seconds = time.perf_counter() - t0
    return res


def _canon(memo: Memo | None, s: SysState) -> SysState:
    return s if memo is None else memo.state(s)


def _key(p: Params, memo: Memo | None, s: SysState, silent: bool, group: list[Relabel]) -> int:
    """The visited-set key: a 64-bit fingerprint of the state (the smallest over its
    symmetry orbit), distinct for silent states. Only fingerprints are stored: two
    distinct states collide with probability about 2^-64, so a search of ``n`` states
    merges two of them with probability below ``n^2 / 2^65`` (1e-8 at 600 million)."""
    if memo is None:
        h = canonical_hash(s, group, lambda t: normalize(p, t))
    elif not group:
        h = memo.fingerprint(s)
    else:
        h = canonical_hash(s, group, lambda t: memo.state(normalize(p, t)), memo.fingerprint)
    return ~h if silent else h


def _check_cycles(
    p: Params,
    res: ExploreResult,
    src: array[int],
    dst: array[int],
    via: list[Action | None],
    parent: list[int],
    mode: Mode,
) -> None:
    """Non-trivial SCCs are cycles; one is a fair non-progress cycle (L-3) when every
    honest action enabled in all its states is also taken inside it (weak fairness)."""
    import networkx as nx  # here, not at import: it adds a second to every command's start-up

    g = nx.DiGraph()
    keep = _on_or_after_cycle(len(parent), src, dst)
    g.add_nodes_from(keep)
    g.add_edges_from((a, b) for a, b in zip(src, dst, strict=True) if a != b and a in keep and b in keep)
    for scc in nx.strongly_connected_components(g):
        if len(scc) < 2:
            continue
        res.nontrivial_sccs += 1
        # replay the states of the SCC to recompute their enabled actions
        states = {n: _replay(p, n, via, parent, mode) for n in scc}
        always = None
        taken: set[Action] = set()
        for s in states.values():
            en = {a for a in enabled(p, s, mode) if is_honest_action(a)}
            always = en if always is None else always & en
            for a in en:
                s2 = step(p, s, a, mode)[0]
                if any(s2 == t for t in states.values()):
                    taken.add(a)
        if always is not None and always <= taken:
            res.fair_cycles += 1
            n0 = min(scc)
            res.violations.append(Counterexample("L-3", "fair non-progress cycle", _path(n0, via, parent)))


def _on_or_after_cycle(n: int, src: array[int], dst: array[int]) -> set[int]:
    """Kahn's algorithm: the nodes left after repeatedly removing nodes without incoming
    edges (empty iff the graph is acyclic; every cycle is among them)."""
    indeg = array("l", bytes(8 * n))
    out: list[list[int]] = [[] for _ in range(n)]
    for a, b in zip(src, dst, strict=True):
        if a != b:
            indeg[b] += 1
            out[a].append(b)
    todo = [k for k in range(n) if indeg[k] == 0]
    removed = 0
    while todo:
        k = todo.pop()
        removed += 1
        for b in out[k]:
            indeg[b] -= 1
            if indeg[b] == 0:
                todo.append(b)
    return set() if removed == n else {k for k in range(n) if indeg[k] > 0}


def _path(n: int, via: list[Action | None], parent: list[int]) -> list[Action]:
    out = []
    while n > 0:
        a = via[n]
        assert a is not None
        out.append(a)
        n = parent[n]
    return out[::-1]


def _replay(p: Params, n: int, via: list[Action | None], parent: list[int], mode: Mode) -> SysState:
    s = normalize(p, initial_state(p, mode))
    for a in _path(n, via, parent):
        if a != SILENCE:
            s = normalize(p, step(p, s, a, mode)[0])
    return s
