"""Z3 obligations of checker.proofs: proved in range, refuted (with a checked
counterexample) outside it or for deliberately broken variants."""

from __future__ import annotations

import math
import time
from fractions import Fraction

import pytest

from asfl.checker.proofs import (
    CLAIMS,
    P,
    check_attestation_counting,
    check_honest_in_decoding_set,
    check_quorum_sizes,
    decoding_correct,
    format_results,
    inclusion_fairness,
    lagrange_at_zero,
    mask_cancellation,
    prove_all,
    prove_attestation_counting,
    prove_attestation_liveness,
    prove_close_liveness_parametric,
    prove_honest_in_decoding_set,
    prove_quorum_bound_tight,
    prove_quorum_intersection,
    prove_quorum_intersection_parametric,
    reachable_lead_violation,
    reshuffled_lead,
)
from asfl.checker.proofs.runner import TRUE_CLAIMS

# ----------------------------------------------------------------- S-6 / I-1a


def assert_quorum_counterexample(cex: dict) -> None:
    n_a, t_a = cex["n_a"], cex["t_a"]
    q1, q2, byz = set(cex["Q1"]), set(cex["Q2"]), set(cex["B"])
    assert n_a <= 3 * t_a
    assert q1 | q2 | byz <= set(range(n_a))
    assert len(q1) == len(q2) == n_a - t_a and len(byz) <= t_a
    assert not (q1 & q2) - byz


def test_quorum_intersection_parametric() -> None:
    assert prove_quorum_intersection_parametric().status == "proved"
    assert prove_quorum_bound_tight().status == "proved"


def test_quorum_intersection_parametric_without_bound_has_counterexample() -> None:
    res = prove_quorum_intersection_parametric(assume_bound=False)
    assert res.status == "refuted"
    assert res.counterexample is not None
    assert_quorum_counterexample(res.counterexample)
    assert res.counterexample["n_a"] == 3 and res.counterexample["t_a"] == 1


@pytest.mark.parametrize("t_a", range(1, 8))
def test_quorum_intersection_explicit_sets(t_a: int) -> None:
    assert prove_quorum_intersection(3 * t_a + 1, t_a).status == "proved"
    assert prove_quorum_intersection(3 * t_a + 5, t_a).status == "proved"
    res = prove_quorum_intersection(3 * t_a, t_a)
    assert res.status == "refuted" and res.counterexample is not None
    assert_quorum_counterexample(res.counterexample)


def test_quorum_encodings_agree_on_small_sizes() -> None:
    for n_a in range(2, 12):
        for t_a in range(n_a):
            expected = "proved" if n_a >= 3 * t_a + 1 else "refuted"
            explicit = prove_quorum_intersection(n_a, t_a)
            regions = check_quorum_sizes(n_a, t_a)
            assert explicit.status == regions.status == expected, (n_a, t_a)
            if expected == "refuted":
                assert regions.counterexample is not None
                assert_quorum_counterexample(regions.counterexample)


def test_honest_points_in_decoding_set() -> None:
    assert prove_honest_in_decoding_set().status == "proved"
    assert check_honest_in_decoding_set(4, 1).status == "proved"
    res = check_honest_in_decoding_set(3, 1)
    assert res.status == "refuted" and res.counterexample is not None
    s, byz = set(res.counterexample["S"]), set(res.counterexample["B"])
    assert len(s) == 2 and len(byz) <= 1 and len(s - byz) <= 1


# ------------------------------------------------------------------------ P-1


def test_lagrange_weights_interpolate_at_zero() -> None:
    points = [2, 3, 5, 7]
    lam = lagrange_at_zero(points)
    for k in range(len(points)):
        assert sum(w * x**k for w, x in zip(lam, points, strict=True)) == (1 if k == 0 else 0)


@pytest.mark.parametrize("field", ["rational", "gf"])
@pytest.mark.parametrize("t", [1, 2, 3])
def test_mask_cancellation_proved(t: int, field: str) -> None:
    res = mask_cancellation(16, t, field=field)  # type: ignore[arg-type]
    assert res.status == "proved", res.counterexample
    assert res.params["quorums"] == math.comb(3 * t + 1, t + 1)  # every quorum of 3t+1 aggregators


@pytest.mark.parametrize("field", ["rational", "gf"])
def test_dropped_share_leaves_that_mask(field: str) -> None:
    res = mask_cancellation(8, 2, drop_share_of=5, field=field)  # type: ignore[arg-type]
    assert res.status == "refuted" and res.counterexample is not None
    assert res.counterexample["residual"] == "b_5*r_5"
    assert res.counterexample["masks"] == ["r_5"]


