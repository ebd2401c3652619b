"""Hypothesis campaigns against the implementation.

Two kinds of search, both ending in a readable :class:`~harness.schedule.Schedule`:

- the **stateful machine** (:func:`machine_class`): a ``RuleBasedStateMachine`` whose
  rules are the actions the model enables in the run's abstract state
  (:mod:`asfl.model.actions`, :meth:`World.env`): deliver a message in flight, run a
  client step, crash a client (up to ``t_c``), make a scripted Byzantine aggregator send
  a held message as one probe of the model's menu or replay an envelope it received, or
  let a drawn background policy (random, PCT or targeted) run for a while, scripted
  Byzantine aggregators sending every held message as the probe whose coverage item the
  campaign (its earlier examples and this one) has fired least (P / Coyote style
  prioritisation, :class:`harness.coverage.ProbeGuide`), or honestly where no honest
  guard can refuse it or an insider needs it to be attested (``t_a`` honest offers per
  round, the rest probed: R-17, R-14, then R-15). Every step
  is checked online by the monitors (the model-based checker among them); teardown keeps
  running the policy with probing to quiescence, completes fairly and checks liveness;
- **whole-run strategies** (:func:`whole_run_test`): Hypothesis draws a setup and a
  policy (``random``, ``pct`` or ``targeted``) and the whole run follows the policy.
  Their draws shrink to a few numbers while the realised schedule stays long, so failing
  schedules are shrunk in a second stage (:func:`harness.schedule.shrink`).

Setups: :func:`setups` (small, 1 or 2 rounds: the zoo's hunts) and :func:`deep_setups`
(configurations that exercise every rule: ``asfl fuzz`` and the coverage test).
:func:`run_campaign` runs one search for a time budget and reports time and examples to
the first failure, the shrunk counterexample and the coverage per rule ID
(:mod:`harness.coverage`).
"""

from __future__ import annotations

import gc
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hseed
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    get_state_machine_test,
    initialize,
    precondition,
    rule,
)

from asfl.harness.byz import BEHAVIOURS
from asfl.harness.coverage import ProbeGuide
from asfl.harness.monitor import Violation
from asfl.harness.policies import PCT, Fifo, Policy, Slowed, Targeted, UniformRandom
from asfl.harness.schedule import Schedule, length, orders, shrink
from asfl.harness.world import Setup, World
from asfl.model import actions

BASE = Setup()
FAMILIES = ("random", "pct", "targeted")
STRATEGIES = ("stateful", *FAMILIES)


class BudgetExhausted(BaseException):  # noqa: N818 - not an error: a BaseException so that
    """Raised inside a test once the campaign's budget is spent; Hypothesis does not treat a
    non-``Exception`` as a failure to shrink, so the search stops at once."""


class PropertyViolation(AssertionError):
    def __init__(self, violations: list[Violation]) -> None:
        super().__init__("\n".join(str(v) for v in violations))
        self.violations = violations


@dataclass
class Recorder:
    """What a campaign saw: examples, the first failure's time, the last failing schedule."""

    started: float = field(default_factory=time.monotonic)
    examples: int = 0
    first_time: float | None = None
    first_examples: int | None = None
    last: Schedule | None = None
    violation: Violation | None = None
    deadline: float | None = None
    steps: int = 0
    coverage: Counter[str] = field(default_factory=Counter)  # rule ID / probe -> times
    #: the coverage of the examples before the current one (what guides it: ProbeGuide,
    #: :func:`guided`), frozen at the first failure: Hypothesis's replays of the failing
    #: example while it shrinks see the prior that example saw, so they behave as it did
    prior: dict[str, int] = field(default_factory=dict)
    restarts: int = 0  # Hypothesis searches started again after a flaky replay (run_searches)

    shrink_budget: float = 15.0  # seconds of Hypothesis shrinking after the first failure

    def expired(self) -> bool:
        """Past the search budget with nothing found, or past the shrinking budget."""
        now = time.monotonic()
        if self.first_time is None:
            return self.deadline is not None and now > self.deadline
        return now > self.started + self.first_time + self.shrink_budget

    def failed(self, world: World, found_by: str) -> None:
        if self.first_time is None:
            self.first_time = time.monotonic() - self.started
            self.first_examples = self.examples
        v = world.violations[0]
        self.violation = v
        self.last = Schedule(world.setup, list(world.actions), found_by=found_by, violation=v.to_json())


