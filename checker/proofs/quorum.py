"""S-6 (quorum intersection) and I-1a (honest points in a decoding quorum).

Two encodings:

* **Parametric** (one proof for *all* sizes): only the sizes of the Venn regions
  of the sets involved matter, so each region becomes a non-negative integer
  variable and the claim is linear integer arithmetic over symbolic ``n_a, t_a``.
* **Concrete** (one ``(n_a, t_a)``): one Boolean per aggregator and set, with
  pseudo-Boolean cardinality constraints and symmetry breaking.  Slower, but the
  counterexample lists explicit aggregator indices.

A claim is proved when its negation is unsatisfiable; a model of the negation is
the counterexample.
"""

from __future__ import annotations

import itertools
from typing import Any

import z3

from .result import ProofResult, Status, members, solver, status_of, timed, value

S6_TITLE = "two (n_a - t_a)-quorums share an honest aggregator"
I1A_TITLE = "an (n_a - t_a)-set of share sums holds >= t_a + 1 honest ones"

# A Venn region of (Q1, Q2, B) is named by its membership bits, e.g. (1, 1, 0)
# is "in Q1 and Q2, not Byzantine".
Region = tuple[int, ...]


def _venn(names: str, n: z3.ArithRef) -> tuple[dict[Region, z3.ArithRef], list[z3.BoolRef]]:
    """Region-size variables for sets named by the characters of ``names``."""
    regions = {
        bits: z3.Int("r_" + "".join(map(str, bits))) for bits in itertools.product((0, 1), repeat=len(names))
    }
    facts = [size >= 0 for size in regions.values()]
    facts.append(z3.Sum(list(regions.values())) == n)
    return regions, facts


def _card(regions: dict[Region, z3.ArithRef], which: int) -> z3.ArithRef:
    """|X| for the set at position ``which``: the sum of the regions inside it."""
    return z3.Sum([size for bits, size in regions.items() if bits[which]])


def _explicit_sets(sizes: dict[Region, int], names: str) -> dict[str, list[int]]:
    """Number aggregators region by region to turn region sizes into sets."""
    sets: dict[str, list[int]] = {name: [] for name in names}
    next_id = 0
    for bits in sorted(sizes, reverse=True):
        for _ in range(sizes[bits]):
            for name, bit in zip(names, bits, strict=True):
                if bit:
                    sets[name].append(next_id)
            next_id += 1
    return sets


# --------------------------------------------------------------------------- S-6


def _s6_query(n: z3.ArithRef, t: z3.ArithRef) -> tuple[list[z3.BoolRef], dict[Region, z3.ArithRef]]:
    """Negated S-6 over symbolic sizes: quorums Q1, Q2 and B with no honest common member."""
    regions, facts = _venn("QRB", n)
    facts += [
        t >= 0,
        n >= t + 1,
        _card(regions, 0) == n - t,  # |Q1| = n - t
        _card(regions, 1) == n - t,  # |Q2| = n - t
        _card(regions, 2) <= t,  # |B| <= t
        regions[(1, 1, 0)] == 0,  # (Q1 ∩ Q2) \ B is empty
    ]
    return facts, regions


def _s6_counterexample(model: z3.ModelRef, n: z3.ArithRef, t: z3.ArithRef, regions: Any) -> dict:
    sizes = {bits: model.eval(size).as_long() for bits, size in regions.items()}
    sets = _explicit_sets(sizes, "QRB")
    return {
        "n_a": model.eval(n).as_long(),
        "t_a": model.eval(t).as_long(),
        "Q1": sets["Q"],
        "Q2": sets["R"],
        "B": sets["B"],
    }


