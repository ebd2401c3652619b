"""Readable, replayable schedules: the regression corpus's file format and its shrinker.

A schedule file (``asfl-schedule/1``, JSON) holds a :class:`~harness.world.Setup`, a
list of actions (see :mod:`harness.world`) and how the run is completed after them
(FIFO, Byzantine scripted nodes silent), optionally reordered by a few ``order`` rules
(:class:`Ordered`: "C5's local steps run last", "deliveries from A3 run first"), which
say in one line what would otherwise take a hundred actions. An action ``{"fifo": n}``
runs the next ``n`` deliveries and steps in that completion order, so a shrunk schedule
lists only where a run departs from it. Replay is deterministic: same file, same trace.

``bug`` names the zoo bug (``harness.zoo``) whose counterexample this is, or ``null``
for a schedule that failed the real implementation. ``expect`` is what the *correct*
implementation must do on it (always ``pass``: a saved failure is a fixed bug).
"""

from __future__ import annotations

import itertools
import json
import re
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from asfl.harness.monitor import Violation
from asfl.harness.world import Act, Setup, World
from asfl.impl.sim.schedulers import Action, Delivery, LocalStep

FORMAT = "asfl-schedule/1"
#: what a zoo counterexample should list at most, scheduled actions (:func:`length`;
#: issue 9, deliverable 4)
GOAL = 20


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
        (set(act) == {"fifo"} and _shaped([act["fifo"]], int) and act["fifo"] > 0)
        or (set(act) == {"step"} and isinstance(act["step"], str))
        or (set(act) == {"timer"} and isinstance(act["timer"], str))
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
        raise ValueError(
            f"action {i} is not a fifo, step, timer, crash, deliver or byz action: {act!r}"[:200]
        )
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


#: the order rules :func:`orders` last drew for a setup object (by identity): the shrinker
#: tries a failing ``ordered`` run's own rules first (a hint, verified like any candidate)
_DRAWN: dict[int, tuple[weakref.ref[Setup], list[list[str]]]] = {}


@st.composite
def orders(draw: Any, setup: Setup) -> Ordered:
    """One to three drawn completion-order rules over ``setup``'s nodes (the zoo's
    ``ordered`` search family): a client slower than everything else, or one node's
    messages first or last."""
    clients = [f"C{i}" for i in range(setup.n_clients)]
    nodes = [f"A{j}" for j in range(setup.n_aggregators)] + clients
    rule = st.one_of(
        st.tuples(st.just("last"), st.just("step"), st.sampled_from(clients)),
        st.tuples(st.sampled_from(ORDER_WHEN), st.sampled_from(("from", "to")), st.sampled_from(nodes)),
    )
    rules = tuple(draw(st.lists(rule, min_size=1, max_size=3, unique=True)))
    key = id(setup)
    _DRAWN[key] = (weakref.ref(setup, lambda _: _DRAWN.pop(key, None)), [list(r) for r in rules])
    return Ordered(rules)


def drawn_order(setup: Setup) -> list[list[str]] | None:
    """The rules :func:`orders` last drew for this very ``setup`` object, if any."""
    got = _DRAWN.get(id(setup))
    return got[1] if got is not None and got[0]() is setup else None


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

    def but(self, actions: list[Act], order: list[list[str]] | None = None) -> Schedule:
        """This schedule with other actions (and optionally other order rules)."""
        order = self.order if order is None else order
        return Schedule(
            self.setup, actions, self.bug, self.found_by, self.violation, self.note, self.extra, order
        )

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
    at: int | None = None  # the action during which it failed (len(actions): completing)
    cut: bool = False  # stopped at ``max_steps``: no verdict

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
    max_steps: int | None = None,
) -> Outcome:
    """Replay ``sched``'s actions then complete fairly; returns the violations seen.
    ``max_steps`` (the shrinker's) cuts a run past that many deliveries and steps, with
    no verdict."""
    world = World(sched.setup, on_event=on_event)
    order = sched.completion()
    choose = None if order is None else order.choose
    limit = max_steps if max_steps is not None else 2**62
    skipped = 0
    for k, act in enumerate(sched.actions):
        if "fifo" in act:
            replay_fifo(world, act["fifo"], order)
            got: list[Violation] | None = []
        else:
            got = world.apply(act)
        if on_action is not None:
            on_action(k, act, got is not None)
        if got is None:
            skipped += 1
        if stop_at_first and world.violations:
            return Outcome(list(world.violations), world, skipped, at=k)
        if len(world.actions) > limit:
            return Outcome([], world, skipped, cut=True)
    world.complete(choose, max_steps=max(0, limit - len(world.actions)))
    if max_steps is not None and world.status == "step_limit":
        return Outcome([], world, skipped, cut=True)
    at = len(sched.actions) if world.violations else None
    return Outcome(list(world.violations), world, skipped, at=at)


