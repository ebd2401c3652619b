"""The noise the client node actually adds (D-9, D-13, P-4), measured statistically.

A real simulated run (impl/sim/run.build, the timed scheduler with slow clients so that
some local steps submit for several rounds at once, D-13) in which every client's injected
trainer returns a zero gradient: the momentum stays 0, so the ghost quantised update of
each submission is exactly the node's integer noise draw on the fixed-point grid (D-5,
D-9: Skellam noise added after rounding). The expected variance is D-9's formula, written
here from the spec, never read from the code: ``v = (z Delta_2)^2 / q_min`` grid steps
squared, with ``Delta_2 = C 2^f + sqrt(d) / 2``.

False alarms: each test function below rejects a correct implementation with probability
at most ``ALPHA = 1e-6`` (for an unlucky seed; the seed is fixed, so the outcome is
deterministic); a function making several decisions splits ``ALPHA`` among them
(Bonferroni). At ``v`` near 1.4e9 the Skellam law is Gaussian to within its largest
probability, below 1e-5 (the normality and cosine tests rely on it), and the variance of
a sum of squares exceeds the chi-square's by a relative ``1 / (2 v)``, ignored.

Power (d = 512, 96 submissions, N = 49152 samples): the pooled variance test has a relative
standard error of ``sqrt(2 / N) = 0.64 %`` and rejects a noise std off by more than about
1.6 %, far less than a factor ``sqrt(q_min) = 1.73``; a pair of submissions sharing its noise
has correlation 1, against a rejection threshold near 0.28.
"""

from __future__ import annotations

import base64
import itertools
import math
from dataclasses import dataclass

import numpy as np
import pytest
from scipy import stats

from asfl.impl import field as gf
from asfl.impl.client import Client
from asfl.impl.config import ProtocolConfig
from asfl.impl.learning.data import Task
from asfl.impl.sim.run import RunConfig, build

ALPHA = 1e-6
CFG = ProtocolConfig(
    n_clients=16, n_aggregators=4, t_a=1, t_c=1, q_min=3, rounds=6, batch_size=4, noise_multiplier=0.5
)
FEATURES = 255  # softmax regression on 255 features and 2 classes: d = 512


@dataclass(frozen=True)
class Drawn:
    """The noise of every submission of a run, and the run's revealed sums."""

    cfg: ProtocolConfig
    noise: dict[tuple[int, int], np.ndarray]  # (client, round) -> noise vector (real units)
    steps: list[list[tuple[int, int]]]  # the submissions of each local step, in order
    sums: dict[str, tuple[int, np.ndarray]]  # pd -> (set size, revealed sum, real units)


def spec_sigma(cfg: ProtocolConfig) -> float:
    """D-9 as the spec writes it: the std of a client's noise, in real units."""
    delta_2 = cfg.clip * 2**cfg.frac_bits + math.sqrt(cfg.dim) / 2
    return cfg.noise_multiplier * delta_2 / math.sqrt(cfg.q_min) / 2**cfg.frac_bits


def decode(cfg: ProtocolConfig, text: str) -> np.ndarray:
    q = gf.decode_signed(gf.from_bytes(base64.b64decode(text), cfg.dim))
    return q.astype(np.float64) / 2.0**cfg.frac_bits