# -- strategies ------------------------------------------------------------------------


@st.composite
def setups(
    draw: Any, rounds: tuple[int, ...] = (1, 2), modes: tuple[str, ...] | None = None, crashes: bool = True
) -> Setup:
    """Small valid configurations with at most ``t_a`` Byzantine aggregators and ``t_c`` crashes."""
    modes = modes if modes is not None else tuple(m for m in BEHAVIOURS if m != "scripted")
    r = draw(st.sampled_from(rounds))
    # Always one Byzantine aggregator (t_a = 1); "honest" first, so it is what shrinks best.
    modes = ("honest", *(m for m in modes if m != "honest"))
    mode = draw(st.sampled_from(modes))
    byz = {draw(st.integers(0, BASE.n_aggregators - 1)): mode}
    crash = (
        draw(st.one_of(st.none(), st.tuples(st.integers(0, BASE.n_clients - 1), st.integers(0, r))))
        if crashes
        else None
    )
    return Setup(
        rounds=r,
        seed=draw(st.integers(0, 3)),
        byzantine=byz,
        lead_bound=draw(st.sampled_from((1, 0))),
        crash_after={} if crash is None else {crash[0]: crash[1]},
    )


#: the deep campaign's shapes (n_aggregators, t_a, n_clients): clusters of 4 or 5 clients
#: with t_a = 1, and clusters of 3 with t_a = 2 (two Byzantine aggregators, D-4 with two
#: wrong share sums)
SHAPES = ((4, 1, 16), (4, 1, 20), (7, 2, 21))
DEEP_STEPS = 100  # rules per example of the deep campaign (then the fair completion)
COMPLETION_STEPS = 20_000  # teardown: policy steps with probing before the fair completion


@st.composite
def deep_setups(draw: Any, rounds: tuple[int, ...] = (3, 4)) -> Setup:
    """Configurations that exercise every rule: at least 3 rounds, clusters large enough
    that R-6's floor, eligibility, deferral and top-up all happen (``B`` in {0, 1},
    ``q_min`` up to ``k_min - t_c``), up to ``t_a`` Byzantine aggregators each with a
    drawn behaviour (``scripted``: every message chosen by the probe rules). Crashes come
    from the machine's crash rule, at any point (or, for whole runs, after a drawn number
    of local steps)."""
    n_a, t_a, n_c = draw(st.sampled_from(SHAPES))
    k_min = n_c // n_a
    t_c = draw(st.integers(1, min(2, k_min - 2)))
    # "scripted" (the probe rules choose every message) as often as all automatic modes
    mode = st.one_of(st.just("scripted"), st.sampled_from(BEHAVIOURS))
    modes = [draw(mode) for _ in range(draw(st.sampled_from((t_a, *range(t_a + 1)))))]
    byz_ids = draw(st.permutations(range(n_a)))[: len(modes)]
    crash = draw(st.lists(st.tuples(st.integers(0, n_c - 1), st.integers(0, 4)), max_size=t_c))
    return Setup(
        n_clients=n_c,
        n_aggregators=n_a,
        t_a=t_a,
        t_c=t_c,
        q_min=draw(st.integers(2, k_min - t_c)),
        lead_bound=draw(st.sampled_from((0, 1))),
        rounds=draw(st.sampled_from(rounds)),
        seed=draw(st.integers(0, 3)),
        byzantine=dict(zip(byz_ids, modes, strict=True)),
        crash_after=dict(crash),
    )


#: rule branches only a lagging client fires: a client that accepts a later round's model
#: while its step waits (D-13), a floor held down by ``t_c + 1`` lagging members, so that
#: the others run ahead of it (R-6.deferral) and too few eligible members are held
#: (R-6.top-up)
LAGGING = ("D-13", "R-6.deferral", "R-6.top-up")
LAG_ROUND = 3  # the round whose cluster the lagging clients share (deep setups have 3+)


