"""The experiments of ``asfl experiment NAME``: each writes CSVs and a PNG to its directory.

Every experiment runs the real simulated protocol (crypto, certificates, inclusion
rule) on the digits task; sizes are chosen so that the default finishes in a few
minutes on 2 cores, ``full=True`` runs more seeds and rounds. What each measures:

- ``inclusion``: the inclusion mechanism (R-6, lead bound B) on (B = 1, B = 0) and
  off (B = 10^9: the coordinator just waits for all members but t_c) under 10x
  speed heterogeneity (timed scheduler, 30 % slow clients) and Dirichlet(0.1)
  labels: inclusions per client, privacy spent per client, accuracy per round.
- ``noise``: accuracy against the noise multiplier z (D-9) and the resulting
  per-client epsilon (D-10, RDP accountant, delta = 1e-5).
- ``forgery``: forged cluster results from the t_a Byzantine coordinators (ALIE and
  scaled sign flip), each robust rule against plain averaging. An ABLATION that
  bypasses certification: in the protocol, forged results are rejected; the real
  protocol's outcome (Byzantine aggregators with behaviour ``forge``) is reported
  beside it.
- ``momentum``: client momentum beta in {0, 0.9, 0.99}, without attack and under
  the ALIE ablation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from asfl.experiments.asyncsync import async_vs_sync
from asfl.experiments.dp_vs_ldp import dp_vs_ldp
from asfl.experiments.harness import (
    ATTACKS,
    RunResult,
    protocol,
    pyplot,
    run_instrumented,
    write_csv,
)
from asfl.experiments.inclusion_scale import inclusion_at_scale, skewed_run
from asfl.experiments.privacy_scale import privacy_at_scale
from asfl.impl.learning.data import load_digits_task
from asfl.impl.sim.run import DELTA, RunConfig

OFF = 10**9  # lead bound that never defers anyone: the inclusion mechanism switched off


@dataclass
class Options:
    """What the command line may change; ``None`` means the experiment's default."""

    out: Path
    full: bool = False
    seeds: Sequence[int] | None = None
    rounds: int | None = None
    beta: float | None = None
    values: Sequence[float] | None = None  # z values (noise), betas (momentum)
    rules: Sequence[str] | None = None  # forgery
    log: Callable[[str], None] = field(default=print)

    def pick_seeds(self, default: int, full: int) -> list[int]:
        return list(self.seeds) if self.seeds else list(range(full if self.full else default))

    def pick_rounds(self, default: int, full: int) -> int:
        return self.rounds or (full if self.full else default)


def _base(opts: Options, **overrides: Any) -> dict[str, Any]:
    kw: dict[str, Any] = {"n_clients": 40, "n_aggregators": 4, "t_a": 1, "t_c": 2, "q_min": 5}
    if opts.beta is not None:
        kw["beta"] = opts.beta
    kw.update(overrides)
    return kw


def _run(opts: Options, label: str, run: RunConfig, **kw: Any) -> RunResult:
    res = run_instrumented(run, **kw)
    opts.log(
        f"  {label} seed {run.seed}: {res.summary.status}, accuracy {res.final_accuracy:.3f} "
        f"(last 5 rounds {res.tail_accuracy:.3f}) "
        f"after {len(res.accuracy) - 1} rounds"
    )
    return res


def _round_rows(arm: dict[str, Any], res: RunResult, seed: int) -> list[dict[str, Any]]:
    return [
        {**arm, "seed": seed, "round": t, "accuracy": a, "accuracy_min": lo, "accuracy_max": hi}
        for t, (a, lo, hi) in enumerate(zip(res.accuracy, res.accuracy_min, res.accuracy_max, strict=True))
    ]


def _mean_curve(results: Sequence[RunResult]) -> np.ndarray:
    n = min(len(r.accuracy) for r in results)
    return np.mean([r.accuracy[:n] for r in results], axis=0)


# -- (a) inclusion -----------------------------------------------------------------------


