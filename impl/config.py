"""Protocol parameters and their validity conditions (Rule R-1)."""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from asfl.impl.field import HALF
from asfl.impl.learning.noise import MAX_VARIANCE, tail_bound
from asfl.impl.learning.privacy import Skellam
from asfl.impl.learning.quantize import max_abs_per_client, rounded_l2_bound
from asfl.impl.learning.robust import check_rule, rule_names
from asfl.impl.messages import Dims
from asfl.impl.shuffle import assign_clusters, round_seed

NOISE_TAIL_LOG2 = -64
"""D-5: a cluster's noise sum exceeds the fixed point's noise headroom w.p. <= 2^-64."""

RULES = rule_names()  # offered on the command line; any name check_rule accepts is valid


class ConfigError(ValueError):
    """A configuration violates R-1; the message says which condition and why."""


@dataclass(frozen=True)
class ProtocolConfig:
    """Everything every node must agree on before round 0 (R-1)."""

    n_clients: int = 40
    n_aggregators: int = 4
    t_a: int = 1
    t_c: int = 2
    q_min: int = 5
    lead_bound: int = 1
    rounds: int = 20
    dim: int = 650
    frac_bits: int = 16
    clip: float = 2.0
    noise_multiplier: float = 0.1
    noise_shares: int = 0  # clients the central noise is split among (D-9): 0 means q_min; 1 is local DP
    lr: float = 2.0
    beta: float = 0.9
    rule: str = "trimmed_mean"
    batch_size: int = 32
    genesis: bytes = field(default=b"\x00" * 32, repr=False)

    def validate(self) -> ProtocolConfig:
        """Raise :class:`ConfigError` naming the first violated condition of R-1."""
        checks = [
            lambda: (self.t_a >= 0, f"t_a must be >= 0 (got {self.t_a})"),
            lambda: (
                self.n_aggregators >= 3 * self.t_a + 1,
                f"n_a >= 3 t_a + 1 is required: {self.n_aggregators} aggregators tolerate at most "
                f"{(self.n_aggregators - 1) // 3} Byzantine, not {self.t_a}",
            ),
            lambda: (
                self.n_clients >= 2 * self.n_aggregators,
                f"need at least 2 clients per cluster: {self.n_clients} clients for "
                f"{self.n_aggregators} aggregators",
            ),
            lambda: (self.t_c >= 0, f"t_c must be >= 0 (got {self.t_c})"),
            lambda: (
                self.q_min >= 2,
                f"q_min must be >= 2 so that no sum is a single client (got {self.q_min})",
            ),
            lambda: (
                self.q_min <= self.k_min - self.t_c,
                f"q_min <= k_min - t_c is required for liveness: clusters of {self.k_min} with "
                f"t_c = {self.t_c} crashes leave {self.k_min - self.t_c} < q_min = {self.q_min}",
            ),
            lambda: (self.lead_bound >= 0, f"lead bound B must be >= 0 (got {self.lead_bound})"),
            lambda: (self.rounds >= 1, f"rounds must be >= 1 (got {self.rounds})"),
            lambda: (self.dim >= 1, f"dim must be >= 1 (got {self.dim})"),
            lambda: (0 <= self.frac_bits <= 24, f"frac_bits must be in [0, 24] (got {self.frac_bits})"),
            lambda: (self.clip > 0 and math.isfinite(self.clip), f"clip must be > 0 (got {self.clip})"),
            lambda: (
                self.noise_multiplier >= 0,
                f"noise multiplier must be >= 0 (got {self.noise_multiplier})",
            ),
            lambda: (0 <= self.beta < 1, f"momentum beta must be in [0, 1) (got {self.beta})"),
            lambda: (self.lr > 0, f"learning rate must be > 0 (got {self.lr})"),
            lambda: (
                (rule_problem := check_rule(self.rule, self.quorum, self.n_aggregators, self.t_a)) is None,
                f"aggregation rule: {rule_problem}; e.g. {', '.join(RULES)}",
            ),
            lambda: (self.batch_size >= 1, f"batch size must be >= 1 (got {self.batch_size})"),
            lambda: (len(self.genesis) == 32, "genesis seed must be 32 bytes"),
            lambda: (
                self.n_aggregators - self.t_a > 2 * self.t_a or self.rule == "mean",
                "trimmed mean and median need more than 2 t_a cluster results",
            ),
            lambda: (
                0 <= self.noise_shares <= self.q_min,
                f"noise shares must be in [0, q_min] (got {self.noise_shares})",
            ),
            lambda: (
                self.client_noise_var <= MAX_VARIANCE and self.noise_headroom < HALF,
                f"fixed-point range too small for the noise (D-5): at noise multiplier "
                f"{self.noise_multiplier} the noise of a cluster of {self.k_max} does not fit in the "
                "field; lower the noise multiplier or frac_bits",
            ),
            lambda: (
                math.ceil(self.clip * 2**self.frac_bits) <= self.quant_bound,
                f"fixed-point range {self.quant_bound / 2**self.frac_bits:.1f} is too small for clip "
                f"{self.clip} with noise headroom {self.noise_headroom / 2**self.frac_bits:.1f} (D-5): "
                "lower the noise multiplier, the clients per cluster or frac_bits",
            ),
        ]
        for check in checks:  # lazily, in order: later checks divide by q_min and n_a
            ok, message = check()
            if not ok:
                raise ConfigError(message)
        return self

    @property
    def k_min(self) -> int:
        return self.n_clients // self.n_aggregators

    @property
    def k_max(self) -> int:
        return -(-self.n_clients // self.n_aggregators)

    @property
    def quorum(self) -> int:
        """``n_a - t_a``: endorsements, releases and cluster results needed (R-9..R-13)."""
        return self.n_aggregators - self.t_a

    @property
    def quant_bound(self) -> int:
        """``Q`` of D-5: the largest per-client clamp for which no sum of ``k_max`` updates plus
        a noise sum within :attr:`noise_headroom` wraps."""
        return max_abs_per_client(HALF, self.k_max, self.noise_headroom)

    @cached_property
    def skellam(self) -> Skellam:
        """The mechanism of one release (D-9): ``Sk(mu)`` with ``mu = (z Delta_2)^2`` on updates
        of L2 sensitivity ``Delta_2 = C 2^f + sqrt(d) / 2`` and L1 ``sqrt(d) Delta_2``."""
        l2 = rounded_l2_bound(self.clip, self.frac_bits, self.dim)
        return Skellam((self.noise_multiplier * l2) ** 2, l2, math.sqrt(self.dim) * l2)

    @property
    def client_noise_var(self) -> float:
        """``mu / q_min`` (D-9): the one definition of a client's noise, used by the client (R-4).
        With ``noise_shares = s > 0``, ``mu / s`` (``s = 1``: local DP, each message private)."""
        return self.skellam.variance / (self.noise_shares or self.q_min)

    @cached_property
    def noise_headroom(self) -> int:
        """``T`` of D-5: the Chernoff tail bound of the noise of a full cluster at ``2^-64``."""
        return tail_bound(min(self.k_max * self.client_noise_var, MAX_VARIANCE), NOISE_TAIL_LOG2)

    @cached_property
    def dims(self) -> Dims:
        return Dims(self.n_clients, self.n_aggregators, self.rounds, self.dim)

    def clusters(self, tau: int) -> list[list[int]]:
        """Cluster membership of round ``tau`` (R-2), cached."""
        return _clusters(self.n_clients, self.n_aggregators, round_seed(self.genesis, tau))

    def cluster_of(self, tau: int, client: int) -> int:
        return _cluster_index(self.n_clients, self.n_aggregators, round_seed(self.genesis, tau))[client]

    def trace_config(self, seed: int) -> dict[str, object]:
        """The header ``config`` object of a trace (specs/trace.schema.json)."""
        return {
            "clients": self.n_clients,
            "aggregators": self.n_aggregators,
            "t_a": self.t_a,
            "t_c": self.t_c,
            "q_min": self.q_min,
            "lead_bound": self.lead_bound,
            "rounds": self.rounds,
            "dim": self.dim,
            "frac_bits": self.frac_bits,
            "clip": self.clip,
            "noise_multiplier": self.noise_multiplier,
            "lr": self.lr,
            "beta": self.beta,
            "rule": self.rule,
            "genesis": self.genesis.hex(),
            "seed": seed,
            "batch_size": self.batch_size,
        }


@lru_cache(maxsize=16)
def _assignment(n_clients: int, n_clusters: int, seed: bytes) -> tuple[list[list[int]], Sequence[int]]:
    """R-2's clusters of one round and the client -> cluster index, cached for the few
    rounds in flight (a pure function of the round seed: a late message of an older round
    recomputes it; 4,096 rounds kept ~70 B per client per round, D-17). A round costs one
    list slot per client and one byte of index (the ids are the shared objects of
    :func:`client_ids`, the index a ``bytes`` when ``n_clusters <= 256``), not a dict entry and an
    int object per client (about 110 B per client per round, filling the cache round by round)."""
    ids = client_ids(n_clients)
    clusters = [[ids[i] for i in members] for members in assign_clusters(n_clients, n_clusters, seed)]
    cells = [0] * n_clients
    for c, members in enumerate(clusters):
        for i in members:
            cells[i] = c
    index: Sequence[int] = bytes(cells) if n_clusters <= 256 else array("I", cells)
    return clusters, index


@lru_cache(maxsize=4)
def client_ids(n_clients: int) -> list[int]:
    """The int objects ``0 .. n_clients - 1``, shared by every round's clusters and by what
    nodes keep of a round's sets (a list slot each, not an int object each: D-17)."""
    return list(range(n_clients))


def _clusters(n_clients: int, n_clusters: int, seed: bytes) -> list[list[int]]:
    return _assignment(n_clients, n_clusters, seed)[0]


def _cluster_index(n_clients: int, n_clusters: int, seed: bytes) -> Sequence[int]:
    return _assignment(n_clients, n_clusters, seed)[1]