def guided(policy: Policy, world: World, prior: Mapping[str, int], example: int) -> Policy:
    """The background policy of a campaign's example (coverage guidance for the schedule):
    ``policy`` itself once the campaign's earlier examples (``prior``) fired every
    :data:`LAGGING` branch; until then :class:`Slowed` around it, the lagging clients
    ``t_c + 1`` members of one cluster of round :data:`LAG_ROUND` (which one rotates with
    the example): before it they are left out as late (their counts stay low), in it they
    hold the floor down while the others' counts run ahead."""
    if all(prior.get(r, 0) for r in LAGGING):
        return policy
    s = world.setup
    members = sorted(world.cfg.clusters(min(LAG_ROUND, s.rounds))[example % s.n_aggregators])
    return Slowed(policy, frozenset(f"C{i}" for i in members[: s.t_c + 1]))


def nodes_of(setup: Setup) -> list[str]:
    return [f"A{j}" for j in range(setup.n_aggregators)] + [f"C{i}" for i in range(setup.n_clients)]


@st.composite
def policies(draw: Any, setup: Setup, family: str, offset: int = 0) -> Policy:
    """A drawn ``family`` policy over ``setup``. ``offset`` is added to a random or
    targeted policy's own seed: Hypothesis's first draw is 0 under every Hypothesis
    seed, so a campaign seeded ``k`` passes ``offset = k`` for its first schedule to
    differ too (0 keeps the draws of every caller that passes none)."""
    if family == "random":
        return UniformRandom((draw(st.integers(0, 2**32 - 1)) + offset) % 2**32)
    if family == "pct":
        order = draw(st.permutations(nodes_of(setup)))
        d = draw(st.integers(1, 3))
        horizon = 250 * setup.rounds
        return PCT(order, draw(st.lists(st.integers(1, horizon), min_size=d - 1, max_size=d - 1)))
    if family == "targeted":
        n_a, n_c = setup.n_aggregators, setup.n_clients
        window = st.one_of(
            st.tuples(
                st.just("split"),
                st.integers(0, n_a - 1),
                st.lists(st.integers(0, n_a - 1), min_size=n_a // 2, max_size=n_a // 2, unique=True),
            ),
            st.tuples(st.just("starve"), st.integers(0, n_a - 1)),
            st.tuples(st.just("slow"), st.integers(0, n_c - 1)),
        )
        windows = draw(st.lists(window, min_size=1, max_size=2))
        return Targeted([list(w) for w in windows], (draw(st.integers(0, 2**32 - 1)) + offset) % 2**32)
    if family == "fifo":
        return Fifo()
    if family == "ordered":  # zoo hook (issue 9): FIFO reordered by one drawn rule
        return draw(orders(setup))  # type: ignore[no-any-return]
    raise ValueError(f"unknown policy family {family!r}")


# -- whole-run search ------------------------------------------------------------------


def run_whole(setup: Setup, policy: Policy) -> World:
    world = World(setup)
    world.complete(policy.choose)
    return world


def whole_run_test(
    family: str, recorder: Recorder, setup_strategy: Any = None, policy_offset: int = 0
) -> Callable[..., None]:
    """A Hypothesis test function: draw a setup and a ``family`` policy (its seed offset
    by ``policy_offset``, :func:`policies`), run, check."""
    setup_strategy = setup_strategy if setup_strategy is not None else setups()

    @given(data=st.data())
    def test(data: Any) -> None:
        if recorder.expired():
            raise BudgetExhausted
        setup = data.draw(setup_strategy, label="setup")
        policy = data.draw(policies(setup, family, policy_offset), label="policy")
        recorder.examples += 1
        world = run_whole(setup, policy)
        recorder.steps += len(world.actions)
        recorder.coverage.update(world.coverage)
        if world.violations and not recorder.expired():
            recorder.failed(world, family)
            raise PropertyViolation(world.violations)

    return test


# -- the stateful machine --------------------------------------------------------------


def machine_class(
    recorder: Recorder,
    families: tuple[str, ...] = FAMILIES,
    setup_strategy: Any = None,
    policy_offset: int = 0,
) -> type[RuleBasedStateMachine]:
    """A ``RuleBasedStateMachine`` over :class:`World` whose rules are the actions the
    model enables (:mod:`asfl.model.actions`) in the world's abstract state
    (:meth:`World.env`): deliver, step, crash, a Byzantine probe, a replay; plus
    ``advance`` (a drawn background policy runs a while, among the same deliveries and
    steps). Every step is judged online by the monitors; teardown completes fairly."""
    modes = tuple(BEHAVIOURS)  # "scripted" included: rules then choose Byzantine actions
    setup_strategy = setup_strategy if setup_strategy is not None else setups(modes=modes, crashes=False)

    class ProtocolMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.world: World | None = None
            self.policy: Policy = Fifo()
            self.guide: ProbeGuide | None = None

        @initialize(data=st.data())
        def start(self, data: Any) -> None:
            setup = data.draw(setup_strategy, label="setup")
            family = data.draw(st.sampled_from(families), label="family")
            self.policy = data.draw(policies(setup, family, policy_offset), label="policy")
            if recorder.expired():
                raise BudgetExhausted
            recorder.examples += 1
            self.world = World(setup)
            if recorder.first_time is None:
                recorder.prior = dict(recorder.coverage)
            self.guide = ProbeGuide.of(self.world.params, recorder.prior)
            self.policy = guided(self.policy, self.world, recorder.prior, recorder.examples)

        @property
        def received(self) -> dict[str, list[tuple[str, str]]]:
            """Each scripted Byzantine aggregator's received (kind, signer) pairs."""
            return {n: b.inbox_kinds for n, b in self.w.byz.items() if b.mode == "scripted"}

        @property
        def w(self) -> World:
            """The world; every rule runs after ``start`` (its precondition says so)."""
            assert self.world is not None
            return self.world

        def _env(self) -> actions.Env | None:
            return None if self.world is None else self.world.env()

        def _do(self, a: actions.Action, seed: int = 0) -> None:
            self.w.apply(self.w.concrete(a, seed))
            self._check()

        def _check(self) -> None:
            w = self.w
            if w.violations and not recorder.expired():
                recorder.failed(w, "stateful")
                raise PropertyViolation(w.violations)

        @precondition(lambda self: (e := self._env()) is not None and bool(e.in_flight))
        @rule(k=st.integers(0, 2**16))
        def deliver(self, k: int) -> None:
            ds = actions.deliveries(self.w.env())
            self._do(ds[k % len(ds)])

        @precondition(lambda self: (e := self._env()) is not None and bool(e.steppable))
        @rule(k=st.integers(0, 2**16))
        def client_step(self, k: int) -> None:
            ss = actions.steps(self.w.env())
            self._do(ss[k % len(ss)])

        @precondition(lambda self: (e := self._env()) is not None and bool(e.timers))
        @rule(k=st.integers(0, 2**16))
        def fire_timer(self, k: int) -> None:
            fs = actions.fires(self.w.env())
            self._do(fs[k % len(fs)])

        @precondition(
            lambda self: (
                (e := self._env()) is not None
                and bool(actions.crashes(self.w.params, e))
                and not self.w.quiescent()
            )
        )
        @rule(k=st.integers(0, 2**16))
        def crash(self, k: int) -> None:
            cs = actions.crashes(self.w.params, self.w.env())
            self._do(cs[k % len(cs)])

        @precondition(lambda self: (e := self._env()) is not None and any(e.held.values()))
        @rule(k=st.integers(0, 2**16), q=st.integers(0, 2**16), s=st.integers(0, 2**16))
        def byz_probe(self, k: int, q: int, s: int) -> None:
            """A Byzantine aggregator sends its ``k``-th held message as the ``q``-th probe
            the model enables for it (seed ``s``)."""
            self._do(actions.probe_choice(self.w.params, self.w.env(), k, q), s)

        @precondition(lambda self: (e := self._env()) is not None and any(e.received.values()))
        @rule(k=st.integers(0, 2**16), to=st.integers(0, 2**16))
        def byz_replay(self, k: int, to: int) -> None:
            self._do(actions.replay_choice(self.w.params, self.w.env(), k, to))

        @precondition(lambda self: self.world is not None and len(self.w.sim.scheduler) > 0)
        @rule(n=st.integers(1, 60))
        def advance(self, n: int) -> None:
            """The background policy runs ``n`` deliveries and steps (see :meth:`_run`)."""
            self._run(n)
            self._check()

        def _run(self, n: int) -> None:
            """Up to ``n`` policy choices; after each, every message a scripted Byzantine
            aggregator holds goes out as the probe whose coverage item the campaign has
            fired least, and one envelope of a kind the campaign never replayed is
            replayed (:class:`asfl.harness.coverage.ProbeGuide`)."""
            w, guide = self.w, self.guide
            assert guide is not None
            received = self.received  # the inboxes' own lists: they grow in place as w runs
            for _ in range(n):
                if not len(w.sim.scheduler) or w.violations:
                    break
                w.apply_index(self.policy.choose(w))
                while not w.violations and w.holding():
                    turn = len(w.actions)
                    w.apply(w.concrete(guide.choose(w.held(), turn), turn))
                replay = guide.replay(received, len(w.actions))
                if replay is not None and not w.violations:
                    w.apply(w.concrete(replay))

        @precondition(lambda self: self.world is None or self.w.quiescent())
        @rule()
        def idle(self) -> None:
            """Nothing can happen any more: keeps Hypothesis from 'no progress' errors."""

        def teardown(self) -> None:
            w = self.world
            if w is None:
                return
            if not (w.finished or w.violations or recorder.expired()):
                self._run(COMPLETION_STEPS)  # the Byzantine aggregators keep probing
                if not w.violations:
                    w.complete(self.policy.choose)
            recorder.steps += len(w.actions)
            recorder.coverage.update(w.coverage)
            self._check()

    return ProtocolMachine


# -- campaigns -------------------------------------------------------------------------


@dataclass
class CampaignResult:
    strategy: str
    found: bool
    seconds: float
    examples: int
    time_to_first: float | None
    examples_to_first: int | None
    violation: Violation | None
    schedule: Schedule | None  # after Hypothesis's shrinking and the second stage
    raw_length: int | None
    shrunk_length: int | None
    steps: int
    coverage: dict[str, int] = field(default_factory=dict)  # rule ID / probe -> times
    restarts: int = 0  # new Hypothesis searches after a flaky replay (:func:`run_searches`)

    def to_json(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "found": self.found,
            "seconds": round(self.seconds, 2),
            "examples": self.examples,
            "time_to_first": None if self.time_to_first is None else round(self.time_to_first, 2),
            "examples_to_first": self.examples_to_first,
            "violation": None if self.violation is None else self.violation.to_json(),
            "raw_length": self.raw_length,
            "shrunk_length": self.shrunk_length,
            "steps": self.steps,
            "coverage": dict(sorted(self.coverage.items())),
            "restarts": self.restarts,
        }


GC_THRESHOLD = 20_000
"""The cyclic collector's first-generation threshold while a campaign runs (700 by
default): a campaign allocates a trace event, a few messages and decoded bodies per step
and keeps most of them, so the default threshold ran a collection every few steps, 7% of
a campaign's CPU time; with this one (and the objects alive before the campaign frozen out
of the collector's scans) it is 1.5%. Nothing but when garbage cycles are freed changes."""

_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, int, int] = gc.get_threshold()