def inclusion(opts: Options) -> dict[str, Any]:
    seeds, rounds = opts.pick_seeds(1, 3), opts.pick_rounds(20, 30)
    arms = {"off (B=1e9)": OFF, "on (B=1)": 1, "on (B=0)": 0}
    rows: list[dict[str, Any]] = []
    client_rows: list[dict[str, Any]] = []
    results: dict[str, list[RunResult]] = {}
    task = load_digits_task(seed=0)
    for label, bound in arms.items():
        results[label] = []
        for seed in seeds:
            cfg = protocol(**_base(opts, rounds=rounds, lead_bound=bound))
            run = skewed_run(cfg, seed)
            res = _run(opts, label, run, task=task)
            results[label].append(res)
            rows += _round_rows({"arm": label, "lead_bound": bound}, res, seed)
            slow_names = set(res.built.slow)
            for i, per_round in res.participation.items():
                client_rows.append(
                    {
                        "arm": label,
                        "lead_bound": bound,
                        "seed": seed,
                        "client": i,
                        "slow": f"C{i}" in slow_names,
                        "inclusions": sum(per_round),
                        "epsilon": res.epsilons[i],
                    }
                )
    write_csv(opts.out / "inclusion.csv", rows)
    write_csv(opts.out / "inclusion_clients.csv", client_rows)
    summary: dict[str, Any] = {}
    for label, rs in results.items():
        mine = [r for r in client_rows if r["arm"] == label]
        slow: list[int] = [r["inclusions"] for r in mine if r["slow"]]
        fast: list[int] = [r["inclusions"] for r in mine if not r["slow"]]
        eps: list[float] = [r["epsilon"] for r in mine]
        summary[label] = {
            "final_accuracy": float(np.mean([r.final_accuracy for r in rs])),
            "last5_accuracy": float(np.mean([r.tail_accuracy for r in rs])),
            "slow_inclusions_mean": float(np.mean(slow)),
            "fast_inclusions_mean": float(np.mean(fast)),
            "inclusions_min": min(slow + fast),
            "inclusions_max": max(slow + fast),
            "epsilon_min": min(eps),
            "epsilon_max": max(eps),
        }
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / len(arms)
    first = results[next(iter(arms))][0]
    slow_set = set(first.built.slow)
    order = sorted(range(first.built.cfg.n_clients), key=lambda i: (f"C{i}" not in slow_set, i))
    for k, label in enumerate(arms):
        counts = {i: np.mean([sum(r.participation[i]) for r in results[label]]) for i in order}
        ax1.bar(np.arange(len(order)) + k * width, [counts[i] for i in order], width, label=label)
        curve = _mean_curve(results[label])
        s = summary[label]
        ax2.plot(curve, label=f"{label}: eps {s['epsilon_min']:.0f}..{s['epsilon_max']:.0f}")
    n_slow = len(slow_set)
    ax1.axvspan(-0.5, n_slow - 0.5, color="grey", alpha=0.15, label="10x slow clients")
    ax1.set_xlabel("client (slow ones first)")
    ax1.set_ylabel(f"certified inclusions in {rounds} rounds")
    ax1.legend(fontsize=8)
    ax2.set_xlabel("round")
    ax2.set_ylabel("test accuracy (mean of honest aggregators)")
    ax2.legend(fontsize=8)
    fig.suptitle(
        f"Inclusion mechanism: 30% clients 10x slower, Dirichlet(0.1) labels, "
        f"z={first.built.cfg.noise_multiplier}, seeds {seeds}"
    )
    fig.tight_layout()
    fig.savefig(opts.out / "inclusion.png", dpi=110)
    plt.close(fig)
    return summary


# -- (b) noise ---------------------------------------------------------------------------


