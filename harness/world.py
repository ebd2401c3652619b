"""A controllable simulated run of the implementation: the harness's system under test.

A :class:`World` is built from a :class:`Setup` (protocol parameters, which aggregators
are Byzantine and how, which clients crash when). It is then driven by *actions*, small
JSON-able dicts that name what happens next by content, not by position, so that a
recorded schedule stays readable and replays deterministically:

- ``{"deliver": [kind, src, dst, nth]}``: deliver the ``nth`` oldest pending message of
  that kind from ``src`` to ``dst``;
- ``{"step": "C3"}``: run client 3's pending local step (R-4);
- ``{"timer": "C3"}``: fire client 3's oldest armed fetch timer (D-22; the client picks
  the aggregator it fetches from; a timer the client cancelled is no longer pending);
- ``{"crash": "C3"}``: crash client 3 now (at most ``t_c`` in a valid schedule);
- ``{"byz": "A1", "out": [kind, to, nth], "do": mutation, "seed": s}``: a scripted
  Byzantine aggregator sends (a mutation of) one of its held outgoing messages;
- ``{"byz": "A1", "replay": k, "to": "A2"}``: it re-sends the ``k``-th distinct message
  it ever received to ``A2``.

These are the concrete forms of the model's abstract actions
(:mod:`asfl.model.actions`): :meth:`World.env` is the abstract state the model's
``enabled`` reads, and :meth:`World.concrete` maps an abstract action to its descriptor.
After every action the new trace events go through the monitors (see
:mod:`harness.monitor`; one of them counts the rule IDs each event exercises into
:attr:`World.coverage`); :meth:`World.complete` finishes the run fairly (FIFO by
default, scripted Byzantine nodes fall silent) and checks liveness.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from asfl.harness.byz import ALL_BEHAVIOURS as BYZ_MODES
from asfl.harness.byz import HarnessByzantine
from asfl.harness.monitor import Monitor, Violation, default_monitors
from asfl.impl.config import ProtocolConfig
from asfl.impl.events import CrashEvent, EndEvent
from asfl.impl.learning.data import Task
from asfl.impl.sim.run import RunConfig, build
from asfl.impl.sim.schedulers import Action, ControlledScheduler, Delivery, LocalStep, Timer
from asfl.model import actions as model_actions
from asfl.model.params import Params

Act = dict[str, Any]

# what a saved setup may ask for: small worlds (a schedule replays every step of them)
SETUP_BOUNDS = {
    "n_clients": (1, 1000),
    "n_aggregators": (1, 100),
    "t_a": (0, 100),
    "t_c": (0, 1000),
    "q_min": (1, 1000),
    "lead_bound": (0, 1000),
    "rounds": (1, 100),
    "seed": (0, 2**63 - 1),
}


def _is_int(value: Any, low: int = 0, high: int = 2**63 - 1) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


@dataclass(frozen=True)
class Setup:
    """Everything but the schedule: parameters and faults. JSON-able via :meth:`to_json`."""

    n_clients: int = 12
    n_aggregators: int = 4
    t_a: int = 1
    t_c: int = 1
    q_min: int = 2
    lead_bound: int = 1
    rounds: int = 1
    seed: int = 0
    byzantine: dict[int, str] = field(default_factory=dict)  # aggregator -> mode (harness.byz)
    crash_after: dict[int, int] = field(default_factory=dict)  # client -> local steps first

    def protocol(self) -> ProtocolConfig:
        return ProtocolConfig(
            n_clients=self.n_clients,
            n_aggregators=self.n_aggregators,
            t_a=self.t_a,
            t_c=self.t_c,
            q_min=self.q_min,
            lead_bound=self.lead_bound,
            rounds=self.rounds,
        )

    def params(self) -> Params:
        """The model's parameters of this setup (R-1), for :mod:`asfl.model.actions`."""
        return Params(
            n_a=self.n_aggregators,
            t_a=self.t_a,
            n_c=self.n_clients,
            t_c=self.t_c,
            q_min=self.q_min,
            B=self.lead_bound,
            R=self.rounds,
            byzantine=frozenset(self.byzantine),
        )

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["byzantine"] = {str(k): v for k, v in self.byzantine.items()}
        d["crash_after"] = {str(k): v for k, v in self.crash_after.items()}
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Setup:
        """Parse and check a saved setup; ``ValueError`` naming the first bad field (R-1)."""
        if not isinstance(d, dict) or not set(d) <= {*SETUP_BOUNDS, "byzantine", "crash_after"}:
            raise ValueError(f"setup must be an object with fields {', '.join(SETUP_BOUNDS)}")
        for name, (low, high) in SETUP_BOUNDS.items():
            if name in d and not _is_int(d[name], low, high):
                raise ValueError(f"setup {name} = {d[name]!r} is not an integer in [{low}, {high}]")
        d = dict(d)
        try:
            d["byzantine"] = {int(k): v for k, v in d.get("byzantine", {}).items()}
            d["crash_after"] = {int(k): v for k, v in d.get("crash_after", {}).items()}
        except (AttributeError, TypeError, ValueError):
            raise ValueError("setup byzantine and crash_after map ids to values") from None
        setup = cls(**d)
        if any(not 0 <= j < setup.n_aggregators or m not in BYZ_MODES for j, m in setup.byzantine.items()):
            raise ValueError(f"setup byzantine {d['byzantine']}: ids in range, modes {', '.join(BYZ_MODES)}")
        if any(not 0 <= i < setup.n_clients or not _is_int(n) for i, n in setup.crash_after.items()):
            raise ValueError(f"setup crash_after {d['crash_after']}: client ids in range, counts >= 0")
        setup.protocol().validate()  # ConfigError is a ValueError
        return setup