@contextmanager
def campaign_gc() -> Iterator[None]:
    """Raise the collector's threshold (:data:`GC_THRESHOLD`) and freeze what is alive for
    the duration; campaigns running at once in threads share one setting, restored when
    the last ends (``gc.unfreeze`` gives the frozen objects back to the collector)."""
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            gc.freeze()  # no collection first (a full one costs 0.1 s): garbage alive now is
            # kept until the campaign ends and freed by the collector's next full pass after it
            gc.set_threshold(GC_THRESHOLD, *_gc_saved[1:])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0:
                gc.set_threshold(*_gc_saved)
                gc.unfreeze()


def run_searches(machine: Any, conf: Any, rec: Recorder, seed: int | None, max_examples: int) -> None:
    """Run the stateful ``machine`` as Hypothesis searches until one ends (budget, examples
    or a failure). The machine is coverage-guided across examples (:class:`ProbeGuide`,
    :func:`guided` read the campaign's earlier coverage), so an example that follows the
    draws of an earlier one may take other steps; Hypothesis then reports
    ``FlakyStrategyDefinition`` or trips its tree's consistency assertion
    (:func:`tree_mismatch`: its tree of draws no longer fits). Before any failure was
    found that ends one search, not the campaign: a new search (seed ``seed + k``, a fresh
    tree) goes on with the coverage collected so far (``rec.restarts`` counts them). After
    a failure the error is left to :func:`run_campaign` (its second-stage shrinker works on
    the recorded schedule); past the budget or the examples the campaign simply ends."""
    from hypothesis.errors import FlakyStrategyDefinition

    while True:
        search = settings(conf, max_examples=max(1, max_examples - rec.examples))
        test = get_state_machine_test(machine, settings=search, _flaky_state={"selecting_rule": False})
        if seed is not None:
            test = hseed(seed + rec.restarts)(test)
        try:
            test()
            return
        except (FlakyStrategyDefinition, AssertionError) as exc:
            if not tree_mismatch(exc) or rec.last is not None:
                raise
            if rec.expired() or rec.examples >= max_examples:
                return  # the search was over anyway
            rec.restarts += 1


