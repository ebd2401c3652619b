"""Instrumented protocol runs for the learning experiments (issue 5).

A run here is a real simulated run of the protocol (impl/sim/run.execute) with two
kinds of instrumentation, both through subclasses passed to ``build`` and never
through the protocol code:

- :class:`Recorder`-backed clients record every submitted update *before* rounding
  (clipped momentum plus its integer noise in real units, D-9), keyed by ``(round, client)``;
- an optional *forgery ablation*: the cluster results of chosen coordinators are
  replaced, at every node, by a forged mean. This bypasses certification on
  purpose (in the real protocol every honest node recomputes a cluster result from
  its certified evidence, R-12/R-17, so a forged result is never attested); it measures
  what the robust aggregator alone would do against forged inputs.

After the run, :func:`round_metrics` reads every honest aggregator's model chain
(``Aggregator.models``) and evaluates it per round.
"""

from __future__ import annotations

import copy
import csv
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from asfl.impl.aggregator import Aggregator, ClusterResult
from asfl.impl.client import Client
from asfl.impl.config import ProtocolConfig
from asfl.impl.learning.data import Task, load_digits_task
from asfl.impl.learning.noise import skellam
from asfl.impl.learning.privacy import client_epsilons
from asfl.impl.learning.quantize import clip_l2, dequantize
from asfl.impl.messages import ClusterEvidence
from asfl.impl.sim.run import DELTA, Built, RunConfig, RunSummary, certified_sets, execute

Forger = Callable[["Recorder", int, int, np.ndarray, Sequence[int]], np.ndarray]


@dataclass
class Recorder:
    """Shared by the instrumented nodes of one run."""

    updates: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)
    forged_clusters: frozenset[int] = frozenset()
    forger: Forger | None = None
    forged: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)

    def forged_mean(self, tau: int, c: int, true_mean: np.ndarray, clients: Sequence[int]) -> np.ndarray:
        """The forged mean of ``(tau, c)``: computed once, the same at every node."""
        if (tau, c) not in self.forged:
            assert self.forger is not None
            self.forged[(tau, c)] = np.asarray(
                self.forger(self, tau, c, true_mean, clients), dtype=np.float64
            )
        return self.forged[(tau, c)]


def alie(z: float = 1.0) -> Forger:
    """ "A little is enough" (Baruch, Baruch, Goldberg, NeurIPS 2019): mean minus z standard
    deviations, per coordinate, of the cluster's own client updates (an omniscient
    coordinator). Small enough to look honest, consistent enough to bias the model."""

    def forge(rec: Recorder, tau: int, c: int, true_mean: np.ndarray, clients: Sequence[int]) -> np.ndarray:
        U = np.stack([rec.updates[(tau, i)] for i in clients])
        return np.asarray(true_mean - z * U.std(axis=0))

    return forge


def sign_flip(scale: float = 4.0) -> Forger:
    """Sign flipping, scaled: ``-scale`` times the cluster's true mean."""

    def forge(rec: Recorder, tau: int, c: int, true_mean: np.ndarray, clients: Sequence[int]) -> np.ndarray:
        return np.asarray(-scale * true_mean)

    return forge


ATTACKS: dict[str, Callable[[], Forger]] = {"alie": alie, "sign_flip": sign_flip}


def instrumented_classes(rec: Recorder) -> tuple[type[Client], type[Aggregator]]:
    """Client and aggregator subclasses bound to ``rec`` (recording, optional forgery)."""

    class RecordingClient(Client):
        def _submit(self, tau: int) -> list[Any]:
            # _submit's only use of self.rng is the noise draw: replay it on a copy
            rng, cfg = copy.deepcopy(self.rng), self.cfg
            clipped = clip_l2(self.state.momentum, cfg.clip)
            noise = dequantize(skellam(cfg.client_noise_var, cfg.dim, rng), cfg.frac_bits)
            rec.updates[(tau, self.index)] = clipped + noise
            return super()._submit(tau)

    class ForgingAggregator(Aggregator):
        def _verified_mean(self, tau: int, ev: ClusterEvidence) -> np.ndarray:
            true_mean = super()._verified_mean(tau, ev)  # an attester's recheck of an offer
            if ev.cluster not in rec.forged_clusters:
                return true_mean
            return rec.forged_mean(tau, ev.cluster, true_mean, [i for i, _ in ev.entries])

        def _reconstruct(self, tau: int, c: int) -> list[Any]:
            out = super()._reconstruct(tau, c)
            st = self.clusters[(tau, c)]
            result = st.result  # mean and evidence are None if the round was already aggregated
            if out and c in rec.forged_clusters and result and result.mean is not None and result.evidence:
                clients = [i for i, _ in result.evidence.entries]
                forged = rec.forged_mean(tau, c, result.mean, clients)
                st.result = ClusterResult(forged, result.evidence)
            return out

    return RecordingClient, ForgingAggregator


