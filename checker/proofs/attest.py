"""S-7 (compact certified models, R-14/R-15/R-17): the counting step of the argument.

* **Safety**: any ``t_a + 1`` distinct aggregators among ``n_a`` with at most ``t_a``
  Byzantine include an honest one; an honest attester checked the offer (R-17 b-d), so a
  client that counts ``t_a + 1`` valid attestations (R-15 d) holds one of an honest
  aggregator that checked the model, and by induction on rounds (R-17 b checks the
  previous model's attestations the same way) so does every model of its chain (I-3).
* **Liveness**: with ``n_a >= 3 t_a + 1`` the honest aggregators number at least
  ``2 t_a + 1 >= t_a + 1``, so every honest model gathers ``t_a + 1`` attestations
  (honest attesters attest every valid offer, links are reliable).

Both parametric in ``(n_a, t_a)`` (Venn-region sizes as non-negative integers, as S-6
in :mod:`.quorum`), plus an explicit-set encoding at one size (per trace). A broken
threshold (``t_a`` attestations) or a dropped bound yields a counterexample.
"""

from __future__ import annotations

from typing import Any

import z3

from .quorum import _card, _explicit_sets, _venn
from .result import ProofResult, count, members, solver, status_of, timed

S7_TITLE = "t_a + 1 distinct attesters include an honest one"
S7L_TITLE = "the honest aggregators can attest every honest model (>= t_a + 1 of them)"


@timed
def prove_attestation_counting(*, threshold_offset: int = 1) -> ProofResult:
    """For all ``n_a >= 3 t_a + 1``: a set ``A`` of ``>= t_a + threshold_offset`` distinct
    aggregators and a Byzantine set ``B`` with ``|B| <= t_a`` have ``A \\ B`` non-empty.
    ``threshold_offset = 0`` is the broken variant (``t_a`` attestations): refuted."""
    n, t = z3.Ints("n_a t_a")
    regions, facts = _venn("AB", n)
    facts += [
        t >= 1,
        n >= 3 * t + 1,
        _card(regions, 0) >= t + threshold_offset,  # |A| >= threshold
        _card(regions, 1) <= t,  # |B| <= t_a
        regions[(1, 0)] == 0,  # no honest attester: A \ B empty
    ]
    opt = z3.Optimize()
    opt.add(*facts)
    opt.minimize(n)
    answer = opt.check()
    cex = None
    if answer == z3.sat:
        model = opt.model()
        sizes = {bits: model.eval(size).as_long() for bits, size in regions.items()}
        sets = _explicit_sets(sizes, "AB")
        cex = {"n_a": model.eval(n).as_long(), "t_a": model.eval(t).as_long(), "A": sets["A"], "B": sets["B"]}
    params: dict[str, Any] = {"n_a": "symbolic", "t_a": "symbolic", "threshold": f"t_a + {threshold_offset}"}
    detail = (
        "Venn regions of (A, B) as non-negative Int sizes: |A| >= t_a + 1 > |B| forces A \\ B != {}"
        if threshold_offset >= 1
        else "broken threshold: t_a Byzantine attesters alone certify a model"
    )
    return ProofResult("S-7", S7_TITLE, status_of(answer), 0.0, params, cex, detail)


@timed
def prove_attestation_liveness(*, assume_bound: bool = True) -> ProofResult:
    """For all ``n_a >= 3 t_a + 1`` and ``|B| <= t_a``: ``n_a - |B| >= t_a + 1`` honest
    attesters (indeed ``>= 2 t_a + 1``). Without the bound (``n_a > t_a`` only), refuted."""
    n, t, b = z3.Ints("n_a t_a byzantine")
    s = solver()
    s.add(t >= 1, b >= 0, b <= t, n >= 3 * t + 1 if assume_bound else n >= t + 1)
    s.add(n - b < t + 1)
    answer = s.check()
    cex = None
    if answer == z3.sat:
        m = s.model()
        cex = {"n_a": m.eval(n).as_long(), "t_a": m.eval(t).as_long(), "byzantine": m.eval(b).as_long()}
    params: dict[str, Any] = {"n_a": "symbolic", "t_a": "symbolic", "assume_bound": assume_bound}
    detail = "n_a - t_a >= 2 t_a + 1 honest aggregators" if assume_bound else "bound dropped"
    return ProofResult("S-7", S7L_TITLE, status_of(answer), 0.0, params, cex, detail)


@timed
def check_attestation_counting(n_a: int, t_a: int, *, threshold: int | None = None) -> ProofResult:
    """The counting step at one size, with one Boolean per aggregator for ``A`` and ``B``
    (the counterexample names aggregators). ``threshold`` defaults to ``t_a + 1``."""
    k = t_a + 1 if threshold is None else threshold
    att = [z3.Bool(f"att_{j}") for j in range(n_a)]
    byz = [z3.Bool(f"byz_{j}") for j in range(n_a)]
    s = solver()
    s.add(count(att) >= k, count(byz) <= t_a)
    s.add(*[z3.Implies(a, b) for a, b in zip(att, byz, strict=True)])  # every attester Byzantine
    answer = s.check()
    cex = None
    if answer == z3.sat:
        m = s.model()
        cex = {"attesters": members(m, att), "byzantine": members(m, byz)}
    params = {"n_a": n_a, "t_a": t_a, "threshold": k}
    return ProofResult("S-7", S7_TITLE, status_of(answer), 0.0, params, cex, "explicit sets")
