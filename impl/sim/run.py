"""Build and run a complete simulated training: keys, data, nodes, faults, trace, summary.

This is the composition root of a simulated run; ``asfl run`` is a thin
command-line layer over :func:`execute`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from asfl.impl import crypto
from asfl.impl.aggregator import Aggregator
from asfl.impl.client import AnnounceChecker, Client
from asfl.impl.config import ProtocolConfig
from asfl.impl.events import EndEvent
from asfl.impl.learning.data import Task, load_task, partition_dirichlet, partition_iid
from asfl.impl.learning.local import local_gradient
from asfl.impl.learning.models import Model, get_model
from asfl.impl.learning.privacy import DELTA, client_epsilons
from asfl.impl.messages import model_digest
from asfl.impl.node import Node, PublicKeys, aggregator_name, client_name, set_open_memo
from asfl.impl.sim.byzantine import BEHAVIOURS, ByzantineAggregator
from asfl.impl.sim.schedulers import DEFAULT_FETCH_TIMEOUT, Scheduler, make_scheduler
from asfl.impl.sim.simulator import ClientBytes, Simulator
from asfl.impl.trace import TraceWriter

SIM_ENTROPY = (
    "deterministic (simulation only): keys, masks, Shamir coefficients and noise derive from the public seed"
)


@dataclass(frozen=True)
class RunConfig:
    """A simulated run: the protocol parameters plus the faults and the runtime's choices."""

    protocol: ProtocolConfig
    seed: int = 0
    scheduler: str = "random"
    byzantine: int = 1
    behaviour: str = "equivocate"
    crashed: int = 0
    partition: str = "iid"
    alpha: float = 0.5
    task: str = "digits"  # used when build() is given no Task object
    model: str = "softmax"
    slow_fraction: float = 0.0
    fetch_timeout: float = DEFAULT_FETCH_TIMEOUT  # the timed scheduler's D-22 timeout (virtual time)
    ghost: bool = True
    trace: Path | None = None
    max_steps: int = 2_000_000
    keep_events: bool = True
    """Without ``trace``: keep the events in memory (tests, the harness, experiments that
    read them) or only number them (``False``: a run nobody reads the trace of)."""