def noise(opts: Options) -> dict[str, Any]:
    seeds, rounds = opts.pick_seeds(1, 3), opts.pick_rounds(20, 30)
    zs = (
        list(opts.values)
        if opts.values
        else ([0.0, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0] if opts.full else [0.0, 0.1, 0.3, 1.0])
    )
    rows: list[dict[str, Any]] = []
    summary: dict[Any, Any] = {}
    task = load_digits_task(seed=0)
    for z in zs:
        accs, tails, eps_lo, eps_hi, incl = [], [], [], [], []
        for seed in seeds:
            cfg = protocol(**_base(opts, rounds=rounds, noise_multiplier=z))
            run = RunConfig(cfg, seed=seed, scheduler="random", byzantine=0, crashed=0, ghost=False)
            res = _run(opts, f"z={z}", run, task=task)
            rows += _round_rows({"noise_multiplier": z}, res, seed)
            accs.append(res.final_accuracy)
            tails.append(res.tail_accuracy)
            eps = list(res.epsilons.values())
            eps_lo.append(min(eps))
            eps_hi.append(max(eps))
            incl += [sum(p) for p in res.participation.values()]
        summary[z] = {
            "final_accuracy": float(np.mean(accs)),
            "last5_accuracy": float(np.mean(tails)),
            "final_accuracy_sd": float(np.std(accs)),
            "epsilon_min": min(eps_lo),
            "epsilon_max": max(eps_hi),
            "inclusions_min": min(incl),
            "inclusions_max": max(incl),
            "client_noise_var": res.built.cfg.client_noise_var,
        }
    write_csv(opts.out / "noise.csv", rows)
    write_csv(opts.out / "noise_summary.csv", [{"noise_multiplier": z, **s} for z, s in summary.items()])
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    xs = [max(z, 1e-2) for z in zs]
    ax.errorbar(
        xs,
        [summary[z]["final_accuracy"] for z in zs],
        yerr=[summary[z]["final_accuracy_sd"] for z in zs],
        marker="o",
    )
    for x, z in zip(xs, zs, strict=True):
        s = summary[z]
        text = (
            "eps=inf"
            if math.isinf(s["epsilon_max"])
            else f"eps {s['epsilon_min']:.3g}..{s['epsilon_max']:.3g}"
        )
        ax.annotate(text, (x, s["final_accuracy"]), textcoords="offset points", xytext=(4, 6), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("noise multiplier z (z=0 drawn at 0.01)")
    ax.set_ylabel(f"test accuracy after {rounds} rounds")
    ax.set_title(
        f"Accuracy vs distributed-DP noise (delta={DELTA}, per-client RDP), seeds {seeds}", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(opts.out / "noise.png", dpi=110)
    plt.close(fig)
    return summary


# -- (c) forgery -------------------------------------------------------------------------

FORGERY_RULES = [
    "mean",
    "trimmed_mean",
    "coordinate_median",
    "geometric_median",
    "krum",
    "meamed",
    "centered_clipping",
    "nnm+trimmed_mean",
]
FORGERY_RULES_FULL = [*FORGERY_RULES, "multi_krum", "mda", "nnm+krum", "nnm+geometric_median"]


def forgery(opts: Options) -> dict[str, Any]:
    seeds, rounds = opts.pick_seeds(1, 3), opts.pick_rounds(15, 30)
    rules = list(opts.rules) if opts.rules else (FORGERY_RULES_FULL if opts.full else FORGERY_RULES)
    rows: list[dict[str, Any]] = []
    summary: dict[Any, Any] = {}
    task = load_digits_task(seed=0)
    base = _base(opts, rounds=rounds)
    t_a = base["t_a"]
    forged = list(range(t_a))  # coordinators A0..A(t_a-1) forge their clusters' results
    curves: dict[str, dict[str, np.ndarray]] = {}
    for attack in ["none", *ATTACKS]:
        for rule in rules if attack != "none" else ["mean", "trimmed_mean"]:
            rs = []
            for seed in seeds:
                cfg = protocol(**{**base, "rule": rule})
                run = RunConfig(cfg, seed=seed, scheduler="random", byzantine=0, crashed=0, ghost=False)
                kw: dict[str, Any] = {}
                if attack != "none":
                    kw = {"forged_clusters": forged, "forger": ATTACKS[attack]()}
                res = _run(opts, f"{attack}/{rule}", run, task=task, **kw)
                rs.append(res)
                rows += _round_rows({"mode": "ablation", "attack": attack, "rule": rule}, res, seed)
            curves.setdefault(attack, {})[rule] = _mean_curve(rs)
            summary[f"ablation/{attack}/{rule}"] = {
                "final_accuracy": float(np.mean([r.final_accuracy for r in rs])),
                "last5_accuracy": float(np.mean([r.tail_accuracy for r in rs])),
            }
    # the real protocol: t_a Byzantine aggregators announce forged models and endorse junk
    for seed in seeds:
        cfg = protocol(**base)
        run = RunConfig(
            cfg, seed=seed, scheduler="random", byzantine=t_a, behaviour="forge", crashed=0, ghost=False
        )
        res = _run(opts, "protocol/forge", run, task=task)
        events = res.built.sim.trace.events
        rejected = sum(
            1
            for e in events
            if e["kind"] == "drop"
            and ("aggregate of its evidence" in e.get("reason", "") or "uncertified" in e.get("reason", ""))
        )
        honest_models = {e["model"] for e in events if e["kind"] == "aggregate"}
        accepted_forged = sum(1 for e in events if e["kind"] == "accept" and e["model"] not in honest_models)
        rows += _round_rows({"mode": "protocol", "attack": "forge", "rule": cfg.rule}, res, seed)
        summary[f"protocol/forge/seed{seed}"] = {
            "status": res.summary.status,
            "final_accuracy": res.final_accuracy,
            "last5_accuracy": res.tail_accuracy,
            "forged_announcements_rejected": rejected,
            "clients_accepting_forged_model": accepted_forged,
        }
        curves.setdefault("protocol", {})[f"{cfg.rule} (real protocol, forge)"] = np.asarray(res.accuracy)
    write_csv(opts.out / "forgery.csv", rows)
    plt = pyplot()
    attacks = list(ATTACKS)
    fig, axes = plt.subplots(1, len(attacks) + 1, figsize=(6 * (len(attacks) + 1), 4.8), sharey=True)
    for ax, attack in zip(axes, attacks, strict=False):
        for k, (rule, curve) in enumerate(curves[attack].items()):
            ax.plot(
                curve,
                label=rule,
                lw=2.2 if rule == "mean" else 1.2,
                ls="--" if rule == "mean" else "-",
                marker="os^vD<>px*h"[k % 11],
                markersize=3,
            )
        ax.plot(curves["none"]["mean"], color="black", lw=0.8, ls=":", label="no attack (mean)")
        ax.set_title(f"ABLATION, certification bypassed: {attack}", fontsize=10)
        ax.set_xlabel("round")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("test accuracy (honest aggregators)")
    ax = axes[-1]
    for label, curve in curves["protocol"].items():
        ax.plot(curve, label=label)
    ax.plot(curves["none"]["trimmed_mean"], color="black", lw=0.8, ls=":", label="no Byzantine node")
    ax.set_title("real protocol: forged results/models rejected", fontsize=10)
    ax.set_xlabel("round")
    ax.legend(fontsize=7)
    fig.suptitle(
        f"Forged cluster results from t_a={t_a} of n_a={base['n_aggregators']} coordinators, "
        f"{base['n_clients']} clients, IID, seeds {seeds}"
    )
    fig.tight_layout()
    fig.savefig(opts.out / "forgery.png", dpi=110)
    plt.close(fig)
    return summary


# -- (d) momentum ------------------------------------------------------------------------


def momentum(opts: Options) -> dict[str, Any]:
    seeds, rounds = opts.pick_seeds(1, 3), opts.pick_rounds(60, 100)
    betas = list(opts.values) if opts.values else [0.0, 0.9, 0.99]
    rows: list[dict[str, Any]] = []
    summary: dict[str, Any] = {}
    curves: dict[tuple[str, float], np.ndarray] = {}
    task = load_digits_task(seed=0)
    base = _base(opts, rounds=rounds)
    for attack in ["none", "alie"]:
        for beta in betas:
            rs = []
            for seed in seeds:
                cfg = protocol(**{**base, "beta": beta})
                run = RunConfig(
                    cfg,
                    seed=seed,
                    scheduler="random",
                    partition="dirichlet",
                    alpha=0.5,
                    byzantine=0,
                    crashed=0,
                    ghost=False,
                )
                kw: dict[str, Any] = {}
                if attack != "none":
                    kw = {"forged_clusters": list(range(cfg.t_a)), "forger": ATTACKS[attack]()}
                res = _run(opts, f"{attack}/beta={beta}", run, task=task, **kw)
                rs.append(res)
                rows += _round_rows({"attack": attack, "beta": beta, "rule": cfg.rule}, res, seed)
            curves[(attack, beta)] = _mean_curve(rs)
            summary[f"{attack}/beta={beta}"] = {
                "final_accuracy": float(np.mean([r.final_accuracy for r in rs])),
                "last5_accuracy": float(np.mean([r.tail_accuracy for r in rs])),
            }
    write_csv(opts.out / "momentum.csv", rows)
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for ax, attack in zip(axes, ["none", "alie"], strict=True):
        for beta in betas:
            ax.plot(curves[(attack, beta)], label=f"beta={beta}")
        title = "no attack" if attack == "none" else "ALIE forgery from t_a coordinators (ABLATION)"
        ax.set_title(f"{title}, rule {base.get('rule', 'trimmed_mean')}", fontsize=10)
        ax.set_xlabel("round")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("test accuracy (honest aggregators)")
    fig.suptitle(f"Client momentum, Dirichlet(0.5) labels, {base['n_clients']} clients, seeds {seeds}")
    fig.tight_layout()
    fig.savefig(opts.out / "momentum.png", dpi=110)
    plt.close(fig)
    return summary


EXPERIMENTS: dict[str, Callable[[Options], dict[str, Any]]] = {
    "inclusion": inclusion,
    "noise": noise,
    "forgery": forgery,
    "momentum": momentum,
    "inclusion-at-scale": inclusion_at_scale,  # experiments/inclusion_scale.py (issue 11, 6(c))
    "async-vs-sync": async_vs_sync,  # experiments/asyncsync.py (issue 11, 6(b))
    "privacy-at-scale": privacy_at_scale,  # experiments/privacy_scale.py (issue 11, 5)
    "dp-vs-ldp": dp_vs_ldp,  # experiments/dp_vs_ldp.py (issue 11, 6(a))
}


def run_experiment(name: str, opts: Options) -> dict[str, Any]:
    """Run experiment ``name``; its files go to ``opts.out``."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose from {', '.join(EXPERIMENTS)}")
    opts.out.mkdir(parents=True, exist_ok=True)
    return EXPERIMENTS[name](opts)
