"""``asfl experiment async-vs-sync`` (issue 11, 6(b)): accuracy against simulated time.

The asynchronous protocol (the real simulated run: masking, certificates, R-6) against a
synchronous FedAvg baseline on the same clients, data partition, local step (R-4:
minibatch gradient, momentum, clipping, noise), clusters (R-2) and aggregation rule
(R-13: cluster means, then the configured robust rule), under heavy-tailed client
speeds: each client's local step takes ``step_time * s_i * jitter``, with ``s_i`` drawn
once per client from a Pareto (shape 1.5) or lognormal (sigma 1) law and a lognormal
jitter per step, and every message a lognormal link delay — the same laws for both.

The synchronous round sends the model to every client and waits for all updates
(``sync (wait all)``) or until a timeout (``sync (timeout)``: the updates that arrived,
as long as at least ``n_a - t_a`` clusters hold ``q_min`` of them; otherwise it waits
for more). It pays one link delay down and one up per client, then the three
aggregator hops of secure aggregation that the protocol pays too (proposal,
endorsement, release: each done when ``n_a - t_a`` of ``n_a`` messages arrived), so the
two differ only in waiting. The timeout is tuned with knowledge of the speed law (the
70th percentile of step times, plus slack), which favours the baseline.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from asfl.experiments.harness import protocol, pyplot, round_metrics, write_csv
from asfl.impl.aggregator import Aggregator
from asfl.impl.certify import next_model
from asfl.impl.client import Client
from asfl.impl.learning.data import Task, load_digits_task
from asfl.impl.learning.models import get_model
from asfl.impl.learning.noise import add_noise
from asfl.impl.learning.quantize import clip_l2, dequantize, quantize
from asfl.impl.sim.run import RunConfig, client_trainer, execute, genesis_params, plan, protocol_for_task
from asfl.impl.sim.schedulers import Action, LocalStep, TimedScheduler

STEP_TIME = 2.0  # the timed scheduler's median local step
LINK_SIGMA = 0.5  # its lognormal link delays (median 1)
JITTER_SIGMA = 0.2  # its per-step jitter


def client_speeds(n_clients: int, law: str, seed: int) -> list[float]:
    """``s_i >= 1`` per client: Pareto (shape 1.5, scale 1) or lognormal (sigma 1) times."""
    rng = np.random.default_rng([seed, 11])
    if law == "pareto":
        return [float(x) for x in 1.0 + rng.pareto(1.5, n_clients)]
    if law == "lognormal":
        return [float(x) for x in np.exp(np.abs(rng.normal(0.0, 1.0, n_clients)))]
    raise ValueError(f"unknown delay law {law!r}; choose pareto or lognormal")


class HeavyTailScheduler(TimedScheduler):
    """The timed scheduler with a per-client speed factor ``s_i`` (one draw per client)."""

    def __init__(self, seed: int, speeds: Sequence[float]) -> None:
        super().__init__(seed, link_sigma=LINK_SIGMA, step_time=STEP_TIME)
        self.speeds = {f"C{i}": s for i, s in enumerate(speeds)}

    def priority(self, action: Action) -> float:
        if isinstance(action, LocalStep):
            jitter = self._rng.lognormvariate(0.0, JITTER_SIGMA)
            return self.now + self.step_time * self.speeds[action.client] * jitter
        return super().priority(action)


@dataclass
class Curve:
    """Accuracy after each round and the simulated time it was reached."""

    arm: str
    times: list[float]
    accuracy: list[float]
    included: list[int] = field(default_factory=list)  # clients per round (sync arms)

    def time_to(self, target: float) -> float:
        return next((t for t, a in zip(self.times, self.accuracy, strict=True) if a >= target), float("inf"))


def run_async(run: RunConfig, task: Task, speeds: Sequence[float]) -> Curve:
    """The protocol; round ``r``'s time is the mean over honest aggregators of when each
    produced its model for ``r``."""
    sched = HeavyTailScheduler(run.seed, speeds)
    produced: dict[int, list[float]] = {0: [0.0]}

    class TimedAggregator(Aggregator):
        def _advance(self) -> list[Any]:
            before = self.round
            out = super()._advance()
            for r in range(before + 1, self.round + 1):
                produced.setdefault(r, []).append(sched.now)
            return out

    _, built = execute(run, task=task, scheduler=sched, client_cls=Client, aggregator_cls=TimedAggregator)
    acc, _, _ = round_metrics(built)
    times = [float(np.mean(produced[r])) for r in range(len(acc))]
    return Curve("async (asfl)", times, acc)


def run_sync(run: RunConfig, task: Task, speeds: Sequence[float], timeout: float | None) -> Curve:
    """Synchronous FedAvg with the protocol's learning and aggregation (module docstring)."""
    model = get_model(run.model)
    cfg = protocol_for_task(run.protocol, task, model)
    parts = plan(run, cfg, task).parts
    trainers = [client_trainer(task, cfg, parts[i], model) for i in range(cfg.n_clients)]
    rngs = [np.random.default_rng([run.seed, 1, i]) for i in range(cfg.n_clients)]
    momentum = [np.zeros(cfg.dim) for _ in range(cfg.n_clients)]
    clock = random.Random(run.seed)
    w = genesis_params(cfg, task, model)
    now, times = 0.0, [0.0]
    accs = [model.accuracy(w, task.X_test, task.y_test, task.n_classes)]
    included: list[int] = []
    for tau in range(cfg.rounds):
        link = lambda: clock.lognormvariate(0.0, LINK_SIGMA)  # noqa: E731
        delay = {
            i: link() + STEP_TIME * speeds[i] * clock.lognormvariate(0.0, JITTER_SIGMA) + link()
            for i in range(cfg.n_clients)
        }
        clusters = cfg.clusters(tau)
        took = max(delay.values()) if timeout is None else _timeout_wait(cfg, clusters, delay, timeout)
        arrived = [i for i in range(cfg.n_clients) if delay[i] <= took]
        for _hop in range(3):  # proposal, endorsement, release: n_a - t_a of n_a links
            took += sorted(link() for _ in range(cfg.n_aggregators))[cfg.quorum - 1]
        updates: dict[int, np.ndarray] = {}
        for i in arrived:  # a straggler's step is abandoned: its momentum stays
            g = trainers[i](w, rngs[i])
            momentum[i] = cfg.beta * momentum[i] + (1.0 - cfg.beta) * g
            q = quantize(clip_l2(momentum[i], cfg.clip), cfg.frac_bits, cfg.quant_bound)
            noisy = add_noise(q, cfg.client_noise_var, rngs[i])  # D-9: the protocol's Skellam shares
            updates[i] = dequantize(noisy, cfg.frac_bits)
        means = [
            np.mean([updates[i] for i in members if i in updates], axis=0)
            for members in clusters
            if sum(i in updates for i in members) >= cfg.q_min
        ]
        w = next_model(cfg, w, means)
        now += took
        times.append(now)
        accs.append(model.accuracy(w, task.X_test, task.y_test, task.n_classes))
        included.append(len(arrived))
    label = "sync (wait all)" if timeout is None else f"sync (timeout {timeout:.0f})"
    return Curve(label, times, accs, included)


