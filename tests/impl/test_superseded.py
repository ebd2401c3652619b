"""D-17 regression: an honest aggregator drops the vectors of a proposal it will never
release or reconstruct (found when R-6 changed: with an equivocating coordinator the
honest endorsements split 2/2 in most rounds, and the accepted masked and share sums of
those clusters were kept for ever, so state grew with rounds)."""

from __future__ import annotations

from asfl.impl.aggregator import _superseded
from asfl.impl.config import ProtocolConfig
from asfl.impl.learning.data import load_digits_task
from asfl.impl.sim.run import RunConfig, build


def test_superseded_clusters_keep_no_vectors() -> None:
    cfg = ProtocolConfig(n_clients=16, n_aggregators=4, t_a=1, t_c=1, q_min=2, batch_size=4, rounds=6)
    run = RunConfig(cfg, seed=1, byzantine=1, crashed=1)
    built = build(run, task=load_digits_task(seed=0))
    assert built.sim.run(2_000_000) == "complete"
    superseded = 0
    for agg in built.aggregators.values():
        for st in agg.clusters.values():
            if _superseded(st, cfg.n_aggregators, cfg.quorum):
                superseded += 1
                assert st.accepted is not None and st.accepted.masked_sum.size == 0
                assert st.accepted.share_sum.size == 0 and not st.released and st.result is None
                assert all(r.share_sum.size == 0 for r in st.releases.values())
    assert superseded > 0  # the equivocating coordinator produced some (the case is covered)