@lru_cache(maxsize=1)
def tiny_task() -> Task:
    """A 2-feature, 2-class synthetic task: model dimension 6, so steps are fast."""
    rng = np.random.default_rng(0)
    X = rng.random((64, 2))
    y = (X[:, 0] > 0.5).astype(np.int64)
    for a in (X, y):
        a.flags.writeable = False
    return Task(X, y, X, y, 2, 2, "tiny")


class IndexedScheduler(ControlledScheduler):
    """The controlled scheduler, also keeping each (kind, src, dst)'s pending message ids
    in send order, so that a delivery's descriptor (its rank among the pending messages
    of its kind, sender and receiver) costs a bisection, not a scan of everything pending.
    The simulator numbers messages in send order and pushes each delivery as it sends it.

    It also keeps, aligned with the pending list (which is in push order), the node each
    pending action runs at (:func:`node_of`) and how many are pending per node, so that a
    node-priority policy (:class:`~asfl.harness.policies.PCT`) finds the oldest pending
    action of its best node without a Python-level scan of everything pending."""

    def __init__(self, choose: Callable[[Sequence[Action]], int]) -> None:
        super().__init__(choose)
        self.same: dict[tuple[str, str, str], list[int]] = {}
        self.nodes: list[str] = []  # node_of(self._items[k]) for every k
        self.per_node: dict[str, int] = {}  # node -> pending actions (only nodes with some)

    def push(self, action: Action) -> None:
        super().push(action)
        node = node_of(action)
        self.nodes.append(node)
        self.per_node[node] = self.per_node.get(node, 0) + 1
        if isinstance(action, Delivery):
            self.same.setdefault((action.kind, action.src, action.dst), []).append(action.msg)

    def _take(self, k: int) -> Action:
        action = self._items.pop(k)
        node = self.nodes.pop(k)
        left = self.per_node[node] - 1
        if left:
            self.per_node[node] = left
        else:
            del self.per_node[node]
        return action

    def pop(self) -> Action:
        # as ControlledScheduler.pop, without copying the pending list for the chooser
        # (World._pick only reads one position of it)
        k = self._choose(self._items)
        if not 0 <= k < len(self._items):
            raise IndexError(f"scheduler hook chose {k} among {len(self._items)} pending actions")
        action = self._take(k)
        if isinstance(action, Delivery):
            self.same[(action.kind, action.src, action.dst)].remove(action.msg)
        return action

    def discard(self, unwanted: Callable[[Action], bool]) -> None:
        super().discard(unwanted)
        self.same = {}
        self.nodes = [node_of(a) for a in self._items]
        self.per_node = dict(Counter(self.nodes))
        for a in self._items:
            if isinstance(a, Delivery):
                self.same.setdefault((a.kind, a.src, a.dst), []).append(a.msg)

    def cancel_timer(self, client: str, round: int) -> None:
        timer = Timer(client, round)
        if timer in self._items:  # the first equal one, as ControlledScheduler's remove
            self._take(self._items.index(timer))

    def at(self, index: int) -> Action:
        """Pending action ``index`` (without copying the pending list)."""
        return self._items[index]

    def first_of(self, node: str) -> int:
        """The pending position of ``node``'s oldest pending action (it must have one)."""
        return self.nodes.index(node)

    def rank(self, a: Delivery) -> int:
        """How many pending deliveries of ``a``'s kind, sender and receiver precede it."""
        return bisect_left(self.same[(a.kind, a.src, a.dst)], a.msg)