def _timeout_wait(
    cfg: Any, clusters: Sequence[Sequence[int]], delay: dict[int, float], timeout: float
) -> float:
    """The timeout, or longer if fewer than ``n_a - t_a`` clusters then hold ``q_min``
    updates: the earliest time at which enough clusters do."""

    def enough(t: float) -> bool:
        full = sum(sum(delay[i] <= t for i in members) >= cfg.q_min for members in clusters)
        return full >= cfg.quorum

    if enough(timeout):
        return timeout
    return min(t for t in sorted(delay.values()) if enough(t))


def async_vs_sync(opts: Any) -> dict[str, Any]:
    """Run every arm for each delay law; CSV of (arm, law, round, time, accuracy), one PNG."""
    seeds, rounds = opts.pick_seeds(1, 3), opts.pick_rounds(20, 40)
    laws = ["pareto", "lognormal"]
    n_clients = 80 if opts.full else 40
    task = load_digits_task(seed=0)
    rows: list[dict[str, Any]] = []
    summary: dict[str, Any] = {}
    curves: dict[str, list[Curve]] = {}
    for law in laws:
        for seed in seeds:
            cfg = protocol(n_clients=n_clients, n_aggregators=4, t_a=1, t_c=2, q_min=5, rounds=rounds)
            run = RunConfig(cfg, seed=seed, scheduler="timed", byzantine=0, crashed=0, ghost=False)
            speeds = client_speeds(n_clients, law, seed)
            timeout = STEP_TIME * float(np.quantile(speeds, 0.7)) + 2.0
            arms = [run_async(run, task, speeds), run_sync(run, task, speeds, None)]
            arms.append(run_sync(run, task, speeds, timeout))
            for c in arms:
                curves.setdefault(law, []).append(c)
                for r, (t, a) in enumerate(zip(c.times, c.accuracy, strict=True)):
                    rows.append(
                        {"law": law, "seed": seed, "arm": c.arm, "round": r, "time": t, "accuracy": a}
                    )
                opts.log(
                    f"  {law} seed {seed} {c.arm}: accuracy {c.accuracy[-1]:.3f} at time {c.times[-1]:.0f}"
                )
            target = 0.9 * max(max(c.accuracy) for c in arms)
            for c in arms:
                summary[f"{law}/seed{seed}/{c.arm}"] = {
                    "final_accuracy": c.accuracy[-1],
                    "end_time": c.times[-1],
                    "target_accuracy": target,
                    "time_to_target": c.time_to(target),
                    "mean_clients_per_round": float(np.mean(c.included)) if c.included else None,
                }
    write_csv(opts.out / "async_vs_sync.csv", rows)
    _plot(opts, curves, seeds, n_clients)
    return summary


def _plot(opts: Any, curves: dict[str, list[Curve]], seeds: list[int], n_clients: int) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, len(curves), figsize=(6.5 * len(curves), 4.5), sharey=True)
    for ax, (law, cs) in zip(np.atleast_1d(axes), curves.items(), strict=True):
        for k, c in enumerate(cs):
            ax.plot(c.times, c.accuracy, label=c.arm if k < 3 else None, color=f"C{k % 3}", marker=".")
        ax.set_title(f"{law} client step times", fontsize=10)
        ax.set_xlabel("simulated time (median local step = 2, median link delay = 1)")
        ax.legend(fontsize=8)
    np.atleast_1d(axes)[0].set_ylabel("test accuracy")
    fig.suptitle(f"Asynchronous protocol vs synchronous FedAvg, {n_clients} clients, digits, seeds {seeds}")
    fig.tight_layout()
    fig.savefig(opts.out / "async_vs_sync.png", dpi=110)
    plt.close(fig)
