"""R-1: parameters of a run, their validity, and the quorum sizes derived from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from asfl.model.shuffle import cluster_assignment

#: Deliberately broken variants of the protocol, for the explorer and the checker tests.
BUGS = (
    "none",
    "double-release",  # an aggregator may release twice for one (tau, c)        -> S-3
    "release-without-cert",  # releases as soon as it holds a proposal            -> S-3
    "small-quorum",  # certificate and decoding quorum t_a + 1 instead of n_a - t_a -> S-1/P-1
    "greedy-close",  # coordinator closes on |H| >= q_min, ignoring R-6           -> F-1
    "small-attest",  # t_a attestations certify a model instead of t_a + 1         -> S-7
)


@dataclass(frozen=True)
class Params:
    """A configuration (R-1) plus the fault pattern of one run and a bug selector."""

    n_a: int
    t_a: int
    n_c: int
    t_c: int
    q_min: int
    B: int  # inclusion lead bound
    R: int  # rounds
    genesis: bytes = bytes(32)
    byzantine: frozenset[int] = field(default_factory=frozenset)  # aggregator ids
    crashed: frozenset[int] = field(default_factory=frozenset)  # client ids
    bug: str = "none"

    # -- derived quantities -------------------------------------------------------------
    @property
    def quorum(self) -> int:
        """``n_a - t_a``: size of a certificate (R-9), of a decoding support (D-4) and
        the number of cluster results an aggregator waits for (R-13)."""
        return self.n_a - self.t_a

    @property
    def cert_quorum(self) -> int:
        """The quorum the (possibly broken) nodes use for certificates and decoding."""
        return self.t_a + 1 if self.bug == "small-quorum" else self.quorum

    @property
    def attest_quorum(self) -> int:
        """R-17 / R-15 (d): attestations of distinct aggregators that certify a model
        header: ``t_a + 1`` (at least one honest), ``t_a`` under the broken variant."""
        return self.t_a if self.bug == "small-attest" else self.t_a + 1

    @property
    def k_min(self) -> int:
        return self.n_c // self.n_a

    @property
    def aggregators(self) -> tuple[str, ...]:
        return tuple(f"A{j}" for j in range(self.n_a))

    @property
    def client_names(self) -> tuple[str, ...]:
        return tuple(f"C{i}" for i in range(self.n_c))

    @cached_property
    def honest(self) -> tuple[int, ...]:
        """The honest aggregators' ids (computed once: the explorer reads it per state)."""
        return tuple(j for j in range(self.n_a) if j not in self.byzantine)

    @property
    def correct_clients(self) -> tuple[int, ...]:
        return tuple(i for i in range(self.n_c) if i not in self.crashed)

    @property
    def within_bounds(self) -> bool:
        """Faults within what the protocol tolerates: liveness (L-1..L-3) is owed."""
        return len(self.byzantine) <= self.t_a and len(self.crashed) <= self.t_c

    @cached_property
    def _clusters(self) -> dict[int, tuple[tuple[int, ...], ...]]:
        return {}

    def clusters(self, tau: int) -> tuple[tuple[int, ...], ...]:
        """Members of every cluster in round ``tau`` (R-2), each sorted by client id."""
        got = self._clusters.get(tau)
        if got is None:
            got = cluster_assignment(self.n_c, self.n_a, self.genesis, tau)
            self._clusters[tau] = got
        return got

    def members(self, tau: int, c: int) -> tuple[int, ...]:
        return self.clusters(tau)[c]

    @cached_property
    def _cluster_of(self) -> dict[int, dict[int, int]]:
        return {}

    def cluster_of(self, i: int, tau: int) -> int:
        got = self._cluster_of.get(tau)
        if got is None:
            got = {m: c for c, ms in enumerate(self.clusters(tau)) for m in ms}
            self._cluster_of[tau] = got
        c = got.get(i)
        if c is None:
            raise ValueError(f"client {i} not in any cluster")
        return c


def validity_errors(p: Params, relax_clients: bool = False) -> list[str]:
    """The conditions of R-1 that ``p`` violates (empty when valid).

    ``relax_clients`` drops ``n_c >= 2 n_a`` (only for small model explorations)."""
    errs = []
    if p.t_a < 0 or p.n_a < 3 * p.t_a + 1:
        errs.append(f"n_a >= 3 t_a + 1 fails: n_a={p.n_a}, t_a={p.t_a}")
    if not relax_clients and p.n_c < 2 * p.n_a:
        errs.append(f"n_c >= 2 n_a fails: n_c={p.n_c}, n_a={p.n_a}")
    if p.t_c < 0:
        errs.append("t_c >= 0 fails")
    if not 2 <= p.q_min <= p.k_min - p.t_c:
        errs.append(f"2 <= q_min <= k_min - t_c fails: q_min={p.q_min}, k_min={p.k_min}, t_c={p.t_c}")
    if p.B < 0:
        errs.append("B >= 0 fails")
    if p.R < 1:
        errs.append("R >= 1 fails")
    if len(p.genesis) != 32:
        errs.append("genesis must be 32 bytes")
    if p.bug not in BUGS:
        errs.append(f"unknown bug variant {p.bug!r}; one of {', '.join(BUGS)}")
    return errs
