"""``privacy-at-scale`` and ``dp-vs-ldp`` at tiny sizes: files written, figures consistent
with the accountant (D-9, D-10)."""

from __future__ import annotations

import csv
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from asfl.experiments import dp_vs_ldp as ldp
from asfl.experiments import privacy_scale as ps
from asfl.experiments.catalog import EXPERIMENTS, Options
from asfl.experiments.harness import protocol
from asfl.impl.learning import mlp
from asfl.impl.learning.data import load_mnist1d_task
from asfl.impl.learning.models import MODELS, get_model
from asfl.impl.learning.privacy import epsilon
from asfl.impl.sim.run import genesis_params


def quiet(out: Path) -> Options:
    return Options(out=out, log=lambda _: None)


def test_calibrate_finds_the_smallest_multiplier_meeting_the_target() -> None:
    cfg = protocol(dim=410)
    z = ps.calibrate(cfg, 10, 8.0)
    assert epsilon(replace(cfg, noise_multiplier=z).skellam, 10) <= 8.0
    assert epsilon(replace(cfg, noise_multiplier=z / 1.01).skellam, 10) > 8.0
    for bad in (0.0, math.inf):
        with pytest.raises(ValueError, match="target epsilon"):
            ps.calibrate(cfg, 10, bad)


def test_privacy_at_scale_tiny(tmp_path: Path) -> None:
    """A 40-client run: every correct client's reported epsilon is at most the target, the
    missing-shares figure is larger and the actual-sizes one no larger; CSVs and PNG exist."""
    assert "privacy-at-scale" in EXPERIMENTS and "dp-vs-ldp" in EXPERIMENTS
    scale = ps.Scale(clients=40, t_c=2, crashed=1, rounds=2, samples=1000)
    s = ps.privacy_at_scale(quiet(tmp_path), scale)
    assert s["status"] == s["status_no_noise"] == "complete"
    assert 0 < s["epsilon_max"] <= 8.0 and s["inclusions_max"] <= 2
    assert s["epsilon_actual_sizes_max"] <= s["epsilon_max"] < s["epsilon_missing_shares_max"]
    assert s["smallest_set"] >= s["q_min"] == 8 and s["missing_shares_h"] == 6
    clients = list(csv.DictReader((tmp_path / "privacy_at_scale_clients.csv").open()))
    assert len(clients) == 40 and sum(r["crashed"] == "True" for r in clients) == 1
    rounds = list(csv.DictReader((tmp_path / "privacy_at_scale.csv").open()))
    assert {r["arm"] for r in rounds} == {"noise", "no noise"} and len(rounds) == 6
    assert (tmp_path / "privacy_at_scale.png").stat().st_size > 1000
    # accuracy is the experiment's MLP's (softmax's would not even accept its parameters)
    model, cfg = get_model(scale.model), protocol(dim=s["dim"])
    task = load_mnist1d_task(n_samples=scale.samples, seed=0)
    w0 = genesis_params(cfg, task, model)
    assert s["dim"] == w0.size == 2698 and s["model"] == "mlp-32x32"
    start = [float(r["accuracy"]) for r in rounds if r["round"] == "0"]
    assert start == pytest.approx([model.accuracy(w0, task.X_test, task.y_test, 10)] * 2, abs=1e-6)


def test_sized_mlp_by_name_is_the_mlp_with_those_hidden_layers() -> None:
    """``mlp-32x32`` is mlp.py's network with hidden (32, 32); ``mlp`` stays the 2x100; the
    command line's choices are unchanged; malformed sizes are refused."""
    small, default = get_model("mlp-32x32"), get_model("mlp")
    assert set(MODELS) == {"softmax", "mlp"} and default is MODELS["mlp"]
    assert small.name == "mlp-32x32" and default.name == "mlp" and get_model("mlp-100x100").name == "mlp"
    assert small.param_dim(40, 10) == mlp.param_dim(40, 10, (32, 32)) == 2698
    assert get_model("mlp-7").param_dim(5, 3) == 5 * 7 + 7 + 7 * 3 + 3
    rng = np.random.default_rng(3)
    w = small.init(40, 10, rng)
    X, y = rng.normal(size=(16, 40)), rng.integers(0, 10, 16)
    assert np.array_equal(
        small.gradient(w, X, y, 10, l2=0.01), mlp.gradient(w, X, y, 10, l2=0.01, hidden=(32, 32))
    )
    assert small.accuracy(w, X, y, 10) == mlp.accuracy(w, X, y, 10, (32, 32))
    for bad in ("mlp-0x3", "mlp-", "mlp-32x", "mlp-1x2x3x4x5", "MLP-3", "mlp-03"):
        with pytest.raises(ValueError, match="unknown model"):
            get_model(bad)


def test_dp_vs_ldp_tiny(tmp_path: Path) -> None:
    """Both arms at one epsilon report the same accountant figure, at most the target."""
    s = ldp.dp_vs_ldp(quiet(tmp_path), ldp.Size(clients=40, t_c=1, rounds=2, epsilons=(8.0,)))
    dist, local = s["distributed/eps=8.0"], s["local/eps=8.0"]
    assert dist["noise_multiplier"] == local["noise_multiplier"]
    assert dist["epsilon_max"] == pytest.approx(local["epsilon_max"]) and dist["epsilon_max"] <= 8.0
    assert math.isinf(s["no noise/eps=inf"]["epsilon_max"])
    rows = list(csv.DictReader((tmp_path / "dp_vs_ldp.csv").open()))
    assert {r["mode"] for r in rows} == {"no noise", "distributed", "local"}
    assert (tmp_path / "dp_vs_ldp.png").stat().st_size > 1000


def test_local_dp_config_puts_the_whole_noise_on_each_client() -> None:
    cfg = protocol(dim=410, noise_multiplier=1.0)
    local = replace(cfg, noise_shares=1).validate()
    assert local.client_noise_var == pytest.approx(cfg.skellam.variance)
    assert cfg.client_noise_var == pytest.approx(cfg.skellam.variance / cfg.q_min)
    assert local.noise_headroom > cfg.noise_headroom and local.quant_bound < cfg.quant_bound
