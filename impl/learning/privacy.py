"""Per-client privacy accounting with dp_accounting's RDP accountant (Decision D-10).

Each inclusion of a client in a released sum is one Gaussian mechanism with
noise multiplier z (noise calibrated by D-9, sensitivity = clip norm, add/remove
adjacency: the accountant's default). A client included `m` times has composed
SelfComposedDpEvent(GaussianDpEvent(z), m); its epsilon at `DELTA` is the RDP
accountant's conversion. This module is the one place the implementation turns
inclusion counts into epsilons: ``asfl run``'s summary, the trace's ``end`` event
and the learning experiments all call :func:`client_epsilons`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache

DELTA = 1e-5
"""The delta of every (epsilon, delta) report (D-10)."""


def _validate(noise_multiplier: float, delta: float) -> None:
    if not (math.isfinite(noise_multiplier) and noise_multiplier >= 0):
        raise ValueError(f"noise_multiplier must be finite and >= 0, got {noise_multiplier}")
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta must be in (0, 1), got {delta}")


@lru_cache(maxsize=4096)
def _epsilon_cached(noise_multiplier: float, inclusions: int, delta: float) -> float:
    import dp_accounting  # here, not at import: it loads scipy, seconds of start-up for every command
    from dp_accounting.rdp import RdpAccountant

    event = dp_accounting.SelfComposedDpEvent(dp_accounting.GaussianDpEvent(noise_multiplier), inclusions)
    return float(RdpAccountant().compose(event).get_epsilon(delta))


def epsilon(noise_multiplier: float, inclusions: int, delta: float = DELTA) -> float:
    """Epsilon at `delta` after `inclusions` Gaussian releases with multiplier z (D-10).

    0.0 for no inclusion; math.inf for z == 0 with at least one inclusion.
    """
    _validate(noise_multiplier, delta)
    if inclusions < 0:
        raise ValueError(f"inclusions must be >= 0, got {inclusions}")
    if inclusions == 0:
        return 0.0
    if noise_multiplier == 0:
        return math.inf
    return _epsilon_cached(float(noise_multiplier), int(inclusions), float(delta))


def client_epsilons(
    noise_multiplier: float, inclusions: Mapping[int, int], delta: float = DELTA
) -> dict[int, float]:
    """Epsilon per client from its count of released certified sets (D-10); clients with
    equal counts share one accountant call (the cache)."""
    return {client: epsilon(noise_multiplier, n, delta) for client, n in inclusions.items()}