@dataclass
class RunResult:
    """A finished instrumented run and its per-round metrics."""

    summary: RunSummary
    built: Built
    recorder: Recorder
    accuracy: list[float]  # per round 0..R, mean over the evaluated honest aggregators
    accuracy_min: list[float]
    accuracy_max: list[float]
    participation: dict[int, list[int]]  # client -> certified inclusions per round
    epsilons: dict[int, float]  # per client, at DELTA

    @property
    def final_accuracy(self) -> float:
        return self.accuracy[-1] if self.accuracy else math.nan

    @property
    def tail_accuracy(self) -> float:
        """Mean accuracy of the last 5 rounds: less noisy than the final round alone."""
        return float(np.mean(self.accuracy[-5:])) if self.accuracy else math.nan


def round_metrics(built: Built, exclude: Iterable[int] = ()) -> tuple[list[float], list[float], list[float]]:
    """Test accuracy of the run's model per round: (mean, min, max) over honest aggregators not
    in ``exclude``.

    Rounds an aggregator never reached are skipped for it; a round no one reached ends
    the lists.
    """
    task, skip, accuracy = built.task, {f"A{j}" for j in exclude}, built.model.accuracy
    aggs = [a for name, a in sorted(built.aggregators.items()) if name not in skip]
    mean_acc, lo, hi = [], [], []
    for tau in range(built.cfg.rounds + 1):
        accs = [
            accuracy(a.models[tau], task.X_test, task.y_test, task.n_classes) for a in aggs if tau in a.models
        ]
        if not accs:
            break
        mean_acc.append(float(np.mean(accs)))
        lo.append(float(min(accs)))
        hi.append(float(max(accs)))
    return mean_acc, lo, hi


def run_instrumented(
    run: RunConfig,
    *,
    task: Task | None = None,
    forged_clusters: Iterable[int] = (),
    forger: Forger | None = None,
) -> RunResult:
    """Execute ``run`` with recording nodes (and the forgery ablation if ``forger``)."""
    rec = Recorder(forged_clusters=frozenset(forged_clusters), forger=forger)
    client_cls, agg_cls = instrumented_classes(rec)
    task = task if task is not None else load_digits_task(seed=0)
    summary, built = execute(run, task=task, client_cls=client_cls, aggregator_cls=agg_cls)
    acc, lo, hi = round_metrics(built, exclude=rec.forged_clusters)
    sets = certified_sets(built.aggregators.values())
    part = {i: [0] * built.cfg.rounds for i in range(built.cfg.n_clients)}
    for (tau, _), clients in sets.items():
        for i in clients:
            part[i][tau] += 1
    eps = client_epsilons(built.cfg.skellam, {i: sum(r) for i, r in part.items()}, DELTA)
    return RunResult(summary, built, rec, acc, lo, hi, part, eps)


def protocol(**overrides: Any) -> ProtocolConfig:
    """The experiments' base protocol configuration (ProtocolConfig defaults plus overrides)."""
    return replace(ProtocolConfig(), **overrides)


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write dict rows (the union of their keys, in first-seen order) as CSV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _fmt(v) for k, v in row.items()})


def _fmt(v: Any) -> Any:
    if isinstance(v, float):
        return "inf" if math.isinf(v) else f"{v:.6g}"
    return v


def pyplot() -> Any:
    """matplotlib.pyplot with the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