def node_of(action: Action) -> str:
    return action.dst if isinstance(action, Delivery) else action.client


class World:
    """A simulated run driven action by action (see the module docstring)."""

    def __init__(
        self,
        setup: Setup,
        monitors: Sequence[Monitor] | None = None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.setup = setup
        self._next = 0
        self._popped: Action | None = None
        run = RunConfig(setup.protocol(), seed=setup.seed, byzantine=0, crashed=0, ghost=True)
        self.scheduler = IndexedScheduler(self._pick)
        built = build(run, task=tiny_task(), scheduler=self.scheduler)
        self.built, self.sim, self.cfg = built, built.sim, built.cfg
        self.params = setup.params()
        self.byz: dict[str, HarnessByzantine] = {}
        for j, mode in sorted(setup.byzantine.items()):
            name = f"A{j}"
            core = built.aggregators.pop(name)
            self.byz[name] = HarnessByzantine(
                core, mode, seed=setup.seed * 1000 + 7 * j + 1, params=self.params
            )
            self.sim.nodes[name] = self.byz[name]
            self.sim.honest.discard(name)
        self.sim.crash_after = {f"C{i}": k for i, k in setup.crash_after.items()}
        header = self.sim.trace.events[0]
        header["byzantine"] = sorted(setup.byzantine)
        header["behaviour"] = ",".join(sorted(set(setup.byzantine.values()))) or "none"
        header["crashed"] = sorted(setup.crash_after)
        header["scheduler"] = "controlled"
        self.coverage: Counter[str] = Counter()  # rule ID / probe -> times exercised
        self.probe_of: dict[int, str] = {}  # message id -> the probe that sent it
        self.monitors = list(monitors) if monitors is not None else default_monitors(self)
        self.on_event = on_event
        self.actions: list[Act] = []
        self.violations: list[Violation] = []
        self.crashed_by_action: set[str] = set()
        self._fed = 0
        self.finished = False
        self.status = "running"
        self._env: tuple[int, model_actions.Env] | None = None
        self._flights: dict[int, model_actions.Flight] = {}  # message id -> its abstract record
        self.sim.start()
        self._feed()

    def _pick(self, pending: Sequence[Action]) -> int:
        self._popped = pending[self._next]
        return self._next

    # -- observation ---------------------------------------------------------------

    @property
    def events(self) -> list[dict[str, Any]]:
        return self.sim.trace.events

    def pending(self) -> list[Action]:
        return self.sim.scheduler.pending()

    def quiescent(self) -> bool:
        return not len(self.sim.scheduler) and not any(b.outbox for b in self.byz.values())

    def holding(self) -> bool:
        """Some scripted Byzantine aggregator holds a message (cheaper than :meth:`env`)."""
        return any(b.outbox for b in self.byz.values() if b.mode == "scripted")

    def crashed(self) -> set[str]:
        return set(self.sim.crashed)

    def env(self) -> model_actions.Env:
        """The abstract state the model's :func:`~asfl.model.actions.enabled` reads
        (computed once per action)."""
        version = len(self.actions)
        if self._env is not None and self._env[0] == version:
            return self._env[1]
        items = self.pending()
        flights = tuple(self._flight(a) for a in items if isinstance(a, Delivery))
        steppable = tuple(dict.fromkeys(a.client for a in items if isinstance(a, LocalStep)))
        timers = tuple(dict.fromkeys(a.client for a in items if isinstance(a, Timer)))
        crashed = self.sim.crashed
        planned = set(crashed) | set(self.sim.crash_after)  # t_c counts the planned crashes too
        env = model_actions.Env(
            in_flight=flights,
            steppable=steppable,
            alive=tuple(c for c in self.params.client_names if c not in crashed),
            crashed=len(planned),
            held=self.held(),
            received={
                n: tuple(model_actions.Flight(k, src, n, None, None) for k, src in b.inbox_kinds)
                for n, b in self.byz.items()
                if b.mode == "scripted"
            },
            timers=timers,
        )
        self._env = (version, env)
        return env

    def held(self) -> dict[str, tuple[model_actions.Flight, ...]]:
        """``Env.held``: each scripted Byzantine aggregator's held messages (without the
        rest of :meth:`env`, for the guided probes sent after every policy step)."""
        return {
            n: tuple(model_actions.Flight(s.kind, n, s.to, s.round, s.cluster) for s in b.outbox)
            for n, b in self.byz.items()
            if b.mode == "scripted"
        }

    def _flight(self, a: Delivery) -> model_actions.Flight:
        """The abstract record of a pending delivery (made once per message)."""
        f = self._flights.get(a.msg)
        if f is None:
            f = self._flights[a.msg] = model_actions.Flight(a.kind, a.src, a.dst, None, None)
        return f

    def concrete(self, a: model_actions.Action, seed: int = 0) -> Act:
        """The descriptor of abstract action ``a`` (enabled in :meth:`env`)."""
        if isinstance(a, model_actions.Deliver):
            return self.describe(self._delivery_index(a.index))
        if isinstance(a, model_actions.Step):
            return {"step": a.client}
        if isinstance(a, model_actions.Fire):
            return {"timer": a.client}
        if isinstance(a, model_actions.Crash):
            return {"crash": a.client}
        if isinstance(a, model_actions.Replay):
            return {"byz": a.byz, "replay": a.index, "to": a.to}
        outbox = self.byz[a.byz].outbox
        m = outbox[a.index]
        nth = sum(1 for x in outbox[: a.index] if (x.kind, x.to) == (m.kind, m.to))
        return {"byz": a.byz, "out": [m.kind, m.to, nth], "do": a.probe.id, "seed": seed}

    def _delivery_index(self, k: int) -> int:
        """The pending-list position of the ``k``-th pending delivery."""
        seen = 0
        for pos, a in enumerate(self.pending()):
            if isinstance(a, Delivery):
                if seen == k:
                    return pos
                seen += 1
        raise IndexError(k)

    def _feed(self) -> list[Violation]:
        new: list[Violation] = []
        events = self.events
        while self._fed < len(events):
            ev = events[self._fed]
            self._fed += 1
            if ev["kind"] == "send" and ev["msg"] not in self.probe_of:
                b = self.byz.get(ev["node"])
                if b is not None and b.flushed:  # a probe's send that waited for a submission
                    copy, probe = b.flushed.pop(0)
                    self.probe_of[ev["msg"]] = "honest" if copy else probe
            if self.on_event is not None:
                self.on_event(ev)
            for m in self.monitors:
                new += m.feed(ev)
        for m in self.monitors:
            new += m.after_step(self)
        self.violations += new
        return new

    # -- describing and applying actions ------------------------------------------

    def _last_popped(self, k: int) -> Action:
        assert self._popped is not None
        return self._popped

    def describe(self, index: int) -> Act:
        """The content-based descriptor of pending action ``index``."""
        a = self.scheduler.at(index)
        if isinstance(a, LocalStep):
            return {"step": a.client}
        if isinstance(a, Timer):
            return {"timer": a.client}
        return {"deliver": [a.kind, a.src, a.dst, self.scheduler.rank(a)]}

    def _find(self, act: Act) -> int | None:
        items = self.pending()
        if "step" in act or "timer" in act:
            cls, client = (LocalStep, act["step"]) if "step" in act else (Timer, act["timer"])
            for k, a in enumerate(items):
                if isinstance(a, cls) and a.client == client:
                    return k
            return None
        kind, src, dst, nth = act["deliver"]
        seen = 0
        for k, a in enumerate(items):
            if isinstance(a, Delivery) and (a.kind, a.src, a.dst) == (kind, src, dst):
                if seen == nth:
                    return k
                seen += 1
        return None

    def apply(self, act: Act, at: int | None = None) -> list[Violation] | None:
        """Run one action; ``None`` if it does not apply now (skipped), else new violations.
        ``at``: the pending position of a delivery or step, when the caller knows it."""
        if "deliver" in act or "step" in act or "timer" in act:
            k = self._find(act) if at is None else at
            if k is None:
                return None
            self._next = k
            try:
                self.sim.step()
            except Exception as exc:  # noqa: BLE001 - a node must never raise (I-4)
                self.actions.append(act)
                v = Violation("I-4", f"{node_of(self._last_popped(k))} raised {exc!r}", None, "oracle")
                self.violations.append(v)
                return [v]
        elif "crash" in act:
            name = act["crash"]
            if name in self.sim.crashed or name not in self.sim.nodes or name[0] != "C":
                return None
            self.sim.crashed.add(name)
            self.crashed_by_action.add(name)
            assert isinstance(self.sim.scheduler, ControlledScheduler)
            self.sim.scheduler.discard(lambda a: isinstance(a, LocalStep | Timer) and a.client == name)
            self.sim.trace.write(name, CrashEvent())
        elif "byz" in act:
            b = self.byz.get(act["byz"])
            if b is None:
                return None
            if "replay" in act:
                if not b.inbox or act["to"] not in self.sim.nodes:
                    return None
                k = act["replay"] % len(b.inbox)
                b.sent_replays += 1
                self.coverage[f"probe:replay:{b.inbox_kinds[k][0]}"] += 1
                sends = [b.forward(k, act["to"])]
            else:
                kind, to, nth = act["out"]
                matches = [k for k, s in enumerate(b.outbox) if (s.kind, s.to) == (kind, to)]
                if nth >= len(matches):
                    return None
                held = b.take(matches[nth])
                sends = b.crafted(held, act["do"], act.get("seed", 0))
                self.coverage[f"probe:{act['do']}"] += 1  # model_actions.probe_key
                first = self.sim.stats.messages + 1  # the ids the simulator gives these sends
                copy = [s.data for s in sends] == [held.data]  # the core's message alone: honest
                self.probe_of.update(
                    dict.fromkeys(range(first, first + len(sends)), "honest" if copy else act["do"])
                )
            self.sim._emit(b.name, list(sends))
        else:
            raise ValueError(f"unknown action {act!r}")
        self.actions.append(act)
        return self._feed()

    def apply_index(self, index: int) -> list[Violation]:
        """Run pending action ``index`` (recorded by its descriptor)."""
        out = self.apply(self.describe(index), at=index)
        assert out is not None
        return out

    # -- completion ----------------------------------------------------------------

    def complete(
        self, choose: Callable[[World], int] | None = None, max_steps: int = 20_000
    ) -> list[Violation]:
        """Finish fairly: scripted Byzantine nodes fall silent, the rest runs by ``choose``
        (FIFO by default; an armed timer is pending work like any other, so every timer
        fires, D-22, L-2) to quiescence; then liveness (L-1, L-2) is checked."""
        new: list[Violation] = []
        for b in self.byz.values():
            b.outbox.clear()
            if b.mode == "scripted":
                b.mode = "silent"
        steps = 0
        while len(self.sim.scheduler) and steps < max_steps and not self.violations:
            k = choose(self) if choose is not None else 0
            new += self.apply_index(k)
            steps += 1
        if self.violations:  # already failed: no liveness verdict on a broken run
            self.finished = True
            return new
        status = (
            "step_limit" if len(self.sim.scheduler) else ("complete" if self.sim.complete() else "stalled")
        )
        new += self.finish(status)
        return new

    def finish(self, status: str) -> list[Violation]:
        self.status = status
        rounds = {n: node.rounds_done for n, node in self.sim.nodes.items() if n in self.sim.honest}
        detail = (
            "complete"
            if status == "complete"
            else "; ".join(a.diagnose() for a in self.built.aggregators.values() if not a.done)
            or "honest aggregators done; some clients not"
        )
        self.sim.trace.write(None, EndEvent(status, rounds, detail))
        new = self._feed()
        final: list[Violation] = []
        for m in self.monitors:
            final += m.finish(self)
        self.violations += final
        self.finished = True
        return new + final
