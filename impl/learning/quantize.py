"""Clipping and fixed-point quantisation of updates (Decision D-5).

A client clips its update to L2 norm `c`, then maps each coordinate v to the
integer q = clamp(rint(v * 2^frac_bits), -bound, bound) (round half to even),
which is then embedded in GF(p) by the masking layer (negative q as p + q).

No wrap-around: with p odd and p_half = (p - 1) / 2, the centred representatives
of GF(p) are exactly the integers in [-p_half, p_half]. If every client clamps to
bound = max_abs_per_client(p_half, k) = p_half // k, a sum of at most k clamped
values has absolute value <= k * (p_half // k) <= p_half, so it decodes exactly.

Error bound: rounding moves each coordinate by at most 2^-(frac_bits+1), so if no
clamping occurred, for any k clients and every coordinate
    |dequantize(sum_i q_i, frac_bits) - sum_i v_i| <= k * 2^-(frac_bits+1)
(exactly, as long as |sum_i q_i| < 2^53 so that dequantize is exact in float64).
Clamping only happens for |v| * 2^frac_bits > bound + 1/2.

Sensitivity after rounding (D-9): for ||v||_2 <= c, round to nearest moves each coordinate
by at most 1/2, so the rounded vector has ||q||_2 <= c 2^frac_bits + sqrt(d) / 2 and
||q||_1 <= sqrt(d) ||q||_2 (Cauchy-Schwarz); clamping only lowers both. These bounds hold
for every input, with no failure probability: :func:`rounded_l2_bound`.

With integer noise (D-9) the client clamps its rounded update, then adds the noise; the
sum of at most k updates then lies in the centred range unless the noise sum exceeds the
headroom ``p_half - k * bound`` that :func:`max_abs_per_client` leaves for it.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_MAX_BOUND = 2**62  # float(bound) then stays castable to int64


def _norm(v: FloatArray) -> float:
    """Euclidean norm without BLAS threads (np.linalg.norm's threaded dot is slow on shared cores)."""
    return float(np.sqrt(np.add.reduce(v * v)))


def clip_l2(v: FloatArray, c: float) -> FloatArray:
    """Return a new float64 copy of v scaled down so that ||v||_2 <= c (unchanged if already)."""
    if not (np.isfinite(c) and c > 0):
        raise ValueError(f"clip norm c must be a finite number > 0, got {c}")
    out = np.array(v, dtype=np.float64, copy=True)
    if not np.all(np.isfinite(out)):
        raise ValueError("cannot clip a vector with NaN or infinite entries")
    norm = _norm(out)
    if norm > c:
        out *= (c / norm) * (1.0 - 1e-12)  # a hair below c, so any summation order agrees
        # guard against the scaled norm landing one ulp above c
        while _norm(out) > c:
            out *= 1.0 - 2.0**-52
    return out


def quantize(v: FloatArray, frac_bits: int, bound: int) -> IntArray:
    """Fixed point: clamp(rint(v * 2^frac_bits), -bound, bound) as int64 (D-5)."""
    if frac_bits < 0:
        raise ValueError(f"frac_bits must be >= 0, got {frac_bits}")
    if not 0 <= bound <= _MAX_BOUND:
        raise ValueError(f"bound must be in [0, 2^62], got {bound}")
    x = np.asarray(v, dtype=np.float64)
    if np.any(np.isnan(x)):
        raise ValueError("cannot quantize NaN")
    scaled = x * 2.0**frac_bits
    np.rint(scaled, out=scaled)  # ties to even; may be +-inf, clamped next
    np.clip(scaled, -float(bound), float(bound), out=scaled)
    q = scaled.astype(np.int64)
    if int(float(bound)) > bound:  # float(bound) rounded up: clamp again in integers
        np.clip(q, -bound, bound, out=q)
    return q


def dequantize(q: IntArray, frac_bits: int) -> FloatArray:
    """Inverse of quantize up to rounding: q * 2^-frac_bits as float64."""
    if frac_bits < 0:
        raise ValueError(f"frac_bits must be >= 0, got {frac_bits}")
    return np.asarray(q, dtype=np.int64).astype(np.float64) * 2.0**-frac_bits


def rounded_l2_bound(c: float, frac_bits: int, dim: int) -> float:
    """``c 2^frac_bits + sqrt(dim) / 2``: the L2 norm of any quantised update whose input was
    clipped to ``c`` (module docstring; the Delta_2 of D-9)."""
    return c * 2.0**frac_bits + math.sqrt(dim) / 2.0


def max_abs_per_client(p_half: int, max_cluster_size: int, noise_headroom: int = 0) -> int:
    """Largest per-client clamp bound so a sum of <= max_cluster_size values, plus a noise
    sum of absolute value <= noise_headroom, fits (D-5).

    Returns (p_half - noise_headroom) // max_cluster_size; then k * bound + noise_headroom
    <= p_half, so the sum stays in [-p_half, p_half], the centred range of GF(2 p_half + 1).
    """
    if p_half < 1:
        raise ValueError(f"p_half must be >= 1, got {p_half}")
    if max_cluster_size < 1:
        raise ValueError(f"max_cluster_size must be >= 1, got {max_cluster_size}")
    if not 0 <= noise_headroom < p_half:
        raise ValueError(f"noise headroom {noise_headroom} leaves no room in p_half={p_half}")
    bound = (p_half - noise_headroom) // max_cluster_size
    if bound < 1:
        raise ValueError(f"field too small: p_half={p_half} leaves no room for {max_cluster_size} clients")
    return bound