def same_failure(a: Violation | None, b: Violation | None) -> bool:
    return a is not None and b is not None and a.prop == b.prop


@dataclass(frozen=True)
class Deadline:
    """The end of a shrinking budget on some clock (:func:`shrink`'s ``clock``)."""

    at: float
    clock: Callable[[], float]

    def passed(self) -> bool:
        return self.clock() > self.at


class ShrinkError(RuntimeError):
    """The shrinker's result does not fail the bugged implementation with the target
    property, or fails the correct one (it must never be handed on)."""


def shrink(
    sched: Schedule,
    target: Violation,
    budget_s: float = 20.0,
    fails: Callable[[Schedule], Violation | None] | None = None,
    passes: Callable[[Schedule], bool] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Schedule:
    """Second-stage shrinking of a realised schedule. Hypothesis shrinks the draws of a
    policy or of the machine's rules, not the run they realise: a random or PCT policy's
    minimal draw still realises a whole run of hundreds of choices, and deleting one of
    them from the recorded list changes every later choice, so deletion alone rarely
    keeps the failure.

    Keeps a candidate iff its replay still violates ``target.prop`` (the same property
    ID) and, when ``passes`` is given (the zoo: a replay on the *correct*
    implementation, in another process), the correct implementation passes it. The
    correct implementation is asked lazily: candidates are kept on the bugged verdict
    alone, and the result is then asked; if it fails, the kept candidates are asked
    newest first, and shrinking goes on from the newest that passes, asking it about every
    candidate from there. The result is checked both ways once more
    (:class:`ShrinkError` if not). A ``sched`` that the correct implementation fails too
    is returned as it is (a real bug). Each distinct candidate is replayed once.
    ``budget_s`` is measured by ``clock`` (wall-clock by default; the zoo passes the CPU
    time of its shrinker and oracle processes, so that its witnesses do not depend on
    the machine's load).

    Steps, within ``budget_s``: (0) no action at all, under the rules an ``ordered``
    run drew (:func:`drawn_order`, those it needs), else under FIFO completion, one
    order rule (:func:`order_candidates`) or two slow clients (:func:`slow_pairs`);
    (1) the same run, cut after the action at which
    the violation shows, without the actions that did not apply, and every action the
    completion order takes there anyway written as ``{"fifo": n}`` runs; (2) its
    Byzantine sends and crashes alone (:func:`_adversary`), then bisection for the window
    of departures that matters (:func:`_window`), then delta debugging over the
    departures from that order: chunks of halving size, then single ones, each replaced
    by one step of the completion order; (3) each order rule of (0) in place of the
    departures about its node, then delta debugging again; (4) only if the result still
    lists more than :data:`GOAL` scheduled actions, within half ``budget_s`` more: no
    action at all under three aggregators' messages first (:func:`first_triples`).
    """
    applied: list[int] = []
    first = replay(sched, on_action=lambda k, _, ok: applied.append(k) if ok else None)
    # a candidate running far past the original failure's length is cut (no verdict),
    # which keeps each check near the cost of a failing replay; not a candidate of no
    # action at all (an order alone): its run may fail later than the original did
    cap = len(first.world.actions) * 3 // 2 + 50
    verdicts: dict[str, bool] = {}  # a candidate's actions and rules -> fails the bugged copy
    cleans: dict[str, bool] = {}  # ... -> the correct implementation passes it
    if fails is None:  # ``first`` is ``sched``'s verdict: it is not replayed again
        verdicts[_key(sched)] = same_failure(first.first(), target)

    def bugged(cand: Schedule) -> bool:
        key = _key(cand)
        if key not in verdicts:
            if fails is not None:
                verdicts[key] = same_failure(fails(cand), target)
            else:
                got = replay(cand, max_steps=cap if cand.actions else None).first()
                verdicts[key] = same_failure(got, target)
        return verdicts[key]

    def clean(cand: Schedule) -> bool:
        assert passes is not None
        key = _key(cand)
        if key not in cleans:
            cleans[key] = passes(cand)
        return cleans[key]

    if passes is not None and not clean(sched):
        return sched
    kept: list[Schedule] = []

    def lazy(cand: Schedule) -> bool:
        if bugged(cand):
            kept.append(cand)
            return True
        return False

    deadline = Deadline(clock() + budget_s, clock)  # from here: the first replays warm the caches
    best = _shrunk(sched, target, first if fails is None else None, applied, lazy, deadline)
    best = _trimmed(best, lazy)
    if passes is not None and not clean(best):
        start = next((c for c in reversed(kept) if clean(c)), sched)

        def eager(cand: Schedule) -> bool:
            return bugged(cand) and clean(cand)

        best = _trimmed(_ddmin(start, eager, deadline), eager)
    if length(best) > GOAL:  # (4)
        reserve = Deadline(clock() + budget_s / 2, clock)
        check = lazy if passes is None else lambda c: bugged(c) and clean(c)
        for order in first_triples(sched.setup):
            if reserve.passed():
                break
            if check(cand := sched.but([], order)):
                best = cand
                break
    if best is sched:
        return best
    again = fails(best) if fails is not None else replay(best).first()  # replayed afresh
    if not (same_failure(again, target) and (passes is None or clean(best))):
        raise ShrinkError(f"shrunk schedule lost its {target.prop} failure or fails the correct impl")
    return best


def length(sched: Schedule) -> int:
    """Scheduled actions: a ``fifo`` run and a completion-order rule count one each."""
    return len(sched.actions) + len(sched.order)


def _key(sched: Schedule) -> str:
    """What tells two candidates apart: their actions and order rules."""
    return json.dumps([sched.actions, sched.order], separators=(",", ":"))


def _trimmed(best: Schedule, check: Callable[[Schedule], bool]) -> Schedule:
    """``best`` without a trailing fifo run, if ``check`` still holds (the completion
    runs in that order anyway)."""
    if best.actions and "fifo" in best.actions[-1] and check(trimmed := best.but(best.actions[:-1])):
        return trimmed
    return best


def _shrunk(
    sched: Schedule,
    target: Violation,
    first: Outcome | None,
    applied: list[int],
    check: Callable[[Schedule], bool],
    deadline: Deadline,
) -> Schedule:
    """:func:`shrink`'s steps (0)-(3), each candidate judged by ``check``; ``first`` is
    ``sched``'s own replay (``None`` under a caller's ``fails``: where it fails is unknown)."""
    rules = order_candidates(sched.setup, target)
    own = drawn_order(sched.setup)
    if own is not None and check(sched.but([], own)):  # (0) the run's rules,
        for rule in list(own):  # without those it does not need
            fewer = [r for r in own if r != rule]
            if not deadline.passed() and check(sched.but([], fewer)):
                own = fewer
        return sched.but([], own)
    if sched.actions:
        for order in [[], *([r] for r in rules), *slow_pairs(sched.setup, target)]:
            if deadline.passed():
                break
            if check(sched.but([], order)):
                return sched.but([], order)
    at = None if first is None else first.at
    if not (check(sched) if first is None else same_failure(first.first(), target)):
        return _ddmin(sched, check, deadline)  # not a failing schedule: plain ddmin
    kept = [sched.actions[k] for k in applied if at is None or k <= at]  # (1)
    best = _as_departures(sched.but(kept))
    if not check(best):  # the same run by construction; kept as a guard
        best = sched.but(kept) if check(sched.but(kept)) else sched
    best = _ddmin(_window(_adversary(best, rules, check, deadline), check, deadline), check, deadline)  # (2)
    for rule in rules:  # (3)
        if deadline.passed() or len(best.actions) <= 1:
            break
        acts = [{"fifo": 1} if _about(rule, a) else a for a in best.actions]
        cand = best.but(_merged(acts), [*best.order, rule])
        if len(cand.actions) < len(best.actions) and check(cand):
            best = _ddmin(cand, check, deadline)
    return best


def _adversary(
    sched: Schedule, rules: list[list[str]], check: Callable[[Schedule], bool], deadline: Deadline
) -> Schedule:
    """``sched`` with only its Byzantine sends and crashes kept (every delivery and step
    left to the completion order), under that order or one more rule, if ``check``
    holds: a Byzantine failure rarely needs the network order the search happened on."""
    acts = [{"fifo": 1} if "deliver" in a or "step" in a else a for a in sched.actions]
    if acts == sched.actions or all("fifo" in a for a in acts):
        return sched
    for order in [sched.order, *([*sched.order, r] for r in rules if r not in sched.order)]:
        if deadline.passed():
            break
        if check(cand := sched.but(_merged(acts), order)):
            return cand
    return sched


def _window(sched: Schedule, check: Callable[[Schedule], bool], deadline: Deadline) -> Schedule:
    """The departures that matter, by bisection (a few checks where delta debugging's
    first halvings take many): the fewest leading departures that still fail with every
    later one replaced by the completion order, then the most of those that can go from
    the front. Every candidate is judged by ``check``; ``sched`` fails. (Repeating it on
    its own result was tried: on one top-up witness it then ended at 94 departures, 3
    without.)"""
    return _bisected(sched, check, deadline)


def _departures(sched: Schedule) -> int:
    return sum(1 for a in sched.actions if "fifo" not in a)


def _bisected(sched: Schedule, check: Callable[[Schedule], bool], deadline: Deadline) -> Schedule:
    """:func:`_window`'s bisection."""
    acts = list(sched.actions)
    dep = [k for k, a in enumerate(acts) if "fifo" not in a]

    def keeping(lo: int, hi: int) -> Schedule:
        keep = set(dep[lo:hi])
        out = [a if "fifo" in a or k in keep else _instead(a) for k, a in enumerate(acts)]
        return sched.but(_merged(out))

    best, lo, hi = sched, 0, len(dep)  # keeping dep[:hi] fails; dep[:lo] is taken to pass
    while hi - lo > 1 and not deadline.passed():
        mid = (lo + hi) // 2
        if check(cand := keeping(0, mid)):
            best, hi = cand, mid
        else:
            lo = mid
    lo, top = 0, hi  # keeping dep[lo:top] fails; dep[hi:top] is taken to pass
    while hi - lo > 1 and not deadline.passed():
        mid = (lo + hi) // 2
        if check(cand := keeping(mid, top)):
            best, lo = cand, mid
        else:
            hi = mid
    return best


def _ddmin(sched: Schedule, check: Callable[[Schedule], bool], deadline: Deadline) -> Schedule:
    """Delta debugging over ``sched``'s departures from the completion order (every
    action but a ``fifo`` run): a chunk of them, halving in size down to one, is
    replaced by that many completion-order steps while ``check`` holds (a Byzantine
    send or a crash is not a step of that order: it is dropped, not replaced)."""
    acts = list(sched.actions)
    chunk = max(1, _departures(sched) // 2)
    while not deadline.passed():
        i, changed = 0, False
        while not deadline.passed():
            dep = [k for k, a in enumerate(acts) if "fifo" not in a]
            if i >= len(dep):
                break
            drop = set(dep[i : i + chunk])
            cand = _merged([_instead(a) if k in drop else a for k, a in enumerate(acts)])
            if check(sched.but(cand)):
                acts, changed = cand, True  # the next departures moved up to position i
            else:
                i += chunk
        if not changed:
            if chunk == 1:
                break
            chunk //= 2
    return sched.but(acts)


def _instead(act: Act) -> Act:
    """What replaces a dropped departure: one completion-order step for a delivery or a
    local step, nothing (an empty dict) for a Byzantine send or a crash."""
    return {"fifo": 1} if "deliver" in act or "step" in act or "timer" in act else {}


def _merged(acts: list[Act]) -> list[Act]:
    """Adjacent ``fifo`` runs joined into one, dropped (empty) actions left out."""
    out: list[Act] = []
    for a in acts:
        if not a:  # a dropped departure (see :func:`_instead`)
            continue
        if "fifo" in a and out and "fifo" in out[-1]:
            out[-1] = {"fifo": out[-1]["fifo"] + a["fifo"]}
        else:
            out.append(dict(a))
    return out


def _as_departures(sched: Schedule) -> Schedule:
    """The same run with every action that its completion order would take at that point
    written as a ``fifo`` run: only the departures from that order stay explicit."""
    world = World(sched.setup)
    order = sched.completion()
    acts: list[Act] = []
    for act in sched.actions:
        if world.violations:
            break
        own = (
            "fifo" in act
            or len(world.sim.scheduler) > 0
            and world.describe(0 if order is None else order.choose(world)) == act
        )
        if "fifo" in act:
            replay_fifo(world, act["fifo"], order)
        else:
            world.apply(act)
        acts.append({"fifo": act.get("fifo", 1)} if own else act)
    return sched.but(_merged(acts))


def replay_fifo(world: World, n: int, order: Ordered | None) -> None:
    """Run ``n`` steps of the completion order (FIFO, reordered by ``order``)."""
    for _ in range(n):
        if not len(world.sim.scheduler) or world.violations:
            break
        world.apply_index(0 if order is None else order.choose(world))


def _about(rule: list[str], act: Act) -> bool:
    """``act`` is a delivery or step of the node order ``rule`` is about (what the rule
    may replace; the shrinker verifies every replacement)."""
    node = rule[2]
    if "step" in act:
        return bool(act["step"] == node)
    return "deliver" in act and node in act["deliver"][1:3]


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


def first_triples(setup: Setup) -> list[list[list[str]]]:
    """Triples of "first" order rules over the aggregators (deliveries from or to each):
    :func:`shrink`'s last resort for a witness over :data:`GOAL`. Two aggregators'
    headers of a round differ only if they decode another quorum of clusters first: no
    single from/to rule makes them differ, 13 of the 112 pairs do, yet no pair also makes
    a client fetch from a relaying aggregator a header another one serves
    (serve-other-header, measured on 4 aggregators, stop 14); 3 to 12 of these 56
    triples do on each setup tried with the relay at A0, A1 or A2 (none at A3). In a
    fixed order."""
    rules = [["first", what, f"A{j}"] for what in ("from", "to") for j in range(setup.n_aggregators)]
    return [list(c) for c in itertools.combinations(rules, 3)]


def slow_pairs(setup: Setup, target: Violation) -> list[list[list[str]]]:
    """Pairs of order rules worth trying after the single ones: each client the violation
    names slow (its local steps last) together with each other client (a stale view
    needs one member's submission early and another's late, D-12)."""
    named = [n for n in dict.fromkeys(re.findall(r"\b(C\d+)\b", target.message))]
    return [
        [["last", "step", n], ["last", "step", f"C{i}"]]
        for n in named
        for i in range(setup.n_clients)
        if f"C{i}" != n
    ]