@pytest.mark.parametrize("field", ["rational", "gf"])
def test_wrong_lagrange_coefficient_leaves_masks(field: str) -> None:
    res = mask_cancellation(4, 1, break_lagrange=True, field=field)  # type: ignore[arg-type]
    assert res.status == "refuted" and res.counterexample is not None
    assert res.counterexample["masks"] == ["r_0", "r_1", "r_2", "r_3"]
    assert "b_0*r_0" in res.counterexample["residual"]


def test_mask_cancellation_many_clients_one_quorum() -> None:
    assert mask_cancellation(512, 3, quorums=[[0, 1, 2, 3]]).status == "proved"
    assert mask_cancellation(512, 1, quorums=[[2, 3]], field="gf").status == "proved"


def test_field_prime() -> None:
    assert P == 2**31 - 1


# ------------------------------------------------------------------------ I-1


def _eval(coefficients: list, x: Fraction) -> Fraction:
    return sum((Fraction(c) * x**k for k, c in enumerate(coefficients)), Fraction(0))


@pytest.mark.parametrize(("n_a", "t_a"), [(4, 1), (5, 1), (7, 2), (10, 3)])
def test_decoding_correct(n_a: int, t_a: int) -> None:
    assert decoding_correct(n_a, t_a).status == "proved"
    assert decoding_correct(n_a, t_a, wlog=True).status == "proved"


@pytest.mark.parametrize(("n_a", "t_a"), [(2, 1), (3, 1), (5, 2), (6, 2), (9, 3)])
@pytest.mark.parametrize("wlog", [False, True])
def test_decoding_refuted_below_bound(n_a: int, t_a: int, wlog: bool) -> None:
    res = decoding_correct(n_a, t_a, wlog=wlog)
    assert res.status == "refuted" and res.counterexample is not None
    cex = res.counterexample
    s, byz = cex["S"], set(cex["B"])
    assert len(s) == n_a - t_a and len(byz) <= t_a and byz <= set(s)
    points = [Fraction(x) for x in cex["points"]]
    assert len(set(points)) == n_a and 0 not in points
    for j in s:
        released = Fraction(cex["released"][j])
        assert _eval(cex["fitted_coefficients"], points[j]) == released  # on g
        if j not in byz:
            assert _eval(cex["true_coefficients"], points[j]) == released  # honest
    assert Fraction(cex["decoded"]) != Fraction(cex["secret"])
    assert len(set(s) - byz) <= t_a  # too few honest points to pin g down


# ------------------------------------------------------------------------ F-2


def _kth(counts: list[int], t_c: int) -> int:
    return sorted(counts)[t_c]


def _close(counts: list[int], t_c: int, lead: int, q_min: int, held: set[int]) -> list[int] | None:
    """Reference R-6: the new counts, or None if the coordinator may not close."""
    m = _kth(counts, t_c)
    eligible = {i for i, c in enumerate(counts) if c <= m + lead}
    if len(held) < len(counts) - t_c:
        return None
    proposed = held & eligible
    extra = sorted(held - eligible, key=lambda i: (counts[i], i))
    proposed |= set(extra[: max(0, q_min - len(proposed))])
    return [c + (i in proposed) for i, c in enumerate(counts)]


def test_reference_rule_matches_a_known_step() -> None:
    assert _close([3, 2, 1], 1, 0, 2, {0, 2}) == [4, 2, 2]


@pytest.mark.parametrize("k", range(1, 7))
def test_fairness_claims_hold(k: int) -> None:
    for claim in (*TRUE_CLAIMS, "liveness"):
        res = inclusion_fairness(k, claim)  # type: ignore[arg-type]
        assert res.status == "proved", (claim, res.counterexample)


def test_fairness_claims_hold_without_symmetry_breaking() -> None:
    for claim in (*TRUE_CLAIMS, "liveness"):
        assert inclusion_fairness(5, claim, wlog_sorted=False).status == "proved"  # type: ignore[arg-type]


def test_fairness_claims_for_fixed_parameters() -> None:
    for t_c in range(3):
        for lead in range(3):
            res = inclusion_fairness(6, "invariant", t_c=t_c, lead=lead, q_min=6 - t_c)
            assert res.status == "proved"


def test_close_liveness_for_all_sizes() -> None:
    assert prove_close_liveness_parametric().status == "proved"


def test_invariant_is_not_inductive_with_topup() -> None:
    res = inclusion_fairness(3, "invariant_with_topup")
    assert res.status == "refuted" and res.counterexample is not None
    cex = res.counterexample
    t_c, lead, q_min, counts = cex["t_c"], cex["B"], cex["q_min"], cex["counts"]
    assert max(counts) - _kth(counts, t_c) <= lead + 1  # invariant before
    after = _close(counts, t_c, lead, q_min, set(cex["H"]))
    assert after is not None and after == cex["counts_after"] and cex["topped_up"]
    assert max(after) - _kth(after, t_c) > lead + 1  # broken after