def zero_gradient(model: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.zeros_like(model)


@pytest.fixture(scope="module")
def drawn() -> Drawn:
    rng = np.random.default_rng(0)
    x = rng.random((64, FEATURES))
    y = (x[:, 0] > x[:, 1]).astype(np.int64)
    task = Task(x, y, x[:16].copy(), y[:16].copy(), FEATURES, 2, "wide")
    run = RunConfig(CFG, seed=0, scheduler="timed", slow_fraction=0.25, crashed=0, ghost=True)
    built = build(run, task=task)
    for node in built.sim.nodes.values():
        if isinstance(node, Client):
            node.trainer = zero_gradient  # the node's injected trainer (Client.__init__)
    assert built.sim.run(run.max_steps) == "complete"
    cfg = built.cfg
    noise: dict[tuple[int, int], np.ndarray] = {}
    steps: list[list[tuple[int, int]]] = []
    sums: dict[str, tuple[int, np.ndarray]] = {}
    current: list[tuple[int, int]] | None = None
    for e in built.sim.trace.events:
        if e["kind"] == "local_step":
            current = []
            steps.append(current)
        elif e["kind"] in ("deliver", "crash"):
            current = None
        elif e["kind"] == "submit":
            key = (int(e["node"][1:]), e["round"])
            noise[key] = decode(cfg, e["ghost"]["x"])
            assert current is not None, "a submit outside a local step"
            current.append(key)
        elif e["kind"] == "reconstruct":
            sums[e["pd"]] = (e["size"], decode(cfg, e["ghost"]["sum"]))
    return Drawn(cfg, noise, steps, sums)


def test_the_run_covers_catch_up_submissions(drawn: Drawn) -> None:
    """What the tests below cover: every client submits for every round, and several local
    steps submit for more than one round (D-13 catch-up)."""
    cfg = drawn.cfg
    assert cfg.dim == 512
    assert set(drawn.noise) == {(i, t) for i in range(cfg.n_clients) for t in range(cfg.rounds)}
    catch_up = [s for s in drawn.steps if len(s) > 1]
    assert len(catch_up) >= 5 and sum(len(s) - 1 for s in catch_up) >= 8
    assert len(drawn.sums) >= cfg.rounds * cfg.quorum
    assert cfg.frac_bits == 16 and cfg.noise_multiplier * cfg.clip * 2**16 > 1e4  # many grid steps


def test_noise_is_integer_on_the_grid(drawn: Drawn) -> None:
    """D-9: the noise is added after rounding, in whole grid steps: the real value of every
    coordinate is an exact multiple of 2^-f, and most coordinates are not multiples of 2 or
    3 grid steps (a sampler scaled by an integer, or drawn off the grid and rounded to a
    coarser one, fails)."""
    steps = np.concatenate(list(drawn.noise.values())) * 2.0**drawn.cfg.frac_bits
    assert np.array_equal(steps, np.round(steps))
    ints = steps.astype(np.int64)
    for k in (2, 3):
        share = float(np.mean(ints % k == 0))
        assert abs(share - 1 / k) < 0.01, f"{share:.3f} of the draws are multiples of {k}"


def test_noise_std_is_d9s(drawn: Drawn) -> None:
    """P-4 / D-9: pooled over all submissions the per-coordinate noise has variance sigma_c^2
    (chi-square test of the variance, two-sided, and Kolmogorov-Smirnov against the
    normal), and each single submission, catch-up ones included, has D-9's variance
    (chi-square per submission). ALPHA is split: 1/4 pooled variance, 1/4 KS, 1/2 across
    the submissions."""
    sigma = spec_sigma(drawn.cfg)
    samples = np.concatenate(list(drawn.noise.values())) / sigma
    n = samples.size
    ratio = float(samples @ samples)  # ~ chi2(n) for a correct node
    lo, hi = stats.chi2.ppf([ALPHA / 8, 1 - ALPHA / 8], n)
    assert lo <= ratio <= hi, (
        f"pooled variance {ratio / n:.4f} sigma_c^2, accepted [{lo / n:.4f}, {hi / n:.4f}]"
    )
    assert stats.kstest(samples, "norm").pvalue > ALPHA / 4
    per = ALPHA / 2 / len(drawn.noise)
    lo1, hi1 = stats.chi2.ppf([per / 2, 1 - per / 2], drawn.cfg.dim)
    for key, v in drawn.noise.items():
        r = float(v @ v) / sigma**2
        assert lo1 <= r <= hi1, f"submission {key}: variance {r / drawn.cfg.dim:.3f} sigma_c^2"


def test_every_revealed_sum_carries_std_at_least_zc(drawn: Drawn) -> None:
    """D-9's purpose: every revealed sum, of |I| >= q_min submissions, carries per-coordinate
    noise of std >= z Delta_2 (one-sided chi-square per revealed sum, ALPHA split among
    them). A client noise std too small by sqrt(q_min) fails here."""
    cfg = drawn.cfg
    zc = spec_sigma(cfg) * math.sqrt(cfg.q_min)
    per = ALPHA / len(drawn.sums)
    lo = stats.chi2.ppf(per, cfg.dim)
    for pd, (size, s) in drawn.sums.items():
        assert size >= cfg.q_min
        r = float(s @ s) / zc**2
        assert r >= lo, f"sum {pd[:12]} of {size}: std {math.sqrt(r / cfg.dim):.3f} z Delta_2"


def test_noise_is_independent_across_submissions(drawn: Drawn) -> None:
    """P-4 / D-13: every pair of submissions, of one client or of two, within one local step
    (catch-up) or across steps, carries independent noise: for independent isotropic
    Gaussian vectors in R^d the cosine rho has (1 + rho) / 2 ~ Beta((d-1)/2, (d-1)/2), and
    every |rho| stays below the two-sided ALPHA / pairs quantile. No two draws are equal."""
    keys = sorted(drawn.noise)
    u = np.stack([drawn.noise[k] / np.linalg.norm(drawn.noise[k]) for k in keys])
    gram = u @ u.T
    pairs = len(keys) * (len(keys) - 1) // 2
    a = (drawn.cfg.dim - 1) / 2
    limit = 2 * stats.beta.ppf(1 - ALPHA / pairs / 2, a, a) - 1
    i, j = np.triu_indices(len(keys), 1)
    worst = int(np.argmax(np.abs(gram[i, j])))
    assert abs(gram[i[worst], j[worst]]) <= limit, (
        f"submissions {keys[i[worst]]} and {keys[j[worst]]} correlate {gram[i[worst], j[worst]]:.3f} "
        f"(limit {limit:.3f})"
    )
    catch_up_pairs = [p for s in drawn.steps for p in itertools.combinations(s, 2)]
    assert catch_up_pairs  # covered above; and exactly: no draw repeats, in a step or not
    assert len({v.tobytes() for v in drawn.noise.values()}) == len(drawn.noise)