@timed
def prove_quorum_intersection_parametric(*, assume_bound: bool = True) -> ProofResult:
    """S-6 for all sizes at once: n_a >= 3 t_a + 1 implies |(Q1 ∩ Q2) \\ B| >= 1.

    With ``assume_bound=False`` the hypothesis is dropped and Z3 is asked for the
    smallest sizes that break the claim (it must find one with n_a <= 3 t_a).
    """
    n, t = z3.Ints("n_a t_a")
    facts, regions = _s6_query(n, t)
    params: dict[str, Any] = {"n_a": "symbolic", "t_a": "symbolic", "assume_bound": assume_bound}
    opt = z3.Optimize()
    opt.add(*facts)
    # Without the bound, still ask for an honest majority (n_a >= 2 t_a + 1):
    # the counterexample then shows that a majority is not enough.
    opt.add(n >= 3 * t + 1 if assume_bound else n >= 2 * t + 1)
    opt.minimize(n)
    answer = opt.check()
    cex = _s6_counterexample(opt.model(), n, t, regions) if answer == z3.sat else None
    detail = (
        "Venn regions of (Q1, Q2, B) as non-negative Int sizes; linear integer arithmetic "
        "proves the claim for every n_a >= 3 t_a + 1 (n_a - 2 t_a >= t_a + 1 common members)"
        if assume_bound
        else "bound dropped (honest majority n_a >= 2 t_a + 1 kept): smallest violation shown"
    )
    return ProofResult("S-6", S6_TITLE, status_of(answer), 0.0, params, cex, detail)


@timed
def prove_quorum_bound_tight() -> ProofResult:
    """Converse of S-6: for every t_a >= 1 and t_a < n_a <= 3 t_a a violation exists.

    The violation is given explicitly as region sizes that are linear terms in
    n_a, t_a (with i = max(0, n_a - 2 t_a) members common to both quorums, all
    Byzantine); Z3 checks for all such sizes that the witness satisfies every
    constraint, i.e. that the negation of "the witness works" is unsatisfiable.
    """
    n, t = z3.Ints("n_a t_a")
    i = z3.If(n >= 2 * t, n - 2 * t, 0)
    witness: dict[Region, z3.ArithRef] = {
        (1, 1, 1): i,  # common to both quorums, all Byzantine
        (1, 0, 0): n - t - i,  # only in Q1
        (0, 1, 0): n - t - i,  # only in Q2
        (0, 0, 0): 2 * t - n + i,  # in neither
    }
    sizes = {bits: witness.get(bits, z3.IntVal(0)) for bits in itertools.product((0, 1), repeat=3)}
    works = z3.And(
        *[size >= 0 for size in sizes.values()],
        z3.Sum(list(sizes.values())) == n,
        _card(sizes, 0) == n - t,
        _card(sizes, 1) == n - t,
        _card(sizes, 2) <= t,
        sizes[(1, 1, 0)] == 0,
    )
    s = solver()
    s.add(t >= 1, n >= t + 1, n <= 3 * t, z3.Not(works))
    answer = s.check()
    cex = {"n_a": value(s.model(), n), "t_a": value(s.model(), t)} if answer == z3.sat else None
    return ProofResult(
        "S-6",
        "S-6 bound is tight: every t_a < n_a <= 3 t_a admits disjoint honest quorums",
        status_of(answer),
        0.0,
        {"n_a": "symbolic", "t_a": "symbolic", "direction": "converse"},
        cex,
        "explicit witness: max(0, n_a - 2 t_a) common members, all Byzantine",
    )


@timed
def check_quorum_sizes(n_a: int, t_a: int) -> ProofResult:
    """S-6 for one concrete (n_a, t_a) with the parametric (region) encoding."""
    n, t = z3.IntVal(n_a), z3.IntVal(t_a)
    facts, regions = _s6_query(n, t)
    s = solver()
    s.add(*facts)
    answer = s.check()
    cex = _s6_counterexample(s.model(), n, t, regions) if answer == z3.sat else None
    params = {"n_a": n_a, "t_a": t_a, "encoding": "regions"}
    return ProofResult("S-6", S6_TITLE, status_of(answer), 0.0, params, cex, "")


