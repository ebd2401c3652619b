"""Robust aggregation of certified cluster results (Rule R-11, RESAM).

Each function takes X of shape (n, d) (one row per cluster result) and f, the
number of rows that may be arbitrary, and returns a new (d,) float64 vector. X is
never modified. Inputs must be finite: cluster results are decoded from field
elements, so a NaN/inf can only come from a caller bug and is rejected.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
Aggregator = Callable[[FloatArray, int], FloatArray]


def _check(X: FloatArray, f: int, *, need_honest_majority: bool) -> FloatArray:
    A = np.asarray(X, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] == 0:
        raise ValueError(f"X must be a 2-D array with at least one row, got shape {A.shape}")
    if f < 0:
        raise ValueError(f"f must be >= 0, got {f}")
    n = A.shape[0]
    if need_honest_majority and n <= 2 * f:
        raise ValueError(f"need n > 2f rows, got n={n}, f={f}")
    if not np.all(np.isfinite(A)):
        raise ValueError("X contains NaN or infinite entries")
    return A


def mean(X: FloatArray, f: int) -> FloatArray:
    """Plain coordinate-wise mean (not robust; f is only validated)."""
    return np.asarray(np.mean(_check(X, f, need_honest_majority=False), axis=0))


def trimmed_mean(X: FloatArray, f: int) -> FloatArray:
    """Coordinate-wise: drop the f largest and f smallest values, average the rest (n > 2f)."""
    A = _check(X, f, need_honest_majority=True)
    s = np.sort(A, axis=0)  # a sorted copy; A itself is untouched
    return np.asarray(np.mean(s[f : A.shape[0] - f], axis=0))


def coordinate_median(X: FloatArray, f: int) -> FloatArray:
    """Coordinate-wise median (mean of the two middle values for even n); needs n > 2f."""
    return np.asarray(np.median(_check(X, f, need_honest_majority=True), axis=0))


AGGREGATORS: dict[str, Aggregator] = {
    "mean": mean,
    "trimmed_mean": trimmed_mean,
    "coordinate_median": coordinate_median,
}


def get_aggregator(name: str) -> Aggregator:
    """Look up an aggregator by name (R-11); ValueError lists the valid names."""
    try:
        return AGGREGATORS[name]
    except KeyError:
        valid = ", ".join(sorted(AGGREGATORS))
        raise ValueError(f"unknown aggregator {name!r}; valid names: {valid}") from None
