"""``asfl experiment privacy-at-scale``: single-digit epsilon with thousands of clients (D-9, D-10).

Two real simulated runs of the protocol on MNIST-1D with the same seed, in two worker
processes (one per core), training a 2x32 ReLU MLP (``mlp-32x32``, d = 2,698: the size that
learns most per CPU second of the protocol in the tuning sweep of docs/experiments.md): one
with the
Skellam noise calibrated so that a client included in every round ends at epsilon
``target`` (``delta = 1e-5``), one without noise. Each client's epsilon is read from the
run's end-of-run accounting (``RunSummary.epsilons``, the figures the trace's ``end`` event
reports, D-10). It also reports what the guarantee loses when honest noise shares are
missing (D-9): the epsilon of every correct client if each of its sets had only
``q_min - t_c`` secret shares (variance ``(q_min - t_c) mu / q_min``), and, the other way,
the epsilon the sets' actual sizes give (each set of ``|I|`` correct clients carries
``|I| mu / q_min``), with the smallest set size of the run.
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from functools import cache
from multiprocessing import get_context
from typing import TYPE_CHECKING, Any

import numpy as np

from asfl.experiments.harness import protocol, pyplot, round_metrics, write_csv
from asfl.impl.config import ProtocolConfig
from asfl.impl.learning.data import MNIST1D_CLASSES, MNIST1D_FEATURES, load_mnist1d_task
from asfl.impl.learning.models import get_model
from asfl.impl.learning.privacy import DELTA, Skellam, composed_epsilon, epsilon
from asfl.impl.sim.run import RunConfig, RunSummary, certified_sets, execute

if TYPE_CHECKING:
    from asfl.experiments.catalog import Options


@dataclass(frozen=True)
class Scale:
    """The experiment's size and learning parameters (tests pass a tiny one)."""

    clients: int = 5000
    aggregators: int = 4
    t_c: int = 50
    crashed: int = 25
    rounds: int = 20
    target: float = 8.0
    lr: float = 6.0
    beta: float = 0.9
    clip: float = 1.0
    samples: int = 100_000  # 80,000 training samples: 16 per client
    model: str = "mlp-32x32"


FULL = Scale(clients=10_000, t_c=100, crashed=50, rounds=40, samples=200_000, model="mlp")


def calibrate(cfg: ProtocolConfig, inclusions: int, target: float) -> float:
    """The smallest noise multiplier (to 0.5 %) whose epsilon after ``inclusions`` releases is
    at most ``target`` (D-10), by bisection on the mechanism of ``cfg`` (D-9)."""

    if not (math.isfinite(target) and target > 0) or inclusions < 1:
        raise ValueError(f"a target epsilon must be finite and > 0 (got {target}), with >= 1 inclusion")

    def eps(z: float) -> float:
        return epsilon(replace(cfg, noise_multiplier=z).skellam, inclusions, DELTA)

    lo, hi = 0.05, 1.0
    while eps(hi) > target:
        lo, hi = hi, 2 * hi
    while hi / lo > 1.005:
        mid = math.sqrt(lo * hi)
        lo, hi = (lo, mid) if eps(mid) <= target else (mid, hi)
    return hi


@dataclass(frozen=True)
class Arm:
    """What the experiment reads from one run (picklable: runs execute in worker processes)."""

    summary: RunSummary
    cfg: ProtocolConfig
    accuracy: list[float]
    sets: dict[tuple[int, int], list[int]]


def _arm(run: RunConfig, samples: int) -> Arm:
    """Execute ``run`` on MNIST-1D (``samples`` generated in the worker); its summary (the
    end-of-run accounting), accuracy per round and the certified sets its honest aggregators hold."""
    summary, built = execute(run, task=load_mnist1d_task(n_samples=samples, seed=0))
    acc, _, _ = round_metrics(built)
    sets = {key: list(clients) for key, clients in certified_sets(built.aggregators.values()).items()}
    summary.trace = None
    return Arm(summary, built.cfg, acc, sets)


def _actual_size_epsilons(mech: Skellam, q_min: int, sizes: dict[int, list[int]]) -> dict[int, float]:
    """Epsilon per client from the sizes of its released sets (each ``|I| mu / q_min``)."""

    @cache
    def of(key: tuple[int, ...]) -> float:
        return composed_epsilon([Skellam(mech.variance * n / q_min, mech.l2, mech.l1) for n in key], DELTA)

    return {i: of(tuple(sorted(s))) for i, s in sizes.items()}


