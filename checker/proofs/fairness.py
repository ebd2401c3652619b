"""F-2: how far the inclusion rule (Decision D-7) lets counts run ahead.

One cluster with k members (fixed membership), crash tolerance t_c < k, lead
bound B >= 0 and minimum set size 1 <= q_min <= k - t_c.  With inclusion counts
n(i) >= 0:

* m is the (t_c+1)-th smallest count: m is some member's count, at least t_c+1
  counts are <= m and at most t_c counts are < m;
* E = {i : n(i) <= m + B} is the eligible set; H (the held members) is any set;
* the coordinator may close when |H| >= k - t_c (R-6: all members but t_c);
* it proposes P = H ∩ E, topped up (if |H ∩ E| < q_min) with the
  q_min - |H ∩ E| members of H \\ E with the smallest counts (ties: index);
* closing sets n'(i) = n(i) + 1 for i in P; m' is the new (t_c+1)-th smallest.

``inclusion_fairness`` proves one-step claims for a given k; t_c, B and q_min
are symbolic unless pinned (B is then any non-negative integer).
``reachable_lead_violation`` unrolls closings from all-zero counts (bounded
model checking) to show that a violation is reachable, not only inductive.

Finding (see CLAIMS): the lead invariant max n - m <= B + 1 is inductive for
closings without top-up, but a top-up can break it, and repeated top-ups make
the lead grow without bound; what holds is max n - m <= B + 1 + (number of
top-up closings so far).

``reshuffled_lead`` drops the fixed membership (D-7, clusters reshuffled every
round, R-2): a population of N clients, one closing of a cluster made of *any*
k >= k_min of them; the lead is measured against G, the (k_min - t_c)-th largest
count over all N clients.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Literal

import z3

from .result import ProofResult, count, members, solver, status_of, timed, value

Claim = Literal[
    "invariant",
    "safety",
    "liveness",
    "invariant_with_topup",
    "safety_with_topup",
    "lead_grows_only_by_topup",
    "q_min_1_never_tops_up",
    "coverage",
    "lowest_first",
]

CLAIMS: dict[Claim, str] = {
    "invariant": "max n - m <= B + 1 is inductive for closings without top-up",
    "safety": "without top-up every proposed member has n <= m + B",
    "liveness": "H missing at most t_c members satisfies the close condition",
    "invariant_with_topup": "max n - m <= B + 1 is inductive for every closing (FALSE)",
    "safety_with_topup": "under the invariant every proposed member has n <= m + B + 1",
    "lead_grows_only_by_topup": "max n - m <= B + 1 + u is inductive, u = top-ups so far",
    "q_min_1_never_tops_up": "with q_min = 1 no closing needs a top-up",
    "coverage": "a closing misses at most t_c members and leaves at most t_c eligible ones out of I",
    "lowest_first": "I is the max(q_min, |H ∩ E|) held members of smallest (n, i)",
}


def kth_smallest(counts: list[z3.ArithRef], t_c: z3.ArithRef, m: z3.ArithRef) -> z3.BoolRef:
    """m is the (t_c+1)-th smallest of counts."""
    return z3.And(
        z3.Or([m == c for c in counts]),
        z3.Sum([z3.If(c <= m, 1, 0) for c in counts]) >= t_c + 1,
        z3.Sum([z3.If(c < m, 1, 0) for c in counts]) <= t_c,
    )


def _before(n: list[z3.ArithRef], j: int, i: int) -> z3.BoolRef:
    """``(n_j, j) < (n_i, i)`` (the top-up order of R-6)."""
    return n[j] < n[i] if j > i else n[j] <= n[i]


@dataclass
class Closing:
    """Symbolic variables of one closing step, and the facts tying them together."""

    t_c: z3.ArithRef
    lead: z3.ArithRef  # B
    q_min: z3.ArithRef
    n: list[z3.ArithRef]
    m: z3.ArithRef
    eligible: list[z3.BoolRef]
    held: list[z3.BoolRef]
    proposed: list[z3.BoolRef]
    n_after: list[z3.ArithRef]
    m_after: z3.ArithRef
    facts: list[z3.BoolRef]

    @property
    def held_eligible(self) -> z3.ArithRef:
        return count([z3.And(h, e) for h, e in zip(self.held, self.eligible, strict=True)])

    @property
    def may_close(self) -> z3.BoolRef:
        return count(self.held) >= len(self.n) - self.t_c

    @property
    def topped_up(self) -> z3.BoolRef:
        return self.held_eligible < self.q_min

    def lead_at_most(self, bound: z3.ArithRef, after: bool = False) -> z3.BoolRef:
        counts, m = (self.n_after, self.m_after) if after else (self.n, self.m)
        return z3.And([c <= m + bound for c in counts])


def closing(
    k: int,
    t_c: int | None,
    lead: int | None,
    q_min: int | None,
    *,
    counts: list[z3.ArithRef] | None = None,
    step: str = "",
    sorted_counts: bool = False,
    with_after: bool = True,
) -> Closing:
    """One closing of a k-member cluster; ``counts``/``step`` chain closings for BMC.

    ``sorted_counts`` adds n_0 <= n_1 <= ... (then m = n_{t_c}).  This loses no
    generality for claims that are symmetric in the members: relabelling the
    members by a *stable* sort of their counts keeps the index order among equal
    counts, so the top-up (smallest counts, ties by index) picks the relabelled
    members.
    """
    tc = z3.Int("t_c") if t_c is None else z3.IntVal(t_c)
    bound = z3.Int("B") if lead is None else z3.IntVal(lead)
    qm = z3.Int("q_min") if q_min is None else z3.IntVal(q_min)
    n = counts if counts is not None else [z3.Int(f"n_{i}{step}") for i in range(k)]
    m, m_after = z3.Int(f"m{step}"), z3.Int(f"m_after{step}")
    held = [z3.Bool(f"H_{i}{step}") for i in range(k)]
    eligible = [n[i] <= m + bound for i in range(k)]
    outside = [z3.And(held[i], z3.Not(eligible[i])) for i in range(k)]  # H \ E
    need = qm - count([z3.And(h, e) for h, e in zip(held, eligible, strict=True)])

    rank = [count([z3.And(outside[j], _before(n, j, i)) for j in range(k) if j != i]) for i in range(k)]
    proposed = [z3.Or(z3.And(held[i], eligible[i]), z3.And(outside[i], rank[i] < need)) for i in range(k)]
    n_after = [n[i] + z3.If(proposed[i], 1, 0) for i in range(k)]
    facts: list[z3.BoolRef] = [
        tc >= 0,
        tc < k,
        bound >= 0,
        qm >= 1,
        qm <= k - tc,
        *[c >= 0 for c in n],
        kth_smallest(n, tc, m),
    ]
    if with_after:
        facts.append(kth_smallest(n_after, tc, m_after))
    if sorted_counts:
        facts += [a <= b for a, b in itertools.pairwise(n)]
        facts.append(z3.Or([z3.And(tc == j, m == n[j]) for j in range(k)]))
    return Closing(tc, bound, qm, n, m, eligible, held, proposed, n_after, m_after, facts)


def _negated_claim(c: Closing, claim: Claim, symmetric: bool) -> list[z3.BoolRef]:
    """Hypotheses plus the negation of the claim: unsat means proved."""
    b1 = c.lead + 1
    if claim == "invariant":
        return [c.lead_at_most(b1), c.may_close, z3.Not(c.topped_up),
                z3.Not(c.lead_at_most(b1, after=True))]  # fmt: skip
    if claim == "invariant_with_topup":
        return [c.lead_at_most(b1), c.may_close, z3.Not(c.lead_at_most(b1, after=True))]
    if claim == "lead_grows_only_by_topup":
        u = z3.Int("u")  # number of top-up closings so far
        u_after = u + z3.If(c.topped_up, 1, 0)
        return [u >= 0, c.lead_at_most(b1 + u), c.may_close,
                z3.Not(c.lead_at_most(b1 + u_after, after=True))]  # fmt: skip
    if claim in ("safety", "safety_with_topup"):
        slack = 0 if claim == "safety" else 1
        too_high = [z3.And(p, x > c.m + c.lead + slack) for p, x in zip(c.proposed, c.n, strict=True)]
        hypothesis = z3.Not(c.topped_up) if claim == "safety" else c.lead_at_most(b1)
        return [hypothesis, c.may_close, z3.Or(too_high)]
    if claim == "liveness":
        # H holds every member outside C, |C| <= t_c.  With ``symmetric`` the
        # counts are unsorted and C = {0..|C|-1} instead (no top-up tie-break is
        # involved, so any relabelling will do; only one symmetry can be used).
        if symmetric:
            size = z3.Int("crashed")
            crashed = [i < size for i in range(len(c.n))]
            facts = [size >= 0, size <= c.t_c]
        else:
            crashed = [z3.Bool(f"C_{i}") for i in range(len(c.n))]
            facts = [count(crashed) <= c.t_c]
        everyone_else = [z3.Or(h, x) for h, x in zip(c.held, crashed, strict=True)]
        return [*facts, *everyone_else, z3.Not(c.may_close)]
    if claim == "q_min_1_never_tops_up":
        return [c.q_min == 1, c.may_close, c.topped_up]
    if claim == "coverage":
        left_out = count([z3.Not(h) for h in c.held])
        eligible_left_out = count([z3.And(e, z3.Not(p)) for e, p in zip(c.eligible, c.proposed, strict=True)])
        return [c.may_close, z3.Or(left_out > c.t_c, eligible_left_out > c.t_c)]
    if claim == "lowest_first":
        k = len(c.n)
        size = z3.If(c.held_eligible >= c.q_min, c.held_eligible, c.q_min)
        order_broken = [
            z3.And(c.proposed[i], c.held[j], z3.Not(c.proposed[j]), z3.Not(_before(c.n, i, j)))
            for i in range(k)
            for j in range(k)
            if i != j
        ]
        unheld = [z3.And(p, z3.Not(h)) for p, h in zip(c.proposed, c.held, strict=True)]
        return [c.may_close, z3.Or(*order_broken, *unheld, count(c.proposed) != size)]
    raise ValueError(f"unknown claim {claim!r}")


def _state(mod: z3.ModelRef, c: Closing) -> dict[str, Any]:
    return {
        "counts": [value(mod, x) for x in c.n],
        "m": value(mod, c.m),
        "E": members(mod, c.eligible),
        "H": members(mod, c.held),
        "P": members(mod, c.proposed),
        "topped_up": value(mod, c.topped_up),
        "counts_after": [value(mod, x) for x in c.n_after],
        "m_after": value(mod, c.m_after),
    }


def _params(**kw: int | str | None) -> dict[str, Any]:
    return {key: "symbolic" if v is None else v for key, v in kw.items()}


@timed
def inclusion_fairness(
    k: int,
    claim: Claim = "invariant",
    *,
    t_c: int | None = None,
    lead: int | None = None,
    q_min: int | None = None,
    timeout_ms: int = 60_000,
    wlog_sorted: bool = True,
) -> ProofResult:
    """Prove one F-2 claim about a single closing of a k-member cluster.

    ``wlog_sorted`` (default) breaks the member symmetry: by sorting the counts
    (every claim is symmetric in the members, see ``closing``), or, for
    "liveness", by making the crashed set a block of the first members.
    """
    one_state = claim in ("liveness", "q_min_1_never_tops_up")
    sort = wlog_sorted and claim != "liveness"
    c = closing(k, t_c, lead, q_min, sorted_counts=sort, with_after=not one_state)
    s = solver(timeout_ms)
    s.add(*c.facts, *_negated_claim(c, claim, wlog_sorted))
    answer = s.check()
    cex = None
    if answer == z3.sat:
        mod = s.model()
        cex = {key: value(mod, v) for key, v in (("t_c", c.t_c), ("B", c.lead), ("q_min", c.q_min))}
        cex |= _state(mod, c)
    params = _params(k=k, claim=claim, t_c=t_c, B=lead, q_min=q_min)
    detail = ""
    if wlog_sorted:
        detail = "WLOG C = first members" if claim == "liveness" else "WLOG counts sorted by index"
    prop = "F-4" if claim in ("coverage", "lowest_first") else "F-2"
    return ProofResult(prop, CLAIMS[claim], status_of(answer), 0.0, params, cex, detail)


@timed
def reachable_lead_violation(
    k: int, t_c: int, lead: int, q_min: int, depth: int, *, timeout_ms: int = 60_000
) -> ProofResult:
    """Is max n - m > B + 1 reachable from all-zero counts within ``depth`` closings?

    "refuted" comes with the trace of closings; "proved" only means: not within
    ``depth`` closings (bounded model checking).
    """
    s = solver(timeout_ms)
    counts: list[z3.ArithRef] = [z3.IntVal(0)] * k
    steps = []
    for d in range(depth):
        c = closing(k, t_c, lead, q_min, counts=counts, step=f"@{d}")
        s.add(*c.facts, c.may_close)
        steps.append(c)
        counts = c.n_after
    s.add(z3.Or([z3.Not(c.lead_at_most(c.lead + 1, after=True)) for c in steps]))
    answer = s.check()
    cex = None
    if answer == z3.sat:
        mod = s.model()
        trace = [_state(mod, c) for c in steps]
        first_bad = next(
            i for i, st in enumerate(trace) if max(st["counts_after"]) > st["m_after"] + lead + 1
        )
        cex = {"trace": trace[: first_bad + 1]}
    params = _params(k=k, t_c=t_c, B=lead, q_min=q_min, depth=depth)
    title = "max n - m <= B + 1 on every trace from all-zero counts (bounded)"
    detail = f"bounded model check, {depth} closings"
    return ProofResult("F-2", title, status_of(answer), 0.0, params, cex, detail)


@timed
def prove_close_liveness_parametric() -> ProofResult:
    """Liveness of the close condition for *every* k, t_c, q_min and eligible set E.

    Venn regions of (H, E, C) as non-negative Int sizes (as in S-6): if H holds
    every member outside C and |C| <= t_c, then |H ∩ E| >= |E| - t_c (E \\ H lies
    inside C) and |H| >= k - t_c >= q_min.  E may be any set, in particular the
    eligible set, so no counts are needed.
    """
    k, t_c, q_min = z3.Ints("k t_c q_min")
    size = {bits: z3.Int("r_" + "".join(map(str, bits))) for bits in itertools.product((0, 1), repeat=3)}

    def card(which: int, *also: int) -> z3.ArithRef:
        return z3.Sum([v for bits, v in size.items() if bits[which] and all(bits[a] for a in also)])

    held, eligible, crashed = 0, 1, 2
    s = solver()
    s.add(*[v >= 0 for v in size.values()], z3.Sum(list(size.values())) == k)
    s.add(t_c >= 0, t_c < k, q_min >= 1, q_min <= k - t_c)
    s.add(card(crashed) <= t_c, size[(0, 0, 0)] == 0, size[(0, 1, 0)] == 0)  # H ⊇ members \ C
    s.add(z3.Or(card(held, eligible) < card(eligible) - t_c, card(held) < q_min))
    answer = s.check()
    params = {"k": "symbolic", "claim": "liveness", "t_c": "symbolic", "q_min": "symbolic"}
    detail = "Venn regions of (H, E, C); E arbitrary"
    return ProofResult("F-2", CLAIMS["liveness"], status_of(answer), 0.0, params, None, detail)


def kth_largest(counts: list[z3.ArithRef], r: z3.ArithRef, g: z3.ArithRef) -> z3.BoolRef:
    """g is the r-th largest of counts (r >= 1)."""
    return z3.And(
        z3.Or([g == c for c in counts]),
        z3.Sum([z3.If(c >= g, 1, 0) for c in counts]) >= r,
        z3.Sum([z3.If(c > g, 1, 0) for c in counts]) <= r - 1,
    )


@timed
def reshuffled_lead(
    n_clients: int, k_min: int, *, rank_shift: int = 0, timeout_ms: int = 120_000
) -> ProofResult:
    """F-2 under reshuffling: ``max n - G <= B + 1 + u`` is inductive for one closing.

    N clients with counts n(i) >= 0 and a cluster made of *any* subset M of them with
    |M| >= k_min (membership is a free Boolean per client: every reshuffle, R-2); t_c,
    B, q_min symbolic with 0 <= t_c < k_min, 1 <= q_min <= k_min - t_c; H ⊆ M any held
    set with |H| >= |M| - t_c; the floor m, E, the top-up and the counts after are those
    of R-6 over M. G (G') is the (k_min - t_c)-th largest count over all N clients
    before (after) the closing, u the top-up closings so far. ``rank_shift = 1`` takes the
    (k_min - t_c + 1)-th largest instead: a sanity refutation showing the rank is tight.
    """
    N = n_clients
    t_c, lead, q_min, u = z3.Ints("t_c B q_min u")
    n = [z3.Int(f"n_{i}") for i in range(N)]
    member = [z3.Bool(f"M_{i}") for i in range(N)]
    held = [z3.And(z3.Bool(f"H_{i}"), member[i]) for i in range(N)]
    m, g, g_after = z3.Ints("m G G_after")
    size = count(member)
    eligible = [z3.And(member[i], n[i] <= m + lead) for i in range(N)]
    held_eligible = count([z3.And(h, e) for h, e in zip(held, eligible, strict=True)])
    outside = [z3.And(held[i], z3.Not(eligible[i])) for i in range(N)]
    rank = [count([z3.And(outside[j], _before(n, j, i)) for j in range(N) if j != i]) for i in range(N)]
    need = q_min - held_eligible
    proposed = [z3.Or(z3.And(held[i], eligible[i]), z3.And(outside[i], rank[i] < need)) for i in range(N)]
    n_after = [n[i] + z3.If(proposed[i], 1, 0) for i in range(N)]
    topped_up = held_eligible < q_min
    s = solver(timeout_ms)
    s.add(t_c >= 0, t_c < k_min, lead >= 0, q_min >= 1, q_min <= k_min - t_c, u >= 0)
    s.add(*[c >= 0 for c in n], size >= k_min, count(held) >= size - t_c)
    s.add(  # m: the (t_c + 1)-th smallest count over the members
        z3.Or([z3.And(member[i], m == n[i]) for i in range(N)]),
        count([z3.And(member[i], n[i] <= m) for i in range(N)]) >= t_c + 1,
        count([z3.And(member[i], n[i] < m) for i in range(N)]) <= t_c,
    )
    rank = k_min - t_c + rank_shift
    s.add(kth_largest(n, rank, g), kth_largest(n_after, rank, g_after))
    s.add(z3.And([c <= g + lead + 1 + u for c in n]))
    u_after = u + z3.If(topped_up, 1, 0)
    s.add(z3.Not(z3.And([c <= g_after + lead + 1 + u_after for c in n_after])))
    answer = s.check()
    cex = None
    if answer == z3.sat:
        mod = s.model()
        cex = {
            "counts": [value(mod, x) for x in n],
            "M": members(mod, member),
            "H": members(mod, held),
            "P": members(mod, proposed),
            "G": value(mod, g),
            "counts_after": [value(mod, x) for x in n_after],
            "G_after": value(mod, g_after),
        }
    params = {"n_clients": N, "k_min": k_min, "t_c": "symbolic", "B": "symbolic", "q_min": "symbolic"}
    if rank_shift:
        params["rank_shift"] = rank_shift
    title = "reshuffled: max n - G <= B + 1 + u is inductive (G = (k_min - t_c)-th largest count)"
    detail = "any membership of >= k_min clients per closing"
    return ProofResult("F-2", title, status_of(answer), 0.0, params, cex, detail)
