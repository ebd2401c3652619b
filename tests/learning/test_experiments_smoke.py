"""The experiment harness and ``asfl experiment`` on tiny sizes (CSV and PNG written)."""

from __future__ import annotations

import csv

import numpy as np
from click.testing import CliRunner

from asfl import cli_experiment
from asfl.experiments.harness import protocol, run_instrumented, sign_flip
from asfl.impl.sim.run import RunConfig


def test_noise_experiment_writes_csv_and_png(tmp_path):
    out = tmp_path / "noise"
    args = ["noise", "--out", str(out), "--rounds", "2", "--values", "0.5"]
    result = CliRunner().invoke(cli_experiment.command, args)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "noise.csv").open()))
    assert [r["round"] for r in rows] == ["0", "1", "2"]
    assert (out / "noise.png").stat().st_size > 1000
    assert '"0.5"' in result.output


def test_forgery_ablation_is_accepted_by_clients_and_moves_the_model():
    cfg = protocol(n_clients=8, n_aggregators=4, t_a=1, t_c=0, q_min=2, rounds=2, rule="mean")
    run = RunConfig(cfg, seed=1, scheduler="fifo", byzantine=0, crashed=0, ghost=False)
    clean = run_instrumented(run)
    forged = run_instrumented(run, forged_clusters=[0], forger=sign_flip(4.0))
    assert clean.summary.status == forged.summary.status == "complete"  # clients accepted
    assert forged.recorder.forged  # cluster 0 results were replaced
    a, b = clean.built.aggregators["A1"], forged.built.aggregators["A1"]
    assert not np.allclose(a.models[2], b.models[2])