def test_topup_violation_is_reachable() -> None:
    res = reachable_lead_violation(3, 1, 0, 2, depth=4)
    assert res.status == "refuted" and res.counterexample is not None
    counts: list[int] | None = [0, 0, 0]
    for step in res.counterexample["trace"]:
        assert step["counts"] == counts
        counts = _close(step["counts"], 1, 0, 2, set(step["H"]))
        assert counts is not None and counts == step["counts_after"]
    assert counts is not None
    assert max(counts) - _kth(counts, 1) > 1


def test_no_reachable_violation_when_q_min_is_one() -> None:
    assert reachable_lead_violation(3, 1, 0, 1, depth=4).status == "proved"


def test_reshuffled_lead_is_inductive() -> None:
    for n_c, k_min in [(5, 2), (6, 3)]:
        res = reshuffled_lead(n_c, k_min)
        assert res.status == "proved" and res.prop_id == "F-2", res.counterexample


def test_reshuffled_lead_rank_is_tight() -> None:
    """One rank lower (the (k_min - t_c + 1)-th largest) the claim fails: check the step."""
    res = reshuffled_lead(6, 2, rank_shift=1)
    assert res.status == "refuted" and res.counterexample is not None
    cex = res.counterexample
    members, held = cex["M"], set(cex["H"])
    assert len(members) >= 2 and held <= set(members)
    before, after = cex["counts"], cex["counts_after"]
    assert all(after[i] - before[i] == (i in cex["P"]) for i in range(len(before)))
    assert set(cex["P"]) <= held


def test_coverage_and_order_claims_are_f4() -> None:
    for claim in ("coverage", "lowest_first"):
        res = inclusion_fairness(4, claim)
        assert res.status == "proved" and res.prop_id == "F-4"


def test_claims_are_documented() -> None:
    assert set(TRUE_CLAIMS) < set(CLAIMS)


# ------------------------------------------------------------------- S-7


def test_attestation_counting_for_all_sizes() -> None:
    """The counting step of compact certification, parametric: t_a + 1 distinct attesters
    include an honest one; the broken threshold t_a has a counterexample (A = B)."""
    ok = prove_attestation_counting()
    assert ok.status == "proved" and ok.prop_id == "S-7"
    bad = prove_attestation_counting(threshold_offset=0)
    assert bad.status == "refuted" and bad.counterexample is not None
    cex = bad.counterexample
    assert cex["n_a"] >= 3 * cex["t_a"] + 1 and len(cex["A"]) >= cex["t_a"] and set(cex["A"]) <= set(cex["B"])
    assert len(cex["B"]) <= cex["t_a"]


def test_attestation_liveness_for_all_sizes() -> None:
    assert prove_attestation_liveness().status == "proved"
    bad = prove_attestation_liveness(assume_bound=False)
    assert bad.status == "refuted" and bad.counterexample is not None
    assert bad.counterexample["n_a"] - bad.counterexample["byzantine"] < bad.counterexample["t_a"] + 1


@pytest.mark.parametrize("t_a", [1, 2, 3])
def test_attestation_counting_explicit_sets(t_a: int) -> None:
    assert check_attestation_counting(3 * t_a + 1, t_a).status == "proved"
    bad = check_attestation_counting(3 * t_a + 1, t_a, threshold=t_a)
    assert bad.status == "refuted" and bad.counterexample is not None
    assert set(bad.counterexample["attesters"]) <= set(bad.counterexample["byzantine"])


# ------------------------------------------------------------------- prove_all


@pytest.fixture(scope="module")
def quick_run() -> tuple[list, float]:
    start = time.perf_counter()
    results = list(prove_all(quick=True, include_refutations=True))
    return results, time.perf_counter() - start


def test_prove_all_quick(quick_run: tuple[list, float]) -> None:
    results, seconds = quick_run
    assert seconds < 120  # a hang guard, not a benchmark (the quick set takes ~6 s of CPU)
    proved = [r for r in results if r.status == "proved"]
    refuted = [r for r in results if r.status == "refuted"]
    assert len(proved) + len(refuted) == len(results)  # nothing unknown
    assert results[: len(proved)] == proved  # the obligations come first, all proved
    assert {r.prop_id for r in proved} == {"S-6", "I-1a", "S-7", "P-1", "I-1", "F-2", "F-4"}
    assert refuted and all(r.counterexample for r in refuted)  # the sanity refutations
    table = format_results(results)
    assert table.splitlines()[0].split()[:3] == ["id", "title", "status"]
    assert f"{len(results)} obligations" in table
