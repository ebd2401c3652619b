"""I-1: decoding is correct despite up to t_a wrong share sums.

The true share sums lie on a polynomial p of degree <= t_a (symbolic
coefficients c_0..c_t; the secret is p(0) = c_0).  Aggregator j releases
p(x_j) if honest and an arbitrary symbolic value w_j if Byzantine.  Claim: if
the n_a - t_a releases of a set S all lie on one polynomial g of degree <= t_a
(symbolic coefficients), then g(0) = c_0.  (Requiring exactly n_a - t_a points
is the weakest hypothesis: agreement on a larger set implies it.)

Two encodings, both linear or polynomial real arithmetic:

* ``wlog=False`` (default): the protocol's points x_j = j + 1, and *every*
  choice of S (|S| = n_a - t_a) and Byzantine set B (|B| <= t_a) as Boolean
  variables in one query: no symmetry argument needed, but the query grows
  combinatorially (see the measured limits in the report).
* ``wlog=True``: symbolic pairwise-distinct non-zero points.  The statement is
  then symmetric under relabelling aggregators, so WLOG S = {0..n_a-t_a-1} and B
  is the last min(t_a, |S|) members of S (Byzantine members outside S are
  irrelevant, and a Byzantine aggregator may also release the true value, so a
  largest B inside S is the worst case).  Nonlinear (points times coefficients).

Field caveat: the proof is over the reals.  It transfers to GF(P), P = 2^31-1,
because the only algebraic fact used is that a polynomial of degree <= t_a
vanishing at t_a + 1 distinct points is zero (the Vandermonde determinant is a
product of differences of distinct points, non-zero in any field); the points
1..n_a are distinct mod P as n_a < P.  A direct GF(P) encoding (integers with
multiples of P) already takes ~25 s at (n_a, t_a) = (7, 2).
"""

from __future__ import annotations

from typing import Any

import z3

from .result import ProofResult, members, solver, status_of, timed, value

TITLE = "n_a - t_a share sums on one degree-t_a polynomial decode the true sum"


def _evaluate(coefficients: list[z3.ArithRef], point: z3.ArithRef | int) -> z3.ArithRef:
    """Horner evaluation of sum_k coefficients[k] * point^k."""
    acc = coefficients[-1]
    for c in reversed(coefficients[:-1]):
        acc = acc * point + c
    return acc


@timed
def decoding_correct(n_a: int, t_a: int, *, wlog: bool = False, timeout_ms: int = 30_000) -> ProofResult:
    """I-1 for one (n_a, t_a); refuted with a counterexample when n_a <= 3 t_a."""
    if not 0 <= t_a < n_a:
        raise ValueError("need 0 <= t_a < n_a")
    true = [z3.Real(f"c_{k}") for k in range(t_a + 1)]  # c_0 is the secret
    fitted = [z3.Real(f"g_{k}") for k in range(t_a + 1)]
    wrong = [z3.Real(f"w_{j}") for j in range(n_a)]
    s = solver(timeout_ms)
    if wlog:
        points: list[Any] = [z3.Real(f"x_{j}") for j in range(n_a)]
        s.add(z3.Distinct(*points, z3.RealVal(0)))
        size = n_a - t_a
        in_s: list[Any] = [z3.BoolVal(j < size) for j in range(n_a)]
        byz: list[Any] = [z3.BoolVal(max(0, size - t_a) <= j < size) for j in range(n_a)]
    else:
        points = [j + 1 for j in range(n_a)]
        in_s = [z3.Bool(f"in_S_{j}") for j in range(n_a)]
        byz = [z3.Bool(f"byz_{j}") for j in range(n_a)]
        s.add(z3.PbEq([(v, 1) for v in in_s], n_a - t_a), z3.AtMost(*byz, t_a))
    for j in range(n_a):
        released = z3.If(byz[j], wrong[j], _evaluate(true, points[j]))
        s.add(z3.Implies(in_s[j], _evaluate(fitted, points[j]) == released))
    s.add(fitted[0] != true[0])  # negated claim: g(0) differs from the secret

    answer = s.check()
    cex = None
    if answer == z3.sat:
        m = s.model()
        chosen = members(m, in_s)
        cex = {
            "S": chosen,
            "B": [j for j in members(m, byz) if j in chosen],
            "points": [value(m, z3.RealVal(p) if isinstance(p, int) else p) for p in points],
            "true_coefficients": [value(m, c) for c in true],
            "fitted_coefficients": [value(m, g) for g in fitted],
            "secret": value(m, true[0]),
            "decoded": value(m, fitted[0]),
            "released": {j: value(m, z3.If(byz[j], wrong[j], _evaluate(true, points[j]))) for j in chosen},
        }
    params = {"n_a": n_a, "t_a": t_a, "wlog": wlog}
    detail = (
        "symbolic distinct points, S and B fixed by relabelling symmetry"
        if wlog
        else "points 1..n_a; all S (|S| = n_a - t_a) and all B (|B| <= t_a) in one query"
    )
    return ProofResult("I-1", TITLE, status_of(answer), 0.0, params, cex, detail)
