"""``asfl experiment dp-vs-ldp``: distributed DP against local DP at equal epsilon (issue 11, 6a).

Both arms run the real simulated protocol with the same Skellam mechanism and the same
accountant (D-9, D-10), at noise multipliers calibrated so that a client included in every
round ends at the target epsilon (``delta = 1e-5``):

- *distributed*: each client adds ``Sk(mu / q_min)``; only a revealed sum of ``>= q_min``
  clients carries ``Sk(mu)`` (secure aggregation hides the rest);
- *local*: each client adds ``Sk(mu)`` itself (``noise_shares = 1``), so its own message is
  ``(epsilon, delta)``-private without trusting the aggregation; a sum of ``|I|`` messages
  then carries ``|I|`` times the noise.

The runs' end-of-run accounting reports the same epsilon for both: each client's inclusions
at ``mu``. Accuracy is compared with the run without noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from asfl.experiments.harness import protocol, pyplot, round_metrics, write_csv
from asfl.experiments.privacy_scale import calibrate
from asfl.impl.learning.data import load_digits_task
from asfl.impl.learning.models import get_model
from asfl.impl.learning.privacy import DELTA
from asfl.impl.sim.run import RunConfig, execute

if TYPE_CHECKING:
    from asfl.experiments.catalog import Options

MODES = {"distributed": 0, "local": 1}  # noise_shares: 0 is q_min (D-9)


@dataclass(frozen=True)
class Size:
    """Clients, rounds and target epsilons (tests pass a tiny one)."""

    clients: int = 400
    aggregators: int = 4
    t_c: int = 5
    rounds: int = 10
    epsilons: tuple[float, ...] = (2.0, 8.0, 32.0)


FULL = Size(clients=1000, t_c=10, rounds=20, epsilons=(1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0))


def dp_vs_ldp(opts: Options, size: Size | None = None) -> dict[str, Any]:
    sz = size or (FULL if opts.full else Size())
    if opts.rounds:
        sz = replace(sz, rounds=opts.rounds)
    if opts.values:
        sz = replace(sz, epsilons=tuple(opts.values))
    seed = opts.seeds[0] if opts.seeds else 0
    task = load_digits_task(seed=0)
    base = protocol(
        n_clients=sz.clients,
        n_aggregators=sz.aggregators,
        t_a=1,
        t_c=sz.t_c,
        q_min=sz.clients // sz.aggregators - sz.t_c,
        rounds=sz.rounds,
        dim=get_model("softmax").param_dim(task.n_features, task.n_classes),
        **({} if opts.beta is None else {"beta": opts.beta}),
    )
    rows: list[dict[str, Any]] = []
    summary: dict[str, Any] = {}

    def arm(label: str, cfg: Any, target: float) -> None:
        run = RunConfig(cfg, seed=seed, scheduler="random", byzantine=0, crashed=0, ghost=False)
        res, built = execute(run, task=task)
        acc, _, _ = round_metrics(built)
        eps = max(res.epsilons.values())
        z = cfg.noise_multiplier
        opts.log(f"  {label} eps {target}: z = {z:.3f}, accuracy {acc[-1]:.3f}, eps {eps:.3g}")
        summary[f"{label}/eps={target}"] = {
            "mode": label,
            "target_epsilon": target,
            "noise_multiplier": cfg.noise_multiplier,
            "epsilon_max": eps,
            "status": res.status,
            "final_accuracy": acc[-1],
            "last3_accuracy": sum(acc[-3:]) / len(acc[-3:]),
        }
        arm_id = {"mode": label, "target_epsilon": target}
        rows.extend({**arm_id, "round": t, "accuracy": a} for t, a in enumerate(acc))

    arm("no noise", replace(base, noise_multiplier=0.0), math.inf)
    for target in sz.epsilons:
        z = calibrate(base, sz.rounds, target)
        for label, shares in MODES.items():
            arm(label, replace(base, noise_multiplier=z, noise_shares=shares), target)
    write_csv(opts.out / "dp_vs_ldp.csv", rows)
    write_csv(opts.out / "dp_vs_ldp_summary.csv", list(summary.values()))
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label in MODES:
        mine = [s for s in summary.values() if s["mode"] == label]
        pts = sorted((s["target_epsilon"], s["final_accuracy"]) for s in mine)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=f"{label} DP")
    ax.axhline(summary["no noise/eps=inf"]["final_accuracy"], color="black", ls=":", label="no noise")
    ax.set_xscale("log")
    ax.set_xlabel(f"epsilon per client after {sz.rounds} rounds (delta = {DELTA}, Skellam RDP)")
    ax.set_ylabel(f"test accuracy after {sz.rounds} rounds")
    title = f"Distributed vs local DP at equal epsilon: digits, {sz.clients} clients, seed {seed}"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(opts.out / "dp_vs_ldp.png", dpi=110)
    plt.close(fig)
    return summary
