"""Readable, replayable schedules: the regression corpus's file format and its shrinker.

A schedule file (``asfl-schedule/1``, JSON) holds a :class:`~harness.world.Setup`, a
list of actions (see :mod:`harness.world`) and how the run is completed after them
(FIFO, Byzantine scripted nodes silent), optionally reordered by a few ``order`` rules
(:class:`Ordered`: "C5's local steps run last", "deliveries from A3 run first"), which
say in one line what would otherwise take a hundred actions. Replay is deterministic:
same file, same trace.

``bug`` names the zoo bug (``harness.zoo``) whose counterexample this is, or ``null``
for a schedule that failed the real implementation. ``expect`` is what the *correct*
implementation must do on it (always ``pass``: a saved failure is a fixed bug).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from asfl.harness.monitor import Violation
from asfl.harness.world import Act, Setup, World
from asfl.impl.sim.schedulers import Action, Delivery, LocalStep

FORMAT = "asfl-schedule/1"


def _shaped(value: Any, *types: type) -> bool:
    """``value`` is a list of exactly these types (ints never bools, and non-negative)."""
    if not isinstance(value, list) or len(value) != len(types):
        return False
    for v, t in zip(value, types, strict=True):
        if not isinstance(v, t) or isinstance(v, bool) or (isinstance(v, int) and v < 0):
            return False
    return True


def check_action(i: int, act: Any) -> Act:
    """One saved action, checked for shape (see :meth:`World.describe` and ``World.apply``)."""
    ok = isinstance(act, dict) and (
        (set(act) == {"step"} and isinstance(act["step"], str))
        or (set(act) == {"crash"} and isinstance(act["crash"], str))
        or (set(act) == {"deliver"} and _shaped(act["deliver"], str, str, str, int))
        or (
            set(act) == {"byz", "replay", "to"}
            and _shaped([act["byz"], act["replay"], act["to"]], str, int, str)
        )
        or (
            {"byz", "out", "do"} <= set(act) <= {"byz", "out", "do", "seed"}
            and isinstance(act["byz"], str)
            and _shaped(act["out"], str, str, int)
            and isinstance(act["do"], str)
            and isinstance(act.get("seed", 0), int)
        )
    )
    if not ok:
        raise ValueError(f"action {i} is not a step, crash, deliver or byz action: {act!r}"[:200])
    return act


ORDER_WHEN = ("first", "last")
ORDER_WHAT = ("from", "to", "step")


def check_order(rules: Any) -> list[list[str]]:
    """Saved completion-order rules, checked for shape (see :class:`Ordered`)."""
    ok = isinstance(rules, list) and all(
        _shaped(r, str, str, str) and r[0] in ORDER_WHEN and r[1] in ORDER_WHAT for r in rules
    )
    if not ok:
        raise ValueError(f"order must be a list of [first|last, from|to|step, node] rules: {rules!r}"[:200])
    return rules


@dataclass(frozen=True)
class Ordered:
    """FIFO completion reordered by rules ``[when, what, node]``: among the pending actions,
    the oldest matching a ``first`` rule runs, else the oldest matching no ``last`` rule,
    else the oldest (so it stays fair: a ``last`` action runs once nothing else can).
    ``what`` is ``from`` (deliveries sent by ``node``), ``to`` (deliveries to it) or
    ``step`` (its local steps)."""

    rules: tuple[tuple[str, str, str], ...]

    @staticmethod
    def matches(rule: tuple[str, str, str], a: Action) -> bool:
        _, what, node = rule
        if isinstance(a, LocalStep):
            return what == "step" and a.client == node
        return (
            isinstance(a, Delivery) and (a.src if what == "from" else a.dst if what == "to" else "") == node
        )

    def choose(self, world: World) -> int:
        rank_best, best = 3, 0
        for k, a in enumerate(world.pending()):
            hit = {w for w, *_ in (r for r in self.rules if self.matches(r, a))}
            rank = 0 if "first" in hit else 2 if "last" in hit else 1
            if rank < rank_best:
                rank_best, best = rank, k
                if rank == 0:
                    break
        return best


@st.composite
def orders(draw: Any, setup: Setup) -> Ordered:
    """One drawn completion-order rule over ``setup``'s nodes (the zoo's ``ordered`` search
    family): a client slower than everything else, or one node's messages first or last."""
    clients = [f"C{i}" for i in range(setup.n_clients)]
    nodes = [f"A{j}" for j in range(setup.n_aggregators)] + clients
    rule = draw(
        st.one_of(
            st.tuples(st.just("last"), st.just("step"), st.sampled_from(clients)),
            st.tuples(st.sampled_from(ORDER_WHEN), st.sampled_from(("from", "to")), st.sampled_from(nodes)),
        )
    )
    return Ordered((rule,))


