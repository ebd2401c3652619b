"""Privacy spent per client (D-10), reimplemented here independently of ``impl``.

Each inclusion is one Gaussian mechanism with noise multiplier ``z`` (sensitivity 1
after scaling). Its Rényi DP at order ``alpha`` is ``alpha / (2 z^2)``; ``k`` inclusions
compose additively, and RDP converts to ``(eps, delta)``-DP by the classic bound
``eps = min_alpha k alpha / (2 z^2) + log(1/delta) / (alpha - 1)`` (Mironov 2017).
This is looser than the ``dp-accounting`` library's conversion (it ignores the
improved conversion terms), so it is an upper bound on what ``impl`` reports."""

from __future__ import annotations

import math

ORDERS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)) + [64, 128, 256, 512]


def epsilon(k: int, z: float, delta: float = 1e-5) -> float:
    if k == 0:
        return 0.0
    if z <= 0:
        return math.inf
    return min(k * a / (2 * z * z) + math.log(1 / delta) / (a - 1) for a in ORDERS)
