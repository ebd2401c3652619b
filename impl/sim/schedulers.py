"""Schedulers: who chooses the next delivery or local step in the simulator.

A scheduler owns the pending actions. The simulator pushes actions as nodes
produce them and pops the next one to run. Every scheduler here is
deterministic given its seed, and every one eventually runs every pending
action (links are reliable, §1), so liveness properties apply to all of them.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Delivery:
    """Deliver message ``msg`` from ``src`` to ``dst``."""

    msg: int
    src: str
    dst: str
    data: bytes
    kind: str


@dataclass(frozen=True)
class LocalStep:
    """Run a local step of client ``client`` (R-4)."""

    client: str


Action = Delivery | LocalStep


@dataclass(order=True)
class _Item:
    key: tuple[float, int]
    action: Action = field(compare=False)


class Scheduler:
    """Base: a priority queue keyed by :meth:`priority`; subclasses choose the key."""

    name = "base"

    def __init__(self) -> None:
        self._heap: list[_Item] = []
        self._counter = 0

    def priority(self, action: Action) -> float:
        raise NotImplementedError

    def push(self, action: Action) -> None:
        self._counter += 1
        heapq.heappush(self._heap, _Item((self.priority(action), self._counter), action))

    def pop(self) -> Action:
        return heapq.heappop(self._heap).action

    def __len__(self) -> int:
        return len(self._heap)

    def pending(self) -> list[Action]:
        return [item.action for item in sorted(self._heap)]


class FifoScheduler(Scheduler):
    """Runs actions in the order they were produced."""

    name = "fifo"

    def priority(self, action: Action) -> float:
        return 0.0


class RandomScheduler(Scheduler):
    """Runs a uniformly random pending action (seeded): every interleaving has positive probability."""

    name = "random"

    def __init__(self, seed: int) -> None:
        super().__init__()
        self._items: list[Action] = []
        self._rng = random.Random(seed)

    def push(self, action: Action) -> None:
        self._items.append(action)

    def pop(self) -> Action:
        k = self._rng.randrange(len(self._items))
        self._items[k], self._items[-1] = self._items[-1], self._items[k]
        return self._items.pop()

    def __len__(self) -> int:
        return len(self._items)

    def pending(self) -> list[Action]:
        return list(self._items)


class TimedScheduler(Scheduler):
    """A virtual clock: lognormal link delays, local steps slowed for slow clients.

    ``slow`` clients compute ``slow_factor`` times slower (heterogeneous speeds).
    Runs the action with the earliest due time.
    """

    name = "timed"

    def __init__(
        self,
        seed: int,
        slow: Sequence[str] = (),
        slow_factor: float = 10.0,
        link_sigma: float = 0.5,
        step_time: float = 2.0,
    ) -> None:
        super().__init__()
        self._rng = random.Random(seed)
        self.slow, self.slow_factor = frozenset(slow), slow_factor
        self.link_sigma, self.step_time = link_sigma, step_time
        self.now = 0.0

    def priority(self, action: Action) -> float:
        if isinstance(action, LocalStep):
            factor = self.slow_factor if action.client in self.slow else 1.0
            return self.now + self.step_time * factor * self._rng.lognormvariate(0.0, 0.2)
        return self.now + self._rng.lognormvariate(0.0, self.link_sigma)

    def pop(self) -> Action:
        item = heapq.heappop(self._heap)
        self.now = item.key[0]
        return item.action


class ControlledScheduler(Scheduler):
    """The test hook: ``choose(pending) -> index`` picks every action."""

    name = "controlled"

    def __init__(self, choose: Callable[[Sequence[Action]], int]) -> None:
        super().__init__()
        self._items: list[Action] = []
        self._choose = choose

    def push(self, action: Action) -> None:
        self._items.append(action)

    def pop(self) -> Action:
        k = self._choose(tuple(self._items))
        if not 0 <= k < len(self._items):
            raise IndexError(f"scheduler hook chose {k} among {len(self._items)} pending actions")
        return self._items.pop(k)

    def __len__(self) -> int:
        return len(self._items)

    def pending(self) -> list[Action]:
        return list(self._items)

    def discard(self, unwanted: Callable[[Action], bool]) -> None:
        """Forget the pending actions ``unwanted`` selects (e.g. a crashed client's local steps)."""
        self._items = [a for a in self._items if not unwanted(a)]


SCHEDULERS = ("random", "fifo", "timed")


def make_scheduler(name: str, seed: int, slow: Sequence[str] = ()) -> Scheduler:
    """Build a named scheduler; ``ValueError`` names the valid ones."""
    if name == "fifo":
        return FifoScheduler()
    if name == "random":
        return RandomScheduler(seed)
    if name == "timed":
        return TimedScheduler(seed, slow=slow)
    raise ValueError(f"unknown scheduler {name!r}; choose from {', '.join(SCHEDULERS)}")
