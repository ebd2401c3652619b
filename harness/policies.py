"""Schedule policies: who goes next among the pending actions of a :class:`World`.

Every policy is deterministic given its parameters (which Hypothesis draws) and fair in
the sense the liveness properties need: an action is only postponed while something
else can run, and a finite run eventually quiesces, so every pending action runs.

- :class:`Fifo`: oldest first (the fair completion of every schedule);
- :class:`UniformRandom`: a uniformly random pending action (seeded);
- :class:`PCT`: probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010):
  a random priority permutation over the nodes plus ``d - 1`` change points; the
  highest-priority node with a pending action runs its oldest one, and at change point
  ``k_i`` the node that just ran drops to priority ``d - i`` (below every initial one);
- :class:`Targeted`: the protocol's dangerous windows -- a proposal reaching half of
  the aggregators long before the other half, a starved coordinator, a slow client
  that is always late -- as sets of *delayed* actions that run only when nothing else
  can, on top of a seeded random order;
- :class:`Slowed`: another policy's choices, with some clients' local steps run only
  when nothing else can (the coverage-guided campaign's lagging clients).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from asfl.impl.sim.schedulers import Action, Delivery

if TYPE_CHECKING:  # pragma: no cover
    from asfl.harness.world import World


def _node(a: Action) -> str:
    return a.dst if isinstance(a, Delivery) else a.client


class Policy:
    name = "policy"

    def choose(self, world: World) -> int:
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        return {"policy": self.name}


class Fifo(Policy):
    name = "fifo"

    def choose(self, world: World) -> int:
        return 0


@dataclass
class UniformRandom(Policy):
    seed: int = 0
    name = "random"

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def choose(self, world: World) -> int:
        return self._rng.randrange(len(world.sim.scheduler))

    def to_json(self) -> dict[str, Any]:
        return {"policy": self.name, "seed": self.seed}


@dataclass
class PCT(Policy):
    """``order``: node names, highest priority first; ``change_points``: step numbers."""

    order: Sequence[str]
    change_points: Sequence[int] = ()
    name = "pct"
    _prio: dict[str, int] = field(default_factory=dict, init=False, repr=False)
    _step: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        d = len(self.change_points) + 1
        n = len(self.order)
        self._prio = {node: d + n - k for k, node in enumerate(self.order)}
        self._changes = {k: i for i, k in enumerate(sorted(self.change_points), start=1)}

    def choose(self, world: World) -> int:
        """The first pending action whose node has the highest priority. Two nodes never
        share a positive priority (the initial ones are distinct, each change point sets a
        distinct one below them), so that is the oldest pending action of the best node
        with something pending, and when every pending node has priority 0 (unlisted) it
        is the first pending action (:meth:`reference_choice` is the plain scan)."""
        sched = world.scheduler
        prio = self._prio
        pending = sched.per_node
        best = 0
        if pending:
            node = max(pending, key=lambda n: prio.get(n, 0))
            if prio.get(node, 0) > 0:
                best = sched.first_of(node)
        self._step += 1
        i = self._changes.get(self._step)
        if i is not None:
            self._prio[_node(sched.at(best))] = len(self.change_points) + 1 - i
        return best

    def reference_choice(self, items: Sequence[Action]) -> int:
        """:meth:`choose`'s index by a scan of ``items`` (without advancing the step)."""
        best, best_p = 0, None
        for k, a in enumerate(items):
            p = self._prio.get(_node(a), 0)
            if best_p is None or p > best_p:
                best, best_p = k, p
        return best

    def to_json(self) -> dict[str, Any]:
        return {"policy": self.name, "order": list(self.order), "change_points": list(self.change_points)}


@dataclass
class Targeted(Policy):
    """Delay the actions matching ``windows`` until nothing else can run.

    Windows: ``["split", c, [j, ...]]`` -- coordinator ``c``'s proposals to aggregators
    ``j`` (half of them) are delayed; ``["starve", c]`` -- every delivery to coordinator
    ``A<c>`` is delayed; ``["slow", i]`` -- client ``i``'s local steps are delayed.
    """

    windows: Sequence[Sequence[Any]]
    seed: int = 0
    name = "targeted"

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._split = {(f"A{w[1]}", f"A{j}") for w in self.windows if w[0] == "split" for j in w[2]}
        self._starved = {f"A{w[1]}" for w in self.windows if w[0] == "starve"}
        self._slow = {f"C{w[1]}" for w in self.windows if w[0] == "slow"}

    def delayed(self, a: Action) -> bool:
        if isinstance(a, Delivery):
            return a.dst in self._starved or (a.kind == "propose" and (a.src, a.dst) in self._split)
        return a.client in self._slow

    def choose(self, world: World) -> int:
        """A uniformly random ready action: rejection sampling (a few draws, as the delayed
        actions are few), then a scan of the ready ones if the draws all hit delayed ones."""
        at, n = world.scheduler.at, len(world.scheduler)  # no copy of the pending list
        for _ in range(4):
            k = self._rng.randrange(n)
            if not self.delayed(at(k)):
                return k
        items = world.pending()
        starved, split, slow = self._starved, self._split, self._slow  # delayed(), inlined
        ready = [
            k
            for k, a in enumerate(items)
            if not (
                (a.dst in starved or (a.kind == "propose" and (a.src, a.dst) in split))
                if isinstance(a, Delivery)
                else a.client in slow
            )
        ]
        if not ready:
            return 0
        return ready[self._rng.randrange(len(ready))]

    def to_json(self) -> dict[str, Any]:
        return {"policy": self.name, "windows": [list(w) for w in self.windows], "seed": self.seed}


@dataclass
class Slowed(Policy):
    """``inner``'s choices, except that the local steps and timers of the ``slow`` clients
    run only when nothing else can (as in a :class:`Targeted` ``slow`` window): when the
    inner choice is one of them, the next pending action (cyclically) that is not runs
    instead. Deliveries to the slow clients are not delayed: they accept the models of
    later rounds while their step waits (D-13), and their low counts make them the
    eligible members a coordinator must top up around (R-6, D-7)."""

    inner: Policy
    slow: frozenset[str]
    name = "slowed"

    def delayed(self, a: Action) -> bool:
        return not isinstance(a, Delivery) and a.client in self.slow

    def choose(self, world: World) -> int:
        k = self.inner.choose(world)
        at, n = world.scheduler.at, len(world.scheduler)
        for i in range(n):
            if not self.delayed(at((k + i) % n)):
                return (k + i) % n
        return k

    def to_json(self) -> dict[str, Any]:
        return {"policy": self.name, "inner": self.inner.to_json(), "slow": sorted(self.slow)}


def from_json(d: dict[str, Any]) -> Policy:
    kind = d["policy"]
    if kind == "fifo":
        return Fifo()
    if kind == "random":
        return UniformRandom(d["seed"])
    if kind == "pct":
        return PCT(d["order"], d["change_points"])
    if kind == "targeted":
        return Targeted(d["windows"], d["seed"])
    if kind == "slowed":
        return Slowed(from_json(d["inner"]), frozenset(d["slow"]))
    raise ValueError(f"unknown policy {kind!r}")
