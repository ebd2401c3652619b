"""``asfl experiment inclusion-at-scale`` (issue 11, 6(c)): the inclusion rule at scale.

Hundreds of clients (``--full``: 1,000) on MNIST-1D, labels split by Dirichlet(0.1)
(strongly non-IID), 30 % of the clients 10x slower (timed scheduler). The inclusion
mechanism (R-6, D-7) on with ``B = 0`` and ``B = 1``, and off (``B = 10^9``: nobody is
deferred; the coordinator still waits for all members but ``t_c``). Reported per arm:
accuracy per round; the final model's accuracy per class, and on the three classes
whose training samples are most held by slow clients against the three least (the
bias the rule is meant to remove); the spread of inclusion counts and of epsilon (D-10) over
slow and fast clients.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from asfl.experiments.harness import RunResult, protocol, pyplot, run_instrumented, write_csv
from asfl.impl.config import ProtocolConfig
from asfl.impl.learning.data import load_mnist1d_task
from asfl.impl.sim.run import RunConfig, plan

OFF = 10**9  # a lead bound that defers nobody
ARMS = {"off (B=1e9)": OFF, "on (B=1)": 1, "on (B=0)": 0}
CLIENTS, CLIENTS_FULL = 200, 1000
SAMPLES = 20_000  # MNIST-1D samples generated (the package's default split: 80 % train)


def skewed_run(cfg: ProtocolConfig, seed: int) -> RunConfig:
    """The inclusion experiments' run: timed scheduler, 30 % of clients 10x slower,
    Dirichlet(0.1) labels, no faults, no ghost fields."""
    return RunConfig(
        cfg,
        seed=seed,
        scheduler="timed",
        slow_fraction=0.3,
        partition="dirichlet",
        alpha=0.1,
        byzantine=0,
        crashed=0,
        ghost=False,
        keep_events=False,  # nothing reads the events: memory flat in the rounds
    )


def per_class_accuracy(res: RunResult) -> list[float]:
    """Test accuracy of the final models per class, mean over honest aggregators."""
    task, model = res.built.task, res.built.model
    out = []
    for k in range(task.n_classes):
        rows = task.y_test == k
        accs = [
            model.accuracy(a.models[a.round], task.X_test[rows], task.y_test[rows], task.n_classes)
            for a in res.built.aggregators.values()
        ]
        out.append(float(np.mean(accs)))
    return out


def slow_share(run: RunConfig, res: RunResult) -> list[float]:
    """Per class: the fraction of its training samples held by slow clients."""
    task, cfg = res.built.task, res.built.cfg
    parts = plan(run, cfg, task).parts
    slow = {int(s[1:]) for s in res.built.slow}
    held_slow = np.zeros(task.n_classes)
    for i in slow:
        held_slow += np.bincount(task.y_train[parts[i]], minlength=task.n_classes)
    total = np.bincount(task.y_train, minlength=task.n_classes)
    return [float(x) for x in held_slow / np.maximum(total, 1)]


def inclusion_at_scale(opts: Any) -> dict[str, Any]:
    seeds, rounds = opts.pick_seeds(1, 2), opts.pick_rounds(15, 25)
    n_clients = CLIENTS_FULL if opts.full else CLIENTS
    task = load_mnist1d_task(n_samples=SAMPLES, seed=0)
    k_min = n_clients // 4
    t_c = min(4, k_min // 4)
    rows: list[dict[str, Any]] = []
    client_rows: list[dict[str, Any]] = []
    class_rows: list[dict[str, Any]] = []
    summary: dict[str, Any] = {}
    results: dict[str, list[RunResult]] = {}
    for label, bound in ARMS.items():
        for seed in seeds:
            cfg = protocol(
                n_clients=n_clients,
                n_aggregators=4,
                t_a=1,
                t_c=t_c,
                q_min=min(10, k_min - t_c),
                rounds=rounds,
                lead_bound=bound,
                noise_multiplier=1.0,
            )
            run = skewed_run(cfg, seed)
            res = run_instrumented(run, task=task)
            results.setdefault(label, []).append(res)
            slow = {int(s[1:]) for s in res.built.slow}
            counts = {i: sum(p) for i, p in res.participation.items()}
            for i, n in counts.items():
                client_rows.append(
                    {
                        "arm": label,
                        "seed": seed,
                        "client": i,
                        "slow": i in slow,
                        "inclusions": n,
                        "epsilon": res.epsilons[i],
                    }  # fmt: skip
                )
            for r, a in enumerate(res.accuracy):
                rows.append({"arm": label, "lead_bound": bound, "seed": seed, "round": r, "accuracy": a})
            per_class, share = per_class_accuracy(res), slow_share(run, res)
            for k, (a, s) in enumerate(zip(per_class, share, strict=True)):
                class_rows.append({"arm": label, "seed": seed, "class": k, "accuracy": a, "slow_share": s})
            by_share = sorted(range(len(share)), key=lambda k: share[k])
            slow_classes, other = by_share[-3:], by_share[:3]  # most / least held by slow clients
            sc, fc = [counts[i] for i in slow], [counts[i] for i in counts if i not in slow]
            eps = [res.epsilons[i] for i in counts]
            summary[f"{label}/seed{seed}"] = {
                "status": res.summary.status,
                "final_accuracy": res.final_accuracy,
                "last5_accuracy": res.tail_accuracy,
                "accuracy_3_most_slow_held_classes": float(np.mean([per_class[k] for k in slow_classes])),
                "accuracy_3_least_slow_held_classes": float(np.mean([per_class[k] for k in other])),
                "slow_inclusions_mean": float(np.mean(sc)),
                "fast_inclusions_mean": float(np.mean(fc)),
                "inclusions_min": min(sc + fc),
                "inclusions_max": max(sc + fc),
                "inclusions_sd": float(np.std(sc + fc)),
                "epsilon_min": min(eps),
                "epsilon_max": max(eps),
            }
            s = summary[f"{label}/seed{seed}"]
            opts.log(
                f"  {label} seed {seed}: {s['status']}, accuracy {s['final_accuracy']:.3f}, inclusions slow "
                f"{s['slow_inclusions_mean']:.1f} fast {s['fast_inclusions_mean']:.1f}, "
                f"epsilon {s['epsilon_min']:.1f}..{s['epsilon_max']:.1f}"
            )
    write_csv(opts.out / "inclusion_at_scale.csv", rows)
    write_csv(opts.out / "inclusion_at_scale_clients.csv", client_rows)
    write_csv(opts.out / "inclusion_at_scale_classes.csv", class_rows)
    _plot(opts, results, client_rows, class_rows, n_clients, seeds)
    return summary


def _plot(
    opts: Any,
    results: dict[str, list[RunResult]],
    client_rows: list[dict[str, Any]],
    class_rows: list[dict[str, Any]],
    n_clients: int,
    seeds: list[int],
) -> None:
    plt = pyplot()
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(17, 4.5))
    for label in ARMS:
        for group, ls in ((True, "-"), (False, "--")):
            xs = sorted(r["inclusions"] for r in client_rows if r["arm"] == label and r["slow"] is group)
            ys = np.arange(1, len(xs) + 1) / max(len(xs), 1)
            ax1.step(xs, ys, ls=ls, label=f"{label}, {'slow' if group else 'fast'}")
        eps = sorted(r["epsilon"] for r in client_rows if r["arm"] == label)
        ax2.step(eps, np.arange(1, len(eps) + 1) / len(eps), label=label)
    ax1.set_xlabel("certified inclusions per client")
    ax1.set_ylabel("fraction of clients (CDF)")
    ax1.legend(fontsize=7)
    ax2.set_xlabel("epsilon per client (delta = 1e-5)")
    ax2.set_ylabel("fraction of clients (CDF)")
    ax2.legend(fontsize=8)
    for label in ARMS:
        pts = sorted((r["slow_share"], r["accuracy"]) for r in class_rows if r["arm"] == label)
        ax3.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
    ax3.set_xlabel("share of the class's training samples held by slow clients")
    ax3.set_ylabel("final test accuracy on the class")
    ax3.legend(fontsize=8)
    fig.suptitle(
        f"Inclusion rule at scale: {n_clients} clients, MNIST-1D, Dirichlet(0.1), 30% 10x slower, "
        f"z=1, seeds {seeds}"
    )
    fig.tight_layout()
    fig.savefig(opts.out / "inclusion_at_scale.png", dpi=110)
    plt.close(fig)