class DeterministicEntropy:
    """SHA-256 in counter mode over ``(seed, node)``: the simulator's stand-in for ``os.urandom``."""

    def __init__(self, seed: int, name: str) -> None:
        self._key = hashlib.sha256(f"asfl/sim-entropy/{seed}/{name}".encode()).digest()
        self._counter = 0

    def __call__(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            self._counter += 1
            out += hashlib.sha256(self._key + self._counter.to_bytes(8, "little")).digest()
        return out[:n]


@lru_cache(maxsize=1 << 10)
def node_keys(seed: int, name: str) -> crypto.NodeKeys:
    """A node's keys, a function of the public seed (simulation only). Memoised: the runs of
    one process with one seed (the harness's examples, tests) share the keys and their
    cached X25519 exchanges instead of deriving them again (NodeKeys only caches)."""
    return crypto.NodeKeys.from_seed(hashlib.sha256(f"asfl/sim-key/{seed}/{name}".encode()).digest())


@dataclass(frozen=True)
class Received:
    """Bytes delivered to a live client per round, over every (client, round) pair of the
    run, against the model's size ``8 d`` (issue 11; D-18, D-22)."""

    mean: float
    max: int
    model: int

    @classmethod
    def of(cls, client_bytes: ClientBytes, cfg: ProtocolConfig) -> Received:
        per = client_bytes.per_pair(1, cfg.rounds)
        mean = float(per.sum()) / per.size if per.size else 0.0
        return cls(mean, int(per.max()) if per.size else 0, 8 * cfg.dim)

    def line(self) -> str:
        m = self.model
        return (
            f"received per client per round: mean {self.mean:,.0f} B ({self.mean / m:.4f}x the model's "
            f"{m:,} B), max {self.max:,} B ({self.max / m:.4f}x)"
        )


@dataclass
class RunSummary:
    """What ``asfl run`` reports at the end (issue: summary of a run)."""

    status: str
    detail: str
    rounds_done: dict[str, int]
    accuracy: dict[str, float]
    inclusions: dict[int, int]
    epsilons: dict[int, float]
    byzantine: list[int]
    crashed: list[int]
    steps: int
    messages: int
    bytes_by_kind: dict[str, int]
    count_by_kind: dict[str, int]
    trace: Path | None
    received: Received | None = None  # the simulator's count; a deployment does not count it


@dataclass
class Built:
    """A ready-to-run simulation and what the summary needs to know about it."""

    sim: Simulator
    cfg: ProtocolConfig
    task: Task
    aggregators: dict[str, Aggregator]
    byzantine: list[int]
    crashed: list[int]
    slow: list[str] = field(default_factory=list)  # clients the timed scheduler slows down
    model: Model = field(default_factory=lambda: get_model("softmax"))


def protocol_for_task(cfg: ProtocolConfig, task: Task, model: Model | None = None) -> ProtocolConfig:
    """The model dimension is the task's (softmax regression parameters unless ``model``)."""
    model = model or get_model("softmax")
    return replace(cfg, dim=model.param_dim(task.n_features, task.n_classes)).validate()


def genesis_params(cfg: ProtocolConfig, task: Task, model: Model) -> np.ndarray:
    """The initial model, a public function of the genesis seed (R-1): zeros for softmax."""
    rng = np.random.default_rng(np.frombuffer(hashlib.sha256(b"asfl/init" + cfg.genesis).digest(), "<u4"))
    return model.init(task.n_features, task.n_classes, rng)


@dataclass(frozen=True)
class Plan:
    """The seeded choices of a run: Byzantine aggregators, crashing clients (and after how
    many local steps), slow clients, and each client's training indices."""

    byzantine: list[int]
    crashed: list[int]
    crash_after: dict[str, int]
    slow: list[str]
    parts: list[np.ndarray]


def plan(run: RunConfig, cfg: ProtocolConfig, task: Task) -> Plan:
    """Draw the run's faults and data partition from ``run.seed`` (shared by the simulator and
    the networked runtime, so both run the same scenario for the same flags)."""
    rng = np.random.default_rng(run.seed)
    byzantine = sorted(int(j) for j in rng.choice(cfg.n_aggregators, run.byzantine, replace=False))
    crashed = sorted(int(i) for i in rng.choice(cfg.n_clients, run.crashed, replace=False))
    crash_after = {client_name(i): int(rng.integers(0, cfg.rounds)) for i in crashed}
    slow = [
        client_name(int(i))
        for i in rng.choice(cfg.n_clients, int(run.slow_fraction * cfg.n_clients), replace=False)
    ]
    if run.partition == "iid":
        parts = partition_iid(len(task.y_train), cfg.n_clients, rng)
    elif run.partition == "dirichlet":
        parts = partition_dirichlet(task.y_train, cfg.n_clients, run.alpha, rng)
    else:
        raise ValueError(f"unknown partition {run.partition!r}; choose iid or dirichlet")
    return Plan(byzantine, crashed, crash_after, slow, list(parts))


def client_trainer(
    task: Task, cfg: ProtocolConfig, idx: np.ndarray, model: Model
) -> Callable[..., np.ndarray]:
    """The local-step gradient of ``model`` for a client holding training indices ``idx`` (R-4)."""

    def trainer(w: np.ndarray, r: np.random.Generator) -> np.ndarray:
        return local_gradient(w, task, idx, cfg.batch_size, r, gradient=model.gradient)

    return trainer


def build(
    run: RunConfig,
    task: Task | None = None,
    scheduler: Scheduler | None = None,
    client_cls: type[Client] = Client,
    aggregator_cls: type[Aggregator] = Aggregator,
) -> Built:
    """Create keys, data partitions, honest and Byzantine nodes, the scheduler and the trace.

    ``client_cls`` / ``aggregator_cls`` let an experiment harness use instrumented
    subclasses (experiments); the protocol itself always uses the defaults.
    """
    if run.behaviour not in BEHAVIOURS:
        raise ValueError(f"unknown behaviour {run.behaviour!r}; choose from {', '.join(BEHAVIOURS)}")
    model = get_model(run.model)
    task = task or load_task(run.task, seed=0)
    cfg = protocol_for_task(run.protocol, task, model)
    if not 0 <= run.byzantine <= cfg.n_aggregators:
        raise ValueError(f"--byzantine must be in [0, {cfg.n_aggregators}]")
    if not 0 <= run.crashed <= cfg.n_clients:
        raise ValueError(f"--crashed must be in [0, {cfg.n_clients}]")
    if not (math.isfinite(run.fetch_timeout) and run.fetch_timeout > 0):
        raise ValueError(f"--fetch-timeout must be a positive number, got {run.fetch_timeout}")
    pl = plan(run, cfg, task)
    byzantine, crashed, crash_after, slow, parts = pl.byzantine, pl.crashed, pl.crash_after, pl.slow, pl.parts

    agg_keys = [node_keys(run.seed, aggregator_name(j)) for j in range(cfg.n_aggregators)]
    cli_keys = [node_keys(run.seed, client_name(i)) for i in range(cfg.n_clients)]
    public = PublicKeys(
        tuple(k.sign_pub for k in agg_keys),
        tuple(k.kx_pub for k in agg_keys),
        tuple(k.sign_pub for k in cli_keys),
        tuple(k.kx_pub for k in cli_keys),
    )
    genesis_model = genesis_params(cfg, task, model)
    nodes: dict[str, Node] = {}
    aggregators: dict[str, Aggregator] = {}
    for j in range(cfg.n_aggregators):
        core = aggregator_cls(cfg, j, agg_keys[j], public, genesis_model, ghost=run.ghost)
        name = aggregator_name(j)
        if j in byzantine:
            nodes[name] = ByzantineAggregator(core, run.behaviour, np.random.default_rng([run.seed, 7, j]))
        else:
            nodes[name] = aggregators[name] = core
    checker = AnnounceChecker(cfg, public, capacity=8 * cfg.n_aggregators)  # shared: one check per message
    # the process's Ed25519 memo spans the signatures asked about again: each client's on
    # its submission digest, within about a round's n_c (crypto.set_verify_memo), plus the
    # aggregators' O(n_a^2) endorsements, releases and attestations
    crypto.set_verify_memo(2 * cfg.n_clients + 64 * cfg.n_aggregators**2)
    set_open_memo(4 * cfg.n_aggregators * (cfg.n_aggregators + 1))  # ~2 rounds of broadcasts
    for i in range(cfg.n_clients):
        nodes[client_name(i)] = client_cls(
            cfg,
            i,
            cli_keys[i],
            public,
            genesis_model,
            client_trainer(task, cfg, parts[i], model),
            np.random.default_rng([run.seed, 1, i]),
            DeterministicEntropy(run.seed, client_name(i)),
            ghost=run.ghost,
            checker=checker,
        )
    trace = TraceWriter(run.trace, keep=run.keep_events)
    trace.header(
        {
            "config": cfg.trace_config(run.seed),
            "keys": {
                **{
                    aggregator_name(j): {"sign": k.sign_pub.hex(), "kx": k.kx_pub.hex()}
                    for j, k in enumerate(agg_keys)
                },
                **{
                    client_name(i): {"sign": k.sign_pub.hex(), "kx": k.kx_pub.hex()}
                    for i, k in enumerate(cli_keys)
                },
            },
            "byzantine": byzantine,
            "behaviour": run.behaviour,
            "crashed": crashed,
            "scheduler": run.scheduler,
            "ghost": run.ghost,
            "entropy": SIM_ENTROPY,
            "genesis_model": model_digest(genesis_model).hex(),
        }
    )
    sched = (
        scheduler
        if scheduler is not None
        else make_scheduler(run.scheduler, run.seed, slow=slow, fetch_timeout=run.fetch_timeout)
    )
    honest = {n for n in nodes if n not in {aggregator_name(j) for j in byzantine}}
    sim = Simulator(nodes, sched, trace, crash_after=crash_after, honest=honest)
    return Built(sim, cfg, task, aggregators, byzantine, crashed, slow, model)


def certified_sets(aggregators: Iterable[Aggregator]) -> dict[tuple[int, int], tuple[int, ...]]:
    """``(round, cluster) -> clients`` of every certified set of which one of ``aggregators``
    holds the certificate and the proposal, hence releases (R-10): the sets D-10 counts."""
    sets: dict[tuple[int, int], tuple[int, ...]] = {}
    for agg in aggregators:
        for key, st in agg.clusters.items():
            if st.accepted is not None and st.certificate is not None and st.accepted.pd == st.certificate.pd:
                sets[key] = tuple(st.accepted.clients)
    return sets


def inclusion_counts(n_clients: int, sets: Iterable[tuple[int, ...]]) -> dict[int, int]:
    """Certified sets containing each client (F-3)."""
    counts = dict.fromkeys(range(n_clients), 0)
    for clients in sets:
        for i in clients:
            counts[i] += 1
    return counts


def privacy_report(epsilons: dict[int, float]) -> dict[str, object]:
    """The ``end`` event's ``privacy`` field: the epsilon per client that the run reports
    (D-10), ``null`` for an unbounded one (no noise), at ``DELTA``."""
    return {
        "delta": DELTA,
        "epsilon": {client_name(i): (None if math.isinf(e) else e) for i, e in sorted(epsilons.items())},
    }


def true_inclusions(built: Built) -> dict[int, int]:
    """Certified sets containing each client, as known to the honest aggregators (F-3)."""
    return inclusion_counts(built.cfg.n_clients, certified_sets(built.aggregators.values()).values())


def summarise(built: Built, status: str) -> RunSummary:
    cfg, sim, task = built.cfg, built.sim, built.task
    rounds = {name: node.rounds_done for name, node in sim.nodes.items() if name in sim.honest}
    acc = {}
    for name, agg in built.aggregators.items():
        model = agg.models[agg.round]
        acc[name] = built.model.accuracy(model, task.X_test, task.y_test, task.n_classes)
    if status == "complete":
        detail = f"every honest aggregator finished all {cfg.rounds} rounds"
    elif status == "stalled":
        stuck = [agg.diagnose() for agg in built.aggregators.values() if not agg.done]
        detail = (
            "cannot progress: " + " | ".join(stuck) if stuck else "honest aggregators done; some clients not"
        )
        if len(built.byzantine) > cfg.t_a:
            detail += f" — {len(built.byzantine)} Byzantine aggregators exceed t_a = {cfg.t_a}"
        if len(built.crashed) > cfg.t_c:
            detail += f" — {len(built.crashed)} crashed clients exceed t_c = {cfg.t_c}"
    else:
        detail = f"step limit reached after {sim.stats.steps} steps"
    inclusions = true_inclusions(built)
    epsilons = client_epsilons(cfg.skellam, inclusions, DELTA)
    sim.trace.write(None, EndEvent(status, rounds, detail, privacy=privacy_report(epsilons)))
    sim.trace.close()
    return RunSummary(
        status,
        detail,
        rounds,
        acc,
        inclusions,
        epsilons,
        built.byzantine,
        built.crashed,
        sim.stats.steps,
        sim.stats.messages,
        dict(sim.stats.bytes_by_kind),
        dict(sim.stats.count_by_kind),
        sim.trace.path,
        Received.of(sim.stats.client_bytes, cfg),
    )


def execute(
    run: RunConfig,
    on_step: Callable[[Simulator], None] | None = None,
    task: Task | None = None,
    scheduler: Scheduler | None = None,
    client_cls: type[Client] = Client,
    aggregator_cls: type[Aggregator] = Aggregator,
) -> tuple[RunSummary, Built]:
    """Build, run to quiescence, summarise, and close the trace."""
    built = build(run, task, scheduler, client_cls, aggregator_cls)
    status = built.sim.run(run.max_steps, on_step)
    return summarise(built, status), built
