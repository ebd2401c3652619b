"""Bounded exhaustive explorer (``asfl explore``).

Breadth-first search over the states of :mod:`model.system` for one small
configuration. Every discovered state is checked against the safety invariants of
:mod:`model.invariants`; every *honest-quiescent* state (no delivery or client step
enabled; Byzantine nodes may always stay silent) that is not complete is a deadlock,
i.e. an L-3 violation when the faults are within the bounds ``t_a`` / ``t_c``. Strongly
connected components of the state graph (networkx) reveal non-progress cycles; those
that are fair under weak fairness are L-3 violations too. BFS order makes every
counterexample a shortest one of the graph explored (with partial-order reduction that
graph omits interleavings, so ``--no-por`` gives the globally shortest).

Reductions (all optional, each sound for the properties checked):

- *state hashing*: only a 64-bit hash of each state is stored;
- *no-op pruning*: messages whose delivery can no longer change the receiver are
  dropped from the network (:func:`model.system.is_noop`);
- *symmetry* (:mod:`model.symmetry`): honest aggregators with their clusters and
  members are interchangeable in one-round configurations;
- *partial-order reduction* (one-round configurations): actions are grouped in
  components -- the cluster ``c`` of a message or client step, the client of an
  announcement. Actions of different components touch disjoint state, except the
  *global* ones (a delivery that completes a decoding, which feeds R-13 aggregation).
  In each state the explorer expands a single client step (it only enables actions),
  else a single announcement delivery (it commutes with everything in one round), else
  all actions of the first cluster component whose actions are all local (an ample
  set: no action outside it can enable or disable a member of it, and the state graph
  is acyclic), else every action.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from asfl.model.invariants import violations
from asfl.model.params import Params
from asfl.model.protocol import idx
from asfl.model.symmetry import canonical_hash, symmetry_group
from asfl.model.system import (
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
        s = initial_state(p, mode)
        lines = [f"{self.prop}: {self.message}", f"shortest counterexample ({len(self.actions)} steps):"]
        for k, a in enumerate(self.actions, 1):
            s, evs = step(p, s, a, mode)
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
        return f"{node} accept round {e[2].round} from {e[3]}"
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


def _component(p: Params, a: Action) -> tuple:
    if a.kind == "step":
        return ("cluster", p.cluster_of(int(a.node[1:]), 0))
    m = a.msg
    assert m is not None
    if m.kind == "announce":
        return ("client", m.dst)
    return ("cluster", m.c)


def _is_global(p: Params, s: SysState, a: Action, s2: SysState) -> bool:
    """Did the action complete a decoding (which may trigger R-13 aggregation)?"""
    if a.kind not in ("deliver", "byz") or a.msg is None or a.msg.dst[0] != "A":
        return False
    j = int(a.msg.dst[1:])
    old, new = s.aggs[j], s2.aggs[j]
    if old is None or new is None:
        return False
    assert a.msg is not None
    k = idx(p, a.msg.tau, a.msg.c)
    return old.views[k].result is not new.views[k].result or old.round != new.round


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
) -> ExploreResult:
    """Explore ``p`` exhaustively (or up to ``max_states`` / ``max_seconds``)."""
    mode = Mode(
        behaviours=frozenset(behaviours)
        if behaviours is not None
        else frozenset({"equivocate", "forge-endorse", "wrong-release"}),
        explorer=True,
        events=False,
    )
    por = por and p.R == 1
    group = symmetry_group(p) if symmetry else []
    res = ExploreResult(p, mode.behaviours)
    res.reductions = {
        "state_hashing": True,
        "noop_pruning": True,
        "symmetry": bool(group),
        "symmetry_group_size": len(group) + 1,  # type: ignore[dict-item]
        "partial_order": por,
    }
    t0 = time.perf_counter()
    s0 = initial_state(p, mode)
    seen: dict[int, int] = {canonical_hash(s0, group): 0}
    parent: list[int] = [-1]
    via: list[Action | None] = [None]
    depth: list[int] = [0]
    src_e: list[int] = []
    dst_e: list[int] = []
    queue: deque[tuple[int, SysState]] = deque([(0, s0)])
    found_props: set[str] = set()

    def report(prop: str, msg: str, n: int) -> None:
        if prop in found_props:
            return
        found_props.add(prop)
        res.violations.append(Counterexample(prop, msg, _path(n, via, parent)))

    for prop, msg in violations(p, s0):
        report(prop, msg, 0)
    next_report = 1.0
    while queue and not (stop_at_first and res.violations):
        n, s = queue.popleft()
        acts = enabled(p, s, mode)
        if not any(is_honest_action(a) for a in acts):
            res.terminal += 1
            if complete(p, s):
                res.complete_states += 1
            else:
                res.deadlocks += 1
                if p.within_bounds:
                    report("L-3", "deadlock: quiescent, incomplete, faults within bounds", n)
        succ = _select(p, s, acts, mode, por)
        for a, s2 in succ:
            if s2 == s:
                continue
            h = canonical_hash(s2, group)
            m = seen.get(h)
            res.transitions += 1
            if m is None:
                m = len(parent)
                seen[h] = m
                parent.append(n)
                via.append(a)
                depth.append(depth[n] + 1)
                for prop, msg in violations(p, s2):
                    report(prop, msg, m)
                queue.append((m, s2))
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
    if cycles and res.exhaustive:
        _check_cycles(p, res, src_e, dst_e, via, parent, mode)
    res.seconds = time.perf_counter() - t0
    return res


def _select(
    p: Params, s: SysState, acts: list[Action], mode: Mode, por: bool
) -> list[tuple[Action, SysState]]:
    if not por:
        return [(a, step(p, s, a, mode)[0]) for a in acts]
    comps: dict[tuple, list[Action]] = {}
    for a in acts:
        comps.setdefault(_component(p, a), []).append(a)
    for a in acts:  # a client's (only) step commutes with everything but what it enables
        if a.kind == "step":
            return [(a, step(p, s, a, mode)[0])]
    for key in sorted(comps):
        if key[0] == "client":
            a = comps[key][0]
            return [(a, step(p, s, a, mode)[0])]
    for key in sorted(comps):
        succ = [(a, step(p, s, a, mode)[0]) for a in comps[key]]
        if not any(_is_global(p, s, a, s2) for a, s2 in succ):
            return succ
    return [(a, step(p, s, a, mode)[0]) for a in acts]


def _check_cycles(
    p: Params,
    res: ExploreResult,
    src: list[int],
    dst: list[int],
    via: list[Action | None],
    parent: list[int],
    mode: Mode,
) -> None:
    """Non-trivial SCCs are cycles; one is a fair non-progress cycle (L-3) when every
    honest action enabled in all its states is also taken inside it (weak fairness)."""
    import networkx as nx  # here, not at import: it adds a second to every command's start-up

    g = nx.DiGraph()
    g.add_nodes_from(range(len(parent)))
    g.add_edges_from((a, b) for a, b in zip(src, dst, strict=True) if a != b)
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


def _path(n: int, via: list[Action | None], parent: list[int]) -> list[Action]:
    out = []
    while n > 0:
        a = via[n]
        assert a is not None
        out.append(a)
        n = parent[n]
    return out[::-1]


def _replay(p: Params, n: int, via: list[Action | None], parent: list[int], mode: Mode) -> SysState:
    s = initial_state(p, mode)
    for a in _path(n, via, parent):
        s = step(p, s, a, mode)[0]
    return s
