"""P-1: the masks of the included clients cancel exactly after reconstruction.

Client i (0-based) masks its input x_i with r_i and Shamir-shares r_i with
f_i(X) = r_i + a_{i,1} X + ... + a_{i,t} X^t; aggregator j (0-based) holds the
share f_i(j + 1).  Inclusion is a 0/1 multiplier b_i (an If-term per client
makes Z3 time out already at 3 clients); the identity below is proved for every
value of b_i, so in particular for every included set.  For a quorum S of t + 1 aggregators
with Lagrange coefficients lambda_j at zero, the claim is the polynomial identity

    sum_i b_i (x_i + r_i) - sum_{j in S} lambda_j sum_i b_i f_i(j + 1)  ==  sum_i b_i x_i.

Z3's sum-of-monomials normal form (``simplify(som=True)``) of the difference of
both sides is 0 exactly when the identity holds; otherwise the left-over
polynomial (the *residual*) names the masks that failed to cancel.

Field GF(P), P = 2^31 - 1: with ``field="gf"`` the variables are integers, the
lambdas are field elements (inverses mod P), and the identity is checked
coefficient by coefficient modulo P.  The rational proof also transfers on its
own: the lambdas' denominators are products of differences of distinct points
1..n < P, hence invertible mod P, and reducing a rational polynomial identity
whose denominators are invertible mod P gives the identity in GF(P).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any, Literal

import z3

from .result import P, ProofResult, timed

TITLE = "masks of the included clients cancel after reconstruction"
Field = Literal["rational", "gf"]


def lagrange_at_zero(points: Sequence[int]) -> list[Fraction]:
    """lambda_j = prod_{k != j} x_k / (x_k - x_j): interpolation weights at X = 0."""
    weights = []
    for j, xj in enumerate(points):
        w = Fraction(1)
        for k, xk in enumerate(points):
            if k != j:
                w *= Fraction(xk, xk - xj)
        weights.append(w)
    return weights


def _to_field(q: Fraction) -> int:
    return q.numerator * pow(q.denominator, -1, P) % P


# A normalised polynomial is read from its SMT-LIB text (one C++ call), e.g.
# (+ 5 (* (- 3) b_1 r_1) (* (/ 1.0 3.0) b_0 a_0_1)): walking the term through
# the Python API costs ~10 microseconds per node and dominated the GF(P) check.
SExpr = str | list["SExpr"]


def _parse(text: str) -> SExpr:
    stack: list[list[SExpr]] = [[]]
    for token in re.findall(r"\(|\)|[^\s()]+", text):
        if token == "(":
            stack.append([])
        elif token == ")":
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(token)
    return stack[0][0]


def _number(e: SExpr) -> Fraction | None:
    """The value of a numeral such as 3, 2.0, (- 3) or (/ 1.0 3.0); None otherwise."""
    if isinstance(e, str):
        return Fraction(e) if e[0].isdigit() else None
    args = [_number(arg) for arg in e[1:]]
    if None in args or not args:
        return None
    if e[0] == "-":
        return -args[0] if len(args) == 1 else args[0] - args[1]  # type: ignore[operator]
    if e[0] == "/":
        return args[0] / args[1]  # type: ignore[operator]
    return None


def _monomials(poly: z3.ExprRef) -> dict[str, Fraction]:
    """Coefficient of every monomial of a sum-of-monomials term."""
    text = poly.sexpr()
    if "let" in text:
        raise ValueError("shared subterms in the normal form are not supported")
    e = _parse(text)
    terms = e[1:] if isinstance(e, list) and e[0] == "+" else [e]
    coefficients: dict[str, Fraction] = {}
    for term in terms:
        factors = term[1:] if isinstance(term, list) and term[0] == "*" else [term]
        coefficient, names = Fraction(1), []
        for factor in factors:
            number = _number(factor)
            if number is not None:
                coefficient *= number
            else:
                names.append(factor if isinstance(factor, str) else str(factor))
        key = "*".join(sorted(names)) or "1"
        coefficients[key] = coefficients.get(key, Fraction(0)) + coefficient
    return coefficients


def _residual(poly: z3.ExprRef, field: Field) -> str:
    """The polynomial as text ('0' if it vanishes); coefficients mod P for GF(P)."""
    terms = []
    for monomial, c in sorted(_monomials(poly).items()):
        if field == "gf":
            c = Fraction(_to_field(c))
            c = c - P if c > P // 2 else c
        if c:
            terms.append(monomial if c == 1 else f"{c}*{monomial}")
    return " + ".join(terms) or "0"


def _residual_masks(residual: str, n_clients: int) -> list[str]:
    """Mask variables r_i that occur in the residual (the masks that did not cancel)."""
    named = {f"r_{i}" for i in range(n_clients)}
    found = {factor for term in residual.split(" + ") for factor in term.split("*")} & named
    return sorted(found, key=lambda name: int(name[2:]))


@timed
def mask_cancellation(
    N: int,
    t: int,
    n: int | None = None,
    *,
    quorums: Iterable[Sequence[int]] | None = None,
    field: Field = "rational",
    break_lagrange: bool = False,
    drop_share_of: int | None = None,
) -> ProofResult:
    """P-1 for N clients, threshold t and n aggregators (default n = 3 t + 1).

    ``quorums``: the aggregator sets S (each of t + 1 distinct indices) to check;
    by default every (t + 1)-subset of the n aggregators.

    Broken variants, which must be refuted with a residual:

    * ``break_lagrange``: the first lambda of each quorum is off by one;
    * ``drop_share_of=c``: client c's share is missing from every released
      share sum (aggregators summed over I \\ {c}); the residual is b_c*r_c.
    """
    n = 3 * t + 1 if n is None else n
    chosen = list(quorums) if quorums is not None else list(itertools.combinations(range(n), t + 1))
    if not chosen or any(len(set(q)) != t + 1 or not set(q) <= set(range(n)) for q in chosen):
        raise ValueError("every quorum must be t + 1 distinct aggregators among 0..n-1")
    sort = z3.RealSort() if field == "rational" else z3.IntSort()

    def var(name: str) -> z3.ArithRef:
        return z3.Const(name, sort)

    params: dict[str, Any] = {"N": N, "t": t, "n": n, "quorums": len(chosen), "field": field}
    if break_lagrange:
        params["break_lagrange"] = True
    if drop_share_of is not None:
        params["drop_share_of"] = drop_share_of
    x = [var(f"x_{i}") for i in range(N)]
    r = [var(f"r_{i}") for i in range(N)]
    b = [var(f"b_{i}") for i in range(N)]
    a = [[var(f"a_{i}_{k}") for k in range(1, t + 1)] for i in range(N)]

    def share(i: int, point: int) -> z3.ArithRef:
        return r[i] + z3.Sum([a[i][k - 1] * point**k for k in range(1, t + 1)])

    masked_sum = z3.Sum([b[i] * (x[i] + r[i]) for i in range(N)])
    true_sum = z3.Sum([b[i] * x[i] for i in range(N)])
    in_shares = [i for i in range(N) if i != drop_share_of]
    used = sorted({j for quorum in chosen for j in quorum})
    share_sums = {  # aggregator j's released share sum, normalised once
        j: z3.simplify(z3.Sum([b[i] * share(i, j + 1) for i in in_shares]), som=True) for j in used
    }

    for quorum in chosen:
        weights = lagrange_at_zero([j + 1 for j in quorum])
        if break_lagrange:
            weights[0] += 1
        if field == "rational":
            lam = [z3.RealVal(w) for w in weights]
        else:
            lam = [z3.IntVal(_to_field(w)) for w in weights]
        reconstructed = z3.Sum([lj * share_sums[j] for lj, j in zip(lam, quorum, strict=True)])
        poly = z3.simplify(masked_sum - reconstructed - true_sum, som=True, som_blowup=10**6)
        residual = _residual(poly, field)
        if residual != "0":
            break
    if residual == "0":
        detail = "sum-of-monomials normal form of (masked sum - reconstruction - true sum) is 0"
        return ProofResult("P-1", TITLE, "proved", 0.0, params, None, detail)
    cex = {
        "quorum": list(quorum),
        "lagrange": [str(w) for w in weights],
        "residual": residual if len(residual) <= 400 else residual[:400] + " ...",
        "masks": _residual_masks(residual, N),
    }
    detail = "the residual is a non-zero polynomial, so it is non-zero for some inputs"
    return ProofResult("P-1", TITLE, "refuted", 0.0, params, cex, detail)
