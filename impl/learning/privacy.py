"""Per-client privacy accounting with dp_accounting's RDP accountant (Decision D-10).

Each inclusion of a client in a released sum is one Gaussian mechanism with
noise multiplier z (noise calibrated by D-9, sensitivity = clip norm, add/remove
adjacency: the accountant's default). A client included `m` times has composed
SelfComposedDpEvent(GaussianDpEvent(z), m); its epsilon at a given delta is the
RDP accountant's conversion. Clients with equal inclusion counts have equal
epsilons, so results are cached by (z, count, delta).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import lru_cache


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


def epsilon(noise_multiplier: float, inclusions: int, delta: float) -> float:
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


class PrivacyLedger:
    """Inclusion counts per client, converted to per-client epsilons on demand (D-10)."""

    def __init__(self, clients: Iterable[int] = ()) -> None:
        """Start with the given clients at zero inclusions (so they count in `spread`)."""
        self._counts: dict[int, int] = {int(c): 0 for c in clients}

    def record(self, client: int, n: int = 1) -> None:
        """Record `n` more inclusions of `client` in released sums."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        self._counts[client] = self._counts.get(client, 0) + n

    def inclusions(self, client: int) -> int:
        """Inclusions recorded for `client` (0 if unknown)."""
        return self._counts.get(client, 0)

    @property
    def counts(self) -> dict[int, int]:
        """A copy of the inclusion count of every known client."""
        return dict(self._counts)

    def epsilons(self, noise_multiplier: float, delta: float) -> dict[int, float]:
        """Epsilon per known client; computed once per distinct inclusion count."""
        _validate(noise_multiplier, delta)
        by_count: dict[int, float] = {}
        out: dict[int, float] = {}
        for client, m in self._counts.items():
            if m not in by_count:
                by_count[m] = epsilon(noise_multiplier, m, delta)
            out[client] = by_count[m]
        return out

    def spread(self, noise_multiplier: float, delta: float) -> tuple[float, float]:
        """(min, max) epsilon over known clients; (0.0, 0.0) for an empty ledger.

        Epsilon is monotone in the inclusion count, so only two are computed.
        """
        _validate(noise_multiplier, delta)
        if not self._counts:
            return (0.0, 0.0)
        lo, hi = min(self._counts.values()), max(self._counts.values())
        return (epsilon(noise_multiplier, lo, delta), epsilon(noise_multiplier, hi, delta))
