"""Z3 proof obligations for asfl (see specs/properties.md for the property IDs).

* ``quorum``   S-6 quorum intersection, I-1a honest points in a decoding set
* ``attest``   S-7 the counting step of compact certified models (t_a + 1 attesters)
* ``masks``    P-1 mask cancellation (rationals and GF(2^31 - 1))
* ``decoding`` I-1 decoding despite t_a wrong share sums
* ``fairness`` F-2, F-4 inclusion fairness of the inclusion rule (D-7), also under reshuffling

Every obligation returns a :class:`ProofResult`; ``prove_all`` runs them all.
"""

from .attest import check_attestation_counting, prove_attestation_counting, prove_attestation_liveness
from .decoding import decoding_correct
from .fairness import (
    CLAIMS,
    inclusion_fairness,
    prove_close_liveness_parametric,
    reachable_lead_violation,
    reshuffled_lead,
)
from .masks import lagrange_at_zero, mask_cancellation
from .quorum import (
    check_honest_in_decoding_set,
    check_quorum_sizes,
    prove_honest_in_decoding_set,
    prove_quorum_bound_tight,
    prove_quorum_intersection,
    prove_quorum_intersection_parametric,
)
from .result import P, ProofResult
from .runner import format_results, prove_all

__all__ = [
    "CLAIMS",
    "check_attestation_counting",
    "prove_attestation_counting",
    "prove_attestation_liveness",
    "P",
    "ProofResult",
    "check_honest_in_decoding_set",
    "check_quorum_sizes",
    "decoding_correct",
    "format_results",
    "inclusion_fairness",
    "lagrange_at_zero",
    "mask_cancellation",
    "prove_all",
    "prove_close_liveness_parametric",
    "prove_honest_in_decoding_set",
    "prove_quorum_bound_tight",
    "prove_quorum_intersection",
    "prove_quorum_intersection_parametric",
    "reachable_lead_violation",
    "reshuffled_lead",
]