def privacy_at_scale(opts: Options, scale: Scale | None = None) -> dict[str, Any]:
    sc = scale or (FULL if opts.full else Scale())
    if opts.rounds:
        sc = replace(sc, rounds=opts.rounds)
    seed = opts.seeds[0] if opts.seeds else 0
    model = get_model(sc.model)
    k_min = sc.clients // sc.aggregators
    base = protocol(
        n_clients=sc.clients,
        n_aggregators=sc.aggregators,
        t_a=1,
        t_c=sc.t_c,
        q_min=k_min - sc.t_c,
        rounds=sc.rounds,
        lr=sc.lr,
        beta=sc.beta if opts.beta is None else opts.beta,
        clip=sc.clip,
        dim=model.param_dim(MNIST1D_FEATURES, MNIST1D_CLASSES),  # the run's model
    )
    z = calibrate(base, sc.rounds, sc.target)
    opts.log(
        f"  {sc.clients} clients, {sc.model} (d = {base.dim}), {sc.rounds} rounds: z = {z:.3f} "
        f"for epsilon {sc.target}"
    )
    rows: list[dict[str, Any]] = []
    labels = {"noise": z, "no noise": 0.0}
    runs = [
        RunConfig(
            replace(base, noise_multiplier=v),
            seed=seed,
            byzantine=0,
            crashed=sc.crashed,
            ghost=False,
            model=sc.model,
            keep_events=False,  # nothing reads the events: memory flat in the rounds
        )
        for v in labels.values()
    ]
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:  # 2 cores: both arms
        arms = dict(zip(labels, pool.map(_arm, runs, [sc.samples] * 2), strict=True))
    for label, arm in arms.items():
        opts.log(f"  {label}: {arm.summary.status}, accuracy {arm.accuracy[-1]:.3f} after {sc.rounds} rounds")
        arm_id = {"arm": label, "noise_multiplier": labels[label]}
        rows += [{**arm_id, "round": t, "accuracy": a} for t, a in enumerate(arm.accuracy)]
    noisy = arms["noise"]
    summary, cfg, acc, sets = noisy.summary, noisy.cfg, noisy.accuracy, noisy.sets
    mech = cfg.skellam
    crashed = set(summary.crashed)
    correct = [i for i in range(cfg.n_clients) if i not in crashed]
    sizes: dict[int, list[int]] = {i: [] for i in range(cfg.n_clients)}
    for clients in sets.values():
        for i in clients:
            sizes[i].append(len(clients))
    h = cfg.q_min - cfg.t_c
    missing = mech.with_shares(h, cfg.q_min)
    actual = _actual_size_epsilons(mech, cfg.q_min, {i: sizes[i] for i in correct})
    client_rows = [
        {
            "client": i,
            "crashed": i in crashed,
            "inclusions": summary.inclusions[i],
            "epsilon": summary.epsilons[i],
            "epsilon_missing_shares": epsilon(missing, summary.inclusions[i], DELTA),
            "epsilon_actual_sizes": actual.get(i, math.nan),
        }
        for i in range(cfg.n_clients)
    ]
    write_csv(opts.out / "privacy_at_scale.csv", rows)
    write_csv(opts.out / "privacy_at_scale_clients.csv", client_rows)
    mine = [r for r in client_rows if not r["crashed"]]
    eps = [r["epsilon"] for r in mine]
    out = {
        "clients": cfg.n_clients,
        "rounds": cfg.rounds,
        "model": sc.model,
        "samples": sc.samples,
        "dim": cfg.dim,
        "q_min": cfg.q_min,
        "t_c": cfg.t_c,
        "crashed": len(crashed),
        "noise_multiplier": z,
        "client_noise_var": cfg.client_noise_var,
        "status": summary.status,
        "status_no_noise": arms["no noise"].summary.status,
        "accuracy": acc[-1],
        "accuracy_no_noise": arms["no noise"].accuracy[-1],
        "accuracy_gap": arms["no noise"].accuracy[-1] - acc[-1],
        "epsilon_max": max(eps),
        "epsilon_min": min(eps),
        "inclusions_max": max(r["inclusions"] for r in mine),
        "smallest_set": min(len(c) for c in sets.values()),
        "epsilon_missing_shares_max": max(r["epsilon_missing_shares"] for r in mine),
        "missing_shares_h": h,
        "epsilon_actual_sizes_max": max(r["epsilon_actual_sizes"] for r in mine),
        "delta": DELTA,
    }
    write_csv(opts.out / "privacy_at_scale_summary.csv", [out])
    _plot(opts, out, rows, mine)
    return out


def _plot(opts: Options, s: dict[str, Any], rows: list[dict[str, Any]], mine: list[dict[str, Any]]) -> None:
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for label in ("no noise", "noise"):
        curve = [r["accuracy"] for r in rows if r["arm"] == label]
        ax1.plot(curve, marker="o", markersize=3, label=f"{label}: {curve[-1]:.3f}")
    ax1.set_xlabel("round")
    ax1.set_ylabel("test accuracy (mean of honest aggregators)")
    ax1.set_title(
        f"{s['clients']} clients, MNIST-1D, {s['model']} (d = {s['dim']}); z = {s['noise_multiplier']:.2f} "
        "(Skellam)",
        fontsize=10,
    )
    ax1.legend(fontsize=8)
    bins = np.linspace(0, max(r["epsilon_missing_shares"] for r in mine) * 1.05, 40)
    for key, label in (
        ("epsilon_actual_sizes", "actual set sizes"),
        ("epsilon", "reported (q_min shares)"),
        ("epsilon_missing_shares", f"only q_min - t_c = {s['missing_shares_h']} shares"),
    ):
        ax2.hist([r[key] for r in mine], bins=bins, alpha=0.6, label=label)
    ax2.axvline(8.0, color="black", ls=":", lw=1)
    ax2.set_xlabel(f"epsilon per correct client (delta = {s['delta']})")
    ax2.set_ylabel("clients")
    ax2.legend(fontsize=8)
    fig.suptitle(
        f"Distributed DP at scale: accuracy {s['accuracy']:.3f} vs {s['accuracy_no_noise']:.3f} "
        f"without noise, epsilon <= {s['epsilon_max']:.2f}"
    )
    fig.tight_layout()
    fig.savefig(opts.out / "privacy_at_scale.png", dpi=110)
    plt.close(fig)
