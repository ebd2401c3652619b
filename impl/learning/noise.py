"""Per-client Gaussian noise for distributed differential privacy (Decision D-9).

Every released value is a sum over a certified set of at least `q_min` clients.
Each client adds independent N(0, s^2) noise per coordinate with
s = z * c / sqrt(q_min), so a sum over q >= q_min clients carries noise of std
s * sqrt(q) >= z * c: the Gaussian mechanism with noise multiplier z for an L2
sensitivity of c (one client's clipped contribution, add/remove adjacency).

The scale s has one definition, ``ProtocolConfig.client_noise_std``; the draw has
one function, :func:`add_noise`, which the client node calls once per submission
(R-4, D-13) with the generator it was given (the simulator seeds it; a deployment
injects its own source of randomness).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def add_noise(v: FloatArray, std: float, rng: np.random.Generator) -> FloatArray:
    """Return a new float64 array v + N(0, std^2) per coordinate; v is not modified."""
    if not (math.isfinite(std) and std >= 0):
        raise ValueError(f"std must be finite and >= 0, got {std}")
    x = np.asarray(v, dtype=np.float64)
    return x + rng.normal(0.0, std, size=x.shape)
