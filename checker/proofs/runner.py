"""Run every obligation with default ranges, and print the results as a table."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from . import attest, decoding, fairness, masks, quorum
from .result import ProofResult


@dataclass(frozen=True)
class Ranges:
    """Which sizes ``prove_all`` tries."""

    quorum_sizes: list[tuple[int, int]]  # (n_a, t_a), explicit-set encoding of S-6
    mask_all_quorums: list[tuple[int, int]]  # (N, t): every (t+1)-subset of 3t+1 points
    mask_one_quorum: list[tuple[int, int]]  # (N, t): aggregators 0..t only
    decoding: list[tuple[int, int]]  # (n_a, t_a), every S and B
    decoding_wlog: list[tuple[int, int]]  # (n_a, t_a), symbolic points, S and B fixed
    fairness_k: list[int]  # cluster sizes for the F-2 claims
    liveness_k: list[int]  # cluster sizes for the per-k liveness claim
    reshuffled: list[tuple[int, int]]  # (n_c, k_min) for the reshuffled lead of F-2


# quick: the default test run (< 20 s on 2 cores; ~2 s measured).
QUICK = Ranges(
    quorum_sizes=[(3 * t + 1, t) for t in range(1, 6)],
    mask_all_quorums=[(64, 1), (64, 2)],
    mask_one_quorum=[(512, 3)],
    decoding=[(4, 1), (7, 2)],
    decoding_wlog=[(10, 3)],
    fairness_k=list(range(1, 7)),
    liveness_k=list(range(1, 7)),
    reshuffled=[(6, 2), (6, 3)],
)
# full: the ranges reported in the notes (a few minutes).
FULL = Ranges(
    quorum_sizes=[(3 * t + 1, t) for t in (1, 2, 3, 5, 10, 21, 42, 85)],
    mask_all_quorums=[(N, t) for N in (128, 512) for t in (1, 2, 3)],
    mask_one_quorum=[(N, t) for N in (2048, 8192) for t in (1, 2, 3)],
    decoding=[(4, 1), (5, 1), (7, 2), (8, 2), (10, 3), (11, 3)],
    decoding_wlog=[(10, 3), (13, 4)],
    fairness_k=list(range(1, 17)),
    liveness_k=list(range(1, 13)),
    reshuffled=[(8, 3), (8, 4), (10, 3), (10, 4)],
)

# Claims of F-2 that hold; "invariant_with_topup" is false (see fairness.py).
TRUE_CLAIMS: tuple[fairness.Claim, ...] = (
    "invariant",
    "safety",
    "safety_with_topup",
    "lead_grows_only_by_topup",
    "q_min_1_never_tops_up",
    "coverage",
    "lowest_first",
)


def prove_all(quick: bool = True, *, include_refutations: bool = False) -> Iterator[ProofResult]:
    """Yield one result per obligation; every one of them should be "proved".

    With ``include_refutations`` also yield the sanity refutations, which should
    all be "refuted": sizes with n_a <= 3 t_a, broken mask reconstructions, and
    the top-up counterexamples to the F-2 lead invariant.
    """
    r = QUICK if quick else FULL
    yield quorum.prove_quorum_intersection_parametric()
    yield quorum.prove_quorum_bound_tight()
    for n_a, t_a in r.quorum_sizes:
        yield quorum.prove_quorum_intersection(n_a, t_a)
    yield quorum.prove_honest_in_decoding_set()
    yield attest.prove_attestation_counting()
    yield attest.prove_attestation_liveness()
    for n_a, t_a in r.quorum_sizes:
        yield attest.check_attestation_counting(n_a, t_a)
    for N, t in r.mask_all_quorums:
        yield masks.mask_cancellation(N, t)
        yield masks.mask_cancellation(N, t, field="gf")
    for N, t in r.mask_one_quorum:
        yield masks.mask_cancellation(N, t, quorums=[range(t + 1)])
    for n_a, t_a in r.decoding:
        yield decoding.decoding_correct(n_a, t_a)
    for n_a, t_a in r.decoding_wlog:
        yield decoding.decoding_correct(n_a, t_a, wlog=True)
    yield fairness.prove_close_liveness_parametric()
    for k in r.fairness_k:
        for claim in TRUE_CLAIMS:
            yield fairness.inclusion_fairness(k, claim)
    for k in r.liveness_k:
        yield fairness.inclusion_fairness(k, "liveness")
    for n_c, k_min in r.reshuffled:
        yield fairness.reshuffled_lead(n_c, k_min)
    if include_refutations:
        yield from _refutations()


def _refutations() -> Iterator[ProofResult]:
    yield quorum.prove_quorum_intersection_parametric(assume_bound=False)
    yield quorum.prove_quorum_intersection(3, 1)
    yield quorum.check_honest_in_decoding_set(3, 1)
    yield attest.prove_attestation_counting(threshold_offset=0)
    yield attest.prove_attestation_liveness(assume_bound=False)
    yield attest.check_attestation_counting(4, 1, threshold=1)
    yield masks.mask_cancellation(8, 2, drop_share_of=5)
    yield masks.mask_cancellation(8, 2, break_lagrange=True, field="gf")
    yield decoding.decoding_correct(3, 1)
    yield decoding.decoding_correct(6, 2)
    yield fairness.inclusion_fairness(3, "invariant_with_topup")
    yield fairness.reachable_lead_violation(3, 1, 0, 2, depth=4)
    yield fairness.reshuffled_lead(6, 2, rank_shift=1)


def _show_params(params: dict) -> str:
    return " ".join(f"{key}={value}" for key, value in params.items())


def format_results(results: Iterable[ProofResult]) -> str:
    """A plain-text table: id, title, status, params, time."""
    rows = [("id", "title", "status", "params", "time")]
    total = 0.0
    for res in results:
        total += res.seconds
        rows.append((res.prop_id, res.title, res.status, _show_params(res.params), f"{res.seconds:.3f}s"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + "  " + row[4]
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    lines.append(f"{len(rows) - 1} obligations, {total:.2f}s")
    return "\n".join(lines)