@timed
def prove_quorum_intersection(n_a: int, t_a: int, *, timeout_ms: int = 10_000) -> ProofResult:
    """S-6 for one (n_a, t_a) over explicit sets of aggregator indices.

    Symmetry breaking (sound because every constraint is invariant under
    permuting aggregators inside B and inside the honest set):

    * WLOG |B| = t_a (enlarging B only shrinks (Q1 ∩ Q2) \\ B), so B = {0..t_a-1};
    * inside B and inside the honest set, the membership pattern (in Q1, in Q2),
      read as a 2-bit number, is non-increasing in the aggregator index.
    """
    if not 0 <= t_a < n_a:
        raise ValueError("need 0 <= t_a < n_a")
    q1 = [z3.Bool(f"q1_{j}") for j in range(n_a)]
    q2 = [z3.Bool(f"q2_{j}") for j in range(n_a)]
    byzantine = range(t_a)
    honest = range(t_a, n_a)
    s = solver(timeout_ms)
    s.add(z3.PbEq([(v, 1) for v in q1], n_a - t_a))
    s.add(z3.PbEq([(v, 1) for v in q2], n_a - t_a))
    s.add(*[z3.Not(z3.And(q1[j], q2[j])) for j in honest])  # no honest common member

    def pattern(j: int) -> z3.ArithRef:
        return 2 * z3.If(q1[j], 1, 0) + z3.If(q2[j], 1, 0)

    for block in (byzantine, honest):
        s.add(*[pattern(a) >= pattern(b) for a, b in itertools.pairwise(block)])
    answer = s.check()
    cex = None
    if answer == z3.sat:
        m = s.model()
        cex = {"n_a": n_a, "t_a": t_a, "Q1": members(m, q1), "Q2": members(m, q2), "B": list(byzantine)}
    params = {"n_a": n_a, "t_a": t_a, "encoding": "explicit sets"}
    detail = "WLOG B = {0..t_a-1}; membership patterns sorted inside B and inside the honest set"
    return ProofResult("S-6", S6_TITLE, status_of(answer), 0.0, params, cex, detail)


# -------------------------------------------------------------------------- I-1a


@timed
def prove_honest_in_decoding_set() -> ProofResult:
    """I-1a, parametric: every S with |S| = n_a - t_a and every B with |B| <= t_a
    leave |S \\ B| >= t_a + 1  **iff**  n_a >= 3 t_a + 1  (for 0 <= t_a < n_a).

    Two unsatisfiability checks, both for all sizes:

    * (if) n_a >= 3 t_a + 1 and some S, B with |S \\ B| <= t_a: unsat;
    * (only if) n_a <= 3 t_a and the explicit witness (B inside S as far as it
      fits, m = min(t_a, n_a - t_a) common members) fails: unsat.
    """
    n, t = z3.Ints("n_a t_a")
    regions, facts = _venn("SB", n)
    honest_in_s = regions[(1, 0)]
    domain = [t >= 0, n >= t + 1]
    if_part = [*domain, *facts, _card(regions, 0) == n - t, _card(regions, 1) <= t]
    if_part += [n >= 3 * t + 1, honest_in_s <= t]

    m = z3.If(t <= n - t, t, n - t)
    witness: dict[Region, z3.ArithRef] = {(1, 1): m, (1, 0): n - t - m, (0, 1): t - m, (0, 0): m}
    works = z3.And(
        *[size >= 0 for size in witness.values()],
        z3.Sum(list(witness.values())) == n,
        _card(witness, 0) == n - t,
        _card(witness, 1) <= t,
        witness[(1, 0)] <= t,
    )
    only_if_part = [*domain, n <= 3 * t, z3.Not(works)]

    answers = []
    for query in (if_part, only_if_part):
        s = solver()
        s.add(*query)
        answers.append(s.check())
    if all(a == z3.unsat for a in answers):
        status: Status = "proved"
    elif z3.unknown in answers:
        status = "unknown"
    else:
        status = "refuted"
    return ProofResult(
        "I-1a",
        I1A_TITLE,
        status,
        0.0,
        {"n_a": "symbolic", "t_a": "symbolic", "direction": "iff"},
        None,
        f"if: {answers[0]}, only-if witness check: {answers[1]} (unsat = proved)",
    )


@timed
def check_honest_in_decoding_set(n_a: int, t_a: int) -> ProofResult:
    """I-1a for one (n_a, t_a): refuted, with explicit S and B, when n_a <= 3 t_a."""
    n = z3.IntVal(n_a)
    regions, facts = _venn("SB", n)
    s = solver()
    s.add(*facts, _card(regions, 0) == n_a - t_a, _card(regions, 1) <= t_a)
    s.add(regions[(1, 0)] <= t_a)
    answer = s.check()
    cex = None
    if answer == z3.sat:
        sizes = {bits: s.model().eval(size).as_long() for bits, size in regions.items()}
        sets = _explicit_sets(sizes, "SB")
        honest = sorted(set(sets["S"]) - set(sets["B"]))
        cex = {"n_a": n_a, "t_a": t_a, "S": sets["S"], "B": sets["B"], "honest_in_S": honest}
    params = {"n_a": n_a, "t_a": t_a}
    return ProofResult("I-1a", I1A_TITLE, status_of(answer), 0.0, params, cex, "")
