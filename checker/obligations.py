"""Per-trace Z3 obligations: what the checker hands to Z3 about one trace (issue 3, item d).

Two kinds, both cached so that a long trace costs a handful of Z3 calls:

- the trace's configuration: S-6 (quorum intersection), I-1 (decoding despite
  ``t_a`` wrong share sums) and S-7 (``t_a + 1`` attesters include an honest one) at its
  ``(n_a, t_a)``;
- each revealed sum: P-1 (mask cancellation) for its set size and the decoding
  base it used, i.e. the ``t_a + 1`` smallest evaluation points of the support
  of its ``reconstruct`` event (D-4), over GF(P) with symbolic updates and masks.

The concrete values are checked by the replay (ghost fields); these obligations
show that the *reconstruction the trace performed* cancels every mask for any
values at all.

The P-1 identity for ``N`` clients is a sum of one term per client over that client's
own variables (``b_i (x_i + r_i) - sum_j lambda_j b_i f_i(j + 1)``, see
:mod:`asfl.checker.proofs.masks`), so it holds for ``N`` clients iff it holds for each,
and the term is the same for every client up to renaming: the per-trace obligation is
run at ``min(size, SIZE_CAP)`` clients (two: one term and a sum), once per decoding
base. Its cost no longer grows with the clusters (a 250-client sum took 0.6 s).

An obligation is a closed formula of its parameters, so its decided result (proved or
refuted, not a timeout) is kept for the process (:data:`DECIDED`): the online checker
starts one trace per campaign example, at a handful of configurations. Each trace still
lists every obligation it needs; ``summary()["reused"]`` counts those decided earlier in
the process and ``seconds`` is the Z3 time this trace spent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence

from asfl.checker.proofs import (
    ProofResult,
    check_attestation_counting,
    check_quorum_sizes,
    decoding_correct,
    mask_cancellation,
)

#: Budget: per-trace Z3 runs for traces with at most this many aggregators (beyond it a
#: query takes minutes; the parametric proofs of ``asfl prove`` cover every size).
MAX_AGGREGATORS = 16
#: ... with the protocol's own points up to this size, symbolic points (wlog) above
EXPLICIT_POINTS_UP_TO = 10
#: P-1 obligations are run at this many clients at most (the identity is per client)
SIZE_CAP = 2

#: obligations decided in this process: (kind, parameters) -> result (proved / refuted)
DECIDED: dict[Hashable, ProofResult] = {}


class TraceObligations:
    """Collects and caches the Z3 obligations of one trace (none beyond the budget)."""

    def __init__(self, n_a: int, t_a: int) -> None:
        self.n_a, self.t_a = n_a, t_a
        self.within_budget = n_a <= MAX_AGGREGATORS
        self.results: list[ProofResult] = []
        self._masks: dict[tuple[int, tuple[int, ...]], ProofResult] = {}
        self.reused = 0
        self.seconds = 0.0

    def decide(self, key: Hashable, prove: Callable[[], ProofResult]) -> ProofResult:
        """``prove()``'s result, reused if this process decided ``key`` before."""
        got = DECIDED.get(key)
        if got is not None:
            self.reused += 1
            return got
        t0 = time.perf_counter()
        got = prove()
        self.seconds += time.perf_counter() - t0
        if got.status in ("proved", "refuted"):  # a timeout may be decided on a retry
            DECIDED[key] = got
        return got

    def for_config(self) -> list[ProofResult]:
        """S-6 and I-1 at the trace's sizes (run once, at the header)."""
        if not self.within_budget:
            return []
        wlog = self.n_a > EXPLICIT_POINTS_UP_TO
        n_a, t_a = self.n_a, self.t_a
        found = [
            self.decide(("S-6", n_a, t_a), lambda: check_quorum_sizes(n_a, t_a)),
            self.decide(("I-1", n_a, t_a, wlog), lambda: decoding_correct(n_a, t_a, wlog=wlog)),
            self.decide(("S-7", n_a, t_a), lambda: check_attestation_counting(n_a, t_a)),
        ]
        self.results += found
        return found

    def for_reconstruction(self, size: int, support: Sequence[int]) -> ProofResult | None:
        """P-1 for a revealed sum of ``size`` clients decoded from ``support`` (aggregator ids)."""
        base = tuple(sorted(support)[: self.t_a + 1])
        if (
            not self.within_budget
            or size < 1
            or len(base) < self.t_a + 1
            or any(not 0 <= j < self.n_a for j in base)
        ):
            return None  # malformed: the replay reports the I-2 violation itself
        key = (min(size, SIZE_CAP), base)
        if key not in self._masks:
            result = self.decide(
                ("P-1", self.n_a, self.t_a, *key),
                lambda: mask_cancellation(key[0], self.t_a, self.n_a, quorums=[base], field="gf"),
            )
            self._masks[key] = result
            self.results.append(result)
        return self._masks[key]

    def summary(self) -> dict[str, object]:
        return {
            "obligations": len(self.results),
            "proved": sum(1 for r in self.results if r.status == "proved"),
            "refuted": [f"{r.prop_id} {r.params}" for r in self.results if r.status == "refuted"],
            "unknown": [f"{r.prop_id} {r.params}" for r in self.results if r.status == "unknown"],
            "seconds": round(self.seconds, 4),
            "reused": self.reused,
            "skipped": None if self.within_budget else f"n_a = {self.n_a} > {MAX_AGGREGATORS} (budget)",
        }
