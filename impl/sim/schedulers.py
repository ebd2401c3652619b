"""Schedulers: who chooses the next delivery, local step or timer firing in the simulator.

A scheduler owns the pending actions. The simulator pushes actions as nodes
produce them and pops the next one to run. Every scheduler here is
deterministic given its seed, and every one eventually runs every pending
action (links are reliable, §1; every armed timer fires, D-22), so liveness
properties apply to all of them.

Timers (D-22). ``random`` and ``fifo`` model an idealised timeout longer than any
delivery: an armed timer is *due* only while no message addressed to its client is in
flight, nor a ``fetch`` it sent (a timeout longer than a fetch's round trip), and only a
due timer may fire. ``timed`` fires a timer ``fetch_timeout`` units of
virtual time after it was armed. A timer is pending work: a run is quiescent only when
no timer is armed either (R-16). A timer the client cancelled (``CancelTimer``: its round
got a body, so a firing would do nothing) is forgotten by every scheduler and never fires.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
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
    round: int | None = None  # the send's round (the per-client byte count reads it)


@dataclass(frozen=True)
class LocalStep:
    """Run a local step of client ``client`` (R-4)."""

    client: str


@dataclass(frozen=True)
class Timer:
    """Fire client ``client``'s fetch timer of round ``round`` (D-22)."""

    client: str
    round: int


Action = Delivery | LocalStep | Timer

DEFAULT_FETCH_TIMEOUT = 10.0
"""``timed``'s fetch timeout in virtual time: ten times the median link delay (1.0), so a
timely pusher's body nearly always arrives first (D-22)."""


@dataclass(order=True)
class _Item:
    key: tuple[float, int]
    action: Action = field(compare=False)
    cancelled: bool = field(default=False, compare=False)  # a cancelled timer, skipped by pop


class Scheduler:
    """Base: a priority queue keyed by :meth:`priority`; subclasses choose the key. A
    cancelled timer stays in the heap, marked, until it reaches the top (lazy deletion)."""

    name = "base"

    def __init__(self) -> None:
        self._heap: list[_Item] = []
        self._counter = 0
        self._armed: dict[tuple[str, int], _Item] = {}  # armed timers by (client, round)
        self._cancelled = 0  # marked items still in the heap

    def priority(self, action: Action) -> float:
        raise NotImplementedError

    def push(self, action: Action) -> None:
        self._counter += 1
        item = _Item((self.priority(action), self._counter), action)
        if isinstance(action, Timer):
            self._armed[(action.client, action.round)] = item
        heapq.heappush(self._heap, item)

    def pop(self) -> Action:
        return self._pop().action

    def _pop(self) -> _Item:
        """The first item that is not a cancelled timer."""
        item = heapq.heappop(self._heap)
        while item.cancelled:
            self._cancelled -= 1
            item = heapq.heappop(self._heap)
        if isinstance(item.action, Timer):
            key = (item.action.client, item.action.round)
            if self._armed.get(key) is item:
                del self._armed[key]
        return item

    def __len__(self) -> int:
        return len(self._heap) - self._cancelled

    def pending(self) -> list[Action]:
        return [item.action for item in sorted(self._heap) if not item.cancelled]

    def cancel_timer(self, client: str, round: int) -> None:
        """Forget ``client``'s armed timer of ``round`` (``CancelTimer``, D-22), if held."""
        item = self._armed.pop((client, round), None)
        if item is not None:
            item.cancelled = True
            self._cancelled += 1

    def drop_timers(self, client: str) -> None:
        """Forget ``client``'s armed timers (it crashed)."""
        self._heap = [i for i in self._heap if not i.cancelled and not _timer_of(i.action, client)]
        heapq.heapify(self._heap)
        self._cancelled = 0
        self._armed = {k: i for k, i in self._armed.items() if k[0] != client}


def _timer_of(action: Action, client: str) -> bool:
    return isinstance(action, Timer) and action.client == client


class _Gated:
    """The timers of ``fifo`` and ``random``: armed timers keyed by arming order, and the
    messages in flight per receiver; a client's timers are due only while none is (see the
    module docstring). Clients with a due timer are kept in an indexable set."""

    def __init__(self) -> None:
        self.armed: dict[str, list[tuple[int, Timer]]] = {}  # client -> (order, timer), oldest first
        self.in_flight: dict[str, int] = {}
        self.due: list[str] = []  # clients with an armed timer and nothing in flight to them
        self._pos: dict[str, int] = {}
        self.count = 0

    def _set_due(self, client: str, due: bool) -> None:
        if due and client not in self._pos:
            self._pos[client] = len(self.due)
            self.due.append(client)
        elif not due and client in self._pos:
            k = self._pos.pop(client)
            last = self.due.pop()
            if last != client:
                self.due[k], self._pos[last] = last, k

    def arm(self, order: int, timer: Timer) -> None:
        self.armed.setdefault(timer.client, []).append((order, timer))
        self.count += 1
        self._set_due(timer.client, not self.in_flight.get(timer.client))

    @staticmethod
    def _parties(d: Delivery) -> tuple[str, ...]:
        """The clients whose timers ``d`` holds back: its receiver, and a fetch's sender."""
        return (d.dst, d.src) if d.kind == "fetch" else (d.dst,)

    def sent(self, d: Delivery) -> None:
        for c in self._parties(d):
            self.in_flight[c] = self.in_flight.get(c, 0) + 1
            self._set_due(c, False)

    def delivered(self, d: Delivery) -> None:
        for c in self._parties(d):
            left = self.in_flight[c] - 1
            if left:
                self.in_flight[c] = left
            else:
                del self.in_flight[c]
                self._set_due(c, c in self.armed)

    def oldest_due(self) -> tuple[int, str] | None:
        """The arming order and client of the oldest due timer."""
        if not self.due:
            return None
        return min((self.armed[c][0][0], c) for c in self.due)

    def fire(self, client: str) -> Timer:
        """Take ``client``'s oldest armed timer (it must be due)."""
        queue = self.armed[client]
        _, timer = queue.pop(0)
        self.count -= 1
        if not queue:
            del self.armed[client]
            self._set_due(client, False)
        return timer

    def drop(self, client: str) -> None:
        self.count -= len(self.armed.pop(client, []))
        self._set_due(client, False)

    def cancel(self, client: str, round: int) -> None:
        """Forget ``client``'s armed timer of ``round``, if armed (``CancelTimer``)."""
        queue = self.armed.get(client, [])
        kept = [x for x in queue if x[1].round != round]
        if len(kept) == len(queue):
            return
        self.count -= len(queue) - len(kept)
        if kept:
            self.armed[client] = kept
        else:
            del self.armed[client]
            self._set_due(client, False)

    def pending(self) -> list[Action]:
        return [t for _, t in sorted(x for q in self.armed.values() for x in q)]


