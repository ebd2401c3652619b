"""With no faults and no noise, the protocol computes federated averaging (issue 5, item 6).

The run's client updates are captured before quantisation (experiments/harness),
then the model trajectory is recomputed in float64 from them: for every honest
aggregator and round, w_{r+1} = w_r - lr * AGG(U_r), U_r the float means of the
clusters that aggregator used (the ``aggregate`` event) over the clients of each
certified set. This is federated averaging with one weight per cluster (D-15).

Bound (D-5): a client's quantised update is within 2^-(frac_bits+1) of its real one
per coordinate (no clamping: clip + 0 noise << Q / 2^frac_bits), the cluster sum is
exact (no wrap-around), so each cluster mean is within 2^-(frac_bits+1). The mean,
the coordinate-wise trimmed mean and the median move by at most that much when
every input coordinate moves by at most that much (they are 1-Lipschitz in the sup
norm), so each round adds at most lr * 2^-(frac_bits+1) per coordinate, and after R
rounds |w_R - w_R^FedAvg| <= R * lr * 2^-(frac_bits+1) per coordinate (plus float64
rounding, far smaller).
"""

from __future__ import annotations

import numpy as np
import pytest

from asfl.experiments.harness import protocol, run_instrumented
from asfl.impl.learning.robust import get_aggregator
from asfl.impl.sim.run import RunConfig


@pytest.mark.parametrize("rule", ["mean", "trimmed_mean", "coordinate_median"])
def test_protocol_equals_fedavg_up_to_quantisation(rule):
    cfg = protocol(
        n_clients=8,
        n_aggregators=4,
        t_a=1,
        t_c=0,
        q_min=2,
        rounds=4,
        noise_multiplier=0.0,
        rule=rule,
        frac_bits=12,
    )
    run = RunConfig(cfg, seed=3, scheduler="random", byzantine=0, crashed=0, ghost=False)
    res = run_instrumented(run)
    built, rec = res.built, res.recorder
    assert res.summary.status == "complete"
    used = {
        (e["node"], e["round"]): e["clusters"] for e in built.sim.trace.events if e["kind"] == "aggregate"
    }
    agg_rule = get_aggregator(rule)
    per_round = cfg.lr * 2.0 ** -(cfg.frac_bits + 1)
    worst = 0.0
    for name, agg in built.aggregators.items():
        w = np.zeros(built.cfg.dim)
        for tau in range(cfg.rounds):
            means = []
            for c in used[(name, tau + 1)]:
                acc = agg.clusters[(tau, c)].accepted
                assert acc is not None
                clients = acc.clients
                means.append(np.mean([rec.updates[(tau, i)] for i in clients], axis=0))
            w = w - cfg.lr * agg_rule(np.stack(means), cfg.t_a)
            err = float(np.max(np.abs(agg.models[tau + 1] - w)))
            assert err <= (tau + 1) * per_round + 1e-12, (name, tau, err)
            worst = max(worst, err)
    assert worst > 0  # quantisation did happen: the bound is not vacuous