@dataclass
class Schedule:
    setup: Setup
    actions: list[Act]
    bug: str | None = None
    found_by: str = ""
    violation: dict[str, Any] | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    order: list[list[str]] = field(default_factory=list)  # completion-order rules (Ordered)

    def completion(self) -> Ordered | None:
        return Ordered(tuple((w, x, n) for w, x, n in self.order)) if self.order else None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "bug": self.bug,
            "expect": "pass",
            "found_by": self.found_by,
            "violation": self.violation,
            "note": self.note,
            "setup": self.setup.to_json(),
            "completion": "fifo; scripted Byzantine aggregators fall silent"
            + ("; reordered by order" if self.order else ""),
            **({"order": self.order} if self.order else {}),
            "actions": self.actions,
            **self.extra,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Schedule:
        if not isinstance(d, dict) or not isinstance(d.get("actions"), list):
            raise ValueError(f"not an {FORMAT} file (an object with a list of actions)")
        if d.get("format") != FORMAT:
            raise ValueError(f"not an {FORMAT} file (format = {d.get('format')!r})")
        known = {"format", "bug", "expect", "found_by", "violation", "note", "setup", "completion", "actions"}
        return cls(
            Setup.from_json(d["setup"]),
            [check_action(i, a) for i, a in enumerate(d["actions"])],
            d.get("bug"),
            d.get("found_by", ""),
            d.get("violation"),
            d.get("note", ""),
            {k: v for k, v in d.items() if k not in known | {"order"}},
            check_order(d.get("order", [])),
        )

    def dumps(self) -> str:
        """One action per line: diff-friendly and readable."""
        d = self.to_json()
        actions = d.pop("actions")
        head = json.dumps(d, indent=2)[:-2]
        if not actions:
            return f'{head},\n  "actions": []\n}}\n'
        lines = ",\n".join("    " + json.dumps(a, separators=(", ", ": ")) for a in actions)
        return f'{head},\n  "actions": [\n{lines}\n  ]\n}}\n'

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.dumps(), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path) -> Schedule:
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


@dataclass
class Outcome:
    violations: list[Violation]
    world: World
    skipped: int

    @property
    def failed(self) -> bool:
        return bool(self.violations)

    def first(self) -> Violation | None:
        return self.violations[0] if self.violations else None


def replay(
    sched: Schedule,
    stop_at_first: bool = True,
    on_action: Callable[[int, Act, bool], None] | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> Outcome:
    """Replay ``sched``'s actions then complete fairly; returns the violations seen."""
    world = World(sched.setup, on_event=on_event)
    skipped = 0
    for k, act in enumerate(sched.actions):
        got = world.apply(act)
        if on_action is not None:
            on_action(k, act, got is not None)
        if got is None:
            skipped += 1
        if stop_at_first and world.violations:
            return Outcome(list(world.violations), world, skipped)
    order = sched.completion()
    world.complete(None if order is None else order.choose)
    return Outcome(list(world.violations), world, skipped)


def same_failure(a: Violation | None, b: Violation | None) -> bool:
    return a is not None and b is not None and a.prop == b.prop


def shrink(
    sched: Schedule,
    target: Violation,
    budget_s: float = 20.0,
    fails: Callable[[Schedule], Violation | None] | None = None,
) -> Schedule:
    """Second-stage shrinking of a realised schedule (PCT draws shrink, schedules do not).

    Keeps a candidate iff it still violates ``target.prop``. Steps, within ``budget_s``:
    (0) no action at all, under FIFO completion or one order rule (:func:`order_candidates`:
    the nodes the violation names, then the Byzantine aggregators), (1) cut everything
    after the first violation, (2) drop trailing actions that FIFO completion would replay
    anyway (binary search on the prefix length), (3) delta debugging: remove chunks of
    halving size, then single actions.
    """
    deadline = time.monotonic() + budget_s

    def check(actions: list[Act], order: list[list[str]] | None = None) -> bool:
        cand = Schedule(
            sched.setup,
            actions,
            sched.bug,
            sched.found_by,
            sched.violation,
            sched.note,
            sched.extra,
            sched.order if order is None else order,
        )
        v = fails(cand) if fails is not None else replay(cand).first()
        return same_failure(v, target)

    if sched.actions:
        for rules in [[], *([r] for r in order_candidates(sched.setup, target))]:
            if time.monotonic() > deadline:
                break
            if check([], rules):
                return Schedule(
                    sched.setup,
                    [],
                    sched.bug,
                    sched.found_by,
                    sched.violation,
                    sched.note,
                    sched.extra,
                    rules,
                )
    acts = list(sched.actions)
    # (2) shortest prefix that still fails after FIFO completion (failures are not
    # monotone in the prefix, so binary search is a heuristic; every step is verified).
    lo, hi = 0, len(acts)
    while lo < hi and time.monotonic() < deadline:
        mid = (lo + hi) // 2
        if check(acts[:mid]):
            hi = mid
        else:
            lo = mid + 1
    if hi < len(acts) and check(acts[:hi]):
        acts = acts[:hi]
    # (3) ddmin-style chunk removal.
    chunk = max(1, len(acts) // 2)
    while chunk >= 1 and time.monotonic() < deadline:
        k, changed = 0, False
        while k < len(acts) and time.monotonic() < deadline:
            cand = acts[:k] + acts[k + chunk :]
            if check(cand):
                acts, changed = cand, True
            else:
                k += chunk
        if not changed:
            chunk //= 2
    return Schedule(
        sched.setup, acts, sched.bug, sched.found_by, sched.violation, sched.note, sched.extra, sched.order
    )


def order_candidates(setup: Setup, target: Violation) -> list[list[str]]:
    """Single order rules worth trying first: for each node the violation names, its local
    steps last, deliveries from it first, deliveries to it last; then deliveries from each
    Byzantine aggregator first."""
    named = list(dict.fromkeys(re.findall(r"\b([AC]\d+)\b", target.message)))
    out = []
    for n in named:
        out += [["last", "step", n]] if n[0] == "C" else []
        out += [["first", "from", n], ["last", "to", n]]
    out += [["first", "from", f"A{j}"] for j in sorted(setup.byzantine)]
    return list({tuple(r): r for r in out}.values())