class _GatedScheduler(Scheduler):
    """``fifo`` and ``random``: a queue of deliveries and local steps chosen by the
    subclass, and the timers of :class:`_Gated` (module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._timers = _Gated()

    def push(self, action: Action) -> None:
        self._counter += 1
        if isinstance(action, Timer):
            self._timers.arm(self._counter, action)
            return
        if isinstance(action, Delivery):
            self._timers.sent(action)
        self._put(self._counter, action)

    def pop(self) -> Action:
        action = self._next()
        if isinstance(action, Delivery):
            self._timers.delivered(action)
        return action

    def _put(self, order: int, action: Action) -> None:
        raise NotImplementedError

    def _next(self) -> Action:
        """Take the next action: a due timer (fired) or a queued one."""
        raise NotImplementedError

    def _queued(self) -> list[Action]:
        raise NotImplementedError

    def pending(self) -> list[Action]:
        return self._queued() + self._timers.pending()

    def drop_timers(self, client: str) -> None:
        self._timers.drop(client)

    def cancel_timer(self, client: str, round: int) -> None:
        self._timers.cancel(client, round)


class FifoScheduler(_GatedScheduler):
    """Runs actions in the order they were produced; a timer once it is due (module docstring)."""

    name = "fifo"

    def __init__(self) -> None:
        super().__init__()
        self._queue: deque[tuple[int, Action]] = deque()

    def _put(self, order: int, action: Action) -> None:
        self._queue.append((order, action))

    def _next(self) -> Action:
        due = self._timers.oldest_due()
        if due is not None and (not self._queue or due[0] < self._queue[0][0]):
            return self._timers.fire(due[1])
        return self._queue.popleft()[1]

    def _queued(self) -> list[Action]:
        return [a for _, a in self._queue]

    def __len__(self) -> int:
        return len(self._queue) + self._timers.count


class RandomScheduler(_GatedScheduler):
    """Runs a uniformly random pending action (seeded): every interleaving has positive
    probability. Each client with a due timer counts as one candidate (module docstring)."""

    name = "random"

    def __init__(self, seed: int) -> None:
        super().__init__()
        self._items: list[Action] = []
        self._rng = random.Random(seed)

    def _put(self, order: int, action: Action) -> None:
        self._items.append(action)

    def _next(self) -> Action:
        due = self._timers.due
        k = self._rng.randrange(len(self._items) + len(due))
        if k >= len(self._items):
            return self._timers.fire(due[k - len(self._items)])
        self._items[k], self._items[-1] = self._items[-1], self._items[k]
        return self._items.pop()

    def _queued(self) -> list[Action]:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items) + self._timers.count


class TimedScheduler(Scheduler):
    """A virtual clock: lognormal link delays, local steps slowed for slow clients, a
    fetch timer fired ``fetch_timeout`` after it was armed (D-22).

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
        fetch_timeout: float = DEFAULT_FETCH_TIMEOUT,
    ) -> None:
        super().__init__()
        self._rng = random.Random(seed)
        self.slow, self.slow_factor = frozenset(slow), slow_factor
        self.link_sigma, self.step_time = link_sigma, step_time
        self.fetch_timeout = fetch_timeout
        self.now = 0.0

    def priority(self, action: Action) -> float:
        if isinstance(action, Timer):
            return self.now + self.fetch_timeout
        if isinstance(action, LocalStep):
            factor = self.slow_factor if action.client in self.slow else 1.0
            return self.now + self.step_time * factor * self._rng.lognormvariate(0.0, 0.2)
        return self.now + self._rng.lognormvariate(0.0, self.link_sigma)

    def pop(self) -> Action:
        item = self._pop()
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

    def drop_timers(self, client: str) -> None:
        self.discard(lambda a: _timer_of(a, client))

    def cancel_timer(self, client: str, round: int) -> None:
        timer = Timer(client, round)
        if timer in self._items:
            self._items.remove(timer)


SCHEDULERS = ("random", "fifo", "timed")


def make_scheduler(
    name: str, seed: int, slow: Sequence[str] = (), fetch_timeout: float = DEFAULT_FETCH_TIMEOUT
) -> Scheduler:
    """Build a named scheduler; ``ValueError`` names the valid ones. ``fetch_timeout`` is
    ``timed``'s (the others gate timers on in-flight messages, see the module docstring)."""
    if name == "fifo":
        return FifoScheduler()
    if name == "random":
        return RandomScheduler(seed)
    if name == "timed":
        return TimedScheduler(seed, slow=slow, fetch_timeout=fetch_timeout)
    raise ValueError(f"unknown scheduler {name!r}; choose from {', '.join(SCHEDULERS)}")