def tree_mismatch(exc: BaseException) -> bool:
    """Whether ``exc`` is Hypothesis noticing that an example left the draws its tree
    recorded: ``FlakyStrategyDefinition``, or the tree's own consistency assertion (raised
    inside ``hypothesis/internal/conjecture/datatree.py``, never by a property check)."""
    from hypothesis.errors import FlakyStrategyDefinition

    if isinstance(exc, FlakyStrategyDefinition):
        return True
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return (
        isinstance(exc, AssertionError)
        and not isinstance(exc, PropertyViolation)
        and tb is not None
        and Path(tb.tb_frame.f_code.co_filename).match("hypothesis/internal/conjecture/datatree.py")
    )


def run_campaign(
    strategy: str = "stateful",
    budget_s: float = 60.0,
    max_examples: int = 10_000,
    seed: int | None = 0,
    shrink_budget_s: float = 20.0,
    hypothesis_shrink: bool = True,
    setup_strategy: Any = None,
    step_count: int = 30,
    policy_offset: int = 0,
) -> CampaignResult:
    """Search with ``strategy`` (``stateful``, ``random``, ``pct`` or ``targeted``) until
    the first failure is found and shrunk, ``max_examples`` or ``budget_s`` seconds.
    ``policy_offset`` is added to every drawn random or targeted policy's seed
    (:func:`policies`; the zoo passes its ``--seed``)."""
    from hypothesis import Phase

    rec = Recorder()
    rec.deadline = time.monotonic() + budget_s
    phases = [Phase.generate, Phase.shrink] if hypothesis_shrink else [Phase.generate]
    conf = settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=False,
        phases=phases,
        stateful_step_count=step_count,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        report_multiple_bugs=False,
    )
    error: BaseException | None = None
    try:
        with campaign_gc():
            if strategy == "stateful":
                machine = machine_class(rec, setup_strategy=setup_strategy, policy_offset=policy_offset)
                run_searches(machine, conf, rec, seed, max_examples)
            else:
                test = whole_run_test(strategy, rec, setup_strategy, policy_offset)
                test = settings(conf)(test)
                if seed is not None:
                    test = hseed(seed)(test)
                test()
    except BudgetExhausted:
        pass
    except Exception as exc:  # noqa: BLE001 - any failure is what we look for
        error = exc
    elapsed = time.monotonic() - rec.started
    sched = rec.last
    if error is not None and sched is None and not rec.expired():
        raise error  # a harness bug, not a found failure (after the budget, the deliberately
        # trivial examples can make Hypothesis report flakiness: that is not a failure)
    raw = shrunk = None
    if sched is not None and rec.violation is not None:
        raw = length(sched)  # actions and order rules, as GOAL counts
        sched = shrink(sched, rec.violation, budget_s=shrink_budget_s)
        shrunk = length(sched)
    return CampaignResult(
        strategy,
        sched is not None,
        elapsed,
        rec.examples,
        rec.first_time,
        rec.first_examples,
        rec.violation,
        sched,
        raw,
        shrunk,
        rec.steps,
        dict(rec.coverage),
        rec.restarts,
    )
