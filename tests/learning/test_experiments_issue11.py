"""Smoke tests of ``asfl experiment inclusion-at-scale`` and ``async-vs-sync`` (issue 11,
6(b) and 6(c)) on tiny sizes, and the synchronous baseline's bookkeeping."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from click.testing import CliRunner

from asfl import cli_experiment
from asfl.experiments import asyncsync, inclusion_scale
from asfl.experiments.harness import protocol
from asfl.impl.learning.data import load_digits_task
from asfl.impl.sim.run import RunConfig


def test_inclusion_at_scale_writes_csv_and_png(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inclusion_scale, "CLIENTS", 24)
    monkeypatch.setattr(inclusion_scale, "SAMPLES", 2000)
    out = tmp_path / "ias"
    result = CliRunner().invoke(
        cli_experiment.command, ["inclusion-at-scale", "--out", str(out), "--rounds", "2"]
    )
    assert result.exit_code == 0, result.output
    clients = list(csv.DictReader((out / "inclusion_at_scale_clients.csv").open()))
    assert {r["arm"] for r in clients} == set(inclusion_scale.ARMS)
    assert len(clients) == 24 * len(inclusion_scale.ARMS)
    assert all(0 <= int(r["inclusions"]) <= 2 for r in clients)  # one cluster per round
    classes = list(csv.DictReader((out / "inclusion_at_scale_classes.csv").open()))
    assert len(classes) == 10 * len(inclusion_scale.ARMS)  # MNIST-1D has 10 classes
    assert (out / "inclusion_at_scale.png").stat().st_size > 1000
    assert '"slow_inclusions_mean"' in result.output


def test_async_vs_sync_writes_csv_and_png(tmp_path) -> None:
    out = tmp_path / "avs"
    result = CliRunner().invoke(cli_experiment.command, ["async-vs-sync", "--out", str(out), "--rounds", "2"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "async_vs_sync.csv").open()))
    assert {r["law"] for r in rows} == {"pareto", "lognormal"}
    for law in ("pareto", "lognormal"):
        arms = {r["arm"] for r in rows if r["law"] == law}
        assert "async (asfl)" in arms and "sync (wait all)" in arms and len(arms) == 3
        for arm in arms:
            times = [float(r["time"]) for r in rows if r["law"] == law and r["arm"] == arm]
            assert len(times) == 3 and times[0] == 0.0 and times == sorted(times) and times[-1] > 0
    assert (out / "async_vs_sync.png").stat().st_size > 1000


def test_sync_baseline_waits_for_all_or_the_timeout() -> None:
    """Wait-all includes every client each round and takes at least the slowest step;
    a short timeout includes fewer clients, takes less time, and still aggregates
    n_a - t_a clusters of q_min updates (it waits longer when it must)."""
    cfg = protocol(n_clients=12, n_aggregators=4, t_a=1, t_c=1, q_min=2, rounds=3)
    run = RunConfig(cfg, seed=0, scheduler="timed", byzantine=0, crashed=0, ghost=False)
    task = load_digits_task(seed=0)
    speeds = asyncsync.client_speeds(12, "pareto", 0)
    full = asyncsync.run_sync(run, task, speeds, None)
    cut = asyncsync.run_sync(run, task, speeds, 0.5)  # shorter than any step: waits for quorum
    assert full.included == [12, 12, 12]
    assert all(n < 12 for n in cut.included)
    assert all(n >= cfg.quorum * cfg.q_min for n in cut.included)
    assert np.diff(full.times).min() >= asyncsync.STEP_TIME * max(speeds) * 0.3
    assert cut.times[-1] < full.times[-1]
    with pytest.raises(ValueError, match="pareto or lognormal"):
        asyncsync.client_speeds(3, "cauchy", 0)
