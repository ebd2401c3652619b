"""The common result type of every Z3 obligation, and small helpers shared by them."""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal, ParamSpec

import z3

Args = ParamSpec("Args")
Status = Literal["proved", "refuted", "unknown"]

#: The prime of the protocol's field GF(P) (a Mersenne prime).
P = 2**31 - 1


@dataclass(frozen=True)
class ProofResult:
    """Outcome of one proof obligation.

    ``status`` is "proved" when the negated claim is unsatisfiable (or, for the
    algebraic identities, simplifies to 0), "refuted" when Z3 produced a
    counterexample (then ``counterexample`` holds it as plain Python data), and
    "unknown" when Z3 gave up or timed out.
    """

    prop_id: str
    title: str
    status: Status
    seconds: float
    params: dict[str, Any] = field(default_factory=dict)
    counterexample: dict[str, Any] | None = None
    detail: str = ""


def timed(obligation: Callable[Args, ProofResult]) -> Callable[Args, ProofResult]:
    """Fill in ``seconds``: wall-clock time of the whole call, term building included.

    Obligations therefore construct their result with ``seconds=0.0``.
    """

    @functools.wraps(obligation)
    def run(*args: Args.args, **kwargs: Args.kwargs) -> ProofResult:
        start = time.perf_counter()
        result = obligation(*args, **kwargs)
        return dataclasses.replace(result, seconds=time.perf_counter() - start)

    return run


def status_of(answer: z3.CheckSatResult) -> Status:
    """Map the answer to a *negated* claim: unsat means the claim is proved."""
    if answer == z3.unsat:
        return "proved"
    if answer == z3.sat:
        return "refuted"
    return "unknown"


def solver(timeout_ms: int | None = None) -> z3.Solver:
    s = z3.Solver()
    if timeout_ms is not None:
        s.set("timeout", timeout_ms)
    return s


def value(model: z3.ModelRef, term: z3.ExprRef) -> int | str | bool:
    """A model value as plain Python: int, bool, or an exact rational as 'p/q'."""
    v = model.eval(term, model_completion=True)
    if z3.is_true(v) or z3.is_false(v):
        return z3.is_true(v)
    if z3.is_int_value(v):
        return v.as_long()
    if z3.is_rational_value(v):
        q = Fraction(v.numerator_as_long(), v.denominator_as_long())
        return q.numerator if q.denominator == 1 else str(q)
    return str(v)


def members(model: z3.ModelRef, bits: list[z3.BoolRef]) -> list[int]:
    """Indices whose Boolean membership variable is true in the model."""
    return [j for j, b in enumerate(bits) if z3.is_true(model.eval(b, model_completion=True))]


def count(bits: list[z3.BoolRef]) -> z3.ArithRef:
    """Cardinality of a set given by Boolean membership variables."""
    return z3.Sum([z3.If(b, 1, 0) for b in bits])
