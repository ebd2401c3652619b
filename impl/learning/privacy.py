"""Per-client privacy accounting of the Skellam mechanism (Decisions D-9, D-10).

Each inclusion of a client in a released sum is one application of the multi-dimensional
Skellam mechanism (Agarwal, Kairouz, Liu, NeurIPS 2021, Theorem 3.5 / Corollary 3.6): an
integer vector of L2 sensitivity ``l2`` and L1 sensitivity ``l1`` plus ``Sk(mu)`` per
coordinate (variance ``mu``) is, for every integer order ``a > 1``, ``(a, eps(a))``-RDP with

    eps(a) = a l2^2 / (2 mu) + min(((2 a - 1) l2^2 + 6 l1) / (4 mu^2), 3 l1 / (2 mu)).

Inclusions compose by adding RDP curves; the curve is converted to ``(epsilon, delta)``
by the maintained ``dp-accounting`` library's ``compute_epsilon`` (Balle et al. 2020's
conversion) over the integer orders :data:`ORDERS`. This module is the one place the
implementation turns inclusions into epsilons: ``asfl run``'s summary, the trace's ``end``
event and the learning experiments all call :func:`client_epsilons` or :func:`epsilon`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

DELTA = 1e-5
"""The delta of every (epsilon, delta) report (D-10)."""

ORDERS: tuple[int, ...] = tuple(range(2, 257))
"""The Renyi orders of D-10: the Skellam bound holds for integer orders only."""

_ALPHA = np.asarray(ORDERS, dtype=np.float64)


@dataclass(frozen=True)
class Skellam:
    """One release (D-9): ``Sk(variance)`` per coordinate on an integer vector of L2 and L1
    sensitivities ``l2`` and ``l1``; ``variance == 0`` is no noise."""

    variance: float
    l2: float
    l1: float

    def with_shares(self, present: int, calibrated: int) -> Skellam:
        """The release when only ``present`` of the ``calibrated`` noise shares are secret
        (D-9's bound for missing honest shares): variance scaled by ``present / calibrated``."""
        if not 0 <= present <= calibrated or calibrated < 1:
            raise ValueError(f"need 0 <= present <= calibrated, got {present} of {calibrated}")
        return Skellam(self.variance * present / calibrated, self.l2, self.l1)

    def rdp(self) -> np.ndarray:
        """The RDP curve at :data:`ORDERS` (module docstring); +inf without noise."""
        if self.variance <= 0:
            return np.full(_ALPHA.shape, math.inf)
        mu, l2sq, l1 = self.variance, self.l2**2, self.l1
        surcharge = np.minimum(((2 * _ALPHA - 1) * l2sq + 6 * l1) / (4 * mu**2), 3 * l1 / (2 * mu))
        return _ALPHA * l2sq / (2 * mu) + surcharge


def _validate(delta: float) -> None:
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta must be in (0, 1), got {delta}")


def composed_epsilon(releases: Sequence[Skellam], delta: float = DELTA) -> float:
    """Epsilon at ``delta`` of the composition of ``releases`` (D-10); 0.0 for none, math.inf
    if one has no noise."""
    _validate(delta)
    if not releases:
        return 0.0
    if any(r.variance <= 0 for r in releases):
        return math.inf
    from dp_accounting.rdp.rdp_privacy_accountant import compute_epsilon  # loads scipy: not at import

    curve = np.sum([r.rdp() for r in releases], axis=0)
    return float(compute_epsilon(ORDERS, curve, delta)[0])


@lru_cache(maxsize=4096)
def _epsilon_cached(mechanism: Skellam, inclusions: int, delta: float) -> float:
    return composed_epsilon([mechanism] * inclusions, delta)


def epsilon(mechanism: Skellam, inclusions: int, delta: float = DELTA) -> float:
    """Epsilon at ``delta`` after ``inclusions`` releases of ``mechanism`` (D-10)."""
    _validate(delta)
    if inclusions < 0:
        raise ValueError(f"inclusions must be >= 0, got {inclusions}")
    return _epsilon_cached(mechanism, int(inclusions), float(delta))


def client_epsilons(
    mechanism: Skellam, inclusions: Mapping[int, int], delta: float = DELTA
) -> dict[int, float]:
    """Epsilon per client from its count of released certified sets (D-10); clients with
    equal counts share one accountant call (the cache)."""
    return {client: epsilon(mechanism, n, delta) for client, n in inclusions.items()}
